"""DDPM ancestral sampling (Ho et al. 2020, Algorithm 2) on a VE noise-level schedule.

A DDPM step t -> t - 1 draws x_{t-1} from the Gaussian posterior q(x_{t-1} | x_t, x_0) with
x_0 replaced by the network's estimate (Ho eqs. 6, 7, 11). Divided by the signal scale
(x_VE = x_VP / sqrt(alpha_bar), sigma = sqrt((1 - alpha_bar) / alpha_bar); see
``parameterisations``) the chain is x_VE,t = x_VE,t-1 + sqrt(sigma_t^2 - sigma_{t-1}^2) n
and the step from sigma_i to sigma_{i+1} < sigma_i reads

    mean      = D_i + (sigma_{i+1} / sigma_i)^2 (x_i - D_i),           D_i = D(x_i; sigma_i)
    posterior:  var = sigma_{i+1}^2 (sigma_i^2 - sigma_{i+1}^2) / sigma_i^2   (beta_tilde_t / alpha_bar_{t-1})
    beta:       var = (sigma_i^2 - sigma_{i+1}^2) (1 + sigma_{i+1}^2) / (1 + sigma_i^2)   (beta_t / alpha_bar_{t-1})
    x_{i+1}   = mean + sqrt(var) z_i

which is exactly Ho et al.'s eq. 11 for the betas beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}
with alpha_bar = 1 / (1 + sigma^2). With ``ddpm.ddpm_sigmas(betas)`` it reproduces
Algorithm 2 (tests/test_diffusion_ddpm.py); with any other decreasing schedule (e.g.
GenCast's rho schedule of N levels) it is the DDPM whose T = N levels are those sigmas.
The step to sigma = 0 returns D_i (Algorithm 2's last step adds no noise).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mindgencast.diffusion.schedules import check_sigmas

__all__ = ["sample_ddpm", "DDPM_VARIANCES"]

DDPM_VARIANCES = ("posterior", "beta")


def sample_ddpm(
    denoise: Callable[[Any, float], Any],
    sigmas: Any,
    x: Any,
    noise_source: Optional[Callable[[Any, str, int], Any]] = None,
    *,
    variance: str = "posterior",
) -> Any:
    """Ancestral sampling from sigmas[0] down to sigmas[-1] (Ho et al. Algorithm 2, VE coordinates).

    Args:
      denoise: D(x; sigma) -> clean-state estimate, same structure as x.
      sigmas: decreasing schedule [N + 1] (usually ending with 0), e.g. ``ddpm.ddpm_sigmas(betas)``.
      x: state at noise level sigmas[0]; numpy array or xarray.Dataset.
      noise_source: ``noise_source(x, "churn", i)`` -> unit noise z_i (required), once per
        step except a final step to sigma = 0.
      variance: "posterior" (sigma_t^2 = beta_tilde_t, default) or "beta" (sigma_t^2 = beta_t),
        Ho et al.'s two choices (sec. 3.2); "beta" assumes unit-variance data, as DDPM does.

    Returns:
      The state at sigmas[-1], same structure as x.
    """
    sigmas = check_sigmas(sigmas)
    if variance not in DDPM_VARIANCES:
        raise ValueError(f"ddpm variance must be one of {DDPM_VARIANCES}, got {variance!r}")
    if noise_source is None:
        raise ValueError("ddpm ancestral sampling is stochastic: pass a noise_source")
    for i, (sigma, sigma_next) in enumerate(zip(sigmas[:-1], sigmas[1:])):
        x_denoised = denoise(x, sigma)
        if sigma_next == 0:
            x = x_denoised
            continue
        ratio = (sigma_next / sigma) ** 2
        if variance == "posterior":
            var = sigma_next**2 * (1.0 - ratio)
        else:
            var = (sigma**2 - sigma_next**2) * (1.0 + sigma_next**2) / (1.0 + sigma**2)
        x = x_denoised + ratio * (x - x_denoised) + noise_source(x, "churn", i) * var**0.5
    return x
