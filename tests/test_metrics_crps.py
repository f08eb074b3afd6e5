"""CRPS: Gaussian closed form, a 2-member ensemble by hand, properscoring, pairwise sums."""

import numpy as np
import properscoring
import pytest
import scipy.stats
import xarray as xr

from mindgencast.metrics import area_mean, crps, latitude_weights
from mindgencast.metrics.crps import ensemble_mean_abs_difference


def _grid(n_lat=4, n_lon=8):
    return np.linspace(-67.5, 67.5, n_lat), np.arange(n_lon) * 360.0 / n_lon


def _arrays(forecast, truth, extra="sample"):
    lat, lon = _grid(forecast.shape[-2], forecast.shape[-1])
    coords = {"lat": lat, "lon": lon}
    dims = ["member", extra, "lat", "lon"][-forecast.ndim:]
    return (xr.DataArray(forecast, dims=dims, coords=coords),
            xr.DataArray(truth, dims=dims[1:], coords=coords))


def _gaussian_crps(mu, sigma, y):
    z = (y - mu) / sigma
    return sigma * (z * (2 * scipy.stats.norm.cdf(z) - 1) + 2 * scipy.stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


@pytest.mark.parametrize("members", [2, 4, 64])
def test_gaussian_ensembles_match_the_closed_form(members):
    """Fair CRPS is unbiased at any M; the standard one is high by sigma / (M sqrt(pi))."""
    rng = np.random.default_rng(members)
    samples, sigma = 4000, 1.5
    mu = rng.normal(size=(samples, 4, 8))
    y = mu + rng.normal(size=mu.shape) * 2.0
    forecast, truth = _arrays(mu + sigma * rng.normal(size=(members, *mu.shape)), y)
    expected = _weighted_mean(_gaussian_crps(mu, sigma, y), truth)
    for fair, bias in ((True, 0.0), (False, sigma / (members * np.sqrt(np.pi)))):
        per_sample = crps(forecast, truth, fair=fair).values
        standard_error = per_sample.std() / np.sqrt(samples)
        assert abs(per_sample.mean() - (expected + bias)) < 4 * standard_error, (fair, per_sample.mean(), expected)
    if members == 2:
        # The standard estimator's bias is many standard errors away: the test can tell them apart.
        assert sigma / (2 * np.sqrt(np.pi)) > 20 * standard_error


def _weighted_mean(values, like):
    w = latitude_weights(like["lat"]).values[:, None]
    return float((values * w).mean())


def test_two_member_fair_crps_by_hand():
    """Members {0, 2}, truth 0.5: skill = (0.5 + 1.5)/2 = 1, pair sum = 2 * 2 = 4.

    fair = 1 - 4 / (2 * 2 * 1) = 0;  standard = 1 - 4 / (2 * 4) = 0.5.
    """
    lat, lon = _grid(2, 2)
    forecast = xr.DataArray(np.array([0.0, 2.0])[:, None, None] * np.ones((2, 2, 2)), dims=["member", "lat", "lon"],
                            coords={"lat": lat, "lon": lon})
    truth = xr.full_like(forecast.isel(member=0, drop=True), 0.5)
    assert float(crps(forecast, truth, fair=True)) == pytest.approx(0.0, abs=1e-12)
    assert float(crps(forecast, truth, fair=False)) == pytest.approx(0.5, abs=1e-12)


def test_standard_crps_matches_properscoring():
    rng = np.random.default_rng(0)
    forecast, truth = _arrays(rng.gamma(2.0, size=(7, 3, 4, 8)), rng.gamma(2.0, size=(3, 4, 8)), extra="lead_time")
    ours = crps(forecast, truth, fair=False).values
    reference = properscoring.crps_ensemble(truth.values, np.moveaxis(forecast.values, 0, -1))
    weights = latitude_weights(truth["lat"]).values[:, None]
    np.testing.assert_allclose(ours, (reference * weights).mean((-1, -2)), rtol=1e-12)


def test_fair_crps_relates_to_properscoring_by_m_over_m_minus_one():
    """fair = skill - (skill - standard) * M / (M - 1), with skill the mean absolute error."""
    rng = np.random.default_rng(1)
    m = 5
    forecast, truth = _arrays(rng.normal(size=(m, 2, 4, 8)), rng.normal(size=(2, 4, 8)))
    standard = properscoring.crps_ensemble(truth.values, np.moveaxis(forecast.values, 0, -1))
    skill = np.abs(forecast.values - truth.values).mean(0)
    fair_pointwise = skill - (skill - standard) * m / (m - 1)
    weights = latitude_weights(truth["lat"]).values[:, None]
    np.testing.assert_allclose(crps(forecast, truth).values, (fair_pointwise * weights).mean((-1, -2)), rtol=1e-12)


def test_sorted_pair_sum_equals_brute_force():
    rng = np.random.default_rng(2)
    x = xr.DataArray(rng.normal(size=(9, 5)), dims=["member", "point"])
    pairs = np.abs(x.values[:, None, :] - x.values[None, :, :]).sum((0, 1))
    np.testing.assert_allclose(ensemble_mean_abs_difference(x, fair=True).values, pairs / (9 * 8), rtol=1e-12)
    np.testing.assert_allclose(ensemble_mean_abs_difference(x, fair=False).values, pairs / 81, rtol=1e-12)


def test_single_member_crps_is_mean_absolute_error():
    rng = np.random.default_rng(3)
    forecast, truth = _arrays(rng.normal(size=(1, 2, 4, 8)), rng.normal(size=(2, 4, 8)))
    np.testing.assert_allclose(crps(forecast, truth).values, area_mean(abs(forecast.isel(member=0) - truth)).values)


def test_missing_ensemble_dim_is_named():
    forecast, truth = _arrays(np.zeros((2, 1, 4, 8)), np.zeros((1, 4, 8)))
    with pytest.raises(ValueError, match="'ensemble'"):
        crps(forecast, truth, ensemble_dim="ensemble")
