"""GenCast's graphs (NumPy/SciPy, built once and cached): mesh, grid<->mesh edges, features.

See ``docs/graphs.md``. Building graphs is pure NumPy; running them is the model's job.
"""

from mindgencast.graphs.attention_neighbourhood import k_hop_neighbours, mask_block_size, neighbours_to_coo
from mindgencast.graphs.banded_permutation import banded_permutation, permute_mesh_to_banded
from mindgencast.graphs.builder import GenCastGraphs, build_gencast_graphs, graphs_for_config, with_mesh2grid_edges
from mindgencast.graphs.graph_cache import default_cache_dir
from mindgencast.graphs.grid_mesh_connectivity import (
    containing_faces,
    containing_triangle_edges,
    grid_positions,
    radius_query_edges,
)
from mindgencast.graphs.icosahedral_mesh import (
    TriangularMesh,
    faces_to_edges,
    finest_mesh,
    icosahedron,
    mesh_hierarchy,
    multimesh,
    refine,
)
from mindgencast.graphs.structural_features import edge_features, lat_lon_of_positions, node_features

__all__ = [
    "GenCastGraphs",
    "build_gencast_graphs",
    "graphs_for_config",
    "with_mesh2grid_edges",
    "default_cache_dir",
    "TriangularMesh",
    "icosahedron",
    "refine",
    "mesh_hierarchy",
    "finest_mesh",
    "multimesh",
    "faces_to_edges",
    "banded_permutation",
    "permute_mesh_to_banded",
    "grid_positions",
    "radius_query_edges",
    "containing_faces",
    "containing_triangle_edges",
    "lat_lon_of_positions",
    "node_features",
    "edge_features",
    "k_hop_neighbours",
    "neighbours_to_coo",
    "mask_block_size",
]
