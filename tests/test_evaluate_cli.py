"""`mindgencast evaluate` end to end on small CF forecast files, and its refusals of bad input."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.cli.main import main
from mindgencast.metrics.evaluation import DEFAULT_METRICS, evaluate

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


def _winter(path, start, end, seed):
    """6-hourly truth from ``start`` to ``end`` (crossing New Year) in WeatherBench2 layout."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, end, freq="6h")
    ds = xr.Dataset(
        {"2m_temperature": (("time", "lat", "lon"), 280 + rng.normal(size=(times.size, LAT.size, LON.size))),
         "geopotential": (("time", "level", "lat", "lon"),
                          5e4 + 100 * rng.normal(size=(times.size, 2, LAT.size, LON.size)))},
        coords={"time": times, "level": np.array([500, 850], np.int32), "lat": LAT, "lon": LON},
    ).astype(np.float32)
    ds.to_netcdf(path)
    return ds


def test_climatology_comes_from_named_files_and_a_short_truth_is_refused(tmp_path, capsys):
    """A 90-day test period crossing New Year used to give a 1-date 'climatology' (lagged persistence)."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    short = _winter(inputs / "test.nc", "2019-11-15", "2020-02-12", seed=1)
    clim = [_winter(inputs / f"train_{y}.nc", f"{y}-12-01", f"{y + 1}-01-31", seed=y) for y in (2017, 2018)]
    _forecast(inputs / "fc.nc", short, "2020-01-05T00")
    out = tmp_path / "out" / "scores.nc"
    argv = ["evaluate", "--forecast", str(inputs / "fc.nc"), "--truth", str(inputs / "test.nc"), "--baseline",
            "climatology", "--out", str(out), "--plots", str(tmp_path / "out" / "plots")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "only 0 other year(s)" in err and "--climatology PATH" in err and "2019-11-15" in err
    assert not (tmp_path / "out").exists()

    clim_files = [str(inputs / f"train_{y}.nc") for y in (2018, 2017)]
    assert main([*argv, "--climatology", *clim_files, "--brier-quantiles", "0.9"]) == 0
    scores = xr.load_dataset(out, decode_timedelta=True)
    assert scores.attrs["climatology_source"] == "train_2017.nc, train_2018.nc"
    assert scores.attrs["brier_thresholds_source"] == "train_2017.nc, train_2018.nc"
    assert scores.attrs["climatology_min_years"] == 2
    # Members in a 15-day window around 5-7 January of 2018 and 2019: calendar years 2017..2019.
    assert scores.attrs["climatology_years_used"] == "2017, 2018, 2019"
    # The scores are those of the library with the climatology files as the climatology.
    from mindgencast.metrics import climatological_thresholds

    source = xr.concat(clim, dim="time")
    expected = evaluate(xr.load_dataset(inputs / "fc.nc", decode_timedelta=True), short, baseline="climatology",
                        climatology=source, metrics=(*DEFAULT_METRICS, "brier_score"),
                        thresholds=climatological_thresholds(source, [0.9]))
    for v in expected.data_vars:
        np.testing.assert_allclose(scores[v].values, expected[v].values, rtol=1e-12)
    assert scores.attrs["baseline_ensemble_size"] == expected.attrs["baseline_ensemble_size"] >= 2 * 31 - 4


def test_several_baselines_in_one_run(files, tmp_path):
    folder, forecasts = files
    out, csv, plots = tmp_path / "scores.nc", tmp_path / "scores.csv", tmp_path / "plots"
    truth = str(folder / "truth.nc")
    argv = ["evaluate", "--forecast", str(forecasts[0]), "--truth", truth, "--baseline", "persistence",
            "climatology", "--out", str(out), "--csv", str(csv), "--plots", str(plots), "--regions", "global",
            "--variables", "geopotential"]
    assert main(argv) == 0
    scores = xr.load_dataset(out, decode_timedelta=True)
    assert list(scores["baseline"].values) == ["persistence", "climatology"]
    assert scores.attrs["baseline"] == "persistence, climatology"
    loaded = xr.load_dataset(forecasts[0], decode_timedelta=True)[["geopotential"]]
    for name in ("persistence", "climatology"):
        alone = evaluate(loaded, xr.load_dataset(truth), baseline=name, regions=["global"])
        np.testing.assert_allclose(scores["geopotential"].sel(baseline=name).values, alone["geopotential"].values,
                                   rtol=1e-12)
        assert (plots / f"scorecard_{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (plots / "scorecard.png").exists()
    table = pd.read_csv(csv, keep_default_na=False)
    crps = table.query("variable == 'geopotential' and level == 500 and lead_time_hours == 12")
    assert sorted(crps.loc[crps.metric == "baseline_crps", "baseline"]) == ["climatology", "persistence"]
    assert list(crps.loc[crps.metric == "crps", "baseline"]) == [""]


def test_several_truth_files_are_one_series(files, tmp_path, capsys):
    folder, forecasts = files
    truth = xr.load_dataset(folder / "truth.nc")
    parts = []
    for year in (2021, 2019, 2020):  # any order
        parts.append(tmp_path / f"truth_{year}.nc")
        truth.sel(time=str(year)).to_netcdf(parts[-1])
    argv = ["evaluate", "--forecast", *map(str, forecasts), "--baseline", "persistence", "climatology",
            "--regions", "global", "--out"]
    assert main([*argv, str(tmp_path / "split.nc"), "--truth", *map(str, parts)]) == 0
    assert main([*argv, str(tmp_path / "one.nc"), "--truth", str(folder / "truth.nc")]) == 0
    split, one = (xr.load_dataset(tmp_path / f"{n}.nc", decode_timedelta=True) for n in ("split", "one"))
    for v in one.data_vars:
        np.testing.assert_array_equal(split[v].values, one[v].values)
    assert split.attrs["truth_files"] == "truth_2019.nc, truth_2020.nc, truth_2021.nc"
    # Overlapping files are refused by name.
    overlap = tmp_path / "overlap.nc"
    truth.sel(time=slice("2020-03-01", "2021-02-26")).to_netcdf(overlap)
    assert main([*argv, str(tmp_path / "bad.nc"), "--truth", *map(str, parts), str(overlap)]) == 2
    assert "repeat or interleave times" in capsys.readouterr().err
    assert not (tmp_path / "bad.nc").exists()
