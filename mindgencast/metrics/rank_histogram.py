"""Rank (Talagrand) histograms of ensemble forecasts.

The rank of the truth among M members is the number of members below it, 0..M, so a
histogram has M + 1 bins (Hamill, 2001). Ties (e.g. zero precipitation) are broken
uniformly at random: with ``b`` members below and ``e`` equal, the rank is
``b + U{0..e}``. A calibrated ensemble gives a flat histogram; an under-dispersive one a
U shape; a biased one a slope (WeatherBench2, Rasp et al., 2024, Sec. 4.3).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mindgencast.metrics._checks import ensemble_size
from mindgencast.metrics.latitude_weights import LAT_DIM, LON_DIM, cell_weights

__all__ = ["RANK_DIM", "truth_rank", "rank_histogram"]

RANK_DIM = "rank"


def _as_generator(rng) -> np.random.Generator:
    # None gives a fixed seed so that scores are reproducible run to run.
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)


def truth_rank(forecast: xr.DataArray, truth: xr.DataArray, ensemble_dim: str = "member", rng=None) -> xr.DataArray:
    """Pointwise rank 0..M of the truth among the members, ties broken at random.

    Args:
      forecast: ``[member, ..., lat, lon]`` ensemble.
      truth: ``[..., lat, lon]`` verifying values.
      rng: ``numpy.random.Generator``, an integer seed, or None (seed 0).

    Returns:
      DataArray with the dims of ``forecast`` minus ``ensemble_dim``: integer ranks as
      float64, NaN where the truth or any member is NaN (e.g. SST over land).
    """
    ensemble_size(forecast, truth, ensemble_dim)
    below = (forecast < truth).sum(ensemble_dim)
    ties = (forecast == truth).sum(ensemble_dim)
    uniform = _as_generator(rng).random(below.shape)
    rank = below + np.floor(uniform * (ties + 1))
    valid = truth.notnull() & forecast.notnull().all(ensemble_dim)
    return rank.where(valid)


def rank_histogram(
    forecast: xr.DataArray,
    truth: xr.DataArray,
    ensemble_dim: str = "member",
    rng=None,
    weighted: bool = False,
    mask: xr.DataArray | None = None,
    reduce_dims=(),
) -> xr.DataArray:
    """Counts of the truth's rank among the members, in M + 1 bins.

    Args:
      forecast: ``[member, ..., lat, lon]`` ensemble of M members.
      truth: ``[..., lat, lon]`` verifying values.
      rng: random source for tie-breaking (Generator, seed, or None for seed 0).
      weighted: count each grid point with its area weight (mean 1 over the globe)
        instead of 1, so that polar points do not dominate.
      mask: optional ``[lat, lon]`` region mask (extra dims such as ``region`` carry
        through); points outside count 0.
      reduce_dims: further dims summed over (e.g. ``("init_time",)``).

    Returns:
      ``[..., rank]`` counts (float64), dims of ``forecast`` minus ``ensemble_dim``, lat,
      lon and ``reduce_dims``, plus ``rank`` = 0..M. Unweighted and unmasked, each
      histogram sums to the number of points counted; NaN points are not counted.
    """
    m = ensemble_size(forecast, truth, ensemble_dim)
    rank = truth_rank(forecast, truth, ensemble_dim, rng)
    weights = cell_weights(rank, mask, area=weighted)
    bins = xr.DataArray(np.arange(m + 1), dims=[RANK_DIM], coords={RANK_DIM: np.arange(m + 1)})
    sum_dims = [LAT_DIM, LON_DIM, *[d for d in reduce_dims if d in rank.dims]]
    counts = ((rank == bins) * weights).sum(dim=sum_dims)
    return counts.astype(np.float64).rename("rank_histogram")
