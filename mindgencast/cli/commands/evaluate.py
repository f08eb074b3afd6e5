"""Score ensemble forecast files against truth the WeatherBench2 way.

Computes area-weighted CRPS (fair by default), ensemble-mean RMSE (plain and debiased),
spread, spread/skill and rank histograms per variable, level, lead time and region
(global, tropics, northern and southern extratropics), optionally Brier scores of
climatological extremes and the anomaly correlation (--acc), against ERA5-like truth in
WeatherBench2 layout (one or more files, read lazily as one series). A deterministic
forecast (GraphCast's, one member) is a 1-member ensemble: its CRPS is its mean absolute
error. With baselines it also scores each baseline and draws a GenCast-style scorecard
per baseline (% difference in CRPS and RMSE; blue better, red worse).

Writes --out (NetCDF scores; a 'baseline' dim when several baselines are given), --csv
(tidy table) and, with --plots DIR, crps.png, rmse.png, spread_skill.png and
scorecard.png (one baseline) or scorecard_<baseline>.png (several). All outputs are
written only if everything succeeds.

examples:
  mindgencast evaluate --forecast fc_*.nc --truth era5.nc --out scores.nc --csv scores.csv
  mindgencast evaluate --forecast fc.nc --truth train.nc test.nc --baseline persistence climatology \
      --climatology train_2000.nc train_2001.nc --out s.nc --plots plots/
"""

from __future__ import annotations

import argparse
import os

NAME = "evaluate"
HELP = "score forecast files (CRPS, RMSE, spread/skill, rank histograms, scorecard)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mindgencast.metrics.baselines import MIN_CLIMATOLOGY_YEARS

    parser.add_argument("--forecast", nargs="+", required=True, metavar="NC",
                        help="forecast NetCDF file(s) written by 'mindgencast forecast' (one or more init times)")
    parser.add_argument("--truth", nargs="+", required=True, metavar="PATH",
                        help="truth in WeatherBench2 layout (dims time, [level,] lat/latitude, lon/longitude): one "
                             "or more NetCDF/Zarr files with disjoint times, opened lazily as one series")
    parser.add_argument("--baseline", nargs="+", metavar="B",
                        help="one or more of 'persistence' (truth at init time), 'climatology' (truth on nearby "
                             "dates of other years, as an ensemble) and forecast file(s) with the same init times "
                             "(all files together form one baseline, named 'forecast_file')")
    parser.add_argument("--out", required=True, metavar="NC", help="scores NetCDF to write")
    parser.add_argument("--csv", metavar="CSV", help="also write the scores as a tidy CSV table")
    parser.add_argument("--plots", metavar="DIR",
                        help="write crps.png, rmse.png, spread_skill.png and the scorecard(s) here")
    parser.add_argument("--variables", nargs="+", metavar="VAR",
                        help="variables to score (default: all in the forecast)")
    parser.add_argument("--regions", nargs="+", metavar="REGION",
                        default=["global", "tropics", "extratropics_north", "extratropics_south"],
                        help="regions to score")
    parser.add_argument("--plot-region", default="global", metavar="REGION", help="region shown in the plots")
    parser.add_argument("--brier-quantiles", nargs="+", type=float, metavar="Q",
                        help="also score Brier scores of exceeding (Q >= 0.5) or falling below (Q < 0.5) the "
                             "per-grid-point climatological Q-quantile, e.g. 0.9999 0.0001")
    parser.add_argument("--climatology", nargs="+", metavar="PATH",
                        help="files (e.g. the training years) that make the climatology baseline and the Brier "
                             "thresholds, opened lazily as one series (default: the truth)")
    parser.add_argument("--climatology-window-days", type=float, default=15.0, metavar="DAYS",
                        help="date window of the climatology baseline")
    parser.add_argument("--climatology-min-years", type=int, default=MIN_CLIMATOLOGY_YEARS, metavar="N",
                        help="refuse a climatology baseline with fewer than N other years in some valid time's "
                             "date window")
    parser.add_argument("--regrid-subset", action="store_true",
                        help="allow forecasts on a subset of the truth grid (e.g. every 4th point): "
                             "select those truth points")
    parser.add_argument("--acc", action="store_true",
                        help="also score the anomaly correlation (ACC) against the climatological mean of "
                             "--climatology (default: the truth), which must span several years")
    parser.add_argument("--standard-crps", action="store_true",
                        help="use the standard M^2 CRPS estimator instead of the fair one")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rank-histogram tie-breaking (default: 0)")
    parser.add_argument("--spectra", metavar="NC",
                        help="also write zonal power spectra of members and truth here (and spectra.png with --plots)")


def _open(path: str, what: str):
    import xarray as xr

    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} file not found: {path}")
    if path.rstrip("/").endswith(".zarr"):
        return xr.open_zarr(path, decode_timedelta=True)
    return xr.open_dataset(path, decode_timedelta=True)


def _baselines(specs) -> dict:
    """``{name: keyword or [datasets]}``: each keyword its own baseline, all files one."""
    if not specs:
        return {}
    out = {}
    files = [b for b in specs if b not in ("persistence", "climatology")]
    for b in specs:
        if b in ("persistence", "climatology"):
            if b in out:
                raise ValueError(f"--baseline names {b!r} twice")
            out[b] = b
    if files:
        out["forecast_file"] = [_open(p, "baseline") for p in files]
    return out


def run(args: argparse.Namespace) -> int:
    from mindgencast.metrics import climatological_thresholds
    from mindgencast.metrics.alignment import forecast_variables, standardise
    from mindgencast.metrics.evaluation import DEFAULT_METRICS, evaluate
    from mindgencast.metrics.score_files import atomic_outputs, scores_to_dataframe
    from mindgencast.metrics.scorecard import CURVE_PLOTS, curves_figure, scorecard_figure
    from mindgencast.metrics.truth_files import open_series

    forecasts = [_open(p, "forecast") for p in args.forecast]
    truth = open_series(args.truth, "truth")
    climatology = open_series(args.climatology, "climatology") if args.climatology else truth
    baselines = _baselines(args.baseline)
    if args.climatology and "climatology" not in baselines and not args.brier_quantiles and not args.acc:
        raise ValueError("--climatology is used by --baseline climatology, --brier-quantiles and --acc; "
                         "give one of them")
    metrics = list(DEFAULT_METRICS)
    thresholds = None
    if args.brier_quantiles:
        wanted = args.variables or forecast_variables(forecasts[0])
        standard = standardise(climatology)
        absent = [v for v in wanted if v not in standard.data_vars]
        if absent:
            raise ValueError(f"variables missing from the climatology dataset: {', '.join(absent)}")
        thresholds = climatological_thresholds(standard[wanted], args.brier_quantiles)
        metrics.append("brier_score")
    if args.acc:
        metrics.append("acc")
    if args.plot_region not in args.regions:
        raise ValueError(f"--plot-region {args.plot_region!r} is not among --regions {args.regions}")

    scores = evaluate(
        forecasts, truth, baseline=baselines or None, metrics=metrics, regions=args.regions,
        variables=args.variables, thresholds=thresholds, regrid_subset=args.regrid_subset,
        fair=not args.standard_crps, climatology_window_days=args.climatology_window_days, rng=args.seed,
        climatology=climatology, climatology_min_years=args.climatology_min_years,
    )
    scores.attrs["truth_files"] = truth.attrs["source_files"]
    if args.brier_quantiles:
        scores.attrs["brier_thresholds_source"] = climatology.attrs["source_files"]
    figures = {}
    if args.plots:
        for stem in CURVE_PLOTS:
            figures[os.path.join(args.plots, f"{stem}.png")] = curves_figure(scores, stem, region=args.plot_region)
        for name in baselines:
            stem = "scorecard" if len(baselines) == 1 else f"scorecard_{name}"
            chosen = (scores.sel(baseline=name) if "baseline" in scores.dims else scores).copy(deep=False)
            chosen.attrs = {**scores.attrs, "baseline": name}  # a new dict: the file keeps every name
            figures[os.path.join(args.plots, f"{stem}.png")] = scorecard_figure(chosen, region=args.plot_region)
    table = scores_to_dataframe(scores) if args.csv else None
    spectra = _spectra(args, forecasts, truth, figures)

    paths = [args.out] + ([args.csv] if args.csv else []) + list(figures) + ([args.spectra] if args.spectra else [])
    with atomic_outputs(paths) as temps:
        scores.to_netcdf(temps[0])
        if args.csv:
            table.to_csv(temps[1], index=False)
        for temp, figure in zip(temps[1 + bool(args.csv):], figures.values()):
            figure.savefig(temp, format="png")
        if spectra is not None:
            spectra.to_netcdf(temps[-1])
    for path in paths:
        print(f"wrote {path}")
    return 0


def _spectra(args, forecasts, truth, figures):
    """Zonal spectra of members vs truth (``--spectra``); adds plots/spectra.png to ``figures``."""
    if not args.spectra:
        return None
    from mindgencast.metrics.spectra import ensemble_spectra
    from mindgencast.metrics.spectra_plot import spectra_figure

    spectra = ensemble_spectra(forecasts, truth, variables=args.variables, regrid_subset=args.regrid_subset)
    if args.plots:
        figures[os.path.join(args.plots, "spectra.png")] = spectra_figure(spectra)
    return spectra
