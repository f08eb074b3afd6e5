"""Reference forecasts built from the truth: persistence and a climatological ensemble.

Scorecards need a reference (GenCast compares against ENS, Price et al., 2024, Fig. 2;
WeatherBench2 lists persistence and climatology as the simplest baselines, Rasp et al.,
2024, Sec. 5). Both are shaped like one initialisation of a forecast,
``[member, lead_time, [level,] lat, lon]``:

- persistence: the truth at ``init_time`` repeated at every lead time (1 member, so its
  CRPS is its mean absolute error);
- climatology: an ensemble of the truth at the same time of day, within
  ``window_days`` days of the valid date's day of year, in *other* years (the verifying
  year never enters its own reference). Every valid time gets the same number of
  members M: the largest M that all valid times can fill, taking the closest dates
  (then the closest years) first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.metrics.alignment import (
    ENSEMBLE_DIM,
    INIT_DIM,
    LEAD_DIM,
    TIME_DIM,
    select_grid,
    select_variables,
    standardise,
)

__all__ = ["persistence_baseline", "climatology_baseline"]

_DAYS_PER_YEAR = 365.25


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
    forecast: xr.Dataset, truth: xr.Dataset, window_days: float = 15.0, regrid_subset: bool = False
) -> xr.Dataset:
    """Climatological ensemble: truth on nearby dates of other years, at each valid time.

    Args:
      forecast: one initialisation with a ``valid_time(lead_time)`` coordinate.
      truth: ``[time, ..., lat, lon]`` spanning several years.
      window_days: largest day-of-year distance of a member from the valid date.

    Returns:
      ``[member=M, lead_time, ..., lat, lon]`` dataset (M >= 1, same for all lead times).

    Raises:
      ValueError if some valid time has no truth at the same hour within the window in
      another year.
    """
    truth = _truth_like(forecast, truth, regrid_subset)
    times = pd.DatetimeIndex(truth[TIME_DIM].values)
    valid = pd.DatetimeIndex(forecast["valid_time"].values)
    distance = _day_distance(valid, times)
    year_gap = np.abs(valid.year.values[:, None] - times.year.values[None, :])
    same_hour = (valid.hour.values[:, None] == times.hour.values[None, :]) & (
        valid.minute.values[:, None] == times.minute.values[None, :]
    )
    allowed = same_hour & (year_gap > 0) & (distance <= window_days)
    counts = allowed.sum(axis=1)
    if counts.min() == 0:
        empty = valid[counts == 0]
        raise ValueError(
            f"climatology baseline: no truth at the same hour within {window_days:g} days of the date in another year "
            f"for valid times {', '.join(str(t) for t in empty[:5])}; give a truth file spanning several years, or use "
            "--baseline persistence"
        )
    members = int(counts.min())
    # Closest dates first, then closest years; disallowed times sort last.
    key = np.where(allowed, distance * 1000.0 + year_gap, np.inf)
    chosen = np.argsort(key, axis=1, kind="stable")[:, :members]
    picked = truth.isel({TIME_DIM: xr.DataArray(chosen, dims=[LEAD_DIM, ENSEMBLE_DIM])}).drop_vars(TIME_DIM)
    return picked.assign_coords({LEAD_DIM: forecast[LEAD_DIM].values}).transpose(ENSEMBLE_DIM, LEAD_DIM, ...)
