"""GraphCast's three graphs: grid -> mesh, the multimesh, mesh -> grid (NumPy, built once).

Lam et al., *Science* 2023, Supplement "Multi-mesh" and "Encoder/Decoder". The multimesh
holds the finest icosahedral vertices in their natural order (no renumbering, unlike
GenCast's banded permutation) and the edges of every refinement level 0 .. mesh_size.
The grid <-> mesh graphs and every structural feature are built by the same helpers as
GenCast's (``mindgencast.graphs``), on the finest mesh: grid -> mesh connects points
within ``radius_query_fraction_edge_length`` x the finest mesh's longest edge, mesh ->
grid the 3 vertices of each grid point's containing triangle.
Reference: ``graphcast/graphcast.py`` (``_init_mesh_properties``, ``_init_grid_properties``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mindgencast.graphs.builder import _check_inputs, grid_mesh_graphs
from mindgencast.graphs.icosahedral_mesh import faces_to_edges, mesh_hierarchy

__all__ = ["GraphCastGraphs", "build_graphcast_graphs"]


@dataclasses.dataclass(frozen=True)
class GraphCastGraphs:
    """Node-index arrays and float32 structural features of GraphCast's graphs.

    Grid node index = ``lat_index * num_lon + lon_index``; mesh node index = finest-mesh vertex.

    Attributes:
      grid_lat, grid_lon: [num_lat], [num_lon] degrees (float32).
      mesh_vertices: [num_mesh_nodes, 3] unit-sphere positions; mesh_faces: [num_faces, 3]
        faces of every level, coarse to fine.
      mesh_senders, mesh_receivers: [num_mesh_edges] multimesh edges.
      mesh_edge_level: [num_mesh_edges] refinement level of each edge.
      mesh_node_features: [num_mesh_nodes, 3]; mesh_edge_features: [num_mesh_edges, 4].
      grid_node_features: [num_grid_nodes, 3].
      grid2mesh_senders (grid), grid2mesh_receivers (mesh), grid2mesh_edge_features [E, 4].
      mesh2grid_senders (mesh), mesh2grid_receivers (grid), mesh2grid_edge_features [E, 4].
      query_radius: grid -> mesh chord radius on the unit sphere.
    """

    grid_lat: np.ndarray
    grid_lon: np.ndarray
    mesh_size: int
    radius_query_fraction_edge_length: float
    mesh_vertices: np.ndarray
    mesh_faces: np.ndarray
    mesh_senders: np.ndarray
    mesh_receivers: np.ndarray
    mesh_edge_level: np.ndarray
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

    @property
    def num_grid_nodes(self) -> int:
        return int(self.grid_lat.size * self.grid_lon.size)

    @property
    def num_mesh_nodes(self) -> int:
        return int(self.mesh_vertices.shape[0])


def build_graphcast_graphs(
    lat, lon, mesh_size: int, radius_query_fraction_edge_length: float, tie_breaking: str = "auto"
) -> GraphCastGraphs:
    """Builds GraphCast's graphs for a lat-lon grid.

    Args:
      lat: [num_lat] ascending latitudes in degrees; lon: [num_lon] longitudes in degrees.
      mesh_size: icosahedron refinements (6 in the published models).
      radius_query_fraction_edge_length: grid -> mesh radius as a fraction of the finest
        mesh's longest edge (0.6 published).
      tie_breaking: mesh -> grid tie rule (see ``grid_mesh_connectivity.containing_faces``).

    Returns:
      :class:`GraphCastGraphs`; the multimesh has ``10 * 4**mesh_size + 2`` nodes and
      ``sum_s 60 * 4**s`` directed edges.
    """
    lat, lon = _check_inputs(lat, lon, mesh_size, radius_query_fraction_edge_length, 0)
    meshes = mesh_hierarchy(mesh_size)
    finest = meshes[-1]
    faces = np.concatenate([m.faces for m in meshes], axis=0)
    senders, receivers = faces_to_edges(faces)
    level = np.concatenate([np.full(m.num_faces, s) for s, m in enumerate(meshes)])
    edge_level = np.concatenate([level, level, level])

    g = grid_mesh_graphs(lat, lon, finest, senders, receivers, radius_query_fraction_edge_length, tie_breaking)
    del g["mesh_lat"], g["mesh_lon"]
    return GraphCastGraphs(
        grid_lat=lat,
        grid_lon=lon,
        mesh_size=mesh_size,
        radius_query_fraction_edge_length=float(radius_query_fraction_edge_length),
        mesh_vertices=finest.vertices.astype(np.float64),
        mesh_faces=faces.astype(np.int32),
        mesh_senders=senders.astype(np.int32),
        mesh_receivers=receivers.astype(np.int32),
        mesh_edge_level=edge_level.astype(np.int32),
        **g,
    )
