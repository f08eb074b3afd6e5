"""Icosahedral meshes and the banded permutation: invariants by formula (mindgencast.graphs)."""

import numpy as np
import pytest

from mindgencast.graphs import (
    faces_to_edges,
    finest_mesh,
    icosahedron,
    mesh_hierarchy,
    multimesh,
    permute_mesh_to_banded,
)


def _undirected_edges(faces):
    senders, receivers = faces_to_edges(faces)
    pairs = np.stack([np.minimum(senders, receivers), np.maximum(senders, receivers)], axis=1)
    return np.unique(pairs, axis=0)


@pytest.mark.parametrize("mesh_size", range(6))
def test_counts_norms_and_orientation(mesh_size):
    mesh = finest_mesh(mesh_size)
    assert mesh.vertices.shape == (10 * 4**mesh_size + 2, 3)
    assert mesh.faces.shape == (20 * 4**mesh_size, 3)
    assert len(_undirected_edges(mesh.faces)) == 30 * 4**mesh_size
    # float32 positions: unit norm up to float32 rounding.
    np.testing.assert_allclose(np.linalg.norm(mesh.vertices.astype(np.float64), axis=1), 1.0, atol=2e-7)
    # Counter-clockwise seen from outside <=> the face normal points away from the centre.
    a, b, c = (mesh.vertices[mesh.faces[:, i]].astype(np.float64) for i in range(3))
    outward = np.sum(np.cross(b - a, c - a) * (a + b + c), axis=1)
    assert np.all(outward > 0)
    # Closed and consistently oriented: every directed edge once, and its reverse too.
    senders, receivers = faces_to_edges(mesh.faces)
    directed = set(zip(senders.tolist(), receivers.tolist()))
    assert len(directed) == senders.size
    assert directed == set(zip(receivers.tolist(), senders.tolist()))


def test_mesh_6_counts():
    mesh = finest_mesh(6)
    assert mesh.vertices.shape == (40962, 3) and mesh.faces.shape == (81920, 3)
    assert len(_undirected_edges(mesh.faces)) == 30 * 4**6
    assert len(mesh.vertices) - 30 * 4**6 + len(mesh.faces) == 2  # Euler characteristic


def test_icosahedron_is_regular():
    mesh = icosahedron()
    pairs = _undirected_edges(mesh.faces)
    lengths = np.linalg.norm(mesh.vertices[pairs[:, 0]] - mesh.vertices[pairs[:, 1]], axis=1)
    # Edge of the icosahedron inscribed in the unit sphere: 4 / sqrt(10 + 2 sqrt(5)).
    np.testing.assert_allclose(lengths, 4 / np.sqrt(10 + 2 * np.sqrt(5)), rtol=1e-6)


def test_hierarchy_levels_extend_each_other():
    meshes = mesh_hierarchy(3)
    assert len(meshes) == 4
    for coarse, fine in zip(meshes[:-1], meshes[1:]):
        np.testing.assert_array_equal(fine.vertices[: coarse.num_vertices], coarse.vertices)
        # Child faces 4f..4f+3 keep the parent's corners as their first/second/third corner.
        np.testing.assert_array_equal(fine.faces[0::4, 0], coarse.faces[:, 0])
        np.testing.assert_array_equal(fine.faces[1::4, 1], coarse.faces[:, 1])
        np.testing.assert_array_equal(fine.faces[2::4, 2], coarse.faces[:, 2])


@pytest.mark.parametrize("mesh_size", [0, 2, 4])
def test_multimesh_merges_every_level(mesh_size):
    mesh = multimesh(mesh_size)
    assert mesh.vertices.shape == (10 * 4**mesh_size + 2, 3)
    assert mesh.faces.shape == (sum(20 * 4**s for s in range(mesh_size + 1)), 3)
    senders, receivers = faces_to_edges(mesh.faces)
    expected = sum(60 * 4**s for s in range(mesh_size + 1))
    assert senders.size == expected
    assert len(set(zip(senders.tolist(), receivers.tolist()))) == expected  # levels share no edge


def test_faces_to_edges_order_and_shape_check():
    senders, receivers = faces_to_edges(np.array([[0, 1, 2], [2, 1, 3]]))
    np.testing.assert_array_equal(senders, [0, 2, 1, 1, 2, 3])
    np.testing.assert_array_equal(receivers, [1, 1, 2, 3, 0, 2])
    with pytest.raises(ValueError, match="num_faces, 3"):
        faces_to_edges(np.zeros((4, 4), dtype=int))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_mesh_size_is_rejected(bad):
    with pytest.raises(ValueError, match="mesh_size"):
        mesh_hierarchy(bad)


def test_banded_permutation_renumbers_the_same_mesh_with_smaller_bandwidth():
    mesh = finest_mesh(3)
    permuted, permutation = permute_mesh_to_banded(mesh)
    np.testing.assert_array_equal(np.sort(permutation), np.arange(mesh.num_vertices))
    np.testing.assert_array_equal(permuted.vertices, mesh.vertices[permutation])
    # Same triangles, same order, same corner order.
    np.testing.assert_array_equal(permuted.vertices[permuted.faces], mesh.vertices[mesh.faces])

    def bandwidth(faces):
        senders, receivers = faces_to_edges(faces)
        return np.abs(senders.astype(int) - receivers).max()

    assert bandwidth(permuted.faces) < bandwidth(mesh.faces) / 4
