"""Shared pieces of the benchmarks: the machine line, timing medians, peak RSS, reduced configs."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import resource
import statistics
import time

__all__ = ["machine", "peak_rss_gib", "timed", "reduced_config", "add_size_arguments", "report"]


def machine() -> dict:
    """CPU model, logical cores, MindSpore and Python versions."""
    import mindspore as ms

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "mindspore": ms.__version__, "python": platform.python_version()}


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far, GiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed(fn, calls: int) -> tuple[float, list[float]]:
    """(median, all) wall-clock seconds of ``calls`` calls of ``fn()``."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def add_size_arguments(parser) -> None:
    """--config and the reductions that make a published config runnable on a small machine."""
    parser.add_argument("--config", default="gencast_1p0deg_mini", help="built-in config name")
    parser.add_argument("--grid", type=float, default=None, help="grid spacing in degrees (e.g. 5.625, 2.0)")
    parser.add_argument("--mesh", type=int, default=None, help="icosahedral mesh refinement (e.g. 3, 4, 5)")
    parser.add_argument("--latent", type=int, default=None, help="latent size = d_model (e.g. 64, 128)")
    parser.add_argument("--layers", type=int, default=None, help="transformer layers")
    parser.add_argument("--k-hop", type=int, default=None, help="attention k-hop")
    parser.add_argument("--levels", type=int, default=None, help="keep the first N pressure levels")


def reduced_config(args):
    """The built-in config with the command line's reductions applied (frozen dataclasses replaced)."""
    from mindgencast.config import GridConfig
    from mindgencast.config.builtin import builtin_config

    cfg = builtin_config(args.config)
    arch = cfg.denoiser_architecture_config
    st = arch.sparse_transformer_config
    if args.latent is not None:
        st = dataclasses.replace(st, d_model=args.latent, ffw_hidden=4 * args.latent)
        arch = dataclasses.replace(arch, latent_size=args.latent)
    if args.layers is not None:
        st = dataclasses.replace(st, num_layers=args.layers)
    if args.k_hop is not None:
        st = dataclasses.replace(st, attention_k_hop=args.k_hop)
    arch = dataclasses.replace(arch, sparse_transformer_config=st)
    if args.mesh is not None:
        arch = dataclasses.replace(arch, mesh_size=args.mesh)
    task = cfg.task_config
    if args.levels is not None:
        task = dataclasses.replace(task, pressure_levels=task.pressure_levels[: args.levels])
    grid = cfg.grid if args.grid is None else GridConfig(resolution=args.grid)
    return dataclasses.replace(cfg, denoiser_architecture_config=arch, task_config=task, grid=grid)


def report(title: str, row: dict) -> None:
    """Prints the machine, a Markdown table row and, last, one line of JSON."""
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} logical cores, MindSpore {info['mindspore']}, Python {info['python']}"
    )
    print(f"## {title}")
    print("| " + " | ".join(row) + " |")
    print("|" + "---|" * len(row))
    print("| " + " | ".join(str(v) for v in row.values()) + " |")
    print(json.dumps({**row, "machine": info}))
