"""haiku ``hk.LayerNorm`` over the last axis with learned ``scale`` and ``offset`` (GraphCast).

GraphCast (Lam et al. 2023) normalises every MLP output with a plain layer norm; GenCast
replaces its scale/offset by a function of the noise level (``conditioned_layer_norm``).
"""

from __future__ import annotations

import numpy as np
from mindspore import Parameter, Tensor, nn

from mindgencast.nn.conditioned_layer_norm import layer_norm

__all__ = ["LayerNorm"]


class LayerNorm(nn.Cell):
    """``layer_norm(x) * scale + offset`` (eps 1e-5, float32), haiku's parameter names.

    Inputs:
      - **x** (Tensor) - [..., d].
    Outputs:
      - Tensor [..., d] float32.
    """

    def __init__(self, d: int):
        super().__init__()
        self.scale = Parameter(Tensor(np.ones((d,), np.float32)), name="scale")
        self.offset = Parameter(Tensor(np.zeros((d,), np.float32)), name="offset")

    def construct(self, x):
        return layer_norm(x) * self.scale + self.offset
