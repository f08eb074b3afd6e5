"""Write a dataset of the built-in synthetic world (ERA5 / WeatherBench2 layout, NetCDF)
plus its analytic normalisation statistics.

Output in --out: data.nc (or data_YYYY.nc per calendar year with --yearly),
stats/{mean_by_level,stddev_by_level,diffs_stddev_by_level,min_by_level}.nc
(GenCast's statistics layout, exact moments of the world's law) and world.json
(the world's law and seed, for the oracle). Every file is written under a
temporary name and moved into place when complete. See docs/synthetic_world.md.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile

import pandas as pd

NAME = "make-synthetic"
HELP = "write a synthetic ERA5-format dataset with a known law (and its statistics)"

_ALIASES = {"tiny": "gencast_tiny"}


def add_arguments(parser):
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--grid", type=float, default=None,
                        help="grid resolution in degrees, e.g. 5.625 (default: the config's grid, else 5.625)")
    parser.add_argument("--start", default="2000-01-01", help="first time, UTC (default 2000-01-01)")
    parser.add_argument("--days", type=float, default=365.0, help="number of days to generate (default 365)")
    parser.add_argument("--config", default="tiny",
                        help="model config whose task (variables, levels) to generate: a built-in name "
                             "('tiny' = gencast_tiny, gencast_1p0deg, ...) or a YAML file (default tiny)")
    parser.add_argument("--time-step", default="6h", help="spacing of the times: 6h or 12h, ... (default 6h)")
    parser.add_argument("--seed", type=int, default=0, help="weather realisation (default 0)")
    parser.add_argument("--yearly", action="store_true", help="one file per calendar year (data_YYYY.nc)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")


def _load_model_config(name: str):
    from mindgencast.config import load_model_config
    from mindgencast.config.builtin import builtin_config, builtin_config_names

    name = _ALIASES.get(name, name)
    if name in builtin_config_names():
        return builtin_config(name)
    path = pathlib.Path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"--config {name!r} is neither a built-in config ({', '.join(builtin_config_names())}, or 'tiny') "
            "nor an existing YAML file"
        )
    return load_model_config(path)


def _year_windows(start: pd.Timestamp, end: pd.Timestamp):
    """[(year, first, last_exclusive)] covering [start, end)."""
    windows = []
    t = start
    while t < end:
        next_year = pd.Timestamp(year=t.year + 1, month=1, day=1)
        stop = min(end, next_year)
        windows.append((t.year, t, stop))
        t = stop
    return windows


def run(args) -> int:
    from mindgencast.config import GridConfig
    from mindgencast.data.synthetic import SyntheticWorld

    model_config = _load_model_config(args.config)
    if args.grid is not None:
        grid = GridConfig(resolution=args.grid)
    else:
        grid = model_config.grid or GridConfig(resolution=5.625)
    if not args.days > 0:
        raise ValueError(f"--days must be positive, got {args.days}")
    try:
        start = pd.Timestamp(args.start)
    except ValueError as e:
        raise ValueError(f"--start {args.start!r} is not a date/time (use e.g. 2000-01-01): {e}") from None
    world = SyntheticWorld(model_config.task_config, grid, seed=args.seed, time_step=args.time_step)
    world.times(start, days=args.days)  # validates start against the time axis before writing
    end = start + pd.Timedelta(days=args.days)

    out = pathlib.Path(args.out)
    if args.yearly:
        files = {f"data_{year}.nc": (first, stop) for year, first, stop in _year_windows(start, end)}
    else:
        files = {"data.nc": (start, end)}
    names = [*files, "stats", "world.json"]
    existing = [n for n in names if (out / n).exists()]
    if existing and not args.overwrite:
        raise ValueError(f"{out} already holds {', '.join(existing)}; pass --overwrite to replace them")

    out.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=".make-synthetic-", dir=out))
    try:
        for name, (first, stop) in files.items():
            world.write(staging / name, first, days=(stop - first) / pd.Timedelta("1D"))
        world.write_stats(staging / "stats")
        record = {"synthetic_world": json.loads(world.config.to_json()), "seed": world.seed,
                  "start": str(start), "days": args.days, "files": list(files)}
        (staging / "world.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        for name in names:
            if (out / name).is_dir():
                shutil.rmtree(out / name)
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"wrote {out}: {', '.join(files)} ({world.times(start, days=args.days).size} times, "
          f"{grid.resolution:g} deg, {len(world.variables)} variables, levels {list(world.levels)}), stats/, world.json")
    return 0
