"""Layer norm whose scale and offset are predicted from the noise-level encoding.

GenCast (Price et al. 2024, sec. on the denoiser) conditions every layer norm of
the network on sigma: with c the noise-level encoding,
``y = W c + b`` (size 2d), ``scale = 1 + y[:d]``, ``offset = y[d:]``,
``out = layer_norm(x) * scale + offset`` (reference: ``LinearNormConditioning``).
"""

from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops

from mindgencast.nn.linear import Linear

__all__ = ["layer_norm", "LinearNormConditioning", "ConditionedLayerNorm"]

_EPS = 1e-5  # haiku.LayerNorm default


def layer_norm(x):
    """Parameter-free layer norm over the last axis, in float32. x: [..., d]."""
    x = x.astype(ms.float32)
    mean = x.mean(axis=-1, keep_dims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keep_dims=True)
    return centred * ops.rsqrt(var + _EPS)


class LinearNormConditioning(nn.Cell):
    """Applies ``x * (1 + W c + b)[:d] + (W c + b)[d:]``.

    Inputs:
      - **x** (Tensor) - [num_nodes, batch, d].
      - **c** (Tensor) - [batch, cond_size], the noise-level encoding.
    Outputs:
      - Tensor [num_nodes, batch, d].
    """

    def __init__(self, cond_size: int, d: int):
        super().__init__()
        # near-zero init (reference: TruncatedNormal(1e-8)): training starts from scale 1, offset b
        self.linear = Linear(cond_size, 2 * d, w_stddev=1e-8)
        self.d = d

    def construct(self, x, c):
        y = self.linear(c)  # [batch, 2d]
        scale = 1.0 + y[:, : self.d]
        offset = y[:, self.d :]
        return x * scale.expand_dims(0) + offset.expand_dims(0)


class ConditionedLayerNorm(nn.Cell):
    """``layer_norm`` followed by ``LinearNormConditioning`` (no own scale/offset).

    Inputs:
      - **x** (Tensor) - [num_nodes, batch, d].
      - **c** (Tensor) - [batch, cond_size], the noise-level encoding.
    Outputs:
      - Tensor [num_nodes, batch, d].
    """

    def __init__(self, cond_size: int, d: int):
        super().__init__()
        self.norm_conditioning = LinearNormConditioning(cond_size, d)

    def construct(self, x, c):
        return self.norm_conditioning(layer_norm(x), c)
