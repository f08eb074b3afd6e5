"""Compute GenCast's four normalisation statistics files from an ERA5-like dataset.

Writes mean_by_level.nc, stddev_by_level.nc, diffs_stddev_by_level.nc and
min_by_level.nc (the layout NormalizationStats.load reads) in one streaming pass over
time: memory is bounded by --time-chunk, not by the number of years. Moments are
unweighted, NaN-ignoring (SST over land), over all times and grid points, per level;
diffs_stddev is the standard deviation of 12 h differences x(t + 12h) - x(t).
Nothing is written unless every statistic is computed (each file is replaced atomically).

examples:
  mindgencast stats --data era5_1deg.nc --out stats/
  mindgencast stats --data era5.zarr --out stats/ --levels 500 700 850 --time-chunk 16
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


def run(args) -> int:
    from mindgencast.data.era5_io import open_era5
    from mindgencast.data.stats import compute_statistics

    data = open_era5(args.data[0] if len(args.data) == 1 else args.data)
    stats = compute_statistics(data, variables=args.variables, levels=args.levels, time_chunk=args.time_chunk)
    stats.save(args.out)
    names = sorted(map(str, stats.mean_by_level.data_vars))
    print(f"wrote {args.out}: statistics of {len(names)} variables over {data.sizes['time']} times")
    return 0
