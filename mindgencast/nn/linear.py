"""Dense layers and MLPs with haiku-layout weights (``w``: [in, out], ``b``: [out]).

Keeping DeepMind's layout makes checkpoint conversion a pure renaming (no
transposes), so JAX .npz -> MindSpore -> .npz is bit-exact.
"""

from __future__ import annotations

from typing import Sequence

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore.common.initializer import TruncatedNormal, initializer

__all__ = ["Linear", "MLP", "activation_fn"]


def _swish(x):
    # swish(x) = x * sigmoid(x)  (jax.nn.swish / silu)
    return x * ops.sigmoid(x)


def _gelu_tanh(x):
    # jax.nn.gelu defaults to the tanh approximation; match it exactly.
    return 0.5 * x * (1.0 + ops.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def activation_fn(name: str):
    """The activation named as in the reference: ``"swish"`` or ``"gelu"`` (tanh approx.)."""
    table = {"swish": _swish, "silu": _swish, "gelu": _gelu_tanh}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(table)}")
    return table[name]


class Linear(nn.Cell):
    """y = x @ w + b over the last axis, computed in ``compute_dtype``, returned in float32.

    Inputs:
      - **x** (Tensor) - [..., in_size] float32.
    Outputs:
      - Tensor [..., out_size] float32.
    """

    def __init__(self, in_size: int, out_size: int, with_bias: bool = True, compute_dtype=ms.float32,
                 w_stddev=None):
        super().__init__()
        # haiku's default: truncated normal with stddev 1/sqrt(fan_in); seeded by ms.set_seed.
        stddev = 1.0 / np.sqrt(max(in_size, 1)) if w_stddev is None else w_stddev
        self.w = Parameter(initializer(TruncatedNormal(sigma=stddev), [in_size, out_size], ms.float32), name="w")
        self.with_bias = with_bias
        if with_bias:
            self.b = Parameter(Tensor(np.zeros((out_size,), np.float32)), name="b")
        self.in_size = in_size
        self.out_size = out_size
        self.compute_dtype = compute_dtype

    def construct(self, x):
        lead = x.shape[:-1]
        x2 = x.reshape((-1, self.in_size))
        w = self.w
        if self.compute_dtype != ms.float32:
            x2 = x2.astype(self.compute_dtype)
            w = w.astype(self.compute_dtype)
        y = ops.matmul(x2, w).astype(ms.float32)
        if self.with_bias:
            y = y + self.b
        return y.reshape(lead + (self.out_size,))


class MLP(nn.Cell):
    """haiku ``hk.nets.MLP``: Linear layers ``linear_0 .. linear_{n-1}`` with the
    activation between them (not after the last).

    Inputs:
      - **x** (Tensor) - [..., in_size].
    Outputs:
      - Tensor [..., output_sizes[-1]].
    """

    def __init__(self, in_size: int, output_sizes: Sequence[int], activation: str, compute_dtype=ms.float32):
        super().__init__()
        sizes = [in_size, *output_sizes]
        self.layers = nn.CellList(
            [Linear(sizes[i], sizes[i + 1], compute_dtype=compute_dtype) for i in range(len(output_sizes))]
        )
        self.num_layers = len(output_sizes)
        self.activation = activation_fn(activation)

    def construct(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < self.num_layers - 1:
                x = self.activation(x)
        return x
