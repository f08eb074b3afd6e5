"""Score forecast files against a truth dataset: every metric, region, lead time, level.

The one library call behind ``mindgencast evaluate``. Scores follow WeatherBench2
(Rasp et al., 2024) as used by GenCast (Price et al., 2024, Supplement A): scores are
area-weighted over lat/lon and averaged over initialisations; RMSE and spread average
squared quantities over initialisations *before* the square root.

Result layout (one ``xr.Dataset``):

- one data variable per forecast variable (WB2 name), dims
  ``(metric, region, lead_time[, level])``. ``metric`` holds names such as ``crps``,
  ``ensemble_mean_rmse``, ``debiased_ensemble_mean_rmse``, ``ensemble_spread``,
  ``spread_skill_ratio``, ``brier_score_q99.99``; with a baseline also
  ``baseline_<metric>`` and ``brier_skill_score_q<q>`` (skill of the forecast over
  the baseline);
- ``<variable>_rank_histogram``, dims ``(region, lead_time[, level], rank)``: counts of
  the truth's rank over all grid points and initialisations (unweighted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.metrics.alignment import (
    ENSEMBLE_DIM,
    INIT_DIM,
    LEAD_DIM,
    forecast_variables,
    select_grid,
    select_truth,
    select_variables,
    split_init_times,
)
from mindgencast.metrics.baselines import climatology_baseline, persistence_baseline
from mindgencast.metrics.brier import QUANTILE_DIM, brier_score, brier_skill_score
from mindgencast.metrics.crps import crps
from mindgencast.metrics.rank_histogram import rank_histogram
from mindgencast.metrics.regions import REGIONS, region_mask
from mindgencast.metrics.rmse import ensemble_mean_rmse, ensemble_spread
from mindgencast.metrics.spread_skill import spread_skill_ratio

__all__ = ["SCALAR_METRICS", "DEFAULT_METRICS", "evaluate", "brier_metric_name"]

REGION_DIM = "region"
METRIC_DIM = "metric"
SCALAR_METRICS = (
    "crps",
    "ensemble_mean_rmse",
    "debiased_ensemble_mean_rmse",
    "ensemble_spread",
    "spread_skill_ratio",
)
DEFAULT_METRICS = (*SCALAR_METRICS, "rank_histogram")
_KNOWN_METRICS = (*DEFAULT_METRICS, "brier_score")


def brier_metric_name(quantile: float, prefix: str = "brier_score") -> str:
    """``brier_score_q99.99`` for quantile 0.9999."""
    return f"{prefix}_q{100.0 * float(quantile):g}"


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _scalar_metric(name: str, forecast, truth, fair: bool, mask, average_dims):
    kwargs = dict(mask=mask, average_dims=average_dims)
    if name == "crps":
        return crps(forecast, truth, ENSEMBLE_DIM, fair=fair, **kwargs)
    if name == "ensemble_mean_rmse":
        return ensemble_mean_rmse(forecast, truth, ENSEMBLE_DIM, **kwargs)
    if name == "debiased_ensemble_mean_rmse":
        return ensemble_mean_rmse(forecast, truth, ENSEMBLE_DIM, debiased=True, **kwargs)
    if name == "ensemble_spread":
        return ensemble_spread(forecast, ENSEMBLE_DIM, **kwargs)
    if name == "spread_skill_ratio":
        if forecast.sizes[ENSEMBLE_DIM] < 2:
            return np.nan * crps(forecast, truth, ENSEMBLE_DIM, **kwargs)
        return spread_skill_ratio(forecast, truth, ENSEMBLE_DIM, **kwargs)
    raise ValueError(f"unknown metric {name!r}")


def _forecast_parts(forecast, variables):
    parts = []
    for i, ds in enumerate(_as_list(forecast)):
        parts.extend(split_init_times(ds, name=f"forecast #{i + 1}"))
    inits = [p[INIT_DIM].values for p in parts]
    duplicates = sorted({str(t) for t in inits if sum(np.array_equal(t, u) for u in inits) > 1})
    if duplicates:
        raise ValueError(f"the forecasts repeat init times {', '.join(duplicates)}; give each initialisation once")
    first = parts[0]
    variables = forecast_variables(first) if variables is None else list(variables)
    absent = [v for v in variables if v not in first.data_vars]
    if absent:
        raise ValueError(f"requested variables missing from the forecast: {', '.join(absent)}")
    aligned = []
    for part in parts:
        label = f"forecast (init {pd.Timestamp(part[INIT_DIM].values)})"
        part = select_variables(part, variables, first, label, "first forecast")
        if not np.array_equal(part[LEAD_DIM].values, first[LEAD_DIM].values):
            raise ValueError(f"{label} has lead times differing from the first forecast's; evaluate them separately")
        if part.sizes[ENSEMBLE_DIM] != first.sizes[ENSEMBLE_DIM]:
            raise ValueError(
                f"{label} has {part.sizes[ENSEMBLE_DIM]} members, the first forecast {first.sizes[ENSEMBLE_DIM]}"
            )
        aligned.append(select_grid(part, first, False, label, "first forecast"))
    return aligned, variables


def _baseline_parts(baseline, parts, truth, regrid_subset, window_days):
    if isinstance(baseline, str):
        if baseline == "persistence":
            return [persistence_baseline(p, truth, regrid_subset) for p in parts], "persistence"
        if baseline == "climatology":
            found = [climatology_baseline(p, truth, window_days, regrid_subset) for p in parts]
            members = min(b.sizes[ENSEMBLE_DIM] for b in found)
            return [b.isel({ENSEMBLE_DIM: slice(0, members)}) for b in found], "climatology"
        raise ValueError(f"unknown baseline {baseline!r}; use 'persistence', 'climatology' or a forecast dataset")
    pool = {}
    for i, ds in enumerate(_as_list(baseline)):
        for part in split_init_times(ds, name=f"baseline #{i + 1}"):
            pool[pd.Timestamp(part[INIT_DIM].values)] = part
    out = []
    for p in parts:
        init = pd.Timestamp(p[INIT_DIM].values)
        if init not in pool:
            raise ValueError(f"the baseline has no forecast initialised at {init}; baseline init times: {sorted(map(str, pool))}")
        b = select_variables(pool[init], list(p.data_vars), p, "baseline", "forecast")
        missing = [str(t) for t in p[LEAD_DIM].values if t not in b[LEAD_DIM].values]
        if missing:
            raise ValueError(f"the baseline initialised at {init} lacks lead times {', '.join(missing)}")
        b = b.sel({LEAD_DIM: p[LEAD_DIM].values})
        out.append(select_grid(b, p, regrid_subset, "baseline", "forecast"))
    members = min(b.sizes[ENSEMBLE_DIM] for b in out)
    if any(b.sizes[ENSEMBLE_DIM] != members for b in out):
        raise ValueError("the baseline forecasts have different ensemble sizes")
    return out, "forecast file"


def _stack(parts):
    """Concatenate initialisations along ``init_time`` (valid_time differs per init: dropped), as float64."""
    return xr.concat([p.drop_vars("valid_time", errors="ignore") for p in parts], dim=INIT_DIM).astype(np.float64)


def evaluate(
    forecast,
    truth: xr.Dataset,
    baseline=None,
    metrics=DEFAULT_METRICS,
    regions=tuple(REGIONS),
    variables=None,
    thresholds: xr.Dataset | None = None,
    regrid_subset: bool = False,
    fair: bool = True,
    climatology_window_days: float = 15.0,
    rng=None,
) -> xr.Dataset:
    """Scores of ensemble forecasts against the truth (and a baseline).

    Args:
      forecast: a forecast dataset or a list of them (one or more initialisations each),
        ``[member, lead_time, [level,] lat, lon]`` with scalar ``init_time``.
      truth: ``[time, [level,] lat, lon]`` WeatherBench2-layout dataset.
      baseline: None; ``"persistence"``; ``"climatology"`` (see
        :mod:`mindgencast.metrics.baselines`); or forecast dataset(s) with the same init
        times (deterministic ones without ``member`` are 1-member ensembles).
      metrics: subset of ``crps``, ``ensemble_mean_rmse``,
        ``debiased_ensemble_mean_rmse``, ``ensemble_spread``, ``spread_skill_ratio``,
        ``rank_histogram``, ``brier_score`` (needs ``thresholds``).
      regions: names of :data:`mindgencast.metrics.REGIONS` or Region objects.
      variables: variables to score (default: all of the forecast's).
      thresholds: per-variable ``[quantile, [level,] lat, lon]`` event thresholds
        (:func:`mindgencast.metrics.climatological_thresholds`) for ``brier_score``.
      regrid_subset: allow a forecast grid that is a subset of the truth grid.
      fair: fair (M(M-1)) CRPS estimator; False for the standard M^2 one.
      climatology_window_days: date window of the climatology baseline.
      rng: tie-breaking randomness of the rank histograms (Generator, seed, None = 0).

    Returns:
      Dataset described in the module docstring.
    """
    unknown = [m for m in metrics if m not in _KNOWN_METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {', '.join(_KNOWN_METRICS)}")
    if "brier_score" in metrics and thresholds is None:
        raise ValueError("metric 'brier_score' needs thresholds (e.g. climatological_thresholds(truth, [0.9999]))")
    parts, variables = _forecast_parts(forecast, variables)
    truths = [select_truth(p, truth, regrid_subset) for p in parts]
    baselines, baseline_kind = (None, "none") if baseline is None else _baseline_parts(
        baseline, parts, truth, regrid_subset, climatology_window_days
    )
    if thresholds is not None:
        thresholds = select_variables(thresholds, variables, parts[0], "thresholds", "forecast")
        thresholds = select_grid(thresholds, parts[0], regrid_subset, "thresholds", "forecast")
        if QUANTILE_DIM not in thresholds.dims:
            raise ValueError(f"thresholds need a {QUANTILE_DIM!r} dim (from climatological_thresholds)")

    grid = parts[0]
    region_names = [r if isinstance(r, str) else r.name for r in regions]
    masks = xr.concat([region_mask(grid["lat"].values, grid["lon"].values, r) for r in regions], dim=REGION_DIM)
    masks = masks.assign_coords({REGION_DIM: region_names})
    average = (INIT_DIM,)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    forecast_all, truth_all = _stack(parts), _stack(truths)
    baseline_all = None if baselines is None else _stack(baselines)

    scores = {}
    for v in variables:
        f, t = forecast_all[v], truth_all[v]
        b = None if baseline_all is None else baseline_all[v]
        named, reference_named, skill_named = {}, {}, {}
        for m in (m for m in metrics if m in SCALAR_METRICS):
            named[m] = _scalar_metric(m, f, t, fair, masks, average)
            if b is not None:
                reference_named[f"baseline_{m}"] = _scalar_metric(m, b, t, fair, masks, average)
        if "brier_score" in metrics:
            for q in thresholds[QUANTILE_DIM].values:
                threshold = thresholds[v].sel({QUANTILE_DIM: q})
                exceed = bool(q >= 0.5)
                score = brier_score(f, t, threshold, ENSEMBLE_DIM, exceed=exceed, mask=masks, average_dims=average)
                named[brier_metric_name(q)] = score
                if b is not None:
                    reference = brier_score(b, t, threshold, ENSEMBLE_DIM, exceed=exceed, mask=masks, average_dims=average)
                    reference_named[brier_metric_name(q, "baseline_brier_score")] = reference
                    skill_named[brier_metric_name(q, "brier_skill_score")] = brier_skill_score(score, reference)
        named.update(reference_named)
        named.update(skill_named)
        if named:
            stacked = xr.concat(
                [a.drop_vars(QUANTILE_DIM, errors="ignore") for a in named.values()], dim=METRIC_DIM, coords="minimal"
            )
            stacked = stacked.assign_coords({METRIC_DIM: list(named)})
            scores[v] = stacked.transpose(METRIC_DIM, REGION_DIM, LEAD_DIM, ...).astype(np.float64)
        if "rank_histogram" in metrics:
            hist = rank_histogram(f, t, ENSEMBLE_DIM, rng=generator, mask=masks, reduce_dims=average)
            scores[f"{v}_rank_histogram"] = hist.transpose(REGION_DIM, LEAD_DIM, ...)
    out = xr.Dataset(scores)
    out.attrs.update(
        {
            "title": "mindgencast evaluation scores (WeatherBench2 conventions)",
            "ensemble_size": int(forecast_all.sizes[ENSEMBLE_DIM]),
            "num_init_times": len(parts),
            "init_times": ", ".join(str(pd.Timestamp(p[INIT_DIM].values)) for p in parts),
            "crps_estimator": "fair (M(M-1))" if fair else "standard (M^2)",
            "spread_skill_convention": "WeatherBench2: spread / RMSE without the sqrt((M+1)/M) factor",
            "averaging": "area-weighted over lat/lon; RMSE and spread average squares over init times before the root",
            "baseline": baseline_kind,
            "baseline_ensemble_size": 0 if baseline_all is None else int(baseline_all.sizes[ENSEMBLE_DIM]),
        }
    )
    return out
