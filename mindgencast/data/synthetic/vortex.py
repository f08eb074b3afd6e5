"""A tropical-cyclone-like vortex on a lat-lon grid, moving along ensembles of tracks.

Teaching data for the cyclone example of GenCast (Price et al. 2024, Fig. 4: track
spaghetti and strike probabilities), made without any reanalysis. The pressure profile is
Holland's (1980): ``p(r) = p_c + dp * exp(-(R/r)^B)``; the wind is its cyclostrophic
balance ``v(r) = sqrt(B dp / rho * (R/r)^B * exp(-(R/r)^B))``, strongest at ``r = R``,
cyclonic (anticlockwise in the northern hemisphere, clockwise in the southern). Tracks follow
a steering flow whose member-by-member perturbation is an Ornstein-Uhlenbeck process, so the
ensemble spreads with lead time as a real one does.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["VortexConfig", "vortex_fields", "vortex_tracks", "vortex_dataset", "EARTH_RADIUS_KM"]

EARTH_RADIUS_KM = 6371.0
_AIR_DENSITY = 1.15  # kg m^-3 near the surface


@dataclasses.dataclass(frozen=True)
class VortexConfig:
    """The vortex and its motion.

    Attributes:
      pressure_deficit: dp, environment minus central pressure [Pa].
      environment_pressure: far-field mean sea level pressure [Pa].
      radius_max_wind_km: R, radius of the strongest wind [km].
      holland_b: B, peakedness of the profile (1 to 2.5).
      steering: mean steering flow (eastward, northward) [m/s].
      beta_drift: poleward-westward drift speed [m/s] (the beta effect).
      steering_std: standard deviation of a member's steering perturbation [m/s].
      steering_timescale_hours: correlation time of that perturbation.
    """

    pressure_deficit: float = 5000.0
    environment_pressure: float = 101000.0
    radius_max_wind_km: float = 150.0
    holland_b: float = 1.6
    steering: tuple[float, float] = (-4.0, 1.0)
    beta_drift: float = 1.5
    steering_std: float = 2.5
    steering_timescale_hours: float = 48.0

    def __post_init__(self):
        for name in ("pressure_deficit", "radius_max_wind_km", "holland_b", "steering_timescale_hours"):
            if not getattr(self, name) > 0:
                raise ValueError(f"VortexConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.steering_std < 0:
            raise ValueError(f"VortexConfig.steering_std must be >= 0, got {self.steering_std}")


def _local_offsets_km(lat, lon, centre_lat, centre_lon):
    """(east, north) offsets [km] of the grid from the centre on the tangent plane, and the
    great-circle distance [km]; ``lat``/``lon`` broadcast [num_lat, num_lon]."""
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    cla, clo = np.deg2rad(centre_lat), np.deg2rad(centre_lon)
    cos_c = np.sin(cla) * np.sin(la) + np.cos(cla) * np.cos(la) * np.cos(lo - clo)
    distance = EARTH_RADIUS_KM * np.arccos(np.clip(cos_c, -1.0, 1.0))
    east = np.cos(la) * np.sin(lo - clo)
    north = np.cos(cla) * np.sin(la) - np.sin(cla) * np.cos(la) * np.cos(lo - clo)
    norm = np.hypot(east, north)
    scale = np.where(norm > 0, distance / np.where(norm > 0, norm, 1.0), 0.0)
    return east * scale, north * scale, distance


def vortex_fields(lat, lon, centre_lat: float, centre_lon: float, config: VortexConfig = VortexConfig()):
    """Mean sea level pressure [Pa] and 10 m wind (u, v) [m/s] of one vortex.

    Args:
      lat: [num_lat] degrees; lon: [num_lon] degrees.
      centre_lat, centre_lon: the vortex centre in degrees.

    Returns:
      (mslp, u, v), each [num_lat, num_lon] float64.
    """
    lat2, lon2 = np.meshgrid(np.asarray(lat, np.float64), np.asarray(lon, np.float64), indexing="ij")
    east, north, r = _local_offsets_km(lat2, lon2, centre_lat, centre_lon)
    # (R/r)^B with r clamped away from 0: the profile -> p_c and v -> 0 at the centre.
    x = (config.radius_max_wind_km / np.maximum(r, 1e-3)) ** config.holland_b
    decay = np.exp(-x)
    mslp = config.environment_pressure - config.pressure_deficit + config.pressure_deficit * decay
    speed = np.sqrt(config.holland_b * config.pressure_deficit / _AIR_DENSITY * x * decay)
    sense = 1.0 if centre_lat >= 0 else -1.0  # cyclonic: anticlockwise in the north
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(r > 0, -sense * speed * north / r, 0.0)
        v = np.where(r > 0, sense * speed * east / r, 0.0)
    return mslp, u, v


def vortex_tracks(
    start_lat: float,
    start_lon: float,
    num_steps: int,
    num_members: int,
    config: VortexConfig = VortexConfig(),
    step_hours: float = 12.0,
    rng=None,
) -> np.ndarray:
    """Centre positions of ``num_members`` vortices [member, step, (lat, lon)], degrees.

    Step 0 is the start for every member. Each member moves with the steering flow plus the
    beta drift (poleward and westward) plus its own OU perturbation of the steering.
    """
    if num_steps < 1 or num_members < 1:
        raise ValueError(f"num_steps and num_members must be >= 1, got {num_steps}, {num_members}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    dt = step_hours * 3600.0
    phi = np.exp(-step_hours / config.steering_timescale_hours)
    perturbation = rng.standard_normal((num_members, 2)) * config.steering_std
    positions = np.empty((num_members, num_steps + 1, 2))
    positions[:, 0] = start_lat, start_lon
    for t in range(num_steps):
        lat, lon = positions[:, t, 0], positions[:, t, 1]
        pole = np.sign(lat + 1e-9)
        u = config.steering[0] - config.beta_drift * 0.5 + perturbation[:, 0]
        v = config.steering[1] + pole * config.beta_drift + perturbation[:, 1]
        dlat = np.rad2deg(v * dt / (EARTH_RADIUS_KM * 1e3))
        dlon = np.rad2deg(u * dt / (EARTH_RADIUS_KM * 1e3 * np.cos(np.deg2rad(lat))))
        positions[:, t + 1, 0] = np.clip(lat + dlat, -80, 80)
        positions[:, t + 1, 1] = (lon + dlon) % 360
        perturbation = phi * perturbation + np.sqrt(1 - phi**2) * config.steering_std * rng.standard_normal(
            (num_members, 2)
        )
    return positions


def vortex_dataset(
    tracks: np.ndarray, lat, lon, init_time, config: VortexConfig = VortexConfig(), step_hours: float = 12.0
) -> xr.Dataset:
    """Fields of the vortices along ``tracks`` [member, step, 2]: a forecast-layout dataset
    (member, lead_time, lat, lon) of ``mean_sea_level_pressure``, ``10m_u_component_of_wind``
    and ``10m_v_component_of_wind``, with ``valid_time`` and ``init_time`` coordinates."""
    tracks = np.asarray(tracks, np.float64)
    members, steps = tracks.shape[:2]
    fields = np.empty((3, members, steps, len(lat), len(lon)), np.float32)
    for k in range(members):
        for t in range(steps):
            fields[:, k, t] = vortex_fields(lat, lon, tracks[k, t, 0], tracks[k, t, 1], config)
    leads = pd.to_timedelta(np.arange(steps) * step_hours, unit="h")
    init = np.datetime64(pd.Timestamp(init_time), "ns")
    dims = ("member", "lead_time", "lat", "lon")
    attrs = {
        "mean_sea_level_pressure": "Pa",
        "10m_u_component_of_wind": "m s**-1",
        "10m_v_component_of_wind": "m s**-1",
    }
    data = {name: (dims, fields[i], {"units": units}) for i, (name, units) in enumerate(attrs.items())}
    return xr.Dataset(
        data,
        coords={
            "member": np.arange(members),
            "lead_time": leads,
            "lat": np.asarray(lat, np.float32),
            "lon": np.asarray(lon, np.float32),
            "init_time": init,
            "valid_time": ("lead_time", init + leads.values),
        },
    )
