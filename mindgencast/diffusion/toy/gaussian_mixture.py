"""Isotropic Gaussian mixtures: data whose noisy density, score and denoiser are all exact.

For y ~ sum_k w_k N(mu_k, s_k^2 I) in d dimensions and x = y + sigma n, n ~ N(0, I):

    p(x; sigma)  = sum_k w_k N(x; mu_k, (s_k^2 + sigma^2) I)
    D(x; sigma)  = E[y | x] = sum_k r_k(x) (s_k^2 x + sigma^2 mu_k) / (s_k^2 + sigma^2),
    r_k(x)       = w_k N(x; mu_k, (s_k^2 + sigma^2) I) / p(x; sigma)       (responsibilities)
    grad log p   = (D(x; sigma) - x) / sigma^2                              (Tweedie; EDM eq. 3)

so every sampler, parameterisation and trained network can be checked against the truth.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy.special import logsumexp, ndtr

__all__ = ["GaussianMixture", "ring_mixture"]


@dataclasses.dataclass(frozen=True)
class GaussianMixture:
    """sum_k weights[k] N(means[k], stds[k]^2 I).

    Args:
      weights: [K], positive, summing to 1.
      means: [K, d].
      stds: [K], positive component standard deviations s_k.
    """

    weights: tuple
    means: tuple
    stds: tuple

    def __post_init__(self):
        w, mu, s = self.arrays()
        if w.ndim != 1 or mu.ndim != 2 or s.shape != w.shape or mu.shape[0] != w.size:
            raise ValueError("need weights [K], means [K, d], stds [K]")
        if np.any(w <= 0) or abs(w.sum() - 1) > 1e-9 or np.any(s <= 0):
            raise ValueError("weights must be positive and sum to 1; stds must be positive")

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.weights, float), np.asarray(self.means, float), np.asarray(self.stds, float)

    @property
    def dim(self) -> int:
        return len(self.means[0])

    def sample(self, n: int, rng: np.random.Generator, sigma: float = 0.0) -> np.ndarray:
        """n draws of y + sigma n, float64 [n, d]."""
        w, mu, s = self.arrays()
        k = rng.choice(w.size, size=n, p=w)
        return mu[k] + np.sqrt(s[k] ** 2 + sigma**2)[:, None] * rng.standard_normal((n, self.dim))

    def mean(self) -> np.ndarray:
        w, mu, _ = self.arrays()
        return w @ mu

    def cov(self) -> np.ndarray:
        """Covariance [d, d] of the clean data."""
        w, mu, s = self.arrays()
        centred = mu - w @ mu
        return (w[:, None] * centred).T @ centred + np.eye(self.dim) * (w @ s**2)

    def _log_responsibilities(self, x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        w, mu, s = self.arrays()
        var = s**2 + sigma**2  # [K]
        sq = ((x[:, None, :] - mu[None]) ** 2).sum(-1)  # [n, K]
        log_comp = np.log(w) - 0.5 * sq / var - 0.5 * self.dim * np.log(2 * np.pi * var)
        log_p = logsumexp(log_comp, axis=1)
        return log_comp - log_p[:, None], log_p

    def log_prob(self, x: Any, sigma: float = 0.0) -> np.ndarray:
        """log p(x; sigma) for x [n, d] -> [n]."""
        return self._log_responsibilities(np.asarray(x, float), sigma)[1]

    def denoise(self, x: Any, sigma: float) -> np.ndarray:
        """The exact denoiser D(x; sigma) = E[y | x], x [n, d] -> [n, d] (sigma >= 0)."""
        x = np.asarray(x, float)
        _, mu, s = self.arrays()
        r = np.exp(self._log_responsibilities(x, sigma)[0])  # [n, K]
        var = s**2 + sigma**2
        per_component = (s[None, :, None] ** 2 * x[:, None, :] + sigma**2 * mu[None]) / var[None, :, None]
        return (r[:, :, None] * per_component).sum(1)

    def score(self, x: Any, sigma: float) -> np.ndarray:
        """grad_x log p(x; sigma) = (D - x) / sigma^2, [n, d] (sigma > 0)."""
        return (self.denoise(x, sigma) - np.asarray(x, float)) / sigma**2

    def cdf(self, x: Any, sigma: float = 0.0) -> np.ndarray:
        """CDF of a 1-d mixture at the points x (any shape)."""
        if self.dim != 1:
            raise ValueError("cdf is defined for 1-d mixtures only")
        w, mu, s = self.arrays()
        x = np.asarray(x, float)[..., None]
        return (w * ndtr((x - mu[:, 0]) / np.sqrt(s**2 + sigma**2))).sum(-1)


def ring_mixture(num_modes: int = 8, radius: float = 2.0, std: float = 0.2) -> GaussianMixture:
    """num_modes equal-weight components on a circle of the given radius (the classic 2-D toy)."""
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    means = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    return GaussianMixture(tuple([1.0 / num_modes] * num_modes), tuple(map(tuple, means)), tuple([std] * num_modes))
