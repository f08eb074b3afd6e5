"""How one variable at one level is made from the latent waves: ``Y = scale * g(X)``.

The weather part of the Gaussian field ``X`` (see :mod:`climate`) is a fixed
linear map of the latent state ``z`` (see :mod:`latent_process`)::

    L(x) . z = sigma(x) / n * Re( sum_k c_k a_k P_k(lat) e^{i m_k lon} )

with ``a_k`` the complex amplitude of mode ``k = (l, m)`` (real for ``m = 0``),
``P_k`` the normalised associated Legendre function and ``c_k`` the variable's
complex loading: ``c_k = (alpha_family,k + 0.5 alpha_var,k + 0.5 beta_var,k eta(p))
/ sqrt(2)``, ``eta(p) = log10(p / 500 hPa)``, drawn once from the structure seed
(variables of one family, e.g. temperature and 2 m temperature, share most of
their loadings, so they are correlated as in the atmosphere). ``n`` normalises
the area-mean variance of the sum to 1 under the stationary law, so
``sigma(x)`` (the recipe's ``anomaly_scale``) is the typical anomaly std.

Reference: docs/synthetic_world.md.
"""

from __future__ import annotations

import math

import numpy as np

from mindgencast.data.synthetic.climate import DIURNAL_PEAK, SEASON_PEAK, FieldRecipe, variable_rng
from mindgencast.data.synthetic.latent_process import LatentProcess, associated_legendre

__all__ = ["FieldLaw"]


class FieldLaw:
    """The law of one variable at one level on a grid.

    Args:
      name: WeatherBench2 variable name.
      level: pressure level in hPa, or None for surface variables.
      recipe: its climate (:func:`climate.field_recipe`).
      process: the latent process.
      lat_deg: [num_lat]; lon_deg: [num_lon] degrees.
      structure_seed: seed of the loadings.
    """

    def __init__(self, name, level, recipe: FieldRecipe, process: LatentProcess, lat_deg, lon_deg, structure_seed):
        self.name, self.level, self.recipe = name, level, recipe
        self.lat, self.lon = np.asarray(lat_deg, float), np.asarray(lon_deg, float)
        modes = process.modes
        K = len(modes)
        self.m = np.array([m for _, m in modes])
        self.P = np.stack([associated_legendre(l, m, self.lat) for l, m in modes], axis=1)  # [lat, K]
        # latent index of the real and imaginary part of each mode (-1: zonal, real amplitude)
        sizes = np.where(self.m == 0, 1, 2)
        self.re_index = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.im_index = np.where(self.m == 0, -1, self.re_index + 1)
        fam = variable_rng(structure_seed, "family:" + recipe.family)
        var = variable_rng(structure_seed, "variable:" + name)
        alpha_f = fam.standard_normal(K) + 1j * fam.standard_normal(K)
        alpha_v = var.standard_normal(K) + 1j * var.standard_normal(K)
        beta_v = var.standard_normal(K) + 1j * var.standard_normal(K)
        eta = math.log10((level if level is not None else 1000.0) / 500.0)
        c = (alpha_f + 0.5 * alpha_v + 0.5 * beta_v * eta) / math.sqrt(2.0)
        self.c = np.where(self.m == 0, c.real, c)
        S = process.S
        w = np.where(self.m == 0, S[self.re_index, self.re_index],
                     0.5 * (S[self.re_index, self.re_index] + S[self.re_index + 1, self.re_index + 1]))
        self.n = math.sqrt(float(np.sum(np.abs(self.c) ** 2 * w)))
        self.exp_ilon = np.exp(1j * np.outer(np.arange(self.m.max() + 1), np.deg2rad(self.lon)))  # [M+1, lon]

    def amplitudes(self, z: np.ndarray) -> np.ndarray:
        """Complex mode amplitudes ``a`` [..., K] of latent states ``z`` [..., D]."""
        a = z[..., self.re_index].astype(complex)
        travelling = self.im_index >= 0
        a[..., travelling] += 1j * z[..., self.im_index[travelling]]
        return a

    def anomaly(self, z: np.ndarray) -> np.ndarray:
        """``L(x) . z``: [T, D] -> [T, lat, lon] float64, in the units of X."""
        b = self.amplitudes(z) * self.c  # [T, K]
        B = np.zeros((z.shape[0], self.lat.size, self.exp_ilon.shape[0]), complex)
        for order in np.unique(self.m):
            sel = self.m == order
            B[:, :, order] = b[:, sel] @ self.P[:, sel].T
        wave = np.einsum("tam,mn->tan", B, self.exp_ilon).real
        return self.recipe.anomaly_scale * wave / self.n

    def loadings(self, lat_index, lon_index) -> np.ndarray:
        """Rows ``L(x)`` [num_points, D] at the points ``(lat[i], lon[j])`` (index arrays of equal size)."""
        lat_index, lon_index = np.asarray(lat_index), np.asarray(lon_index)
        D = int(self.re_index[-1] + (1 if self.m[-1] == 0 else 2))
        e = np.exp(1j * np.outer(np.deg2rad(self.lon[lon_index]), self.m)) * self.c  # [N, K]
        pe = self.P[lat_index] * e
        L = np.zeros((lat_index.size, D))
        L[:, self.re_index] = pe.real
        travelling = self.im_index >= 0
        L[:, self.im_index[travelling]] = -pe[:, travelling].imag
        scale = self.recipe.anomaly_scale[lat_index, lon_index] / self.n
        return L * scale[:, None]

    def cycles(self, year_progress: np.ndarray, day_progress: np.ndarray) -> np.ndarray:
        """``mu0 + A_s cos(...) + A_d cos(...)``: yp [T], dp [T, lon] -> [T, lat, lon] float64."""
        r = self.recipe
        season = np.cos(2 * np.pi * (year_progress - SEASON_PEAK))[:, None, None]
        day = np.cos(2 * np.pi * (day_progress - DIURNAL_PEAK))[:, None, :]
        return r.mu0 + r.season_amp * season + r.diurnal_amp * day

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``Y = scale * g(X)`` with NaN where the recipe masks (SST over land)."""
        r = self.recipe
        if r.kind == "linear":
            Y = X
        elif r.kind == "lognormal":
            Y = np.exp(X)
        elif r.kind in ("censored", "positive"):
            Y = np.maximum(X, r.floor)
        else:
            raise ValueError(f"unknown field kind {r.kind!r}")
        Y = r.scale * Y
        if r.nan_mask is not None:
            Y = np.where(r.nan_mask, np.nan, Y)
        return Y

    def evaluate(self, z, year_progress, day_progress) -> np.ndarray:
        """The field ``Y`` [T, lat, lon] float64 for latent states ``z`` [T, D] at the given clock."""
        return self.transform(self.cycles(year_progress, day_progress) + self.anomaly(z))
