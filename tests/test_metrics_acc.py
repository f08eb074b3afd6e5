"""Anomaly correlation coefficient: limits, invariances and a direct weighted computation."""

import numpy as np
import pytest
import xarray as xr

from mindgencast.metrics.acc import anomaly_correlation
from mindgencast.metrics.latitude_weights import latitude_weights


def _fields(seed=0):
    rng = np.random.default_rng(seed)
    lat, lon = np.linspace(-90, 90, 7), np.arange(0, 360, 45.0)
    coords = {"lead_time": [1, 2], "lat": lat, "lon": lon}
    clim = xr.DataArray(rng.normal(280, 10, (7, 8)), dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    truth = clim + xr.DataArray(rng.normal(0, 3, (2, 7, 8)), dims=("lead_time", "lat", "lon"), coords=coords)
    noise = xr.DataArray(rng.normal(0, 3, (2, 7, 8)), dims=("lead_time", "lat", "lon"), coords=coords)
    return truth.transpose("lead_time", "lat", "lon"), clim, noise


def test_limits_and_invariances():
    truth, clim, noise = _fields()
    np.testing.assert_allclose(anomaly_correlation(truth, truth, clim), 1.0, rtol=1e-12)
    np.testing.assert_allclose(anomaly_correlation(2 * clim - truth, truth, clim), -1.0, rtol=1e-12)
    # amplitude of the anomaly does not matter; a one-member ensemble equals its member
    scaled = clim + 0.3 * (truth - clim)
    np.testing.assert_allclose(anomaly_correlation(scaled, truth, clim), 1.0, rtol=1e-12)
    member = (truth + noise).expand_dims(member=1)
    np.testing.assert_allclose(
        anomaly_correlation(member, truth, clim), anomaly_correlation(truth + noise, truth, clim)
    )


def test_matches_direct_weighted_correlation():
    truth, clim, noise = _fields(1)
    forecast = truth + noise
    w = latitude_weights(truth["lat"]).values[:, None] * np.ones((1, 8))
    for t in range(2):
        f = forecast.values[t] - clim.values
        o = truth.values[t] - clim.values
        expected = (w * f * o).sum() / np.sqrt((w * f * f).sum() * (w * o * o).sum())
        assert float(anomaly_correlation(forecast, truth, clim).isel(lead_time=t)) == pytest.approx(expected, rel=1e-12)
    assert 0 < float(anomaly_correlation(forecast, truth, clim, average_dims=("lead_time",))) < 1


def test_missing_grid_dims_are_named():
    truth, clim, _ = _fields()
    with pytest.raises(ValueError, match="climatology needs dims"):
        anomaly_correlation(truth, truth, clim.isel(lon=0))
