"""DDPM's schedule as noise levels, and epsilon / score / D, against each other and an exact Gaussian.

For y ~ N(mu, s^2) and x = y + sigma n (VE), everything is known in closed form:
D = E[y | x] = (s^2 x + sigma^2 mu) / (s^2 + sigma^2), score = -(x - mu) / (s^2 + sigma^2),
E[n | x] = sigma (x - mu) / (s^2 + sigma^2); in VP coordinates x_VP = sqrt(alpha_bar) x the
marginal is N(sqrt(alpha_bar) mu, alpha_bar s^2 + 1 - alpha_bar).
"""

import numpy as np
import pytest

from mindgencast.diffusion import ddpm
from mindgencast.diffusion import parameterisations as P

MU, S = 0.7, 0.4


@pytest.fixture
def gaussian_case():
    rng = np.random.default_rng(0)
    sigma = np.array([0.05, 0.5, 3.0, 40.0])[:, None]
    x = MU + np.sqrt(S**2 + sigma**2) * rng.standard_normal((4, 100))
    denoised = (S**2 * x + sigma**2 * MU) / (S**2 + sigma**2)
    score = -(x - MU) / (S**2 + sigma**2)
    epsilon = sigma * (x - MU) / (S**2 + sigma**2)
    return x, sigma, denoised, score, epsilon


def test_every_conversion_agrees_with_the_exact_gaussian(gaussian_case):
    x, sigma, denoised, score, epsilon = gaussian_case
    np.testing.assert_allclose(P.score_from_denoiser(x, denoised, sigma), score, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(P.epsilon_from_denoiser(x, denoised, sigma), epsilon, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(P.denoiser_from_epsilon(x, epsilon, sigma), denoised, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(P.denoiser_from_score(x, score, sigma), denoised, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(P.score_from_epsilon(epsilon, sigma), score, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(P.epsilon_from_score(score, sigma), epsilon, rtol=1e-10, atol=1e-12)


def test_round_trips(gaussian_case):
    x, sigma, denoised, score, epsilon = gaussian_case
    eps_back = P.epsilon_from_score(P.score_from_epsilon(epsilon, sigma), sigma)
    np.testing.assert_allclose(eps_back, epsilon, rtol=1e-12)
    d_back = P.denoiser_from_score(x, P.score_from_denoiser(x, denoised, sigma), sigma)
    np.testing.assert_allclose(d_back, denoised, rtol=1e-9, atol=1e-9)
    alpha_bar = np.array([0.999, 0.5, 1e-4])
    np.testing.assert_allclose(P.alpha_bar_from_sigma(P.sigma_from_alpha_bar(alpha_bar)), alpha_bar, rtol=1e-12)
    np.testing.assert_allclose(P.ve_to_vp(P.vp_to_ve(x[:3], alpha_bar[:, None]), alpha_bar[:, None]), x[:3])


def test_vp_state_has_the_vp_marginal_and_score(gaussian_case):
    x, sigma, denoised, _, _ = gaussian_case
    alpha_bar = P.alpha_bar_from_sigma(sigma)
    x_vp = P.ve_to_vp(x, alpha_bar)
    var_vp = alpha_bar * S**2 + 1 - alpha_bar
    exact_vp_score = -(x_vp - np.sqrt(alpha_bar) * MU) / var_vp
    np.testing.assert_allclose(P.vp_score_from_denoiser(x_vp, denoised, alpha_bar), exact_vp_score, rtol=1e-9)
    # EDM's c_in(sigma) x with sigma_data = 1 is the VP state
    from mindgencast.diffusion.preconditioning import c_in

    np.testing.assert_allclose(c_in(sigma) * x, x_vp, rtol=1e-12)


def test_ddpm_forward_process_in_ve_coordinates():
    """q_sample / sqrt(alpha_bar) is x_0 + sigma epsilon with sigma from the schedule (Ho eq. 4)."""
    rng = np.random.default_rng(1)
    betas = ddpm.linear_betas(1000)
    a_bar = ddpm.alpha_bars(betas)
    assert betas[0] == 1e-4 and betas[-1] == 0.02 and np.all(np.diff(a_bar) < 0)
    t = np.array([0, 99, 499, 999])
    x_0, eps = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    x_t = ddpm.q_sample(x_0, a_bar[t][:, None], eps)
    sigma = P.sigma_from_alpha_bar(a_bar[t])[:, None]
    np.testing.assert_allclose(P.vp_to_ve(x_t, a_bar[t][:, None]), x_0 + sigma * eps, rtol=1e-10)
    sigmas = ddpm.ddpm_sigmas(betas)
    assert sigmas.shape == (1001,) and sigmas[-1] == 0 and np.all(np.diff(sigmas) < 0)
    np.testing.assert_allclose(sigmas[0], np.sqrt((1 - a_bar[-1]) / a_bar[-1]))
    # posterior variance (Ho eq. 7) is below beta_t and 0 at t = 1
    post = ddpm.posterior_variance(betas)
    assert post[0] == 0 and np.all(post[1:] < betas[1:])


def test_cosine_schedule():
    """alpha_bar_t = f(t)/f(0) (Nichol & Dhariwal eq. 17) wherever beta_t is not clipped."""
    T, s = 200, 0.008
    betas = ddpm.cosine_betas(T, s)
    f = np.cos(0.5 * np.pi * (np.arange(1, T + 1) / T + s) / (1 + s)) ** 2
    f0 = np.cos(0.5 * np.pi * s / (1 + s)) ** 2
    unclipped = np.cumprod(betas < 0.999).astype(bool)
    np.testing.assert_allclose(ddpm.alpha_bars(betas)[unclipped], (f / f0)[unclipped], rtol=1e-10)
    assert betas.max() <= 0.999


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ddpm.linear_betas(0), "positive integer"),
        (lambda: ddpm.linear_betas(10, 0.1, 0.01), "beta_1 <= beta_T"),
        (lambda: ddpm.alpha_bars([0.1, 1.0]), "in \\(0, 1\\)"),
        (lambda: P.sigma_from_alpha_bar(0.0), "alpha_bar must lie"),
        (lambda: ddpm.reverse_step(np.zeros(2), np.zeros(2), 0, [0.1], np.zeros(2)), "t must lie"),
    ],
)
def test_bad_schedules_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
