"""Cyclone tracks from ensemble forecasts: a minimum-pressure tracker, track errors and
strike probabilities (GenCast, Price et al. 2024, Fig. 4 and Supplement: the probability
that a cyclone centre passes within a radius of each place).

The tracker follows the mean sea level pressure minimum from its previous position, within
``search_km`` (a simplified TempestExtremes-style tracker: no warm-core or closed-contour
checks), refined to sub-grid precision by a quadratic fit in latitude and longitude.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["great_circle_km", "track_minimum", "track_ensemble", "strike_probability"]

_EARTH_RADIUS_KM = 6371.0


def great_circle_km(lat1, lon1, lat2, lon2):
    """Great-circle distance [km] between points given in degrees (broadcasting)."""
    la1, lo1, la2, lo2 = (np.deg2rad(np.asarray(a, np.float64)) for a in (lat1, lon1, lat2, lon2))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _refine(values: np.ndarray, i: int, j: int) -> tuple[float, float]:
    """Sub-grid offsets (in grid steps) of a minimum at [i, j] from 3-point parabolas."""

    def offset(a, b, c):
        denominator = a - 2 * b + c
        return 0.0 if denominator <= 0 else float(np.clip(0.5 * (a - c) / denominator, -0.5, 0.5))

    n_lat, n_lon = values.shape
    di = offset(values[i - 1, j], values[i, j], values[i + 1, j]) if 0 < i < n_lat - 1 else 0.0
    dj = offset(values[i, (j - 1) % n_lon], values[i, j], values[i, (j + 1) % n_lon])
    return di, dj


def track_minimum(mslp: xr.DataArray, start_lat: float, start_lon: float, search_km: float = 600.0) -> np.ndarray:
    """Follows the pressure minimum through ``lead_time``.

    Args:
      mslp: ``[lead_time, lat, lon]`` mean sea level pressure, regular ascending grid.
      start_lat, start_lon: first guess of the centre at the first lead (degrees).
      search_km: how far the centre may be from its previous position.

    Returns:
      [lead_time, 2] (lat, lon) degrees; NaN from the first lead with no grid point in range.
    """
    if set(mslp.dims) != {"lead_time", "lat", "lon"}:
        raise ValueError(f"track_minimum needs dims (lead_time, lat, lon), got {mslp.dims}")
    mslp = mslp.transpose("lead_time", "lat", "lon")
    lat, lon = mslp["lat"].values.astype(np.float64), mslp["lon"].values.astype(np.float64)
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    d_lat, d_lon = lat[1] - lat[0], lon[1] - lon[0]
    track = np.full((mslp.sizes["lead_time"], 2), np.nan)
    guess = (start_lat, start_lon)
    for t, values in enumerate(mslp.values.astype(np.float64)):
        near = great_circle_km(guess[0], guess[1], lat2, lon2) <= search_km
        if not near.any():
            break
        i, j = np.unravel_index(np.argmin(np.where(near, values, np.inf)), values.shape)
        di, dj = _refine(values, i, j)
        track[t] = lat[i] + di * d_lat, (lon[j] + dj * d_lon) % 360
        guess = tuple(track[t])
    return track


def track_ensemble(mslp: xr.DataArray, start_lat: float, start_lon: float, search_km: float = 600.0) -> np.ndarray:
    """:func:`track_minimum` for every member of ``[member, lead_time, lat, lon]``;
    returns [member, lead_time, 2]."""
    return np.stack(
        [track_minimum(mslp.isel(member=k), start_lat, start_lon, search_km) for k in range(mslp.sizes["member"])]
    )


def strike_probability(tracks: np.ndarray, lat, lon, radius_km: float = 300.0, substeps: int = 8) -> xr.DataArray:
    """Fraction of members whose centre passes within ``radius_km`` of each grid point.

    Args:
      tracks: [member, lead_time, 2] (lat, lon) degrees (NaN where a track ended).
      lat, lon: [num_lat], [num_lon] degrees of the output grid.
      radius_km: strike radius.
      substeps: points interpolated along each track segment, so a fast centre does not jump
        over a place between two leads.

    Returns:
      [lat, lon] probability in [0, 1].
    """
    tracks = np.asarray(tracks, np.float64)
    if tracks.ndim != 3 or tracks.shape[-1] != 2:
        raise ValueError(f"tracks must be [member, lead_time, 2], got shape {tracks.shape}")
    lat2, lon2 = np.meshgrid(np.asarray(lat, np.float64), np.asarray(lon, np.float64), indexing="ij")
    hit = np.zeros((tracks.shape[0], *lat2.shape), bool)
    s = np.linspace(0, 1, substeps, endpoint=False)
    for k, track in enumerate(tracks):
        track = track[~np.isnan(track).any(axis=1)]
        if track.size == 0:
            continue
        a, b = track[:-1], track[1:]
        dlon = (b[:, 1] - a[:, 1] + 180) % 360 - 180  # the short way round
        pts = np.concatenate(
            [
                np.stack(
                    [a[:, 0, None] + s * (b[:, 0, None] - a[:, 0, None]), a[:, 1, None] + s * dlon[:, None]], -1
                ).reshape(-1, 2),
                track[-1:],
            ]
        )
        for p_lat, p_lon in pts:
            hit[k] |= great_circle_km(p_lat, p_lon, lat2, lon2) <= radius_km
    return xr.DataArray(
        hit.mean(axis=0),
        coords={"lat": np.asarray(lat), "lon": np.asarray(lon)},
        dims=("lat", "lon"),
        name="strike_probability",
    )
