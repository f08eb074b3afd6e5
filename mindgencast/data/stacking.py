"""One example as a node-major array ``[num_lat * num_lon, channels]`` and back.

Reference: DeepMind graphcast ``model_utils.dataset_to_stacked`` /
``stacked_to_dataset``, i.e. the channel layout GenCast's grid nodes see. This is the
per-example (no ``batch``) counterpart of :mod:`mindgencast.grid_stacking`, used by
the training pipeline, which yields one example at a time.

Layout:
  * channels: variables in SORTED name order; each contributes its dims other
    than (lat, lon), flattened in the variable's own dim order (time-major, then
    level for ``[time, level, lat, lon]``); a variable with neither contributes 1.
  * grid node index = lat_index * num_lon + lon_index (lat as stored, ascending).
  * a variable lacking ``lat`` or ``lon`` (year progress, day progress per lon,
    static fields are complete) is broadcast over the missing grid dims.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import xarray as xr

__all__ = ["stack_dataset", "unstack_to_dataset", "stacked_channels", "variable_block"]

_GRID = ("lat", "lon")


def _channel_dims(var: xr.DataArray) -> list[str]:
    return [d for d in var.dims if d not in _GRID]


def _width(var: xr.DataArray) -> int:
    return int(np.prod([var.sizes[d] for d in _channel_dims(var)], dtype=np.int64))


def stacked_channels(ds: xr.Dataset) -> int:
    """Number of channels :func:`stack_dataset` gives for ``ds``."""
    return sum(_width(ds[name]) for name in ds.data_vars)


def _grid_shape(ds: xr.Dataset, num_lat: Optional[int], num_lon: Optional[int]) -> tuple[int, int]:
    """(num_lat, num_lon) from ``ds``'s dims, else from the arguments; they must agree."""
    shape = []
    for dim, given in (("lat", num_lat), ("lon", num_lon)):
        size = ds.sizes.get(dim, given)
        if size is None:
            raise ValueError(f"the dataset has no {dim!r} dim (dims {dict(ds.sizes)}); pass num_{dim}=")
        if given is not None and given != size:
            raise ValueError(f"num_{dim}={given} but the dataset's {dim!r} has {size} values")
        shape.append(int(size))
    return shape[0], shape[1]


def variable_block(values: np.ndarray, dims: tuple, num_lat: int, num_lon: int) -> np.ndarray:
    """One variable's channels ``[num_lat, num_lon, width]`` (a view where possible).

    Args:
      values: the variable's array, dims ``dims`` (e.g. ``(time, level, lat, lon)``).
      dims: its dim names; those other than lat/lon become channels in this order.
      num_lat, num_lon: grid size; a missing lat/lon dim is broadcast.
    """
    dims = tuple(dims)
    grid = [d for d in _GRID if d in dims]
    other = [d for d in dims if d not in _GRID]
    data = np.transpose(values, [dims.index(d) for d in grid + other])
    width = int(np.prod([values.shape[dims.index(d)] for d in other], dtype=np.int64))
    data = data.reshape([values.shape[dims.index(d)] for d in grid] + [width])
    for axis, d in enumerate(_GRID):
        if d not in dims:
            data = np.expand_dims(data, axis)
    return np.broadcast_to(data, (num_lat, num_lon, width))


def stack_dataset(
    ds: xr.Dataset, num_lat: Optional[int] = None, num_lon: Optional[int] = None, dtype=np.float32
) -> np.ndarray:
    """Stacks one example into ``[num_lat * num_lon, channels]``.

    Args:
      ds: variables with dims among ``time``, ``level``, ``lat``, ``lon`` (any
        others are flattened too, in the variable's dim order), no ``batch``.
      num_lat, num_lon: grid size, needed only when ``ds`` lacks that dim
        (e.g. forcings holding only year/day progress).
      dtype: output dtype.

    Returns:
      C-contiguous ``[num_lat * num_lon, channels]`` array, channels in sorted
      variable order (see module docstring).
    """
    if "batch" in ds.dims:
        raise ValueError("stack_dataset stacks one example; select one, e.g. ds.isel(batch=0)")
    num_lat, num_lon = _grid_shape(ds, num_lat, num_lon)
    blocks = [variable_block(np.asarray(ds[name].values), ds[name].dims, num_lat, num_lon)
              for name in sorted(ds.data_vars)]
    if not blocks:
        return np.zeros((num_lat * num_lon, 0), dtype)
    stacked = np.concatenate(blocks, axis=-1).astype(dtype, copy=False)
    return np.ascontiguousarray(stacked.reshape(num_lat * num_lon, -1))


def unstack_to_dataset(
    array: np.ndarray, template: xr.Dataset, num_lat: Optional[int] = None, num_lon: Optional[int] = None
) -> xr.Dataset:
    """Inverse of :func:`stack_dataset`: the values of ``array`` in ``template``'s structure.

    Args:
      array: ``[num_lat * num_lon, channels]``.
      template: a dataset with the variables, dims, coords and dtypes wanted
        (e.g. the targets); its values are ignored. For a variable without
        ``lat``/``lon`` the first grid node's value is taken (it was broadcast).
      num_lat, num_lon: grid size, needed only when ``template`` lacks that dim.

    Returns:
      A dataset like ``template`` holding ``array``'s values.
    """
    num_lat, num_lon = _grid_shape(template, num_lat, num_lon)
    if array.ndim != 2 or array.shape[0] != num_lat * num_lon:
        raise ValueError(
            f"array of shape {array.shape} does not fit the template's {num_lat}x{num_lon} grid; "
            f"expected [{num_lat * num_lon}, channels]"
        )
    if array.shape[1] != stacked_channels(template):
        raise ValueError(f"array has {array.shape[1]} channels; the template needs {stacked_channels(template)}")
    grid = array.reshape(num_lat, num_lon, -1)
    out, start = {}, 0
    for name in sorted(template.data_vars):
        var = template[name]
        other = _channel_dims(var)
        width = _width(var)
        block = grid[..., start:start + width]
        start += width
        present = [d for d in _GRID if d in var.dims]
        block = block[tuple(slice(None) if d in var.dims else 0 for d in _GRID)]
        block = block.reshape([var.sizes[d] for d in present] + [var.sizes[d] for d in other])
        data = xr.DataArray(block, dims=present + other).transpose(*var.dims).values
        out[name] = var.copy(data=data.astype(var.dtype, copy=False))
    ordered = {name: out[name] for name in template.data_vars}
    return xr.Dataset(ordered, coords=template.coords, attrs=template.attrs)
