"""Seconds of ``mindgencast evaluate`` against truth files of different on-disk layouts.

Writes three 6-hourly years (2000-2002) of random ERA5-like truth at 5.625 deg
(geopotential and temperature on 9 levels, 2 m temperature) in three NetCDF layouts and
a small forecast file (two inits in 2002, two 12-h leads, 4 members), then times
``evaluate`` on each layout, once with ``--baseline persistence`` and once with
``--baseline climatology`` (members from 2000 and 2001):

  * ``chunk910``: zlib-compressed, 910 times per chunk (what plain xarray / netCDF
    default chunking can give a long file: a read of one time decompresses 910);
  * ``chunk1``: zlib-compressed, one time per chunk;
  * ``contiguous``: uncompressed, no chunks (netCDF's default without compression).

Run it with the code to compare on PYTHONPATH (e.g. before and after a change):

  PYTHONPATH=$PWD python benchmarks/evaluate_chunked_truth.py --layouts chunk910 chunk1 contiguous
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd
import xarray as xr

LEVELS = [50, 100, 150, 200, 250, 300, 500, 700, 850]
LEVEL_VARIABLES = ("geopotential", "temperature")
LAYOUTS = ("chunk910", "chunk1", "contiguous")


def truth_year(num_times: int, resolution: float = 5.625, seed: int = 0) -> xr.Dataset:
    """``[time, level, lat, lon]`` random fields, 6-hourly from 2000-01-01."""
    rng = np.random.default_rng(seed)
    lat = np.linspace(-90 + resolution / 2, 90 - resolution / 2, int(180 / resolution))
    lon = np.arange(int(360 / resolution)) * resolution
    times = pd.date_range("2000-01-01", periods=num_times, freq="6h")
    shape = (num_times, len(LEVELS), lat.size, lon.size)
    data = {v: (("time", "level", "lat", "lon"), rng.standard_normal(shape, np.float32)) for v in LEVEL_VARIABLES}
    data["2m_temperature"] = (("time", "lat", "lon"), 280 + rng.standard_normal(shape[:1] + shape[2:], np.float32))
    return xr.Dataset(data, coords={"time": times, "level": np.array(LEVELS, np.int32), "lat": lat, "lon": lon})


def write_layout(truth: xr.Dataset, path: str, layout: str) -> None:
    encoding = {}
    for v, da in truth.data_vars.items():
        if layout == "contiguous":
            encoding[v] = {"contiguous": True}
        else:
            along_time = 910 if layout == "chunk910" else 1
            encoding[v] = {"zlib": True, "chunksizes": (min(along_time, da.shape[0]), *da.shape[1:])}
    truth.to_netcdf(path, encoding=encoding)


def forecast_file(truth: xr.Dataset, path: str, init: str, leads_h=(12, 24), members: int = 4) -> None:
    """One initialisation in mindgencast's forecast layout: the truth plus noise."""
    rng = np.random.default_rng(1)
    init = pd.Timestamp(init)
    leads = pd.to_timedelta(list(leads_h), "h")
    at_valid = truth.sel(time=init + leads)
    data = {
        v: (
            ("member", "lead_time", *da.dims[1:]),
            (da.values[None] + 0.5 * rng.standard_normal((members, *da.shape))).astype(np.float32),
        )
        for v, da in at_valid.data_vars.items()
    }
    ds = xr.Dataset(
        data,
        coords={
            "member": np.arange(members),
            "lead_time": leads,
            "level": truth["level"],
            "lat": truth["lat"],
            "lon": truth["lon"],
            "init_time": init.to_datetime64(),
            "valid_time": ("lead_time", (init + leads).to_numpy()),
        },
    )
    ds["lead_time"].encoding.update(units="hours", dtype="float64")
    ds.to_netcdf(path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--times", type=int, default=4384, help="6-hourly times in the truth file")
    parser.add_argument("--inits", nargs="+", default=["2002-03-01T00", "2002-09-15T12"], help="init times")
    parser.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    parser.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)

    from mindgencast.cli.main import main as cli

    folder = args.dir or tempfile.mkdtemp(prefix="evaluate_chunked_")
    os.makedirs(folder, exist_ok=True)
    truth = truth_year(args.times)
    forecasts = [os.path.join(folder, f"forecast_{i}.nc") for i in range(len(args.inits))]
    for path, init in zip(forecasts, args.inits):
        forecast_file(truth, path, init)
    print(
        f"truth: {args.times} times, {len(LEVELS)} levels, {truth.sizes['lat']}x{truth.sizes['lon']}, "
        f"{truth.nbytes / 2**20:.0f} MiB; forecasts: {len(forecasts)} inits, 2 leads, 4 members"
    )
    print(f"{'layout':<12} {'file MiB':>9} {'persistence s':>14} {'climatology s':>14}")
    for layout in args.layouts:
        path = os.path.join(folder, f"truth_{layout}.nc")
        if not os.path.exists(path):
            write_layout(truth, path, layout)
        seconds = []
        for baseline in ("persistence", "climatology"):
            start = time.perf_counter()
            status = cli(
                [
                    "evaluate",
                    "--forecast",
                    *forecasts,
                    "--truth",
                    path,
                    "--baseline",
                    baseline,
                    "--out",
                    os.path.join(folder, f"scores_{layout}_{baseline}.nc"),
                    "--regions",
                    "global",
                ]
            )
            seconds.append(time.perf_counter() - start)
            if status != 0:
                raise SystemExit(f"evaluate failed on {layout}")
        print(f"{layout:<12} {os.path.getsize(path) / 2**20:9.0f} {seconds[0]:14.2f} {seconds[1]:14.2f}", flush=True)


if __name__ == "__main__":
    main()
