"""Which exact form of the k-hop mesh attention is cheapest for a mesh: a cost model of its mask.

Both forms compute the same masked softmax (sparse_transformer.py); they differ in what they
compute beyond the mask's nonzeros:

- ``gather``: every query gathers its padded neighbour list (P = N * max_k slots, ~3 % padding
  at k-hop 16): gathers, products and sums over [P, d_model] values, all elementwise.
- ``banded``: query blocks times fitted key windows (L = num_blocks * block_size * window
  logits per head, 3-4x the nonzeros on mesh 4-5 at k-hop 16): two dense matmuls of
  2 L d_model multiply-adds plus a few elementwise passes over the [L, heads] logits.

An elementwise or gathered value costs about ``ELEMENTWISE_WEIGHT`` matmul multiply-adds on
a CPU (memory-bound versus compute-bound), calibrated from measured per-layer times. The banded form's block size is chosen among a few candidates by the
same model (the window, hence L, depends on it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mindgencast.graphs.attention_blocks import block_windows

__all__ = ["ELEMENTWISE_WEIGHT", "AttentionPlan", "plan_attention"]

# Measured on the 2-core development CPU (docs/performance.md, mesh 3, latent 128, one layer):
# gather 1.71 s over 2.76e8 elementwise values -> 6.2 ns each; banded 0.055 s -> 0.22 ns per
# matmul multiply-add once its elementwise share is removed: a ratio of ~28.
ELEMENTWISE_WEIGHT = 28.0


@dataclasses.dataclass(frozen=True)
class AttentionPlan:
    """The chosen attention form.

    Attributes:
      implementation: "banded" or "gather".
      block_size: banded query block size (None for gather).
      costs: estimated cost (matmul multiply-add units, per batch element and layer) of
        gather and of each banded block size tried, keyed "gather" / "banded:<block_size>".
      nonzeros: mask nonzeros (query-key pairs kept).
      banded_logits: logits per head of the chosen banded layout (N * window blocks).
    """

    implementation: str
    block_size: int | None
    costs: dict
    nonzeros: int
    banded_logits: int


def _banded_cost(num_blocks: int, block_size: int, window: int, d_model: int, num_heads: int) -> float:
    logits = num_blocks * block_size * window  # per head
    matmul = 2.0 * logits * d_model  # q k^T and weights v
    elementwise = 3.0 * logits * num_heads + 2.0 * num_blocks * window * d_model  # bias, softmax; k/v windows
    return matmul + ELEMENTWISE_WEIGHT * elementwise


def _gather_cost(slots: int, d_model: int, num_heads: int) -> float:
    elementwise = 6.0 * slots * d_model + 3.0 * slots * num_heads  # gather k, v; q*k, sum; w*v, sum; softmax
    return ELEMENTWISE_WEIGHT * elementwise


def plan_attention(
    neighbours: np.ndarray, neighbour_mask: np.ndarray, d_model: int, num_heads: int, allowed=("banded", "gather")
) -> AttentionPlan:
    """The cheapest exact attention form for this mask.

    Args:
      neighbours, neighbour_mask: [N, max_k] padded k-hop neighbour lists (RCM-ordered mesh).
      d_model, num_heads: the transformer's width and heads.
      allowed: forms to choose from.
    """
    n = neighbours.shape[0]
    costs = {}
    if "gather" in allowed:
        costs["gather"] = _gather_cost(neighbours.size, d_model, num_heads)
    best_banded = None
    if "banded" in allowed:
        candidates = {None, n} | {max(1, n // k) for k in (2, 4, 8, 16, 32)} | {64, 128, 256}
        for candidate in sorted(candidates, key=lambda c: -1 if c is None else c):
            block_size, window, starts = block_windows(neighbours, neighbour_mask, candidate)
            key = f"banded:{block_size}"
            if key in costs:
                continue
            costs[key] = _banded_cost(starts.shape[0], block_size, window, d_model, num_heads)
            if best_banded is None or costs[key] < costs[best_banded[0]]:
                best_banded = (key, block_size, starts.shape[0] * block_size * window)
    choice = min(costs, key=costs.get)
    if choice == "gather":
        return AttentionPlan(
            "gather", None, costs, int(neighbour_mask.sum()), 0 if best_banded is None else best_banded[2]
        )
    return AttentionPlan("banded", best_banded[1], costs, int(neighbour_mask.sum()), best_banded[2])
