"""TOA incident solar radiation (ERA5's ``toa_incident_solar_radiation``) from the valid time.

GraphCast (Lam et al., *Science* 2023, Supplement "Inputs") feeds the top-of-atmosphere
solar radiation integrated over the hour ending at each valid time as an input and a
forcing, so a forecast needs it at future times. Reference facts (formulas and constants
only): DeepMind graphcast ``solar_radiation.py``, which follows the orbital formulas of
ECCC's GEM model and ECMWF's ERA5 total solar irradiance (TSI) table.

With ``d`` days since J2000 (JD 2451545.0) and ``theta = d / 365.25`` Julian years::

    rel  = 1.7535 + 6.283076 theta,  rem = 6.240041 + 6.283020 theta,  rlls = 4.8951 + 6.283076 theta
    lambda_sun = 4.8952 + 6.283320 theta - 0.0075 sin rel - 0.0326 cos rel - 0.0003 sin 2rel + 0.0002 cos 2rel
    sin(delta) = sin(0.409093) sin(lambda_sun)                                  # declination
    EoT [s]    = 591.8 sin 2rlls - 459.4 sin rem + 39.5 sin rem cos 2rlls - 12.7 sin 4rlls - 4.8 sin 2rem
    r [AU]     = 1.0001 - 0.0163 sin rel + 0.0037 cos rel
    h          = 2 pi (frac(d) + EoT / 86400) + lon                              # hour angle
    flux       = TSI / r^2 * max(0, cos(lat) cos(delta) cos(h) + sin(lat) sin(delta))   [W m-2]

TISR [J m-2] is the trapezoidal integral of ``flux`` over the hour before the valid time
(360 bins of 10 s), and TSI is interpolated linearly in fractional years from the yearly
table. Everything here is float64 NumPy; the reference computes in float32, which moves
values by ~1e-6 of the maximum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ERA5_TSI_TABLE", "total_solar_irradiance", "toa_incident_solar_radiation"]

_J2000_JULIAN_DATE = 2451545.0
_JULIAN_YEAR_DAYS = 365.25
_SECONDS_PER_DAY = 86400.0
_OBLIQUITY = 0.409093  # radians between Earth's rotation and orbital axes (23.4393 deg)
_CHUNK_VALUES = 2**23  # flux values per chunk (64 MiB in float64): a 0.25 deg grid needs ~60 chunks

# ERA5's yearly TSI (IFS cycle 41r2, W m-2) at mid-year 1951.5 .. 2034.5, before the 0.9965
# scaling; 1996-2008 is a 13-year cycle repeated for 2009-2021 and 2022-2034.
_TSI_1951_1995 = (
    1365.7765, 1365.7676, 1365.6284, 1365.6564, 1365.7773, 1366.3109, 1366.6681, 1366.6328, 1366.3828,
    1366.2767, 1365.9199, 1365.7484, 1365.6963, 1365.6976, 1365.7341, 1365.9178, 1366.1143, 1366.1644,
    1366.2476, 1366.2426, 1365.9580, 1366.0525, 1365.7991, 1365.7271, 1365.5345, 1365.6453, 1365.8331,
    1366.2747, 1366.6348, 1366.6482, 1366.6951, 1366.2859, 1366.1992, 1365.8103, 1365.6416, 1365.6379,
    1365.7899, 1366.0826, 1366.6479, 1366.5533, 1366.4457, 1366.3021, 1366.0286, 1365.7971, 1365.6996,
)  # fmt: skip
_TSI_CYCLE = (
    1365.6121, 1365.7399, 1366.1021, 1366.3851, 1366.6836, 1366.6022, 1366.6807, 1366.2300, 1366.0480,
    1365.8545, 1365.8107, 1365.7240, 1365.6918,
)  # fmt: skip
# (fractional year, TSI in W m-2)
ERA5_TSI_TABLE = (
    np.arange(1951.5, 2035.5, 1.0),
    0.9965 * np.asarray(_TSI_1951_1995 + 3 * _TSI_CYCLE),
)


def _as_datetimes(times) -> pd.DatetimeIndex:
    times = np.asarray(times)
    if not np.issubdtype(times.dtype, np.datetime64):
        raise TypeError(
            f"valid times must be datetime64 (e.g. a dataset's 'datetime' coordinate), got dtype {times.dtype}"
        )
    return pd.DatetimeIndex(times.reshape(-1))


def total_solar_irradiance(times) -> np.ndarray:
    """TSI [W m-2] at ``times`` (datetime64, any shape), linear in fractional years.

    Times outside 1951.5 .. 2034.5 take the nearest table value (``np.interp``).
    """
    shape = np.shape(times)
    t = _as_datetimes(times)
    day_fraction = (t - t.normalize()) / pd.Timedelta(days=1)
    year_length = 365 + t.is_leap_year.astype(np.float64)
    fractional_year = t.year + (t.dayofyear - 1 + day_fraction) / year_length
    years, tsi = ERA5_TSI_TABLE
    return np.interp(np.asarray(fractional_year, np.float64), years, tsi).reshape(shape)


def _flux(j2000_days, sin_lat, cos_lat, lon_rad, tsi):
    """Instantaneous TOA flux [W m-2]; all arguments broadcast together."""
    theta = j2000_days / _JULIAN_YEAR_DAYS
    rel = 1.7535 + 6.283076 * theta
    rem = 6.240041 + 6.283020 * theta
    rlls = 4.8951 + 6.283076 * theta
    sun_longitude = (
        4.8952
        + 6.283320 * theta
        - 0.0075 * np.sin(rel)
        - 0.0326 * np.cos(rel)
        - 0.0003 * np.sin(2 * rel)
        + 0.0002 * np.cos(2 * rel)
    )
    sin_decl = np.sin(_OBLIQUITY) * np.sin(sun_longitude)
    cos_decl = np.sqrt(1.0 - sin_decl**2)
    eq_of_time = (
        591.8 * np.sin(2 * rlls)
        - 459.4 * np.sin(rem)
        + 39.5 * np.sin(rem) * np.cos(2 * rlls)
        - 12.7 * np.sin(4 * rlls)
        - 4.8 * np.sin(2 * rem)
    )
    distance_au = 1.0001 - 0.0163 * np.sin(rel) + 0.0037 * np.cos(rel)
    hour_angle = 2 * np.pi * (np.mod(j2000_days, 1.0) + eq_of_time / _SECONDS_PER_DAY) + lon_rad
    sin_altitude = cos_lat * cos_decl * np.cos(hour_angle) + sin_lat * sin_decl
    return tsi / distance_au**2 * np.maximum(sin_altitude, 0.0)


def toa_incident_solar_radiation(
    times, lat, lon, integration_period="1h", num_bins: int = 360, dtype=np.float32
) -> np.ndarray:
    """TISR [J m-2] integrated over ``integration_period`` ending at each time.

    Args:
      times: datetime64 valid times, any shape ``S`` (e.g. ``[batch, time]``).
      lat: [num_lat] degrees; lon: [num_lon] degrees.
      integration_period: pandas timedelta (ERA5: one hour).
      num_bins: trapezoidal-rule bins over the period.
      dtype: output dtype.

    Returns:
      ``S + (num_lat, num_lon)`` array.
    """
    shape = np.shape(times)
    t = _as_datetimes(times)
    lat_rad = np.deg2rad(np.asarray(lat, np.float64))[:, None, None]
    lon_rad = np.deg2rad(np.asarray(lon, np.float64))[None, :, None]
    period = pd.Timedelta(integration_period)
    offsets = np.linspace(-period / pd.Timedelta(days=1), 0.0, num_bins + 1)  # days
    dx = period.total_seconds() / num_bins
    days = np.asarray(t.to_julian_date(), np.float64) - _J2000_JULIAN_DATE
    tsi = total_solar_irradiance(np.asarray(t.values))
    num_lat, num_lon = lat_rad.shape[0], lon_rad.shape[1]
    out = np.empty((len(t), num_lat, num_lon), np.float64)
    # one time and a band of latitudes at a time: ~_CHUNK_VALUES float64 flux values in memory
    rows = max(1, _CHUNK_VALUES // (num_lon * (num_bins + 1)))
    for i in range(len(t)):
        for lo in range(0, num_lat, rows):
            band = lat_rad[lo : lo + rows]
            flux = _flux(days[i] + offsets, np.sin(band), np.cos(band), lon_rad, tsi[i])
            out[i, lo : lo + rows] = np.trapz(flux, dx=dx, axis=-1)
    return out.reshape(shape + out.shape[1:]).astype(dtype)
