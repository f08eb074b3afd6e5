"""Benchmark: one GenCast training step (loss + gradients + clipping + AdamW), GRAPH_MODE.

    python benchmarks/train_step.py --config gencast_tiny [--grid 5.625] [--batch 1]
    python benchmarks/train_step.py --config gencast_1p0deg_mini --grid 5.625 --mesh 3 --latent 64 --layers 4
        [--recompute]

Random weights and random normalised data (speed and memory do not depend on them). Prints the
machine, the first step (graph compile + run), the median of ``--steps`` later steps, peak RSS,
and one line of JSON at the end. ``--recompute`` marks every transformer block for
recomputation in the backward pass (MindSpore ``Cell.recompute``): less activation memory, more
time. Run one configuration per process.
"""

from __future__ import annotations

import argparse
import time

import mindspore as ms
import numpy as np
from _common import add_size_arguments, peak_rss_gib, reduced_config, report, timed
from mindspore import Tensor, nn
from rollout_step import _random_normalised

from mindgencast.grid_stacking import stack_to_nodes
from mindgencast.model import GenCast
from mindgencast.training.train_step import DenoiserTrainStep


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_arguments(parser)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3, help="timed steps after the first")
    parser.add_argument("--recompute", action="store_true", help="recompute transformer blocks in the backward")
    args = parser.parse_args()
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    ms.set_seed(0)
    cfg = reduced_config(args)
    rng = np.random.default_rng(0)
    inputs, forcings, targets = _random_normalised(cfg.task_config, cfg.grid, args.batch, rng)
    model = GenCast(cfg)
    start = time.perf_counter()
    loss_cell = model.loss_cell(inputs, targets, forcings)
    build = time.perf_counter() - start
    network = loss_cell.denoiser.network
    if args.recompute:
        for block in network.mesh_transformer.blocks:
            block.recompute()
    optimizer = nn.AdamWeightDecay(loss_cell.trainable_params(), learning_rate=1e-4, weight_decay=0.1)
    step = DenoiserTrainStep(loss_cell, optimizer, max_grad_norm=1.0)
    step.set_train()
    _, cond = model._prepare(inputs, targets, forcings)
    n_lat, n_lon = cfg.grid.num_lat, cfg.grid.num_lon
    y = stack_to_nodes(targets, args.batch, n_lat, n_lon)
    batch = (
        Tensor(cond),
        Tensor(y),
        Tensor(rng.standard_normal(y.shape).astype(np.float32)),
        Tensor(np.full((args.batch,), 1.0, np.float32)),
    )
    start = time.perf_counter()
    first_loss = float(step(*batch).asnumpy())
    first = time.perf_counter() - start
    median, times = timed(lambda: step(*batch).asnumpy(), args.steps)
    arch = cfg.denoiser_architecture_config
    row = {
        "config": args.config,
        "grid deg": cfg.grid.resolution,
        "mesh": arch.mesh_size,
        "latent": arch.latent_size,
        "layers": arch.sparse_transformer_config.num_layers,
        "k-hop": arch.sparse_transformer_config.attention_k_hop,
        "levels": len(cfg.task_config.pressure_levels),
        "batch": args.batch,
        "recompute": args.recompute,
        "attention": network.attention_implementation,
        "parameters M": round(sum(p.size for p in loss_cell.trainable_params()) / 1e6, 2),
        "build s": round(build, 2),
        "first step s": round(first, 2),
        "median step s": round(median, 3),
        "steps s": [round(t, 3) for t in times],
        "peak RSS GiB": round(peak_rss_gib(), 2),
        "first loss": round(first_loss, 4),
    }
    report("train step", row)


if __name__ == "__main__":
    main()
