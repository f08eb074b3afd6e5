"""Times building GenCast's graphs for the published grids (not a test).

Usage:
  python benchmarks/graph_build.py                      # 1 deg + mesh 5 and 0.25 deg + mesh 6, k-hop 16
  python benchmarks/graph_build.py --cases 1.0:5:16 --output /tmp/graphs.md   (merged into docs/performance.md)

Each case is timed stage by stage (the same library calls ``build_gencast_graphs`` makes),
then end to end without the cache, then saved to and loaded from a temporary cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time

import numpy as np

from mindgencast.graphs import (
    build_gencast_graphs,
    containing_triangle_edges,
    edge_features,
    faces_to_edges,
    finest_mesh,
    grid_positions,
    k_hop_neighbours,
    lat_lon_of_positions,
    permute_mesh_to_banded,
    radius_query_edges,
)


def _grid(resolution: float) -> tuple[np.ndarray, np.ndarray]:
    lat = np.linspace(-90.0, 90.0, int(round(180 / resolution)) + 1)
    lon = np.arange(int(round(360 / resolution))) * resolution
    return lat, lon


def _timed(stages: dict, name: str, fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    stages[name] = time.perf_counter() - start
    return result


def run_case(resolution: float, mesh_size: int, k_hop: int) -> dict:
    lat, lon = _grid(resolution)
    stages: dict[str, float] = {}
    mesh = _timed(stages, "icosahedral mesh", finest_mesh, mesh_size)
    mesh, _ = _timed(stages, "RCM permutation", permute_mesh_to_banded, mesh)
    senders, receivers = faces_to_edges(mesh.faces)
    radius = float(np.linalg.norm(mesh.vertices[senders] - mesh.vertices[receivers], axis=-1).max() * np.float32(0.6))
    xyz = grid_positions(lat, lon)
    g2m_grid, g2m_mesh = _timed(stages, "grid2mesh radius query", radius_query_edges, xyz, mesh.vertices, radius)
    m2g_grid, m2g_mesh = _timed(stages, "mesh2grid containing triangles", containing_triangle_edges, xyz, mesh)
    mesh_lat, mesh_lon = lat_lon_of_positions(mesh.vertices)
    lon2d, lat2d = np.meshgrid(lon, lat)
    glat, glon = lat2d.reshape(-1), lon2d.reshape(-1)

    def features():
        edge_features(mesh_lat, mesh_lon, mesh_lat, mesh_lon, senders, receivers)
        edge_features(glat, glon, mesh_lat, mesh_lon, g2m_grid, g2m_mesh)
        edge_features(mesh_lat, mesh_lon, glat, glon, m2g_mesh, m2g_grid)

    _timed(stages, "edge features (3 edge sets)", features)
    neighbours, _ = _timed(
        stages, f"{k_hop}-hop neighbourhood", k_hop_neighbours, senders, receivers, mesh.num_vertices, k_hop
    )

    start = time.perf_counter()
    graphs = build_gencast_graphs(lat, lon, mesh_size, 0.6, k_hop, cache_dir=False)
    total = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        build_gencast_graphs(lat, lon, mesh_size, 0.6, k_hop, cache_dir=cache_dir)
        build_and_save = time.perf_counter() - start
        start = time.perf_counter()
        build_gencast_graphs(lat, lon, mesh_size, 0.6, k_hop, cache_dir=cache_dir)
        load = time.perf_counter() - start
        cache_bytes = sum(os.path.getsize(os.path.join(cache_dir, name)) for name in os.listdir(cache_dir))
    return dict(
        case=f"{resolution:g} deg ({lat.size}x{lon.size}) + mesh {mesh_size}, k-hop {k_hop}",
        stages=stages,
        total=total,
        build_and_save=build_and_save,
        load=load,
        cache_mb=cache_bytes / 2**20,
        grid_nodes=graphs.num_grid_nodes,
        mesh_nodes=graphs.num_mesh_nodes,
        grid2mesh_edges=int(graphs.grid2mesh_senders.size),
        mesh2grid_edges=int(graphs.mesh2grid_senders.size),
        mask_nnz=graphs.attention_mask_nnz,
        max_k=int(neighbours.shape[1]),
        block_size=graphs.attention_mask_block_size,
    )


def to_markdown(results: list[dict]) -> str:
    lines = [
        "# Graph building performance",
        "",
        f"Measured with `python benchmarks/graph_build.py` on {platform.machine()} "
        f"({os.cpu_count()} cores, shared), Python {platform.python_version()}, numpy {np.__version__}. "
        f"Peak resident memory of the whole run: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB.",
        "",
    ]
    for result in results:
        lines += [f"## {result['case']}", "", "| stage | seconds |", "| --- | ---: |"]
        lines += [f"| {name} | {seconds:.2f} |" for name, seconds in result["stages"].items()]
        lines += [
            f"| **end to end, no cache** | **{result['total']:.2f}** |",
            f"| end to end + write cache | {result['build_and_save']:.2f} |",
            f"| load from cache | {result['load']:.2f} |",
            "",
            f"Grid nodes {result['grid_nodes']:,}, mesh nodes {result['mesh_nodes']:,}, grid2mesh edges "
            f"{result['grid2mesh_edges']:,}, mesh2grid edges {result['mesh2grid_edges']:,}, attention mask nnz "
            f"{result['mask_nnz']:,} (max_k {result['max_k']}, block size {result['block_size']}), "
            f"cache file {result['cache_mb']:.0f} MiB.",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=["1.0:5:16", "0.25:6:16"], help="resolution:mesh_size:k_hop")
    parser.add_argument("--output", help="also write the Markdown report to this file")
    args = parser.parse_args()
    results = []
    for case in args.cases:
        resolution, mesh_size, k_hop = case.split(":")
        results.append(run_case(float(resolution), int(mesh_size), int(k_hop)))
        print(to_markdown(results[-1:]), flush=True)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
