"""EDM's stochastic sampler: churn, then a Heun step (EDM Algorithm 2).

Karras et al. 2022 (EDM), Algorithm 2; it discretises the family of reverse SDEs of EDM
eq. 6 (probability-flow ODE plus Langevin noise injection) by alternating

    sigma_hat, x_hat = churn(x_i, sigma_i, gamma_i)                 (see churn.py)
    d_i     = (x_hat - D(x_hat; sigma_hat)) / sigma_hat
    x_{i+1} = x_hat + (sigma_{i+1} - sigma_hat) d_i                  Euler predictor
    if sigma_{i+1} != 0:                                             Heun corrector
        d'_i    = (x_{i+1} - D(x_{i+1}; sigma_{i+1})) / sigma_{i+1}
        x_{i+1} = x_hat + (sigma_{i+1} - sigma_hat) (d_i + d'_i) / 2

with gamma_i = min(S_churn / N, sqrt(2) - 1) for sigma_i in [S_tmin, S_tmax], else 0.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mindgencast.diffusion.samplers.churn import apply_churn
from mindgencast.diffusion.samplers.heun import heun_step
from mindgencast.diffusion.schedules import check_sigmas, churn_gammas

__all__ = ["sample_edm_sde"]


def sample_edm_sde(
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
    """Runs EDM Algorithm 2 from sigmas[0] down to sigmas[-1].

    Args:
      denoise: D(x; sigma) -> clean-state estimate, same structure as x.
      sigmas: decreasing schedule [N + 1] (usually ending with 0).
      x: state at noise level sigmas[0]; numpy array or xarray.Dataset.
      noise_source: ``noise_source(template, "churn", step)`` -> unit-variance noise like x;
        required when s_churn > 0, then called once per step.
      s_churn, s_tmin, s_tmax, s_noise: EDM's S_churn, S_tmin, S_tmax, S_noise.
        s_churn = 0 gives EDM Algorithm 1 (the Heun sampler).
      churn_arithmetic: "exact" or "xla_float32" (see churn.churn_noise_std).

    Returns:
      The state at sigmas[-1], same structure as x.
    """
    sigmas = check_sigmas(sigmas)
    gammas = churn_gammas(sigmas, s_churn, s_tmin, s_tmax)
    if s_churn > 0 and noise_source is None:
        raise ValueError("a noise_source is needed for stochastic churn (s_churn > 0)")
    for i, (sigma, sigma_next) in enumerate(zip(sigmas[:-1], sigmas[1:])):
        if s_churn > 0:
            x, sigma = apply_churn(x, sigma, float(gammas[i]), s_noise, noise_source, i, churn_arithmetic)
        x = heun_step(denoise, x, sigma, sigma_next)  # from the raised level sigma_hat
    return x
