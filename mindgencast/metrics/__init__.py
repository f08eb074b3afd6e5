"""Probabilistic verification of ensemble forecasts, the WeatherBench2 way.

Area-weighted scores (Rasp et al., 2024, "WeatherBench 2"; Price et al., 2024, GenCast,
Supplement A): CRPS, ensemble-mean RMSE, spread, spread/skill, rank histograms, Brier
scores of extremes, regional means, and :func:`evaluate`, which scores forecast files
against a truth dataset. xarray in, xarray out; lat/lon are averaged, other dims kept.
"""

from mindgencast.metrics.acc import anomaly_correlation
from mindgencast.metrics.brier import brier_score, brier_skill_score, climatological_thresholds
from mindgencast.metrics.crps import crps
from mindgencast.metrics.evaluation import evaluate
from mindgencast.metrics.latitude_weights import area_mean, latitude_weights
from mindgencast.metrics.rank_histogram import rank_histogram
from mindgencast.metrics.regions import REGIONS, Region, region_mask, regional_mean
from mindgencast.metrics.rmse import ensemble_mean_rmse, ensemble_mean_squared_error, ensemble_spread, ensemble_variance
from mindgencast.metrics.spectra import ensemble_spectra, zonal_power_spectrum
from mindgencast.metrics.spread_skill import spread_skill_ratio

__all__ = [
    "latitude_weights",
    "area_mean",
    "crps",
    "ensemble_mean_rmse",
    "ensemble_spread",
    "ensemble_mean_squared_error",
    "ensemble_variance",
    "spread_skill_ratio",
    "rank_histogram",
    "brier_score",
    "brier_skill_score",
    "climatological_thresholds",
    "Region",
    "REGIONS",
    "region_mask",
    "regional_mean",
    "evaluate",
    "anomaly_correlation",
    "zonal_power_spectrum",
    "ensemble_spectra",
]
