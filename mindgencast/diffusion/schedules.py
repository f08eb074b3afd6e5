"""Noise-level schedules: the rho distribution, the sampler's sigma_i and churn gamma_i.

Karras et al. 2022 (EDM), eq. 5 (time steps) and Algorithm 2 (gamma_i), as used by
GenCast (Price et al. 2024, Methods "Sampling"; reference ``samplers_utils.rho_inverse_cdf``,
``noise_schedule`` and ``stochastic_churn_rate_schedule``):

    sigma(u) = (sigma_min^(1/rho) + u (sigma_max^(1/rho) - sigma_min^(1/rho)))^rho,  u in [0, 1]
    sigma_i  = sigma(1 - i / (N - 1)),  i = 0..N-1,  sigma_N = 0
    gamma_i  = min(S_churn / N, sqrt(2) - 1) if S_tmin <= sigma_i <= S_tmax else 0

GenCast also draws its *training* noise levels from sigma(u) with u ~ U[0, 1]
(with its own sigma_min, sigma_max, rho), instead of EDM's log-normal.
All noise levels are in units of the normalised data.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from mindgencast.config.schemas import NoiseConfig, SamplerConfig

__all__ = [
    "rho_inverse_cdf",
    "noise_schedule",
    "sampler_sigmas",
    "training_noise_levels",
    "churn_gammas",
    "check_sigmas",
]


def rho_inverse_cdf(min_value: float, max_value: float, rho: float, cdf: Any) -> Any:
    """Quantile function of the rho distribution on [min_value, max_value] (EDM eq. 5).

    Args:
      min_value, max_value: support of the distribution, 0 < min_value <= max_value.
      rho: shape parameter (> 0); larger rho puts more mass near min_value.
      cdf: quantile(s) in [0, 1], float or numpy array of any shape.

    Returns:
      The noise level(s) at the given quantiles, same shape as ``cdf``; ascending in cdf.
    """
    if not 0 < min_value <= max_value:
        raise ValueError(f"need 0 < min_value <= max_value, got min_value={min_value}, max_value={max_value}")
    if not rho > 0:
        raise ValueError(f"rho must be positive, got {rho}")
    cdf_array = np.asarray(cdf)
    if np.any((cdf_array < 0) | (cdf_array > 1)):
        raise ValueError("cdf values must lie in [0, 1] (they are quantiles of the noise-level distribution)")
    low, high = min_value ** (1 / rho), max_value ** (1 / rho)
    return (low + cdf * (high - low)) ** rho


def noise_schedule(max_noise_level: float, min_noise_level: float, num_noise_levels: int, rho: float) -> np.ndarray:
    """The sampler's descending noise levels sigma_0 > ... > sigma_{N-1}, then sigma_N = 0.

    Args:
      max_noise_level: sigma_max = sigma_0.
      min_noise_level: sigma_min = sigma_{N-1}.
      num_noise_levels: N >= 1, the number of non-zero levels (= number of sampler steps).
      rho: EDM's rho (7 in EDM and GenCast).

    Returns:
      float64 array [N + 1]; the trailing 0 is where the last step lands (no denoiser
      call happens at sigma = 0).
    """
    if int(num_noise_levels) != num_noise_levels or num_noise_levels < 1:
        raise ValueError(f"num_noise_levels must be a positive integer, got {num_noise_levels!r}")
    levels = rho_inverse_cdf(min_noise_level, max_noise_level, rho, np.linspace(1.0, 0.0, int(num_noise_levels)))
    return np.append(levels, 0.0)


def sampler_sigmas(config: SamplerConfig, num_steps: Optional[int] = None) -> np.ndarray:
    """``noise_schedule`` from a SamplerConfig; ``num_steps`` overrides ``config.num_noise_levels``.

    Returns float64 [num_steps + 1] (last entry 0).
    """
    num_levels = config.num_noise_levels if num_steps is None else num_steps
    return noise_schedule(config.max_noise_level, config.min_noise_level, num_levels, config.rho)


def training_noise_levels(config: NoiseConfig, u: Any) -> Any:
    """Training noise levels sigma(u) for uniform draws u in [0, 1] (GenCast's training distribution).

    Args:
      config: the NoiseConfig (training_min/max_noise_level, training_noise_level_rho).
      u: uniform samples, float or array (e.g. [batch]).

    Returns:
      sigma, same shape as ``u``.
    """
    return rho_inverse_cdf(
        config.training_min_noise_level, config.training_max_noise_level, config.training_noise_level_rho, u
    )


def churn_gammas(sigmas: np.ndarray, s_churn: float, s_tmin: float, s_tmax: float) -> np.ndarray:
    """Per-step churn rates gamma_i of EDM Algorithm 2 for the schedule ``sigmas``.

    Args:
      sigmas: the schedule [N + 1] (last entry 0 is excluded from the steps).
      s_churn: S_churn (GenCast: stochastic_churn_rate), total churn spread over N steps.
      s_tmin, s_tmax: churn only where s_tmin <= sigma_i <= s_tmax.

    Returns:
      float64 [N]; gamma_i = min(S_churn / N, sqrt(2) - 1) inside the window, else 0.
      The sqrt(2) - 1 cap keeps one step from more than doubling the noise variance.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if sigmas.ndim != 1 or sigmas.size < 2:
        raise ValueError(f"sigmas must be a 1-d schedule with at least 2 entries, got shape {sigmas.shape}")
    if s_churn < 0:
        raise ValueError(f"s_churn (stochastic_churn_rate) must be >= 0, got {s_churn}")
    step_sigmas = sigmas[:-1]
    gamma = min(s_churn / step_sigmas.size, np.sqrt(2.0) - 1.0)
    in_window = (s_tmin <= step_sigmas) & (step_sigmas <= s_tmax)
    return np.where(in_window, gamma, 0.0)


def check_sigmas(sigmas: Any) -> list[float]:
    """Validates a sampler schedule and returns it as Python floats.

    A schedule is a strictly decreasing 1-d sequence of noise levels with at least two
    entries, all positive except possibly the last, which may be 0 (then the last sampler
    step returns the denoised state). Python floats keep float32 states float32.
    """
    values = np.asarray(sigmas, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"sigmas must be a 1-d schedule with at least 2 entries, got shape {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values[:-1] <= 0) or values[-1] < 0:
        raise ValueError("sigmas must be finite and positive (the last one may be 0)")
    if np.any(np.diff(values) >= 0):
        raise ValueError("sigmas must be strictly decreasing (from sigma_max down to sigma_min or 0)")
    return [float(v) for v in values]
