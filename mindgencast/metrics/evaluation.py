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
  the baseline); with several baselines a leading ``baseline`` dim (the forecast's own
  metrics are the same along it);
- ``<variable>_rank_histogram``, dims ``(region, lead_time[, level], rank)``: counts of
  the truth's rank over all grid points and initialisations (unweighted).

Points where the truth is NaN (e.g. sea surface temperature over land) are left out of
every score. Data are read batch by batch (whole initialisations while small, single
lead times when large), so files larger than memory can be scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.metrics.acc import anomaly_correlation
from mindgencast.metrics.alignment import (
    ENSEMBLE_DIM,
    INIT_DIM,
    LEAD_DIM,
    TIME_DIM,
    forecast_variables,
    select_grid,
    select_truth,
    select_variables,
    split_init_times,
    standardise,
)
from mindgencast.metrics.baselines import MIN_CLIMATOLOGY_YEARS, climatology_baseline, persistence_baseline
from mindgencast.metrics.brier import QUANTILE_DIM, brier_score, brier_skill_score
from mindgencast.metrics.crps import crps
from mindgencast.metrics.rank_histogram import rank_histogram
from mindgencast.metrics.regions import REGIONS, region_mask
from mindgencast.metrics.rmse import ensemble_mean_squared_error, ensemble_variance
from mindgencast.metrics.spread_skill import spread_skill_from_moments

__all__ = ["SCALAR_METRICS", "DEFAULT_METRICS", "evaluate", "brier_metric_name"]

REGION_DIM = "region"
BASELINE_DIM = "baseline"
METRIC_DIM = "metric"
SCALAR_METRICS = (
    "crps",
    "ensemble_mean_rmse",
    "debiased_ensemble_mean_rmse",
    "ensemble_spread",
    "spread_skill_ratio",
)
DEFAULT_METRICS = (*SCALAR_METRICS, "rank_histogram")
# "acc": anomaly correlation against the climatology (mean of the climatology
# baseline's members at each valid time), so it needs a multi-year truth; opt-in.
_KNOWN_METRICS = (*DEFAULT_METRICS, "brier_score", "acc")
_BATCH_BYTES = 256 * 2**20  # float64 forecast values scored at once


def brier_metric_name(quantile: float, prefix: str = "brier_score") -> str:
    """``brier_score_q99.99`` for quantile 0.9999."""
    return f"{prefix}_q{100.0 * float(quantile):g}"


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _moments(f, t, metrics, fair, masks, thresholds, generator, c=None) -> dict:
    """Per-initialisation statistics that average (or add) over init times.

    Squared quantities are kept un-rooted so that RMSE and spread are roots of
    time means (WeatherBench2); rank counts add.
    """
    # Score spread on the same points as error: none where the truth is missing.
    f = f.where(t.notnull())
    out = {}
    if "crps" in metrics:
        out["crps"] = crps(f, t, ENSEMBLE_DIM, fair=fair, mask=masks)
    if {"ensemble_mean_rmse", "spread_skill_ratio"} & set(metrics):
        out["mse"] = ensemble_mean_squared_error(f, t, ENSEMBLE_DIM, mask=masks)
    if "debiased_ensemble_mean_rmse" in metrics:
        out["debiased_mse"] = ensemble_mean_squared_error(f, t, ENSEMBLE_DIM, debiased=True, mask=masks)
    if {"ensemble_spread", "spread_skill_ratio"} & set(metrics):
        out["variance"] = ensemble_variance(f, ENSEMBLE_DIM, mask=masks)
    if "brier_score" in metrics:
        for q in thresholds[QUANTILE_DIM].values:
            threshold = thresholds.sel({QUANTILE_DIM: q}, drop=True)
            out[brier_metric_name(q)] = brier_score(f, t, threshold, ENSEMBLE_DIM, exceed=bool(q >= 0.5), mask=masks)
    if "rank_histogram" in metrics:
        out["rank_histogram"] = rank_histogram(f, t, ENSEMBLE_DIM, rng=generator, mask=masks)
    if "acc" in metrics:
        out["acc"] = anomaly_correlation(f, t, c, ENSEMBLE_DIM, mask=masks)
    return out


def _scores_from_moments(moments: dict, metrics, members: int) -> dict:
    """Final scores (name -> DataArray) from init-time-averaged moments."""
    out = {}
    for m in metrics:
        if m == "crps":
            out[m] = moments["crps"]
        elif m == "ensemble_mean_rmse":
            out[m] = np.sqrt(moments["mse"])
        elif m == "debiased_ensemble_mean_rmse":
            # Unbiased but can dip below zero when the error is tiny: clamp before the root.
            out[m] = np.sqrt(moments["debiased_mse"].clip(min=0.0))
        elif m == "ensemble_spread":
            out[m] = np.sqrt(moments["variance"])
        elif m == "spread_skill_ratio":
            out[m] = spread_skill_from_moments(moments["variance"], moments["mse"], members)
        elif m == "acc":
            out[m] = moments["acc"]
    out.update({k: v for k, v in moments.items() if k.startswith("brier_score")})
    return out


def _batches(parts, variable: str):
    """Groups of (init indices, lead slice) of about ``_BATCH_BYTES`` each.

    Whole initialisations are grouped while small (few xarray calls for many short
    forecasts); a large one is split by lead time, so memory stays bounded.
    """
    lead_count = parts[0].sizes[LEAD_DIM]
    per_lead = 8 * int(np.prod([n for d, n in parts[0][variable].sizes.items() if d != LEAD_DIM]))
    leads_per_batch = int(np.clip(_BATCH_BYTES // max(per_lead, 1), 1, lead_count))
    inits_per_batch = max(1, _BATCH_BYTES // max(per_lead * lead_count, 1)) if leads_per_batch == lead_count else 1
    for start in range(0, len(parts), inits_per_batch):
        inits = list(range(start, min(len(parts), start + inits_per_batch)))
        for lead in range(0, lead_count, leads_per_batch):
            yield inits, slice(lead, lead + leads_per_batch)


def _load(datasets, inits, leads, variable):
    """``[init_time, ...]`` float64 array of one variable over some inits and lead times."""
    pieces = [datasets[i][variable].isel({LEAD_DIM: leads}).drop_vars("valid_time", errors="ignore") for i in inits]
    return xr.concat(pieces, dim=INIT_DIM).load().astype(np.float64)


def _load_truth(truth, parts, inits, leads, variable):
    """``[init_time, lead_time, ...]`` float64 truth at the valid times of a batch.

    One indexing call for the whole batch, so a lazily opened series reads each on-disk
    chunk once (:mod:`mindgencast.metrics.truth_files`) instead of once per init time.
    """
    valid = np.stack([parts[i]["valid_time"].values[leads] for i in inits])
    index = pd.Index(truth[TIME_DIM].values).get_indexer(valid.ravel())
    da = truth[variable].transpose(TIME_DIM, ...).isel({TIME_DIM: index}).load().astype(np.float64)
    data = da.values.reshape(*valid.shape, *da.shape[1:])
    coords = {d: da[d] for d in da.dims[1:] if d in da.coords}
    coords[INIT_DIM] = [parts[i][INIT_DIM].values for i in inits]
    coords[LEAD_DIM] = parts[inits[0]][LEAD_DIM].values[leads]
    return xr.DataArray(data, dims=(INIT_DIM, LEAD_DIM, *da.dims[1:]), coords=coords)


def _all_moments(datasets, truths, variable, metrics, fair, masks, thresholds, generator, climatologies=None) -> dict:
    """``[init_time, region, lead_time, ...]`` moments of one variable, batch by batch.

    ``truths`` is ``(truth on the forecast grid, forecast parts)``; ``climatologies`` the
    climatological mean per forecast part (only for ``acc``).
    """
    batches = []
    for inits, leads in _batches(datasets, variable):
        f, t = _load(datasets, inits, leads, variable), _load_truth(*truths, inits, leads, variable)
        c = None if climatologies is None else _load(climatologies, inits, leads, variable)
        batches.append((inits, leads, _moments(f, t, metrics, fair, masks, thresholds, generator, c)))
    out = {}
    for key in batches[0][2]:
        rows = {}
        for inits, _leads, moments in batches:
            rows.setdefault(tuple(inits), []).append(moments[key])
        out[key] = xr.concat([xr.concat(r, dim=LEAD_DIM) for r in rows.values()], dim=INIT_DIM)
    return out


def _forecast_parts(forecast, variables):
    parts = []
    for i, ds in enumerate(_as_list(forecast)):
        parts.extend(split_init_times(ds, name=f"forecast #{i + 1}"))
    inits = [pd.Timestamp(p[INIT_DIM].values) for p in parts]
    duplicates = sorted({str(t) for t in inits if inits.count(t) > 1})
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


_KEYWORD_BASELINES = ("persistence", "climatology")


def _named_baselines(baseline) -> dict:
    """``{name: spec}`` of the baselines to score; a spec is a keyword or forecast dataset(s).

    A string (or list of keyword strings) gives one baseline per keyword; a dataset or
    list of datasets is one baseline (forecast files together covering the init times);
    a dict names its baselines itself.
    """
    if baseline is None:
        return {}
    if isinstance(baseline, dict):
        return dict(baseline)
    if isinstance(baseline, str):
        baseline = [baseline]
    items = _as_list(baseline)
    words = [b for b in items if isinstance(b, str)]
    if not words:
        return {"forecast_file": items}
    if len(words) != len(items):
        raise ValueError("give keyword baselines and forecast-file baselines as a dict {name: baseline}")
    unknown = [w for w in words if w not in _KEYWORD_BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; use 'persistence', 'climatology' or a forecast dataset")
    if len(set(words)) != len(words):
        raise ValueError(f"baselines given twice: {words}")
    return {w: w for w in words}


def _baseline_parts(baseline, parts, truth, regrid_subset, window_days, climatology, min_years):
    """Baseline forecasts, one per part, and a description of them for the output attributes."""
    if isinstance(baseline, str):
        if baseline == "persistence":
            # All init states in one read (chunk-aware for a lazily opened series).
            standard = standardise(truth)
            inits = [p[INIT_DIM].values for p in parts]
            present = [t for t in inits if t in standard[TIME_DIM].values]
            states = standard[list(parts[0].data_vars)].sel({TIME_DIM: present}).load()
            return [persistence_baseline(p, states, regrid_subset) for p in parts], {}
        if baseline == "climatology":
            found = [climatology_baseline(p, climatology, window_days, regrid_subset, min_years) for p in parts]
            members = min(b.sizes[ENSEMBLE_DIM] for b in found)
            years = sorted({y for b in found for y in b.attrs["climatology_years"]})
            times = climatology["time"].values
            info = {
                "climatology_source": climatology.attrs.get("source_files", "the truth dataset"),
                "climatology_time_span": f"{pd.Timestamp(times.min())} .. {pd.Timestamp(times.max())}",
                "climatology_years_used": ", ".join(map(str, years)),
                "climatology_window_days": float(window_days),
                "climatology_min_years": int(min_years),
            }
            return [b.isel({ENSEMBLE_DIM: slice(0, members)}) for b in found], info
        raise ValueError(f"unknown baseline {baseline!r}; use 'persistence', 'climatology' or a forecast dataset")
    pool = {}
    for i, ds in enumerate(_as_list(baseline)):
        for part in split_init_times(ds, name=f"baseline #{i + 1}"):
            pool[pd.Timestamp(part[INIT_DIM].values)] = part
    out = []
    for p in parts:
        init = pd.Timestamp(p[INIT_DIM].values)
        if init not in pool:
            raise ValueError(
                f"the baseline has no forecast initialised at {init}; baseline init times: {sorted(map(str, pool))}"
            )
        b = select_variables(pool[init], list(p.data_vars), p, "baseline", "forecast")
        missing = [str(t) for t in p[LEAD_DIM].values if t not in b[LEAD_DIM].values]
        if missing:
            raise ValueError(f"the baseline initialised at {init} lacks lead times {', '.join(missing)}")
        b = b.sel({LEAD_DIM: p[LEAD_DIM].values})
        out.append(select_grid(b, p, regrid_subset, "baseline", "forecast"))
    members = min(b.sizes[ENSEMBLE_DIM] for b in out)
    if any(b.sizes[ENSEMBLE_DIM] != members for b in out):
        raise ValueError("the baseline forecasts have different ensemble sizes")
    return out, {}


def _baseline_scores(named, reference_named) -> dict:
    """``baseline_<metric>`` entries and Brier skill scores of the forecast over one baseline."""
    out = {f"baseline_{k}": a for k, a in reference_named.items()}
    for k in reference_named:
        if k.startswith("brier_score"):
            out[k.replace("brier_score", "brier_skill_score")] = brier_skill_score(named[k], reference_named[k])
    return out


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
    climatology: xr.Dataset | None = None,
    climatology_min_years: int = MIN_CLIMATOLOGY_YEARS,
) -> xr.Dataset:
    """Scores of ensemble forecasts against the truth (and one or more baselines).

    Args:
      forecast: a forecast dataset or a list of them (one or more initialisations each),
        ``[member, lead_time, [level,] lat, lon]`` with scalar ``init_time``.
      truth: ``[time, [level,] lat, lon]`` WeatherBench2-layout dataset.
      baseline: None; ``"persistence"``; ``"climatology"`` (see
        :mod:`mindgencast.metrics.baselines`); forecast dataset(s) with the same init
        times (deterministic ones without ``member`` are 1-member ensembles); a list of
        keywords (several baselines); or a dict ``{name: one of those}``.
      metrics: subset of ``crps``, ``ensemble_mean_rmse``,
        ``debiased_ensemble_mean_rmse``, ``ensemble_spread``, ``spread_skill_ratio``,
        ``rank_histogram``, ``brier_score`` (needs ``thresholds``), ``acc`` (anomaly
        correlation of the ensemble mean against the climatological mean within
        ``climatology_window_days`` in other years: needs a multi-year climatology).
      regions: names of :data:`mindgencast.metrics.REGIONS` or Region objects.
      variables: variables to score (default: all of the forecast's).
      thresholds: per-variable ``[quantile, [level,] lat, lon]`` event thresholds
        (:func:`mindgencast.metrics.climatological_thresholds`) for ``brier_score``.
      regrid_subset: allow a forecast grid that is a subset of the truth grid.
      fair: fair (M(M-1)) CRPS estimator; False for the standard M^2 one.
      climatology_window_days: date window of the climatology baseline.
      rng: tie-breaking randomness of the rank histograms (Generator, seed, None = 0).
      climatology: ``[time, [level,] lat, lon]`` source of the climatology baseline
        (default: the truth).
      climatology_min_years: fewest other years in every valid time's window.

    Returns:
      Dataset described in the module docstring; with several baselines the score
      variables have a leading ``baseline`` dim.
    """
    unknown = [m for m in metrics if m not in _KNOWN_METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {', '.join(_KNOWN_METRICS)}")
    if "brier_score" in metrics and thresholds is None:
        raise ValueError("metric 'brier_score' needs thresholds (e.g. climatological_thresholds(truth, [0.9999]))")
    parts, variables = _forecast_parts(forecast, variables)
    for p in parts:
        select_truth(p, truth, regrid_subset)  # names missing times, variables, levels, grids
    on_grid = select_grid(select_variables(standardise(truth), variables, parts[0], "truth", "forecast"), parts[0],
                          regrid_subset, "truth", "forecast")
    truths = (on_grid, parts)
    climatology = truth if climatology is None else climatology
    baselines, info = {}, {}
    for name, spec in _named_baselines(baseline).items():
        baselines[name], found = _baseline_parts(spec, parts, truth, regrid_subset, climatology_window_days,
                                                 climatology, climatology_min_years)
        info.update(found)
    climatologies = None
    if "acc" in metrics:  # climatological mean at each valid time (needs several years)
        climatologies = [
            climatology_baseline(p, climatology, climatology_window_days, regrid_subset, climatology_min_years).mean(
                ENSEMBLE_DIM)
            for p in parts
        ]
    if thresholds is not None:
        thresholds = select_variables(thresholds, variables, parts[0], "thresholds", "forecast")
        thresholds = select_grid(thresholds, parts[0], regrid_subset, "thresholds", "forecast")
        if QUANTILE_DIM not in thresholds.dims:
            raise ValueError(f"thresholds need a {QUANTILE_DIM!r} dim (from climatological_thresholds)")

    grid = parts[0]
    region_names = [r if isinstance(r, str) else r.name for r in regions]
    masks = xr.concat([region_mask(grid["lat"].values, grid["lon"].values, r) for r in regions], dim=REGION_DIM)
    masks = masks.assign_coords({REGION_DIM: region_names})
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    members = parts[0].sizes[ENSEMBLE_DIM]
    baseline_members = {name: b[0].sizes[ENSEMBLE_DIM] for name, b in baselines.items()}
    scalar = [m for m in metrics if m != "rank_histogram"]

    scores = {}
    for v in variables:
        thresholds_v = None if thresholds is None else thresholds[v]
        moments = _all_moments(parts, truths, v, metrics, fair, masks, thresholds_v, generator, climatologies)
        mean = {k: a.mean(INIT_DIM) for k, a in moments.items() if k != "rank_histogram"}
        named = _scores_from_moments(mean, scalar, members)
        per_baseline = []
        for name, parts_b in baselines.items():
            reference = _all_moments(parts_b, truths, v, scalar, fair, masks, thresholds_v, generator,
                                     climatologies)
            reference_mean = {k: a.mean(INIT_DIM) for k, a in reference.items()}
            reference_named = _scores_from_moments(reference_mean, scalar, baseline_members[name])
            per_baseline.append({**named, **_baseline_scores(named, reference_named)})
        tables = [_stack(t) for t in (per_baseline or [named]) if t]
        if len(tables) > 1:
            # Forecast metrics repeat along ``baseline``; baseline_* and skill scores differ.
            scores[v] = xr.concat(tables, dim=BASELINE_DIM).assign_coords({BASELINE_DIM: list(baselines)})
        elif tables:
            scores[v] = tables[0]
        if "rank_histogram" in metrics:
            counts = moments["rank_histogram"].sum(INIT_DIM)
            scores[f"{v}_rank_histogram"] = counts.transpose(REGION_DIM, LEAD_DIM, ...)
    out = xr.Dataset(scores)
    out.attrs.update(
        {
            "title": "mindgencast evaluation scores (WeatherBench2 conventions)",
            "ensemble_size": int(members),
            "num_init_times": len(parts),
            "init_times": ", ".join(str(pd.Timestamp(p[INIT_DIM].values)) for p in parts),
            "crps_estimator": "fair (M(M-1))" if fair else "standard (M^2)",
            "spread_skill_convention": "WeatherBench2: spread / RMSE without the sqrt((M+1)/M) factor",
            "averaging": "area-weighted over lat/lon; RMSE and spread average squares over init times before the root",
            "baseline": ", ".join(baselines) or "none",
            "baseline_ensemble_size": ", ".join(str(n) for n in baseline_members.values()) or "0",
            **info,
        }
    )
    if len(baselines) == 1:
        out.attrs["baseline_ensemble_size"] = int(next(iter(baseline_members.values())))
    elif not baselines:
        out.attrs["baseline_ensemble_size"] = 0
    return out


def _stack(named: dict) -> xr.DataArray:
    """``[metric, region, lead_time, ...]`` array of name -> score."""
    stacked = xr.concat(list(named.values()), dim=METRIC_DIM, coords="minimal")
    stacked = stacked.assign_coords({METRIC_DIM: list(named)})
    return stacked.transpose(METRIC_DIM, REGION_DIM, LEAD_DIM, ...).astype(np.float64)
