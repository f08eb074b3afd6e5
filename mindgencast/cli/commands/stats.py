"""Compute GenCast's four normalisation statistics files from an ERA5-like dataset.

Writes mean_by_level.nc, stddev_by_level.nc, diffs_stddev_by_level.nc and
min_by_level.nc (the layout NormalizationStats.load reads) in one streaming pass over
time: memory is bounded by --time-chunk, not by the number of years. Moments are
unweighted, NaN-ignoring (SST over land), over all times and grid points, per level;
diffs_stddev is the standard deviation of 12 h differences x(t + 12h) - x(t) (GenCast's
step); `--config` takes a model's task instead: its variables (TOA incident solar
radiation and the clock features computed from the times when the data lack them), its
levels, and its step as the difference step (6 h for GraphCast).
Nothing is written unless every statistic is computed (each file is replaced atomically).

examples:
  mindgencast stats --data era5_1deg.nc --out stats/
  mindgencast stats --data era5.zarr --out stats/ --levels 500 700 850 --time-chunk 16
  mindgencast stats --data era5_6hourly.nc --out stats_graphcast/ --config graphcast_1p0deg_small
"""

from __future__ import annotations

import argparse

NAME = "stats"
HELP = "compute normalisation statistics (mean, stddev, diffs stddev, min) of a dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, nargs="+", metavar="PATH",
                        help="ERA5 in WeatherBench2 layout (NetCDF file or Zarr store), or several files "
                             "merged (e.g. CDS pressure-level and single-level files)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for the four .nc files")
    parser.add_argument("--levels", type=int, nargs="+", default=None, metavar="HPA",
                        help="pressure levels to keep (default: all levels of the data)")
    parser.add_argument("--variables", nargs="+", default=None, metavar="NAME",
                        help="variables (default: every float variable plus year/day progress features)")
    parser.add_argument("--time-chunk", type=int, default=64, metavar="N",
                        help="times read per step; bounds the memory used (default: 64)")
    parser.add_argument("--config", default=None, metavar="CONFIG",
                        help="built-in config name or model YAML: statistics of its task's variables on its levels, "
                             "differences over its step (GenCast 12 h, GraphCast 6 h); excludes --variables/--levels")
    parser.add_argument("--difference-step", default=None, metavar="STEP",
                        help="step of the differences of diffs_stddev_by_level, e.g. 6h (default: 12h, or the "
                             "--config model's step)")


def run(args) -> int:
    from mindgencast.data.era5_io import open_era5
    from mindgencast.data.stats import compute_statistics

    variables, levels, step = args.variables, args.levels, args.difference_step
    if args.config is not None:
        if variables is not None or levels is not None:
            raise ValueError("--config sets the variables and levels: drop --variables/--levels, or drop --config")
        model = _model_config(args.config)
        task = model.task_config
        variables = list(dict.fromkeys(task.input_variables + task.target_variables + task.forcing_variables))
        levels, step = list(task.pressure_levels), step or model.model_step
    data = open_era5(args.data[0] if len(args.data) == 1 else args.data)
    stats = compute_statistics(data, variables=variables, levels=levels, time_chunk=args.time_chunk,
                               **({"difference_step": step} if step else {}))
    stats.save(args.out)
    names = sorted(map(str, stats.mean_by_level.data_vars))
    print(f"wrote {args.out}: statistics of {len(names)} variables over {data.sizes['time']} times")
    return 0


def _model_config(name: str):
    import os

    from mindgencast.config.builtin import builtin_config, builtin_config_names
    from mindgencast.config.io import load_model_config

    if os.path.exists(name):
        return load_model_config(name)
    if name in builtin_config_names():
        return builtin_config(name)
    raise ValueError(f"--config {name!r} is neither a YAML file nor a built-in config ({', '.join(builtin_config_names())})")
