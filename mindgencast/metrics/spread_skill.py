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
from mindgencast.metrics.rmse import ensemble_mean_rmse, ensemble_spread

__all__ = ["spread_skill_ratio"]


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
      forecast: ``[member, ..., lat, lon]`` ensemble with M >= 2 members.
      truth: ``[..., lat, lon]`` verifying values.
      corrected: apply the sqrt((M + 1)/M) finite-ensemble factor (not WB2's default).
      mask, average_dims: as in :func:`mindgencast.metrics.crps`.

    Returns:
      Ratio with dims of ``forecast`` minus ``ensemble_dim``, lat, lon, ``average_dims``.
    """
    m = ensemble_size(forecast, truth, ensemble_dim)
    spread = ensemble_spread(forecast, ensemble_dim, mask=mask, average_dims=average_dims)
    if corrected:
        spread = spread * np.sqrt((m + 1) / m)
    return spread / ensemble_mean_rmse(forecast, truth, ensemble_dim, mask=mask, average_dims=average_dims)
