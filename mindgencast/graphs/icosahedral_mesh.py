"""Icosahedral meshes of the unit sphere and their refinements.

GraphCast (Lam et al., *Science* 2023, Sec. "Multi-mesh") and GenCast (Price et al.,
*Nature* 2024, Methods "Architecture") run on a regular icosahedron whose triangles are
split into four, ``mesh_size`` times, with the new vertices pushed onto the unit sphere.
GenCast uses only the finest refinement; GraphCast merges the edges of every level into a
"multimesh". Reference: ``graphcast/icosahedral_mesh.py`` (google-deepmind/graphcast).

Vertex positions are bit-identical to the reference: it keeps them in float32 and each new
vertex is the float32 midpoint of its edge divided by its float32 norm. numpy computes that
norm with BLAS ``sdot``, which sums float32 products in float64 and rounds once; we do the
same in vectorised form (see :func:`_float32_norm_like_sdot`). Vertex numbering also follows
the reference: a new vertex gets the next index the first time a face (in face order) visits
its edge, and faces are split in order into the children ``(a, ab, ca), (ab, b, bc),
(ca, bc, c), (ab, bc, ca)``, which keeps every face counter-clockwise seen from outside.

Counts for refinement level ``s``: ``10 * 4**s + 2`` vertices, ``20 * 4**s`` faces,
``30 * 4**s`` undirected edges.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = [
    "TriangularMesh",
    "icosahedron",
    "refine",
    "mesh_hierarchy",
    "finest_mesh",
    "multimesh",
    "faces_to_edges",
]

# The 20 faces of the icosahedron built by `icosahedron`, each counter-clockwise seen
# from outside (the reference lists them in this order; numbering depends on it).
_ICOSAHEDRON_FACES = (
    (0, 1, 2), (0, 6, 1), (8, 0, 2), (8, 4, 0), (3, 8, 2),
    (3, 2, 7), (7, 2, 1), (0, 4, 6), (4, 11, 6), (6, 11, 5),
    (1, 5, 7), (4, 10, 11), (4, 8, 10), (10, 8, 3), (10, 3, 9),
    (11, 10, 9), (11, 9, 5), (5, 9, 7), (9, 3, 7), (1, 6, 5),
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class TriangularMesh:
    """A triangulated closed surface.

    Attributes:
      vertices: [num_vertices, 3] float32 positions (unit norm for sphere meshes).
      faces: [num_faces, 3] int32 vertex indices, counter-clockwise seen from outside.
    """

    vertices: np.ndarray
    faces: np.ndarray

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])


def icosahedron() -> TriangularMesh:
    """The regular icosahedron inscribed in the unit sphere, oriented as in the reference.

    Its vertices are the cyclic permutations of (+-1, +-phi, 0) scaled to unit norm, then
    rotated about the y axis by half the supplement of the dihedral angle, so that a face
    (not an edge) is on top.

    Returns:
      TriangularMesh with 12 float32 vertices and 20 int32 faces.
    """
    phi = (1.0 + np.sqrt(5.0)) / 2.0
    corners = []
    for c1 in (1.0, -1.0):
        for c2 in (phi, -phi):
            corners.extend([(c1, c2, 0.0), (0.0, c1, c2), (c2, 0.0, c1)])
    # The reference stores the corners in float32 before scaling them (in float64).
    vertices = np.asarray(corners, dtype=np.float32).astype(np.float64)
    vertices = (vertices / np.linalg.norm([1.0, phi])).astype(np.float32)

    dihedral_angle = 2.0 * np.arcsin(phi / np.sqrt(3.0))
    angle = (np.pi - dihedral_angle) / 2.0
    cos_a, sin_a = np.cos(angle), np.sin(angle)
    rotation_y = np.array([[cos_a, 0.0, sin_a], [0.0, 1.0, 0.0], [-sin_a, 0.0, cos_a]])
    # Row vectors times the matrix, as the reference does (float64, then float32).
    vertices = (vertices.astype(np.float64) @ rotation_y).astype(np.float32)
    return TriangularMesh(vertices=vertices, faces=np.asarray(_ICOSAHEDRON_FACES, dtype=np.int32))


def refine(mesh: TriangularMesh) -> TriangularMesh:
    """Splits every face into four and projects the new edge midpoints onto the unit sphere.

    Args:
      mesh: a mesh with float32 unit-norm vertices and counter-clockwise faces.

    Returns:
      The refined mesh: the old vertices keep their indices, one new vertex per edge follows
      them (in order of first visit), and face ``f`` becomes faces ``4f .. 4f+3``.
    """
    faces = mesh.faces.astype(np.int64)
    num_vertices = mesh.num_vertices
    # Edges (a, b), (b, c), (c, a) of every face, in the reference's visiting order.
    starts = faces.reshape(-1)
    ends = np.roll(faces, -1, axis=1).reshape(-1)
    keys = np.minimum(starts, ends) * num_vertices + np.maximum(starts, ends)
    unique_keys, first_visit, edge_of_slot = np.unique(keys, return_index=True, return_inverse=True)
    visit_order = np.argsort(first_visit, kind="stable")
    rank = np.empty_like(visit_order)
    rank[visit_order] = np.arange(visit_order.size)
    child = (num_vertices + rank[edge_of_slot]).reshape(faces.shape)

    ordered_keys = unique_keys[visit_order]
    lo, hi = ordered_keys // num_vertices, ordered_keys % num_vertices
    midpoints = (mesh.vertices[lo] + mesh.vertices[hi]) / np.float32(2.0)
    midpoints = midpoints / _float32_norm_like_sdot(midpoints)[:, None]
    vertices = np.concatenate([mesh.vertices, midpoints.astype(np.float32)], axis=0)

    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    ab, bc, ca = child[:, 0], child[:, 1], child[:, 2]
    children = np.stack(
        [
            np.stack([a, ab, ca], axis=1),
            np.stack([ab, b, bc], axis=1),
            np.stack([ca, bc, c], axis=1),
            np.stack([ab, bc, ca], axis=1),
        ],
        axis=1,
    ).reshape(-1, 3)
    return TriangularMesh(vertices=vertices, faces=children.astype(np.int32))


def mesh_hierarchy(mesh_size: int) -> list[TriangularMesh]:
    """The icosahedron and its ``mesh_size`` successive refinements, coarse to fine.

    Args:
      mesh_size: number of refinements, >= 0.

    Returns:
      ``mesh_size + 1`` meshes; mesh ``s`` has ``10 * 4**s + 2`` vertices, and the
      vertices of every level are a prefix of the next level's.
    """
    _check_mesh_size(mesh_size)
    meshes = [icosahedron()]
    for _ in range(mesh_size):
        meshes.append(refine(meshes[-1]))
    return meshes


def finest_mesh(mesh_size: int) -> TriangularMesh:
    """The icosahedron refined ``mesh_size`` times: the only mesh GenCast uses."""
    return mesh_hierarchy(mesh_size)[-1]


def multimesh(mesh_size: int) -> TriangularMesh:
    """GraphCast's multimesh: the finest vertices with the faces of every level.

    Returns:
      TriangularMesh with ``10 * 4**mesh_size + 2`` vertices and
      ``sum_s 20 * 4**s`` faces (coarsest level first). Its ``faces_to_edges`` has
      ``sum_s 60 * 4**s`` directed edges, all distinct.
    """
    meshes = mesh_hierarchy(mesh_size)
    return TriangularMesh(
        vertices=meshes[-1].vertices,
        faces=np.concatenate([mesh.faces for mesh in meshes], axis=0),
    )


def faces_to_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directed edges a->b, b->c, c->a of every face, in the reference's order.

    On a closed, consistently oriented mesh every edge appears in both directions.

    Args:
      faces: [num_faces, 3] integer vertex indices.

    Returns:
      senders, receivers: [3 * num_faces] each; all first edges, then all second, then
      all third edges of the faces.
    """
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must have shape [num_faces, 3], got {faces.shape}")
    senders = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    receivers = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    return senders, receivers


def _float32_norm_like_sdot(points: np.ndarray) -> np.ndarray:
    """Row norms of float32 [n, 3] points, rounded exactly as ``np.linalg.norm`` of one row.

    numpy's float32 dot calls BLAS sdot, which adds the float32 squares in float64 and
    rounds the sum to float32 once; a float32 sum (or einsum) differs in the last bit for
    ~1 in 10 vertices, which then propagates through the finer levels.
    """
    squares = (points * points).astype(np.float64)
    sum_of_squares = ((squares[:, 0] + squares[:, 1]) + squares[:, 2]).astype(np.float32)
    return np.sqrt(sum_of_squares)


def _check_mesh_size(mesh_size: int) -> None:
    if isinstance(mesh_size, bool) or not isinstance(mesh_size, (int, np.integer)) or mesh_size < 0:
        raise ValueError(f"mesh_size must be an integer >= 0 (number of icosahedron refinements), got {mesh_size!r}")
