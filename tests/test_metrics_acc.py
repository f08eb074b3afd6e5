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


def _multi_year_truth():
    """6-hourly truth over 10 days in each of 3 years, 1 variable, on a 5x8 grid."""
    rng = np.random.default_rng(3)
    times = np.concatenate(
        [
            np.arange(f"{y}-03-25T00", f"{y}-04-04T00", np.timedelta64(6, "h"), dtype="datetime64[ns]")
            for y in (2017, 2018, 2019)
        ]
    )
    lat, lon = np.linspace(-90, 90, 5), np.arange(0, 360, 45.0)
    values = 280 + rng.normal(0, 5, (times.size, 5, 8))
    return xr.Dataset(
        {"2m_temperature": (("time", "lat", "lon"), values)}, coords={"time": times, "lat": lat, "lon": lon}
    )


def test_evaluate_acc_uses_truth_climatology():
    from mindgencast.metrics.baselines import climatology_baseline
    from mindgencast.metrics.evaluation import evaluate

    truth = _multi_year_truth()
    init = np.datetime64("2019-03-30T00", "ns")
    leads = np.array([6, 12], dtype="timedelta64[h]").astype("timedelta64[ns]")
    verifying = truth.sel(time=init + leads)["2m_temperature"].values
    rng = np.random.default_rng(4)
    fc_values = (verifying + rng.normal(0, 3, verifying.shape))[None]
    forecast = xr.Dataset(
        {"2m_temperature": (("member", "lead_time", "lat", "lon"), fc_values)},
        coords={
            "lead_time": leads,
            "lat": truth.lat,
            "lon": truth.lon,
            "init_time": init,
            "valid_time": ("lead_time", init + leads),
        },
    )
    scores = evaluate(forecast, truth, metrics=("acc", "crps"), regions=("global",))
    acc = scores["2m_temperature"].sel(metric="acc", region="global")
    clim = climatology_baseline(forecast, truth).mean("member")["2m_temperature"]
    obs = xr.DataArray(verifying, dims=("lead_time", "lat", "lon"), coords=clim.coords)
    expected = anomaly_correlation(forecast["2m_temperature"].isel(member=0).drop_vars("valid_time"), obs, clim)
    np.testing.assert_allclose(acc.values, expected.values, rtol=1e-10)
    assert (0.3 < acc.values).all() and (acc.values < 1).all()
    perfect = forecast.copy(data={"2m_temperature": verifying[None]})
    np.testing.assert_allclose(
        evaluate(perfect, truth, metrics=("acc",), regions=("global",))["2m_temperature"].sel(metric="acc").values,
        1.0,
        rtol=1e-12,
    )
