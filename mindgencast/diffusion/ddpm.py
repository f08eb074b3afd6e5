"""DDPM's discrete forward process, its beta schedules, the epsilon objective and Algorithm 2.

Ho, Jain, Abbeel 2020, "Denoising Diffusion Probabilistic Models" (arXiv 2006.11239);
cosine schedule from Nichol & Dhariwal 2021, "Improved Denoising Diffusion Probabilistic
Models" (arXiv 2102.09672). Time t = 1..T; arrays below are indexed t - 1.

    q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)                      (Ho eq. 2)
    q(x_t | x_0)     = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I),
                       alpha_t = 1 - beta_t, alpha_bar_t = prod_{s<=t} alpha_s      (Ho eq. 4)
    L_simple         = E || epsilon - epsilon_theta(sqrt(alpha_bar_t) x_0
                                                  + sqrt(1 - alpha_bar_t) epsilon, t) ||^2  (Ho eq. 14)
    x_{t-1}          = (x_t - beta_t / sqrt(1 - alpha_bar_t) epsilon_theta) / sqrt(alpha_t)
                       + sigma_t z,  sigma_t^2 = beta_t or beta_tilde_t             (Ho eq. 11, Alg. 2)
    beta_tilde_t     = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t               (Ho eq. 7)

Linear schedule: beta_t from 1e-4 to 0.02 over T = 1000 (Ho sec. 4). Cosine schedule:
alpha_bar_t = f(t) / f(0), f(t) = cos^2(pi/2 (t/T + s) / (1 + s)), s = 0.008, beta_t clipped
to <= 0.999 (Nichol & Dhariwal eq. 17). ``ddpm_sigmas`` turns either into the VE noise levels
sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t) the samplers of this package take
(``parameterisations``); the registry's ``ddpm`` sampler is Algorithm 2 in those coordinates.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from mindgencast.diffusion.parameterisations import sigma_from_alpha_bar

__all__ = [
    "linear_betas",
    "cosine_betas",
    "alpha_bars",
    "ddpm_sigmas",
    "q_sample",
    "epsilon_loss",
    "posterior_variance",
    "reverse_step",
    "sample_ddpm_vp",
]


def _check_num_steps(T: int) -> int:
    if int(T) != T or T < 1:
        raise ValueError(f"the number of diffusion steps T must be a positive integer, got {T!r}")
    return int(T)


def linear_betas(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> np.ndarray:
    """beta_t linear from beta_1 to beta_T (Ho et al. 2020 sec. 4). Returns float64 [T]."""
    T = _check_num_steps(T)
    if not 0 < beta_1 <= beta_T < 1:
        raise ValueError(f"need 0 < beta_1 <= beta_T < 1, got beta_1={beta_1}, beta_T={beta_T}")
    return np.linspace(beta_1, beta_T, T)


def cosine_betas(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """beta_t = 1 - alpha_bar_t / alpha_bar_{t-1} of the cosine schedule (Nichol & Dhariwal eq. 17).

    ``max_beta`` clips the last betas (alpha_bar_T -> 0 would make beta_T = 1, a singular step).
    Returns float64 [T].
    """
    T = _check_num_steps(T)
    if not s >= 0 or not 0 < max_beta < 1:
        raise ValueError(f"need s >= 0 and 0 < max_beta < 1, got s={s}, max_beta={max_beta}")
    t = np.arange(T + 1) / T
    f = np.cos(0.5 * math.pi * (t + s) / (1 + s)) ** 2
    return np.minimum(1.0 - f[1:] / f[:-1], max_beta)


def alpha_bars(betas: Any) -> np.ndarray:
    """alpha_bar_t = prod_{s<=t} (1 - beta_s) (Ho eq. 4). Returns float64 [T], decreasing."""
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or betas.size < 1 or np.any((betas <= 0) | (betas >= 1)):
        raise ValueError("betas must be a non-empty 1-d array with every beta_t in (0, 1)")
    return np.cumprod(1.0 - betas)


def ddpm_sigmas(betas: Any) -> np.ndarray:
    """The DDPM schedule as a sampler schedule: [sigma_T, ..., sigma_1, 0], float64 [T + 1].

    sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t) is the VE noise level of step t
    (``parameterisations.sigma_from_alpha_bar``); e.g. the linear T = 1000 schedule spans
    sigma_1 = 0.01 to sigma_T ~ 157. Passing it to ``samplers.sample_ddpm`` runs Algorithm 2.
    """
    return np.append(sigma_from_alpha_bar(alpha_bars(betas))[::-1], 0.0)


def q_sample(x_0: Any, alpha_bar_t: Any, epsilon: Any) -> Any:
    """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) epsilon (Ho eq. 4, reparameterised).

    alpha_bar_t broadcasts against x_0 (e.g. [batch, 1] for x_0 [batch, dim]).
    """
    return alpha_bar_t**0.5 * x_0 + (1.0 - alpha_bar_t) ** 0.5 * epsilon


def epsilon_loss(epsilon_theta: Any, epsilon: Any) -> float:
    """L_simple = mean || epsilon - epsilon_theta ||^2 (Ho eq. 14), a float."""
    return float(np.mean((np.asarray(epsilon) - np.asarray(epsilon_theta)) ** 2))


def posterior_variance(betas: Any) -> np.ndarray:
    """beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t (Ho eq. 7); beta_tilde_1 = 0. [T]."""
    betas = np.asarray(betas, dtype=np.float64)
    a_bar = alpha_bars(betas)
    a_bar_prev = np.append(1.0, a_bar[:-1])
    return (1.0 - a_bar_prev) / (1.0 - a_bar) * betas


def reverse_step(x_t: Any, epsilon_theta: Any, t: int, betas: Any, z: Any, variance: str = "posterior") -> Any:
    """One step of Ho et al. Algorithm 2 (eq. 11): x_t -> x_{t-1} in VP coordinates.

    Args:
      x_t: state at step t (1 <= t <= T).
      epsilon_theta: predicted noise at (x_t, t), same shape as x_t.
      t: the step, 1-based as in the paper.
      betas: the schedule [T].
      z: unit Gaussian noise like x_t (ignored at t = 1, where Algorithm 2 sets z = 0).
      variance: "posterior" (sigma_t^2 = beta_tilde_t) or "beta" (sigma_t^2 = beta_t).
    """
    betas = np.asarray(betas, dtype=np.float64)
    if not 1 <= t <= betas.size:
        raise ValueError(f"t must lie in 1..{betas.size}, got {t}")
    if variance not in ("posterior", "beta"):
        raise ValueError(f"variance must be 'posterior' or 'beta', got {variance!r}")
    beta_t = betas[t - 1]
    a_bar_t = alpha_bars(betas)[t - 1]
    mean = (x_t - beta_t / math.sqrt(1.0 - a_bar_t) * epsilon_theta) / math.sqrt(1.0 - beta_t)
    if t == 1:
        return mean
    var = posterior_variance(betas)[t - 1] if variance == "posterior" else beta_t
    return mean + math.sqrt(var) * z


def sample_ddpm_vp(
    epsilon_model: Callable[[Any, int], Any],
    betas: Any,
    x_T: Any,
    noise: Callable[[int], Any],
    variance: str = "posterior",
) -> Any:
    """Ho et al. Algorithm 2 verbatim: x_T ~ N(0, I), then T reverse steps with epsilon_theta(x_t, t).

    Args:
      epsilon_model: epsilon_theta(x_t, t) with t 1-based.
      betas: the schedule [T].
      x_T: initial VP state (unit Gaussian).
      noise: z(t) -> unit noise like x_T for the step from t to t - 1.
      variance: see ``reverse_step``.
    Returns:
      x_0, same shape as x_T.
    """
    x = x_T
    for t in range(np.asarray(betas).size, 0, -1):
        z = noise(t) if t > 1 else 0.0
        x = reverse_step(x, epsilon_model(x, t), t, betas, z, variance)
    return x
