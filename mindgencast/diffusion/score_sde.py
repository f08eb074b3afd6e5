"""The VE and VP stochastic differential equations of score-based generative modelling.

Song et al. 2021, "Score-Based Generative Modeling through Stochastic Differential
Equations" (ICLR), sec. 3.4 and App. B. A forward SDE dx = f(x, t) dt + g(t) dw on t in [0, 1]
(eq. 5) has Gaussian marginals around each data point, x_t ~ N(m(t) x_0, std(t)^2 I):

    VE (eq. 9, App. B; SMLD's limit):
        sigma(t) = sigma_min (sigma_max / sigma_min)^t
        f = 0,  g(t) = sigma(t) sqrt(2 log(sigma_max / sigma_min)),  m = 1,  std = sigma(t)
    VP (eq. 11, App. B, eq. 29 and 33; DDPM's limit, beta_i = beta(t) / N):
        beta(t) = beta_min + t (beta_max - beta_min)
        f = -beta(t) x / 2,  g(t) = sqrt(beta(t)),
        m(t) = exp(-t^2 (beta_max - beta_min) / 4 - t beta_min / 2),  std = sqrt(1 - m^2)

Both are one diffusion seen through x_VE = x / m(t) at the noise level
sigma_VE(t) = std(t) / m(t) (EDM eq. 4 with s(t) = m(t)); ``score`` reads the score of p_t
off the one denoiser D(x; sigma) that every sampler here takes
(``parameterisations.vp_score_from_denoiser``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

__all__ = ["VESDE", "VPSDE"]


class _ScoreSDE:
    """Shared: the noise level seen in VE coordinates and the score from a denoiser."""

    def mean_coefficient(self, t: float) -> float:
        raise NotImplementedError

    def std(self, t: float) -> float:
        raise NotImplementedError

    def sigma(self, t: float) -> float:
        """The VE noise level std(t) / m(t) of the scaled state x / m(t)."""
        return self.std(t) / self.mean_coefficient(t)

    def marginal_sample(self, x_0: Any, t: float, epsilon: Any) -> Any:
        """x_t = m(t) x_0 + std(t) epsilon, a draw from the perturbation kernel p_0t(x_t | x_0)."""
        return self.mean_coefficient(t) * x_0 + self.std(t) * epsilon

    def score(self, denoise: Callable[[Any, float], Any], x: Any, t: float) -> Any:
        """grad_x log p_t(x) = (m D(x / m; sigma) - x) / std^2, shape of x (sigma = std / m)."""
        m, std = self.mean_coefficient(t), self.std(t)
        return (m * denoise(x * (1.0 / m), std / m) - x) * (1.0 / std**2)

    def _check_t(self, t: float) -> None:
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"SDE time t must lie in [0, 1], got {t}")


@dataclasses.dataclass(frozen=True)
class VESDE(_ScoreSDE):
    """Variance-exploding SDE (Song et al. 2021 eq. 9). Defaults: CIFAR-10's 0.01 and 50."""

    sigma_min: float = 0.01
    sigma_max: float = 50.0

    def __post_init__(self):
        if not 0 < self.sigma_min < self.sigma_max:
            raise ValueError(f"VESDE needs 0 < sigma_min < sigma_max, got {self.sigma_min}, {self.sigma_max}")

    def mean_coefficient(self, t: float) -> float:
        return 1.0

    def std(self, t: float) -> float:
        self._check_t(t)
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def drift(self, x: Any, t: float) -> Any:
        """f(x, t) = 0."""
        return x * 0.0

    def diffusion(self, t: float) -> float:
        """g(t) = sigma(t) sqrt(2 log(sigma_max / sigma_min)) = sqrt(d sigma^2 / dt)."""
        return self.std(t) * math.sqrt(2.0 * math.log(self.sigma_max / self.sigma_min))

    def prior_sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        """x_1 ~ N(0, sigma_max^2 I) (the data are negligible next to sigma_max)."""
        return self.sigma_max * rng.standard_normal(shape)

    def corrector_alpha(self, t: float, dt: float) -> float:
        """alpha_i of the Langevin step rule: 1 for VE (Song et al. Algorithm 4)."""
        return 1.0


@dataclasses.dataclass(frozen=True)
class VPSDE(_ScoreSDE):
    """Variance-preserving SDE (Song et al. 2021 eq. 11). Defaults: beta_min 0.1, beta_max 20 (DDPM's limit)."""

    beta_min: float = 0.1
    beta_max: float = 20.0

    def __post_init__(self):
        if not 0 < self.beta_min < self.beta_max:
            raise ValueError(f"VPSDE needs 0 < beta_min < beta_max, got {self.beta_min}, {self.beta_max}")

    def beta(self, t: float) -> float:
        self._check_t(t)
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def mean_coefficient(self, t: float) -> float:
        self._check_t(t)
        return math.exp(-0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min)

    def std(self, t: float) -> float:
        # -expm1(2 log m) = 1 - m^2 without cancellation at small t
        log_m = -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min
        return math.sqrt(-math.expm1(2.0 * log_m))

    def drift(self, x: Any, t: float) -> Any:
        """f(x, t) = -beta(t) x / 2."""
        return x * (-0.5 * self.beta(t))

    def diffusion(self, t: float) -> float:
        """g(t) = sqrt(beta(t))."""
        return math.sqrt(self.beta(t))

    def prior_sample(self, shape: tuple, rng: np.random.Generator) -> np.ndarray:
        """x_1 ~ N(0, I)."""
        return rng.standard_normal(shape)

    def corrector_alpha(self, t: float, dt: float) -> float:
        """alpha_i = 1 - beta_i with DDPM's beta_i = beta(t) |dt| (Song et al. Algorithm 5)."""
        return 1.0 - self.beta(t) * abs(dt)
