"""The README's main job: `mindgencast demo` runs end to end (quick sizes)."""

import numpy as np
import xarray as xr

from mindgencast.cli.main import main


def test_quick_demo_end_to_end(tmp_path, capsys):
    """The default demo forecasts with the shipped checkpoint (no training) and scores it."""
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "GenCast" in printed and "oracle" in printed and "shipped checkpoint" in printed
    for name in ("forecast.nc", "oracle.nc", "truth.nc", "scores_vs_oracle.nc", "scores_vs_persistence.nc",
                 "plots/scorecard_vs_oracle.png"):
        assert (out / name).exists(), name
    assert not (out / "checkpoint").exists() and not (out / "store.h5").exists()  # nothing trained
    forecast = xr.open_dataset(out / "forecast.nc", decode_timedelta=True)
    assert forecast.sizes["member"] == 3 and forecast.sizes["lead_time"] == 2
    assert "gencast_tiny_wide_synthetic" in forecast.attrs.get("checkpoint", "")
    scores = xr.open_dataset(out / "scores_vs_oracle.nc", decode_timedelta=True)
    persistence = xr.open_dataset(out / "scores_vs_persistence.nc", decode_timedelta=True)
    for var, level in (("geopotential", 500), ("temperature", 850), ("2m_temperature", None)):
        sel = dict(region="global", **({"level": level} if level else {}))
        crps = scores[var].sel(**sel, metric="crps").values
        oracle = scores[var].sel(**sel, metric="baseline_crps").values
        assert np.isfinite(crps).all() and (crps > 0).all()
        # the exact conditional ensemble is the best forecast there is: it must beat persistence
        assert (oracle < persistence[var].sel(**sel, metric="baseline_crps").values).all(), var
        # the shipped model beats persistence and is within 30 % of the oracle at +12 h and +24 h
        assert (crps < persistence[var].sel(**sel, metric="baseline_crps").values).all(), var
        assert (crps < 1.3 * oracle).all(), (var, crps, oracle)
    # a second run refuses to overwrite the outputs; the shipped model is for the seed-0 world
    assert main(["demo", "--quick", "--out", str(out)]) == 2
    assert main(["demo", "--quick", "--seed", "3", "--out", str(tmp_path / "seed3")]) == 2
    assert "--train" in capsys.readouterr().err


def test_quick_demo_with_graphcast_compares_on_the_same_forecast(tmp_path):
    """`demo --graphcast`: GraphCast trained on the same world; its CRPS in the table is its MAE
    against the same truth (recomputed here), and GenCast's CRPS equals the GenCast-only score."""
    import csv

    from mindgencast.metrics.latitude_weights import area_mean

    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--train", "--graphcast", "--out", str(out)]) == 0
    # --graphcast trains both models (its 6-hourly world is not the shipped model's)
    for name in ("checkpoint/metrics.csv", "checkpoint/loss.png", "store.h5"):
        assert (out / name).exists(), name
    from mindgencast.checkpoint import load_checkpoint

    assert "step 10" in load_checkpoint(out / "checkpoint").description  # the training run's last checkpoint
    for name in ("graphcast_run/metrics.csv", "forecast_graphcast.nc", "scores_gencast_vs_graphcast.nc",
                 "gencast_vs_graphcast.csv", "plots/gencast_vs_graphcast.png"):
        assert (out / name).exists(), name
    with open(out / "gencast_vs_graphcast.csv") as f:
        rows = list(csv.DictReader(f))
    z500 = {int(r["lead_hours"]): r for r in rows if r["variable"] == "geopotential" and r["level"] == "500"}
    assert sorted(z500) == [12, 24]
    graphcast = xr.load_dataset(out / "forecast_graphcast.nc", decode_timedelta=True)
    assert graphcast.sizes["member"] == 1 and graphcast.sizes["lead_time"] == 4  # 6-h steps
    truth = xr.load_dataset(out / "truth.nc")
    for lead, row in z500.items():
        at = graphcast["geopotential"].sel(level=500, lead_time=np.timedelta64(lead, "h")).isel(member=0)
        valid = at["valid_time"].values
        error = abs(at - truth["geopotential"].sel(level=500, time=valid).drop_vars("time"))
        np.testing.assert_allclose(float(row["graphcast_crps_mae"]), float(area_mean(error)), rtol=1e-4)
        rmse = float(np.sqrt(area_mean(error**2)))
        np.testing.assert_allclose(float(row["graphcast_rmse"]), rmse, rtol=1e-4)
    gencast_only = xr.open_dataset(out / "scores_vs_persistence.nc", decode_timedelta=True)["geopotential"]
    np.testing.assert_allclose([float(z500[h]["gencast_crps"]) for h in (12, 24)],
                               gencast_only.sel(region="global", level=500, metric="crps").values, rtol=1e-5)
