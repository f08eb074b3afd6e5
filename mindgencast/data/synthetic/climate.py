"""The synthetic world's climate: static fields and the per-variable mean state.

Each generated field is ``Y = scale * g(X)`` of a Gaussian field::

    X(t, x) = mu0(x) + A_s(x) cos(2 pi (yp(t) - phi_s))
                     + A_d(x) cos(2 pi (dp(t, lon) - phi_d)) + L(x) . z(t)

with ``yp``/``dp`` GenCast's year and (local solar) day progress, ``mu0`` the
annual-mean climate, ``A_s`` a seasonal amplitude (signed: opposite phase in the
two hemispheres, NH summer peak at ``phi_s``), ``A_d`` a diurnal amplitude
peaking at ``phi_d`` (15:00 local time), and ``L(x) . z(t)`` the weather (see
:mod:`latent_process`). ``g`` is the identity, ``exp`` (specific humidity:
log-normal, > 0), ``max(floor, X)`` (SST, >= 271.35 K, NaN over land) or
``max(0, X)`` (precipitation). This module gives ``mu0, A_s, A_d``, the anomaly
scale ``sigma * envelope(lat)`` and ``g`` for every variable and level, in the
variable's own units, from a US-standard-atmosphere backbone.

Reference: U.S. Standard Atmosphere (1976) for T(p) and z(p); docs/synthetic_world.md.
"""

from __future__ import annotations

import dataclasses
import math
import zlib

import numpy as np

from mindgencast.data.synthetic.latent_process import associated_legendre

__all__ = ["FieldRecipe", "clock", "field_recipe", "static_fields", "variable_rng"]

GRAVITY = 9.80665  # m s-2
SST_FLOOR = 271.35  # K, freezing point of sea water (GenCast's SST NaN fill value)
SEASON_PEAK = 0.54  # year progress of the NH summer maximum (mid July)
DIURNAL_PEAK = 15.0 / 24.0  # day progress of the afternoon maximum (15:00 local)
LAND_FRACTION = 0.3  # area fraction of land
_SECONDS_PER_DAY = 86400
_DAYS_PER_YEAR = 365.24219  # GenCast's average year (graphcast data_utils)
_P0 = 1013.25  # hPa
_T0 = 288.15  # K
_LAPSE = 0.0065  # K/m
_EXPONENT = 0.190263  # R * lapse / g
_P_TROPOPAUSE = 226.32  # hPa
_T_TROPOPAUSE = 216.65  # K
_R_DRY = 287.053  # J kg-1 K-1


@dataclasses.dataclass(frozen=True)
class FieldRecipe:
    """Climate and anomaly scale of one variable at one level (arrays [lat, lon]).

    Attributes:
      kind: ``"linear"``, ``"lognormal"``, ``"censored"`` or ``"positive"`` (the map g).
      mu0, season_amp, diurnal_amp: ``mu0, A_s, A_d`` of ``X`` (units of X).
      anomaly_scale: ``sigma * envelope(lat)``, the std of ``L(x) . z`` on average.
      family: variables of one family share most of their mode loadings.
      floor: the floor of ``censored`` / ``positive`` kinds.
      scale: ``Y = scale * g(X)`` (accumulation period / 12 h for precipitation).
      nan_mask: [lat, lon] bool, where ``Y`` is NaN (SST over land), or None.
    """

    kind: str
    mu0: np.ndarray
    season_amp: np.ndarray
    diurnal_amp: np.ndarray
    anomaly_scale: np.ndarray
    family: str
    floor: float = 0.0
    scale: float = 1.0
    nan_mask: np.ndarray | None = None


def clock(times, lon_deg) -> tuple[np.ndarray, np.ndarray]:
    """GenCast's year progress [T] and local day progress [T, lon] (float64, in [0, 1)).

    Same definitions as graphcast ``data_utils.get_year_progress`` /
    ``get_day_progress``: whole seconds ``s`` since 1970-01-01, ``yp = mod(s /
    86400 / 365.24219, 1)``, ``dp = mod(mod(s, 86400) / 86400 + lon / 360, 1)``.
    """
    seconds = np.asarray(times, dtype="datetime64[s]").astype(np.int64)
    year_progress = np.mod(seconds / _SECONDS_PER_DAY / _DAYS_PER_YEAR, 1.0)
    day = np.mod(seconds, _SECONDS_PER_DAY) / _SECONDS_PER_DAY
    day_progress = np.mod(day[:, None] + np.asarray(lon_deg, float)[None, :] / 360.0, 1.0)
    return year_progress, day_progress


def variable_rng(structure_seed: int, name: str) -> np.random.Generator:
    """A generator keyed by (seed, name), so a variable's law never depends on the task."""
    return np.random.default_rng([structure_seed, zlib.crc32(name.encode())])


def _land_function(lat_deg, lon_deg, structure_seed):
    rng = variable_rng(structure_seed, "land")
    f = 0.0
    for l in range(1, 6):
        for m in range(l + 1):
            a, b = rng.standard_normal(2) / l
            P = associated_legendre(l, m, lat_deg)
            f = f + P * (a * np.cos(m * np.deg2rad(lon_deg)) + (b * np.sin(m * np.deg2rad(lon_deg)) if m else 0.0))
    return f


def static_fields(lat_deg: np.ndarray, lon_deg: np.ndarray, structure_seed: int) -> dict[str, np.ndarray]:
    """Land-sea mask (land fraction, 1) and surface geopotential (m2 s-2), [lat, lon] float64.

    Land is where a smooth random function of position (spherical harmonics of
    degree <= 5) exceeds its area quantile ``1 - LAND_FRACTION``; the threshold is
    found on a fixed 1-degree reference grid, so every grid sees the same continents.
    Coasts get fractional values; orography rises to 4 km inland.
    """
    ref_lat = np.linspace(-90, 90, 181)
    ref_lon = np.arange(360.0)
    ref = _land_function(ref_lat[:, None], ref_lon[None, :], structure_seed)
    weights = np.broadcast_to(np.cos(np.deg2rad(ref_lat))[:, None], ref.shape).ravel()
    order = np.argsort(ref.ravel())
    cdf = np.cumsum(weights[order]) / weights.sum()
    threshold = ref.ravel()[order][np.searchsorted(cdf, 1.0 - LAND_FRACTION)]
    width = 0.15 * ref.std()
    top = ref.max()
    f = _land_function(lat_deg[:, None], lon_deg[None, :], structure_seed)
    lsm = np.clip(0.5 + (f - threshold) / (2 * width), 0.0, 1.0)
    height = 4000.0 * np.clip((f - threshold) / (top - threshold), 0.0, 1.0) ** 1.5
    return {"land_sea_mask": lsm, "geopotential_at_surface": GRAVITY * height}


def _standard_temperature(p):
    return np.where(p > _P_TROPOPAUSE, _T0 * (p / _P0) ** _EXPONENT, _T_TROPOPAUSE)


def _standard_height(p):
    troposphere = _T0 / _LAPSE * (1.0 - (p / _P0) ** _EXPONENT)
    top = _T0 / _LAPSE * (1.0 - (_P_TROPOPAUSE / _P0) ** _EXPONENT)
    above = top + _R_DRY * _T_TROPOPAUSE / GRAVITY * np.log(_P_TROPOPAUSE / p)
    return np.where(p > _P_TROPOPAUSE, troposphere, above)


def field_recipe(name: str, level: int | None, lat_deg: np.ndarray, lon_deg: np.ndarray,
                 statics: dict[str, np.ndarray]) -> FieldRecipe:
    """The climate of ``name`` at ``level`` (hPa; None for surface variables) on the grid.

    Args:
      lat_deg: [num_lat]; lon_deg: [num_lon] degrees.
      statics: output of :func:`static_fields` on the same grid.
    """
    shape = (lat_deg.size, lon_deg.size)
    phi = np.deg2rad(lat_deg)[:, None] * np.ones(shape)
    s, c = np.sin(phi), np.cos(phi)
    land = statics["land_sea_mask"]
    height = statics["geopotential_at_surface"] / GRAVITY
    zero = np.zeros(shape)
    p = float(level) if level is not None else 1000.0
    decades = math.log(_P0 / p) / math.log(10.0)  # decades of pressure above the surface
    jet = math.exp(-math.log(p / 250.0) ** 2 / 0.6)  # vertical profile peaking at 250 hPa

    if name == "temperature":
        trop = max(0.15, (p - 100.0) / 900.0)
        return FieldRecipe("linear", _standard_temperature(p) + 25.0 * trop * (1 / 3 - s**2), 6.0 * trop * s, zero,
                           (1.5 + 2.0 * p / 1000.0) * (0.7 + 0.6 * s**2), "thermal")
    if name == "geopotential":
        mu0 = GRAVITY * (_standard_height(p) + 900.0 * decades * (1 / 3 - s**2))
        return FieldRecipe("linear", mu0, GRAVITY * 60.0 * decades * s, zero,
                           GRAVITY * (25.0 + 90.0 * decades) * (0.4 + 1.2 * s**2), "mass")
    if name == "u_component_of_wind":
        u_jet = 8.0 + 22.0 * jet
        mu0 = u_jet * np.sin(2 * phi) ** 2 - 7.0 * c**6 * p / 1000.0
        return FieldRecipe("linear", mu0, -5.0 * s * np.sin(2 * phi) ** 2 * u_jet / 30.0, zero,
                           (4.0 + 6.0 * jet) * (0.6 + 0.8 * s**2), "wind")
    if name == "v_component_of_wind":
        return FieldRecipe("linear", zero, zero, zero, 0.8 * (4.0 + 6.0 * jet) * (0.6 + 0.8 * s**2), "wind")
    if name == "vertical_velocity":
        mu0 = -0.04 * np.exp(-((np.rad2deg(phi) / 10.0) ** 2)) * math.sin(math.pi * p / 1100.0)
        return FieldRecipe("linear", mu0, zero, zero, (0.03 + 0.12 * math.sin(math.pi * p / 1100.0)) * np.ones(shape),
                           "mass")
    if name == "specific_humidity":
        sigma = 0.35
        q_mean = 0.018 * (p / 1000.0) ** 3 * (0.15 + 0.85 * c**4) + 3e-6
        return FieldRecipe("lognormal", np.log(q_mean) - sigma**2 / 2, 0.3 * s * p / 1000.0, zero,
                           sigma * np.ones(shape), "thermal")
    if name == "2m_temperature":
        mu0 = 288.0 + 42.0 * (1 / 3 - s**2) - _LAPSE * height
        return FieldRecipe("linear", mu0, 14.0 * s * (0.3 + 0.7 * land), (1.0 + 4.0 * land) * c,
                           2.5 * (0.7 + 0.9 * s**2), "thermal")
    if name == "mean_sea_level_pressure":
        return FieldRecipe("linear", 101325.0 - 500.0 * np.cos(6 * phi), -400.0 * s * land, zero,
                           1000.0 * (0.5 + 1.2 * s**2), "mass")
    if name == "10m_u_component_of_wind":
        mu0 = (7.0 * np.sin(2 * phi) ** 2 - 5.0 * c**6) * (1.0 - 0.4 * land)
        return FieldRecipe("linear", mu0, zero, zero, 3.5 * (0.7 + 0.6 * s**2), "wind")
    if name == "10m_v_component_of_wind":
        return FieldRecipe("linear", zero, zero, zero, 3.0 * (0.7 + 0.6 * s**2), "wind")
    if name == "sea_surface_temperature":
        return FieldRecipe("censored", SST_FLOOR + 30.0 * c**2, 2.5 * s * c, zero, 0.6 * np.ones(shape), "thermal",
                           floor=SST_FLOOR, nan_mask=land > 0.5)
    if name.startswith("total_precipitation"):
        hours = {"total_precipitation_12hr": 12.0, "total_precipitation_6hr": 6.0, "total_precipitation": 1.0}[name]
        lat = np.rad2deg(phi)
        mu0 = -0.6e-3 + 3.0e-3 * np.exp(-((lat / 12.0) ** 2)) + 1.5e-3 * np.exp(-(((np.abs(lat) - 50.0) / 12.0) ** 2))
        season = 1.0e-3 * s * np.exp(-((lat / 25.0) ** 2)) * 4.0
        return FieldRecipe("positive", mu0, season, zero, 1.6e-3 * np.ones(shape), "water", floor=0.0,
                           scale=hours / 12.0)
    raise ValueError(f"the synthetic world has no recipe for {name!r}")
