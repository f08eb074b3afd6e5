"""Pack ERA5 into the HDF5 training store read by the training pipeline.

Keeps the task's variables on its pressure levels, adds the year/day progress
features computed from the valid times, checks the data (missing variable or level,
irregular or duplicated times, non-float data, wrong units, NaN outside sea surface
temperature) and writes one float32 dataset per variable, chunked per time step.
Values stay physical: normalisation happens when examples are read, with the
statistics of `mindgencast stats`. The store is written under a temporary name and
renamed when complete, so a failure leaves no partial file.

examples:
  mindgencast prepare --data era5_1deg.nc --out train.h5 --task gencast_1p0deg
  mindgencast prepare --data era5.zarr --out train.h5 --config my_model.yaml --compression lzf
"""

from __future__ import annotations

import argparse

NAME = "prepare"
HELP = "pack ERA5 into an HDF5 training store (chunked per time step, float32)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, nargs="+", metavar="PATH",
                        help="ERA5 in WeatherBench2 layout (NetCDF or Zarr) or CDS files (merged)")
    parser.add_argument("--out", required=True, metavar="STORE.h5", help="the training store to write")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--config", metavar="CONFIG.yaml", help="model config YAML (its task_config is used)")
    which.add_argument("--task", metavar="NAME", help="built-in config name, e.g. gencast_1p0deg, gencast_tiny or graphcast_tiny")
    parser.add_argument("--compression", choices=("none", "gzip", "lzf"), default="none",
                        help="lossless HDF5 compression (default: none, fastest to read)")
    parser.add_argument("--time-chunk", type=int, default=16, metavar="N",
                        help="times read and written per step; bounds the memory used (default: 16)")


def _task_config(args):
    from mindgencast.config.builtin import builtin_config, builtin_config_names
    from mindgencast.config.io import load_model_config

    if args.task is not None:
        if args.task not in builtin_config_names():
            raise ValueError(f"unknown built-in config {args.task!r}; choose one of {builtin_config_names()}")
        return builtin_config(args.task).task_config
    return load_model_config(args.config).task_config


def run(args) -> int:
    from mindgencast.data.era5_io import open_era5
    from mindgencast.data.store import write_store

    task = _task_config(args)
    data = open_era5(args.data if len(args.data) > 1 else args.data[0], task_config=task)
    compression = None if args.compression == "none" else args.compression
    path = write_store(args.out, data, task, compression=compression, time_chunk=args.time_chunk)
    print(f"wrote {path}: {data.sizes['time']} times, {len(data.data_vars)} stored variables, "
          f"levels {list(task.pressure_levels)}")
    return 0
