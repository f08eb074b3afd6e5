"""Cutting (inputs, targets, forcings) for one forecast out of ERA5 data.

Reference: DeepMind graphcast ``data_utils.py`` (``extract_input_target_times``,
``extract_inputs_targets_forcings``) and the GenCast demo's example batches.

Example-batch layout (``tests/data/gencast_tiny/source.nc``): dims
``batch, time, [level,] lat, lon`` where ``time`` is a timedelta from the first
frame and ``datetime`` [batch, time] holds the valid times. The last frame is
the last target; lead times are measured from the last input frame (lead 0),
so with GenCast's ``input_duration="24h"`` and 12 h steps the inputs are the
frames at -12 h and 0 h and the targets those at +12 h, +24 h, ...
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.schemas import TaskConfig
from mindgencast.data.derived_forcings import DERIVABLE_FROM_TIME, add_time_derived
from mindgencast.data.era5_io import select_levels, standardize_era5, total_precipitation_12hr
from mindgencast.data.validation import (
    DataValidationError,
    check_require_times,
    check_times,
    required_variables,
    validate_era5,
)

__all__ = ["extract_inputs_targets_forcings", "example_batch", "target_lead_times_for"]

_DIM_ORDER = ("batch", "time", "level", "lat", "lon")


def _lead_times(target_lead_times) -> tuple[object, pd.Timedelta]:
    """(selector for the shifted ``time`` axis, the longest lead time)."""
    if isinstance(target_lead_times, slice):
        start = target_lead_times.start
        if start is None:  # first step after lead 0, which is the last input frame
            start = pd.Timedelta(1, "ns")
        if target_lead_times.stop is None:
            raise ValueError("target_lead_times slice needs a stop, e.g. slice('12h', '48h')")
        return slice(pd.Timedelta(start), pd.Timedelta(target_lead_times.stop), target_lead_times.step), pd.Timedelta(
            target_lead_times.stop
        )
    if isinstance(target_lead_times, (list, tuple, set)):
        leads = sorted(pd.Timedelta(t) for t in target_lead_times)
    else:
        leads = [pd.Timedelta(target_lead_times)]  # a single lead time still gets a time dim of 1
    if not leads:
        raise ValueError("target_lead_times is empty")
    return leads, leads[-1]


def target_lead_times_for(num_steps: int, timestep="12h") -> slice:
    """``slice(timestep, num_steps * timestep)``: every target of a ``num_steps`` rollout."""
    step = pd.Timedelta(timestep)
    return slice(step, num_steps * step)


def extract_inputs_targets_forcings(
    source: xr.Dataset,
    task_config: TaskConfig,
    target_lead_times,
    *,
    grid=None,
    check_values: bool = True,
) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    """Inputs, targets and forcings of ``task_config`` from an example batch.

    Args:
      source: example-batch layout (see module docstring); standardized first
        (CDS names, lat/lon conventions), then validated.
      task_config: the variables (inputs, targets, forcings) and pressure levels;
        ``input_duration`` sets how many frames before lead 0 are inputs.
      target_lead_times: one lead time (``"12h"``, a Timedelta), a list of
        them, or a slice with inclusive ends (``slice("12h", "36h")``).
      grid: optional expected grid (GridConfig or (lat, lon)), checked.
      check_values: look for NaNs outside SST and implausible magnitudes.

    Returns:
      inputs: [batch, input frames, [level,] lat, lon] (+ static [lat, lon],
        clock features [batch, time(, lon)]), ``time`` = lead times <= 0.
      targets: [batch, num lead times, [level,] lat, lon], ``time`` = lead times.
      forcings: clock features (and other forcings) at the target lead times.
      All in physical units; NaNs of sea_surface_temperature kept.

    Raises:
      DataValidationError naming the variable, level or time at fault.
    """
    overlap = set(task_config.forcing_variables) & set(task_config.target_variables)
    if overlap:
        raise ValueError(f"forcing variables {sorted(overlap)} must not also be target variables")
    source = standardize_era5(source, derive_precipitation=False)
    validate_era5(source, task_config, grid=grid, check_values=check_values)
    if "datetime" not in source.coords:
        raise DataValidationError(
            "extract_inputs_targets_forcings needs the example-batch layout (a 'datetime' coordinate and lead "
            "times in 'time'); cut one from a plain time series with example_batch(era5, init_time, ...)"
        )

    ds = select_levels(source, task_config.pressure_levels) if "level" in source.dims else source
    wanted = (*task_config.input_variables, *task_config.target_variables, *task_config.forcing_variables)
    ds = add_time_derived(ds, [n for n in wanted if n in DERIVABLE_FROM_TIME])  # TISR only where absent
    ds = ds.drop_vars("datetime")

    selector, last_lead = _lead_times(target_lead_times)
    time = ds.coords["time"]
    ds = ds.assign_coords(time=time + last_lead - time[-1])  # lead 0 = last input frame
    leads = pd.TimedeltaIndex(ds.coords["time"].values)
    try:
        targets = ds.sel(time=selector)
    except KeyError:
        raise DataValidationError(
            f"target lead time(s) {[str(t) for t in selector]} not in the data; available lead times "
            f"{[str(t) for t in leads]}"
        ) from None
    if targets.sizes["time"] == 0:
        raise DataValidationError(
            f"no target lead times in {selector}; available lead times {[str(t) for t in leads]}"
        )
    input_duration = pd.Timedelta(task_config.input_duration)
    # Inclusive label slicing: start one nanosecond after -input_duration.
    inputs = ds.sel(time=slice(-input_duration + pd.Timedelta(1, "ns"), pd.Timedelta(0)))
    if len(leads) > 1:
        step = leads[1] - leads[0]
        needed = int(input_duration / step)
        if inputs.sizes["time"] != needed:
            raise DataValidationError(
                f"input_duration {task_config.input_duration} at {step} steps needs {needed} input frames up to "
                f"lead 0, but the data have {inputs.sizes['time']} (lead times {[str(t) for t in leads]})"
            )
    return (
        inputs[list(task_config.input_variables)],
        targets[list(task_config.target_variables)],
        targets[list(task_config.forcing_variables)],
    )


def example_batch(
    era5: xr.Dataset,
    init_time,
    num_steps: int,
    task_config: TaskConfig,
    *,
    timestep="12h",
    grid=None,
) -> xr.Dataset:
    """Cuts the example-batch layout out of a plain WeatherBench2 time series.

    For each init time t0 the frames are t0 - (n_in - 1) dt, ..., t0 (inputs,
    n_in = input_duration / dt, 2 for GenCast) and t0 + dt, ..., t0 + num_steps dt
    (targets), dt = ``timestep``. Pass the result to
    :func:`extract_inputs_targets_forcings` with
    ``target_lead_times_for(num_steps, timestep)``.

    Args:
      era5: plain layout (``time`` datetime64, no batch), e.g. from ``open_era5``.
        Only the cut-out frames are read. ``total_precipitation_12hr`` is built
        from hourly/6-hourly precipitation if the task needs it and it is absent.
      init_time: one valid time (str, datetime64, Timestamp) or a sequence of
        them, one batch element each.
      num_steps: number of target frames (>= 1).
      task_config: selects the variables and pressure levels.
      timestep: model step dt (GenCast: 12 h).
      grid: optional expected grid (GridConfig or (lat, lon)), checked.

    Returns:
      [batch, n_in + num_steps, [level,] lat, lon] per variable (static fields
      [lat, lon]); ``time`` = timedelta from the first frame; ``datetime``
      [batch, time]. Loaded into memory.
    """
    if int(num_steps) != num_steps or num_steps < 1:
        raise ValueError(f"num_steps={num_steps!r} must be a positive integer")
    step = pd.Timedelta(timestep)
    ratio = pd.Timedelta(task_config.input_duration) / step
    if step <= pd.Timedelta(0) or ratio < 1 or ratio != int(ratio):
        raise ValueError(
            f"input_duration {task_config.input_duration} must be a positive multiple of the timestep {timestep}"
        )
    num_inputs = int(ratio)
    ds = standardize_era5(era5, derive_precipitation=False)
    if "time" not in ds.coords or not np.issubdtype(ds.coords["time"].dtype, np.datetime64):
        raise DataValidationError(
            "example_batch needs a plain time series ('time' holding datetime64 valid times, no batch dim); "
            f"got 'time' of dtype {ds.coords['time'].dtype if 'time' in ds.coords else None}"
        )
    check_times(ds)
    init_times = pd.DatetimeIndex(pd.to_datetime(list(np.atleast_1d(np.asarray(init_time)))))
    offsets = pd.TimedeltaIndex(np.arange(-(num_inputs - 1), num_steps + 1) * step)
    frames = [t0 + offsets for t0 in init_times]
    all_times = pd.DatetimeIndex(np.concatenate([f.values for f in frames]))

    names = required_variables(task_config)
    precip = "total_precipitation_12hr"
    derive = precip in names and precip not in ds.data_vars
    stored = [n for n in names if n in ds.data_vars]
    check_require_times(ds, all_times.unique())

    pieces = []
    for times in frames:
        piece = ds[stored].sel(time=times)
        if derive:
            piece = piece.assign({precip: total_precipitation_12hr(ds, times)})
        piece = select_levels(piece, task_config.pressure_levels) if "level" in piece.dims else piece
        pieces.append(piece.assign_coords(time=times - times[0]))
    batch = xr.Dataset(attrs=ds.attrs)
    for name in names:
        if name not in pieces[0].data_vars:
            continue  # reported by validate_era5 below
        var = pieces[0][name]
        if "time" in var.dims:
            var = xr.concat([p[name] for p in pieces], dim="batch")
        batch[name] = var.transpose(*[d for d in _DIM_ORDER if d in var.dims], ...)
    batch = batch.assign_coords(
        time=("time", np.asarray(offsets - offsets[0], dtype="timedelta64[ns]")),
        datetime=(("batch", "time"), np.stack([np.asarray(f.values, dtype="datetime64[ns]") for f in frames])),
    ).load()
    validate_era5(batch, task_config, grid=grid)
    return batch
