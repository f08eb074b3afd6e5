"""The classic samplers (ddpm, pc) on the tiny fixture GenCast, through the model and the CLI."""

import numpy as np
import xarray as xr
from conftest import load_nc

from mindgencast.data.normalization import NormalizationStats
from mindgencast.forecaster import Forecaster
from mindgencast.model import GenCast


def test_pc_and_ddpm_sample_gencast(tiny_checkpoint, fixture_dir, reference_graph_builder):
    f = Forecaster(
        GenCast(tiny_checkpoint, graph_builder=reference_graph_builder), NormalizationStats.load(fixture_dir / "stats")
    )
    inputs, forcings = load_nc(fixture_dir / "inputs.nc"), load_nc(fixture_dir / "forcings.nc")
    template = load_nc(fixture_dir / "targets.nc") * np.nan
    args = (inputs, template, forcings)
    pc = f.sample(*args, seed=1, sampler="pc", num_steps=2, sampler_params={"snr": 0.2, "n_corrector_steps": 1})
    assert np.isfinite(pc["temperature"]).all()
    nan_in = np.isnan(inputs["sea_surface_temperature"]).any("time")
    assert (np.isnan(pc["sea_surface_temperature"].isel(time=0)) == nan_in).all()
    # With one noise level every sampler's only step returns D(sigma_0 z; sigma_0): ddpm == euler exactly.
    ddpm = f.sample(*args, seed=1, sampler="ddpm", num_steps=1)
    euler = f.sample(*args, seed=1, sampler="euler", num_steps=1)
    xr.testing.assert_equal(ddpm, euler)
    # ... and the corrector changed the two-step pc sample (it is not the one-step one)
    assert float(abs(pc["temperature"] - ddpm["temperature"]).max()) > 1e-3


def test_forecast_cli_with_ddpm_and_bad_pc_parameters(fixture_dir, tmp_path):
    from mindgencast.cli.main import main

    ckpt = tmp_path / "ckpt"
    assert main(["convert", str(fixture_dir / "checkpoint.npz"), str(ckpt), "--grid", "10"]) == 0
    base = [
        "forecast",
        "--checkpoint",
        str(ckpt),
        "--stats",
        str(fixture_dir / "stats"),
        "--init",
        str(fixture_dir / "source.nc"),
        "--init-time",
        "2019-03-29T12",
        "--steps",
        "1",
        "--members",
        "2",
        "--sampler-steps",
        "2",
        "--no-progress",
    ]
    out = tmp_path / "fc.nc"
    assert main(base + ["--sampler", "ddpm", "--sampler-param", "variance=beta", "--out", str(out)]) == 0
    ds = xr.open_dataset(out, decode_timedelta=True)
    assert ds.attrs["sampler"] == "ddpm" and ds.attrs["sampler_params"] == "variance=beta"
    assert np.isfinite(ds["2m_temperature"]).all()
    assert float(abs(ds["2m_temperature"].isel(member=0) - ds["2m_temperature"].isel(member=1)).max()) > 0
    bad = tmp_path / "bad.nc"
    for params in (["--sampler-param", "snr=0"], ["--sampler-param", "steps=3"], ["--sampler-param", "snr"]):
        assert main(base + ["--sampler", "pc", *params, "--out", str(bad)]) == 2
        assert not bad.exists() and not list(tmp_path.glob("bad*"))
