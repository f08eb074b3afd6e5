"""Forecaster (physical units) reproduces DeepMind's wrapped GenCast: normalisation, loss, samples.

Sample tolerances (issue 4, fixture README): deterministic <= 1e-4 and stochastic <= 1e-3 in
units of stddev_by_level; the reference's own float32 replay without XLA's fused multiply-add
differs from its stochastic sample by 5.39e-4 (spurious churn at gamma = 0 steps).
"""

import dataclasses

import numpy as np
import pytest
from conftest import load_nc

from mindgencast.data.normalization import NormalizationStats
from mindgencast.diffusion.noise_source import ReplayNoiseSource
from mindgencast.forecaster import Forecaster
from mindgencast.model import GenCast


@pytest.fixture(scope="module")
def stats(fixture_dir):
    return NormalizationStats.load(fixture_dir / "stats")


@pytest.fixture(scope="module")
def physical(fixture_dir):
    return {n: load_nc(fixture_dir / f"{n}.nc") for n in ("inputs", "targets", "forcings")}


def _forecaster(ckpt, stats, builder, **sampler_changes):
    cfg = dataclasses.replace(ckpt.sampler_config, **sampler_changes)
    return Forecaster(GenCast(ckpt, sampler_config=cfg, graph_builder=builder), stats)


def _max_err_in_stddev(pred, ref, stats):
    worst = 0.0
    for v in ref.data_vars:
        s = stats.statistic("stddev_by_level", ref[v])
        assert np.array_equal(np.isnan(pred[v].transpose(*ref[v].dims).values), np.isnan(ref[v].values)), v
        worst = max(worst, float((abs(pred[v] - ref[v]) / s).max(skipna=True)))
    return worst


def test_normalised_values_match_the_fixture(tiny_checkpoint, stats, physical, fixture_dir, reference_graph_builder):
    f = _forecaster(tiny_checkpoint, stats, reference_graph_builder)
    norm_inputs, norm_forcings, _ = f.normalized_conditioning(physical["inputs"], physical["forcings"])
    for got, name in ((norm_inputs, "denoiser_inputs"), (norm_forcings, "denoiser_forcings")):
        ref = load_nc(fixture_dir / f"{name}.nc")
        for v in ref.data_vars:
            np.testing.assert_allclose(got[v].transpose(*ref[v].dims).values, ref[v].values, rtol=1e-5, atol=1e-5)
    residuals = f.normalized_targets(physical["inputs"], physical["targets"])
    ref = load_nc(fixture_dir / "loss_targets.nc")
    for v in ref.data_vars:
        np.testing.assert_allclose(residuals[v].transpose(*ref[v].dims).values, ref[v].values, rtol=1e-5,
                                   atol=1e-5, err_msg=v)


def test_physical_loss_matches_wrapped_jax_loss(tiny_checkpoint, stats, physical, fixture_dir,
                                                reference_graph_builder):
    f = _forecaster(tiny_checkpoint, stats, reference_graph_builder)
    loss = f.loss(physical["inputs"], physical["targets"], physical["forcings"],
                  noise_levels=np.load(fixture_dir / "loss_noise_levels.npy"), noise=load_nc(fixture_dir / "loss_noise.nc"))
    np.testing.assert_allclose(loss, np.load(fixture_dir / "loss.npy"), rtol=1e-5)


def test_deterministic_sample_replays_jax(tiny_checkpoint, stats, physical, fixture_dir, reference_graph_builder):
    f = _forecaster(tiny_checkpoint, stats, reference_graph_builder, stochastic_churn_rate=0.0)
    source = ReplayNoiseSource.from_initial_noise(load_nc(fixture_dir / "sampler_initial_noise.nc"))
    template = physical["targets"] * np.nan
    pred = f.sample(physical["inputs"], template, physical["forcings"], noise_source=source)
    ref = load_nc(fixture_dir / "sample_deterministic.nc")
    assert int(np.isnan(pred["sea_surface_temperature"]).sum()) == 490
    assert _max_err_in_stddev(pred, ref, stats) <= 1e-4


def test_stochastic_sample_replays_jax(tiny_checkpoint, stats, physical, fixture_dir, reference_graph_builder):
    f = _forecaster(tiny_checkpoint, stats, reference_graph_builder)
    source = ReplayNoiseSource(load_nc(fixture_dir / "sampler_noise_draws.nc"))
    pred = f.sample(physical["inputs"], physical["targets"] * np.nan, physical["forcings"], noise_source=source)
    assert _max_err_in_stddev(pred, load_nc(fixture_dir / "sample_stochastic.nc"), stats) <= 1e-3


def test_seeded_sampling_is_reproducible(tiny_checkpoint, stats, physical, reference_graph_builder):
    f = _forecaster(tiny_checkpoint, stats, reference_graph_builder)
    args = (physical["inputs"], physical["targets"] * np.nan, physical["forcings"])
    a = f.sample(*args, seed=3, num_steps=4)
    b = f.sample(*args, seed=3, num_steps=4)
    c = f.sample(*args, seed=4, num_steps=4)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values)
    assert float(abs(a["temperature"] - c["temperature"]).max()) > 1e-3


@pytest.mark.parametrize("sampler", ["heun", "euler", "edm_sde", "euler_maruyama"])
def test_every_sampler_runs_through_the_model(sampler, tiny_checkpoint, stats, physical, reference_graph_builder):
    f = _forecaster(tiny_checkpoint, stats, reference_graph_builder)
    pred = f.sample(physical["inputs"], physical["targets"] * np.nan, physical["forcings"], sampler=sampler,
                    num_steps=3)
    assert set(pred.data_vars) == set(physical["targets"].data_vars)
    assert np.isfinite(pred["temperature"]).all()
    # SST NaN exactly where an input frame is NaN, as DeepMind's NaNCleaner
    nan_in = np.isnan(physical["inputs"]["sea_surface_temperature"]).any("time")
    assert (np.isnan(pred["sea_surface_temperature"].isel(time=0)) == nan_in).all()


def test_reference_float32_churn_replays_jax_to_float_precision(tiny_checkpoint, stats, physical, fixture_dir,
                                                                reference_graph_builder):
    """With churn_arithmetic="xla_float32" the churn noise scales equal the fixture's
    draw_effective_scale bit for bit, and the stochastic sample matches as tightly as the
    deterministic one (README's own replay: 6.01e-6 stddev units)."""
    from mindgencast.diffusion.samplers.churn import churn_noise_std
    from mindgencast.diffusion.schedules import churn_gammas, sampler_sigmas

    draws = load_nc(fixture_dir / "sampler_noise_draws.nc")
    cfg = tiny_checkpoint.sampler_config
    sigmas = sampler_sigmas(cfg)
    gammas = churn_gammas(sigmas, cfg.stochastic_churn_rate, cfg.churn_min_noise_level, cfg.churn_max_noise_level)
    scales = [churn_noise_std(s, g, cfg.noise_level_inflation_factor, "xla_float32")[1]
              for s, g in zip(sigmas[:-1], gammas)]
    effective = draws["draw_effective_scale"].values[draws["draw_kind"].values == "churn"]
    np.testing.assert_array_equal(np.float32(scales), np.float32(effective))
    assert scales[14] > 1e-4 and churn_noise_std(sigmas[14], gammas[14], 1.05)[1] == 0.0

    f = _forecaster(tiny_checkpoint, stats, reference_graph_builder)
    pred = f.sample(physical["inputs"], physical["targets"] * np.nan, physical["forcings"],
                    noise_source=ReplayNoiseSource(draws), churn_arithmetic="xla_float32")
    err = _max_err_in_stddev(pred, load_nc(fixture_dir / "sample_stochastic.nc"), stats)
    assert err <= 2e-5, err
