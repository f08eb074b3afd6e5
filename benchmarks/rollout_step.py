"""Benchmark: seconds per rollout step per ensemble member of the GenCast 1p0deg Mini
architecture (1 deg grid, 13 levels, mesh 4, latent 512, 16 layers, k-hop 16) on this
machine, with random weights (speed does not depend on the weights).

    python benchmarks/rollout_step.py [--config gencast_1p0deg_mini] [--members 1]
        [--sampler-steps 20] [--calls 3] [--full-step] [--execution auto|whole|per_block]
        [--grid 5.625 --mesh 3 --latent 64 --layers 4 ...]  (reduced sizes, see _common.py)

Measures one denoiser call D(x; sigma) (after a warm-up call that compiles the graph) and,
with --full-step, one whole 12-h rollout step (DPM-Solver++ 2S: 2 N - 1 denoiser calls for
N noise levels). Prints the machine, a Markdown table row and one line of JSON.
"""

from __future__ import annotations

import argparse
import time

import mindspore as ms
import numpy as np
import xarray as xr
from _common import add_size_arguments, peak_rss_gib, reduced_config, report, timed

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
    parser.add_argument("--members", type=int, default=1, help="members per batch")
    parser.add_argument("--sampler-steps", type=int, default=20)
    parser.add_argument("--calls", type=int, default=3, help="timed denoiser calls")
    parser.add_argument("--full-step", action="store_true", help="also time one whole rollout step")
    parser.add_argument("--attention", default="auto", choices=["auto", "banded", "gather"])
    parser.add_argument(
        "--mode",
        default="graph",
        choices=["graph", "pynative"],
        help="MindSpore mode; on CPU, GRAPH_MODE keeps every intermediate buffer of the graph "
        "(1 deg Mini exceeds 24 GB), PYNATIVE frees them op by op",
    )
    parser.add_argument("--execution", default="auto", choices=["auto", "whole", "per_block"])
    add_size_arguments(parser)
    args = parser.parse_args()
    ms.set_context(mode=ms.GRAPH_MODE if args.mode == "graph" else ms.PYNATIVE_MODE)
    ms.set_seed(0)
    cfg = reduced_config(args)
    rng = np.random.default_rng(0)
    inputs, forcings, targets = _random_normalised(cfg.task_config, cfg.grid, args.members, rng)
    model = GenCast(cfg, attention_implementation=args.attention, execution=args.execution)
    t0 = time.time()
    denoise = model.denoiser_fn(inputs, targets, forcings)  # builds graphs (cached) and cells
    build = time.time() - t0
    implementation = next(iter(model._grid_models.values())).denoiser.network.attention_implementation
    x = np.asarray(
        rng.standard_normal((cfg.grid.num_lat * cfg.grid.num_lon, args.members, model.num_target_channels)), np.float32
    )
    t0 = time.time()
    denoise(x, 1.0)
    compile_and_first = time.time() - t0
    per_call, times = timed(lambda: denoise(x, 1.0), args.calls)
    calls_per_step = 2 * args.sampler_steps - 1
    row = {
        "config": args.config,
        "mode": args.mode,
        "members/batch": args.members,
        "attention": implementation,
        "build s": round(build, 1),
        "first call s": round(compile_and_first, 1),
        "grid deg": cfg.grid.resolution,
        "mesh": cfg.denoiser_architecture_config.mesh_size,
        "latent": cfg.denoiser_architecture_config.latent_size,
        "layers": cfg.denoiser_architecture_config.sparse_transformer_config.num_layers,
        "denoiser call s": round(per_call, 2),
        "calls s": [round(t, 3) for t in times],
        "est. rollout step s/member": round(per_call * calls_per_step / args.members, 1),
    }
    if args.full_step:
        t0 = time.time()
        model.sample(inputs, targets, forcings, seed=0, num_steps=args.sampler_steps)
        row["measured rollout step s/member"] = round((time.time() - t0) / args.members, 1)
    row["peak RSS GiB"] = round(peak_rss_gib(), 2)
    report("rollout step", row)


if __name__ == "__main__":
    main()
