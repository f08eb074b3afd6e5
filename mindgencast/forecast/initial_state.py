"""The initial condition of a forecast: the input frames at one init time, checked.

GenCast (Price et al. 2024) conditions on the two latest states, at t0 - 12 h
and t0. Unlike :func:`mindgencast.data.example_batch` (which also cuts target
frames for training and evaluation), a forecast needs only those input frames:
the future is what it produces. This module cuts them from either layout of
``docs/data.md`` and checks them with :mod:`mindgencast.data.validation` before
any model work.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.schemas import TaskConfig
from mindgencast.config.variables import VARIABLES
from mindgencast.data import validation
from mindgencast.data.derived_forcings import DERIVED_FORCINGS, add_derived_forcings
from mindgencast.data.era5_io import select_levels, standardize_era5

__all__ = ["InitialState", "initial_state"]


@dataclasses.dataclass(frozen=True)
class InitialState:
    """What :func:`mindgencast.forecast.run_forecast` starts from.

    Attributes:
      inputs: the task's input variables, dims (time=n_in, [level,] lat, lon)
        (static fields (lat, lon)); ``time`` = leads -(n_in-1) dt .. 0, float32.
      targets_template: every target variable, dims (time=1, [level,] lat, lon),
        NaN; ``time`` = [dt].
      init_time: datetime64[ns] of lead 0.
    """

    inputs: xr.Dataset
    targets_template: xr.Dataset
    init_time: np.datetime64


def initial_state(data: xr.Dataset, task_config: TaskConfig, init_time=None, *, timestep="12h",
                  grid=None) -> InitialState:
    """Cut and check the input frames ending at ``init_time``.

    Args:
      data: plain WeatherBench2 layout (``time`` datetime64, no batch) or the
        example-batch layout (``time`` timedelta, ``datetime`` [batch, time]).
      task_config: variables, levels and input_duration (2 frames of 12 h for GenCast).
      init_time: valid time of lead 0; default: the latest time of the data
        (plain layout) or batch element 0's last input frame (example-batch layout).
      timestep: model step dt.
      grid: optional expected grid (GridConfig or (lat, lon)), e.g. the checkpoint's.

    Raises:
      ValueError (DataValidationError) naming the problem: init time outside the
      data, a missing input frame, missing variable or level, wrong grid, units, NaNs.
    """
    step = pd.Timedelta(timestep)
    num_inputs = pd.Timedelta(task_config.input_duration) / step
    if step <= pd.Timedelta(0) or num_inputs < 1 or num_inputs != int(num_inputs):
        raise ValueError(f"input_duration {task_config.input_duration} is not a positive multiple of {timestep}")
    num_inputs = int(num_inputs)
    ds = standardize_era5(data, derive_precipitation=False)
    validation.check_times(ds)
    frames, init_time = _input_frames(ds, init_time, num_inputs, step)

    names = [n for n in task_config.input_variables if n not in DERIVED_FORCINGS]
    validation.check_variables(frames, names)
    if any(VARIABLES.get(n) is not None and VARIABLES[n].atmospheric for n in names):
        validation.check_levels(frames, task_config.pressure_levels)
    validation.check_lat_lon(frames)
    if grid is not None:
        validation.check_grid(frames, grid)
    validation.check_dtypes(frames, names)
    validation.check_units(frames, names)
    validation.check_finite(frames, names)

    frames = select_levels(frames[names], task_config.pressure_levels) if "level" in frames.dims \
        else frames[names]
    derived = [n for n in task_config.input_variables if n in DERIVED_FORCINGS]
    frames = add_derived_forcings(frames, derived)
    leads = np.arange(-(num_inputs - 1), 1) * step.to_timedelta64().astype("timedelta64[ns]")
    inputs = frames.drop_vars("datetime", errors="ignore").assign_coords(time=leads)
    inputs = inputs[list(task_config.input_variables)].astype(np.float32).load()
    return InitialState(inputs, _targets_template(inputs, task_config, step), np.datetime64(init_time, "ns"))


def _input_frames(ds: xr.Dataset, init_time, num_inputs: int, step: pd.Timedelta):
    """The frames at init_time - (num_inputs-1) step .. init_time, with a ``datetime`` (time) coord."""
    if "batch" in ds.dims or "datetime" in ds.coords:
        datetime = ds.coords["datetime"].transpose(..., "time")
        rows = np.asarray(datetime.values).reshape(-1, ds.sizes["time"])
        if init_time is None:
            init_time = rows[0, num_inputs - 1]
        t0 = _parse_time(init_time)
        hits = np.argwhere(rows == np.datetime64(t0, "ns"))
        if hits.size == 0:
            raise validation.DataValidationError(
                f"init time {t0} is not in the data (its 'datetime' covers {rows.min()} .. {rows.max()})")
        b, k = (int(x) for x in hits[0])
        if k < num_inputs - 1:
            raise validation.DataValidationError(
                f"input frame {t0 - (num_inputs - 1 - k) * step} is missing: the data start at {rows[b, 0]}; "
                f"the forecast needs {num_inputs} frames {_fmt_step(step)} apart ending at the init time")
        frames = ds.isel(time=slice(k - num_inputs + 1, k + 1))
        frames = frames.isel(batch=b, drop=True) if "batch" in frames.dims else frames
        expected = np.array([t0 + i * step for i in range(-(num_inputs - 1), 1)], dtype="datetime64[ns]")
        if not np.array_equal(np.asarray(frames.datetime.values, dtype="datetime64[ns]"), expected):
            raise validation.DataValidationError(
                f"the input frames before {t0} are not {_fmt_step(step)} apart: {frames.datetime.values}")
        return frames.assign_coords(time=frames.datetime.values).drop_vars("datetime"), t0
    have = pd.DatetimeIndex(np.asarray(ds.time.values))
    t0 = _parse_time(init_time if init_time is not None else have[-1])
    wanted = pd.DatetimeIndex([t0 + i * step for i in range(-(num_inputs - 1), 1)])
    span = f"{have[0]} .. {have[-1]}" if len(have) else "no times"
    if t0 not in have and not have[0] <= t0 <= have[-1]:
        raise validation.DataValidationError(f"init time {t0} is outside the data, which cover {span}")
    missing = wanted[~wanted.isin(have)]
    if len(missing):
        raise validation.DataValidationError(
            f"input frame(s) {', '.join(str(t) for t in missing)} missing from the data ({span}); the forecast "
            f"needs {num_inputs} frames {_fmt_step(step)} apart ending at the init time {t0}")
    return ds.sel(time=wanted), t0


def _fmt_step(step: pd.Timedelta) -> str:
    return f"{step / pd.Timedelta(hours=1):g} h"


def _parse_time(value) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise validation.DataValidationError(f"init time {value!r} is not a date-time (e.g. 2019-03-29T12)") from None
    if pd.isna(stamp):
        raise validation.DataValidationError("init time is NaT (not a time)")
    return stamp


def _targets_template(inputs: xr.Dataset, task_config: TaskConfig, step: pd.Timedelta) -> xr.Dataset:
    coords = {c: inputs[c] for c in ("level", "lat", "lon") if c in inputs.coords}
    coords["time"] = np.array([step.to_numpy()], dtype="timedelta64[ns]")
    fields = {}
    for name in task_config.target_variables:
        dims = ("time", "level", "lat", "lon") if VARIABLES[name].atmospheric else ("time", "lat", "lon")
        shape = [len(coords[d]) for d in dims]
        fields[name] = (dims, np.full(shape, np.nan, np.float32))
    return xr.Dataset(fields, coords=coords)
