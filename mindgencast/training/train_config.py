"""Training settings: one frozen dataclass, loadable from YAML with strict keys.

GenCast (Price et al. 2024, Methods "Training"): AdamW, linear warm-up then cosine decay,
global-norm clipping; EMA of the weights (Karras et al. 2022, EDM sec. 5) for sampling.
``batch_size`` is the GLOBAL batch of one optimiser step: it is split over the
data-parallel ranks and the gradient-accumulation micro steps, so a run gives the same
updates whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import math

from mindgencast.config.io import ConfigError, config_from_dict

__all__ = ["PRECISIONS", "TrainConfig", "learning_rates", "train_config_from_dict"]

PRECISIONS = ("float32", "float16", "bfloat16")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation, checkpointing, validation and memory settings.

    Attributes:
      steps: optimiser steps.
      batch_size: examples per optimiser step, summed over ranks and accumulation steps.
      grad_accumulation: micro steps whose gradients are averaged before one update.
      learning_rate: peak learning rate (after warm-up), cosine-decayed to ``min_learning_rate``.
      warmup_steps: linear warm-up steps.
      weight_decay: AdamW decoupled weight decay.
      max_grad_norm: global-norm clipping threshold (<= 0 disables).
      ema_decay: exponential moving average of the weights (0 disables); the effective decay
        at step t is min(ema_decay, (1 + t) / (10 + t)). Forecasts from a run use the EMA.
      seed: seeds the data order, the noise levels and the noise (counter-based: a step's
        randomness depends on (seed, example position) only, so resume is exact).
      log_every: steps between metrics rows / log lines.
      checkpoint_every: steps between checkpoints (the last step always gets one).
      keep: checkpoints kept (the oldest are deleted).
      validate_every: steps between validation losses (0: only with a validation store, at
        every checkpoint).
      validation_examples: first examples of the validation store scored each time.
      validation_seed: seeds the validation noise (fixed: curves comparable across runs).
      recompute_encoder, recompute_decoder: recompute the grid->mesh / mesh->grid GNN in the
        backward pass instead of storing activations (Cell.recompute()).
      recompute_processor_every: recompute every n-th processor (transformer) layer (0: none).
      precision: matmul dtype: "float32", "float16" (dynamic loss scaling) or "bfloat16"
        (Ascend); parameters, optimiser state and EMA stay float32.
      initial_loss_scale: first loss scale for float16 (halved on overflow, doubled after
        ``loss_scale_window`` finite steps).
      loss_scale_window: finite steps before the float16 loss scale doubles.
      num_workers: dataset workers reading and normalising examples.
      small_noise_fraction: fraction of the examples whose noise level is drawn log-uniformly
        from [training_min_noise_level, small_noise_max] instead of from GenCast's rho
        distribution (0: GenCast's distribution only). Puts training weight on the small
        noise levels that remove the last grid-scale noise (docs/training_study.md).
      small_noise_max: upper end of that log-uniform range.
    """

    steps: int = 1000
    batch_size: int = 1
    grad_accumulation: int = 1
    learning_rate: float = 1e-3
    min_learning_rate: float = 1e-5
    warmup_steps: int = 50
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    ema_decay: float = 0.0
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 500
    keep: int = 3
    validate_every: int = 0
    validation_examples: int = 8
    validation_seed: int = 12345
    recompute_encoder: bool = False
    recompute_decoder: bool = False
    recompute_processor_every: int = 0
    precision: str = "float32"
    initial_loss_scale: float = 4096.0
    loss_scale_window: int = 1000
    num_workers: int = 1
    small_noise_fraction: float = 0.0
    small_noise_max: float = 1.0

    def __post_init__(self):
        for name in ("steps", "batch_size", "grad_accumulation", "log_every", "checkpoint_every", "keep",
                     "num_workers", "loss_scale_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("validate_every", "recompute_processor_every", "warmup_steps", "validation_examples"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"TrainConfig.learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"TrainConfig.ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"TrainConfig.precision {self.precision!r} must be one of {PRECISIONS}")
        if not 0.0 <= self.small_noise_fraction <= 1.0:
            raise ValueError(f"TrainConfig.small_noise_fraction must be in [0, 1], got {self.small_noise_fraction}")
        if not self.small_noise_max > 0:
            raise ValueError(f"TrainConfig.small_noise_max must be > 0, got {self.small_noise_max}")
        if not self.initial_loss_scale >= 1:
            raise ValueError(f"TrainConfig.initial_loss_scale must be >= 1, got {self.initial_loss_scale}")

    def micro_batch(self, num_ranks: int) -> int:
        """Examples per rank per micro step; refuses a batch that does not split evenly."""
        parts = num_ranks * self.grad_accumulation
        if self.batch_size % parts:
            raise ValueError(
                f"batch_size {self.batch_size} is not divisible by {num_ranks} worker(s) x "
                f"{self.grad_accumulation} accumulation step(s) = {parts}: choose a batch_size that is a "
                f"multiple of {parts}")
        return self.batch_size // parts


def train_config_from_dict(data, where: str = "training") -> TrainConfig:
    """Strict: an unknown or misspelt key is a ConfigError naming it."""
    try:
        return config_from_dict(TrainConfig, data or {}, where)
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


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
