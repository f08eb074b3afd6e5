"""Benchmark: mindgencast's denoiser on DeepMind's own 1 deg Mini model and inputs, against JAX.

    python benchmarks/denoiser_vs_jax.py JAX_DIR [--mode graph|pynative]
        [--execution auto|whole|per_block] [--calls 3]

JAX_DIR is the folder written by ``../shared/jax_reference/mini_perf.py --out JAX_DIR``
(DeepMind's JAX GenCast at the "1p0deg Mini" size, random weights): ``checkpoint.npz``,
``denoiser_inputs.nc``, ``noisy_targets.nc``, ``noise_levels.npy``, ``denoiser_forcings.nc``,
JAX's answer ``denoiser_output.nc`` and its timings ``perf_timings.json``. This loads the same
checkpoint and inputs, runs ``GenCast.denoise`` (first call = graph build + compile + run;
then the median of ``--calls`` calls), and prints the largest difference from JAX's output,
the peak RSS of this process and the ratios to JAX's median, first call and peak RSS. Run it
on an otherwise idle machine right after ``mini_perf.py --perf-only`` (one program at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import mindspore as ms
import numpy as np
import xarray as xr
from _common import peak_rss_gib, report, timed
from denoiser import _chunks, _rechunk

import mindgencast as mg


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jax_dir", help="output folder of ../shared/jax_reference/mini_perf.py")
    parser.add_argument("--mode", default="graph", choices=["graph", "pynative"])
    parser.add_argument("--execution", default="auto", choices=["auto", "whole", "per_block"])
    parser.add_argument("--calls", type=int, default=3, help="timed calls after the first")
    parser.add_argument("--chunk-edges", type=int, default=None, help="grid<->mesh edges per chunk")
    parser.add_argument("--chunk-grid-nodes", type=int, default=None, help="grid nodes per chunk")
    args = parser.parse_args()
    ms.set_context(mode=ms.GRAPH_MODE if args.mode == "graph" else ms.PYNATIVE_MODE)
    ms.set_device("CPU")
    d = args.jax_dir
    load = lambda name: xr.load_dataset(os.path.join(d, name), decode_timedelta=True)  # noqa: E731
    inputs, noisy, forcings = load("denoiser_inputs.nc"), load("noisy_targets.nc"), load("denoiser_forcings.nc")
    sigma = np.load(os.path.join(d, "noise_levels.npy"))
    expected = load("denoiser_output.nc")
    with open(os.path.join(d, "perf_timings.json")) as f:
        jax = json.load(f)

    start = time.perf_counter()
    model = mg.GenCast(mg.load_checkpoint(os.path.join(d, "checkpoint.npz")), execution=args.execution)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    model._prepare(inputs, noisy, forcings)  # builds the graphs and cells (part of the first call below)
    grid_model = next(iter(model._grid_models.values()))
    _rechunk(grid_model, args)
    out = model.denoise(inputs, noisy, sigma, forcings)
    first = time.perf_counter() - start
    median, times = timed(lambda: model.denoise(inputs, noisy, sigma, forcings), args.calls)
    diff = max(float(np.abs(out[v].values - expected[v].transpose(*out[v].dims).values).max())
               for v in expected.data_vars)
    rss = peak_rss_gib()
    jax_median = jax["timings"]["denoiser_forward_median_s"]
    jax_first = jax["timings"]["compile_and_first_s"]
    jax_rss = jax["peak_rss_gib"]
    report("1 deg Mini denoiser vs DeepMind's JAX (same checkpoint and inputs)", {
        "mode": args.mode,
        "execution": grid_model.execution if args.mode == "graph" else "op by op",
        "chunks (edges, grid nodes)": _chunks(grid_model),
        "checkpoint load s": round(load_s, 2),
        "first call s (graphs + compile + run)": round(first, 2),
        "median s": round(median, 3),
        "calls s": [round(t, 3) for t in times],
        "peak RSS GiB": round(rss, 2),
        "max |ours - JAX|": diff,
        "JAX median s": round(jax_median, 3),
        "JAX first call s": round(jax_first, 2),
        "JAX peak RSS GiB": round(jax_rss, 2),
        "median / JAX": round(median / jax_median, 2),
        "first call / JAX": round(first / jax_first, 2),
        "peak RSS / JAX": round(rss / jax_rss, 2),
        "JAX mode": jax.get("mode"),
    })


if __name__ == "__main__":
    main()
