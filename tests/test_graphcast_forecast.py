"""`mindgencast forecast --checkpoint GRAPHCAST` and `mindgencast evaluate` on its output."""

import pathlib

import numpy as np
import pytest
import xarray as xr

from mindgencast.cli.main import main

GC_DIR = pathlib.Path(__file__).parent / "data" / "graphcast_tiny"
TISR = "toa_incident_solar_radiation"


@pytest.fixture(scope="module")
def forecast_file(tmp_path_factory):
    """A 2-step GraphCast forecast from batch element 0 of the fixture's source data, with
    TISR removed from the file so that the forecast computes it from the valid times."""
    tmp = tmp_path_factory.mktemp("gc_forecast")
    source = xr.load_dataset(GC_DIR / "source.nc").isel(batch=[0]).drop_vars(TISR)
    init = tmp / "init.nc"
    source.to_netcdf(init)
    out = tmp / "forecast.nc"
    init_time = str(source["datetime"].values[0, 1])  # lead 0 = the fixture's second frame
    rc = main(
        [
            "forecast",
            "--checkpoint",
            str(GC_DIR / "checkpoint.npz"),
            "--stats",
            str(GC_DIR / "stats"),
            "--init",
            str(init),
            "--init-time",
            init_time,
            "--steps",
            "2",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    return out, source


def test_forecast_matches_reference_rollout(forecast_file):
    out, _ = forecast_file
    fc = xr.load_dataset(out)
    assert fc.sizes["member"] == 1 and fc.sizes["lead_time"] == 2
    assert fc.attrs["title"] == "GraphCast deterministic forecast"
    np.testing.assert_array_equal(fc["lead_time"].values / np.timedelta64(1, "h"), [6, 12])
    ref = xr.load_dataset(GC_DIR / "rollout_output.nc").isel(batch=0)
    std = xr.load_dataset(GC_DIR / "stats" / "stddev_by_level.nc")
    worst = 0.0
    for name in ref.data_vars:
        ours = fc[name].isel(member=0).rename(lead_time="time").transpose(*ref[name].dims)
        scale = np.float64(1.0) * std[name].values
        if "level" in std[name].dims:  # (time, level, lat, lon)
            scale = std[name].sel(level=ref["level"].values).values[:, None, None]
        worst = max(worst, float((np.abs(ours.values - ref[name].values) / scale).max()))
    # TISR is recomputed here (float64) while the reference read DeepMind's float32 values
    # (8.7e-6 of the maximum apart): 1e-4 stddev units is the rollout tolerance.
    assert worst < 1e-4, worst


def test_members_rejected_and_nothing_written(tmp_path, forecast_file, capsys):
    _, source = forecast_file
    init = tmp_path / "init.nc"
    source.to_netcdf(init)
    out = tmp_path / "fc.nc"
    rc = main(
        [
            "forecast",
            "--checkpoint",
            str(GC_DIR / "checkpoint.npz"),
            "--stats",
            str(GC_DIR / "stats"),
            "--init",
            str(init),
            "--members",
            "4",
            "--steps",
            "1",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert rc != 0 and "GraphCast is deterministic" in capsys.readouterr().err
    assert not any(tmp_path.glob("fc.nc*"))


def test_evaluate_scores_deterministic_forecast(tmp_path, forecast_file):
    out, source = forecast_file
    truth = source.isel(batch=0).assign_coords(time=source["datetime"].values[0]).drop_vars("datetime")
    truth_path = tmp_path / "truth.nc"
    truth.to_netcdf(truth_path)
    scores_path = tmp_path / "scores.nc"
    assert (
        main(
            [
                "evaluate",
                "--forecast",
                str(out),
                "--truth",
                str(truth_path),
                "--out",
                str(scores_path),
                "--variables",
                "2m_temperature",
                "temperature",
                "--regions",
                "global",
            ]
        )
        == 0
    )
    scores = xr.load_dataset(scores_path)
    # a single member: spread term 0, so CRPS is the area-weighted MAE, and RMSE of the
    # "ensemble mean" is the forecast's RMSE; both recomputed here from the files
    from mindgencast.metrics.latitude_weights import area_mean

    fc = xr.load_dataset(out)["2m_temperature"].isel(member=0)
    obs = truth["2m_temperature"].sel(time=fc["valid_time"].values)
    err = fc.values - obs.values
    err = xr.DataArray(err, dims=("lead_time", "lat", "lon"), coords={"lat": fc["lat"], "lon": fc["lon"]})
    mae = area_mean(abs(err)).values
    rmse = np.sqrt(area_mean(err**2).values)
    t2m = scores["2m_temperature"].sel(region="global")
    np.testing.assert_allclose(t2m.sel(metric="crps").values, mae, rtol=1e-5)
    np.testing.assert_allclose(t2m.sel(metric="ensemble_mean_rmse").values, rmse, rtol=1e-5)
    assert (mae > 0).all() and (rmse > mae).all()
