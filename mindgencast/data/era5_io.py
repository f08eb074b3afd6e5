"""Reading ERA5 (WeatherBench2 NetCDF/Zarr or Copernicus CDS files) into mindgencast's layout.

Reference: WeatherBench2 (Rasp et al., 2024) dataset conventions, as used by
DeepMind GenCast (Price et al., Nature 2024) and its ``data_utils.py``.

mindgencast's plain layout (see ``docs/data.md``): WeatherBench2 variable
names; dims ``time`` (datetime64), ``level`` (hPa), ``lat`` (degrees north,
ascending, poles included), ``lon`` (degrees east, 0 <= lon < 360, ascending);
static fields on ``(lat, lon)``. :func:`standardize_era5` turns CDS short
names and dims, descending latitudes and -180..180 longitudes into it.

``total_precipitation_12hr`` at valid time t is the precipitation accumulated
over the 12 hours ending at t, i.e. the sum of the hourly accumulations at
t-11h, ..., t (ERA5 ``tp`` at t covers the hour ending at t), or of the 6-hour
accumulations at t-6h and t (WeatherBench2 ``total_precipitation_6hr``).
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.schemas import GridConfig, TaskConfig
from mindgencast.config.variables import CDS_SHORT_NAMES, VARIABLES
from mindgencast.data.validation import DataValidationError, check_grid, required_variables, validate_era5

__all__ = [
    "open_era5",
    "standardize_era5",
    "select_levels",
    "total_precipitation_12hr",
    "total_precipitation_6hr",
    "accumulated_precipitation",
    "subsample_grid",
    "coarsen_to_1deg",
]

# CDS / cfgrib / WeatherBench2 dimension names -> mindgencast names.
_DIM_NAMES = {
    "latitude": "lat",
    "longitude": "lon",
    "valid_time": "time",
    "pressure_level": "level",
    "isobaricInhPa": "level",
}
ACCUMULATION_HOURS = 12
# Precipitation sources, in order of preference: name -> hours each value accumulates.
_PRECIPITATION_SOURCES = {"total_precipitation_6hr": 6, "total_precipitation": 1}


_GRIB_SUFFIXES = (".grib", ".grb", ".grib1", ".grib2", ".grb2")


def _read_one(source) -> xr.Dataset:
    """An xarray Dataset from a Dataset, a NetCDF file, a Zarr store or a CDS GRIB file (lazily)."""
    if isinstance(source, xr.Dataset):
        return source
    path = os.fspath(source)
    if not os.path.exists(path):
        raise FileNotFoundError(f"ERA5 data not found: {path} (expected a NetCDF file or a Zarr store)")
    if os.path.isdir(path) or path.rstrip("/").endswith(".zarr"):
        try:
            import zarr  # noqa: F401  (only needed by xarray's zarr engine)
        except ImportError:
            raise ImportError(
                f"reading the Zarr store {path} needs the zarr package: pip install zarr "
                "(or pip install 'mindgencast[zarr]'); NetCDF files need nothing extra"
            ) from None
        opener = dict(engine="zarr", chunks=None)
    elif path.lower().endswith(_GRIB_SUFFIXES):
        try:
            import cfgrib  # noqa: F401  (xarray's cfgrib engine; ecCodes comes with the eccodes wheel)
        except (ImportError, RuntimeError) as error:  # RuntimeError: cfgrib without the ecCodes library
            raise ImportError(
                f"reading the GRIB file {path} needs cfgrib and ecCodes: pip install 'mindgencast[grib]' "
                f"(cfgrib + eccodes wheels); or ask the CDS for NetCDF instead ({type(error).__name__}: {error})"
            ) from None
        # indexpath "": no .idx files written next to the user's data.
        opener = dict(engine="cfgrib", backend_kwargs={"indexpath": ""})
    else:
        opener = {}
    try:
        return xr.open_dataset(path, decode_timedelta=True, **opener)
    except Exception as error:  # netCDF4/HDF5/zarr raise many types for a damaged file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        if "did not find a match" in reason:  # xarray could not guess any engine
            reason = "not a NetCDF/HDF5 file"
        raise DataValidationError(
            f"cannot read {path} ({type(error).__name__}: {reason}). Expected a NetCDF file (.nc) or a Zarr store "
            "in WeatherBench2 or CDS layout; the file may be truncated or corrupt, download it again"
        ) from error


def _rename_cds(ds: xr.Dataset) -> xr.Dataset:
    """CDS dims and short names -> mindgencast names; drops auxiliary coords (expver, number, ...)."""
    dims = {k: v for k, v in _DIM_NAMES.items() if k in ds.variables and v not in ds.variables}
    ds = ds.rename(dims)
    aux = [c for c in ds.coords if c not in ds.dims and c != "datetime"]
    ds = ds.drop_vars(aux)
    names = {}
    for name in ds.data_vars:
        if name not in CDS_SHORT_NAMES:
            continue
        target = CDS_SHORT_NAMES[name]
        if name == "z" and "level" not in ds[name].dims:
            target = "geopotential_at_surface"
        if target not in ds.data_vars:
            names[name] = target
    return ds.rename(names)


def standardize_era5(ds: xr.Dataset, derive_precipitation: bool = True) -> xr.Dataset:
    """Brings a WeatherBench2, CDS or example-batch dataset into mindgencast's layout.

    Idempotent and lazy except for the precipitation sum. Steps: CDS dims and
    short names renamed (``z`` without levels -> ``geopotential_at_surface``);
    static fields lose a ``time`` dim (first time kept); integral float levels
    become int64; ``lat`` sorted ascending; longitudes wrapped to [0, 360) and
    sorted; optionally ``total_precipitation_12hr`` added from hourly or 6-hourly
    precipitation (see :func:`total_precipitation_12hr`; this reads it).

    Args:
      ds: any of the layouts in ``docs/data.md``.
      derive_precipitation: add ``total_precipitation_12hr`` when absent and derivable, and
        ``total_precipitation_6hr`` (GraphCast) when absent and hourly precipitation is present.

    Returns:
      A new dataset; ``ds`` is not modified.
    """
    ds = _rename_cds(ds)
    static = [n for n, v in ds.data_vars.items() if n in VARIABLES and VARIABLES[n].kind == "static"
              and "time" in v.dims]
    if static:
        ds = ds.assign({n: ds[n].isel(time=0, drop=True) for n in static})
    if "level" in ds.coords:
        level = np.asarray(ds.coords["level"].values)
        if np.issubdtype(level.dtype, np.floating) and np.all(level == np.round(level)):
            ds = ds.assign_coords(level=level.astype(np.int64))
    if "lat" in ds.coords and ds.sizes.get("lat", 0) > 1 and not np.all(np.diff(ds.coords["lat"].values) > 0):
        ds = ds.sortby("lat")
    if "lon" in ds.coords and ds.sizes.get("lon", 0) > 0:
        lon = np.asarray(ds.coords["lon"].values)
        if lon.min() < 0 or lon.max() >= 360:
            wrapped = np.mod(lon, 360).astype(lon.dtype)
            ds = ds.assign_coords(lon=wrapped)
            # A grid holding both -180 and 180 (or 0 and 360) has one column twice.
            _, first = np.unique(wrapped, return_index=True)
            if first.size < wrapped.size:
                ds = ds.isel(lon=np.sort(first))
        if ds.sizes["lon"] > 1 and not np.all(np.diff(ds.coords["lon"].values) > 0):
            ds = ds.sortby("lon")
    if derive_precipitation and "total_precipitation_12hr" not in ds.data_vars and _has_datetime_time(ds):
        if any(name in ds.data_vars for name in _PRECIPITATION_SOURCES):
            ds = ds.assign(total_precipitation_12hr=total_precipitation_12hr(ds))
    hourly = "total_precipitation" in ds.data_vars
    if derive_precipitation and hourly and "total_precipitation_6hr" not in ds.data_vars and _has_datetime_time(ds):
        ds = ds.assign(total_precipitation_6hr=total_precipitation_6hr(ds))  # GraphCast's target
    return ds


def _has_datetime_time(ds: xr.Dataset) -> bool:
    return "time" in ds.coords and np.issubdtype(ds.coords["time"].dtype, np.datetime64)


def total_precipitation_12hr(ds: xr.Dataset, times=None) -> xr.DataArray:
    """Precipitation accumulated over the 12 hours ending at each valid time (GenCast's).

    Uses ``total_precipitation_6hr`` (tp12(t) = tp6(t - 6h) + tp6(t)) or else
    hourly ``total_precipitation`` (tp12(t) = sum of tp(t - k h), k = 0..11); see
    :func:`accumulated_precipitation`.
    """
    return accumulated_precipitation(ds, ACCUMULATION_HOURS, times)


def total_precipitation_6hr(ds: xr.Dataset, times=None) -> xr.DataArray:
    """Precipitation accumulated over the 6 hours ending at each valid time (GraphCast's), from
    hourly ``total_precipitation``: tp6(t) = sum of tp(t - k h), k = 0..5."""
    return accumulated_precipitation(ds, 6, times)


def accumulated_precipitation(ds: xr.Dataset, hours: int, times=None) -> xr.DataArray:
    """Precipitation accumulated over the ``hours`` ending at each valid time.

    Args:
      ds: plain layout with a datetime64 ``time`` coordinate, holding a shorter
        accumulation: ``total_precipitation_6hr`` (when ``hours`` is a multiple of 6) or
        hourly ``total_precipitation``.
      hours: the accumulation period (12 GenCast, 6 GraphCast).
      times: valid times at which to accumulate (default: every time of ``ds``);
        only the source values these need are read.

    Returns:
      [time, lat, lon] in metres, source dtype, named ``total_precipitation_<hours>hr``;
      NaN where the window reaches outside the data.
    """
    name = f"total_precipitation_{hours}hr"
    sources = {n: h for n, h in _PRECIPITATION_SOURCES.items() if h < hours and hours % h == 0}
    source_name = next((n for n in sources if n in ds.data_vars), None)
    if source_name is None:
        raise DataValidationError(
            f"cannot build {name}: the dataset has none of {sorted(sources)} "
            "(hourly total_precipitation is CDS 'tp')"
        )
    if not _has_datetime_time(ds):
        raise DataValidationError(f"cannot build {name}: 'time' must hold datetime64 valid times")
    period = pd.Timedelta(hours=sources[source_name])
    have = pd.DatetimeIndex(ds.coords["time"].values)
    if len(have) > 1 and (have[1:] - have[:-1]).min() > period:
        raise DataValidationError(
            f"cannot build {name} from {source_name!r}: each value accumulates {period} but the "
            f"data are only every {(have[1:] - have[:-1]).min()}, so parts of the {hours} h are missing; "
            "use hourly total_precipitation" + (" or total_precipitation_6hr" if hours % 6 == 0 and hours > 6 else "")
        )
    times = have if times is None else pd.DatetimeIndex(pd.to_datetime(list(np.atleast_1d(np.asarray(times)))))
    source = ds[source_name]
    total = None
    for k in range(hours // sources[source_name]):
        term = source.reindex(time=times - k * period).assign_coords(time=times)
        total = term if total is None else total + term  # NaN (missing hour) propagates
    attrs = dict(units="m", long_name=f"Total precipitation accumulated over the {hours} hours ending at time")
    return total.rename(name).assign_attrs(attrs)


def select_levels(ds: xr.Dataset, levels: Iterable[int]) -> xr.Dataset:
    """The dataset on the given pressure levels (hPa), in that order; error naming any missing level."""
    levels = [int(p) for p in levels]
    if "level" not in ds.dims:
        if levels:
            raise DataValidationError(f"the dataset has no 'level' dimension; expected pressure levels {levels} hPa")
        return ds
    have = [int(p) for p in np.asarray(ds.coords["level"].values)]
    missing = [p for p in levels if p not in have]
    if missing:
        raise DataValidationError(f"missing pressure level(s) {missing} hPa in coordinate 'level'; available: {have}")
    return ds.sel(level=levels)


def subsample_grid(ds: xr.Dataset, k: int) -> xr.Dataset:
    """Every ``k``-th latitude and longitude, keeping both poles and lon 0.

    GenCast's 1 degree data are the 0.25 degree ERA5 grid with k = 4 (no averaging).

    Args:
      ds: data on a regular lat (ascending, poles included) x lon (from 0) grid,
        num_lat = n * k + 1 and num_lon = m * k.
      k: positive integer stride.

    Returns:
      [..., (num_lat - 1) / k + 1 lat, num_lon / k lon].
    """
    if int(k) != k or k < 1:
        raise ValueError(f"subsampling stride k={k!r} must be a positive integer")
    k = int(k)
    num_lat, num_lon = ds.sizes["lat"], ds.sizes["lon"]
    if (num_lat - 1) % k or num_lon % k:
        raise DataValidationError(
            f"cannot take every {k}th point of a {num_lat} lat x {num_lon} lon grid: expected num_lat - 1 and "
            f"num_lon to be multiples of {k} (e.g. 721 x 1440 for 0.25 deg with k = 4)"
        )
    return ds.isel(lat=slice(None, None, k), lon=slice(None, None, k))


def coarsen_to_1deg(ds: xr.Dataset) -> xr.Dataset:
    """The 1 degree grid (181 x 360) from a finer regular grid by subsampling (0.25 deg: every 4th point)."""
    lat = np.asarray(ds.coords["lat"].values, dtype=np.float64)
    step = float(lat[1] - lat[0]) if lat.size > 1 else 0.0
    k = 1.0 / step if step > 0 else 0.0
    if step <= 0 or abs(k - round(k)) > 1e-6:
        raise DataValidationError(
            f"cannot make a 1 deg grid from latitude spacing {step:g} deg; expected 1/n deg (e.g. 0.25)"
        )
    return subsample_grid(ds, int(round(k)))


def open_era5(
    source,
    *,
    task_config: TaskConfig | None = None,
    grid: GridConfig | tuple | None = None,
    derive_precipitation: bool = True,
) -> xr.Dataset:
    """Opens ERA5 data in WeatherBench2 or CDS layout as a standardized dataset.

    Args:
      source: path of a NetCDF file, a Zarr store (needs ``pip install zarr``) or a CDS
        GRIB file (``.grib``/``.grb``; needs ``pip install 'mindgencast[grib]'``), an xarray Dataset, or a sequence of those (e.g. the CDS pressure-level
        and single-level files), merged after standardisation.
      task_config: if given, keep only the task's variables and pressure levels
        and validate their presence, levels, dtypes, units attributes and times.
      grid: expected grid (GridConfig or (lat, lon) arrays), checked if given.
      derive_precipitation: build ``total_precipitation_12hr`` from hourly or
        6-hourly precipitation when missing (reads the precipitation).

    Returns:
      The plain (or example-batch) layout of ``docs/data.md``, lazily indexed.

    Raises:
      FileNotFoundError, ImportError (Zarr without zarr, GRIB without cfgrib), DataValidationError.
    """
    sources = list(source) if isinstance(source, (list, tuple)) else [source]
    if not sources:
        raise ValueError("open_era5 needs at least one file or dataset")
    parts = [standardize_era5(_read_one(s), derive_precipitation=False) for s in sources]
    if len(parts) == 1:
        ds = parts[0]
    else:
        try:
            ds = xr.merge(parts, join="exact", compat="no_conflicts", combine_attrs="drop_conflicts")
        except ValueError as error:
            raise DataValidationError(
                f"cannot combine the {len(parts)} ERA5 sources: {error}. Expected the same times and grid in each"
            ) from error
    if derive_precipitation:
        ds = standardize_era5(ds, derive_precipitation=True)
    if task_config is not None:
        ds = _task_subset(ds, task_config)
        validate_era5(ds, task_config, grid=grid, check_values=False)
    elif grid is not None:
        check_grid(ds, grid)
    return ds


def _task_subset(ds: xr.Dataset, task_config: TaskConfig) -> xr.Dataset:
    """The task's variables (those present) on the task's levels (those present)."""
    names = [n for n in required_variables(task_config) if n in ds.data_vars]
    ds = ds[names]
    if "level" in ds.dims and task_config.pressure_levels:
        have = set(int(p) for p in np.asarray(ds.coords["level"].values))
        ds = ds.sel(level=[p for p in task_config.pressure_levels if int(p) in have])
    return ds
