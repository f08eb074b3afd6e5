"""A small MindSpore MLP F_theta(x_in, sigma) for toy 2-D diffusion, with a noise-level embedding.

The noise level enters as EDM's c_noise = log(sigma) / 4 (Karras et al. 2022, Table 1),
embedded with sin/cos at geometric frequencies (the Transformer / DDPM time embedding,
Ho et al. 2020 App. B) and concatenated to the input.
"""

from __future__ import annotations

import numpy as np
from mindspore import Tensor, nn, ops

__all__ = ["ToyNetwork"]


class ToyNetwork(nn.Cell):
    """MLP on [x_in, embedding(log(sigma) / 4)].

    Args:
      dim: data dimension d.
      hidden: width of the hidden layers.
      depth: number of hidden layers.
      num_frequencies: sin/cos pairs of the noise embedding.

    Inputs:
      - **x_in** (Tensor) - float32 [batch, d], the scaled noisy state c_in(sigma) x.
      - **sigma** (Tensor) - float32 [batch, 1], noise levels (> 0).

    Outputs:
      Tensor float32 [batch, d], the raw output F_theta (its meaning depends on the objective).
    """

    def __init__(self, dim: int = 2, hidden: int = 128, depth: int = 3, num_frequencies: int = 8):
        super().__init__()
        self.frequencies = Tensor(np.geomspace(1.0, 64.0, num_frequencies, dtype=np.float32)[None, :])
        layers = []
        width = dim + 2 * num_frequencies
        for _ in range(depth):
            layers += [nn.Dense(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Dense(width, dim))
        self.mlp = nn.SequentialCell(layers)

    def construct(self, x_in, sigma):
        angle = ops.log(sigma) * 0.25 * self.frequencies  # [batch, num_frequencies]
        embedding = ops.concat((ops.sin(angle), ops.cos(angle)), axis=1)
        return self.mlp(ops.concat((x_in, embedding), axis=1))
