"""Times the interaction-network blocks with the edge MLP's first layer split or concatenated (not a test).

Usage:
  python benchmarks/edge_mlp_split.py                          # 2 deg grid, mesh 4, latent 128, both paths
  python benchmarks/edge_mlp_split.py --resolution 4 --calls 3 --path split

Blocks (random weights, seeded, identical for both paths; GRAPH_MODE, float32):
  encoder   = ``Grid2MeshEncoder`` (GenCast's, noise-conditioned), grid -> mesh;
  decoder   = ``Mesh2GridDecoder`` (GenCast's), mesh -> grid, with the output MLP;
  processor = ``MeshGNN`` (GraphCast's) with ``--steps`` message-passing steps on the multimesh.
``split`` is the default path (node products once per node where ``split_pays_off``);
``concat`` is DeepMind's ``[e, h_s[senders], h_r[receivers]] @ w``. Each path runs in its own
process so that its peak RSS is its own; the parent compares the outputs of the two.
``--repeats`` processes per path alternate with the other path's, so both see the same load.
Prints the machine, per-block medians (wall and process CPU seconds) of all timed calls, the
first call (graph compile + run), peak RSS, and one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

COND_SIZE = 16  # GenCast's noise-encoding width


def _machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import mindspore as ms

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mindspore": ms.__version__,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _blocks(args, split: bool):
    import mindspore as ms
    from mindspore import Tensor, nn

    from mindgencast.graphcast.graphs import build_graphcast_graphs
    from mindgencast.nn.interaction_network import Grid2MeshEncoder, Mesh2GridDecoder
    from mindgencast.nn.mesh_gnn import MeshGNN

    lat = np.linspace(-90.0, 90.0, int(round(180 / args.resolution)) + 1)
    lon = np.arange(int(round(360 / args.resolution))) * args.resolution
    g = build_graphcast_graphs(lat, lon, args.mesh, 0.6)
    L, n_grid, n_mesh = args.latent, g.num_grid_nodes, g.num_mesh_nodes
    ms.set_seed(0)
    encoder = Grid2MeshEncoder(args.input_channels, 3, 4, L, 1, COND_SIZE, n_mesh, split_edge_mlp=split)
    decoder = Mesh2GridDecoder(4, L, 1, args.output_channels, COND_SIZE, n_grid, split_edge_mlp=split)
    processor = MeshGNN(4, L, 1, args.steps, n_mesh, split_edge_mlp=split)

    def const(a, dtype):
        return Tensor(np.asarray(a, dtype))

    f32, i32 = np.float32, np.int32

    class Encoder(nn.Cell):
        def __init__(self):
            super().__init__()
            self.gnn = encoder
            self.grid_features = const(g.grid_node_features, f32)
            self.mesh_features = const(g.mesh_node_features, f32)
            self.edge_features = const(g.grid2mesh_edge_features, f32)
            self.senders = const(g.grid2mesh_senders, i32)
            self.receivers = const(g.grid2mesh_receivers, i32)

        def construct(self, x, c):
            return self.gnn(
                x, self.grid_features, self.mesh_features, self.edge_features, self.senders, self.receivers, c
            )

    class Decoder(nn.Cell):
        def __init__(self):
            super().__init__()
            self.gnn = decoder
            self.edge_features = const(g.mesh2grid_edge_features, f32)
            self.senders = const(g.mesh2grid_senders, i32)
            self.receivers = const(g.mesh2grid_receivers, i32)

        def construct(self, mesh, grid, c):
            return self.gnn(mesh, grid, self.edge_features, self.senders, self.receivers, c)

    class Processor(nn.Cell):
        def __init__(self):
            super().__init__()
            self.gnn = processor
            self.edge_features = const(g.mesh_edge_features, f32)
            self.senders = const(g.mesh_senders, i32)
            self.receivers = const(g.mesh_receivers, i32)

        def construct(self, mesh):
            return self.gnn(mesh, self.edge_features, self.senders, self.receivers)

    sizes = {
        "grid_nodes": n_grid,
        "mesh_nodes": n_mesh,
        "grid2mesh_edges": int(g.grid2mesh_senders.size),
        "mesh2grid_edges": int(g.mesh2grid_senders.size),
        "multimesh_edges": int(g.mesh_senders.size),
    }
    return Encoder(), Decoder(), Processor(), sizes


def _timed(fn, calls: int):
    """(output, first-call wall s, [wall s per call], [process CPU s per call, all threads])."""
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(calls):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return out, first, wall, cpu


def run_path(args, split: bool) -> dict:
    """Runs one path in this process; returns timings and the path of the saved outputs."""
    import mindspore as ms
    from mindspore import Tensor

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")
    encoder, decoder, processor, sizes = _blocks(args, split)
    setup_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((sizes["grid_nodes"], args.batch, args.input_channels)).astype(np.float32))
    c = Tensor(rng.standard_normal((args.batch, COND_SIZE)).astype(np.float32))
    result = {"path": "split" if split else "concat", **sizes, "setup_peak_rss_gib": setup_rss}
    (mesh, grid), result["encoder_first_s"], result["encoder_wall_s"], result["encoder_cpu_s"] = _timed(
        lambda: encoder(x, c), args.calls
    )
    out, result["decoder_first_s"], result["decoder_wall_s"], result["decoder_cpu_s"] = _timed(
        lambda: decoder(mesh, grid, c), args.calls
    )
    mesh_out, result["processor_first_s"], result["processor_wall_s"], result["processor_cpu_s"] = _timed(
        lambda: processor(mesh), args.calls
    )
    np.savez(args.save, decoder=out.asnumpy(), processor=mesh_out.asnumpy())
    result["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return result


def _child(args, path: str, save: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--path", path, "--save", save, "--child"]
    for name in ("resolution", "mesh", "latent", "batch", "calls", "steps", "input_channels", "output_channels"):
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=float, default=2.0, help="grid spacing in degrees")
    p.add_argument("--mesh", type=int, default=4, help="icosahedron refinements")
    p.add_argument("--latent", type=int, default=128)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--calls", type=int, default=5, help="timed calls after the warm-up call")
    p.add_argument("--steps", type=int, default=2, help="MeshGNN message-passing steps")
    p.add_argument("--input-channels", type=int, default=267, help="grid input channels (~ the 1 deg Mini's)")
    p.add_argument("--output-channels", type=int, default=84, help="grid output channels (the Mini's targets)")
    p.add_argument("--repeats", type=int, default=3, help="processes per path, alternating the paths")
    p.add_argument("--path", choices=("both", "split", "concat"), default="both")
    p.add_argument("--save", default="", help=argparse.SUPPRESS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_path(args, args.path == "split")))
        return

    paths = ("concat", "split") if args.path == "both" else (args.path,)
    machine = _machine()
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores, MindSpore {machine['mindspore']}, "
        f"load average {machine['load_average_1min']} (shared machine: expect noise)"
    )
    print(
        f"grid {args.resolution} deg, mesh {args.mesh}, latent {args.latent}, batch {args.batch}, "
        f"processor steps {args.steps}"
    )
    blocks = ("encoder", "decoder", "processor")
    runs = {path: [] for path in paths}
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):  # alternate the paths so that both see the same load
            for path in paths:
                runs[path].append(_child(args, path, os.path.join(tmp, f"{path}.npz")))
            if len(paths) == 2:
                a, b = (np.load(os.path.join(tmp, f"{p}.npz")) for p in paths)
                diffs.append(max(float(np.abs(a[k] - b[k]).max()) for k in ("decoder", "processor")))
    results = {}
    for path in paths:
        r = {"runs": runs[path], "peak_rss_gib": max(run["peak_rss_gib"] for run in runs[path])}
        r["setup_peak_rss_gib"] = max(run["setup_peak_rss_gib"] for run in runs[path])
        for block in blocks:
            for kind in ("wall", "cpu"):
                r[f"{block}_{kind}_median_s"] = statistics.median(
                    t for run in runs[path] for t in run[f"{block}_{kind}_s"]
                )
            r[f"{block}_first_median_s"] = statistics.median(run[f"{block}_first_s"] for run in runs[path])
        results[path] = r
    if diffs:
        results["max_abs_diff"] = max(diffs)
    sizes = runs[paths[0]][0]
    print(
        ", ".join(
            f"{k.replace('_', ' ')} {sizes[k]:,}"
            for k in ("grid_nodes", "mesh_nodes", "grid2mesh_edges", "mesh2grid_edges", "multimesh_edges")
        )
    )
    print(
        f"medians of {args.repeats} x {args.calls} calls (each process: one warm-up call, then {args.calls}); "
        "wall s / process CPU s (all threads)"
    )
    print("| path | encoder | decoder | processor | first call wall s (enc/dec/proc) | peak RSS GiB (after setup) |")
    print("|---|---|---|---|---|---|")
    for path in paths:
        r = results[path]
        cells = " | ".join(f"{r[f'{b}_wall_median_s']:.3f} / {r[f'{b}_cpu_median_s']:.3f}" for b in blocks)
        first = " / ".join(f"{r[f'{b}_first_median_s']:.1f}" for b in blocks)
        print(f"| {path} | {cells} | {first} | {r['peak_rss_gib']:.2f} ({r['setup_peak_rss_gib']:.2f}) |")
    if diffs:
        print(f"max |split - concat| over decoder and processor outputs: {results['max_abs_diff']:.3g}")
    print(json.dumps({"benchmark": "edge_mlp_split", "machine": machine, "args": vars(args), "results": results}))


if __name__ == "__main__":
    main()
