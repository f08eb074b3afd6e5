"""Reverse Cuthill-McKee renumbering of the mesh, so its attention mask is banded.

GenCast (Price et al., *Nature* 2024) runs a sparse transformer over the mesh nodes whose
mask, the k-hop neighbourhood, becomes block tri-diagonal once the nodes are renumbered by
reverse Cuthill-McKee (RCM). Reference: ``_permute_mesh_to_banded`` in
``graphcast/denoiser.py``, which calls ``scipy.sparse.csgraph.reverse_cuthill_mckee`` on the
mesh adjacency with ``symmetric_mode=True``. RCM breaks ties by the order of the column
indices in each CSR row; we build the adjacency with sorted column indices, as scipy's
item assignment in the reference does, so the permutation is the reference's exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from mindgencast.graphs.icosahedral_mesh import TriangularMesh, faces_to_edges

__all__ = ["banded_permutation", "permute_mesh_to_banded"]


def banded_permutation(mesh: TriangularMesh) -> np.ndarray:
    """The reverse Cuthill-McKee order of the mesh vertices.

    Args:
      mesh: a triangular mesh with ``num_vertices`` vertices.

    Returns:
      permutation: [num_vertices] int64; new vertex ``i`` is old vertex ``permutation[i]``.
    """
    senders, receivers = faces_to_edges(mesh.faces)
    num_vertices = mesh.num_vertices
    adjacency = sparse.csr_matrix(
        (np.ones(senders.size, dtype=np.float64), (senders, receivers)),
        shape=(num_vertices, num_vertices),
    )
    adjacency.sum_duplicates()  # canonical form: sorted column indices in every row
    adjacency.data[:] = 1.0
    return csgraph.reverse_cuthill_mckee(adjacency, symmetric_mode=True).astype(np.int64)


def permute_mesh_to_banded(mesh: TriangularMesh) -> tuple[TriangularMesh, np.ndarray]:
    """Renumbers the mesh vertices in reverse Cuthill-McKee order.

    Args:
      mesh: a triangular mesh.

    Returns:
      (permuted_mesh, permutation): ``permuted_mesh.vertices == mesh.vertices[permutation]``
      and its faces name the same triangles, in the same order, with the new numbers.
    """
    permutation = banded_permutation(mesh)
    new_index_of_old = np.empty_like(permutation)
    new_index_of_old[permutation] = np.arange(permutation.size)
    permuted = TriangularMesh(
        vertices=mesh.vertices[permutation],
        faces=new_index_of_old[mesh.faces].astype(mesh.faces.dtype),
    )
    return permuted, permutation
