"""Edges between the lat-lon grid and the icosahedral mesh.

GenCast (Price et al., *Nature* 2024, Methods) and GraphCast (Lam et al., *Science* 2023)
connect the grid to the mesh with two bipartite graphs. Reference:
``graphcast/grid_mesh_connectivity.py``.

* grid -> mesh (encoder): every grid point sends to every mesh vertex within straight-line
  (chord) distance ``radius`` on the unit sphere (``scipy.spatial.cKDTree``, ``<= radius``).
* mesh -> grid (decoder): every grid point receives from the 3 vertices of the mesh
  triangle that contains it. The reference asks ``trimesh.proximity.closest_point`` for the
  planar triangle closest to the point; we compute the same thing without trimesh:
  candidate faces around the nearest mesh vertices (with a proof that no other face can be
  closer, else more candidates), exact point-triangle distances, and trimesh's tie rule (two
  faces sharing the closest point on their common edge: the one whose normal points more
  towards the grid point wins, if both squared distances exceed 1e-8).

  A grid point exactly on the edge shared by two triangles is equally close to both, and
  trimesh's pick then depends on the order of its candidates: the order in which its rtree
  returns the faces, and ``np.argsort`` of their distances (numpy's AVX-512 sort where the
  fixture was made; it orders equal values unlike a stable sort). ``tie_breaking="trimesh"``
  (default when the ``rtree`` package is importable) repeats trimesh's procedure wherever its
  pick can depend on that order: the same rtree over the same face boxes, the same query box,
  the same distance arithmetic and the same argsort. ``"geometric"`` (the fallback without
  rtree) breaks exact ties by computed distance, then by the lower face index.

Grid node index = ``lat_index * num_lon + lon_index``; positions are computed in float32 from
float32 degrees, as in the reference, so that edges at the radius boundary agree.
"""

from __future__ import annotations

import importlib.util

import numpy as np
from scipy import spatial

from mindgencast.graphs.icosahedral_mesh import TriangularMesh, faces_to_edges

__all__ = [
    "grid_positions",
    "radius_query_edges",
    "containing_faces",
    "containing_triangle_edges",
    "resolve_tie_breaking",
]

# trimesh's `tol.merge`: squared distances closer than this count as a tie between two faces.
_TIE_TOLERANCE = 1e-8
# Grid points handled at once when searching containing faces (bounds peak memory).
_CHUNK_SIZE = 32768
# Nearest mesh vertices whose faces are the first candidates (enough for nearly all points).
_INITIAL_NEAREST_VERTICES = 4


def grid_positions(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Unit-sphere positions of the grid nodes.

    Args:
      lat: [num_lat] latitudes in degrees (ascending).
      lon: [num_lon] longitudes in degrees.

    Returns:
      [num_lat * num_lon, 3] float32 xyz, row ``lat_index * num_lon + lon_index``
      (x towards lon 0 on the equator, z towards the north pole).
    """
    lat32 = np.asarray(lat, dtype=np.float32)
    lon32 = np.asarray(lon, dtype=np.float32)
    phi, theta = np.meshgrid(np.deg2rad(lon32), np.deg2rad(np.float32(90.0) - lat32))
    positions = np.stack([np.cos(phi) * np.sin(theta), np.sin(phi) * np.sin(theta), np.cos(theta)], axis=-1)
    return positions.reshape(-1, 3)


def radius_query_edges(grid_xyz: np.ndarray, mesh_vertices: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid -> mesh edges between points no farther apart than ``radius``.

    Args:
      grid_xyz: [num_grid_nodes, 3] grid positions.
      mesh_vertices: [num_mesh_nodes, 3] mesh positions.
      radius: chord distance on the unit sphere.

    Returns:
      grid_indices, mesh_indices: [num_edges] int64, sorted by grid index, then mesh index
      (the reference's order).
    """
    grid_tree = spatial.cKDTree(np.asarray(grid_xyz, dtype=np.float64))
    mesh_tree = spatial.cKDTree(np.asarray(mesh_vertices, dtype=np.float64))
    pairs = grid_tree.sparse_distance_matrix(mesh_tree, float(radius), output_type="ndarray")
    grid_indices = pairs["i"].astype(np.int64)
    mesh_indices = pairs["j"].astype(np.int64)
    order = np.lexsort((mesh_indices, grid_indices))
    return grid_indices[order], mesh_indices[order]


def resolve_tie_breaking(tie_breaking: str = "auto") -> str:
    """The mesh -> grid tie rule that ``tie_breaking`` stands for here.

    Args:
      tie_breaking: ``"trimesh"`` (needs the ``rtree`` package), ``"geometric"``, or
        ``"auto"``: ``"trimesh"`` if rtree is importable, else ``"geometric"``.

    Returns:
      ``"trimesh"`` or ``"geometric"``.
    """
    rtree_available = importlib.util.find_spec("rtree") is not None
    if tie_breaking == "auto":
        return "trimesh" if rtree_available else "geometric"
    if tie_breaking not in ("trimesh", "geometric"):
        raise ValueError(f"tie_breaking must be 'auto', 'trimesh' or 'geometric', got {tie_breaking!r}")
    if tie_breaking == "trimesh" and not rtree_available:
        raise ImportError("tie_breaking='trimesh' needs the rtree package (pip install 'rtree>=1.3')")
    return tie_breaking


def containing_faces(grid_xyz: np.ndarray, mesh: TriangularMesh, tie_breaking: str = "auto") -> np.ndarray:
    """For every grid point, the mesh face closest to it (the one containing it).

    Args:
      grid_xyz: [num_points, 3] positions on the unit sphere.
      mesh: a closed triangular mesh inscribed in the unit sphere.
      tie_breaking: how a point equally close to two faces picks one (see the module
        docstring and :func:`resolve_tie_breaking`).

    Returns:
      [num_points] int64 face indices into ``mesh.faces``.
    """
    tie_breaking = resolve_tie_breaking(tie_breaking)
    vertices = mesh.vertices.astype(np.float64)
    faces = mesh.faces.astype(np.int64)
    corners = vertices[faces]  # [num_faces, 3 corners, 3]
    # Unit normals rounded as trimesh's `face_normals` (cross of b - a and c - b).
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 1])
    normals = normals * (1.0 / np.sqrt(_dot3(normals, normals)))[:, None]
    senders, receivers = faces_to_edges(faces)
    longest_edge_sq = float(np.max(np.sum((vertices[senders] - vertices[receivers]) ** 2, axis=-1)))
    faces_of_vertex = _faces_of_vertex(faces, mesh.num_vertices)
    tree = spatial.cKDTree(vertices)

    points = np.asarray(grid_xyz, dtype=np.float64)
    result = np.empty(points.shape[0], dtype=np.int64)
    best_sq = np.empty(points.shape[0])  # squared distance to the chosen face
    margin_sq = np.empty(points.shape[0])  # the next candidate's squared distance minus best_sq
    for start in range(0, points.shape[0], _CHUNK_SIZE):
        chunk = np.arange(start, min(start + _CHUNK_SIZE, points.shape[0]))
        num_nearest = _INITIAL_NEAREST_VERTICES
        while chunk.size:
            num_nearest = min(num_nearest, mesh.num_vertices)
            nearest_dist, nearest = tree.query(points[chunk], k=num_nearest)
            nearest = nearest.reshape(chunk.size, -1)
            candidates = faces_of_vertex[nearest].reshape(chunk.size, -1)
            face, chunk_best_sq, second_sq = _closest_candidate(points[chunk], candidates, corners, normals)
            result[chunk] = face
            best_sq[chunk], margin_sq[chunk] = chunk_best_sq, second_sq - chunk_best_sq
            if num_nearest == mesh.num_vertices:
                break  # every face was a candidate
            # A face none of whose corners is among the nearest vertices has all corners at
            # distance >= r, so every point of it is at distance >= sqrt(r^2 - e^2/3)
            # (e = longest edge): it cannot beat (or tie with) the best candidate if below.
            outer_sq = nearest_dist.reshape(chunk.size, -1)[:, -1] ** 2 - longest_edge_sq / 3.0
            proven = chunk_best_sq + 2.0 * _TIE_TOLERANCE < outer_sq
            chunk = chunk[~proven]
            num_nearest *= 4
    if tie_breaking == "trimesh":
        # Trimesh's pick depends on its candidate order only where two faces are exactly
        # equally close, or where its normal rule compares two faces (within 1e-8, both beyond
        # 1e-8) and a third might take the place of the second. Every face within 2e-8 of the
        # best was a candidate here (bound above) and distances are computed with trimesh's
        # arithmetic, so elsewhere the geometric pick is trimesh's.
        close_call = np.nonzero(
            (margin_sq == 0.0) | ((margin_sq < 2.0 * _TIE_TOLERANCE) & (best_sq > 0.5 * _TIE_TOLERANCE))
        )[0]
        if close_call.size:
            result[close_call] = _trimesh_picks(points[close_call], corners, normals, tree)
    return result


def containing_triangle_edges(
    grid_xyz: np.ndarray, mesh: TriangularMesh, tie_breaking: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Mesh -> grid edges from the 3 corners of each grid point's containing face.

    Args:
      grid_xyz: [num_grid_nodes, 3] grid positions.
      mesh: the (permuted) mesh.
      tie_breaking: ``"auto"``, ``"trimesh"`` or ``"geometric"`` (:func:`containing_faces`).

    Returns:
      grid_indices, mesh_indices: [3 * num_grid_nodes] int64; grid node ``g`` receives from
      ``mesh.faces[face_g]`` in corner order at rows ``3g .. 3g+2`` (the reference's order).
    """
    face = containing_faces(grid_xyz, mesh, tie_breaking)
    mesh_indices = mesh.faces[face].astype(np.int64).reshape(-1)
    grid_indices = np.repeat(np.arange(face.size, dtype=np.int64), 3)
    return grid_indices, mesh_indices


def _faces_of_vertex(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """[num_vertices, max_degree] faces around each vertex, padded with -1."""
    vertex = faces.reshape(-1)
    face = np.repeat(np.arange(faces.shape[0]), 3)
    order = np.argsort(vertex, kind="stable")
    vertex, face = vertex[order], face[order]
    counts = np.bincount(vertex, minlength=num_vertices)
    slot = np.arange(vertex.size) - np.repeat(np.cumsum(counts) - counts, counts)
    table = np.full((num_vertices, counts.max()), -1, dtype=np.int64)
    table[vertex, slot] = face
    return table


def _closest_candidate(
    points: np.ndarray, candidates: np.ndarray, corners: np.ndarray, normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Picks the closest of the candidate faces of each point, with trimesh's tie rule.

    Args:
      points: [n, 3] float64.
      candidates: [n, c] face indices, -1 for none; duplicates allowed.
      corners: [num_faces, 3, 3] face corner positions; normals: [num_faces, 3] unit.

    Returns:
      face: [n] chosen face; best_sq: [n] its squared distance; second_sq: [n] the next
      smallest squared distance of another candidate (inf if none).
    """
    # Drop repeated and missing candidates (sorted to the end) and the columns left empty.
    candidates = np.sort(candidates, axis=1)
    repeated = np.zeros(candidates.shape, dtype=bool)
    repeated[:, 1:] = candidates[:, 1:] == candidates[:, :-1]
    candidates = np.where(repeated | (candidates < 0), np.iinfo(np.int64).max, candidates)
    candidates = np.sort(candidates, axis=1)
    usable = candidates != np.iinfo(np.int64).max
    width = max(int(usable.sum(axis=1).max()), 2)
    candidates, usable = candidates[:, :width], usable[:, :width]
    safe = np.where(usable, candidates, 0)
    closest = _closest_point_on_triangles(points[:, None, :], corners[safe])
    offset = points[:, None, :] - closest
    dist_sq = np.where(usable, _dot3(offset, offset), np.inf)

    rows = np.arange(points.shape[0])
    order = np.argsort(dist_sq, axis=1, kind="stable")[:, :2]
    first_sq, second_sq = dist_sq[rows, order[:, 0]], dist_sq[rows, order[:, 1]]
    chosen = order[:, 0]
    # trimesh: two faces (nearly) equally close -- the closest point is on their shared
    # edge -- go to the face whose normal is closer to the direction of the point.
    tie = (second_sq - first_sq < _TIE_TOLERANCE) & (first_sq > _TIE_TOLERANCE) & (second_sq > _TIE_TOLERANCE)
    if np.any(tie):
        tied_rows = rows[tie]
        pair = order[tie]  # [t, 2]
        pair_faces = safe[tied_rows[:, None], pair]
        directions = offset[tied_rows[:, None], pair] / np.sqrt(dist_sq[tied_rows[:, None], pair])[..., None]
        alignment = np.sum(normals[pair_faces] * directions, axis=-1)
        chosen[tie] = pair[np.arange(pair.shape[0]), np.argmax(alignment, axis=1)]
    return safe[rows, chosen], dist_sq[rows, chosen], second_sq


def _trimesh_picks(
    points: np.ndarray, corners: np.ndarray, normals: np.ndarray, vertex_tree: spatial.cKDTree
) -> np.ndarray:
    """The face trimesh 4.6 (``proximity.closest_point``) picks for each point, ties included.

    Candidates: the faces whose axis-aligned box meets the cube of half-side (distance to the
    nearest vertex + 1e-8) around the point, in the order an rtree stream-loaded with the face
    boxes (ids 0..F-1, libspatialindex defaults) returns them. The two smallest squared
    distances by ``np.argsort`` (whose order of equal values is what decides exact ties);
    if they differ by < 1e-8 and both exceed 1e-8, the face whose normal points more towards
    the point, else the first.

    Args:
      points: [n, 3] float64; corners: [num_faces, 3, 3]; normals: [num_faces, 3] unit.
      vertex_tree: cKDTree of all mesh vertices.

    Returns:
      [n] int64 face indices.
    """
    import rtree  # optional dependency, only for exact ties

    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)  # interleaved
    index = rtree.index.Index(
        ((face, box, None) for face, box in enumerate(boxes)), properties=rtree.index.Property(dimension=3)
    )
    reach = vertex_tree.query(points)[0][:, None] + _TIE_TOLERANCE
    picks = np.empty(points.shape[0], dtype=np.int64)
    for i, (point, query) in enumerate(zip(points, np.concatenate([points - reach, points + reach], axis=1))):
        candidates = np.fromiter(index.intersection(query), dtype=np.int64)
        offset = point - _closest_point_on_triangles(point, corners[candidates])
        dist_sq = _dot3(offset, offset)
        two = np.argsort(dist_sq)[:2] if candidates.size > 1 else np.zeros(2, dtype=np.int64)
        chosen = two[0]
        if np.ptp(dist_sq[two]) < _TIE_TOLERANCE and np.all(np.abs(dist_sq[two]) > _TIE_TOLERANCE):
            directions = offset[two] / np.sqrt(dist_sq[two])[:, None]
            chosen = two[np.argmax(np.sum(normals[candidates[two]] * directions, axis=-1))]
        picks[i] = candidates[chosen]
    return picks


def _dot3(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Dot products over the last axis (length 3), summed left to right like trimesh's."""
    product = u * v
    return (product[..., 0] + product[..., 1]) + product[..., 2]


def _closest_point_on_triangles(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Closest point of each triangle to each point (Ericson, *Real-Time Collision Detection*).

    The Voronoi regions of the corners, then the edges, then the interior are tested in the
    order and with the arithmetic trimesh uses, so that exact ties between two faces are
    broken by the same rounding as in the reference.

    Args:
      points: [..., 3]; triangles: [..., 3 corners, 3] (broadcast against points).

    Returns:
      [..., 3] float64 closest points.
    """
    zero = 100.0 * np.finfo(np.float64).resolution  # trimesh's `tol.zero`
    a, b, c = triangles[..., 0, :], triangles[..., 1, :], triangles[..., 2, :]
    ab, ac = b - a, c - a
    ap, bp, cp = points - a, points - b, points - c
    d1, d2 = _dot3(ab, ap), _dot3(ac, ap)
    d3, d4 = _dot3(ab, bp), _dot3(ac, bp)
    d5, d6 = _dot3(ab, cp), _dot3(ac, cp)
    vc = d1 * d4 - d3 * d2
    vb = d5 * d2 - d1 * d6
    va = d3 * d6 - d5 * d4

    with np.errstate(divide="ignore", invalid="ignore"):
        on_ab = a + (d1 / (d1 - d3))[..., None] * ab
        on_ac = a + (d2 / (d2 - d6))[..., None] * ac
        d43 = d4 - d3
        on_bc = b + (d43 / (d43 + (d5 - d6)))[..., None] * (c - b)
        denom = 1.0 / (va + vb + vc)
        inside = a + ab * (vb * denom)[..., None] + ac * (vc * denom)[..., None]

    # First matching region wins, in trimesh's order.
    regions = [
        ((d1 < zero) & (d2 < zero), a),
        ((d3 > -zero) & (d4 <= d3), b),
        ((vc < zero) & (d1 > -zero) & (d3 < zero), on_ab),
        ((d6 > -zero) & (d5 <= d6), c),
        ((vb < zero) & (d2 > -zero) & (d6 < zero), on_ac),
        ((va < zero) & (d43 > -zero) & ((d5 - d6) > -zero), on_bc),
    ]
    result = inside
    for condition, point in reversed(regions):
        result = np.where(condition[..., None], point, result)
    return result
