"""Initial conditions of a forecast: the two input frames and the targets template.

A real forecast has no future data, so unlike the training extraction
(:func:`mindgencast.data.extract_inputs_targets_forcings`) only the input frames
t0 - (n - 1) dt .. t0 are read; the template of the 12-h-ahead state is all NaN.
Accepts a plain WeatherBench2 time series (``time`` datetime64, no batch) or the
example-batch layout of DeepMind's example files (``batch``, ``time`` as lead,
``datetime`` coordinate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config import GridConfig, TaskConfig, variable_info
from mindgencast.data.derived_forcings import DERIVED_FORCINGS, add_derived_forcings
from mindgencast.data.era5_io import standardize_era5
from mindgencast.data.validation import (
    DataValidationError,
    check_dtypes,
    check_finite,
    check_grid,
    check_lat_lon,
    check_levels,
    check_units,
    check_variables,
)

__all__ = ["initial_conditions", "GENCAST_TIMESTEP"]

GENCAST_TIMESTEP = pd.Timedelta("12h")


def _to_plain(ds: xr.Dataset, init_time) -> xr.Dataset:
    """Example-batch layout -> plain time series (batch element 0 unless init_time picks another)."""
    if "batch" not in ds.dims:
        return ds
    if "datetime" not in ds.coords:
        raise DataValidationError("a dataset with a 'batch' dim needs a 'datetime' coordinate (example-batch layout)")
    index = 0
    if init_time is not None:
        hits = [b for b in range(ds.sizes["batch"])
                if np.datetime64(pd.Timestamp(init_time)) in ds["datetime"].isel(batch=b).values]
        if not hits:
            raise DataValidationError(f"init time {init_time} is not among the file's datetimes")
        index = hits[0]
    one = ds.isel(batch=index, drop=True)
    times = one["datetime"].values
    return one.drop_vars("datetime").assign_coords(time=times)


def _global_grid_of(ds: xr.Dataset) -> GridConfig:
    """The equiangular global grid with poles the data claim to be on (GenCast's grids)."""
    lon = np.asarray(ds["lon"].values, np.float64)
    step = 360.0 / lon.size
    try:
        return GridConfig(resolution=step)
    except ValueError:
        raise DataValidationError(
            f"wrong grid: {lon.size} longitudes do not divide the circle into a grid whose spacing divides "
            "180 degrees; GenCast needs a global equiangular grid with poles (lat -90..90, lon 0..360-step)"
        ) from None


def initial_conditions(source: xr.Dataset, task: TaskConfig, init_time=None, grid=None,
                       timestep=GENCAST_TIMESTEP):
    """Builds (inputs, targets_template) for a forecast from ``init_time``.

    Args:
      source: ERA5 in WB2 plain layout or example-batch layout (physical units).
      task: the model's task (variables, levels, input_duration).
      init_time: the latest input frame t0 (default: the last time with a full set of
        input frames).
      grid: optional expected grid (GridConfig), checked.

    Returns:
      inputs: (batch=1, time=n_in, [level,] lat, lon) with lead times -(n_in-1) dt .. 0,
        a ``datetime`` coordinate, statics (lat, lon) and derived clock features.
      targets_template: (batch=1, time=1, [level,] lat, lon), NaN, lead time dt.

    Raises:
      DataValidationError: missing variable/level, wrong grid, missing input frame, init
        time out of range, NaN outside SST, wrong units or dtypes (before anything is done).
    """
    step = pd.Timedelta(timestep)
    n_in = int(pd.Timedelta(task.input_duration) / step)
    ds = standardize_era5(_to_plain(source, init_time), derive_precipitation=False)
    if "time" not in ds.coords or not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise DataValidationError("initial conditions need datetime64 'time' values (plain WeatherBench2 layout)")
    times = pd.DatetimeIndex(ds["time"].values)
    state = [v for v in task.input_variables if v not in DERIVED_FORCINGS and variable_info(v).kind != "static"]
    static = [v for v in task.input_variables if variable_info(v).kind == "static"]
    check_variables(ds, state + static)
    if any(variable_info(v).atmospheric for v in state):
        check_levels(ds, task.pressure_levels)
    check_lat_lon(ds)
    if grid is None:
        grid = _global_grid_of(ds)
    check_grid(ds, grid)
    if init_time is None:
        candidates = [t for t in times if all((t - k * step) in times for k in range(n_in))]
        if not candidates:
            raise DataValidationError(f"no time in the data has the {n_in} input frames {step} apart that the "
                                      "model needs")
        t0 = candidates[-1]
    else:
        t0 = pd.Timestamp(init_time)
    frames = pd.DatetimeIndex([t0 - k * step for k in reversed(range(n_in))])
    missing = [t.isoformat() for t in frames if t not in times]
    if missing:
        raise DataValidationError(
            f"init time {t0.isoformat()} needs input frames {[t.isoformat() for t in frames]}; missing "
            f"{missing} (the data cover {times.min().isoformat()} .. {times.max().isoformat()})")
    inputs = ds[state].sel(time=frames)
    if "level" in inputs.dims:
        inputs = inputs.sel(level=list(task.pressure_levels))
    statics = {v: ds[v].isel(time=0, drop=True) if "time" in ds[v].dims else ds[v] for v in static}
    inputs = inputs.assign(**statics)
    names = state + static
    check_dtypes(inputs, names)
    check_units(inputs, names)
    check_finite(inputs, names)
    leads = pd.TimedeltaIndex([-(n_in - 1 - k) * step for k in range(n_in)])
    inputs = inputs[state].assign_coords(time=leads.values).expand_dims(batch=1).assign(**statics)
    inputs = inputs.assign_coords(datetime=(("batch", "time"), frames.values[None, :]))
    inputs = add_derived_forcings(inputs, [v for v in task.input_variables if v in DERIVED_FORCINGS])
    inputs = inputs[list(task.input_variables)].astype(np.float32)

    template = {}
    for v in task.target_variables:
        dims = ["batch", "time"] + (["level"] if variable_info(v).atmospheric else []) + ["lat", "lon"]
        shape = [1, 1] + ([len(task.pressure_levels)] if variable_info(v).atmospheric else []) + \
            [ds.sizes["lat"], ds.sizes["lon"]]
        template[v] = xr.Variable(dims, np.full(shape, np.nan, np.float32))
    coords = {"time": [step.to_timedelta64()], "lat": ds["lat"].values, "lon": ds["lon"].values}
    if any(variable_info(v).atmospheric for v in task.target_variables):
        coords["level"] = np.asarray(task.pressure_levels)
    return inputs, xr.Dataset(template, coords=coords)
