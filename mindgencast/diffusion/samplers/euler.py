"""First-order Euler sampler for the probability-flow ODE.

Karras et al. 2022 (EDM), eq. 1 and eq. 3 with sigma(t) = t (Song et al. 2021, eq. 13):
dx / dsigma = (x - D(x; sigma)) / sigma, integrated with Euler's method
(EDM Algorithm 1 without the Heun correction):

    x_{i+1} = x_i + (sigma_{i+1} - sigma_i) (x_i - D(x_i; sigma_i)) / sigma_i

The global error is O(h): it halves when the number of steps doubles.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mindgencast.diffusion.schedules import check_sigmas

__all__ = ["sample_euler"]


def sample_euler(
    denoise: Callable[[Any, float], Any],
    sigmas: Any,
    x: Any,
    noise_source: Optional[Callable[[Any, str, int], Any]] = None,
) -> Any:
    """Integrates the probability-flow ODE from sigmas[0] to sigmas[-1] with Euler's method.

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
        x_denoised = denoise(x, sigma)
        if sigma_next == 0:
            # The Euler step to sigma = 0 is exactly the denoised state.
            x = x_denoised
            continue
        next_over_current = sigma_next / sigma
        # x + (sigma_next - sigma) (x - D) / sigma, written as a convex combination.
        x = next_over_current * x + (1 - next_over_current) * x_denoised
    return x
