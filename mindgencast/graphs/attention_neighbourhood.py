"""The k-hop attention neighbourhood of the mesh, as padded neighbour lists.

GenCast's processor (Price et al., *Nature* 2024, Methods "Processor") is a transformer in
which mesh node ``i`` attends to node ``j`` iff ``(A + I)^k [i, j] != 0``: ``j`` is at most
``k`` mesh edges (sender -> receiver) away from ``i``. Reference: ``sparse_transformer.py``
(``mask = adj_mat ** attention_k_hop``, with the self edges added in ``transformer.py``).

A dense N x N mask is never formed: the neighbourhood grows hop by hop with sparse
products restricted to the newly reached frontier, and is stored as ``neighbours``
[N, max_k] (each row ascending, padded with the row's own index) plus ``neighbour_mask``,
so memory is O(N * max_k). The COO rows/cols of the reference's sparse mask are the
row-major listing of the real entries.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["k_hop_neighbours", "neighbours_to_coo", "mask_block_size"]


def k_hop_neighbours(
    senders: np.ndarray, receivers: np.ndarray, num_nodes: int, k_hop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every node's neighbours within ``k_hop`` edges, itself included.

    Args:
      senders, receivers: [num_edges] node indices of the mesh edges.
      num_nodes: number of mesh nodes N.
      k_hop: number of hops k >= 0.

    Returns:
      neighbours: [N, max_k] int32, row i = the sorted column indices of row i of
        ``(A + I)^k`` (A[s, r] = 1 per edge), padded with i.
      neighbour_mask: [N, max_k] bool, True for real entries.
    """
    if isinstance(k_hop, bool) or not isinstance(k_hop, (int, np.integer)) or k_hop < 0:
        raise ValueError(f"attention_k_hop must be an integer >= 0, got {k_hop!r}")
    senders = np.asarray(senders, dtype=np.int64)
    receivers = np.asarray(receivers, dtype=np.int64)
    adjacency = sparse.csr_matrix(
        (np.ones(senders.size, dtype=np.int8), (senders, receivers)), shape=(num_nodes, num_nodes)
    )
    adjacency.data[:] = 1  # duplicate edges were summed
    reached = sparse.identity(num_nodes, dtype=np.int8, format="csr")
    frontier = reached
    for _ in range(k_hop):
        # Nodes one hop beyond the frontier: 1 where new, 2 or 3 where already reached.
        step = frontier @ adjacency
        step.data[:] = 1
        merged = (reached * 2 + step).tocsr()
        frontier = _entries_equal_to(merged, 1)
        if frontier.nnz == 0:
            break  # the whole connected component is reached
        merged.data[:] = 1
        reached = merged
    reached.sort_indices()
    return _padded_rows(reached)


def neighbours_to_coo(neighbours: np.ndarray, neighbour_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-major sorted (rows, cols) int32 of the real entries: the reference mask's COO."""
    rows = np.nonzero(neighbour_mask)[0].astype(np.int32)
    cols = neighbours[neighbour_mask].astype(np.int32)
    return rows, cols


def mask_block_size(neighbours: np.ndarray, neighbour_mask: np.ndarray) -> int:
    """The reference's triblockdiag block size: 1 + the largest ``|i - j|`` in the mask."""
    if neighbours.size == 0:
        return 1
    offsets = np.abs(neighbours.astype(np.int64) - np.arange(neighbours.shape[0])[:, None])
    return int(np.max(np.where(neighbour_mask, offsets, 0))) + 1


def _entries_equal_to(matrix: sparse.csr_matrix, value: int) -> sparse.csr_matrix:
    """The entries of ``matrix`` equal to ``value`` (as ones), same shape, CSR."""
    keep = matrix.data == value
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[keep]
    return sparse.csr_matrix((np.ones(rows.size, dtype=np.int8), (rows, matrix.indices[keep])), shape=matrix.shape)


def _padded_rows(matrix: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """CSR pattern -> ([N, max_k] column indices padded with the row index, mask)."""
    num_rows = matrix.shape[0]
    lengths = np.diff(matrix.indptr)
    max_k = int(lengths.max()) if num_rows else 0
    neighbours = np.repeat(np.arange(num_rows, dtype=np.int32)[:, None], max_k, axis=1)
    slot = np.arange(matrix.nnz) - np.repeat(matrix.indptr[:-1], lengths)
    rows = np.repeat(np.arange(num_rows), lengths)
    neighbours[rows, slot] = matrix.indices
    neighbour_mask = np.zeros((num_rows, max_k), dtype=bool)
    neighbour_mask[rows, slot] = True
    return neighbours, neighbour_mask
