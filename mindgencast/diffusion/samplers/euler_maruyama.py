"""Euler-Maruyama on the reverse-time variance-exploding SDE.

Song et al. 2021, "Score-Based Generative Modeling through Stochastic Differential
Equations": the VE forward SDE (eq. 9 in the continuous limit, sec. 3.4)
dx = sqrt(d[sigma^2(t)] / dt) dw has the reverse-time SDE (eq. 6)

    dx = -(d[sigma^2] / dt) grad_x log p_t(x) dt + sqrt(d[sigma^2] / dt) dw_bar.

With EDM's sigma(t) = t, d[sigma^2]/dt = 2 sigma, and the score from the denoiser
(EDM eq. 3), grad log p(x; sigma) = (D(x; sigma) - x) / sigma^2. Discretisation: one
Euler-Maruyama step from sigma_i down to sigma_{i+1} (time step dt = sigma_{i+1} - sigma_i < 0,
so the drift term gains a + sign and the Brownian increment has variance |dt|):

    x_{i+1} = x_i + 2 sigma_i (sigma_i - sigma_{i+1}) (D(x_i; sigma_i) - x_i) / sigma_i^2
                  + sqrt(2 sigma_i (sigma_i - sigma_{i+1})) z_i,         z_i ~ unit-variance noise

The noise z_i is drawn as ``noise_source(x, "churn", i)``. The step to sigma = 0 returns
D(x; sigma_{N-1}) (the posterior mean, no noise), like the other samplers, since the drift
coefficient 2 (sigma_i - 0) / sigma_i = 2 would overshoot. Weak order 1: needs many more
steps than the 2nd-order samplers.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mindgencast.diffusion.schedules import check_sigmas

__all__ = ["sample_euler_maruyama"]


def sample_euler_maruyama(
    denoise: Callable[[Any, float], Any],
    sigmas: Any,
    x: Any,
    noise_source: Optional[Callable[[Any, str, int], Any]] = None,
) -> Any:
    """Integrates the reverse VE SDE from sigmas[0] to sigmas[-1] with Euler-Maruyama.

    Args:
      denoise: D(x; sigma) -> clean-state estimate, same structure as x.
      sigmas: decreasing schedule [N + 1] (usually ending with 0).
      x: state at noise level sigmas[0]; numpy array or xarray.Dataset.
      noise_source: ``noise_source(template, "churn", step)`` -> unit-variance noise like x
        (required), called once per step except a final step to sigma = 0.

    Returns:
      The state at sigmas[-1], same structure as x.
    """
    sigmas = check_sigmas(sigmas)
    if noise_source is None:
        raise ValueError("euler_maruyama is stochastic: pass a noise_source")
    for i, (sigma, sigma_next) in enumerate(zip(sigmas[:-1], sigmas[1:])):
        x_denoised = denoise(x, sigma)
        if sigma_next == 0:
            x = x_denoised
            continue
        variance_step = 2.0 * sigma * (sigma - sigma_next)  # d[sigma^2] over this step
        x = x + (variance_step / sigma**2) * (x_denoised - x) + noise_source(x, "churn", i) * variance_step**0.5
    return x
