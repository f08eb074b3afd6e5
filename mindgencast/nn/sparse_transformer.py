"""The processor: a pre-norm transformer on the mesh with k-hop sparse attention.

Reference: ``sparse_transformer.Transformer`` / ``Block`` as GenCast uses it
(Price et al. 2024): each mesh node attends to the nodes within ``attention_k_hop``
mesh hops (the nonzeros of (A + I)^k). Each block is::

    x = x + MHA(CLN(x; c))        # attention restricted to the k-hop set
    x = x + FFW(CLN(x; c))        # Linear(d, ffw_hidden) -> gelu -> Linear(ffw_hidden, d)

followed by a final CLN, where CLN is the parameter-free layer norm conditioned on the
noise-level encoding c. The reference computes dense masked softmax (or TPU splash /
block-tridiagonal kernels); here each node gathers its neighbour list
(``[num_nodes, max_k]``, padded, with a validity mask), which is exactly the same masked
softmax with memory O(N * K) instead of O(N^2); or, by default, query blocks of the
RCM-ordered mesh against fitted key windows with batched matmuls (the reference's
block-tridiagonal idea). Activations are node-major ``[num_nodes, batch, d_model]``; only
the attention's own [N, batch, d]-sized q/k/v are laid out head-major for the matmuls.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops

from mindgencast.config import SparseTransformerConfig
from mindgencast.nn.conditioned_layer_norm import ConditionedLayerNorm
from mindgencast.nn.linear import Linear, activation_fn

__all__ = ["MASKED_LOGIT", "SparseAttention", "TransformerBlock", "MeshTransformer"]

MASKED_LOGIT = -1e30  # as the reference; every row has >= 1 valid entry (self edge)


class SparseAttention(nn.Cell):
    """Multi-head attention of each node over its k-hop neighbourhood.

    Two exact implementations of the same masked softmax (chosen by ``implementation``):

    - ``"banded"``: query blocks of consecutive (RCM-ordered) nodes against fitted key
      windows (:class:`mindgencast.graphs.attention_blocks.AttentionBlocks`) with batched
      matmuls; logits memory O(N * window) per head. One block = dense masked attention.
    - ``"gather"``: each node gathers its padded neighbour list; memory O(N * K * d_model).

    Inputs:
      - **x** (Tensor) - [num_nodes, batch, d_model].
      - **index** (Tensor) - banded: [num_blocks * window] int32 key node per window slot;
        gather: [num_nodes, max_k] int32 neighbour indices.
      - **mask** (Tensor) - banded: [num_blocks, block_size, window] float32 additive bias,
        0 where attention is allowed and -1e30 elsewhere; gather: [num_nodes, max_k] bool,
        True where attention is allowed.
    Outputs:
      - Tensor [num_nodes, batch, d_model].
    """

    def __init__(self, d_model: int, num_heads: int, compute_dtype=ms.float32, implementation: str = "banded"):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads}")
        if implementation not in ("banded", "gather"):
            raise ValueError(f"attention implementation {implementation!r} must be 'banded' or 'gather'")
        self.num_heads = num_heads
        self.head_size = d_model // num_heads
        self.mha_proj_q = Linear(d_model, d_model, with_bias=False, compute_dtype=compute_dtype)
        self.mha_proj_k = Linear(d_model, d_model, with_bias=False, compute_dtype=compute_dtype)
        self.mha_proj_v = Linear(d_model, d_model, with_bias=False, compute_dtype=compute_dtype)
        self.mha_final = Linear(d_model, d_model, compute_dtype=compute_dtype)
        self.scale = self.head_size ** -0.5
        self.banded = implementation == "banded"
        self.batch_matmul = ops.BatchMatMul()
        self.batch_matmul_t = ops.BatchMatMul(transpose_b=True)

    @staticmethod
    def _softmax(logits, mask, axis):
        # masked softmax in float32; every real row has >= 1 allowed key (its self edge)
        logits = ops.where(mask, logits, ops.full_like(logits, MASKED_LOGIT))
        logits = logits - ops.stop_gradient(logits.max(axis=axis, keepdims=True))
        weights = ops.exp(logits)
        return weights / weights.sum(axis=axis, keepdims=True)

    def _gather(self, x, neighbours, neighbour_mask):
        n, b = x.shape[0], x.shape[1]
        h, dh = self.num_heads, self.head_size
        k_max = neighbours.shape[1]
        q = self.mha_proj_q(x).reshape((n, 1, b, h, dh))
        flat = neighbours.reshape((-1,))
        k_nb = ops.gather(self.mha_proj_k(x), flat, 0).reshape((n, k_max, b, h, dh))
        v_nb = ops.gather(self.mha_proj_v(x), flat, 0).reshape((n, k_max, b, h, dh))
        logits = (q * k_nb).sum(axis=-1) * self.scale  # [n, K, b, h]
        weights = self._softmax(logits, neighbour_mask.reshape((n, k_max, 1, 1)), 1)
        return (weights.expand_dims(-1) * v_nb).sum(axis=1).reshape((n, b, h * dh))  # [n, b, d]

    def attend_banded(self, q, k, v, window_index, mask_bias):
        """The banded masked softmax: q [nb * bs, b, d] (scaled, padded to whole blocks), k, v
        [N, b, d] -> [nb * bs, b, d], with window_index [nb * w] and mask_bias [nb, bs, w]."""
        b = q.shape[1]
        h, dh = self.num_heads, self.head_size
        nb, bs, w = mask_bias.shape
        # head-major for the matmuls: [nb, b, h, bs, dh]; the tensors are [N, b, d]-sized
        q = q.reshape((nb, bs, b, h, dh)).transpose(0, 2, 3, 1, 4).reshape((nb * b * h, bs, dh))
        k = ops.gather(k, window_index, 0).reshape((nb, w, b, h, dh))
        k = k.transpose(0, 2, 3, 1, 4).reshape((nb * b * h, w, dh))
        v = ops.gather(v, window_index, 0).reshape((nb, w, b, h, dh))
        v = v.transpose(0, 2, 3, 1, 4).reshape((nb * b * h, w, dh))
        # few ops on the [blocks, b, h, bs, w] logits (each op output is a full-size buffer):
        # matmul, + mask bias (0 or -1e30), fused softmax, matmul
        logits = self.batch_matmul_t(q, k).reshape((nb, b, h, bs, w)) + mask_bias.reshape((nb, 1, 1, bs, w))
        weights = ops.softmax(logits, axis=-1)
        out = self.batch_matmul(weights.reshape((nb * b * h, bs, w)), v)  # [nb*b*h, bs, dh]
        return out.reshape((nb, b, h, bs, dh)).transpose(0, 3, 1, 2, 4).reshape((nb * bs, b, h * dh))

    def _banded(self, x, window_index, mask_bias):
        n, b = x.shape[0], x.shape[1]
        nb, bs, _ = mask_bias.shape
        q = self.mha_proj_q(x) * self.scale  # scaling q is cheaper than scaling the logits
        if nb * bs > n:  # pad the last query block
            q = ops.concat([q, ops.zeros((nb * bs - n, b, q.shape[2]), q.dtype)], axis=0)
        out = self.attend_banded(q, self.mha_proj_k(x), self.mha_proj_v(x), window_index, mask_bias)
        return out[:n]

    def construct(self, x, index, mask):
        if self.banded:
            out = self._banded(x, index, mask)
        else:
            out = self._gather(x, index, mask)
        return self.mha_final(out)


class TransformerBlock(nn.Cell):
    """Pre-norm block: attention and feed-forward, each with a conditioned layer norm.

    Inputs:
      - **x** (Tensor) - [num_nodes, batch, d_model].
      - **c** (Tensor) - [batch, cond_size].
      - **index**, **mask** - as :class:`SparseAttention`.
    Outputs:
      - Tensor [num_nodes, batch, d_model].
    """

    def __init__(self, config: SparseTransformerConfig, cond_size: int, compute_dtype=ms.float32,
                 implementation: str = "banded"):
        super().__init__()
        d = config.d_model
        self.attention_norm = ConditionedLayerNorm(cond_size, d)
        self.attention = SparseAttention(d, config.num_heads, compute_dtype, implementation)
        self.ffw_norm = ConditionedLayerNorm(cond_size, d)
        self.ffw_up = Linear(d, config.ffw_hidden, compute_dtype=compute_dtype)
        self.ffw_down = Linear(config.ffw_hidden, d, compute_dtype=compute_dtype)
        self.activation = activation_fn("gelu")

    def feed_forward(self, x, c):
        """The block's second half: x + FFW(CLN(x; c)), [num_nodes, batch, d_model]."""
        return x + self.ffw_down(self.activation(self.ffw_up(self.ffw_norm(x, c))))

    def construct(self, x, c, index, mask):
        x = x + self.attention(self.attention_norm(x, c), index, mask)
        return self.feed_forward(x, c)


class MeshTransformer(nn.Cell):
    """``num_layers`` transformer blocks and a final conditioned layer norm.

    Inputs:
      - **x** (Tensor) - [num_mesh_nodes, batch, d_model].
      - **c** (Tensor) - [batch, cond_size].
      - **index**, **mask** - as :class:`SparseAttention`.
    Outputs:
      - Tensor [num_mesh_nodes, batch, d_model].
    """

    def __init__(self, config: SparseTransformerConfig, cond_size: int, compute_dtype=ms.float32,
                 implementation: str = "banded"):
        super().__init__()
        self.block_args = (config, cond_size, compute_dtype, implementation)  # to build a like block
        self.blocks = nn.CellList([TransformerBlock(config, cond_size, compute_dtype, implementation)
                                   for _ in range(config.num_layers)])
        self.final_norm = ConditionedLayerNorm(cond_size, config.d_model)

    def construct(self, x, c, index, mask):
        for block in self.blocks:
            x = block(x, c, index, mask)
        return self.final_norm(x, c)
