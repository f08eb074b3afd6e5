"""Training GenCast: :func:`run_training` (what ``mindgencast train`` does), :class:`TrainConfig`,
:class:`Trainer` and :func:`train` for custom loops or loss cells (see docs/training.md)."""

from mindgencast.training.job import load_run_config, run_training
from mindgencast.training.train_config import TrainConfig, learning_rates
from mindgencast.training.trainer import Trainer, train

__all__ = ["run_training", "load_run_config", "TrainConfig", "learning_rates", "Trainer", "train"]
