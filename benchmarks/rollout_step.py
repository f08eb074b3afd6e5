"""Benchmark: seconds per rollout step per ensemble member of the GenCast 1p0deg Mini
architecture (1 deg grid, 13 levels, mesh 4, latent 512, 16 layers, k-hop 16) on this
machine, with random weights (speed does not depend on the weights).

    python benchmarks/rollout_step.py [--config gencast_1p0deg_mini] [--members 1]
        [--sampler-steps 20] [--calls 3] [--full-step]

Measures one denoiser call D(x; sigma) (after a warm-up call that compiles the graph) and,
with --full-step, one whole 12-h rollout step (DPM-Solver++ 2S: 2 N - 1 denoiser calls for
N noise levels). Prints a Markdown table row for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import mindspore as ms
import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.builtin import builtin_config
from mindgencast.config.variables import variable_info
from mindgencast.data.derived_forcings import DERIVED_FORCINGS
from mindgencast.model import GenCast


def _random_normalised(task, grid, batch, rng):
    """Normalised-space inputs/forcings/targets template of the task on the grid."""
    lat, lon, levels = grid.latitudes(), grid.longitudes(), np.asarray(task.pressure_levels)
    coords = {"lat": lat, "lon": lon, "level": levels}

    def var(name, frames):
        info = variable_info(name)
        if info.kind == "static":
            return (("lat", "lon"), rng.standard_normal((lat.size, lon.size), dtype=np.float32))
        dims = ["batch", "time"] + (["level"] if info.atmospheric else [])
        shape = [batch, frames] + ([levels.size] if info.atmospheric else [])
        if name in DERIVED_FORCINGS:
            if name.startswith("day"):
                return (tuple(dims + ["lon"]), rng.standard_normal(shape + [lon.size], dtype=np.float32))
            return (tuple(dims), rng.standard_normal(shape, dtype=np.float32))
        return (tuple(dims + ["lat", "lon"]), rng.standard_normal(shape + [lat.size, lon.size], dtype=np.float32))

    inputs = xr.Dataset({v: var(v, 2) for v in task.input_variables}, coords=coords)
    forcings = xr.Dataset({v: var(v, 1) for v in task.forcing_variables}, coords=coords)
    targets = xr.Dataset({v: var(v, 1) for v in task.target_variables}, coords=coords)
    return inputs, forcings, targets


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="gencast_1p0deg_mini")
    parser.add_argument("--members", type=int, default=1, help="members per batch")
    parser.add_argument("--sampler-steps", type=int, default=20)
    parser.add_argument("--calls", type=int, default=3, help="timed denoiser calls")
    parser.add_argument("--full-step", action="store_true", help="also time one whole rollout step")
    parser.add_argument("--attention", default="auto", choices=["auto", "banded", "gather"])
    parser.add_argument("--mode", default="graph", choices=["graph", "pynative"],
                        help="MindSpore mode; on CPU, GRAPH_MODE keeps every intermediate buffer of the graph "
                             "(1 deg Mini exceeds 24 GB), PYNATIVE frees them op by op")
    args = parser.parse_args()
    ms.set_context(mode=ms.GRAPH_MODE if args.mode == "graph" else ms.PYNATIVE_MODE)
    cfg = builtin_config(args.config)
    rng = np.random.default_rng(0)
    inputs, forcings, targets = _random_normalised(cfg.task_config, cfg.grid, args.members, rng)
    model = GenCast(cfg, attention_implementation=args.attention)
    t0 = time.time()
    denoise = model.denoiser_fn(inputs, targets, forcings)  # builds graphs (cached) and cells
    build = time.time() - t0
    implementation = next(iter(model._grid_models.values())).denoiser.network.attention_implementation
    x = np.asarray(rng.standard_normal((cfg.grid.num_lat * cfg.grid.num_lon, args.members,
                                        model.num_target_channels)), np.float32)
    t0 = time.time()
    denoise(x, 1.0)
    compile_and_first = time.time() - t0
    times = []
    for _ in range(args.calls):
        t0 = time.time()
        denoise(x, 1.0)
        times.append(time.time() - t0)
    per_call = float(np.median(times))
    calls_per_step = 2 * args.sampler_steps - 1
    row = {
        "config": args.config, "mode": args.mode, "members/batch": args.members, "attention": implementation,
        "build s": round(build, 1), "first call s": round(compile_and_first, 1),
        "denoiser call s": round(per_call, 2),
        "est. rollout step s/member": round(per_call * calls_per_step / args.members, 1),
    }
    if args.full_step:
        t0 = time.time()
        model.sample(inputs, targets, forcings, seed=0, num_steps=args.sampler_steps)
        row["measured rollout step s/member"] = round((time.time() - t0) / args.members, 1)
    row["peak RSS GiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"MindSpore {ms.__version__}, {pd.Timestamp.now():%Y-%m-%d}")
    print("| " + " | ".join(row) + " |")
    print("|" + "---|" * len(row))
    print("| " + " | ".join(str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    main()
