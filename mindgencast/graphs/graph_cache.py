"""Disk cache of built graphs: one ``.npz`` per (grid, mesh size, radius, k-hop).

Building the 0.25 degree / mesh 6 graphs takes about a minute (see
``docs/performance.md``), so :func:`mindgencast.graphs.build_gencast_graphs` keeps
the result under a name hashed from everything it depends on, including
:data:`FORMAT_VERSION`. Files are written to a temporary name and renamed, so a reader never
sees half a file; a file that fails to load or whose key or contents do not match is
rebuilt, never trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import tempfile
import warnings
import zipfile

import numpy as np

from mindgencast.graphs.builder import GenCastGraphs

__all__ = ["FORMAT_VERSION", "default_cache_dir", "cache_key", "cache_path", "load", "save"]

# Bump whenever the construction or the stored fields change: old files are then ignored.
# 2: mesh -> grid ties broken as trimesh does (with rtree), `mesh2grid_tie_breaking` stored.
FORMAT_VERSION = 2

_SCALAR_FIELDS = (
    "mesh_size",
    "radius_query_fraction_edge_length",
    "attention_k_hop",
    "query_radius",
    "mesh2grid_tie_breaking",
)


def default_cache_dir() -> pathlib.Path:
    """``$MINDGENCAST_CACHE/graphs`` if set, else ``~/.cache/mindgencast/graphs``."""
    root = os.environ.get("MINDGENCAST_CACHE")
    if root:
        return pathlib.Path(root) / "graphs"
    return pathlib.Path.home() / ".cache" / "mindgencast" / "graphs"


def cache_key(
    lat: np.ndarray,
    lon: np.ndarray,
    mesh_size: int,
    radius_query_fraction_edge_length: float,
    attention_k_hop: int,
    tie_breaking: str,
) -> str:
    """Hex sha256 of the format version, the float32 grid and the graph parameters.

    ``tie_breaking`` is the resolved mesh -> grid tie rule (``"trimesh"`` or ``"geometric"``).
    """
    digest = hashlib.sha256()
    digest.update(
        f"v{FORMAT_VERSION}|{mesh_size}|{radius_query_fraction_edge_length!r}|{attention_k_hop}|{tie_breaking}|".encode()
    )
    for coords in (lat, lon):
        coords = np.ascontiguousarray(coords, dtype=np.float32)
        digest.update(f"{coords.size}:".encode())
        digest.update(coords.tobytes())
    return digest.hexdigest()


def cache_path(
    cache_dir, lat, lon, mesh_size, radius_query_fraction_edge_length, attention_k_hop, tie_breaking
) -> pathlib.Path:
    """Where the graphs for these arguments live (``cache_dir=None``: the default)."""
    folder = default_cache_dir() if cache_dir is None else pathlib.Path(cache_dir)
    key = cache_key(lat, lon, mesh_size, radius_query_fraction_edge_length, attention_k_hop, tie_breaking)
    name = f"gencast_graphs_mesh{mesh_size}_k{attention_k_hop}_{lat.size}x{lon.size}_{key[:16]}.npz"
    return folder / name


def load(path: pathlib.Path, lat, lon, mesh_size, radius_query_fraction_edge_length, attention_k_hop, tie_breaking):
    """The cached graphs, or None if the file is missing, unreadable or not for these arguments."""
    if not path.is_file():
        return None
    expected_key = cache_key(lat, lon, mesh_size, radius_query_fraction_edge_length, attention_k_hop, tie_breaking)
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["cache_key"]) != expected_key:
                raise ValueError("cache key mismatch")
            fields = {}
            for field in dataclasses.fields(GenCastGraphs):
                value = stored[field.name]
                fields[field.name] = value.item() if field.name in _SCALAR_FIELDS else np.array(value)
        graphs = GenCastGraphs(**fields)
        _check_consistent(graphs)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"ignoring unusable graph cache file {path} ({error}); rebuilding it", stacklevel=3)
        return None
    return graphs


def save(path: pathlib.Path, graphs: GenCastGraphs) -> None:
    """Writes the graphs atomically (temporary file + rename); warns instead of failing."""
    key = cache_key(
        graphs.grid_lat,
        graphs.grid_lon,
        graphs.mesh_size,
        graphs.radius_query_fraction_edge_length,
        graphs.attention_k_hop,
        graphs.mesh2grid_tie_breaking,
    )
    arrays = {field.name: np.asarray(getattr(graphs, field.name)) for field in dataclasses.fields(GenCastGraphs)}
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as handle:
            temporary = handle.name
            np.savez(handle, cache_key=np.asarray(key), **arrays)
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None and os.path.exists(temporary):
            os.remove(temporary)
        warnings.warn(
            f"could not write the graph cache {path} ({error}); graphs were built but not cached", stacklevel=3
        )


def _check_consistent(graphs: GenCastGraphs) -> None:
    """Raises ValueError unless the arrays have the shapes and index ranges of real graphs."""
    num_mesh, num_grid = graphs.num_mesh_nodes, graphs.num_grid_nodes
    if graphs.mesh_vertices.shape != (num_mesh, 3) or graphs.mesh_permutation.shape != (num_mesh,):
        raise ValueError("mesh arrays have inconsistent shapes")
    if graphs.grid_node_features.shape != (num_grid, 3) or graphs.mesh2grid_senders.shape != (3 * num_grid,):
        raise ValueError("grid arrays have inconsistent shapes")
    checks = (
        (graphs.mesh_senders, num_mesh),
        (graphs.mesh_receivers, num_mesh),
        (graphs.grid2mesh_senders, num_grid),
        (graphs.grid2mesh_receivers, num_mesh),
        (graphs.mesh2grid_senders, num_mesh),
        (graphs.mesh2grid_receivers, num_grid),
        (graphs.attention_neighbours, num_mesh),
    )
    for indices, bound in checks:
        if indices.size and (indices.min() < 0 or indices.max() >= bound):
            raise ValueError("an index array points outside its node set")
    if graphs.attention_neighbours.shape != graphs.attention_neighbour_mask.shape:
        raise ValueError("attention neighbour arrays have inconsistent shapes")
    for features, rows in (
        (graphs.mesh_edge_features, graphs.mesh_senders.size),
        (graphs.grid2mesh_edge_features, graphs.grid2mesh_senders.size),
        (graphs.mesh2grid_edge_features, graphs.mesh2grid_senders.size),
    ):
        if features.shape != (rows, 4) or not np.all(np.isfinite(features)):
            raise ValueError("edge features have the wrong shape or non-finite values")
