"""Spread/skill ratio: ensemble spread over ensemble-mean RMSE.

WeatherBench2 convention (Rasp et al., 2024, Eq. 12), used by the GenCast paper
(Price et al., 2024, Supplement A.2):

    SSR = spread / RMSE = sqrt(<var_i X_i>) / sqrt(<(mean_i X_i - y)^2>)

with NO finite-ensemble factor. For a perfectly calibrated M-member ensemble
(truth exchangeable with the members) E[(mean - y)^2] = (M + 1)/M * var, so this SSR
tends to sqrt(M / (M + 1)) < 1, not 1 (0.95 for M = 10; 0.985 for GenCast's M = 50).
``corrected=True`` multiplies the spread by sqrt((M + 1)/M) (Fortin et al., 2014),
making the calibrated value 1 at any M.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mindgencast.metrics._checks import ensemble_size
from mindgencast.metrics.rmse import ensemble_mean_squared_error, ensemble_variance

__all__ = ["spread_skill_ratio", "spread_skill_from_moments"]


def spread_skill_from_moments(variance, squared_error, members: int, corrected: bool = False):
    """``sqrt(variance / squared_error)``, times sqrt((M + 1)/M) if ``corrected``.

    Args:
      variance: area(- and time-)mean ensemble variance (ddof=1), units^2.
      squared_error: area(- and time-)mean squared error of the ensemble mean, units^2.
      members: ensemble size M.
    """
    ratio = np.sqrt(variance / squared_error)
    return ratio * np.sqrt((members + 1) / members) if corrected else ratio


def spread_skill_ratio(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    ensemble_dim: str = "member",
    corrected: bool = False,
    mask: xr.DataArray | None = None,
    average_dims=(),
) -> xr.DataArray:
    """Spread / ensemble-mean RMSE (dimensionless; 1 means calibrated, < 1 under-dispersive).

    Args:
      forecast: ``[member, ..., lat, lon]`` ensemble (NaN for a single member).
      truth: ``[..., lat, lon]`` verifying values.
      corrected: apply the sqrt((M + 1)/M) finite-ensemble factor (not WB2's default).
      mask, average_dims: as in :func:`mindgencast.metrics.crps`.

    Returns:
      Ratio with dims of ``forecast`` minus ``ensemble_dim``, lat, lon, ``average_dims``.
    """
    m = ensemble_size(forecast, truth, ensemble_dim)
    variance = ensemble_variance(forecast, ensemble_dim, mask=mask, average_dims=average_dims)
    squared_error = ensemble_mean_squared_error(forecast, truth, ensemble_dim, mask=mask, average_dims=average_dims)
    return spread_skill_from_moments(variance, squared_error, m, corrected)
