"""Samples per second of the training store and pipeline.

Builds a random ERA5-like series for a built-in task on a regular grid (values drawn
around the fixture's statistics, SST NaN over a fake land mask), packs it with
``write_store`` and times:

  * write: seconds to build the store (MB/s of float32 written);
  * source: ``TrainingExamples[i]`` at random indices in one process
    (h5py read + NaN fill + normalisation + stacking of one example);
  * dataset: a ``training_dataset`` epoch (shuffled, batched) with N workers.

usage:
  python benchmarks/store_throughput.py --grid 5.625 --times 64
  python benchmarks/store_throughput.py --grid 1.0 --times 12 --task gencast_1p0deg --workers 1 4
"""

from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
import time

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.builtin import builtin_config
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.pipeline import TrainingExamples, training_dataset
from mindgencast.data.store import write_store
from mindgencast.data.validation import required_variables

FIXTURE_STATS = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "gencast_tiny" / "stats"


def random_series(task, stats: NormalizationStats, resolution: float, num_times: int, seed: int = 0) -> xr.Dataset:
    """A plain-layout series on a lat-lon grid with poles, 12-hourly, mean + stddev * N(0, 1)."""
    rng = np.random.default_rng(seed)
    lat = np.linspace(-90.0, 90.0, int(round(180 / resolution)) + 1)
    lon = np.arange(int(round(360 / resolution))) * resolution
    levels = np.asarray(task.pressure_levels, np.int32)
    land = rng.random((lat.size, lon.size)) < 0.3
    times = pd.date_range("2016-01-01", periods=num_times, freq="12h").values
    out = {}
    for name in required_variables(task):
        mean, std = stats.mean_by_level[name], stats.stddev_by_level[name]
        if "level" in mean.dims:
            mean, std = mean.sel(level=levels).values, std.sel(level=levels).values
            shape, dims = (num_times, levels.size, lat.size, lon.size), ("time", "level", "lat", "lon")
            mean, std = mean[:, None, None], std[:, None, None]
        elif name in ("land_sea_mask", "geopotential_at_surface"):
            shape, dims = (lat.size, lon.size), ("lat", "lon")
        else:
            shape, dims = (num_times, lat.size, lon.size), ("time", "lat", "lon")
        values = (np.float32(mean) + np.float32(std) * rng.standard_normal(shape, np.float32)).astype(np.float32)
        if name == "land_sea_mask":
            values = land.astype(np.float32)
        if name in ("total_precipitation_12hr", "specific_humidity", "geopotential_at_surface"):
            values = np.abs(values)
        if name == "sea_surface_temperature":
            values[:, land] = np.nan
        out[name] = (dims, values)
    return xr.Dataset(out, coords={"time": times, "level": levels, "lat": lat, "lon": lon})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="gencast_tiny", help="built-in config whose task is packed")
    parser.add_argument("--grid", type=float, default=5.625, help="grid resolution in degrees")
    parser.add_argument("--times", type=int, default=64, help="12-hourly times in the store")
    parser.add_argument("--compression", choices=("none", "gzip", "lzf"), default="none")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--samples", type=int, default=50, help="random examples timed on the source")
    parser.add_argument("--dir", default=None, help="where to write the store (default: a temporary dir)")
    args = parser.parse_args(argv)

    task = builtin_config(args.task).task_config
    stats = NormalizationStats.load(FIXTURE_STATS)
    data = random_series(task, stats, args.grid, args.times)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = pathlib.Path(tmp) / "bench.h5"
        start = time.perf_counter()
        write_store(path, data, task, compression=None if args.compression == "none" else args.compression)
        write_s = time.perf_counter() - start
        megabytes = sum(v.nbytes for v in data.data_vars.values()) / 1e6
        print(f"task {args.task}, grid {args.grid} deg ({data.sizes['lat']}x{data.sizes['lon']}), "
              f"{len(task.pressure_levels)} levels, {args.times} times, compression {args.compression}, "
              f"{os.cpu_count()} CPUs")
        print(f"write: {write_s:.2f} s ({megabytes / write_s:.1f} MB/s of data, file {path.stat().st_size / 1e6:.1f} MB)")

        source = TrainingExamples(path, stats)
        shapes = [a.shape for a in source[0]]
        order = np.random.default_rng(1).integers(0, len(source), args.samples)
        start = time.perf_counter()
        for i in order:
            source[int(i)]
        per_s = args.samples / (time.perf_counter() - start)
        print(f"source: {per_s:.1f} samples/s (one process; shapes inputs/targets/forcings {shapes})")

        for workers in args.workers:
            dataset = training_dataset(path, stats, batch_size=1, shuffle=True, seed=0,
                                       num_parallel_workers=workers)
            start = time.perf_counter()
            count = sum(1 for _ in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1))
            per_s = count / (time.perf_counter() - start)
            print(f"dataset: {per_s:.1f} samples/s with {workers} worker(s) ({count} samples, shuffled)")


if __name__ == "__main__":
    main()
