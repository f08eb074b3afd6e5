"""Ensemble-mean RMSE (plain, debiased), spread and spread/skill against direct formulas."""

import numpy as np
import pytest
import xarray as xr

from mindgencast.metrics import ensemble_mean_rmse, ensemble_spread, latitude_weights, spread_skill_ratio


def _ensemble(rng, members, shape=(3, 6, 12), spread=1.0, truth_scale=1.0):
    """Members and truth around a random mean; ``spread``/``truth_scale`` set their std devs."""
    lat = np.linspace(-75, 75, shape[-2])
    lon = np.arange(shape[-1]) * 360.0 / shape[-1]
    mu = rng.normal(size=shape) * 3.0
    coords = {"lat": lat, "lon": lon}
    dims = ["sample", "lat", "lon"]
    forecast = xr.DataArray(mu + spread * rng.normal(size=(members, *shape)), dims=["member", *dims], coords=coords)
    truth = xr.DataArray(mu + truth_scale * rng.normal(size=shape), dims=dims, coords=coords)
    return forecast, truth


def _area(values, lat):
    w = latitude_weights(lat).values[:, None]
    return (values * w).mean((-1, -2))


def test_rmse_and_debiased_rmse_match_direct_formulas():
    rng = np.random.default_rng(0)
    m = 6
    forecast, truth = _ensemble(rng, m)
    f, y, lat = forecast.values, truth.values, forecast["lat"].values
    error2 = (f.mean(0) - y) ** 2
    var = f.var(0, ddof=1)
    np.testing.assert_allclose(ensemble_mean_rmse(forecast, truth).values, np.sqrt(_area(error2, lat)), rtol=1e-12)
    np.testing.assert_allclose(ensemble_mean_rmse(forecast, truth, debiased=True).values,
                               np.sqrt(_area(error2 - var / m, lat)), rtol=1e-12)
    np.testing.assert_allclose(ensemble_spread(forecast).values, np.sqrt(_area(var, lat)), rtol=1e-12)
    # average_dims averages squares over samples before the root (WeatherBench2 convention).
    np.testing.assert_allclose(ensemble_mean_rmse(forecast, truth, average_dims=("sample",)).values,
                               np.sqrt(_area(error2, lat).mean()), rtol=1e-12)


def test_debiased_rmse_clamps_at_zero():
    """Truth at the ensemble mean: squared error 0, so error - var/M < 0 and the root is clamped to 0."""
    rng = np.random.default_rng(1)
    forecast, _ = _ensemble(rng, 4)
    truth = forecast.mean("member")
    assert np.all(ensemble_mean_rmse(forecast, truth, debiased=True).values == 0.0)
    assert np.all(ensemble_mean_rmse(forecast, truth).values < 1e-12)


def test_calibrated_gaussian_ensemble_has_spread_skill_near_one():
    """Truth exchangeable with the members: E[(mean - y)^2] = (M + 1)/M var.

    So WB2's ratio -> sqrt(M/(M+1)) and the corrected one -> 1. With 6*12*2000 points
    the ratio's sampling error is ~0.3%; we allow 2%.
    """
    rng = np.random.default_rng(2)
    m = 5
    forecast, truth = _ensemble(rng, m, shape=(2000, 6, 12))
    ratio = float(spread_skill_ratio(forecast, truth, average_dims=("sample",)))
    corrected = float(spread_skill_ratio(forecast, truth, corrected=True, average_dims=("sample",)))
    assert ratio == pytest.approx(np.sqrt(m / (m + 1)), rel=0.02)
    assert corrected == pytest.approx(1.0, rel=0.02)
    debiased = float(ensemble_mean_rmse(forecast, truth, debiased=True, average_dims=("sample",)))
    assert debiased == pytest.approx(1.0, rel=0.02)  # the truth's own std dev


def test_under_dispersive_ensemble_has_ratio_below_one():
    """Members with std 0.5 around a truth of std 1: ratio ~ 0.5 / sqrt(1 + 0.25/M)."""
    rng = np.random.default_rng(3)
    m = 8
    forecast, truth = _ensemble(rng, m, shape=(500, 6, 12), spread=0.5)
    ratio = float(spread_skill_ratio(forecast, truth, average_dims=("sample",)))
    assert ratio == pytest.approx(0.5 / np.sqrt(1 + 0.25 / m), rel=0.03)
    assert ratio < 0.6


def test_single_member_spread_is_nan():
    rng = np.random.default_rng(4)
    forecast, truth = _ensemble(rng, 1)
    assert np.all(np.isnan(ensemble_spread(forecast).values))
    assert np.all(np.isnan(ensemble_mean_rmse(forecast, truth, debiased=True).values))
