"""Builds (once, then from a disk cache) every graph array GenCast needs for one grid.

GenCast (Price et al., *Nature* 2024, Methods "Architecture"): an encoder from the lat-lon
grid to the finest icosahedral mesh (radius query), a sparse transformer on the mesh nodes
(k-hop attention neighbourhood, nodes renumbered by reverse Cuthill-McKee), and a decoder
from the mesh back to the grid (the 3 corners of the containing triangle). Reference:
``_DenoiserArchitecture.__init__`` / ``_maybe_init`` in ``graphcast/denoiser.py``; the arrays
carry the names of the fixture ``tests/data/gencast_tiny/graphs.npz``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from mindgencast.config import DenoiserArchitectureConfig
from mindgencast.graphs import attention_neighbourhood, grid_mesh_connectivity, structural_features
from mindgencast.graphs.banded_permutation import permute_mesh_to_banded
from mindgencast.graphs.icosahedral_mesh import faces_to_edges, finest_mesh

__all__ = ["GenCastGraphs", "build_gencast_graphs", "graphs_for_config", "with_mesh2grid_edges", "grid_mesh_graphs"]


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare field by field
class GenCastGraphs:
    """All structural arrays of GenCast's graphs for one grid and architecture.

    Index arrays are int32, features float32. Mesh node numbers are those after the banded
    (reverse Cuthill-McKee) permutation; grid node ``g = lat_index * num_lon + lon_index``.

    Attributes:
      grid_lat: [num_lat] float32 degrees, ascending. grid_lon: [num_lon] float32 degrees.
      mesh_size: icosahedron refinements. radius_query_fraction_edge_length: as configured.
      attention_k_hop: hops of the attention neighbourhood.
      mesh_vertices: [num_mesh_nodes, 3] float64 unit-sphere xyz (exactly the reference's
        float32 values).
      mesh_faces: [num_mesh_faces, 3] int32, counter-clockwise seen from outside.
      mesh_permutation: [num_mesh_nodes] int32; ``mesh_vertices`` = unpermuted[permutation].
      mesh_nodes_lat, mesh_nodes_lon: [num_mesh_nodes] float32 degrees (lon in [0, 360)).
      mesh_senders, mesh_receivers: [3 * num_mesh_faces] int32 (both directions).
      mesh_node_features: [num_mesh_nodes, 3] float32 ``[sin(lat), cos(lon), sin(lon)]``.
      mesh_edge_features: [num_mesh_edges, 4] float32 ``[|d|, d_xyz] / max|d|``.
      grid_node_features: [num_grid_nodes, 3] float32, like mesh_node_features.
      grid2mesh_senders (grid), grid2mesh_receivers (mesh): [num_grid2mesh_edges] int32.
      grid2mesh_edge_features: [num_grid2mesh_edges, 4] float32.
      mesh2grid_senders (mesh), mesh2grid_receivers (grid): [3 * num_grid_nodes] int32.
      mesh2grid_edge_features: [3 * num_grid_nodes, 4] float32.
      query_radius: grid->mesh chord radius on the unit sphere (float32 value, as the
        reference computes it).
      attention_neighbours: [num_mesh_nodes, max_k] int32, row i ascending, padded with i.
      attention_neighbour_mask: [num_mesh_nodes, max_k] bool, True for real neighbours.
      mesh2grid_tie_breaking: ``"trimesh"`` or ``"geometric"``, how grid points on the edge
        shared by two mesh triangles picked one (``grid_mesh_connectivity``).
    """

    grid_lat: np.ndarray
    grid_lon: np.ndarray
    mesh_size: int
    radius_query_fraction_edge_length: float
    attention_k_hop: int
    mesh_vertices: np.ndarray
    mesh_faces: np.ndarray
    mesh_permutation: np.ndarray
    mesh_nodes_lat: np.ndarray
    mesh_nodes_lon: np.ndarray
    mesh_senders: np.ndarray
    mesh_receivers: np.ndarray
    mesh_node_features: np.ndarray
    mesh_edge_features: np.ndarray
    grid_node_features: np.ndarray
    grid2mesh_senders: np.ndarray
    grid2mesh_receivers: np.ndarray
    grid2mesh_edge_features: np.ndarray
    mesh2grid_senders: np.ndarray
    mesh2grid_receivers: np.ndarray
    mesh2grid_edge_features: np.ndarray
    query_radius: float
    attention_neighbours: np.ndarray
    attention_neighbour_mask: np.ndarray
    mesh2grid_tie_breaking: str

    @property
    def num_grid_nodes(self) -> int:
        return int(self.grid_lat.shape[0] * self.grid_lon.shape[0])

    @property
    def num_mesh_nodes(self) -> int:
        return int(self.mesh_vertices.shape[0])

    @property
    def attention_max_k(self) -> int:
        """Width of the padded neighbour lists: the largest neighbourhood."""
        return int(self.attention_neighbours.shape[1])

    @property
    def attention_mask_nnz(self) -> int:
        return int(np.count_nonzero(self.attention_neighbour_mask))

    @property
    def attention_mask_rows(self) -> np.ndarray:
        """[nnz] int32 row of each mask entry, row-major sorted (computed on access)."""
        return attention_neighbourhood.neighbours_to_coo(self.attention_neighbours, self.attention_neighbour_mask)[0]

    @property
    def attention_mask_cols(self) -> np.ndarray:
        """[nnz] int32 column of each mask entry, row-major sorted (computed on access)."""
        return attention_neighbourhood.neighbours_to_coo(self.attention_neighbours, self.attention_neighbour_mask)[1]

    @property
    def attention_mask_block_size(self) -> int:
        """Block size of the reference's block-tridiagonal attention (1 + max |i - j|)."""
        return attention_neighbourhood.mask_block_size(self.attention_neighbours, self.attention_neighbour_mask)

    @property
    def attention_num_padding_nodes(self) -> int:
        """Nodes the reference's triblockdiag attention pads to a multiple of the block size."""
        block = self.attention_mask_block_size
        return int(math.ceil(self.num_mesh_nodes / block) * block - self.num_mesh_nodes)


def build_gencast_graphs(
    lat: np.ndarray,
    lon: np.ndarray,
    mesh_size: int,
    radius_query_fraction_edge_length: float,
    attention_k_hop: int,
    cache_dir=None,
    tie_breaking: str = "auto",
) -> GenCastGraphs:
    """Builds GenCast's graphs for a lat-lon grid, or loads them from the disk cache.

    Args:
      lat: [num_lat] latitudes in degrees, strictly ascending, within [-90, 90].
      lon: [num_lon] longitudes in degrees, distinct.
      mesh_size: icosahedron refinements (GenCast: 6 at 0.25 deg, 5 or 4 at 1 deg).
      radius_query_fraction_edge_length: grid->mesh radius / longest mesh edge (0.6).
      attention_k_hop: hops of the attention neighbourhood (16 in the published models).
      cache_dir: folder of the cache (default ``$MINDGENCAST_CACHE`` or
        ``~/.cache/mindgencast/graphs``); ``False`` builds without reading or writing it.
      tie_breaking: mesh -> grid choice for grid points on the edge shared by two mesh
        triangles: ``"trimesh"`` (the reference's pick, needs rtree), ``"geometric"``, or
        ``"auto"`` (``"trimesh"`` if rtree is importable); see ``grid_mesh_connectivity``.

    Returns:
      GenCastGraphs; identical arrays whether built or loaded.
    """
    from mindgencast.graphs import graph_cache  # the cache module imports this one

    lat, lon = _check_inputs(lat, lon, mesh_size, radius_query_fraction_edge_length, attention_k_hop)
    params = dict(
        mesh_size=int(mesh_size),
        radius_query_fraction_edge_length=float(radius_query_fraction_edge_length),
        attention_k_hop=int(attention_k_hop),
        tie_breaking=grid_mesh_connectivity.resolve_tie_breaking(tie_breaking),
    )
    if cache_dir is False:
        return _build(lat, lon, **params)
    path = graph_cache.cache_path(cache_dir, lat, lon, **params)
    cached = graph_cache.load(path, lat, lon, **params)
    if cached is not None:
        return cached
    graphs = _build(lat, lon, **params)
    graph_cache.save(path, graphs)
    return graphs


def graphs_for_config(
    lat: np.ndarray, lon: np.ndarray, arch: DenoiserArchitectureConfig, cache_dir=None, tie_breaking: str = "auto"
) -> GenCastGraphs:
    """:func:`build_gencast_graphs` with the mesh size, radius and k-hop of ``arch``."""
    return build_gencast_graphs(
        lat,
        lon,
        mesh_size=arch.mesh_size,
        radius_query_fraction_edge_length=arch.radius_query_fraction_edge_length,
        attention_k_hop=arch.sparse_transformer_config.attention_k_hop,
        cache_dir=cache_dir,
        tie_breaking=tie_breaking,
    )


def with_mesh2grid_edges(graphs: GenCastGraphs, mesh_indices: np.ndarray, grid_indices: np.ndarray) -> GenCastGraphs:
    """A copy of ``graphs`` with other mesh -> grid edges (and their features recomputed).

    A grid point that lies exactly on a mesh edge is contained by both adjacent triangles;
    the reference's pick between them is decided by sort order inside trimesh, not by
    geometry. ``tie_breaking="trimesh"`` reproduces it; graphs built without rtree
    (``"geometric"``) can adopt the reference's edges with this.

    Args:
      mesh_indices: [num_edges] senders (mesh nodes); grid_indices: [num_edges] receivers.
    """
    mesh_indices = np.asarray(mesh_indices).astype(np.int32)
    grid_indices = np.asarray(grid_indices).astype(np.int32)
    if mesh_indices.shape != grid_indices.shape or mesh_indices.ndim != 1:
        raise ValueError("mesh_indices and grid_indices must be 1-D arrays of the same length")
    if mesh_indices.size and (mesh_indices.min() < 0 or mesh_indices.max() >= graphs.num_mesh_nodes):
        raise ValueError(f"mesh_indices must lie in [0, {graphs.num_mesh_nodes})")
    if grid_indices.size and (grid_indices.min() < 0 or grid_indices.max() >= graphs.num_grid_nodes):
        raise ValueError(f"grid_indices must lie in [0, {graphs.num_grid_nodes})")
    grid_lon_2d, grid_lat_2d = np.meshgrid(graphs.grid_lon, graphs.grid_lat)
    features = structural_features.edge_features(
        graphs.mesh_nodes_lat,
        graphs.mesh_nodes_lon,
        grid_lat_2d.reshape(-1),
        grid_lon_2d.reshape(-1),
        mesh_indices,
        grid_indices,
    )
    return dataclasses.replace(
        graphs, mesh2grid_senders=mesh_indices, mesh2grid_receivers=grid_indices, mesh2grid_edge_features=features
    )


def grid_mesh_graphs(lat, lon, mesh, mesh_senders, mesh_receivers, radius_query_fraction_edge_length: float,
                     tie_breaking: str) -> dict:
    """The structure shared by GenCast's and GraphCast's graphs, as GraphGenerator builds it.

    Args:
      lat, lon: the grid (degrees); mesh: the finest icosahedral mesh (its vertices set the
        grid -> mesh radius and the mesh -> grid containing triangles); mesh_senders,
        mesh_receivers: the processor's mesh edges (GenCast: the finest mesh's; GraphCast:
        the multimesh's); radius fraction and tie rule as the configs.

    Returns:
      dict with ``mesh_lat``, ``mesh_lon``, ``query_radius``, ``mesh_node_features``,
      ``mesh_edge_features``, ``grid_node_features`` and ``grid2mesh_*`` / ``mesh2grid_*``
      ``senders``, ``receivers``, ``edge_features``.
    """
    finest_senders, finest_receivers = faces_to_edges(mesh.faces)
    # float32 arithmetic like the reference: it sets the edges at the radius boundary.
    edge_lengths = np.linalg.norm(mesh.vertices[finest_senders] - mesh.vertices[finest_receivers], axis=-1)
    query_radius = float(edge_lengths.max() * np.float32(radius_query_fraction_edge_length))

    mesh_lat, mesh_lon = structural_features.lat_lon_of_positions(mesh.vertices)
    grid_lon_2d, grid_lat_2d = np.meshgrid(lon, lat)
    grid_lat_n, grid_lon_n = grid_lat_2d.reshape(-1), grid_lon_2d.reshape(-1)
    grid_xyz = grid_mesh_connectivity.grid_positions(lat, lon)
    g2m_grid, g2m_mesh = grid_mesh_connectivity.radius_query_edges(grid_xyz, mesh.vertices, query_radius)
    m2g_grid, m2g_mesh = grid_mesh_connectivity.containing_triangle_edges(grid_xyz, mesh, tie_breaking)
    edge_features = structural_features.edge_features
    return dict(
        mesh_lat=mesh_lat,
        mesh_lon=mesh_lon,
        query_radius=query_radius,
        mesh_node_features=structural_features.node_features(mesh_lat, mesh_lon),
        mesh_edge_features=edge_features(mesh_lat, mesh_lon, mesh_lat, mesh_lon, mesh_senders, mesh_receivers),
        grid_node_features=structural_features.node_features(grid_lat_n, grid_lon_n),
        grid2mesh_senders=g2m_grid.astype(np.int32),
        grid2mesh_receivers=g2m_mesh.astype(np.int32),
        grid2mesh_edge_features=edge_features(grid_lat_n, grid_lon_n, mesh_lat, mesh_lon, g2m_grid, g2m_mesh),
        mesh2grid_senders=m2g_mesh.astype(np.int32),
        mesh2grid_receivers=m2g_grid.astype(np.int32),
        mesh2grid_edge_features=edge_features(mesh_lat, mesh_lon, grid_lat_n, grid_lon_n, m2g_mesh, m2g_grid),
    )


def _build(
    lat: np.ndarray,
    lon: np.ndarray,
    mesh_size: int,
    radius_query_fraction_edge_length: float,
    attention_k_hop: int,
    tie_breaking: str,
) -> GenCastGraphs:
    mesh, permutation = permute_mesh_to_banded(finest_mesh(mesh_size))
    mesh_senders, mesh_receivers = faces_to_edges(mesh.faces)
    g = grid_mesh_graphs(lat, lon, mesh, mesh_senders, mesh_receivers, radius_query_fraction_edge_length,
                         tie_breaking)
    neighbours, neighbour_mask = attention_neighbourhood.k_hop_neighbours(
        mesh_senders, mesh_receivers, mesh.num_vertices, attention_k_hop
    )
    return GenCastGraphs(
        grid_lat=lat,
        grid_lon=lon,
        mesh_size=mesh_size,
        radius_query_fraction_edge_length=radius_query_fraction_edge_length,
        attention_k_hop=attention_k_hop,
        mesh_vertices=mesh.vertices.astype(np.float64),
        mesh_faces=mesh.faces.astype(np.int32),
        mesh_permutation=permutation.astype(np.int32),
        mesh_nodes_lat=g.pop("mesh_lat"),
        mesh_nodes_lon=g.pop("mesh_lon"),
        mesh_senders=mesh_senders.astype(np.int32),
        mesh_receivers=mesh_receivers.astype(np.int32),
        **g,
        attention_neighbours=neighbours,
        attention_neighbour_mask=neighbour_mask,
        mesh2grid_tie_breaking=tie_breaking,
    )


def _check_inputs(lat, lon, mesh_size, radius_fraction, k_hop) -> tuple[np.ndarray, np.ndarray]:
    """Validates the arguments; returns lat, lon as float32 (the reference's precision)."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat.ndim != 1 or lat.size < 2 or not np.all(np.isfinite(lat)):
        raise ValueError(f"lat must be a 1-D array of at least 2 finite latitudes in degrees, got shape {lat.shape}")
    if not np.all(np.diff(lat) > 0):
        raise ValueError("lat must be strictly ascending (GenCast's grid runs from -90 to 90); reverse it first")
    if lat[0] < -90 or lat[-1] > 90:
        raise ValueError(f"lat must lie within [-90, 90] degrees, got [{lat[0]}, {lat[-1]}]")
    if lon.ndim != 1 or lon.size < 1 or not np.all(np.isfinite(lon)):
        raise ValueError(f"lon must be a 1-D array of finite longitudes in degrees, got shape {lon.shape}")
    if np.unique(np.mod(lon, 360.0)).size != lon.size:
        raise ValueError("lon must not repeat a longitude (e.g. both 0 and 360)")
    if isinstance(mesh_size, bool) or not isinstance(mesh_size, (int, np.integer)) or mesh_size < 0:
        raise ValueError(f"mesh_size must be an integer >= 0, got {mesh_size!r}")
    if not (
        isinstance(radius_fraction, (int, float, np.floating))
        and math.isfinite(radius_fraction)
        and radius_fraction > 0
    ):
        raise ValueError(
            f"radius_query_fraction_edge_length must be a positive number (e.g. 0.6), got {radius_fraction!r}"
        )
    if isinstance(k_hop, bool) or not isinstance(k_hop, (int, np.integer)) or k_hop < 0:
        raise ValueError(f"attention_k_hop must be an integer >= 0, got {k_hop!r}")
    return lat.astype(np.float32), lon.astype(np.float32)
