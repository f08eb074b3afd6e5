"""Brier score and Brier skill score for exceeding climatological quantiles.

GenCast evaluates extremes by the Brier score of the event "value beyond the
climatological q-quantile of this grid point" (e.g. above the 99.99th or below the
0.01th percentile; Price et al., 2024, Methods "Extreme weather"; Brier, 1950):

    BS = <(p - o)^2>,  p = fraction of members in the event,  o = 1 if the truth is.

``fair=True`` subtracts ``p (1 - p) / (M - 1)`` pointwise, the unbiased
("ensemble-size-adjusted") form of Ferro (2014). The Brier skill score is
``1 - BS / BS_reference`` (1 perfect, 0 no better than the reference).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mindgencast.metrics._checks import ensemble_size
from mindgencast.metrics.latitude_weights import area_mean

__all__ = ["QUANTILE_DIM", "climatological_thresholds", "brier_score", "brier_skill_score"]

QUANTILE_DIM = "quantile"


def climatological_thresholds(climatology, quantiles, time_dim: str = "time"):
    """Per-grid-point quantiles of a climatology.

    Args:
      climatology: DataArray or Dataset ``[time, ..., lat, lon]`` (e.g. years of ERA5).
      quantiles: iterable of probabilities in (0, 1), e.g. ``(0.9999, 0.0001)``.
      time_dim: dim reduced by the quantile.

    Returns:
      Same type as ``climatology`` with ``time_dim`` replaced by ``quantile``; same units.
    """
    quantiles = [float(q) for q in quantiles]
    bad = [q for q in quantiles if not 0.0 < q < 1.0]
    if bad:
        raise ValueError(f"quantiles must lie strictly between 0 and 1, got {bad}")
    if time_dim not in climatology.dims:
        raise ValueError(f"climatology has no dim {time_dim!r} to take quantiles over (dims {tuple(climatology.dims)})")
    return climatology.quantile(quantiles, dim=time_dim)


def _event_direction(threshold: xr.DataArray, exceed):
    """+1 for exceedance, -1 for non-exceedance, broadcastable against ``threshold``."""
    if exceed is not None:
        return 1.0 if exceed else -1.0
    if QUANTILE_DIM in threshold.dims:
        # High quantiles ask "above?", low quantiles "below?".
        return xr.where(threshold[QUANTILE_DIM] >= 0.5, 1.0, -1.0)
    return 1.0


def brier_score(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    threshold,
    ensemble_dim: str = "member",
    exceed: bool | None = None,
    fair: bool = False,
    mask: xr.DataArray | None = None,
    average_dims=(),
) -> xr.DataArray:
    """Area-mean Brier score of the event ``value > threshold`` (or ``<``).

    Args:
      forecast: ``[member, ..., lat, lon]`` ensemble.
      truth: ``[..., lat, lon]`` verifying values.
      threshold: scalar or DataArray broadcastable to ``truth`` (e.g. ``[quantile, lat,
        lon]`` from :func:`climatological_thresholds`), same units as the data.
      exceed: True: event is ``> threshold``; False: ``< threshold``; None: by the
        ``quantile`` coordinate (q >= 0.5 exceedance, q < 0.5 non-exceedance), else True.
      fair: subtract the finite-ensemble term p(1 - p)/(M - 1) (needs M >= 2).
      mask, average_dims: as in :func:`mindgencast.metrics.crps`.

    Returns:
      Dimensionless score in [0, 1] (fair: can dip slightly below 0), dims of the
      broadcast inputs minus ``ensemble_dim``, lat, lon, ``average_dims``.
    """
    m = ensemble_size(forecast, truth, ensemble_dim)
    if not isinstance(threshold, xr.DataArray):
        threshold = xr.DataArray(np.asarray(threshold, dtype=np.float64))
    direction = _event_direction(threshold, exceed)
    probability = (direction * (forecast - threshold) > 0).mean(ensemble_dim)
    outcome = (direction * (truth - threshold) > 0).astype(np.float64)
    # Comparisons with NaN are False: mask missing points (e.g. SST over land) instead.
    valid = truth.notnull() & forecast.notnull().all(ensemble_dim)
    score = ((probability - outcome) ** 2).where(valid)
    if fair:
        if m < 2:
            raise ValueError("the fair Brier score needs at least 2 ensemble members")
        score = score - probability * (1.0 - probability) / (m - 1)
    return area_mean(score, mask=mask, average_dims=average_dims)


def brier_skill_score(score, reference_score):
    """``1 - score / reference_score``; NaN where the reference is 0 (event never forecast nor seen)."""
    reference_score = xr.DataArray(reference_score) if np.isscalar(reference_score) else reference_score
    return 1.0 - score / reference_score.where(reference_score != 0)
