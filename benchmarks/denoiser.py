"""Benchmark: one GenCast denoiser forward D(x; sigma), random weights, batch of members.

    python benchmarks/denoiser.py --config gencast_1p0deg_mini [--mode graph|pynative]
        [--execution auto|whole|per_block] [--attention auto|banded|gather]
        [--grid 2.0] [--mesh 4] [--latent 128] [--layers 4] [--k-hop 16] [--calls 3]
        [--dtype float32|float16] [--members B] [--chunk-edges E] [--chunk-grid-nodes G] [--attention-logits L]

Prints the machine, graph build time, first call (graph compile + run), the median of
``--calls`` calls after the warm-up, peak RSS, and one line of JSON at the end. Run one
configuration per process: peak RSS is the process's. The published 1 deg Mini needs
> 12 GiB; reduce --grid/--mesh/--latent/--layers on a small machine.
"""

from __future__ import annotations

import argparse
import time

import mindspore as ms
import numpy as np
from _common import add_size_arguments, peak_rss_gib, reduced_config, report, timed
from rollout_step import _random_normalised

from mindgencast.model import GenCast


def _rss_gib() -> tuple[float, float]:
    """(current, peak) resident memory of this process, GiB."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) / 2**20, int(fields["VmHWM"].split()[0]) / 2**20


def _breakdown(grid_model, model, inputs, targets, forcings, x):
    """Runs the blocks of BlockwiseDenoiser one by one, twice (compile, then run), printing
    seconds and resident memory after each: where the time and the memory go."""
    from mindspore import Tensor

    _, cond = model._prepare(inputs, targets, forcings)
    blocks = grid_model.forward
    args = (Tensor(cond), Tensor(x), Tensor(np.ones((x.shape[1],), np.float32)))
    rss, peak = _rss_gib()
    print(f"breakdown, before the first call (model, graphs, inputs): RSS GiB {rss:.2f} | peak GiB {peak:.2f}")
    for attempt in ("first (compile + run)", "second"):
        print(f"breakdown, {attempt} call: block | s | RSS GiB | peak GiB")
        start = time.perf_counter()
        mesh, grid, c = blocks.encoder(*args)
        mesh.asnumpy()
        print(f"  encoder | {time.perf_counter() - start:.3f} | %.2f | %.2f" % _rss_gib())
        for i in range(len(blocks.layers)):
            start = time.perf_counter()
            mesh = blocks.layer(i, mesh, c)
            mesh.asnumpy()
            print(f"  transformer block {i} | {time.perf_counter() - start:.3f} | %.2f | %.2f" % _rss_gib())
        start = time.perf_counter()
        out, _ = blocks.decoder(mesh, grid, c, args[1], args[2])
        out.asnumpy()
        print(f"  decoder | {time.perf_counter() - start:.3f} | %.2f | %.2f" % _rss_gib())


def _rechunk(grid_model, args):
    """Rebuilds the per-block executor with the chunk sizes asked for (before the first call)."""
    if grid_model.execution != "per_block" or (
            args.chunk_edges is None and args.chunk_grid_nodes is None and args.attention_logits is None):
        return
    from mindgencast.nn.blockwise_denoiser import BlockwiseDenoiser

    logits = {None: BlockwiseDenoiser.MAX_ATTENTION_LOGITS, 0: None}.get(args.attention_logits, args.attention_logits)
    grid_model.forward = BlockwiseDenoiser(grid_model.denoiser, args.chunk_edges or BlockwiseDenoiser.MAX_EDGES,
                                           args.chunk_grid_nodes or BlockwiseDenoiser.MAX_GRID_NODES, logits)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_arguments(parser)
    parser.add_argument("--mode", default="graph", choices=["graph", "pynative"])
    parser.add_argument(
        "--execution",
        default="auto",
        choices=["auto", "whole", "per_block"],
        help="GRAPH_MODE: one graph for the network, or one per block chained from Python",
    )
    parser.add_argument("--attention", default="auto", choices=["auto", "banded", "gather"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"],
                        help="GenCast(compute_dtype=...): the matmuls' dtype (bfloat16: Ascend only)")
    parser.add_argument("--members", type=int, default=1, help="members per batch")
    parser.add_argument("--chunk-edges", type=int, default=None,
                        help="per_block: grid<->mesh edges per chunk (default BlockwiseDenoiser.MAX_EDGES)")
    parser.add_argument("--chunk-grid-nodes", type=int, default=None,
                        help="per_block: grid nodes per chunk (default BlockwiseDenoiser.MAX_GRID_NODES)")
    parser.add_argument("--attention-logits", type=int, default=None,
                        help="per_block: banded attention logits per chunk, all heads and members (default "
                             "BlockwiseDenoiser.MAX_ATTENTION_LOGITS; 0: never chunk the attention)")
    parser.add_argument("--calls", type=int, default=3, help="timed calls after the warm-up")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="per_block: time and resident memory of each block (first and later call)",
    )
    args = parser.parse_args()
    ms.set_context(mode=ms.GRAPH_MODE if args.mode == "graph" else ms.PYNATIVE_MODE)
    ms.set_device("CPU")
    ms.set_seed(0)  # the same random weights in every process
    cfg = reduced_config(args)
    rng = np.random.default_rng(0)
    inputs, forcings, targets = _random_normalised(cfg.task_config, cfg.grid, args.members, rng)
    model = GenCast(cfg, attention_implementation=args.attention, execution=args.execution, compute_dtype=args.dtype)
    start = time.perf_counter()
    denoise = model.denoiser_fn(inputs, targets, forcings)  # graphs (cached on disk) and cells
    build = time.perf_counter() - start
    grid_model = next(iter(model._grid_models.values()))
    _rechunk(grid_model, args)
    network = grid_model.denoiser.network
    x = rng.standard_normal((cfg.grid.num_lat * cfg.grid.num_lon, args.members, model.num_target_channels))
    x = x.astype(np.float32)
    if args.breakdown and grid_model.execution == "per_block":
        _breakdown(grid_model, model, inputs, targets, forcings, x)
    start = time.perf_counter()
    first = denoise(x, 1.0)
    first_call = time.perf_counter() - start
    median, times = timed(lambda: denoise(x, 1.0), args.calls)
    arch = cfg.denoiser_architecture_config
    row = {
        "config": args.config,
        "grid deg": cfg.grid.resolution,
        "mesh": arch.mesh_size,
        "mesh nodes": int(network.mesh_node_features.shape[0]),
        "latent": arch.latent_size,
        "layers": arch.sparse_transformer_config.num_layers,
        "k-hop": arch.sparse_transformer_config.attention_k_hop,
        "levels": len(cfg.task_config.pressure_levels),
        "members": args.members,
        "mode": args.mode,
        "dtype": args.dtype,
        "execution": grid_model.execution if args.mode == "graph" else "op by op",
        "chunks (edges, grid nodes)": _chunks(grid_model, args.members),
        "attention": network.attention_implementation,
        "attention chunks (count, logits per head and member)": _attention_chunks(grid_model, args.members),
        "build s": round(build, 2),
        "first call s": round(first_call, 2),
        "median s": round(median, 3),
        "calls s": [round(t, 3) for t in times],
        "peak RSS GiB": round(peak_rss_gib(), 2),
        "output checksum": float(np.abs(first).mean()),
    }
    report("denoiser forward", row)


def _chunks(grid_model, members: int = 1) -> str:
    """Edges and grid nodes per encoder chunk at this batch (the chunks shrink with the batch)."""
    forward = grid_model.forward
    if not getattr(forward, "chunked", False):
        return "none"
    encoder = forward.chunked_blocks(members)[0]
    return f"{encoder.edges[0][0].shape[0]}, {encoder.grid_size}"


def _attention_chunks(grid_model, members: int = 1) -> str:
    """Query-row chunks of the banded attention at this batch ("none": one graph per layer)."""
    layer = getattr(grid_model.forward, "chunked_attention", lambda batch: None)(members)
    return "none" if layer is None else f"{layer.chunks.num_chunks}, {layer.chunks.logits_per_head()}"


if __name__ == "__main__":
    main()
