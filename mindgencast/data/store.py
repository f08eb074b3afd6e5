"""The packed training store: one task's variables as chunked float32 HDF5 datasets.

Reference: GenCast (Price et al., Nature 2024), Methods "Training" (examples are
(inputs at t - 12 h and t, target at t + 12 h) drawn at random from 1979-2018 ERA5);
h5py's chunked storage. Training reads a few time steps at random positions, so
each variable is chunked per time step and an example costs one chunk read per
frame and variable.

File layout (``FORMAT`` = "mindgencast-store/1")::

    /variables/<name>   float32, dims in attr "dims": (time, [level,] lat, lon),
                        (time,) or (time, lon) for the clock features, (lat, lon)
                        for static fields; chunks = one time step
    /coords/time        int64, seconds since 1970-01-01T00 UTC (valid times)
    /coords/lat, lon    float64, degrees (lat ascending, lon in [0, 360))
    /coords/level       int32, hPa (the task's pressure levels, in task order)
    attrs               format, task_config (JSON), input/target/forcing variable
                        lists, time_step_seconds

Coordinates live in datasets, not attributes, because HDF5 attributes are limited to
64 kB and decades of 6-hourly times are larger. Values are physical (not normalised),
so one store serves any statistics. The file is written under a temporary name in
the destination directory and renamed at the end: bad input (a missing variable,
NaN outside sea_surface_temperature, an irregular time axis) leaves no file.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Optional

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.io import config_from_dict, config_to_dict
from mindgencast.config.schemas import TaskConfig
from mindgencast.data.derived_forcings import DERIVABLE_FROM_TIME, add_time_derived
from mindgencast.data.validation import (
    check_dtypes,
    check_finite,
    check_lat_lon,
    check_levels,
    check_times,
    check_units,
    check_variables,
    required_variables,
)

__all__ = ["FORMAT", "COMPRESSIONS", "write_store", "TrainingStore"]

FORMAT = "mindgencast-store/1"
COMPRESSIONS = (None, "gzip", "lzf")


def _store_variables(task_config: TaskConfig) -> tuple[str, ...]:
    """Every variable an example of the task reads: stored data plus clock features."""
    names = (*task_config.input_variables, *task_config.target_variables, *task_config.forcing_variables)
    return tuple(dict.fromkeys(names))


def _check_source(data: xr.Dataset, task_config: TaskConfig) -> xr.Dataset:
    """Structure checks before anything is written; returns the task's subset of ``data``."""
    if "time" not in data.coords or not np.issubdtype(data["time"].dtype, np.datetime64):
        raise ValueError(
            "the store is built from a plain time series ('time' holding datetime64 valid times, no "
            "'batch' dim), e.g. mindgencast.data.open_era5(path)"
        )
    # TOA incident solar radiation is read when the data hold it, else computed from the times.
    stored = tuple(n for n in required_variables(task_config) if n not in DERIVABLE_FROM_TIME or n in data.data_vars)
    check_variables(data, stored)
    check_lat_lon(data)
    check_times(data)
    check_dtypes(data, stored)
    check_units(data, stored, check_values=False)
    data = data[list(stored)]
    if "level" in data.dims:
        check_levels(data, task_config.pressure_levels)
        data = data.sel(level=[int(p) for p in task_config.pressure_levels])
    return data


def _dims_of(var: xr.DataArray) -> tuple[str, ...]:
    order = [d for d in ("time", "level", "lat", "lon") if d in var.dims]
    extra = [d for d in var.dims if d not in order]
    if extra:
        raise ValueError(f"variable {var.name!r} has unexpected dims {extra}; expected among time, level, lat, lon")
    return tuple(order)


def write_store(
    path: str | os.PathLike,
    data: xr.Dataset,
    task_config: TaskConfig,
    *,
    compression: Optional[str] = None,
    time_chunk: int = 16,
) -> pathlib.Path:
    """Writes the training store of ``task_config`` from a plain ERA5 time series.

    Args:
      path: output ``.h5`` file (replaced only when the new one is complete).
      data: plain layout (``time`` datetime64, regular; ``[level,] lat, lon``),
        physical units, may be lazily opened; read ``time_chunk`` times at a time.
        The clock features (year/day progress) are computed from the times.
      task_config: which variables and pressure levels to store.
      compression: None, "gzip" or "lzf" (lossless; the values round-trip exactly).
      time_chunk: times read and written per step (bounds memory).

    Returns:
      The path written.

    Raises:
      mindgencast.data.validation.DataValidationError (a ValueError) naming a
      missing variable or level, an irregular time, a non-float variable, wrong
      units or NaN outside sea_surface_temperature; no file is left behind.
    """
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression={compression!r}; expected one of {COMPRESSIONS}")
    if time_chunk < 1:
        raise ValueError(f"time_chunk must be >= 1, got {time_chunk}")
    path = pathlib.Path(path)
    data = _check_source(data, task_config)
    names = _store_variables(task_config)
    derived = [n for n in names if n in DERIVABLE_FROM_TIME and n not in data.data_vars]
    times = data["time"].values
    first = add_time_derived(data.isel(time=slice(0, 1)), derived)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as f:
            _write_header(f, data, task_config, times)
            group = f.create_group("variables")
            for name in names:
                var = first[name]
                dims = _dims_of(var)
                shape = tuple(times.size if d == "time" else var.sizes[d] for d in dims)
                chunks = tuple(1 if d == "time" else n for d, n in zip(dims, shape))
                dset = group.create_dataset(name, shape=shape, dtype=np.float32, chunks=chunks or None,
                                            compression=compression)
                dset.attrs["dims"] = list(dims)
                if "time" not in dims:
                    check_finite(first, [name])
                    check_units(first, [name])
                    dset[...] = var.transpose(*dims).values.astype(np.float32)
            for start in range(0, times.size, time_chunk):
                chunk = add_time_derived(data.isel(time=slice(start, start + time_chunk)).load(), derived)
                timed = [n for n in names if "time" in chunk[n].dims]
                check_finite(chunk, timed)
                check_units(chunk, [n for n in timed if n not in derived])
                for name in timed:
                    var = chunk[name]
                    group[name][start:start + var.sizes["time"]] = var.transpose(*_dims_of(var)).values
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return path


def _write_header(f: h5py.File, data: xr.Dataset, task_config: TaskConfig, times: np.ndarray) -> None:
    coords = f.create_group("coords")
    coords["time"] = times.astype("datetime64[s]").astype(np.int64)
    coords["lat"] = data["lat"].values.astype(np.float64)
    coords["lon"] = data["lon"].values.astype(np.float64)
    coords["level"] = np.asarray(task_config.pressure_levels, np.int32)
    f.attrs["format"] = FORMAT
    f.attrs["task_config"] = json.dumps(config_to_dict(task_config))
    f.attrs["input_variables"] = list(task_config.input_variables)
    f.attrs["target_variables"] = list(task_config.target_variables)
    f.attrs["forcing_variables"] = list(task_config.forcing_variables)
    step = (times[1] - times[0]) if times.size > 1 else np.timedelta64(0, "s")
    f.attrs["time_step_seconds"] = int(step / np.timedelta64(1, "s"))


class TrainingStore:
    """Read access to a store written by :func:`write_store`.

    Opens the file lazily and reopens it after pickling, so one instance can be
    handed to worker processes. Attributes: ``task_config``, ``times``
    (datetime64[ns] [num_times]), ``lat``, ``lon``, ``levels``, ``time_step``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"training store not found: {self.path} (build it with `mindgencast prepare`)")
        self._file = None
        f = self._handle()
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{self.path} is not a mindgencast store (format {f.attrs.get('format')!r}, "
                             f"expected {FORMAT!r}); rebuild it with `mindgencast prepare`")
        self.task_config = config_from_dict(TaskConfig, json.loads(f.attrs["task_config"]))
        self.times = f["coords/time"][...].astype("datetime64[s]").astype("datetime64[ns]")
        self.lat = f["coords/lat"][...]
        self.lon = f["coords/lon"][...]
        self.levels = f["coords/level"][...]
        self.time_step = pd.Timedelta(int(f.attrs["time_step_seconds"]), "s")
        self.dims = {name: tuple(dset.attrs["dims"]) for name, dset in f["variables"].items()}

    def _handle(self) -> h5py.File:
        if self._file is None:
            self._file = h5py.File(self.path, "r")
        return self._file

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_file"] = None  # h5py handles do not pickle; each process opens its own
        return state

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def read_array(self, name: str, time_indices=None) -> np.ndarray:
        """Variable ``name`` at ``time_indices`` (a slice or ascending ints; all if None) as
        float32 NumPy, dims ``self.dims[name]``."""
        dset = self._handle()["variables"][name]
        if time_indices is None or "time" not in self.dims[name]:
            return dset[...]
        if not isinstance(time_indices, slice):
            time_indices = np.asarray(time_indices, dtype=np.int64)
        return dset[time_indices]

    def read(self, name: str, time_indices=None) -> xr.DataArray:
        """Variable ``name`` at ``time_indices`` (a slice or ascending ints; all if None), physical float32.

        Returns a DataArray with dims as stored and coords level/lat/lon (time is
        left to the caller, who knows the lead times it wants).
        """
        dims = self.dims[name]
        values = self.read_array(name, time_indices)
        coords = {d: getattr(self, "levels" if d == "level" else d) for d in dims if d in ("level", "lat", "lon")}
        return xr.DataArray(values, dims=dims, coords=coords, name=name)

    def to_dataset(self) -> xr.Dataset:
        """The whole store as a plain-layout Dataset (for inspection and tests; loads everything)."""
        ds = xr.Dataset({name: self.read(name) for name in self.dims})
        return ds.assign_coords(time=self.times)
