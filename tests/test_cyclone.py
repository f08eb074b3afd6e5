"""The synthetic vortex (Holland profile, cyclonic winds, spreading tracks) and the tracker,
track errors and strike probabilities built on it."""

import numpy as np
import pytest

from mindgencast.data.synthetic.vortex import VortexConfig, vortex_dataset, vortex_fields, vortex_tracks
from mindgencast.metrics.cyclone_tracks import great_circle_km, strike_probability, track_ensemble

LAT = np.arange(-60.0, 60.01, 0.5)
LON = np.arange(100.0, 200.0, 0.5)


@pytest.mark.parametrize("centre_lat", [18.0, -18.0])
def test_vortex_profile_and_rotation(centre_lat):
    cfg = VortexConfig()
    mslp, u, v = vortex_fields(LAT, LON, centre_lat, 150.0, cfg)
    lat2, lon2 = np.meshgrid(LAT, LON, indexing="ij")
    r = great_circle_km(centre_lat, 150.0, lat2, lon2)
    # Central pressure p_c = p_env - dp at the grid point on the centre; p -> p_env far away.
    assert mslp[r < 1].item() == pytest.approx(cfg.environment_pressure - cfg.pressure_deficit)
    # Pressure rises with distance, and 1 - exp(-x) <= x bounds the far-field deficit.
    order = np.argsort(r.ravel())
    assert np.all(np.diff(mslp.ravel()[order]) >= -1e-6)
    far_deficit = cfg.pressure_deficit * (cfg.radius_max_wind_km / 2000.0) ** cfg.holland_b
    assert mslp[r > 2000].min() >= cfg.environment_pressure - far_deficit
    # Cyclostrophic Holland wind peaks at r = R (within a grid spacing, 55 km).
    speed = np.hypot(u, v)
    assert abs(r.ravel()[np.argmax(speed)] - cfg.radius_max_wind_km) < 56
    # Cyclonic: east of the centre the wind blows poleward in the north, equatorward in the south.
    i, j = np.argmin(abs(LAT - centre_lat)), np.argmin(abs(LON - 152.0))
    assert np.sign(v[i, j]) == np.sign(centre_lat)


def test_tracks_spread_with_lead_time_and_the_tracker_recovers_them():
    tracks = vortex_tracks(15.0, 150.0, num_steps=6, num_members=5, rng=0)
    assert tracks.shape == (5, 7, 2) and np.all(tracks[:, 0] == [15.0, 150.0])
    spread = [great_circle_km(*tracks[:, t].T, *tracks[:, t].mean(0)).mean() for t in range(7)]
    assert spread[0] == 0 and spread[-1] > spread[1] > 0
    ds = vortex_dataset(tracks, LAT, LON, "2020-09-01T00")
    found = track_ensemble(ds["mean_sea_level_pressure"], 15.0, 150.0)
    error = great_circle_km(found[..., 0], found[..., 1], tracks[..., 0], tracks[..., 1])
    assert error.max() < 25.0  # sub-grid refinement: well inside the 55 km grid spacing


def test_strike_probability_counts_members_within_the_radius():
    lat, lon = np.arange(0.0, 30.01, 1.0), np.arange(130.0, 170.0, 1.0)
    north = np.array([[[5.0, 140.0], [25.0, 140.0]]])  # one member going north along 140E
    east = np.array([[[15.0, 135.0], [15.0, 165.0]]])  # one going east along 15N
    p = strike_probability(np.concatenate([north, east]), lat, lon, radius_km=200.0)
    assert p.sel(lat=15.0, lon=140.0) == 1.0  # both tracks cross there
    assert p.sel(lat=25.0, lon=160.0) == 0.0  # neither
    assert p.sel(lat=10.0, lon=140.0) == 0.5 and p.sel(lat=15.0, lon=160.0) == 0.5
    # Without the interpolation along segments only the end points would count.
    assert p.sel(lat=15.0, lon=150.0) == 0.5
    with pytest.raises(ValueError, match="tracks must be"):
        strike_probability(np.zeros((3, 2)), lat, lon)
