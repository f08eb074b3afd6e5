"""The k-hop attention neighbourhood against its definition, the nonzeros of (A + I)^k."""

import numpy as np
import pytest

from mindgencast.graphs import (
    faces_to_edges,
    finest_mesh,
    k_hop_neighbours,
    mask_block_size,
    neighbours_to_coo,
    permute_mesh_to_banded,
)


def _dense_power_pattern(senders, receivers, num_nodes, k):
    adjacency = np.eye(num_nodes, dtype=np.int64)
    adjacency[senders, receivers] = 1
    reach = np.eye(num_nodes, dtype=np.int64)
    for _ in range(k):
        reach = np.minimum(reach @ adjacency, 1)  # keep counts small
    return reach > 0


@pytest.mark.parametrize("mesh_size, k_hop", [(3, 3), (2, 1), (1, 4)])
def test_neighbours_equal_the_matrix_power(mesh_size, k_hop):
    mesh, _ = permute_mesh_to_banded(finest_mesh(mesh_size))
    senders, receivers = faces_to_edges(mesh.faces)
    neighbours, mask = k_hop_neighbours(senders, receivers, mesh.num_vertices, k_hop)
    expected = _dense_power_pattern(senders, receivers, mesh.num_vertices, k_hop)
    assert neighbours.dtype == np.int32 and mask.dtype == bool
    assert neighbours.shape == mask.shape == (mesh.num_vertices, expected.sum(axis=1).max())
    rows, cols = neighbours_to_coo(neighbours, mask)
    expected_rows, expected_cols = np.nonzero(expected)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(cols, expected_cols)
    # Rows ascending, padding is the row's own index and comes last.
    own = np.arange(mesh.num_vertices)[:, None]
    assert np.all(np.where(mask, True, neighbours == own))
    assert np.all(mask[:, :-1] >= mask[:, 1:])
    real = np.where(mask, neighbours, np.iinfo(np.int32).max)
    assert np.all(np.diff(real, axis=1)[mask[:, 1:]] > 0)
    # Block size of the banded mask: 1 + max |i - j|.
    assert mask_block_size(neighbours, mask) == np.abs(expected_rows - expected_cols).max() + 1


def test_k_hop_16_on_mesh_2_reaches_everything():
    mesh = finest_mesh(2)
    senders, receivers = faces_to_edges(mesh.faces)
    neighbours, mask = k_hop_neighbours(senders, receivers, mesh.num_vertices, 16)
    assert mask.all() and neighbours.shape == (162, 162)


def test_direction_follows_sender_to_receiver():
    # A path 0 -> 1 -> 2: row i lists what i reaches along edges.
    neighbours, mask = k_hop_neighbours(np.array([0, 1]), np.array([1, 2]), 3, 2)
    assert [neighbours[i][mask[i]].tolist() for i in range(3)] == [[0, 1, 2], [1, 2], [2]]
    np.testing.assert_array_equal(neighbours[2], [2, 2, 2])


def test_zero_hops_is_self_only_and_bad_k_is_rejected():
    neighbours, mask = k_hop_neighbours(np.array([0]), np.array([1]), 2, 0)
    np.testing.assert_array_equal(neighbours, [[0], [1]])
    assert mask.all()
    with pytest.raises(ValueError, match="attention_k_hop"):
        k_hop_neighbours(np.array([0]), np.array([1]), 2, -1)
