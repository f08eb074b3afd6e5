"""Checks on ERA5-like data where it enters mindgencast, before anything is computed or written.

Each check raises :class:`DataValidationError` (a ``ValueError``) whose message
names the variable or coordinate, what was found, what was expected and how to
fix it. :func:`validate_era5` runs them all and reports every problem at once.

Conventions checked (see ``docs/data.md``): WeatherBench2 variable names, dims
``[batch,] time, [level,] lat, lon``, latitude ascending, longitude in
[0, 360) ascending, float data, CF units of :mod:`mindgencast.config.variables`,
NaN only in ``sea_surface_temperature`` (over land), a regular time axis.
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.schemas import GridConfig, TaskConfig
from mindgencast.config.variables import VARIABLES
from mindgencast.data.derived_forcings import DERIVED_FORCINGS, TISR

__all__ = [
    "DataValidationError",
    "required_variables",
    "check_variables",
    "check_levels",
    "check_lat_lon",
    "check_grid",
    "check_times",
    "check_require_times",
    "check_dtypes",
    "check_units",
    "check_finite",
    "validate_era5",
]

NAN_ALLOWED = ("sea_surface_temperature",)  # NaN over land, as in ERA5
GRAVITY = 9.80665  # m s-2, converts geopotential height (m) to geopotential (m2 s-2)

# Spellings of "no unit" found in ERA5 / CDS / WeatherBench2 files.
_DIMENSIONLESS = {"", "1", "(0 - 1)", "0-1", "(0-1)", "dimensionless", "fraction", "-", "~"}
_UNIT_ALIASES = {"kelvin": "K", "pascal": "Pa", "metre": "m", "meter": "m", "metres": "m", "meters": "m",
                 "m of water equivalent": "m"}


class DataValidationError(ValueError):
    """Input data that mindgencast cannot use; the message says what and how to fix it."""


def required_variables(task: TaskConfig) -> tuple[str, ...]:
    """Variables a dataset must hold for ``task``: inputs, targets and forcings,
    less the clock features computed from the datetimes (ordered, no repeats)."""
    names = (*task.input_variables, *task.target_variables, *task.forcing_variables)
    return tuple(dict.fromkeys(n for n in names if n not in DERIVED_FORCINGS))


def check_variables(ds: xr.Dataset, names: Iterable[str]) -> None:
    """Every name is a data variable of ``ds`` with ``lat``/``lon`` dims (and ``level`` if atmospheric)."""
    names = list(names)
    missing = [n for n in names if n not in ds.data_vars]
    if missing:
        raise DataValidationError(
            f"missing variable(s) {', '.join(map(repr, missing))}; the dataset has "
            f"{', '.join(sorted(map(str, ds.data_vars))) or 'no variables'}. Use WeatherBench2 names "
            "(open CDS files with mindgencast.data.open_era5, which renames t, z, 2t, ...)"
        )
    for name in names:
        dims = ds[name].dims
        if "lat" not in dims or "lon" not in dims:
            raise DataValidationError(f"variable {name!r} has dims {dims}; expected 'lat' and 'lon' dimensions")
        info = VARIABLES.get(name)
        if info is None:
            continue
        if info.atmospheric and "level" not in dims:
            raise DataValidationError(
                f"variable {name!r} has dims {dims}; expected a 'level' dimension (pressure levels, hPa)"
            )
        if info.kind == "static" and "time" in dims:
            raise DataValidationError(
                f"static variable {name!r} has a 'time' dimension; expected dims (lat, lon): select one time"
            )


def check_levels(ds: xr.Dataset, levels: Iterable[int]) -> None:
    """All pressure ``levels`` (hPa) are in the dataset's ``level`` coordinate."""
    levels = [int(p) for p in levels]
    if not levels:
        return
    if "level" not in ds.coords:
        raise DataValidationError(f"the dataset has no 'level' coordinate; expected pressure levels {levels} (hPa)")
    have = np.asarray(ds.coords["level"].values)
    missing = [p for p in levels if not np.any(np.isclose(have, p))]
    if missing:
        raise DataValidationError(
            f"missing pressure level(s) {missing} hPa in coordinate 'level'; available: {have.tolist()}"
        )


def check_lat_lon(ds: xr.Dataset) -> None:
    """``lat`` strictly ascending in [-90, 90], ``lon`` strictly ascending in [0, 360)."""
    for name in ("lat", "lon"):
        if name not in ds.coords:
            raise DataValidationError(
                f"the dataset has no {name!r} coordinate; expected dims lat/lon (or latitude/longitude, "
                "renamed by open_era5)"
            )
    lat = np.asarray(ds.coords["lat"].values, dtype=np.float64)
    lon = np.asarray(ds.coords["lon"].values, dtype=np.float64)
    if lat.size > 1 and not np.all(np.diff(lat) > 0):
        raise DataValidationError(
            "coordinate 'lat' is not strictly ascending; expected -90 -> 90 (standardize_era5 sorts it)"
        )
    if lat.size and (lat.min() < -90 - 1e-6 or lat.max() > 90 + 1e-6):
        raise DataValidationError(f"coordinate 'lat' spans {lat.min()}..{lat.max()}; expected within -90..90")
    if lon.size > 1 and not np.all(np.diff(lon) > 0):
        raise DataValidationError(
            "coordinate 'lon' is not strictly ascending; expected 0 -> 360 (standardize_era5 sorts it)"
        )
    if lon.size and (lon.min() < 0 or lon.max() >= 360):
        raise DataValidationError(
            f"coordinate 'lon' spans {lon.min()}..{lon.max()}; expected 0 <= lon < 360 "
            "(standardize_era5 rolls -180..180 longitudes)"
        )


def _describe_grid(lat: np.ndarray, lon: np.ndarray) -> str:
    step = f"{abs(lat[1] - lat[0]):g} deg, " if lat.size > 1 else ""
    return (f"{lat.size} lat x {lon.size} lon ({step}lat {lat.min():g}..{lat.max():g}, "
            f"lon {lon.min():g}..{lon.max():g})")


def check_grid(ds: xr.Dataset, grid) -> None:
    """The dataset's lat/lon equal the expected grid to 1e-3 degrees.

    Args:
      grid: a :class:`GridConfig`, or a ``(lat, lon)`` pair of 1-D arrays in degrees.
    """
    if isinstance(grid, GridConfig):
        want_lat, want_lon = grid.latitudes(), grid.longitudes()
    else:
        want_lat, want_lon = (np.asarray(a, dtype=np.float64) for a in grid)
    lat = np.asarray(ds.coords["lat"].values, dtype=np.float64)
    lon = np.asarray(ds.coords["lon"].values, dtype=np.float64)
    same = (lat.shape == want_lat.shape and lon.shape == want_lon.shape
            and np.allclose(lat, want_lat, atol=1e-3) and np.allclose(lon, want_lon, atol=1e-3))
    if not same:
        raise DataValidationError(
            f"wrong grid: the data are on {_describe_grid(lat, lon)} but the model expects "
            f"{_describe_grid(want_lat, want_lon)}. Regrid the data (e.g. subsample_grid / coarsen_to_1deg) "
            "or use a checkpoint trained on the data's grid"
        )


def _check_time_axis(times: np.ndarray, label: str) -> None:
    """Strictly increasing, no duplicates, one constant step: [num_times] datetime64/timedelta64."""
    if times.size < 2:
        return
    steps = np.diff(times)
    zero = np.zeros((), dtype=steps.dtype)
    dup = np.flatnonzero(steps == zero)
    if dup.size:
        raise DataValidationError(f"{label}: duplicated time {times[dup[0]]}; expected each time once")
    back = np.flatnonzero(steps < zero)
    if back.size:
        i = back[0]
        raise DataValidationError(
            f"{label}: times are not increasing ({times[i + 1]} follows {times[i]}); sort the data by time"
        )
    step = steps.min()
    gaps = np.flatnonzero(steps != step)
    if gaps.size:
        i = gaps[0]
        raise DataValidationError(
            f"{label}: gap in time between {times[i]} and {times[i + 1]} ({pd.Timedelta(steps[i])}); "
            f"expected a regular step of {pd.Timedelta(step)} ({gaps.size} gap(s) in total)"
        )


def check_times(ds: xr.Dataset) -> None:
    """Regular, strictly increasing time axis.

    Plain layout: ``time`` is datetime64. Example-batch layout: ``time`` is a
    timedelta64 lead time and ``datetime`` [batch, time] holds the valid
    times, which must advance exactly like ``time`` in every batch row.
    """
    if "time" not in ds.coords:
        raise DataValidationError("the dataset has no 'time' coordinate; expected datetime64 valid times")
    time = np.asarray(ds.coords["time"].values)
    if np.issubdtype(time.dtype, np.datetime64):
        _check_time_axis(time, "coordinate 'time'")
        return
    if not np.issubdtype(time.dtype, np.timedelta64):
        raise DataValidationError(
            f"coordinate 'time' has dtype {time.dtype}; expected datetime64 (plain layout) or timedelta64 "
            "with a 'datetime' coordinate (example-batch layout)"
        )
    _check_time_axis(time, "coordinate 'time'")
    if "datetime" not in ds.coords:
        raise DataValidationError(
            "coordinate 'time' holds lead times but there is no 'datetime' coordinate; expected "
            "datetime [batch, time] with the valid times (example-batch layout)"
        )
    datetime = ds.coords["datetime"]
    rows = np.asarray(datetime.transpose(..., "time").values).reshape(-1, time.size)
    for row in rows:
        _check_time_axis(row, "coordinate 'datetime'")
        if not np.array_equal(row - row[0], time - time[0]):
            raise DataValidationError(
                "coordinate 'datetime' does not advance like the lead times in 'time': "
                f"{[str(t) for t in row]} vs {[str(pd.Timedelta(t)) for t in time]}"
            )


def check_require_times(ds: xr.Dataset, times) -> None:
    """Every valid time in ``times`` is in the plain-layout ``time`` coordinate."""
    have = pd.DatetimeIndex(np.asarray(ds.coords["time"].values))
    want = pd.DatetimeIndex(pd.to_datetime(list(np.atleast_1d(np.asarray(times)))))
    missing = want[~want.isin(have)]
    if len(missing):
        span = f"{have[0]} .. {have[-1]}" if len(have) else "no times"
        raise DataValidationError(
            f"time(s) {', '.join(str(t) for t in missing)} not in coordinate 'time' (the data cover {span}"
            f"{f' every {have[1] - have[0]}' if len(have) > 1 else ''}); choose an init time with all "
            "input and target frames inside the data"
        )


def check_dtypes(ds: xr.Dataset, names: Iterable[str]) -> None:
    """Data variables are floating point (integers usually mean undecoded packed data)."""
    for name in names:
        dtype = ds[name].dtype
        if not np.issubdtype(dtype, np.floating):
            raise DataValidationError(
                f"variable {name!r} has dtype {dtype}; expected floating point (float32). Packed "
                "integers must be decoded (open without mask_and_scale=False) or cast with .astype('float32')"
            )


def _parse_units(units: str) -> dict[str, int] | None:
    """'m**2 s**-2', 'm2 s-2', 'm^2/s^2' -> {'m': 2, 's': -2}; None if unparseable."""
    text = _UNIT_ALIASES.get(units.strip(), units.strip())
    if text in _DIMENSIONLESS:
        return {}
    powers: dict[str, int] = {}
    parts = text.replace("**", "").replace("^", "").split("/")
    for i, part in enumerate(parts):
        for token in re.split(r"[\s.*]+", part.strip()):
            if not token:
                continue
            match = re.fullmatch(r"([A-Za-z]+)(-?\d+)?", token)
            if match is None:
                return None
            base = _UNIT_ALIASES.get(match.group(1), match.group(1))
            power = int(match.group(2) or 1) * (-1 if i > 0 else 1)
            powers[base] = powers.get(base, 0) + power
    return {k: v for k, v in powers.items() if v != 0}


def _standard_geopotential(level_hpa: float) -> float:
    """Geopotential (m2 s-2) of a pressure level in the ICAO standard atmosphere."""
    p, p0, t0, lapse, r_dry = level_hpa * 100.0, 101325.0, 288.15, 0.0065, 287.053
    if p >= 22632.1:  # troposphere
        height = t0 / lapse * (1 - (p / p0) ** (r_dry * lapse / GRAVITY))
    else:  # isothermal lower stratosphere (good enough to tell m from m2 s-2)
        height = 11000.0 + r_dry * 216.65 / GRAVITY * np.log(22632.1 / p)
    return GRAVITY * height


def _magnitude_problem(name: str, data: xr.DataArray) -> str | None:
    """Why the values of ``name`` look like the wrong units, or None (used without a units attribute)."""
    if name == "geopotential" and "level" in data.dims:
        for level in np.asarray(data.coords["level"].values):
            expected = _standard_geopotential(float(level))
            if expected < 10000.0:  # near the surface m and m2 s-2 overlap
                continue
            median = float(np.nanmedian(data.sel(level=level).values))
            if median < 0.3 * expected:
                return (f"values at level {level} hPa have median {median:.4g}, like a geopotential height in m "
                        f"(standard atmosphere: {expected / GRAVITY:.4g} m); expected geopotential ~{expected:.4g} "
                        f"m2 s-2. Multiply geopotential height in metres by g = {GRAVITY} m s-2")
        return None
    bounds = {  # name: (statistic, low, high, expected description)
        "temperature": ("median", 150.0, 350.0, "K (not degC)"),
        "2m_temperature": ("median", 150.0, 350.0, "K (not degC)"),
        "sea_surface_temperature": ("median", 250.0, 320.0, "K (not degC)"),
        "mean_sea_level_pressure": ("median", 5.0e4, 1.2e5, "Pa (not hPa)"),
        "specific_humidity": ("max", 0.0, 0.1, "kg kg-1 (not g kg-1)"),
        "total_precipitation_12hr": ("max", 0.0, 2.0, "m (not mm)"),
        "land_sea_mask": ("max", 0.0, 1.0, "a fraction in [0, 1]"),
    }
    if name not in bounds:
        return None
    statistic, low, high, expected = bounds[name]
    values = np.asarray(data.values)
    if not np.any(np.isfinite(values)):
        return None
    value = float(np.nanmedian(values) if statistic == "median" else np.nanmax(values))
    if not low <= value <= high:
        return f"{statistic} value {value:.4g} is outside {low:g}..{high:g}; expected units {expected}"
    return None


def check_units(ds: xr.Dataset, names: Iterable[str], check_values: bool = True) -> None:
    """Units match the catalogue: by the ``units`` attribute when present, else by magnitude.

    Args:
      check_values: also look at the values of variables without a ``units``
        attribute (reads them; pass False on large lazily opened datasets).
    """
    for name in names:
        info = VARIABLES.get(name)
        if info is None:
            continue
        units = ds[name].attrs.get("units")
        if units is None:
            problem = _magnitude_problem(name, ds[name]) if check_values else None
            if problem:
                raise DataValidationError(f"variable {name!r} has no 'units' attribute and its {problem}")
            continue
        found, expected = _parse_units(str(units)), _parse_units(info.units)
        if found != expected:
            hint = "Convert the data or fix the units attribute."
            if name in ("geopotential", "geopotential_at_surface") and found == {"m": 1}:
                hint = (f"This is geopotential height: multiply by g = {GRAVITY} m s-2 to get geopotential"
                        " and set units to 'm2 s-2'.")
            raise DataValidationError(f"variable {name!r} has units {units!r}; expected {info.units!r}. {hint}")


def _label(ds: xr.Dataset, dim: str, index: int) -> str:
    """Readable coordinate value of ``dim`` at ``index`` (the index if there is no coordinate)."""
    if dim not in ds.coords:
        return str(index)
    value = ds.coords[dim].values[index]
    if isinstance(value, np.timedelta64):
        return str(pd.Timedelta(value))
    if isinstance(value, np.datetime64):
        return str(pd.Timestamp(value))
    return str(value)


def check_finite(ds: xr.Dataset, names: Iterable[str], nan_allowed: Iterable[str] = NAN_ALLOWED) -> None:
    """No NaN or infinity, except NaN in ``nan_allowed`` (SST over land). Reads the values."""
    nan_allowed = set(nan_allowed)
    for name in names:
        values = np.asarray(ds[name].values)
        bad = np.isinf(values) if name in nan_allowed else ~np.isfinite(values)
        if not bad.any():
            continue
        first = dict(zip(ds[name].dims, np.unravel_index(np.flatnonzero(bad)[0], values.shape)))
        where = ", ".join(f"{d}={_label(ds, d, i)}" for d, i in first.items())
        what = "infinite" if name in nan_allowed else "NaN/infinite"
        extra = ""
        if name == "total_precipitation_12hr":
            extra = " (a 12 h accumulation whose window is not covered by the source precipitation is NaN)"
        raise DataValidationError(
            f"variable {name!r} has {int(bad.sum())} {what} value(s), the first at {where}{extra}; only "
            f"{', '.join(sorted(nan_allowed))} may be NaN (over land). Fill or drop the affected times"
        )


def validate_era5(
    ds: xr.Dataset,
    task_config: TaskConfig,
    grid=None,
    require_times=None,
    check_values: bool = True,
) -> None:
    """Checks that ``ds`` can feed ``task_config``; raises one error listing every problem.

    ``toa_incident_solar_radiation`` is checked where present and may be absent (it is
    computed from the valid times, :func:`mindgencast.data.derived_forcings.add_time_derived`).

    Args:
      ds: plain WeatherBench2 layout (``time`` datetime64) or example-batch
        layout (``time`` lead timedelta + ``datetime``), after standardisation
        (lat ascending, lon 0..360, WeatherBench2 names).
      task_config: gives the variables and pressure levels that must be present.
      grid: optional expected grid, a GridConfig or a ``(lat, lon)`` pair.
      require_times: optional valid times that must be present (plain layout).
      check_values: read the data to look for NaNs and implausible magnitudes
        (False checks structure and metadata only, e.g. on a lazily opened archive).

    Raises:
      DataValidationError naming each offending variable or coordinate.
    """
    names = required_variables(task_config)
    problems = []

    def run(check, *args):
        try:
            check(*args)
        except DataValidationError as error:
            problems.append(str(error))
            return False
        return True

    # TOA incident solar radiation may be absent: stores, statistics and forecasts compute it.
    run(check_variables, ds, [n for n in names if n != TISR])
    present = [n for n in names if n in ds.data_vars]
    if any(VARIABLES.get(n) is not None and VARIABLES[n].atmospheric for n in names):
        run(check_levels, ds, task_config.pressure_levels)
    if run(check_lat_lon, ds) and grid is not None:
        run(check_grid, ds, grid)
    if run(check_times, ds) and require_times is not None:
        run(check_require_times, ds, require_times)
    typed_ok = run(check_dtypes, ds, present)
    if typed_ok:
        run(check_units, ds, present, check_values)
        if check_values:
            run(check_finite, ds, present)
    if problems:
        raise DataValidationError(
            "invalid input data:\n  - " + "\n  - ".join(problems)
            if len(problems) > 1 else problems[0]
        )
