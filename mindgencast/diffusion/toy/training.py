"""Train the toy network with each classic objective and read it as one denoiser D(x; sigma).

With x = y + sigma n (VE), c_in = 1 / sqrt(sigma^2 + sigma_data^2) (for sigma_data = 1 the
network sees the VP/DDPM state, ``parameterisations``) and F = ToyNetwork(c_in x, sigma):

    "epsilon" (Ho et al. 2020 eq. 14, L_simple):  eps_hat = F;      loss ||eps_hat - n||^2;
                                                  D = x - sigma eps_hat
    "score"   (Song et al. 2021 eq. 7, lambda = sigma^2; output scaled by 1/sigma as in NCSN):
                                                  s_hat = F / sigma; loss sigma^2 ||s_hat + n / sigma||^2;
                                                  D = x + sigma^2 s_hat
    "edm"     (Karras et al. 2022 eqs. 2, 7, 8):  D = c_skip x + c_out F; loss lambda(sigma) ||D - y||^2

Written out, the first two are the same regression (F -> n, resp. F -> -n): the point the
tutorial makes; EDM's differs in what F regresses on at small and large sigma.
Training noise levels are log-uniform on [sigma_min, sigma_max], so every sampler's range is covered.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from mindgencast.diffusion import parameterisations as P
from mindgencast.diffusion.preconditioning import c_in, c_out, c_skip
from mindgencast.diffusion.toy.network import ToyNetwork

__all__ = ["OBJECTIVES", "ToyTrainConfig", "ToyDenoiser", "train_toy_denoiser"]

OBJECTIVES = ("epsilon", "score", "edm")


@dataclasses.dataclass(frozen=True)
class ToyTrainConfig:
    """Training settings. steps: optimiser steps; sigma_min/max: the log-uniform training range;
    sigma_data: EDM's sigma_data (0.5 as in EDM; on the 8-mode ring it trained better than the
    data's marginal std 1.4, whose strong skip left mid-sigma denoising under-fitted)."""

    objective: str = "edm"
    steps: int = 2000
    batch_size: int = 256
    learning_rate: float = 2e-3
    sigma_min: float = 0.005
    sigma_max: float = 40.0
    sigma_data: float = 0.5
    hidden: int = 128
    seed: int = 0

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if int(self.steps) != self.steps or self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be positive integers")
        if not 0 < self.sigma_min < self.sigma_max or self.sigma_data <= 0 or self.learning_rate <= 0:
            raise ValueError("need 0 < sigma_min < sigma_max, sigma_data > 0 and learning_rate > 0")


class _Loss(nn.Cell):
    """Per-objective loss. Inputs: y, n [batch, d]; sigma [batch, 1]. Output: scalar mean loss."""

    def __init__(self, network: ToyNetwork, objective: str, sigma_data: float):
        super().__init__()
        self.network, self.objective, self.sigma_data = network, objective, sigma_data

    def construct(self, y, n, sigma):
        sd2 = self.sigma_data**2
        x = y + sigma * n
        F = self.network(x * ops.rsqrt(sigma * sigma + sd2), sigma)
        if self.objective == "epsilon":
            return ops.mean(ops.square(F - n))
        if self.objective == "score":
            s_hat = F / sigma
            return ops.mean(sigma * sigma * ops.square(s_hat + n / sigma))
        c_skip_ = sd2 / (sigma * sigma + sd2)
        c_out_ = sigma * self.sigma_data * ops.rsqrt(sigma * sigma + sd2)
        weight = (sigma * sigma + sd2) / (sigma * self.sigma_data) ** 2  # lambda = c_out^-2 (EDM eq. 8)
        return ops.mean(weight * ops.square(c_skip_ * x + c_out_ * F - y))


class ToyDenoiser:
    """A trained ToyNetwork read as D(x; sigma), a numpy callable for every sampler.

    Call: ``denoiser(x [n, d], sigma float) -> D [n, d]`` (float64), also ``epsilon`` and ``score``.
    """

    def __init__(self, network: ToyNetwork, objective: str, sigma_data: float):
        self.network, self.objective, self.sigma_data = network, objective, sigma_data
        self.network.set_train(False)
        self.evaluations = 0

    def raw(self, x: np.ndarray, sigma: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        sigmas = np.full((x.shape[0], 1), sigma, np.float32)
        x_in = (x * c_in(sigma, self.sigma_data)).astype(np.float32)
        self.evaluations += 1
        return self.network(Tensor(x_in), Tensor(sigmas)).asnumpy().astype(np.float64)

    def __call__(self, x: np.ndarray, sigma: float) -> np.ndarray:
        F = self.raw(x, sigma)
        if self.objective == "epsilon":
            return P.denoiser_from_epsilon(x, F, sigma)
        if self.objective == "score":
            return P.denoiser_from_score(x, F / sigma, sigma)
        return c_skip(sigma, self.sigma_data) * x + c_out(sigma, self.sigma_data) * F

    def score(self, x: np.ndarray, sigma: float) -> np.ndarray:
        return P.score_from_denoiser(x, self(x, sigma), sigma)

    def epsilon(self, x: np.ndarray, sigma: float) -> np.ndarray:
        return P.epsilon_from_denoiser(x, self(x, sigma), sigma)


def train_toy_denoiser(
    sample_data: Callable[[int, np.random.Generator], np.ndarray], config: ToyTrainConfig = ToyTrainConfig()
) -> tuple[ToyDenoiser, np.ndarray]:
    """Trains a ToyNetwork (MindSpore, GRAPH_MODE as set by the caller) with ``config.objective``.

    Args:
      sample_data: ``f(n, rng) -> [n, d]`` clean training draws (e.g. ``GaussianMixture.sample``).
      config: see ToyTrainConfig.

    Returns:
      (the denoiser, the loss of every step [steps]).
    """
    rng = np.random.default_rng(config.seed)
    ms.set_seed(config.seed)
    dim = np.asarray(sample_data(2, rng)).shape[1]
    network = ToyNetwork(dim, config.hidden)
    loss_cell = _Loss(network, config.objective, config.sigma_data)
    step = nn.TrainOneStepCell(loss_cell, nn.Adam(network.trainable_params(), learning_rate=config.learning_rate))
    step.set_train(True)
    log_lo, log_hi = math.log(config.sigma_min), math.log(config.sigma_max)
    losses = np.empty(config.steps)
    for i in range(config.steps):
        y = np.asarray(sample_data(config.batch_size, rng), np.float32)
        n = rng.standard_normal(y.shape).astype(np.float32)
        sigma = np.exp(rng.uniform(log_lo, log_hi, (config.batch_size, 1))).astype(np.float32)
        losses[i] = float(step(Tensor(y), Tensor(n), Tensor(sigma)).asnumpy())
    return ToyDenoiser(network, config.objective, config.sigma_data), losses
