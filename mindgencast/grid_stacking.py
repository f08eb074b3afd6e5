"""Batched xarray Datasets <-> node-major arrays ``[num_grid_nodes, batch, channels]``.

The channel layout is the reference's (``model_utils.dataset_to_stacked``), defined once
per example in :mod:`mindgencast.data.stacking`; this module only adds the ``batch``
axis the network's node-major layout needs. Variables without a ``batch`` dim (static
fields) are shared by every batch element.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mindgencast.data.stacking import stack_dataset, stacked_channels, unstack_to_dataset

__all__ = ["stack_to_nodes", "nodes_to_dataset", "num_channels"]


def num_channels(ds: xr.Dataset) -> int:
    """Stacked channels of ``ds`` (dims other than batch, lat and lon flattened)."""
    return stacked_channels(ds.isel(batch=0) if "batch" in ds.dims else ds)


def stack_to_nodes(ds: xr.Dataset, batch: int, num_lat: int, num_lon: int, dtype=np.float32) -> np.ndarray:
    """Stacks ``ds`` to ``[num_lat * num_lon, batch, channels]`` (sorted variables).

    Args:
      ds: variables with any of the dims batch/lat/lon plus others (time, level).
      batch, num_lat, num_lon: sizes to broadcast missing dims to.
    """
    per_example = [stack_dataset(ds.isel(batch=b) if "batch" in ds.dims else ds, num_lat, num_lon, dtype)
                   for b in range(batch)]
    return np.ascontiguousarray(np.stack(per_example, axis=1))


def nodes_to_dataset(array: np.ndarray, template: xr.Dataset) -> xr.Dataset:
    """Inverse of :func:`stack_to_nodes` for ``template``'s structure (a ``batch`` dim first).

    Args:
      array: [num_lat * num_lon, batch, channels].
      template: Dataset whose variables all have batch, lat and lon dims.
    """
    if array.shape[1] != template.sizes["batch"]:
        raise ValueError(f"array has batch {array.shape[1]}, template {template.sizes['batch']}")
    examples = [unstack_to_dataset(array[:, b], template.isel(batch=b)) for b in range(array.shape[1])]
    out = xr.concat(examples, dim="batch", coords="minimal", compat="override", join="override")
    return xr.Dataset({n: out[n].transpose(*template[n].dims) for n in template.data_vars},
                      coords=template.coords, attrs=template.attrs)
