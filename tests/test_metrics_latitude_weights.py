"""Latitude weights and area means against closed forms on the sphere."""

import numpy as np
import pytest
import xarray as xr

from mindgencast.metrics import area_mean, latitude_weights


def _field(values, lat, lon):
    return xr.DataArray(values, dims=["lat", "lon"], coords={"lat": lat, "lon": lon})


@pytest.mark.parametrize("lat", [np.linspace(-90, 90, 19), np.linspace(-90, 90, 721), np.arange(-88.5, 90, 3.0)])
def test_mean_one_and_symmetric(lat):
    w = latitude_weights(lat).values
    np.testing.assert_allclose(w.mean(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(w, w[::-1], rtol=1e-12)
    assert np.all(w > 0)


def test_cell_area_formula_with_poles():
    """Interior weights ~ cos(lat); a pole point owns a half cell of weight 2 sin^2(d/4)."""
    d = 10.0
    lat = np.arange(-90, 90 + d, d)
    w = latitude_weights(lat).values
    interior = np.cos(np.deg2rad(lat[1:-1])) * 2 * np.sin(np.deg2rad(d / 2))
    pole = 2 * np.sin(np.deg2rad(d / 4)) ** 2
    raw = np.concatenate([[pole], interior, [pole]])
    # Raw cell areas (sin differences) of a pole-to-pole grid sum to sin(90) - sin(-90) = 2.
    np.testing.assert_allclose(raw.sum(), 2.0, rtol=1e-12)
    np.testing.assert_allclose(w, raw / raw.mean(), rtol=1e-12)


def test_without_poles_is_cosine():
    lat = np.arange(-88.5, 90, 3.0)
    w = latitude_weights(lat).values
    cos = np.cos(np.deg2rad(lat))
    np.testing.assert_allclose(w, cos / cos.mean(), rtol=1e-12)


def test_descending_latitudes_give_the_same_weights_reversed():
    lat = np.linspace(-90, 90, 37)
    np.testing.assert_allclose(latitude_weights(lat[::-1]).values, latitude_weights(lat).values[::-1])


def test_area_mean_of_sin_squared_is_one_third():
    """The sphere average of sin^2(lat) is 1/3; a constant field averages to itself."""
    lat, lon = np.linspace(-90, 90, 181), np.arange(0, 360, 4.0)
    field = _field(np.sin(np.deg2rad(lat))[:, None] ** 2 * np.ones(lon.size), lat, lon)
    # Midpoint rule on 1-degree cells: error O(d^2) ~ 1e-5.
    assert abs(float(area_mean(field)) - 1 / 3) < 1e-4
    assert float(area_mean(field * 0 + 7.5)) == pytest.approx(7.5)


def test_area_mean_keeps_other_dims_and_averages_requested_ones():
    lat, lon = np.linspace(-60, 60, 5), np.arange(0, 360, 90.0)
    x = xr.DataArray(np.arange(2 * 3 * 5 * 4.0).reshape(2, 3, 5, 4), dims=["init_time", "lead_time", "lat", "lon"],
                     coords={"lat": lat, "lon": lon})
    w = latitude_weights(lat).values
    direct = (x.values * w[:, None]).sum((-1, -2)) / (w.sum() * lon.size)
    np.testing.assert_allclose(area_mean(x).values, direct)
    np.testing.assert_allclose(area_mean(x, average_dims=("init_time",)).values, direct.mean(0))


def test_bad_latitudes_are_refused():
    with pytest.raises(ValueError, match="monotonic|increasing"):
        latitude_weights([0.0, 10.0, 5.0])
    with pytest.raises(ValueError, match=r"\[-90, 90\]"):
        latitude_weights([0.0, 95.0])
