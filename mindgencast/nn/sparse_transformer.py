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
softmax with memory O(N * K) instead of O(N^2). Layout is node-major
``[num_nodes, batch, heads, head_size]`` throughout: no 4-D transposes.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops

from mindgencast.config import SparseTransformerConfig
from mindgencast.nn.conditioned_layer_norm import ConditionedLayerNorm
from mindgencast.nn.linear import Linear, activation_fn

__all__ = ["SparseAttention", "TransformerBlock", "MeshTransformer"]

_MASKED_LOGIT = -1e30  # as the reference; every row has >= 1 valid entry (self edge)


class SparseAttention(nn.Cell):
    """Multi-head attention of each node over its k-hop neighbour list.

    Inputs:
      - **x** (Tensor) - [num_nodes, batch, d_model].
      - **neighbours** (Tensor) - [num_nodes, max_k] int32 neighbour indices.
      - **neighbour_mask** (Tensor) - [num_nodes, max_k] bool, True for real neighbours.
    Outputs:
      - Tensor [num_nodes, batch, d_model].
    """

    def __init__(self, d_model: int, num_heads: int, compute_dtype=ms.float32):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.head_size = d_model // num_heads
        self.mha_proj_q = Linear(d_model, d_model, with_bias=False, compute_dtype=compute_dtype)
        self.mha_proj_k = Linear(d_model, d_model, with_bias=False, compute_dtype=compute_dtype)
        self.mha_proj_v = Linear(d_model, d_model, with_bias=False, compute_dtype=compute_dtype)
        self.mha_final = Linear(d_model, d_model, compute_dtype=compute_dtype)
        self.scale = self.head_size ** -0.5

    def construct(self, x, neighbours, neighbour_mask):
        n, b = x.shape[0], x.shape[1]
        h, dh = self.num_heads, self.head_size
        k_max = neighbours.shape[1]
        q = self.mha_proj_q(x).reshape((n, 1, b, h, dh))
        k = self.mha_proj_k(x)
        v = self.mha_proj_v(x)
        flat = neighbours.reshape((-1,))
        k_nb = ops.gather(k, flat, 0).reshape((n, k_max, b, h, dh))
        v_nb = ops.gather(v, flat, 0).reshape((n, k_max, b, h, dh))
        logits = (q * k_nb).sum(axis=-1) * self.scale  # [n, K, b, h]
        mask = neighbour_mask.reshape((n, k_max, 1, 1))
        logits = ops.where(mask, logits, ops.full_like(logits, _MASKED_LOGIT))
        # softmax over the neighbour axis, in float32
        logits = logits - ops.stop_gradient(logits.max(axis=1, keepdims=True))
        weights = ops.exp(logits)
        weights = weights / weights.sum(axis=1, keepdims=True)
        out = (weights.expand_dims(-1) * v_nb).sum(axis=1)  # [n, b, h, dh]
        return self.mha_final(out.reshape((n, b, h * dh)))


class TransformerBlock(nn.Cell):
    """Pre-norm block: attention and feed-forward, each with a conditioned layer norm.

    Inputs:
      - **x** (Tensor) - [num_nodes, batch, d_model].
      - **c** (Tensor) - [batch, cond_size].
      - **neighbours**, **neighbour_mask** - as :class:`SparseAttention`.
    Outputs:
      - Tensor [num_nodes, batch, d_model].
    """

    def __init__(self, config: SparseTransformerConfig, cond_size: int, compute_dtype=ms.float32):
        super().__init__()
        d = config.d_model
        self.attention_norm = ConditionedLayerNorm(cond_size, d)
        self.attention = SparseAttention(d, config.num_heads, compute_dtype)
        self.ffw_norm = ConditionedLayerNorm(cond_size, d)
        self.ffw_up = Linear(d, config.ffw_hidden, compute_dtype=compute_dtype)
        self.ffw_down = Linear(config.ffw_hidden, d, compute_dtype=compute_dtype)
        self.activation = activation_fn("gelu")

    def construct(self, x, c, neighbours, neighbour_mask):
        x = x + self.attention(self.attention_norm(x, c), neighbours, neighbour_mask)
        x = x + self.ffw_down(self.activation(self.ffw_up(self.ffw_norm(x, c))))
        return x


class MeshTransformer(nn.Cell):
    """``num_layers`` transformer blocks and a final conditioned layer norm.

    Inputs:
      - **x** (Tensor) - [num_mesh_nodes, batch, d_model].
      - **c** (Tensor) - [batch, cond_size].
      - **neighbours**, **neighbour_mask** - as :class:`SparseAttention`.
    Outputs:
      - Tensor [num_mesh_nodes, batch, d_model].
    """

    def __init__(self, config: SparseTransformerConfig, cond_size: int, compute_dtype=ms.float32):
        super().__init__()
        self.blocks = nn.CellList([TransformerBlock(config, cond_size, compute_dtype)
                                   for _ in range(config.num_layers)])
        self.final_norm = ConditionedLayerNorm(cond_size, config.d_model)

    def construct(self, x, c, neighbours, neighbour_mask):
        for block in self.blocks:
            x = block(x, c, neighbours, neighbour_mask)
        return self.final_norm(x, c)
