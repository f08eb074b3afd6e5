"""Stochastic churn: raise the noise level of the state before a solver step.

Karras et al. 2022 (EDM), Algorithm 2 (the churn at the top of each step); GenCast reference
``samplers_utils.apply_stochastic_churn``:

    sigma_hat = sigma_i (1 + gamma_i)
    x_hat     = x_i + S_noise sqrt(sigma_hat^2 - sigma_i^2) eps_i,   eps_i ~ unit-variance noise

S_noise > 1 (GenCast: noise_level_inflation_factor = 1.05) adds slightly more noise than the
denoiser is told about, offsetting the tendency of L2-trained denoisers to over-smooth.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

__all__ = ["CHURN_ARITHMETIC", "churn_noise_std", "apply_churn"]

# "exact": float64 (gamma = 0 adds no noise); "xla_float32": the reference's float32 arithmetic
# on XLA:CPU, whose fused multiply-add leaves ~1e-4 of noise std at gamma = 0 (fixture README).
CHURN_ARITHMETIC = ("exact", "xla_float32")


def churn_noise_std(sigma: float, gamma: float, s_noise: float, arithmetic: str = "exact") -> tuple[float, float]:
    """The raised noise level sigma_hat and the std of the noise to add.

    Args:
      sigma: current noise level sigma_i.
      gamma: churn rate gamma_i of this step (see ``schedules.churn_gammas``).
      s_noise: S_noise, noise inflation factor.
      arithmetic: "exact" (float64) or "xla_float32", which replays DeepMind's reference bit for
        bit: float32 values, and sigma_hat^2 - sigma^2 as one fused multiply-add
        fma(sigma_hat, sigma_hat, -float32(sigma^2)) (reproduces the fixture's
        draw_effective_scale exactly, e.g. 1.13e-4 instead of 0 at the first gamma = 0 step).

    Returns:
      (sigma_hat, S_noise sqrt(sigma_hat^2 - sigma^2)), Python floats.
    """
    if arithmetic not in CHURN_ARITHMETIC:
        raise ValueError(f"churn arithmetic {arithmetic!r} must be one of {CHURN_ARITHMETIC}")
    if arithmetic == "xla_float32":
        f32 = np.float32
        sigma32 = f32(sigma)
        sigma_hat32 = f32(sigma32 * (f32(1.0) + f32(gamma)))
        # the product sigma_hat^2 is exact inside the FMA; only sigma^2 and the result are rounded
        variance = f32(np.float64(sigma_hat32) ** 2 - np.float64(f32(sigma32 * sigma32)))
        return float(sigma_hat32), float(f32(np.sqrt(max(variance, f32(0.0)))) * f32(s_noise))
    sigma_hat = sigma * (1.0 + gamma)
    # sigma_hat^2 - sigma^2 is exactly 0 when gamma = 0 but may round to a tiny negative
    # number (e.g. in float32); clamp so the square root stays real. The reference computes
    # it in float32 where XLA's fused multiply-add leaves ~1e-4 of spurious std at gamma = 0
    # steps (fixture README); float64 gives 0 there, as the exact arithmetic intends.
    return sigma_hat, s_noise * math.sqrt(max(sigma_hat**2 - sigma**2, 0.0))


def apply_churn(
    x: Any,
    sigma: float,
    gamma: float,
    s_noise: float,
    noise_source: Callable[[Any, str, int], Any],
    step: int,
    arithmetic: str = "exact",
) -> tuple[Any, float]:
    """Returns (x_hat, sigma_hat): x with extra noise at the raised level (EDM Algorithm 2).

    The churn draw is requested as ``noise_source(x, "churn", step)`` even when gamma = 0
    (it is then multiplied by 0), as in the reference whenever churn is switched on, so a
    recorded run sees the same sequence of draws.
    """
    sigma_hat, std = churn_noise_std(sigma, gamma, s_noise, arithmetic)
    return x + noise_source(x, "churn", step) * std, sigma_hat
