"""Anomaly correlation coefficient (ACC) against a climatology, area-weighted.

WeatherBench2 (Rasp et al., 2024, Eq. 6) and GraphCast (Lam et al., 2023, Supplement
"Verification"): with ``c`` the climatology at the valid time, ``f' = f - c`` and
``o' = o - c``::

    ACC = <f' o'> / sqrt(<f'^2> <o'^2>)

where ``<.>`` is the area-weighted mean over lat/lon. An ensemble is scored by its mean.
ACC is computed per remaining point (lead time, level, init time) and only then averaged
over ``average_dims``. 1 is perfect; it ignores a forecast's amplitude errors (use RMSE).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mindgencast.metrics.latitude_weights import LAT_DIM, LON_DIM, area_mean

__all__ = ["anomaly_correlation"]


def anomaly_correlation(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    climatology: xr.DataArray,
    ensemble_dim: str = "member",
    mask: xr.DataArray | None = None,
    average_dims=(),
) -> xr.DataArray:
    """Area-weighted ACC of a (deterministic or ensemble-mean) forecast.

    Args:
      forecast: ``[[member,] ..., lat, lon]``; an ``ensemble_dim`` is averaged first.
      truth: ``[..., lat, lon]`` verifying values, same units.
      climatology: the climatological mean at the same valid times/points, broadcastable
        to ``truth`` (e.g. from ``metrics.baselines.climatology_baseline``).
      mask: optional ``[lat, lon]`` region mask; average_dims: dims averaged after the ACC.

    Returns:
      ACC in [-1, 1] with the dims of ``forecast`` minus member, lat, lon, ``average_dims``;
      NaN where either anomaly is identically zero.
    """
    for name, x in (("forecast", forecast), ("truth", truth), ("climatology", climatology)):
        if LAT_DIM not in x.dims or LON_DIM not in x.dims:
            raise ValueError(f"{name} needs dims 'lat' and 'lon', got {x.dims}")
    if ensemble_dim in forecast.dims:
        forecast = forecast.mean(ensemble_dim)
    f_anom = forecast.astype(np.float64) - climatology
    o_anom = truth.astype(np.float64) - climatology
    covariance = area_mean(f_anom * o_anom, mask=mask)
    norm = np.sqrt(area_mean(f_anom**2, mask=mask) * area_mean(o_anom**2, mask=mask))
    acc = covariance / norm.where(norm > 0)
    dims = [d for d in average_dims if d in acc.dims]
    return acc.mean(dim=dims) if dims else acc
