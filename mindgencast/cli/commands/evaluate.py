"""Score ensemble forecast files against truth the WeatherBench2 way.

Computes area-weighted CRPS (fair by default), ensemble-mean RMSE (plain and debiased),
spread, spread/skill and rank histograms per variable, level, lead time and region
(global, tropics, northern and southern extratropics), optionally Brier scores of
climatological extremes, against ERA5-like truth in WeatherBench2 layout. With a
baseline it also scores the baseline and draws a GenCast-style scorecard (% difference
in CRPS and RMSE; blue better, red worse). All outputs are written only if everything
succeeds.

examples:
  mindgencast evaluate --forecast fc_*.nc --truth era5.nc --out scores.nc --csv scores.csv
  mindgencast evaluate --forecast fc.nc --truth era5.nc --baseline persistence --out s.nc --plots plots/
"""

from __future__ import annotations

import argparse
import os

NAME = "evaluate"
HELP = "score forecast files (CRPS, RMSE, spread/skill, rank histograms, scorecard)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--forecast", nargs="+", required=True, metavar="NC",
                        help="forecast NetCDF file(s) written by 'mindgencast forecast' (one or more init times)")
    parser.add_argument("--truth", required=True, metavar="PATH",
                        help="truth dataset in WeatherBench2 layout (dims time, [level,] lat/latitude, lon/longitude)")
    parser.add_argument("--baseline", nargs="+", metavar="B",
                        help="'persistence' (truth at init time), 'climatology' (truth on nearby dates of other "
                             "years, as an ensemble), or forecast file(s) with the same init times")
    parser.add_argument("--out", required=True, metavar="NC", help="scores NetCDF to write")
    parser.add_argument("--csv", metavar="CSV", help="also write the scores as a tidy CSV table")
    parser.add_argument("--plots", metavar="DIR",
                        help="write crps.png, rmse.png, spread_skill.png (and scorecard.png with a baseline) here")
    parser.add_argument("--variables", nargs="+", metavar="VAR",
                        help="variables to score (default: all in the forecast)")
    parser.add_argument("--regions", nargs="+", metavar="REGION",
                        default=["global", "tropics", "extratropics_north", "extratropics_south"],
                        help="regions to score (default: %(default)s)")
    parser.add_argument("--plot-region", default="global", metavar="REGION",
                        help="region shown in the plots (default: global)")
    parser.add_argument("--brier-quantiles", nargs="+", type=float, metavar="Q",
                        help="also score Brier scores of exceeding (Q >= 0.5) or falling below (Q < 0.5) the "
                             "per-grid-point climatological Q-quantile, e.g. 0.9999 0.0001")
    parser.add_argument("--climatology", metavar="PATH",
                        help="dataset whose time quantiles give the Brier thresholds (default: the truth)")
    parser.add_argument("--climatology-window-days", type=float, default=15.0, metavar="DAYS",
                        help="date window of the climatology baseline (default: %(default)s)")
    parser.add_argument("--regrid-subset", action="store_true",
                        help="allow forecasts on a subset of the truth grid (e.g. every 4th point): "
                             "select those truth points")
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


def run(args: argparse.Namespace) -> int:
    from mindgencast.metrics import climatological_thresholds
    from mindgencast.metrics.alignment import forecast_variables, standardise
    from mindgencast.metrics.evaluation import DEFAULT_METRICS, evaluate
    from mindgencast.metrics.score_files import atomic_outputs, scores_to_dataframe
    from mindgencast.metrics.scorecard import CURVE_PLOTS, curves_figure, scorecard_figure

    forecasts = [_open(p, "forecast") for p in args.forecast]
    truth = _open(args.truth, "truth")
    baseline = None
    if args.baseline:
        keywords = [b for b in args.baseline if b in ("persistence", "climatology")]
        if keywords and len(args.baseline) > 1:
            raise ValueError(
                f"--baseline takes either one of 'persistence'/'climatology' or files, got {args.baseline}"
            )
        baseline = keywords[0] if keywords else [_open(p, "baseline") for p in args.baseline]
    metrics = list(DEFAULT_METRICS)
    thresholds = None
    if args.brier_quantiles:
        climatology = standardise(_open(args.climatology, "climatology") if args.climatology else truth)
        wanted = args.variables or forecast_variables(forecasts[0])
        absent = [v for v in wanted if v not in climatology.data_vars]
        if absent:
            raise ValueError(f"variables missing from the climatology dataset: {', '.join(absent)}")
        thresholds = climatological_thresholds(climatology[wanted], args.brier_quantiles)
        metrics.append("brier_score")
    if args.plot_region not in args.regions:
        raise ValueError(f"--plot-region {args.plot_region!r} is not among --regions {args.regions}")

    scores = evaluate(
        forecasts, truth, baseline=baseline, metrics=metrics, regions=args.regions, variables=args.variables,
        thresholds=thresholds, regrid_subset=args.regrid_subset, fair=not args.standard_crps,
        climatology_window_days=args.climatology_window_days, rng=args.seed,
    )
    figures = {}
    if args.plots:
        for stem in CURVE_PLOTS:
            figures[os.path.join(args.plots, f"{stem}.png")] = curves_figure(scores, stem, region=args.plot_region)
        if baseline is not None:
            figures[os.path.join(args.plots, "scorecard.png")] = scorecard_figure(scores, region=args.plot_region)
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
