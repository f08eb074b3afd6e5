"""Block-banded layout of the k-hop attention mask on the RCM-ordered mesh.

The reverse Cuthill-McKee renumbering (banded_permutation.py) makes the k-hop mask
banded: node i only attends to nodes j with |i - j| < bandwidth. Cutting the queries
into blocks of ``block_size`` consecutive nodes, each block needs only a contiguous
window of keys, so attention becomes a batch of small dense matmuls
([block_size, window] logits per block and head) instead of a gather of every key per
query: memory O(N * window) per head, independent of d_model. This is the reference's
``triblockdiag_mha`` idea (block size = bandwidth, window = 3 blocks) with windows
fitted to the actual mask. One block (window = N) is plain dense masked attention.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["AttentionBlocks", "attention_blocks", "block_windows"]


@dataclasses.dataclass(frozen=True)
class AttentionBlocks:
    """Query blocks and their key windows.

    Attributes:
      block_size: queries per block (bs); the last block is padded.
      window: keys per block (W), the same for every block.
      window_index: [num_blocks * W] int32, key node of each window slot (block-major).
      mask: [num_blocks, bs, W] bool, True where query attends to key (padded queries: none).
      num_nodes: N.
    """

    block_size: int
    window: int
    window_index: np.ndarray
    mask: np.ndarray
    num_nodes: int

    @property
    def num_blocks(self) -> int:
        return self.mask.shape[0]

    def logits_per_head(self) -> int:
        """Attention logits per head and batch element (the memory that matters)."""
        return int(self.mask.size)


def block_windows(neighbours: np.ndarray, neighbour_mask: np.ndarray, block_size: int | None = None
                  ) -> tuple[int, int, np.ndarray]:
    """(block_size, window, starts[num_blocks]) of the fitted key windows, without the mask
    (cheap: O(N * max_k)); arguments as :func:`attention_blocks`."""
    n = neighbours.shape[0]
    offsets = np.where(neighbour_mask, np.abs(neighbours - np.arange(n)[:, None]), 0)
    bandwidth = int(offsets.max()) + 1 if n else 1
    if block_size is None:
        block_size = n if 3 * bandwidth >= n else bandwidth
    block_size = int(max(1, min(block_size, n)))
    num_blocks = -(-n // block_size)
    big = np.iinfo(np.int64).max
    lo = np.where(neighbour_mask, neighbours, big).min(axis=1)
    hi = np.where(neighbour_mask, neighbours, -1).max(axis=1)
    pad = num_blocks * block_size - n
    lo = np.concatenate([lo, np.full(pad, big)]).reshape(num_blocks, block_size).min(axis=1)
    hi = np.concatenate([hi, np.full(pad, -1)]).reshape(num_blocks, block_size).max(axis=1)
    window = int(min(n, (hi - lo + 1).max()))
    return block_size, window, np.clip(lo, 0, n - window)


def attention_blocks(neighbours: np.ndarray, neighbour_mask: np.ndarray, block_size: int | None = None
                     ) -> AttentionBlocks:
    """Fits key windows to the k-hop mask given as padded neighbour lists.

    Args:
      neighbours: [N, max_k] int neighbour indices (rows may be padded).
      neighbour_mask: [N, max_k] bool, True for real neighbours.
      block_size: queries per block; default: the mask's bandwidth (as the reference),
        or N (dense) when three bandwidths cover the mesh.
    """
    n = neighbours.shape[0]
    block_size, window, starts = block_windows(neighbours, neighbour_mask, block_size)
    num_blocks = starts.shape[0]
    window_index = (starts[:, None] + np.arange(window)[None, :]).astype(np.int32)  # [nb, W]
    mask = np.zeros((num_blocks, block_size, window), bool)
    rows, slots = np.nonzero(neighbour_mask)
    cols = neighbours[rows, slots]
    block, within = rows // block_size, rows % block_size
    mask[block, within, cols - starts[block]] = True
    return AttentionBlocks(block_size=block_size, window=window, window_index=window_index.reshape(-1),
                           mask=mask, num_nodes=n)
