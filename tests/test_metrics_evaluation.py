"""evaluate(): alignment with the truth, baselines, and scores equal to the metric functions."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.metrics import Region, crps, ensemble_mean_rmse
from mindgencast.metrics.baselines import climatology_baseline, persistence_baseline
from mindgencast.metrics.evaluation import evaluate

LAT = np.linspace(-90, 90, 13)
LON = np.arange(0, 360, 30.0)
LEVELS = [500, 850]
LEADS = pd.to_timedelta([12, 24, 36], "h")


def _truth(years=(2019, 2020, 2021), seed=0):
    """6-hourly truth for 20 days of March in each year: 2m_temperature and geopotential."""
    rng = np.random.default_rng(seed)
    times = pd.DatetimeIndex(np.concatenate([pd.date_range(f"{y}-03-01", periods=80, freq="6h") for y in years]))
    return xr.Dataset(
        {
            "2m_temperature": (("time", "lat", "lon"), 280 + rng.normal(size=(times.size, LAT.size, LON.size))),
            "geopotential": (("time", "level", "lat", "lon"), rng.normal(size=(times.size, 2, LAT.size, LON.size))),
        },
        coords={"time": times, "level": LEVELS, "lat": LAT, "lon": LON},
    )


def _forecast(truth, init, members=4, noise=1.0, seed=1):
    """Members = truth at the valid times + noise (a deliberately over-dispersive ensemble)."""
    rng = np.random.default_rng(seed)
    init = pd.Timestamp(init)
    at_valid = truth.sel(time=init + LEADS).rename(time="lead_time").assign_coords(lead_time=LEADS)
    ds = xr.Dataset({v: at_valid[v] + noise * xr.DataArray(rng.normal(size=(members, *at_valid[v].shape)),
                                                           dims=("member", *at_valid[v].dims))
                     for v in at_valid.data_vars})
    return ds.transpose("member", "lead_time", ...).assign_coords(
        init_time=init.to_datetime64(), valid_time=("lead_time", (init + LEADS).to_numpy()))


def test_scores_equal_the_metric_functions():
    truth = _truth()
    inits = ["2020-03-02", "2020-03-05T12"]
    forecasts = [_forecast(truth, t, seed=i) for i, t in enumerate(inits)]
    scores = evaluate(forecasts, truth, regions=["global", "tropics"])
    assert scores["geopotential"].dims == ("metric", "region", "lead_time", "level")
    assert scores["2m_temperature"].dims == ("metric", "region", "lead_time")
    f = xr.concat([fc.drop_vars("valid_time") for fc in forecasts], dim="init_time")
    t = xr.concat([truth.sel(time=pd.Timestamp(i) + LEADS).rename(time="lead_time").assign_coords(lead_time=LEADS)
                   for i in inits], dim="init_time")
    for v in ("2m_temperature", "geopotential"):
        got = scores[v].sel(region="global")
        np.testing.assert_allclose(got.sel(metric="crps").values, crps(f[v], t[v]).mean("init_time").values, rtol=1e-10)
        mse = ensemble_mean_rmse(f[v], t[v]) ** 2
        np.testing.assert_allclose(got.sel(metric="ensemble_mean_rmse").values,
                                   np.sqrt(mse.mean("init_time")).values, rtol=1e-10)
        hist = scores[f"{v}_rank_histogram"].sel(region="global")
        assert hist.sizes["rank"] == 5
        points = 2 * LAT.size * LON.size
        np.testing.assert_array_equal(hist.sum("rank").values, points)
    assert scores.attrs["num_init_times"] == 2 and scores.attrs["ensemble_size"] == 4


def test_missing_valid_times_are_named():
    truth = _truth()
    forecast = _forecast(truth, "2020-03-02")
    short = truth.drop_sel(time=[pd.Timestamp("2020-03-03T00")])
    with pytest.raises(ValueError, match=r"valid times 2020-03-03 00:00:00"):
        evaluate(forecast, short)


def test_missing_variables_and_levels_are_named():
    truth = _truth()
    forecast = _forecast(truth, "2020-03-02")
    with pytest.raises(ValueError, match="missing from the truth: geopotential"):
        evaluate(forecast, truth.drop_vars("geopotential"))
    with pytest.raises(ValueError, match=r"levels in the forecast but missing from the truth: \[850\]"):
        evaluate(forecast, truth.sel(level=[500]))
    with pytest.raises(ValueError, match="requested variables missing from the forecast: 10m_u_component_of_wind"):
        evaluate(forecast, truth, variables=["2m_temperature", "10m_u_component_of_wind"])


def test_grid_mismatch_is_refused_unless_a_subset_is_allowed():
    truth = _truth()
    forecast = _forecast(truth, "2020-03-02").isel(lat=slice(None, None, 2), lon=slice(None, None, 3))
    with pytest.raises(ValueError, match=r"grid .*differs.*--regrid-subset"):
        evaluate(forecast, truth)
    scores = evaluate(forecast, truth, regrid_subset=True, regions=["global"])
    on_subset = truth.isel(lat=slice(None, None, 2), lon=slice(None, None, 3))
    direct = evaluate(forecast, on_subset, regions=["global"])
    np.testing.assert_allclose(scores["geopotential"].values, direct["geopotential"].values)
    shifted = forecast.assign_coords(lon=forecast["lon"] + 5.0)
    with pytest.raises(ValueError, match="lon values are not on the truth grid: \\[5.0"):
        evaluate(shifted, truth, regrid_subset=True)


def test_wb2_names_descending_latitudes_and_signed_longitudes_are_accepted():
    truth = _truth()
    forecast = _forecast(truth, "2020-03-02")
    expected = evaluate(forecast, truth)["geopotential"].values
    wb2 = truth.isel(lat=slice(None, None, -1)).rename(lat="latitude", lon="longitude")
    np.testing.assert_allclose(evaluate(forecast, wb2)["geopotential"].values, expected)
    # -180..180 longitudes (ERA5 from some sources) are the same points.
    east_west = truth.assign_coords(lon=(truth["lon"] + 180) % 360 - 180).sortby("lon")
    assert east_west["lon"].values[0] == -180
    np.testing.assert_allclose(evaluate(forecast, east_west)["geopotential"].values, expected)


def test_persistence_baseline_is_the_truth_at_init_time():
    truth = _truth()
    forecast = _forecast(truth, "2020-03-02")
    base = persistence_baseline(forecast, truth)
    assert base.sizes["member"] == 1
    for lead in LEADS:
        np.testing.assert_array_equal(base["geopotential"].sel(lead_time=lead).isel(member=0).values,
                                      truth["geopotential"].sel(time=pd.Timestamp("2020-03-02")).values)
    scores = evaluate(forecast, truth, baseline="persistence", regions=["global"])
    # One member: CRPS is the mean absolute error of persistence.
    at_valid = truth["2m_temperature"].sel(time=pd.Timestamp("2020-03-02") + LEADS)
    mae = abs(at_valid.values - truth["2m_temperature"].sel(time=pd.Timestamp("2020-03-02")).values)
    from mindgencast.metrics import latitude_weights

    direct = (mae * latitude_weights(LAT).values[:, None]).mean((-1, -2))
    np.testing.assert_allclose(scores["2m_temperature"].sel(region="global", metric="baseline_crps").values, direct)
    assert np.isnan(scores["2m_temperature"].sel(metric="baseline_ensemble_spread")).all()


def test_climatology_baseline_uses_other_years_at_the_same_hour():
    truth = _truth()
    forecast = _forecast(truth, "2020-03-05T06")
    base = climatology_baseline(forecast, truth, window_days=3)
    # 2019 and 2021 each give dates within 3 days (7 per year at 06 UTC) -> 14 members.
    assert base.sizes["member"] == 14
    for lead in LEADS:
        values = base["2m_temperature"].sel(lead_time=lead).values
        valid = pd.Timestamp("2020-03-05T06") + lead
        pool = truth["2m_temperature"].sel(time=[t for t in truth.time.values if pd.Timestamp(t).year != 2020
                                                 and pd.Timestamp(t).hour == valid.hour
                                                 and abs(pd.Timestamp(t).dayofyear - valid.dayofyear) <= 3])
        assert pool.sizes["time"] == 14
        assert sorted(values[:, 0, 0]) == sorted(pool.values[:, 0, 0])
    with pytest.raises(ValueError, match="only 0 other year"):
        climatology_baseline(forecast, _truth(years=(2020,)))


def test_forecast_file_baseline_and_ignored_fields():
    truth = _truth()
    forecast = _forecast(truth, "2020-03-02")
    forecast["2m_temperature_ensemble_mean"] = forecast["2m_temperature"].mean("member")
    forecast["land_sea_mask"] = xr.zeros_like(truth["2m_temperature"].isel(time=0, drop=True))
    deterministic = _forecast(truth, "2020-03-02", members=1, seed=7).isel(member=0, drop=True)
    scores = evaluate(forecast, truth, baseline=deterministic, regions=["global"])
    assert set(scores.data_vars) == {"2m_temperature", "geopotential", "2m_temperature_rank_histogram",
                                     "geopotential_rank_histogram"}
    assert "baseline_crps" in scores["metric"].values
    with pytest.raises(ValueError, match="no forecast initialised at 2020-03-02 00:00:00"):
        evaluate(forecast, truth, baseline=_forecast(truth, "2020-03-03"))


def test_brier_scores_with_climatological_thresholds():
    from mindgencast.metrics import climatological_thresholds

    truth = _truth()
    forecast = _forecast(truth, "2020-03-02")
    thresholds = climatological_thresholds(truth, [0.9, 0.1])
    scores = evaluate(forecast, truth, baseline="persistence", regions=["global"],
                      metrics=("crps", "brier_score"), thresholds=thresholds)
    names = list(scores["metric"].values)
    assert names == ["crps", "brier_score_q90", "brier_score_q10", "baseline_crps", "baseline_brier_score_q90",
                     "baseline_brier_score_q10", "brier_skill_score_q90", "brier_skill_score_q10"]
    s = scores["geopotential"].sel(region="global")
    np.testing.assert_allclose(s.sel(metric="brier_skill_score_q90"),
                               1 - s.sel(metric="brier_score_q90") / s.sel(metric="baseline_brier_score_q90"))


def test_batching_by_memory_does_not_change_scores(monkeypatch):
    """Scoring one lead time at a time (tiny budget) or all at once gives the same numbers."""
    import mindgencast.metrics.evaluation as evaluation

    truth = _truth()
    forecasts = [_forecast(truth, t, seed=i) for i, t in enumerate(["2020-03-02", "2020-03-04", "2020-03-06T18"])]
    whole = evaluate(forecasts, truth, baseline="persistence", regions=["global"])
    assert len(list(evaluation._batches(forecasts, "geopotential"))) == 1
    monkeypatch.setattr(evaluation, "_BATCH_BYTES", 1)
    assert len(list(evaluation._batches(forecasts, "geopotential"))) == 3 * len(LEADS)
    split = evaluate(forecasts, truth, baseline="persistence", regions=["global"])
    for v in whole.data_vars:
        np.testing.assert_allclose(split[v].values, whole[v].values, rtol=1e-12)


def test_missing_values_are_left_out():
    """NaN truth points (e.g. SST over land) drop out of every score instead of counting as wrong."""
    truth = _truth()
    forecast = _forecast(truth, "2020-03-02")
    holes = truth.copy(deep=True)
    holes["2m_temperature"][:, :4, :] = np.nan  # southern rows missing
    scores = evaluate(forecast, holes, regions=["global"])
    reference = evaluate(forecast, truth, regions=[Region("global", lat_min=LAT[4])])
    np.testing.assert_allclose(scores["2m_temperature"].values, reference["2m_temperature"].values, rtol=1e-12)
    np.testing.assert_array_equal(scores["2m_temperature_rank_histogram"].values,
                                  reference["2m_temperature_rank_histogram"].values)


def test_score_files_round_trip(tmp_path):
    """NetCDF round trip is exact; the CSV holds every score once, rank bins as metrics."""
    from mindgencast.metrics.score_files import scores_to_dataframe, write_scores

    truth = _truth()
    scores = evaluate(_forecast(truth, "2020-03-02"), truth, regions=["global", "tropics"])
    write_scores(scores, tmp_path / "s.nc", tmp_path / "s.csv")
    xr.testing.assert_identical(xr.load_dataset(tmp_path / "s.nc", decode_timedelta=True), scores)
    table = pd.read_csv(tmp_path / "s.csv")
    expected_rows = sum(da.size for da in scores.data_vars.values())
    assert len(table) == expected_rows == len(scores_to_dataframe(scores))
    row = table.query("variable == 'geopotential' and level == 500 and region == 'tropics' "
                      "and lead_time_hours == 36 and metric == 'rank_histogram_2'")
    assert float(row["value"].iloc[0]) == float(scores["geopotential_rank_histogram"].sel(
        region="tropics", level=500, lead_time=pd.Timedelta("36h"), rank=2))
    assert table.query("variable == '2m_temperature'")["level"].isna().all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.nc"]  # no temporaries left


def test_init_time_as_a_dimension_equals_separate_files():
    truth = _truth()
    forecasts = [_forecast(truth, t, seed=i) for i, t in enumerate(["2020-03-02", "2020-03-03T06"])]
    stacked = xr.concat(forecasts, dim="init_time")
    assert stacked["valid_time"].dims == ("init_time", "lead_time")
    separate = evaluate(forecasts, truth, regions=["global"])
    together = evaluate(stacked, truth, regions=["global"])
    xr.testing.assert_allclose(together, separate)
    with pytest.raises(ValueError, match="repeat init times 2020-03-02 00:00:00;"):
        evaluate([stacked, forecasts[0]], truth)
