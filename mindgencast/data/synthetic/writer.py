"""Atomic, streaming NetCDF output of the synthetic world (data and statistics).

A file is first written under a temporary name in the target folder and moved
into place with ``os.replace`` only when complete, so an interrupted run never
leaves a half-written file under the final name. Data are appended chunk by
chunk along an unlimited ``time`` dimension, so memory stays bounded whatever
the number of years.
"""

from __future__ import annotations

import os
import pathlib
import uuid

import netCDF4
import numpy as np

__all__ = ["write_netcdf_stream", "write_dataset_atomic"]

_TIME_UNITS = "hours since 1970-01-01 00:00:00"


def _temporary_path(path: pathlib.Path) -> pathlib.Path:
    # A fresh name in the target folder (same file system, so os.replace is atomic);
    # not mkstemp, whose 0600 mode would stick to the final file.
    return path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"


def write_dataset_atomic(dataset, path) -> None:
    """``dataset.to_netcdf(path)`` via a temporary file and ``os.replace``."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_path(path)
    try:
        dataset.to_netcdf(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_netcdf_stream(path, chunks) -> None:
    """Writes consecutive datasets (same variables, consecutive times) as one NetCDF file.

    Args:
      path: output file; its folder is created if needed.
      chunks: iterable of xr.Dataset in the WeatherBench2 layout with a ``time`` dim.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_path(path)
    try:
        nc = None
        count = 0
        for chunk in chunks:
            if nc is None:
                encoding = {"time": {"units": _TIME_UNITS, "calendar": "proleptic_gregorian", "dtype": "int64"}}
                chunk.to_netcdf(tmp, unlimited_dims=["time"], encoding=encoding)
                nc = netCDF4.Dataset(tmp, "a")
            else:
                hours = (chunk["time"].values - np.datetime64("1970-01-01T00", "ns")) // np.timedelta64(1, "h")
                n = hours.size
                nc.variables["time"][count:count + n] = hours.astype(np.int64)
                for name, array in chunk.data_vars.items():
                    if "time" in array.dims:
                        if array.dims[0] != "time":
                            raise ValueError(f"{name}: time must be the first dimension to stream, got {array.dims}")
                        nc.variables[name][count:count + n] = array.values
            count += chunk.sizes["time"]
        if nc is None:
            raise ValueError("nothing to write: no time steps")
        nc.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
