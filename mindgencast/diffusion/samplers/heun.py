"""Deterministic Heun sampler for the probability-flow ODE (EDM Algorithm 1).

Karras et al. 2022 (EDM), eq. 1 with sigma(t) = t and eq. 3 for the score: the
probability-flow ODE (Song et al. 2021, eq. 13) becomes

    dx / dsigma = (x - D(x; sigma)) / sigma

and Algorithm 1 integrates it with Heun's 2nd-order method (trapezoidal correction):

    d_i     = (x_i - D(x_i; sigma_i)) / sigma_i
    x_{i+1} = x_i + (sigma_{i+1} - sigma_i) d_i                               Euler predictor
    if sigma_{i+1} != 0:
        d'_i    = (x_{i+1} - D(x_{i+1}; sigma_{i+1})) / sigma_{i+1}
        x_{i+1} = x_i + (sigma_{i+1} - sigma_i) (d_i + d'_i) / 2             Heun corrector

The step to sigma = 0 stays Euler (1st order), which equals D(x_i; sigma_i).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mindgencast.diffusion.schedules import check_sigmas

__all__ = ["sample_heun", "heun_step"]


def sample_heun(
    denoise: Callable[[Any, float], Any],
    sigmas: Any,
    x: Any,
    noise_source: Optional[Callable[[Any, str, int], Any]] = None,
) -> Any:
    """Integrates the probability-flow ODE from sigmas[0] to sigmas[-1] with Heun's method.

    Args:
      denoise: D(x; sigma) -> clean-state estimate, same structure as x.
      sigmas: decreasing schedule [N + 1] (usually ending with 0).
      x: state at noise level sigmas[0]; numpy array or xarray.Dataset.
      noise_source: unused (deterministic); accepted so all samplers share one signature.

    Returns:
      The state at sigmas[-1], same structure as x; a deterministic function of x.
    """
    sigmas = check_sigmas(sigmas)
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:]):
        x = heun_step(denoise, x, sigma, sigma_next)
    return x


def heun_step(denoise: Callable[[Any, float], Any], x: Any, sigma: float, sigma_next: float) -> Any:
    """One step of EDM Algorithm 1 (lines 4-8): Euler with the PF-ODE slope
    d = (x - D(x; sigma)) / sigma, then the trapezoidal (2nd-order) correction; the step to
    sigma_next = 0 stays Euler, which lands exactly on D(x; sigma)."""
    x_denoised = denoise(x, sigma)
    if sigma_next == 0:
        # Euler step to sigma = 0: x + (0 - sigma) (x - D) / sigma == D, without rounding.
        return x_denoised
    d = (x - x_denoised) / sigma
    x_euler = x + (sigma_next - sigma) * d
    d_next = (x_euler - denoise(x_euler, sigma_next)) / sigma_next
    return x + (sigma_next - sigma) * 0.5 * (d + d_next)
