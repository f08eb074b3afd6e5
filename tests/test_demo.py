"""The README's main job: `mindgencast demo` runs end to end (quick sizes)."""

import numpy as np
import xarray as xr

from mindgencast.cli.main import main


def test_quick_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "GenCast" in printed and "oracle" in printed
    for name in ("forecast.nc", "oracle.nc", "truth.nc", "scores_vs_oracle.nc", "scores_vs_persistence.nc",
                 "checkpoint/metrics.csv", "checkpoint/loss.png", "plots/scorecard_vs_oracle.png"):
        assert (out / name).exists(), name
    from mindgencast.checkpoint import load_checkpoint

    assert "step 10" in load_checkpoint(out / "checkpoint").description  # the training run's last checkpoint
    forecast = xr.open_dataset(out / "forecast.nc", decode_timedelta=True)
    assert forecast.sizes["member"] == 3 and forecast.sizes["lead_time"] == 2
    scores = xr.open_dataset(out / "scores_vs_oracle.nc", decode_timedelta=True)
    z500 = scores["geopotential"].sel(region="global", level=500)
    crps, oracle = z500.sel(metric="crps").values, z500.sel(metric="baseline_crps").values
    assert np.isfinite(crps).all() and (crps > 0).all()
    # the exact conditional ensemble is the best forecast there is: it must beat persistence
    persistence = xr.open_dataset(out / "scores_vs_persistence.nc", decode_timedelta=True)["geopotential"]
    assert (oracle < persistence.sel(region="global", level=500, metric="baseline_crps").values).all()
    # even 10 training steps give a forecast better than persistence for z500 (observed 147 vs 214)
    assert (crps < persistence.sel(region="global", level=500, metric="baseline_crps").values).all()
    # a second run refuses to overwrite the outputs
    assert main(["demo", "--quick", "--out", str(out)]) == 2
