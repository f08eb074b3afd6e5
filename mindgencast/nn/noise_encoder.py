"""Noise-level encoder: Fourier features of log(sigma) followed by an MLP.

Reference: ``denoiser.FourierFeaturesMLP`` with ``NoiseEncoderConfig``
(32 frequencies k / base_period, k = 1..32, features [cos(2 pi f v), sin(2 pi f v)],
MLP with gelu). The output conditions every layer norm of the network.
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from mindgencast.config import NoiseEncoderConfig
from mindgencast.nn.linear import MLP

__all__ = ["FourierFeaturesMLP"]


class FourierFeaturesMLP(nn.Cell):
    """Encodes sigma [batch] -> [batch, output_sizes[-1]].

    Inputs:
      - **sigma** (Tensor) - [batch] float32 noise levels (> 0 when apply_log_first).
    Outputs:
      - Tensor [batch, output_sizes[-1]].
    """

    def __init__(self, config: NoiseEncoderConfig):
        super().__init__()
        frequencies = np.arange(1, config.num_frequencies + 1) / config.base_period
        self.angular_frequencies = Tensor((2 * np.pi * frequencies).astype(np.float32))
        self.apply_log_first = config.apply_log_first
        self.mlp = MLP(2 * config.num_frequencies, config.output_sizes, activation="gelu")

    def construct(self, sigma):
        v = sigma.astype(ms.float32)
        if self.apply_log_first:
            v = ops.log(v)
        angles = v.expand_dims(-1) * self.angular_frequencies
        features = ops.concat([ops.cos(angles), ops.sin(angles)], axis=-1)
        return self.mlp(features)
