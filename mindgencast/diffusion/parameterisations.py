"""One diffusion, three parameterisations: DDPM's alpha_bar <-> sigma, and epsilon / score / D.

Every conversion between the classic parameterisations lives here, in one place:

- Schedule (Ho et al. 2020, eq. 4; Song et al. 2021, sec. 3.4; Karras et al. 2022, Table 1):
  a variance-preserving (VP) state x_VP = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) epsilon is
  a variance-exploding (VE) state x_VE = x_0 + sigma epsilon after dividing by the signal scale,

      x_VE  = x_VP / sqrt(alpha_bar),   sigma = sqrt((1 - alpha_bar) / alpha_bar),
      alpha_bar = 1 / (1 + sigma^2)                          (EDM's s(t) = sqrt(alpha_bar)).

  (With sigma_data = 1, x_VP = c_in(sigma) x_VE: EDM's input scaling is the VP state.)
- Network outputs, for x_VE = x_0 + sigma epsilon (Tweedie: D = E[x_0 | x]; EDM eq. 3;
  Song et al. 2021 eq. 7 for the score target; Ho et al. 2020 eq. 11 for epsilon):

      D       = x_VE - sigma epsilon_hat
      score   = grad_{x_VE} log p(x_VE; sigma) = (D - x_VE) / sigma^2 = -epsilon_hat / sigma
      epsilon = (x_VE - D) / sigma = -sigma score

  In VP coordinates the score is grad_{x_VP} log p_VP = score_VE / sqrt(alpha_bar)
  = -epsilon_hat / sqrt(1 - alpha_bar) (Song et al. 2021, App. B, the DDPM score).

Every function works elementwise on floats, numpy arrays or xarray objects; sigma > 0
(sigma = 0 has no epsilon or score: the state is the data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "sigma_from_alpha_bar",
    "alpha_bar_from_sigma",
    "vp_to_ve",
    "ve_to_vp",
    "denoiser_from_epsilon",
    "epsilon_from_denoiser",
    "score_from_denoiser",
    "denoiser_from_score",
    "score_from_epsilon",
    "epsilon_from_score",
    "vp_score_from_denoiser",
]


def sigma_from_alpha_bar(alpha_bar: Any) -> Any:
    """sigma = sqrt((1 - alpha_bar) / alpha_bar), the VE noise level of a VP/DDPM level alpha_bar in (0, 1]."""
    values = np.asarray(alpha_bar)
    if np.any((values <= 0) | (values > 1)):
        raise ValueError("alpha_bar must lie in (0, 1] (alpha_bar = prod(1 - beta_s) of a DDPM schedule)")
    return ((1.0 - alpha_bar) / alpha_bar) ** 0.5


def alpha_bar_from_sigma(sigma: Any) -> Any:
    """alpha_bar = 1 / (1 + sigma^2), the inverse of ``sigma_from_alpha_bar`` (sigma >= 0)."""
    if np.any(np.asarray(sigma) < 0):
        raise ValueError("sigma must be >= 0")
    return 1.0 / (1.0 + sigma**2)


def vp_to_ve(x_vp: Any, alpha_bar: Any) -> Any:
    """x_VE = x_VP / sqrt(alpha_bar): removes DDPM's signal scaling (shape of x_vp)."""
    return x_vp / alpha_bar**0.5


def ve_to_vp(x_ve: Any, alpha_bar: Any) -> Any:
    """x_VP = sqrt(alpha_bar) x_VE: the inverse of ``vp_to_ve``."""
    return x_ve * alpha_bar**0.5


def denoiser_from_epsilon(x_ve: Any, epsilon: Any, sigma: Any) -> Any:
    """D = x_VE - sigma epsilon (Ho et al. 2020 eq. 4 solved for x_0; EDM Table 1 'VP')."""
    return x_ve - sigma * epsilon


def epsilon_from_denoiser(x_ve: Any, denoised: Any, sigma: Any) -> Any:
    """epsilon = (x_VE - D) / sigma, the noise that D says was added (sigma > 0)."""
    return (x_ve - denoised) / sigma


def score_from_denoiser(x_ve: Any, denoised: Any, sigma: Any) -> Any:
    """grad log p(x; sigma) = (D - x) / sigma^2 (Tweedie; EDM eq. 3)."""
    return (denoised - x_ve) / sigma**2


def denoiser_from_score(x_ve: Any, score: Any, sigma: Any) -> Any:
    """D = x + sigma^2 score (Tweedie's formula)."""
    return x_ve + sigma**2 * score


def score_from_epsilon(epsilon: Any, sigma: Any) -> Any:
    """score = -epsilon / sigma (VE coordinates)."""
    return -epsilon / sigma


def epsilon_from_score(score: Any, sigma: Any) -> Any:
    """epsilon = -sigma score (VE coordinates)."""
    return -sigma * score


def vp_score_from_denoiser(x_vp: Any, denoised: Any, alpha_bar: Any) -> Any:
    """grad_{x_VP} log p_VP(x_VP) from D of the VE state x_VP / sqrt(alpha_bar).

    = score_VE(x_VE) / sqrt(alpha_bar) = (sqrt(alpha_bar) D - x_VP) / (1 - alpha_bar)
    (the VP marginal is N(sqrt(alpha_bar) x_0, 1 - alpha_bar) around each x_0).
    """
    return (alpha_bar**0.5 * denoised - x_vp) / (1.0 - alpha_bar)
