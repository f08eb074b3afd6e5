"""Continuous Ranked Probability Score of an ensemble, area-weighted.

For an ensemble ``X_1..X_M`` and truth ``y`` (Gneiting & Raftery, 2007, Eq. 21; fair form
Ferro, 2014; WeatherBench2, Rasp et al., 2024, Eq. 9; GenCast, Price et al., 2024,
Supplement A.1):

    CRPS = skill - 0.5 * spread,  skill = (1/M) sum_i |X_i - y|,
    spread = sum_{i,j} |X_i - X_j| / D,  D = M (M - 1) (fair) or M^2 (standard).

The fair estimator is unbiased for the CRPS of the distribution the members are drawn
from, at any M >= 2. The pair sum uses the sorted form
``sum_{i,j} |X_i - X_j| = 2 sum_k (2k - M - 1) X_(k)`` (k = 1..M over sorted members),
which costs O(M log M) instead of O(M^2).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mindgencast.metrics._checks import ensemble_size
from mindgencast.metrics.latitude_weights import area_mean

__all__ = ["crps", "ensemble_mean_abs_difference"]


def _pair_sum_sorted(x: np.ndarray) -> np.ndarray:
    """sum_{i,j} |x_i - x_j| over the last axis, via the sorted-member identity."""
    m = x.shape[-1]
    coefficient = 2.0 * np.arange(1, m + 1) - m - 1.0
    return 2.0 * np.sum(np.sort(x, axis=-1) * coefficient, axis=-1)


def ensemble_mean_abs_difference(forecast: xr.DataArray, ensemble_dim: str = "member", fair: bool = True):
    """Pointwise ensemble spread term ``E|X - X'|`` (no area mean).

    Args:
      forecast: DataArray with dim ``ensemble_dim`` of size M.
      fair: divide the pair sum by M(M-1) (True) or M^2 (False). For M = 1 the spread
        is 0 either way, so the CRPS of a single member is its absolute error.

    Returns:
      ``forecast`` without ``ensemble_dim``, in the units of ``forecast``.
    """
    m = forecast.sizes[ensemble_dim]
    pair_sum = xr.apply_ufunc(
        _pair_sum_sorted, forecast.astype(np.float64), input_core_dims=[[ensemble_dim]], dask="parallelized"
    )
    if m == 1:
        return xr.zeros_like(pair_sum)
    return pair_sum / (m * (m - 1) if fair else m * m)


def crps(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    ensemble_dim: str = "member",
    fair: bool = True,
    mask: xr.DataArray | None = None,
    average_dims=(),
) -> xr.DataArray:
    """Area-mean CRPS of an ensemble forecast.

    Args:
      forecast: ``[member, ..., lat, lon]`` ensemble (any extra dims, e.g. lead_time, level).
      truth: ``[..., lat, lon]`` verifying values in the same units, broadcastable to
        ``forecast`` without ``ensemble_dim``.
      ensemble_dim: name of the member dimension.
      fair: the unbiased M(M-1) estimator (default) or the standard M^2 one.
      mask: optional ``[lat, lon]`` region mask.
      average_dims: extra dims averaged with equal weight (e.g. ``("init_time",)``).

    Returns:
      CRPS with dims of ``forecast`` minus ``ensemble_dim``, lat, lon and ``average_dims``;
      units of ``forecast`` (lower is better).
    """
    ensemble_size(forecast, truth, ensemble_dim)
    skill = abs(forecast - truth).mean(ensemble_dim)
    spread = ensemble_mean_abs_difference(forecast, ensemble_dim, fair)
    return area_mean(skill - 0.5 * spread, mask=mask, average_dims=average_dims)
