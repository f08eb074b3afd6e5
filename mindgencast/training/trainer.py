"""Training GenCast's denoiser on a packed ERA5-format store, optionally data parallel.

GenCast (Price et al. 2024, Methods "Training"): each example is (two input frames,
forcings, the 12-h-ahead target as a normalised residual y); a noise level
sigma ~ rho inverse CDF (NoiseConfig) and spherical white noise n are drawn per example,
and the loss lambda(sigma) ||D(y + sigma n; sigma) - y||^2_W is minimised with AdamW, a
warm-up + cosine learning-rate schedule and global-norm gradient clipping.

Data parallel: launch with ``msrun --worker_num=N --local_worker_num=N --master_addr=127.0.0.1
scripts/train.py ...``; each rank reads its own shard of the store
(``num_shards=group size, shard_id=rank``) and draws its own noise, and gradients are
averaged across ranks by ``nn.DistributedGradReducer`` inside the train step.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Optional

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn

from mindgencast.data.normalization import NormalizationStats
from mindgencast.diffusion.schedules import training_noise_levels
from mindgencast.diffusion.spherical_noise import spherical_white_noise
from mindgencast.model import GenCast
from mindgencast.training.train_step import DenoiserTrainStep

__all__ = ["TrainConfig", "init_data_parallel", "learning_rates", "train"]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
      steps: optimiser steps.
      batch_size: examples per step on each rank.
      learning_rate: peak learning rate (after warm-up), cosine-decayed to ``min_learning_rate``.
      warmup_steps: linear warm-up steps.
      weight_decay: AdamW decoupled weight decay.
      max_grad_norm: global-norm clipping threshold (<= 0 disables).
      seed: seeds the shuffle, noise levels and noise (offset by rank).
      log_every: steps between log lines.
    """

    steps: int = 1000
    batch_size: int = 1
    learning_rate: float = 1e-3
    min_learning_rate: float = 1e-5
    warmup_steps: int = 50
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    seed: int = 0
    log_every: int = 10

    def __post_init__(self):
        for name in ("steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"TrainConfig.learning_rate must be > 0, got {self.learning_rate}")


def learning_rates(config: TrainConfig) -> list[float]:
    """Per-step learning rates: linear warm-up, then cosine decay to min_learning_rate."""
    rates = []
    for step in range(config.steps):
        if step < config.warmup_steps:
            rates.append(config.learning_rate * (step + 1) / config.warmup_steps)
            continue
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        rates.append(config.min_learning_rate + (config.learning_rate - config.min_learning_rate) * cosine)
    return rates


def init_data_parallel() -> tuple[int, int]:
    """Initialises MindSpore communication for DATA_PARALLEL (under msrun); returns (rank, size)."""
    from mindspore.communication import get_group_size, get_rank, init

    init()
    rank, size = get_rank(), get_group_size()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 device_num=size)
    return rank, size


def _noise(rng: np.random.Generator, lat, lon, batch: int, channels: int) -> np.ndarray:
    """Spherical white noise [num_grid_nodes, batch, channels] float32."""
    fields = spherical_white_noise(rng, lat, lon, batch * channels)  # [B*C, nlat, nlon]
    return np.ascontiguousarray(fields.reshape(batch, channels, -1).transpose(2, 0, 1))


def train(model: GenCast, store, stats: NormalizationStats, config: TrainConfig, rank: int = 0,
          num_ranks: int = 1, log: Optional[Callable[[str], None]] = print) -> list[dict]:
    """Trains ``model`` in place on the examples of a training store.

    Args:
      model: a :class:`GenCast` (from a config for training from scratch, or a checkpoint
        to fine-tune); its task must match the store's.
      store: path of a store written by ``mindgencast prepare`` (or a TrainingStore).
      stats: normalisation statistics.
      config: optimisation settings.
      rank, num_ranks: this process's data-parallel rank and the number of ranks
        (from :func:`init_data_parallel`; 1 = single process).
      log: called with one line per ``log_every`` steps (None: silent).

    Returns:
      History: one dict per step with ``step``, ``loss`` (this rank's batch mean), ``lr``, ``seconds``.
    """
    from mindgencast.data.pipeline import TrainingExamples, training_dataset

    examples = TrainingExamples(store, stats)
    inputs0, targets0, forcings0 = examples.normalized_example(0)
    expand = {"batch": 1}
    loss_cell = model.loss_cell(inputs0.expand_dims(expand), targets0.expand_dims(expand),
                                forcings0.expand_dims(expand))
    lat, lon = targets0["lat"].values, targets0["lon"].values
    rates = learning_rates(config)
    optimizer = nn.AdamWeightDecay(loss_cell.trainable_params(), learning_rate=rates,
                                   weight_decay=config.weight_decay)
    step_cell = DenoiserTrainStep(loss_cell, optimizer, config.max_grad_norm)
    step_cell.set_train()
    dataset = training_dataset(examples.store, stats, batch_size=config.batch_size, shuffle=True,
                               seed=config.seed, num_shards=num_ranks if num_ranks > 1 else None,
                               shard_id=rank if num_ranks > 1 else None)
    rng = np.random.default_rng([config.seed, rank])
    noise_config = model.config.noise_config
    history, step, start = [], 0, time.time()
    while step < config.steps:
        for inputs, targets, forcings in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1):
            if step >= config.steps:
                break
            batch, channels = targets.shape[0], targets.shape[2]
            conditioning = np.concatenate([inputs, forcings], axis=-1).transpose(1, 0, 2)
            y = np.ascontiguousarray(targets.transpose(1, 0, 2))
            sigma = training_noise_levels(noise_config, rng.uniform(size=batch)).astype(np.float32)
            loss = step_cell(Tensor(np.ascontiguousarray(conditioning)), Tensor(y),
                             Tensor(_noise(rng, lat, lon, batch, channels)), Tensor(sigma))
            value = float(loss.asnumpy())
            if not math.isfinite(value):
                raise FloatingPointError(f"loss became {value} at step {step}; lower the learning rate")
            history.append({"step": step, "loss": value, "lr": rates[step], "seconds": time.time() - start})
            if log and (step % config.log_every == 0 or step == config.steps - 1):
                log(f"step {step:5d}/{config.steps}  loss {value:9.4f}  lr {rates[step]:.2e}  "
                    f"{time.time() - start:7.1f}s")
            step += 1
    return history
