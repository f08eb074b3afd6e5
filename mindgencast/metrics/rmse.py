"""Ensemble-mean RMSE (plain and debiased) and ensemble spread, area-weighted.

WeatherBench2 definitions (Rasp et al., 2024, Eqs. 3, 10, 11), as used in the GenCast
paper (Price et al., 2024, Supplement A.2):

    RMSE   = sqrt( <(mean_i X_i - y)^2> )
    spread = sqrt( <var_i X_i> ),           var with ddof = 1
    debiased RMSE = sqrt( <(mean_i X_i - y)^2 - var_i X_i / M> )

where ``<.>`` is the area-weighted mean over lat/lon (and any ``average_dims``, e.g. init
times, averaged *before* the square root). The debiased form removes the finite-ensemble
error of the sample mean, estimating the RMSE of an infinite ensemble.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from mindgencast.metrics._checks import ensemble_size
from mindgencast.metrics.latitude_weights import area_mean

__all__ = ["ensemble_mean_squared_error", "ensemble_variance", "ensemble_mean_rmse", "ensemble_spread"]


def _member_variance(forecast: xr.DataArray, ensemble_dim: str) -> xr.DataArray:
    """Pointwise variance over members, ddof=1."""
    with warnings.catch_warnings():
        # Points where every member is NaN (masked out) have no variance: NaN, skipped by the area mean.
        warnings.simplefilter("ignore", RuntimeWarning)
        return forecast.var(ensemble_dim, ddof=1)


def ensemble_mean_squared_error(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    ensemble_dim: str = "member",
    debiased: bool = False,
    mask: xr.DataArray | None = None,
    average_dims=(),
) -> xr.DataArray:
    """Area-mean squared error of the ensemble mean, ``<(mean_i X_i - y)^2>``.

    Args:
      forecast: ``[member, ..., lat, lon]`` ensemble.
      truth: ``[..., lat, lon]`` verifying values, same units.
      debiased: subtract ``var/M`` (ddof=1) pointwise; needs M >= 2 (NaN for M = 1).
        Unbiased, so it can be slightly negative: not clamped here.
      mask, average_dims: as in :func:`mindgencast.metrics.crps`.

    Returns:
      MSE with dims of ``forecast`` minus ``ensemble_dim``, lat, lon, ``average_dims``;
      units of ``forecast`` squared.
    """
    m = ensemble_size(forecast, truth, ensemble_dim)
    squared_error = (forecast.mean(ensemble_dim) - truth) ** 2
    if debiased:
        # The variance needs two members; one member has no debiased error (NaN).
        correction = _member_variance(forecast, ensemble_dim) / m if m > 1 else np.nan
        squared_error = squared_error - correction
    return area_mean(squared_error, mask=mask, average_dims=average_dims)


def ensemble_variance(
    forecast: xr.DataArray,
    ensemble_dim: str = "member",
    mask: xr.DataArray | None = None,
    average_dims=(),
) -> xr.DataArray:
    """Area-mean ensemble variance ``<var_i X_i>`` (ddof=1); NaN for a single member.

    Returns:
      Dims of ``forecast`` minus ``ensemble_dim``, lat, lon, ``average_dims``; units of
      ``forecast`` squared.
    """
    if ensemble_dim not in forecast.dims:
        raise ValueError(f"forecast has no ensemble dim {ensemble_dim!r} (dims {forecast.dims})")
    if forecast.sizes[ensemble_dim] < 2:
        variance = xr.full_like(forecast.isel({ensemble_dim: 0}, drop=True), np.nan, dtype=np.float64)
    else:
        variance = _member_variance(forecast, ensemble_dim)
    return area_mean(variance, mask=mask, average_dims=average_dims)


def ensemble_mean_rmse(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    ensemble_dim: str = "member",
    debiased: bool = False,
    mask: xr.DataArray | None = None,
    average_dims=(),
) -> xr.DataArray:
    """Root of the area-mean squared error of the ensemble mean.

    Args:
      forecast: ``[member, ..., lat, lon]`` ensemble.
      truth: ``[..., lat, lon]`` verifying values, same units.
      debiased: subtract ``var/M`` (ddof=1) from the squared error before the root;
        needs M >= 2 (NaN for M = 1).
      mask, average_dims: as in :func:`mindgencast.metrics.crps`.

    Returns:
      RMSE with dims of ``forecast`` minus ``ensemble_dim``, lat, lon, ``average_dims``;
      units of ``forecast``.
    """
    mse = ensemble_mean_squared_error(forecast, truth, ensemble_dim, debiased, mask, average_dims)
    # The debiased estimate is unbiased but can dip below zero when the true error is
    # tiny; clamp so that the root exists (the RMSE of an infinite ensemble is >= 0).
    return np.sqrt(mse.clip(min=0.0))


def ensemble_spread(
    forecast: xr.DataArray,
    ensemble_dim: str = "member",
    mask: xr.DataArray | None = None,
    average_dims=(),
) -> xr.DataArray:
    """Root of the area-mean ensemble variance (ddof=1); NaN for a single member.

    Args:
      forecast: ``[member, ..., lat, lon]`` ensemble.

    Returns:
      Spread with dims of ``forecast`` minus ``ensemble_dim``, lat, lon, ``average_dims``;
      units of ``forecast``.
    """
    return np.sqrt(ensemble_variance(forecast, ensemble_dim, mask, average_dims))
