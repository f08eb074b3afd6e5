"""Reference forecasts built from the truth: persistence and a climatological ensemble.

Scorecards need a reference (GenCast compares against ENS, Price et al., 2024, Fig. 2;
WeatherBench2 lists persistence and climatology as the simplest baselines, Rasp et al.,
2024, Sec. 5). Both are shaped like one initialisation of a forecast,
``[member, lead_time, [level,] lat, lon]``:

- persistence: the truth at ``init_time`` repeated at every lead time (1 member, so its
  CRPS is its mean absolute error);
- climatology: an ensemble of the truth (or of separate climatology files) at the same
  time of day, within ``window_days`` days of the valid date's day of year, in *other*
  years. A year is counted as a whole-year offset from the valid time,
  ``round((valid - t) / 365.25 d)``, so 28 December is in the same climatological
  year as 5 January of the next calendar year and never a member of its reference (that
  would be a lagged persistence). At least ``min_years`` other years must fall in every
  valid time's window, else the baseline is refused. Every valid time gets the same
  number of members M: the largest M that all valid times can fill, taking the closest
  dates (then the closest years) first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from mindgencast.metrics.alignment import (
    ENSEMBLE_DIM,
    INIT_DIM,
    LEAD_DIM,
    TIME_DIM,
    select_grid,
    select_variables,
    standardise,
)

__all__ = ["persistence_baseline", "climatology_baseline", "MIN_CLIMATOLOGY_YEARS"]

_DAYS_PER_YEAR = 365.25
# Fewest other years in every valid time's window (documented in docs/evaluation.md).
MIN_CLIMATOLOGY_YEARS = 2


def _truth_like(forecast: xr.Dataset, truth: xr.Dataset, regrid_subset: bool) -> xr.Dataset:
    truth = standardise(truth)
    truth = select_variables(truth, list(forecast.data_vars), forecast, "truth", "forecast")
    return select_grid(truth, forecast, regrid_subset, "truth", "forecast")


def persistence_baseline(forecast: xr.Dataset, truth: xr.Dataset, regrid_subset: bool = False) -> xr.Dataset:
    """The truth at the forecast's ``init_time``, repeated over its lead times, as 1 member.

    Args:
      forecast: one initialisation ``[member, lead_time, ..., lat, lon]``.
      truth: ``[time, ..., lat, lon]``; must contain ``init_time``.

    Returns:
      ``[member=1, lead_time, ..., lat, lon]`` dataset.
    """
    truth = _truth_like(forecast, truth, regrid_subset)
    init = forecast[INIT_DIM].values
    if init not in truth[TIME_DIM].values:
        raise ValueError(f"persistence baseline: the truth has no data at init time {init}")
    state = truth.sel({TIME_DIM: init}, drop=True)
    lead = forecast[LEAD_DIM]
    return state.expand_dims({ENSEMBLE_DIM: 1, LEAD_DIM: lead.size}).assign_coords({LEAD_DIM: lead.values})


def _day_distance(a: pd.DatetimeIndex, b: pd.DatetimeIndex) -> np.ndarray:
    """``[len(a), len(b)]`` circular distance in days between days of the year."""
    da = (a.dayofyear.values - 1)[:, None] + 0.0
    db = (b.dayofyear.values - 1)[None, :] + 0.0
    d = np.abs(da - db)
    return np.minimum(d, _DAYS_PER_YEAR - d)


def climatology_baseline(
    forecast: xr.Dataset,
    truth: xr.Dataset,
    window_days: float = 15.0,
    regrid_subset: bool = False,
    min_years: int = MIN_CLIMATOLOGY_YEARS,
) -> xr.Dataset:
    """Climatological ensemble: truth on nearby dates of other years, at each valid time.

    Args:
      forecast: one initialisation with a ``valid_time(lead_time)`` coordinate.
      truth: ``[time, ..., lat, lon]`` climatology source spanning several years.
      window_days: largest day-of-year distance of a member from the valid date.
      min_years: fewest distinct other years every valid time's window must hold.

    Returns:
      ``[member=M, lead_time, ..., lat, lon]`` dataset (M >= min_years, same for all
      lead times); ``attrs["climatology_years"]`` lists the years of the members.

    Raises:
      ValueError naming the valid times whose window holds fewer than ``min_years``
      other years, the years found and the span the climatology would need.
    """
    truth = _truth_like(forecast, truth, regrid_subset)
    times = pd.DatetimeIndex(truth[TIME_DIM].values)
    valid = pd.DatetimeIndex(forecast["valid_time"].values)
    distance = _day_distance(valid, times)
    offset_days = (valid.values[:, None] - times.values[None, :]) / np.timedelta64(1, "D")
    year_offset = np.rint(offset_days / _DAYS_PER_YEAR).astype(np.int64)
    same_hour = (valid.hour.values[:, None] == times.hour.values[None, :]) & (
        valid.minute.values[:, None] == times.minute.values[None, :]
    )
    allowed = same_hour & (year_offset != 0) & (distance <= window_days)
    years = [np.unique(year_offset[i][allowed[i]]) for i in range(valid.size)]
    short = [i for i, y in enumerate(years) if y.size < min_years]
    if short:
        i = short[0]
        found = ", ".join(str(valid[i].year - int(y)) for y in years[i]) or "none"
        span = f"{times.min()} .. {times.max()}" if times.size else "no times"
        raise ValueError(
            f"climatology baseline: valid time {valid[i]} (and {len(short) - 1} more) has truth at the same hour "
            f"within {window_days:g} days of its date in only {years[i].size} other year(s) ({found}); at least "
            f"{min_years} are needed. The climatology data cover {span}: pass files covering {min_years} or more "
            "other years with --climatology PATH [PATH ...] (e.g. the training years), or use --baseline persistence"
        )
    members = int(allowed.sum(axis=1).min())
    # Closest dates first, then closest years; disallowed times sort last.
    key = np.where(allowed, distance * 1000.0 + np.abs(year_offset), np.inf)
    chosen = np.argsort(key, axis=1, kind="stable")[:, :members]
    # Lazy: a batch of lead times reads only its members' times (chunk-aware for a series).
    fields = {}
    for v, da in truth.data_vars.items():
        da = da.transpose(TIME_DIM, ...)
        array = indexing.LazilyIndexedArray(_PickedTimes(da, chosen))
        fields[v] = xr.Variable((ENSEMBLE_DIM, LEAD_DIM, *da.dims[1:]), array, attrs=da.attrs)
    coords = {k: c for k, c in truth.coords.items() if TIME_DIM not in c.dims}
    coords[LEAD_DIM] = forecast[LEAD_DIM].values
    picked = xr.Dataset(fields, coords=coords)
    picked.attrs["climatology_years"] = sorted({int(y) for y in times.year.values[np.unique(chosen)]})
    return picked


class _PickedTimes(BackendArray):
    """``[member, lead_time, ...]`` view of ``da[time, ...]`` at times ``chosen[lead, member]``.

    Outer indexing reads the unique times a selection needs, once each; xarray's lazy
    vectorized indexing would broadcast index arrays over every grid point instead.
    """

    def __init__(self, da: xr.DataArray, chosen: np.ndarray):
        self.da = da
        self.chosen = chosen.T  # [member, lead]
        self.shape = (*self.chosen.shape, *da.shape[1:])
        self.dtype = da.dtype

    def __getitem__(self, key):
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.OUTER, self._read)

    def _read(self, key: tuple) -> np.ndarray:
        members, leads = (np.arange(n)[k] for n, k in zip(self.chosen.shape, key[:2]))
        times = self.chosen[np.ix_(np.atleast_1d(members), np.atleast_1d(leads))]
        unique, inverse = np.unique(times, return_inverse=True)
        rest = dict(zip(self.da.dims[1:], key[2:]))
        block = np.asarray(self.da.isel({TIME_DIM: unique, **rest}).values)
        out = block[inverse.reshape(times.shape)]
        if np.ndim(leads) == 0:
            out = out[:, 0]
        if np.ndim(members) == 0:
            out = out[0]
        return out
