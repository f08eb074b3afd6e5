"""xarray Datasets <-> node-major arrays in the reference's channel order.

Reference: ``model_utils.dataset_to_stacked`` / ``stacked_to_dataset``. Variables are
visited in SORTED name order; each contributes its dims other than (batch, lat, lon)
flattened in the variable's own dim order (e.g. time-major, then level); a variable
lacking batch/lat/lon is broadcast (static fields, year progress). Grid node index =
lat_index * num_lon + lon_index with lat ascending.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["stack_to_nodes", "nodes_to_dataset", "num_channels", "channel_names"]

_PRESERVED = ("batch", "lat", "lon")


def _variable_block(var: xr.DataArray, sizes: dict) -> np.ndarray:
    """[batch, lat, lon, channels] of one variable."""
    other = [d for d in var.dims if d not in _PRESERVED]
    present = [d for d in _PRESERVED if d in var.dims]
    data = var.transpose(*present, *other).values
    n_ch = int(np.prod([var.sizes[d] for d in other], dtype=np.int64)) if other else 1
    data = data.reshape([var.sizes[d] for d in present] + [n_ch])
    # insert missing preserved dims, then broadcast
    for axis, d in enumerate(_PRESERVED):
        if d not in var.dims:
            data = np.expand_dims(data, axis)
    return np.broadcast_to(data, (sizes["batch"], sizes["lat"], sizes["lon"], n_ch))


def num_channels(ds: xr.Dataset) -> int:
    """Number of stacked channels of ``ds``."""
    return sum(
        int(np.prod([ds[n].sizes[d] for d in ds[n].dims if d not in _PRESERVED], dtype=np.int64))
        for n in ds.data_vars)


def channel_names(ds: xr.Dataset) -> list[str]:
    """Human-readable name of every stacked channel, e.g. ``temperature[time=0,level=500]``."""
    names = []
    for n in sorted(ds.data_vars):
        var = ds[n]
        other = [d for d in var.dims if d not in _PRESERVED]
        if not other:
            names.append(n)
            continue
        for idx in np.ndindex(*[var.sizes[d] for d in other]):
            labels = []
            for d, i in zip(other, idx):
                coord = var[d].values[i] if d in var.coords and d != "time" else i
                labels.append(f"{d}={coord}")
            names.append(f"{n}[{','.join(labels)}]")
    return names


def stack_to_nodes(ds: xr.Dataset, batch: int, num_lat: int, num_lon: int, dtype=np.float32) -> np.ndarray:
    """Stacks ``ds`` to ``[num_lat * num_lon, batch, channels]`` (sorted variables).

    Args:
      ds: variables with any of the dims batch/lat/lon plus others (time, level).
      batch, num_lat, num_lon: sizes to broadcast missing dims to.
    """
    sizes = {"batch": batch, "lat": num_lat, "lon": num_lon}
    blocks = [_variable_block(ds[name], sizes) for name in sorted(ds.data_vars)]
    if not blocks:
        return np.zeros((num_lat * num_lon, batch, 0), dtype)
    stacked = np.concatenate(blocks, axis=-1).astype(dtype, copy=False)  # [B, lat, lon, C]
    return np.ascontiguousarray(stacked.reshape(batch, num_lat * num_lon, -1).transpose(1, 0, 2))


def nodes_to_dataset(array: np.ndarray, template: xr.Dataset) -> xr.Dataset:
    """Inverse of :func:`stack_to_nodes` for ``template``'s structure.

    Args:
      array: [num_lat * num_lon, batch, channels].
      template: Dataset whose variables all have batch, lat and lon dims.
    """
    num_nodes, batch, n_ch = array.shape
    num_lat, num_lon = template.sizes["lat"], template.sizes["lon"]
    if num_nodes != num_lat * num_lon:
        raise ValueError(f"array has {num_nodes} grid nodes, template grid is {num_lat}x{num_lon}")
    grid = array.transpose(1, 0, 2).reshape(batch, num_lat, num_lon, n_ch)
    out, start = {}, 0
    for name in sorted(template.data_vars):
        var = template[name]
        missing = [d for d in _PRESERVED if d not in var.dims]
        if missing:
            raise ValueError(f"template variable {name!r} lacks dims {missing}")
        other = [d for d in var.dims if d not in _PRESERVED]
        shape = [var.sizes[d] for d in other]
        n = int(np.prod(shape, dtype=np.int64)) if other else 1
        block = grid[..., start:start + n].reshape([batch, num_lat, num_lon] + shape)
        start += n
        data = xr.DataArray(block, dims=list(_PRESERVED) + other).transpose(*var.dims)
        out[name] = var.copy(data=data.values.astype(var.dtype, copy=False))
    if start != n_ch:
        raise ValueError(f"array has {n_ch} channels but the template needs {start}")
    return xr.Dataset(out, coords=template.coords, attrs=template.attrs)
