"""Year and day progress: the clock features GenCast computes from valid times.

Reference: DeepMind graphcast ``data_utils.py`` (``get_year_progress``,
``get_day_progress``, ``featurize_progress``, ``add_derived_vars``); GenCast
(Price et al., Nature 2024), Methods "Forcings".

With ``s`` the valid time in whole seconds since 1970-01-01T00 UTC and
``lambda`` the longitude in degrees::

    year_progress = mod(s / 86400 / 365.24219, 1)                  # [0, 1)
    day_progress  = mod(mod(s, 86400) / 86400 + lambda / 360, 1)   # [0, 1), local solar day
    <name>_sin, <name>_cos = sin(2 pi <name>), cos(2 pi <name>)

TOA incident solar radiation (``toa_incident_solar_radiation``, GraphCast's forcing) is a
function of the valid time and position as well (:mod:`mindgencast.data.solar_radiation`);
:func:`add_time_derived` adds it beside the clock features where a task asks for it.

Progress is computed in float64 and rounded to float32 *before* the sine and
cosine, as in the reference, so that the float32 features match bit for bit.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = [
    "DERIVED_FORCINGS",
    "seconds_since_epoch",
    "year_progress",
    "day_progress",
    "progress_features",
    "add_derived_forcings",
    "TISR",
    "DERIVABLE_FROM_TIME",
    "add_time_derived",
]

SECONDS_PER_DAY = 86400
AVG_DAYS_PER_YEAR = 365.24219  # mean tropical year, as in the reference

# Every variable this module can derive from a ``datetime`` (and ``lon``) coordinate.
DERIVED_FORCINGS = (
    "year_progress",
    "year_progress_sin",
    "year_progress_cos",
    "day_progress",
    "day_progress_sin",
    "day_progress_cos",
)


TISR = "toa_incident_solar_radiation"
# Everything a store, the statistics or a forecast can compute when the data lack it.
DERIVABLE_FROM_TIME = DERIVED_FORCINGS + (TISR,)


def seconds_since_epoch(datetimes) -> np.ndarray:
    """Whole seconds since 1970-01-01T00 of datetime64 values, any shape -> int64, same shape.

    Going through ``datetime64[s]`` (not nanoseconds) keeps the integer exact
    and drops sub-second parts exactly like the reference does.
    """
    values = np.asarray(datetimes)
    if not np.issubdtype(values.dtype, np.datetime64):
        raise TypeError(f"expected datetime64 values, got dtype {values.dtype}")
    return values.astype("datetime64[s]").astype(np.int64)


def year_progress(seconds: np.ndarray) -> np.ndarray:
    """Fraction of the (average, 365.24219-day) year elapsed: [...] int64 seconds -> [...] float32 in [0, 1)."""
    years = np.asarray(seconds) / SECONDS_PER_DAY / np.float64(AVG_DAYS_PER_YEAR)
    return np.mod(years, 1.0).astype(np.float32)


def day_progress(seconds: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Local fraction of the solar day elapsed at each longitude.

    Args:
      seconds: [...] int64 seconds since the epoch.
      longitude: [num_lon] degrees east.

    Returns:
      [..., num_lon] float32 in [0, 1).
    """
    greenwich = np.mod(np.asarray(seconds), SECONDS_PER_DAY) / SECONDS_PER_DAY
    # The offset keeps the longitude's own dtype, as in the reference, so that
    # float32 longitudes round the same way.
    offset = np.deg2rad(np.asarray(longitude)) / (2 * np.pi)
    return np.mod(greenwich[..., np.newaxis] + offset, 1.0).astype(np.float32)


def progress_features(name: str, dims: tuple[str, ...], progress: np.ndarray) -> dict[str, xr.Variable]:
    """``{name, name_sin, name_cos}`` as xarray Variables over ``dims`` (float32 in, float32 out)."""
    if len(dims) != progress.ndim:
        raise ValueError(f"{name}: {len(dims)} dims {dims} for an array of rank {progress.ndim}")
    phase = progress * (2 * np.pi)
    return {
        name: xr.Variable(dims, progress),
        f"{name}_sin": xr.Variable(dims, np.sin(phase)),
        f"{name}_cos": xr.Variable(dims, np.cos(phase)),
    }


def _valid_times(ds: xr.Dataset, what: str) -> xr.DataArray:
    """The valid times: the ``datetime`` coordinate (example-batch layout) or a datetime64
    ``time`` coordinate (plain layout); else an error saying ``what`` cannot be computed."""
    if "datetime" in ds.coords:
        return ds.coords["datetime"]
    if "time" in ds.coords and np.issubdtype(ds.coords["time"].dtype, np.datetime64):
        return ds.coords["time"]
    raise ValueError(
        f"cannot compute {what}: the dataset needs a 'datetime' coordinate "
        "(example-batch layout) or a datetime64 'time' coordinate (plain layout)"
    )


def add_derived_forcings(ds: xr.Dataset, names=DERIVED_FORCINGS) -> xr.Dataset:
    """Returns ``ds`` plus the requested derived forcings that it does not already hold.

    Args:
      ds: dataset with a ``datetime`` coordinate over ``[batch,] time`` (the
        example-batch layout) or a datetime64 ``time`` coordinate (plain layout),
        and a ``lon`` coordinate (degrees) for the day progress.
      names: subset of :data:`DERIVED_FORCINGS`; other names are ignored.

    Returns:
      A new dataset; year features have dims ``[batch,] time``, day features
      ``[batch,] time, lon``. ``ds`` itself is not modified.
    """
    wanted = [n for n in names if n in DERIVED_FORCINGS and n not in ds.data_vars]
    if not wanted:
        return ds
    datetime = _valid_times(ds, ", ".join(wanted))
    seconds = seconds_since_epoch(datetime.values)
    new = {}
    if any(n.startswith("year_progress") for n in wanted):
        new.update(progress_features("year_progress", datetime.dims, year_progress(seconds)))
    if any(n.startswith("day_progress") for n in wanted):
        if "lon" not in ds.coords:
            raise ValueError("cannot compute day_progress: the dataset has no 'lon' coordinate")
        lon = ds.coords["lon"]
        new.update(progress_features("day_progress", datetime.dims + lon.dims, day_progress(seconds, lon.values)))
    return ds.assign({n: new[n] for n in wanted})


def add_time_derived(ds: xr.Dataset, names=DERIVABLE_FROM_TIME) -> xr.Dataset:
    """:func:`add_derived_forcings` plus TOA incident solar radiation where ``names`` asks for it.

    TISR (J m-2, ERA5's one-hour accumulation ending at the valid time) gets dims
    ``datetime.dims + (lat, lon)``: ``(time, lat, lon)`` in the plain layout.
    """
    out = add_derived_forcings(ds, names)
    if TISR not in names or TISR in out.data_vars:
        return out
    from mindgencast.data.solar_radiation import toa_incident_solar_radiation

    datetime = _valid_times(out, TISR)
    if "lat" not in out.coords or "lon" not in out.coords:
        raise ValueError(f"cannot compute {TISR}: the dataset needs 'lat' and 'lon' coordinates")
    values = toa_incident_solar_radiation(np.asarray(datetime.values, "datetime64[ns]"), out["lat"].values,
                                          out["lon"].values)
    tisr = xr.DataArray(values, dims=datetime.dims + ("lat", "lon"),
                        attrs={"units": "J m-2", "long_name": "TOA incident solar radiation (computed from the valid time)"})
    return out.assign({TISR: tisr})
