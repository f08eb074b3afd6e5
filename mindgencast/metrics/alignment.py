"""Lining up forecast files with a truth dataset before scoring.

Forecast files (written by ``mindgencast forecast``) are CF-1.8 NetCDF with dims
``(member, lead_time, [level,] lat, lon)``, a ``valid_time(lead_time)`` coordinate and a
scalar ``init_time``; the truth is WeatherBench2 layout ``(time, [level,] lat, lon)``.
Here each forecast is split per initialisation, the truth is picked at every valid time,
variables/levels are matched and the grids are checked. Every mismatch is an error that
names what is missing, because silently scoring a subset is how wrong numbers get
published. WeatherBench2 aligns the same way (Rasp et al., 2024, Sec. 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.metrics.latitude_weights import LAT_DIM, LON_DIM

__all__ = ["standardise", "forecast_variables", "split_init_times", "select_variables", "select_grid", "select_truth"]

ENSEMBLE_DIM = "member"
LEAD_DIM = "lead_time"
INIT_DIM = "init_time"
TIME_DIM = "time"
LEVEL_DIM = "level"
_GRID_TOLERANCE_DEG = 1e-4


def _describe_times(times) -> str:
    times = pd.DatetimeIndex(np.atleast_1d(times))
    shown = ", ".join(str(t) for t in times[:5])
    return shown + (f", ... ({len(times)} in all)" if len(times) > 5 else "")


def standardise(ds: xr.Dataset) -> xr.Dataset:
    """Renames ``latitude``/``longitude`` to ``lat``/``lon``, sorts lat ascending, lon into [0, 360)."""
    renames = {old: new for old, new in (("latitude", LAT_DIM), ("longitude", LON_DIM)) if old in ds.dims}
    ds = ds.rename(renames)
    if LAT_DIM in ds.dims and ds.sizes[LAT_DIM] > 1 and ds[LAT_DIM].values[0] > ds[LAT_DIM].values[-1]:
        ds = ds.isel({LAT_DIM: slice(None, None, -1)})
    if LON_DIM in ds.dims and (ds[LON_DIM].values < 0).any():
        ds = ds.assign_coords({LON_DIM: np.mod(ds[LON_DIM].values, 360.0)}).sortby(LON_DIM)
    return ds


def forecast_variables(forecast: xr.Dataset) -> list[str]:
    """Names of the forecast fields: data variables with dims ``member`` and ``lead_time``.

    Static fields and the writer's optional ``<var>_ensemble_mean`` /
    ``<var>_ensemble_spread`` (no member dim) are not forecasts to score. A dataset
    without ``member`` (deterministic) counts every variable with ``lead_time``.
    """
    needed = {LEAD_DIM} | ({ENSEMBLE_DIM} if ENSEMBLE_DIM in forecast.dims else set())
    names = [v for v, da in forecast.data_vars.items() if needed <= set(da.dims)]
    if not names:
        raise ValueError(f"the forecast has no variables with dims {sorted(needed)}; found {list(forecast.data_vars)}")
    return names


def split_init_times(forecast: xr.Dataset, name: str = "forecast") -> list[xr.Dataset]:
    """One dataset per initialisation, each with a ``member`` dim and a ``valid_time`` coordinate.

    Args:
      forecast: ``[member, lead_time, ..., lat, lon]`` with a scalar ``init_time``, or
        with ``init_time`` as a dim. A forecast without ``member`` is a 1-member ensemble.
      name: how errors refer to this dataset (e.g. its file name).

    Returns:
      List of datasets ``[member, lead_time, ..., lat, lon]`` with scalar ``init_time``.
    """
    forecast = standardise(forecast)
    if LEAD_DIM not in forecast.dims:
        raise ValueError(
            f"{name} has no 'lead_time' dim (dims {dict(forecast.sizes)}); expected a mindgencast forecast file"
        )
    if INIT_DIM not in forecast.coords:
        raise ValueError(f"{name} has no 'init_time' coordinate; cannot tell which truth times it predicts")
    if not np.issubdtype(forecast[LEAD_DIM].dtype, np.timedelta64):
        raise ValueError(
            f"{name}: 'lead_time' must decode to timedelta64 (CF units 'hours'), got {forecast[LEAD_DIM].dtype}"
        )
    if ENSEMBLE_DIM not in forecast.dims:
        forecast = forecast[forecast_variables(forecast)].expand_dims({ENSEMBLE_DIM: 1})
    if INIT_DIM in forecast.dims:
        parts = [forecast.isel({INIT_DIM: i}) for i in range(forecast.sizes[INIT_DIM])]
    else:
        parts = [forecast]
    out = []
    for part in parts:
        init = part[INIT_DIM].values
        valid = init + part[LEAD_DIM].values
        if "valid_time" in part.coords and not np.array_equal(part["valid_time"].values, valid):
            raise ValueError(f"{name}: valid_time is not init_time + lead_time for init {init}")
        out.append(part.assign_coords(valid_time=(LEAD_DIM, valid)))
    return out


def select_variables(ds: xr.Dataset, variables, levels_from: xr.Dataset, name: str, reference: str) -> xr.Dataset:
    """``ds`` restricted to ``variables`` and to the levels of ``levels_from``.

    Raises ValueError naming the variables or levels that ``ds`` lacks.
    """
    missing = [v for v in variables if v not in ds.data_vars]
    if missing:
        raise ValueError(f"variables in the {reference} but missing from the {name}: {', '.join(missing)}")
    ds = ds[list(variables)]
    if LEVEL_DIM in levels_from.dims:
        wanted = levels_from[LEVEL_DIM].values
        if LEVEL_DIM not in ds.dims:
            raise ValueError(f"the {name} has no 'level' dim but the {reference} has levels {wanted.tolist()}")
        absent = [lev.item() for lev in wanted if lev not in ds[LEVEL_DIM].values]
        if absent:
            raise ValueError(f"pressure levels in the {reference} but missing from the {name}: {absent}")
        ds = ds.sel({LEVEL_DIM: wanted})
    for v in variables:
        if (LEVEL_DIM in levels_from[v].dims) != (LEVEL_DIM in ds[v].dims):
            raise ValueError(f"variable {v!r} has a 'level' dim in only one of the {reference} and the {name}")
    return ds


def select_grid(ds: xr.Dataset, grid: xr.Dataset, subset: bool, name: str, reference: str) -> xr.Dataset:
    """``ds`` on the lat/lon grid of ``grid``.

    Args:
      subset: if False the grids must be equal; if True, every point of ``grid`` must
        be a point of ``ds`` (e.g. a forecast on every 4th truth point) and those points
        are selected.

    Raises:
      ValueError naming the two grids (and, for a subset, the points not found).
    """
    for dim in (LAT_DIM, LON_DIM):
        if dim not in ds.dims:
            raise ValueError(f"the {name} has no {dim!r} dim (dims {dict(ds.sizes)})")
    lat, lon = grid[LAT_DIM].values, np.mod(grid[LON_DIM].values, 360.0)
    ds = ds.assign_coords({LON_DIM: np.mod(ds[LON_DIM].values, 360.0)})
    same = (
        ds.sizes[LAT_DIM] == lat.size
        and ds.sizes[LON_DIM] == lon.size
        and np.allclose(ds[LAT_DIM].values, lat, atol=_GRID_TOLERANCE_DEG)
        and np.allclose(ds[LON_DIM].values, lon, atol=_GRID_TOLERANCE_DEG)
    )
    if same:
        return ds.assign_coords({LAT_DIM: lat, LON_DIM: grid[LON_DIM].values})

    def describe(a):
        return f"{a.size} points {a.min():g}..{a.max():g}"

    summary = (
        f"the {reference} grid (lat {describe(lat)}, lon {describe(lon)}) differs from the {name} grid "
        f"(lat {describe(ds[LAT_DIM].values)}, lon {describe(ds[LON_DIM].values)})"
    )
    if not subset:
        raise ValueError(
            f"{summary}; regrid one of them, or pass --regrid-subset (regrid_subset=True) "
            "if the forecast points are a subset of the truth points"
        )
    picked = {}
    for dim, want in ((LAT_DIM, lat), (LON_DIM, lon)):
        have = ds[dim].values
        index = np.abs(have[None, :] - want[:, None]).argmin(axis=1)
        off = want[np.abs(have[index] - want) > _GRID_TOLERANCE_DEG]
        if off.size:
            raise ValueError(f"{summary}, and these {dim} values are not on the {name} grid: {list(off[:10])}")
        picked[dim] = index
    ds = ds.isel(picked)
    return ds.assign_coords({LAT_DIM: lat, LON_DIM: grid[LON_DIM].values})


def select_truth(forecast: xr.Dataset, truth: xr.Dataset, regrid_subset: bool = False) -> xr.Dataset:
    """The truth at each valid time of one initialisation, on the forecast's grid.

    Args:
      forecast: one initialisation from :func:`split_init_times`.
      truth: ``[time, [level,] lat, lon]`` WeatherBench2-layout dataset.
      regrid_subset: allow a forecast grid that is a subset of the truth grid.

    Returns:
      ``[lead_time, [level,] lat, lon]`` dataset with the forecast's variables and levels.

    Raises:
      ValueError naming missing valid times, variables, levels or the grid mismatch.
    """
    truth = standardise(truth)
    if TIME_DIM not in truth.dims:
        raise ValueError(f"the truth has no 'time' dim (dims {dict(truth.sizes)}); expected WeatherBench2 layout")
    valid = forecast["valid_time"].values
    missing = valid[~np.isin(valid, truth[TIME_DIM].values)]
    if missing.size:
        span = f"{truth[TIME_DIM].values.min()} .. {truth[TIME_DIM].values.max()}"
        raise ValueError(
            f"the truth has no data at valid times {_describe_times(missing)} "
            f"(forecast init {pd.Timestamp(forecast[INIT_DIM].values)}); truth covers {span}"
        )
    truth = select_variables(truth, list(forecast.data_vars), forecast, "truth", "forecast")
    truth = select_grid(truth, forecast, regrid_subset, "truth", "forecast")
    at_valid = truth.sel({TIME_DIM: valid}).rename({TIME_DIM: LEAD_DIM})
    return at_valid.assign_coords({LEAD_DIM: forecast[LEAD_DIM].values})
