"""DPM-Solver++(2S) with EDM stochastic churn: GenCast's sampler.

Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
Models" (arXiv 2211.01095), Algorithm 1 (DPM-Solver++(2S), data prediction, r = 1/2),
specialised to EDM's sigma(t) = t, s(t) = 1 (alpha_t = 1, lambda_t = -log sigma_t), and
combined with the churn of Karras et al. 2022 (EDM) Algorithm 2. Reference: GenCast's
``dpm_solver_plus_plus_2s.Sampler``. One step i (sigma_i -> sigma_{i+1}):

    sigma_hat, x_hat = churn(x_i, sigma_i, gamma_i)                      (EDM Alg. 2 churn)
    D_i     = D(x_hat; sigma_hat)
    s_i     = sqrt(sigma_hat sigma_{i+1})             geometric midpoint, i.e. r = 1/2
    u_i     = (s_i / sigma_hat) x_hat + (1 - s_i / sigma_hat) D_i
    x_{i+1} = (sigma_{i+1} / sigma_hat) x_hat + (1 - sigma_{i+1} / sigma_hat) D(u_i; s_i)

(with alpha = 1 the exponential-integrator weights sigma_{i+1}/sigma and 1 - e^{-h} reduce
to these convex combinations). When sigma_{i+1} = 0 the step returns D_i, the
first-order (Euler) step to 0: the denoiser is never asked to denoise at sigma = 0, where it
was not trained (the reference evaluates it there and discards the result).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mindgencast.diffusion.samplers.churn import apply_churn
from mindgencast.diffusion.schedules import check_sigmas, churn_gammas

__all__ = ["sample_dpmpp_2s"]


def sample_dpmpp_2s(
    denoise: Callable[[Any, float], Any],
    sigmas: Any,
    x: Any,
    noise_source: Optional[Callable[[Any, str, int], Any]] = None,
    *,
    s_churn: float = 0.0,
    s_tmin: float = 0.0,
    s_tmax: float = float("inf"),
    s_noise: float = 1.0,
    churn_arithmetic: str = "exact",
) -> Any:
    """Runs DPM-Solver++(2S) with churn from noise level sigmas[0] down to sigmas[-1].

    Args:
      denoise: D(x; sigma) -> estimate of the clean state, same structure as x.
      sigmas: decreasing schedule [N + 1] (usually ending with 0; see schedules.check_sigmas).
      x: initial state at noise level sigmas[0] (e.g. sigma_0 * unit noise); numpy array or
        xarray.Dataset, only + - * with floats are used.
      noise_source: ``noise_source(template, "churn", step)`` -> unit-variance noise like x;
        required when s_churn > 0, then called once per step, in step order.
      s_churn: S_churn (GenCast: stochastic_churn_rate); 0 gives the deterministic ODE solver.
      s_tmin, s_tmax: churn only at sigma_i in [s_tmin, s_tmax] (churn_min/max_noise_level).
      s_noise: S_noise (noise_level_inflation_factor).
      churn_arithmetic: "exact" or "xla_float32" (see churn.churn_noise_std).

    Returns:
      The state at sigmas[-1] (the sample when the schedule ends with 0), same structure as x.
    """
    sigmas = check_sigmas(sigmas)
    gammas = churn_gammas(sigmas, s_churn, s_tmin, s_tmax)
    if s_churn > 0 and noise_source is None:
        raise ValueError("a noise_source is needed for stochastic churn (s_churn > 0)")
    for i, (sigma, sigma_next) in enumerate(zip(sigmas[:-1], sigmas[1:])):
        if s_churn > 0:
            x, sigma = apply_churn(x, sigma, float(gammas[i]), s_noise, noise_source, i, churn_arithmetic)
        x_denoised = denoise(x, sigma)
        if sigma_next == 0:
            # Last step: Euler to sigma = 0 is exactly the denoised state.
            x = x_denoised
            continue
        sigma_mid = (sigma * sigma_next) ** 0.5
        mid_over_current = sigma_mid / sigma
        x_mid = mid_over_current * x + (1 - mid_over_current) * x_denoised
        next_over_current = sigma_next / sigma
        x = next_over_current * x + (1 - next_over_current) * denoise(x_mid, sigma_mid)
    return x
