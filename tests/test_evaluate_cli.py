"""`mindgencast evaluate` end to end on small CF forecast files, and its refusals of bad input."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.cli.main import main
from mindgencast.metrics.evaluation import evaluate

LAT = np.linspace(-90, 90, 10)
LON = np.arange(0, 360, 36.0)
LEADS_H = [12, 24, 36, 48]
INITS = ["2020-03-02T00", "2020-03-03T12"]


def _truth(path, years=(2019, 2020, 2021)):
    rng = np.random.default_rng(0)
    times = pd.DatetimeIndex(np.concatenate([pd.date_range(f"{y}-02-25", periods=60, freq="6h") for y in years]))
    ds = xr.Dataset(
        {
            "2m_temperature": (("time", "lat", "lon"), 280 + rng.normal(size=(times.size, LAT.size, LON.size))),
            "geopotential": (("time", "level", "lat", "lon"),
                             5e4 + 100 * rng.normal(size=(times.size, 2, LAT.size, LON.size))),
        },
        coords={"time": times, "level": np.array([500, 850], np.int32), "lat": LAT, "lon": LON},
    ).astype(np.float32)
    ds.to_netcdf(path)
    return ds


def _forecast(path, truth, init, members=5, seed=0):
    """A forecast file in mindgencast's CF-1.8 layout: lead_time in hours, valid_time, scalar init_time."""
    rng = np.random.default_rng(seed)
    init = pd.Timestamp(init)
    leads = pd.to_timedelta(LEADS_H, "h")
    at_valid = truth.sel(time=init + leads)
    data = {}
    for v, da in at_valid.data_vars.items():
        scale = float(da.std())
        noise = rng.normal(size=(members, *da.shape)) * 0.3 * scale
        data[v] = (("member", "lead_time", *da.dims[1:]), (da.values[None] + noise).astype(np.float32))
    ds = xr.Dataset(
        data,
        coords={"member": np.arange(members, dtype=np.int32), "lead_time": leads, "level": truth.level, "lat": LAT,
                "lon": LON, "init_time": init.to_datetime64(), "valid_time": ("lead_time", (init + leads).to_numpy())},
        attrs={"Conventions": "CF-1.8"},
    )
    ds["2m_temperature_ensemble_mean"] = ds["2m_temperature"].mean("member")
    ds["lead_time"].encoding.update(units="hours", dtype="float64")
    for name in ("valid_time", "init_time"):
        ds[name].encoding.update(units="hours since 1970-01-01 00:00:00", dtype="float64")
    ds.to_netcdf(path)
    return ds


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    truth = _truth(folder / "truth.nc")
    forecasts = [folder / f"fc{i}.nc" for i in range(len(INITS))]
    for i, (path, init) in enumerate(zip(forecasts, INITS)):
        _forecast(path, truth, init, seed=i)
    return folder, forecasts


def _outputs(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.parent.name != "inputs")


def test_end_to_end_scores_table_and_plots(files, tmp_path):
    folder, forecasts = files
    out, csv, plots = tmp_path / "scores.nc", tmp_path / "scores.csv", tmp_path / "plots"
    argv = ["evaluate", "--forecast", *map(str, forecasts), "--truth", str(folder / "truth.nc"), "--baseline",
            "persistence", "--out", str(out), "--csv", str(csv), "--plots", str(plots),
            "--regions", "global", "tropics"]
    assert main(argv) == 0
    scores = xr.load_dataset(out, decode_timedelta=True)
    assert set(scores.data_vars) == {"2m_temperature", "geopotential", "2m_temperature_rank_histogram",
                                     "geopotential_rank_histogram"}
    np.testing.assert_array_equal(scores["lead_time"].values, pd.to_timedelta(LEADS_H, "h").to_numpy())
    # The file holds exactly what the library computes from the same inputs.
    expected = evaluate([xr.load_dataset(p, decode_timedelta=True) for p in forecasts],
                        xr.load_dataset(folder / "truth.nc"), baseline="persistence", regions=["global", "tropics"])
    for v in expected.data_vars:
        np.testing.assert_allclose(scores[v].values, expected[v].values, rtol=1e-12)
    # A 5-member ensemble with 0.3 x climate noise beats persistence of random weather.
    crps = scores["geopotential"].sel(region="global")
    assert (crps.sel(metric="crps") < crps.sel(metric="baseline_crps")).all()
    table = pd.read_csv(csv)
    assert list(table.columns) == ["variable", "level", "region", "lead_time_hours", "metric", "value"]
    n_metrics = scores.sizes["metric"]
    per_region_lead = (1 + 2) * (n_metrics + 6)  # 3 variable/levels x (metrics + 6 rank bins)
    assert len(table) == 2 * len(LEADS_H) * per_region_lead
    row = table.query("variable == 'geopotential' and level == 850 and region == 'tropics' and "
                      "lead_time_hours == 24 and metric == 'ensemble_mean_rmse'")
    assert float(row["value"].iloc[0]) == pytest.approx(float(scores["geopotential"].sel(
        metric="ensemble_mean_rmse", region="tropics", level=850, lead_time=pd.Timedelta("24h"))))
    for name in ("scorecard.png", "crps.png", "rmse.png", "spread_skill.png"):
        assert (plots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_climatology_baseline_and_brier_quantiles(files, tmp_path):
    folder, forecasts = files
    out = tmp_path / "scores.nc"
    argv = ["evaluate", "--forecast", str(forecasts[0]), "--truth", str(folder / "truth.nc"), "--baseline",
            "climatology", "--brier-quantiles", "0.9", "0.1", "--out", str(out)]
    assert main(argv) == 0
    scores = xr.load_dataset(out, decode_timedelta=True)
    assert scores.attrs["baseline"] == "climatology" and scores.attrs["baseline_ensemble_size"] >= 2
    assert {"brier_score_q90", "brier_score_q10", "brier_skill_score_q90"} <= set(scores["metric"].values)


def _bad_truth(folder, tmp_path, change):
    truth = xr.load_dataset(folder / "truth.nc")
    path = tmp_path / "inputs" / "bad_truth.nc"
    path.parent.mkdir(exist_ok=True)
    change(truth).to_netcdf(path)
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.isel(lat=slice(0, 9)), "grid"),
        (lambda t: t.drop_sel(time=[pd.Timestamp("2020-03-04T00")]), "valid times 2020-03-04 00:00:00"),
        (lambda t: t.drop_vars("2m_temperature"), "missing from the truth: 2m_temperature"),
        (lambda t: t.sel(level=[850]), "missing from the truth: [500]"),
    ],
    ids=["grid", "times", "variable", "level"],
)
def test_bad_input_is_named_and_writes_nothing(files, tmp_path, capsys, change, message):
    folder, forecasts = files
    truth = _bad_truth(folder, tmp_path, change)
    argv = ["evaluate", "--forecast", *map(str, forecasts), "--truth", str(truth), "--baseline", "persistence",
            "--out", str(tmp_path / "scores.nc"), "--csv", str(tmp_path / "scores.csv"),
            "--plots", str(tmp_path / "plots")]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert _outputs(tmp_path) == []


def test_regrid_subset_flag(files, tmp_path, capsys):
    """A forecast on every 2nd truth point is refused, then scored with --regrid-subset."""
    folder, forecasts = files
    coarse = tmp_path / "inputs" / "coarse.nc"
    coarse.parent.mkdir()
    full = xr.load_dataset(forecasts[0], decode_timedelta=True)
    full.isel(lat=slice(1, None, 2), lon=slice(0, None, 2)).to_netcdf(coarse)
    argv = ["evaluate", "--forecast", str(coarse), "--truth", str(folder / "truth.nc"), "--out", str(tmp_path / "s.nc")]
    assert main(argv) == 2
    assert "--regrid-subset" in capsys.readouterr().err
    assert _outputs(tmp_path) == []
    assert main([*argv, "--regrid-subset"]) == 0
    assert xr.load_dataset(tmp_path / "s.nc", decode_timedelta=True)["2m_temperature"].notnull().any()


def test_missing_file_is_named(files, tmp_path, capsys):
    folder, forecasts = files
    argv = ["evaluate", "--forecast", str(tmp_path / "nope.nc"), "--truth", str(folder / "truth.nc"), "--out",
            str(tmp_path / "s.nc")]
    assert main(argv) == 2
    assert "forecast file not found" in capsys.readouterr().err


def test_file_from_the_forecast_writer(fixture_dir, tmp_path):
    """A file written by ``run_forecast`` (the real format) scores as computed from its raw arrays."""
    import netCDF4

    from mindgencast.forecast import run_forecast
    from mindgencast.forecast.baselines import DampedPersistence

    inputs = xr.load_dataset(fixture_dir / "inputs.nc", decode_timedelta=True).isel(batch=0)
    targets = xr.load_dataset(fixture_dir / "targets.nc", decode_timedelta=True).isel(batch=0)
    init = np.datetime64("2019-03-29T12:00", "ns")
    path = run_forecast(DampedPersistence(), inputs, targets, tmp_path / "fc.nc", num_steps=3, num_members=4, seed=3,
                        init_time=init, ensemble_stats=True, progress=False)
    with netCDF4.Dataset(path) as nc:
        z500 = np.asarray(nc["geopotential"][:, :, list(nc["level"][:]).index(500)], dtype=np.float64)
        lat = np.asarray(nc["lat"][:], dtype=np.float64)
        valid_hours = np.asarray(nc["valid_time"][:])
    # Truth: member 0 relabelled as the verifying analysis, in WeatherBench2 layout.
    valid = np.datetime64("1970-01-01T00:00", "ns") + (valid_hours * 3600).astype("timedelta64[s]")
    written = xr.load_dataset(path, decode_timedelta=True)
    truth = written[[v for v in written.data_vars if "member" in written[v].dims]].isel(member=0, drop=True)
    truth = truth.swap_dims(lead_time="valid_time").drop_vars(["lead_time", "init_time"]).rename(valid_time="time")
    np.testing.assert_array_equal(truth["time"].values, valid)
    truth.to_netcdf(tmp_path / "truth.nc")
    out = tmp_path / "scores.nc"
    argv = ["evaluate", "--forecast", str(path), "--truth", str(tmp_path / "truth.nc"), "--out", str(out),
            "--regions", "global"]
    assert main(argv) == 0
    scores = xr.load_dataset(out, decode_timedelta=True)
    # <var>_ensemble_mean/_spread and static fields are not scored.
    assert set(scores.data_vars) == {name for v in targets.data_vars for name in (v, f"{v}_rank_histogram")}
    # Independent recomputation: cell areas from sin(bounds) on the 10-degree grid with poles.
    bounds = np.clip(np.concatenate([[lat[0] - 5], (lat[1:] + lat[:-1]) / 2, [lat[-1] + 5]]), -90, 90)
    area = np.diff(np.sin(np.deg2rad(bounds)))
    error = (z500.mean(0) - z500[0]) ** 2  # [lead, lat, lon]
    expected = np.sqrt((error * area[:, None]).sum((-1, -2)) / (area.sum() * error.shape[-1]))
    got = scores["geopotential"].sel(metric="ensemble_mean_rmse", region="global", level=500).values
    np.testing.assert_allclose(got, expected, rtol=1e-6)  # float32 file values, float64 arithmetic
