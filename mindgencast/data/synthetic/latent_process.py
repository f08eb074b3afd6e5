"""The latent weather of the synthetic world: interacting travelling spherical waves.

The weather is a real vector ``z`` (dimension ``D``) of wave amplitudes, one real
coordinate per zonal mode ``(l, 0)`` and two (real and imaginary part of a
complex amplitude ``a = z_re + i z_im``) per travelling mode ``(l, m > 0)``,
``1 <= l <= L``. It follows a linear Ornstein-Uhlenbeck process (in days)::

    dz = G z dt + B dW,   G = -Lambda + Omega + K

``Lambda`` = diag(lambda_l) damping (lambda_l = sqrt(l) / tau_1); ``Omega``
rotates each complex amplitude at ``omega_lm = -m c_l`` so that the wave
``Re(a e^{i m lon})`` travels eastward at ``c_l = U - R / (l (l + 1))`` (radians
of longitude per day; Rossby-Haurwitz-like dispersion); ``K`` is an
antisymmetric, energy-conserving interaction between modes. Since
``G + G^T = -2 Lambda`` is negative definite the process is stable. ``B B^T =
2 Lambda V`` with ``V`` the target variance per coordinate (spectrum ``s_l^2/2``,
``s_l ~ l^-slope``). The exact transition over a lag ``tau`` is Gaussian::

    z(t + tau) | z(t) ~ N(M(tau) z(t), Q(tau)),  M = expm(G tau),  Q = S - M S M^T

with ``S`` the stationary covariance, the solution of ``G S + S G^T + B B^T = 0``.
This is what makes the ideal (oracle) ensemble exact.

Reference: Uhlenbeck & Ornstein (1930); Haurwitz (1940) for the wave speeds;
docs/synthetic_world.md.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.linalg
import scipy.special

__all__ = ["LatentProcess", "associated_legendre"]


def associated_legendre(l: int, m: int, lat_deg: np.ndarray) -> np.ndarray:
    """Fully normalised associated Legendre function of ``sin(lat)``.

    Normalised so that ``Y = P(lat) e^{i m lon}`` has mean square 1 over the
    sphere: ``P = sqrt((2l+1) (l-m)!/(l+m)!) P_l^m(sin lat)``.

    Args:
      l, m: degree and order, ``0 <= m <= l``.
      lat_deg: [...] latitudes in degrees.

    Returns:
      [...] float64.
    """
    norm = math.sqrt((2 * l + 1) * math.factorial(l - m) / math.factorial(l + m))
    return norm * scipy.special.lpmv(m, l, np.sin(np.deg2rad(lat_deg)))


@dataclasses.dataclass(frozen=True)
class LatentProcess:
    """The OU law of the wave amplitudes (time in days).

    Attributes:
      modes: [(l, m), ...] in latent order; zonal modes use one coordinate,
        travelling modes two (real part, imaginary part).
      G: [D, D] drift matrix (1/day).
      S: [D, D] stationary covariance.
    """

    modes: tuple[tuple[int, int], ...]
    G: np.ndarray
    S: np.ndarray

    @classmethod
    def build(cls, max_degree, decorrelation_days, drift_deg_per_day, rossby_deg_per_day,
              coupling_per_day, spectral_slope, rng: np.random.Generator) -> "LatentProcess":
        """Assembles ``G`` and ``S`` from the physical knobs (see the module docstring)."""
        modes = tuple((l, m) for l in range(1, max_degree + 1) for m in range(l + 1))
        sizes = [1 if m == 0 else 2 for _, m in modes]
        D = sum(sizes)
        G = np.zeros((D, D))
        V = np.zeros(D)
        i = 0
        for (l, m), size in zip(modes, sizes):
            lam = math.sqrt(l) / decorrelation_days
            c = math.radians(drift_deg_per_day - rossby_deg_per_day / (l * (l + 1)))
            omega = -m * c
            G[i:i + size, i:i + size] = -lam * np.eye(size)
            if size == 2:
                G[i:i + 2, i:i + 2] += np.array([[0.0, -omega], [omega, 0.0]])
            V[i:i + size] = 0.5 * float(l) ** (-2 * spectral_slope)
            i += size
        A = rng.standard_normal((D, D)) / math.sqrt(D)
        G += coupling_per_day * (A - A.T)
        lam_diag = -np.diag(G).copy()
        BBt = np.diag(2.0 * lam_diag * V)
        S = scipy.linalg.solve_continuous_lyapunov(G, -BBt)
        S = 0.5 * (S + S.T)
        return cls(modes=modes, G=G, S=S)

    @property
    def dim(self) -> int:
        """Latent dimension ``D``."""
        return self.G.shape[0]

    def transition(self, lag_days: float) -> tuple[np.ndarray, np.ndarray]:
        """``M(tau)`` [D, D] and a square root ``C`` [D, D] of ``Q(tau)`` (``C C^T = Q``)."""
        M = scipy.linalg.expm(self.G * lag_days)
        Q = self.S - M @ self.S @ M.T
        return M, _psd_sqrt(Q)

    def stationary_sqrt(self) -> np.ndarray:
        """A square root of ``S`` [D, D]."""
        return _psd_sqrt(self.S)

    def lagged_covariance(self, lag_days: float) -> np.ndarray:
        """``Cov(z(t + tau), z(t)) = M(tau) S`` [D, D]."""
        return scipy.linalg.expm(self.G * lag_days) @ self.S


def _psd_sqrt(Q: np.ndarray) -> np.ndarray:
    # Eigen square root: Q is PSD in exact arithmetic but may have tiny negative
    # eigenvalues from rounding (Q -> 0 as tau -> 0), which Cholesky rejects.
    w, U = np.linalg.eigh(0.5 * (Q + Q.T))
    return U * np.sqrt(np.clip(w, 0.0, None))
