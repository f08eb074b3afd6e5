"""A transformer layer whose banded k-hop attention runs in chunks of query rows.

The banded attention (:meth:`SparseAttention.attend_banded`) computes ``[blocks, batch,
heads, block_size, window]`` logits, and MindSpore's CPU backend keeps a buffer for each of
its intermediates (logits + bias, softmax weights, ...): at mesh 5 / k-hop 16 that is 54.7 M
logits per head, 0.88 GB per buffer at 4 heads, held several times in the layer's graph
(docs/performance.md). Here the same layer runs as three small graphs, the middle one compiled
once and called per chunk:

1. ``_Project``: the conditioned norm and the q (scaled), k, v projections, [N, b, d] each;
2. ``_AttendChunk``: the masked softmax of one chunk of query rows against their key windows:
   a chunk is ``c`` sub-blocks of ``r`` consecutive rows of one query block, each with its
   block's window; q rows are gathered by index (padding rows read node 0 and are masked
   out everywhere), so every chunk has one shape;
3. ``_Finish``: the output projection, the residual, and the feed-forward half of the block.

Each real query row sees exactly the keys and mask bias it sees unchunked, so the result is
the same masked softmax (exact up to float rounding). Logits held at once: one chunk's, at
most ``max_logits`` (all heads and members). Inference only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from mindspore import Tensor, nn, ops

from mindgencast.nn.sparse_transformer import MASKED_LOGIT

__all__ = ["AttentionChunks", "attention_chunks", "ChunkedTransformerLayer"]


@dataclasses.dataclass(frozen=True)
class AttentionChunks:
    """Query-row chunks of a banded attention layout.

    Attributes:
      rows: [num_chunks, c * r] int32 query node of each chunk row (padding rows: 0).
      window_index: [num_chunks, c * w] int32 key node of each window slot.
      mask_bias: [num_chunks, c, r, w] float32, 0 where attention is allowed, -1e30 elsewhere
        (padding rows: everywhere).
      position: [N] int32, row of node n in the chunks' concatenated output [num_chunks * c * r].
    """

    rows: np.ndarray
    window_index: np.ndarray
    mask_bias: np.ndarray
    position: np.ndarray

    @property
    def num_chunks(self) -> int:
        return self.rows.shape[0]

    def logits_per_head(self) -> int:
        """Logits per head and member of one chunk."""
        return int(self.mask_bias[0].size)


def attention_chunks(window_index: np.ndarray, mask_bias: np.ndarray, num_nodes: int, max_rows_x_window: int
                     ) -> AttentionChunks:
    """Cuts a banded layout into chunks of at most ``max_rows_x_window`` logits per head and member.

    Args:
      window_index: [nb * w] key node per window slot (:class:`AttentionBlocks`).
      mask_bias: [nb, bs, w] additive mask bias (0 / -1e30).
      num_nodes: N (rows of the last block beyond N are padding).
      max_rows_x_window: logits per head and member allowed in one chunk.
    """
    nb, bs, w = mask_bias.shape
    r = int(max(1, min(bs, max_rows_x_window // w)))  # rows per sub-block
    per_block = -(-bs // r)
    c = int(max(1, min(nb * per_block, max_rows_x_window // (r * w))))  # sub-blocks per chunk
    # sub-block s = (block, j): rows block * bs + j * r + [0, r), the block's window
    padded_bias = np.full((nb, per_block * r, w), MASKED_LOGIT, np.float32)
    padded_bias[:, :bs] = mask_bias
    node = np.arange(nb)[:, None] * bs + np.arange(per_block * r)[None, :]  # [nb, per_block * r]
    real = (np.arange(per_block * r) < bs)[None, :] & (node < num_nodes)
    padded_bias[~real] = MASKED_LOGIT
    sub_rows = np.where(real, node, 0).reshape(nb * per_block, r)
    sub_bias = padded_bias.reshape(nb * per_block, r, w)
    sub_window = np.repeat(window_index.reshape(nb, w), per_block, axis=0)  # [nb * per_block, w]
    subs = nb * per_block
    chunks = -(-subs // c)
    pad = chunks * c - subs
    if pad:
        sub_rows = np.concatenate([sub_rows, np.zeros((pad, r), sub_rows.dtype)])
        sub_bias = np.concatenate([sub_bias, np.full((pad, r, w), MASKED_LOGIT, np.float32)])
        sub_window = np.concatenate([sub_window, np.repeat(sub_window[:1], pad, axis=0)])
    position = np.flatnonzero(np.concatenate([real.reshape(-1), np.zeros(pad * r, bool)]))
    return AttentionChunks(
        rows=sub_rows.reshape(chunks, c * r).astype(np.int32),
        window_index=sub_window.reshape(chunks, c * w).astype(np.int32),
        mask_bias=sub_bias.reshape(chunks, c, r, w),
        position=position.astype(np.int32),
    )


class _Project(nn.Cell):
    """x [N, b, d], c [b, C] -> q (scaled), k, v [N, b, d]."""

    def __init__(self, block):
        super().__init__(auto_prefix=False)
        self.block = block

    def construct(self, x, c):
        attention = self.block.attention
        x = self.block.attention_norm(x, c)
        return attention.mha_proj_q(x) * attention.scale, attention.mha_proj_k(x), attention.mha_proj_v(x)


class _AttendChunk(nn.Cell):
    """q, k, v [N, b, d], rows [c * r], window_index [c * w], mask_bias [c, r, w] -> [c * r, b, d]."""

    def __init__(self, block):
        super().__init__(auto_prefix=False)
        self.block = block

    def construct(self, q, k, v, rows, window_index, mask_bias):
        return self.block.attention.attend_banded(ops.gather(q, rows, 0), k, v, window_index, mask_bias)


class _Finish(nn.Cell):
    """x [N, b, d], attended [N, b, d], c [b, C] -> the block's output [N, b, d]."""

    def __init__(self, block):
        super().__init__(auto_prefix=False)
        self.block = block

    def construct(self, x, attended, c):
        return self.block.feed_forward(x + self.block.attention.mha_final(attended), c)


class ChunkedTransformerLayer:
    """A :class:`TransformerBlock` (banded attention) called as three graphs, the attention
    in query-row chunks of at most ``max_logits`` logits (all heads and members).

    Args:
      block: the TransformerBlock whose cells (and current weights) are used.
      window_index, mask_bias: the banded layout ([nb * w] int32, [nb, bs, w] float32).
      num_nodes: N.
      batch: members per call (the chunks are cut for this batch).
      max_logits: logits per chunk, all heads and members.

    Call: (x [N, b, d], c [b, C]) -> [N, b, d], the block's output.
    """

    def __init__(self, block, window_index: np.ndarray, mask_bias: np.ndarray, num_nodes: int, batch: int,
                 max_logits: int):
        heads = block.attention.num_heads
        self.chunks = attention_chunks(window_index, mask_bias, num_nodes, max(1, max_logits // (heads * batch)))
        self._rows = [Tensor(a) for a in self.chunks.rows]
        self._window = [Tensor(a) for a in self.chunks.window_index]
        self._bias = [Tensor(a) for a in self.chunks.mask_bias]
        self._position = Tensor(self.chunks.position)
        self.project, self.attend, self.finish = _Project(block), _AttendChunk(block), _Finish(block)

    def __call__(self, x, c):
        q, k, v = self.project(x, c)
        parts = [self.attend(q, k, v, rows, window, bias)
                 for rows, window, bias in zip(self._rows, self._window, self._bias)]
        attended = ops.gather(ops.concat(parts, axis=0) if len(parts) > 1 else parts[0], self._position, 0)
        return self.finish(x, attended, c)
