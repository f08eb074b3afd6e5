"""Analytic climatology of the synthetic world (the normalisation statistics it implies).

For every variable and level the world's law gives, without sampling, the
moments GenCast's normalisation uses: the mean and standard deviation pooled
over all grid points (unweighted, each cell counts once; SST over ocean cells
only, as ``nanmean`` would) and over the climate's seasonal and diurnal cycles
(phases uniform), and the root-mean-square of differences ``Y(t + lag) - Y(t)``
(``lag`` = 12 h by default: GenCast's residual scale ``diffs_stddev_by_level``).

Per grid point ``x`` the weather part is ``N(0, s2(x))`` with ``s2 = L S L^T``
and lagged covariance ``c(x) = L M(lag) S L^T``. Then, with ``I0`` the modified
Bessel function (the phase average of ``exp(A cos theta)``):

- linear ``Y = X``: ``E Y = mu0``, ``E Y^2 = mu0^2 + s2 + A_s^2/2 + A_d^2/2``,
  ``E dY^2 = A_s^2 (1 - cos d_s) + A_d^2 (1 - cos d_d) + 2 (s2 - c)``;
- log-normal ``Y = exp(X)``: ``E Y = e^{mu0 + s2/2} I0(A_s) I0(A_d)``,
  ``E Y^2 = e^{2 mu0 + 2 s2} I0(2 A_s) I0(2 A_d)``, ``E Y(t) Y(t+lag) =
  e^{2 mu0 + s2 + c} I0(2 A_s cos(d_s/2)) I0(2 A_d cos(d_d/2))``;
- censored ``Y = max(f, X)`` (no diurnal cycle): censored-normal moments
  averaged over 12 seasonal phases; for the differences the lag-pair law is
  integrated over ``X(t)`` on a fine grid with the conditional censored
  moments of ``X(t + lag)`` in closed form.

``d_s = 2 pi lag / 365.24219 d``, ``d_d = 2 pi lag / 1 d`` are the phase shifts
of the cycles over the lag. ``minimum`` is the law's floor where it has one
(SST 271.35 K, precipitation 0) and otherwise a 5-sigma lower bound.

Reference: docs/synthetic_world.md ("Climatology").
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import scipy.special
import xarray as xr

from mindgencast.config.variables import VARIABLES

__all__ = ["ClimatologyMoments", "climatology_moments", "STAT_NAMES"]

STAT_NAMES = ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level", "min_by_level")
_DAYS_PER_YEAR = 365.24219
_SEASON_PHASES = 12
_Z = np.linspace(-7.0, 7.0, 281)
_PROGRESS = ("year_progress", "year_progress_sin", "year_progress_cos",
             "day_progress", "day_progress_sin", "day_progress_cos")


@dataclasses.dataclass(frozen=True)
class ClimatologyMoments:
    """The world's analytic statistics, each in the layout of GenCast's stats files.

    Attributes:
      mean, stddev, diffs_stddev, minimum: datasets with one float32 variable per
        name (atmospheric ones over the ``level`` coord, int32 hPa; others
        scalar), covering the world's variables plus year/day progress features.
    """

    mean: xr.Dataset
    stddev: xr.Dataset
    diffs_stddev: xr.Dataset
    minimum: xr.Dataset

    def by_file_name(self) -> dict[str, xr.Dataset]:
        """``{"mean_by_level": mean, "stddev_by_level": ..., ...}`` (the stats/ file stems)."""
        return dict(zip(STAT_NAMES, (self.mean, self.stddev, self.diffs_stddev, self.minimum)))


def _censored_moments(mu, sigma, floor):
    """E[max(f, X)], E[max(f, X)^2] for X ~ N(mu, sigma^2) (arrays broadcast)."""
    alpha = (floor - mu) / sigma
    below = scipy.special.ndtr(alpha)
    density = np.exp(-0.5 * alpha**2) / math.sqrt(2 * math.pi)
    first = floor * below + mu * (1 - below) + sigma * density
    second = floor**2 * below + (mu**2 + sigma**2) * (1 - below) + sigma * (mu + floor) * density
    return first, second


def _point_variances(law, S, MS):
    """``s2(x)`` and ``c(x)`` [lat, lon] of the weather part of one field."""
    nlat, nlon = law.lat.size, law.lon.size
    s2 = np.empty((nlat, nlon))
    c = np.empty((nlat, nlon))
    for i in range(nlat):
        L = law.loadings(np.full(nlon, i), np.arange(nlon))
        s2[i] = np.sum((L @ S) * L, axis=1)
        c[i] = np.sum((L @ MS.T) * L, axis=1)
    return s2, c


def _field_moments(law, S, MS, lag_days):
    """(mean, stddev, rms of lag differences, minimum) of one field, pooled."""
    r = law.recipe
    s2, c = _point_variances(law, S, MS)
    d_s = 2 * math.pi * lag_days / _DAYS_PER_YEAR
    d_d = 2 * math.pi * lag_days
    valid = np.ones(s2.shape, bool) if r.nan_mask is None else ~r.nan_mask
    mu0, A_s, A_d = r.mu0[valid], r.season_amp[valid], r.diurnal_amp[valid]
    s2, c = s2[valid], c[valid]
    lower = mu0 - np.abs(A_s) - np.abs(A_d) - 5 * np.sqrt(s2)
    if r.kind == "linear":
        first = mu0
        second = mu0**2 + s2 + A_s**2 / 2 + A_d**2 / 2
        diff2 = A_s**2 * (1 - math.cos(d_s)) + A_d**2 * (1 - math.cos(d_d)) + 2 * (s2 - c)
        minimum = lower.min()
    elif r.kind == "lognormal":
        i0 = scipy.special.i0
        first = np.exp(mu0 + s2 / 2) * i0(A_s) * i0(A_d)
        second = np.exp(2 * mu0 + 2 * s2) * i0(2 * A_s) * i0(2 * A_d)
        cross = np.exp(2 * mu0 + s2 + c) * i0(2 * A_s * math.cos(d_s / 2)) * i0(2 * A_d * math.cos(d_d / 2))
        diff2 = 2 * second - 2 * cross
        minimum = np.exp(lower.min())
    elif r.kind in ("censored", "positive"):
        if np.any(A_d != 0):
            raise ValueError(f"{law.name}: censored fields with a diurnal cycle are not supported")
        first, second, diff2 = _censored_field(mu0, A_s, s2, c, r.floor, d_s)
        minimum = r.floor
    else:
        raise ValueError(f"unknown field kind {r.kind!r}")
    mean = float(np.mean(first))
    var = max(float(np.mean(second)) - mean**2, 0.0)
    return r.scale * mean, r.scale * math.sqrt(var), r.scale * math.sqrt(float(np.mean(diff2))), r.scale * minimum


def _censored_field(mu0, A_s, s2, c, floor, d_s):
    theta = 2 * math.pi * np.arange(_SEASON_PHASES) / _SEASON_PHASES
    sigma = np.sqrt(s2)[:, None]
    rho = np.clip(c / s2, -1.0, 1.0)[:, None, None]
    mu1 = mu0[:, None] + A_s[:, None] * np.cos(theta)
    mu2 = mu0[:, None] + A_s[:, None] * np.cos(theta + d_s)
    first, second = _censored_moments(mu1, sigma, floor)
    weights = np.exp(-0.5 * _Z**2)
    weights /= weights.sum()
    diff2 = np.empty(mu0.shape)
    for start in range(0, mu0.size, 256):
        sl = slice(start, start + 256)
        sg = sigma[sl, :, None]
        y1 = np.maximum(floor, mu1[sl, :, None] + sg * _Z)
        cond_mean = mu2[sl, :, None] + rho[sl] * sg * _Z
        cond_std = np.maximum(sg * np.sqrt(1 - rho[sl] ** 2), 1e-9 * sg)
        e1, e2 = _censored_moments(cond_mean, cond_std, floor)
        diff2[sl] = np.mean(np.sum((e2 - 2 * y1 * e1 + y1**2) * weights, axis=-1), axis=-1)
    return first.mean(axis=1), second.mean(axis=1), diff2


def _progress_moments(lag_days):
    d_s = 2 * math.pi * lag_days / _DAYS_PER_YEAR
    frac = lag_days % 1.0
    year_diff, day_diff = lag_days / _DAYS_PER_YEAR, math.sqrt(frac * (1 - frac))
    trig = (0.0, math.sqrt(0.5))
    return {
        "year_progress": (0.5, math.sqrt(1 / 12), year_diff, 0.0),
        "year_progress_sin": (*trig, math.sqrt(2) * math.sin(d_s / 2), -1.0),
        "year_progress_cos": (*trig, math.sqrt(2) * math.sin(d_s / 2), -1.0),
        "day_progress": (0.5, math.sqrt(1 / 12), day_diff, 0.0),
        "day_progress_sin": (*trig, math.sqrt(2) * math.sin(math.pi * frac), -1.0),
        "day_progress_cos": (*trig, math.sqrt(2) * math.sin(math.pi * frac), -1.0),
    }


def climatology_moments(world, lag="12h") -> ClimatologyMoments:
    """The world's analytic normalisation statistics (see the module docstring).

    Args:
      world: a SyntheticWorld.
      lag: the lag of the difference statistics (GenCast: 12 h).

    Returns:
      ClimatologyMoments; static fields get their exact grid moments and a
      placeholder diffs_stddev of 1e-6 * max(stddev, 1) (never used).
    """
    lag_days = pd.Timedelta(lag) / pd.Timedelta("1D")
    S = world.process.S
    MS = world.process.lagged_covariance(lag_days)
    per_field = {key: _field_moments(law, S, MS, lag_days) for key, law in world.laws.items()}
    stats = {i: {} for i in range(4)}
    levels = np.asarray(world.levels, dtype=np.int32)
    for name in world.variables:
        info = VARIABLES[name]
        if info.kind == "static":
            values = world.statics[name]
            std = float(values.std())
            moments = (float(values.mean()), std, 1e-6 * max(std, 1.0), float(values.min()))
            for i in range(4):
                stats[i][name] = xr.DataArray(np.float32(moments[i]))
        elif info.atmospheric:
            for i in range(4):
                stats[i][name] = xr.DataArray(np.array([per_field[(name, p)][i] for p in world.levels], np.float32),
                                              dims=("level",), coords={"level": levels})
        else:
            for i in range(4):
                stats[i][name] = xr.DataArray(np.float32(per_field[(name, None)][i]))
    for name, moments in _progress_moments(lag_days).items():
        for i in range(4):
            stats[i][name] = xr.DataArray(np.float32(moments[i]))
    words = ("mean", "stddev", f"{lag} difference stddev (rms)", "minimum (floor or 5-sigma bound)")
    datasets = [
        xr.Dataset(stats[i], attrs={"description": f"Analytic {words[i]} of the mindgencast synthetic world "
                                                   "(pooled over grid points, unweighted, and over the cycles)."})
        for i in range(4)
    ]
    return ClimatologyMoments(*datasets)
