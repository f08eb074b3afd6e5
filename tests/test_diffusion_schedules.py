"""Noise schedules, churn rates and EDM preconditioning vs the fixture and the EDM identities."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

from mindgencast.config import NoiseConfig, SamplerConfig
from mindgencast.diffusion import preconditioning as pc
from mindgencast.diffusion.samplers import churn_noise_std
from mindgencast.diffusion.schedules import (
    check_sigmas,
    churn_gammas,
    noise_schedule,
    rho_inverse_cdf,
    sampler_sigmas,
    training_noise_levels,
)

# Printed (3 significant digits) in tests/data/gencast_tiny/README.md, "Sampler parity".
README_SIGMAS = [80, 62.1, 47.7, 36.3, 27.3, 20.3, 14.9, 10.8, 7.67, 5.37, 3.68, 2.48, 1.62, 1.04, 0.642, 0.384,
                 0.22, 0.12, 0.0622, 0.03, 0]  # fmt: skip
README_GAMMAS = [0.125] * 14 + [0.0] * 6

# The fixture's sampler config (README "Configuration"), equal to SamplerConfig's defaults.
FIXTURE_SAMPLER = SamplerConfig(80.0, 0.03, 20, 7.0, 2.5, 0.75, float("inf"), 1.05)


def _load(path):
    return xr.load_dataset(path, decode_timedelta=True)


def test_sampler_schedule_matches_fixture_readme():
    sigmas = sampler_sigmas(FIXTURE_SAMPLER)
    assert sigmas.shape == (21,) and sigmas[-1] == 0
    # README values are rounded to 3 significant digits: rtol 5e-3 covers the rounding.
    np.testing.assert_allclose(sigmas, README_SIGMAS, rtol=5e-3, atol=0)
    assert sigmas[0] == pytest.approx(80.0, rel=1e-12) and sigmas[-2] == pytest.approx(0.03, rel=1e-12)


def test_churn_gammas_match_fixture_readme():
    sigmas = sampler_sigmas(FIXTURE_SAMPLER)
    gammas = churn_gammas(sigmas, 2.5, 0.75, float("inf"))
    np.testing.assert_array_equal(gammas, README_GAMMAS)  # 2.5 / 20 = 0.125 exactly


def test_churn_std_matches_fixture_draw_scales(fixture_dir):
    """draw_nominal_scale in sampler_noise_draws.nc is the reference's exact-arithmetic factor."""
    draws = _load(fixture_dir / "sampler_noise_draws.nc")
    sigmas = sampler_sigmas(FIXTURE_SAMPLER)
    gammas = churn_gammas(sigmas, 2.5, 0.75, float("inf"))
    kinds, steps = draws["draw_kind"].values, draws["draw_iteration"].values
    nominal = draws["draw_nominal_scale"].values
    assert kinds[0] == "init" and nominal[0] == np.float32(sigmas[0])
    churn = np.flatnonzero(kinds == "churn")
    ours = [churn_noise_std(sigmas[i], gammas[i], 1.05)[1] for i in steps[churn]]
    # Stored as float32: relative rounding 6e-8.
    np.testing.assert_allclose(ours, nominal[churn], rtol=2e-7, atol=0)
    assert np.count_nonzero(ours) == 14


def test_num_steps_override_and_endpoints():
    sigmas = sampler_sigmas(FIXTURE_SAMPLER, num_steps=25)
    assert sigmas.shape == (26,)
    assert sigmas[0] == pytest.approx(80.0) and sigmas[24] == pytest.approx(0.03) and sigmas[25] == 0
    assert np.all(np.diff(sigmas) < 0)
    assert churn_gammas(sigmas, 2.5, 0.75, np.inf)[0] == pytest.approx(0.1)  # 2.5 / 25
    # The cap sqrt(2) - 1 applies when S_churn / N is larger.
    assert churn_gammas(sigmas, 40.0, 0.0, np.inf)[0] == pytest.approx(np.sqrt(2) - 1)


def test_rho_inverse_cdf_properties():
    u = np.linspace(0, 1, 101)
    levels = rho_inverse_cdf(0.02, 88.0, 7.0, u)
    assert levels[0] == pytest.approx(0.02) and levels[-1] == pytest.approx(88.0)
    assert np.all(np.diff(levels) > 0)
    # (sigma^(1/rho) - sigma_min^(1/rho)) is linear in u: the definition of EDM eq. 5.
    root = levels ** (1 / 7)
    np.testing.assert_allclose(np.diff(root), np.diff(root)[0], rtol=1e-9)


def test_training_noise_levels_reproduce_fixture(fixture_dir):
    """The fixture's training sigmas are rho_inverse_cdf(u) for some u in [0, 1]: inverting and
    re-applying ours must give them back, and the median is where EDM eq. 5 puts it."""
    config = NoiseConfig()
    stored = np.load(fixture_dir / "loss_noise_levels.npy").astype(np.float64)
    low, high = 0.02 ** (1 / 7), 88.0 ** (1 / 7)
    u = (stored ** (1 / 7) - low) / (high - low)
    assert np.all((u > 0) & (u < 1))
    np.testing.assert_allclose(training_noise_levels(config, u), stored, rtol=1e-12)
    assert training_noise_levels(config, 0.5) == pytest.approx(((low + high) / 2) ** 7)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(max_noise_level=80.0, min_noise_level=0.0, num_noise_levels=20, rho=7.0), "min_value"),
        (dict(max_noise_level=1.0, min_noise_level=2.0, num_noise_levels=20, rho=7.0), "min_value"),
        (dict(max_noise_level=80.0, min_noise_level=0.03, num_noise_levels=0, rho=7.0), "num_noise_levels"),
        (dict(max_noise_level=80.0, min_noise_level=0.03, num_noise_levels=20, rho=0.0), "rho"),
    ],
)
def test_bad_schedule_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        noise_schedule(**kwargs)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="cdf"):
        rho_inverse_cdf(0.02, 88.0, 7.0, 1.5)
    with pytest.raises(ValueError, match="decreasing"):
        check_sigmas([1.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="positive"):
        check_sigmas([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="s_churn"):
        churn_gammas([2.0, 1.0, 0.0], -1.0, 0.0, np.inf)
    with pytest.raises(ValueError, match="num_noise_levels"):
        sampler_sigmas(dataclasses.replace(FIXTURE_SAMPLER, num_noise_levels=0))


@pytest.mark.parametrize("sigma_data", [1.0, 0.5, 2.0])
def test_preconditioning_identities(sigma_data):
    sigma = np.array([0.0, 0.02, 0.3, 1.0, 5.0, 88.0])
    c_skip, c_out, c_in = (f(sigma, sigma_data) for f in (pc.c_skip, pc.c_out, pc.c_in))
    # Unit-variance network inputs: Var(c_in (y + n)) = c_in^2 (sigma_data^2 + sigma^2) = 1.
    np.testing.assert_allclose(c_in**2 * (sigma**2 + sigma_data**2), 1.0, rtol=1e-12)
    # Unit-variance training target (EDM eq. 8 / App. B.6):
    # (sigma_data^2 (1 - c_skip)^2 + c_skip^2 sigma^2) / c_out^2 = 1 where c_out > 0.
    target_variance = (sigma_data**2 * (1 - c_skip) ** 2 + c_skip**2 * sigma**2)[1:] / c_out[1:] ** 2
    np.testing.assert_allclose(target_variance, 1.0, rtol=1e-12)
    np.testing.assert_allclose(c_skip + c_out**2 / sigma_data**2, 1.0, rtol=1e-12)
    np.testing.assert_allclose(c_skip, sigma_data**2 * c_in**2, rtol=1e-12)
    np.testing.assert_allclose(c_out, sigma * sigma_data * c_in, rtol=1e-12)
    assert c_skip[0] == 1.0 and c_out[0] == 0.0  # D(x; 0) = x
    weights = pc.loss_weighting(sigma, sigma_data)
    assert weights[0] == np.inf and pc.loss_weighting(0.0) == np.inf
    np.testing.assert_allclose(weights[1:], c_out[1:] ** -2, rtol=1e-12)


def test_preconditioning_numbers_gencast():
    # GenCast's sigma_data = 1 at sigma = 2: c_skip = 1/5, c_out = 2/sqrt(5), c_in = 1/sqrt(5), lambda = 5/4.
    assert pc.c_skip(2.0) == pytest.approx(0.2)
    assert pc.c_out(2.0) == pytest.approx(2 / np.sqrt(5))
    assert pc.c_in(2.0) == pytest.approx(1 / np.sqrt(5))
    assert pc.loss_weighting(2.0) == pytest.approx(1.25)


def test_preconditioned_denoise_matches_fixture(fixture_dir):
    """denoiser_output = c_skip noisy + c_out raw (fixture README: max abs diff 4.77e-07)."""
    noisy = _load(fixture_dir / "noisy_targets.nc")
    raw = _load(fixture_dir / "denoiser_raw_output.nc")
    expected = _load(fixture_dir / "denoiser_output.nc")
    sigma = xr.DataArray(np.load(fixture_dir / "noise_levels.npy"), dims=("batch",))
    seen = {}

    def network(x_in, sigma_in):
        seen["x_in"], seen["sigma"] = x_in, sigma_in
        return raw

    denoised = pc.preconditioned_denoise(network, noisy, sigma)
    for name in expected.data_vars:
        np.testing.assert_allclose(
            seen["x_in"][name].values, (noisy[name] * (sigma**2 + 1) ** -0.5).transpose(*noisy[name].dims).values
        )
        # float32 rounding of |values| <= 8.13: a few ulp.
        np.testing.assert_allclose(denoised[name].values, expected[name].values, rtol=0, atol=2e-6)
