"""Normalisation statistics of a dataset, computed in one streaming pass over time.

Reference: the statistics files DeepMind ships with GenCast (``mean_by_level.nc``,
``stddev_by_level.nc``, ``diffs_stddev_by_level.nc``, ``min_by_level.nc``; GenCast,
Price et al., Nature 2024, Methods); pairwise moment merging: Chan, Golub & LeVeque
(1979), "Updating formulae and a pairwise algorithm for computing sample variances".

For each variable (and each pressure level of an atmospheric variable), over all
times and grid points, NaN ignored (sea surface temperature over land), unweighted by
area, population moments (divide by ``n``)::

    mean_by_level         = mean(x)
    stddev_by_level       = sqrt(mean((x - mean(x))^2))
    diffs_stddev_by_level = stddev of d(t) = x(t + 12 h) - x(t), over every t for
                            which both times are in the data; with data every
                            dt hours this is the lag-k difference, k = 12 h / dt
                            (k = 2 for 6-hourly data, 1 for 12-hourly)
    min_by_level          = min(x)

The data are read ``time_chunk`` times at a time; each chunk's float64 moments are
merged into running (count, mean, M2, min) per level, and the last k frames of a
chunk are kept to form the differences that straddle chunk boundaries, so memory is
bounded by the chunk size whatever the number of years. Static fields (no time dim)
count once; their differences are identically 0, so their diffs_stddev is 0
(never used: static fields are not targets). The derived clock features
year_progress(_sin, _cos) and day_progress(_sin, _cos) are computed from the times
and included, as in the reference files (the raw sawtooth progress values jump by
-1 once a year / day, and their diffs_stddev includes these jumps; the model sees
only the sine and cosine, whose statistics are smooth).
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.data.derived_forcings import DERIVABLE_FROM_TIME, DERIVED_FORCINGS, add_time_derived
from mindgencast.data.normalization import NormalizationStats

__all__ = ["DIFFERENCE_STEP", "compute_statistics"]

DIFFERENCE_STEP = "12h"  # GenCast's model step: diffs_stddev is the spread of 12 h changes


@dataclasses.dataclass
class _Moments:
    """Running count, mean, M2 (sum of squared deviations) and min, float64, per level."""

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    minimum: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> "_Moments":
        """Moments of ``values`` [levels, samples] along the samples, NaN ignored."""
        finite = ~np.isnan(values)
        count = finite.sum(axis=1).astype(np.float64)
        zeroed = np.where(finite, values, 0.0)
        mean = zeroed.sum(axis=1) / np.maximum(count, 1)
        m2 = (np.where(finite, values - mean[:, None], 0.0) ** 2).sum(axis=1)
        minimum = np.where(finite, values, np.inf).min(axis=1)
        return cls(count, mean, m2, minimum)

    def merge(self, other: "_Moments") -> "_Moments":
        """Chan et al.'s pairwise update; exact for any split of the samples."""
        count = self.count + other.count
        safe = np.maximum(count, 1)
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / safe
        m2 = self.m2 + other.m2 + delta**2 * self.count * other.count / safe
        return _Moments(count, mean, m2, np.minimum(self.minimum, other.minimum))

    @property
    def stddev(self) -> np.ndarray:
        return np.sqrt(self.m2 / np.maximum(self.count, 1))


def _as_levels_by_samples(var: xr.DataArray) -> np.ndarray:
    """[levels or 1, samples] float64 view of a variable, level first."""
    if "level" in var.dims:
        data = var.transpose("level", ...).values
        return data.reshape(data.shape[0], -1).astype(np.float64, copy=False)
    return np.asarray(var.values, np.float64).reshape(1, -1)


def _time_level_samples(var: xr.DataArray) -> np.ndarray:
    """[time, levels or 1, samples] float64 array of a variable with a time dim."""
    order = ["time"] + (["level"] if "level" in var.dims else [])
    data = np.asarray(var.transpose(*order, ...).values, np.float64)
    return data.reshape(data.shape[0], data.shape[1] if "level" in var.dims else 1, -1)


def _time_lag(times: np.ndarray, step: str) -> int:
    """Number of data time steps in ``step``; checks the time axis is regular."""
    if times.size < 2:
        raise ValueError(f"need at least 2 times to compute differences; the data has {times.size}")
    if not np.issubdtype(times.dtype, np.datetime64):
        raise ValueError(f"the 'time' coordinate has dtype {times.dtype}; expected datetime64 valid times")
    spacing = np.diff(times)
    if np.any(spacing <= np.timedelta64(0)) or np.any(spacing != spacing[0]):
        bad = int(np.flatnonzero((spacing <= np.timedelta64(0)) | (spacing != spacing[0]))[0])
        raise ValueError(
            f"the 'time' axis is not regular: {times[bad]} -> {times[bad + 1]} differs from the first "
            f"spacing {pd.Timedelta(spacing[0])}; statistics need evenly spaced, increasing times"
        )
    dt, target = pd.Timedelta(spacing[0]), pd.Timedelta(step)
    lag = target / dt
    if lag < 1 or lag != int(lag):
        raise ValueError(f"difference step {target} is not a whole multiple of the data spacing {dt}")
    if times.size <= lag:
        raise ValueError(f"{times.size} times spaced {dt} hold no pair {target} apart; diffs_stddev_by_level "
                         "needs a longer time series")
    return int(lag)


def _default_variables(data: xr.Dataset) -> list[str]:
    names = [n for n in data.data_vars if np.issubdtype(data[n].dtype, np.floating)]
    return names + [n for n in DERIVED_FORCINGS if n not in names]


def _to_dataset(values: dict[str, np.ndarray], levels: Optional[np.ndarray], has_level: dict, attrs: dict) -> xr.Dataset:
    out = {}
    for name, v in values.items():
        if has_level[name]:
            out[name] = xr.DataArray(v.astype(np.float32), dims=("level",), coords={"level": levels})
        else:
            out[name] = xr.DataArray(np.float32(v[0]))
    return xr.Dataset(out, attrs=attrs)


def compute_statistics(
    data: xr.Dataset,
    *,
    variables: Optional[Iterable[str]] = None,
    levels: Optional[Iterable[int]] = None,
    time_chunk: int = 64,
    difference_step: str = DIFFERENCE_STEP,
) -> NormalizationStats:
    """The four normalisation statistics of ``data`` (definitions in the module docstring).

    Args:
      data: plain layout, dims ``time`` (datetime64, regular), ``[level,] lat, lon``,
        e.g. ``mindgencast.data.open_era5(path)`` opened lazily; only ``time_chunk``
        times are in memory at once.
      variables: names to include (default: every float variable of ``data`` plus
        the derived clock features). Derived features (clock features, TOA incident
        solar radiation) need not be in ``data``.
      levels: pressure levels (hPa) to keep (default: all of ``data``'s).
      time_chunk: times read per step (memory ~ time_chunk x one time step).
      difference_step: the step of the differences of ``diffs_stddev_by_level``.

    Returns:
      NormalizationStats in float32, ``(level,)`` for variables with a level dim.

    Raises:
      ValueError: irregular times, a missing variable or level, or a
      variable with no finite value (each named).
    """
    if "time" not in data.dims:
        raise ValueError(f"the data has no 'time' dimension (dims {dict(data.sizes)}); expected a time series")
    if time_chunk < 1:
        raise ValueError(f"time_chunk must be >= 1, got {time_chunk}")
    names = list(variables) if variables is not None else _default_variables(data)
    derived = [n for n in names if n in DERIVABLE_FROM_TIME and n not in data.data_vars]
    stored = [n for n in names if n not in derived]
    missing = [n for n in stored if n not in data.data_vars]
    if missing:
        raise ValueError(f"variable(s) {missing} not in the data (it has {sorted(map(str, data.data_vars))})")
    data = data[stored]
    if levels is not None:
        levels = [int(p) for p in levels]
        have = data["level"].values.tolist() if "level" in data.coords else []
        absent = [p for p in levels if p not in have]
        if absent:
            raise ValueError(f"pressure level(s) {absent} hPa not in the data's 'level' coordinate {have}")
        data = data.sel(level=levels)
    times = data["time"].values
    lag = _time_lag(times, difference_step)

    values: dict[str, _Moments] = {}
    diffs: dict[str, _Moments] = {}
    tail: dict[str, np.ndarray] = {}  # last `lag` frames of the previous chunk, [lag, ...]
    has_level: dict[str, bool] = {}
    for start in range(0, times.size, time_chunk):
        chunk = data.isel(time=slice(start, start + time_chunk)).load()
        if derived:
            chunk = add_time_derived(chunk, derived)
        for name in names:
            var = chunk[name]
            timeless = "time" not in var.dims
            if timeless and start > 0:
                continue  # a static field counts once
            has_level[name] = "level" in var.dims
            moments = _Moments.of(_as_levels_by_samples(var))
            values[name] = values[name].merge(moments) if name in values else moments
            if timeless:
                zero = np.zeros_like(moments.mean)
                diffs[name] = _Moments(moments.count, zero, zero.copy(), zero.copy())
                continue
            series = _time_level_samples(var)
            if name in tail:
                series = np.concatenate([tail[name], series], axis=0)
            tail[name] = series[-lag:]
            if series.shape[0] > lag:
                delta = series[lag:] - series[:-lag]  # [time, levels, samples]
                moments = _Moments.of(delta.transpose(1, 0, 2).reshape(delta.shape[1], -1))
                diffs[name] = diffs[name].merge(moments) if name in diffs else moments

    empty = [n for n in names if not np.all(values[n].count > 0)]
    if empty:
        raise ValueError(f"variable(s) {empty} have no finite value (all NaN) on some level")
    lv = data["level"].values if "level" in data.coords else None
    attrs = {
        "source_times": f"{pd.Timestamp(times[0])} .. {pd.Timestamp(times[-1])} ({times.size} times)",
        "difference_step": str(pd.Timedelta(difference_step)),
        "definition": "mindgencast.data.stats: unweighted, NaN-ignoring population moments over time and grid",
    }
    return NormalizationStats(
        mean_by_level=_to_dataset({n: values[n].mean for n in names}, lv, has_level, attrs),
        stddev_by_level=_to_dataset({n: values[n].stddev for n in names}, lv, has_level, attrs),
        diffs_stddev_by_level=_to_dataset({n: diffs[n].stddev for n in names}, lv, has_level, attrs),
        min_by_level=_to_dataset({n: values[n].minimum for n in names}, lv, has_level, attrs),
    )
