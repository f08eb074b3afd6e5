"""MindSpore Earth-style application YAML (sections ``model``, ``data``, ``optimizer``,
``summary``, ``train``) mapped onto mindgencast's typed configs.

The layout follows the model-zoo applications of MindSpore Earth (e.g. its GraphCast
``GraphCast.yaml``): one YAML per experiment, read by ``main.py``. Every section is a frozen
dataclass loaded with :func:`mindgencast.config.io.config_from_dict`, so an unknown or
misspelt key is an error that names it. The model itself is described by a GenCast config
(a built-in name such as ``gencast_tiny`` or a ``configs/gencast_*.yaml`` path); the optimiser
and training sections become a :class:`mindgencast.training.trainer.TrainConfig`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

import yaml

from mindgencast.config.io import ConfigError, config_from_dict

__all__ = ["AppConfig", "load_app_config"]


@dataclasses.dataclass(frozen=True)
class ModelSection:
    """Which GenCast: ``config`` is a built-in name or a GenCast YAML path; ``checkpoint_path``
    (DeepMind ``.npz`` or a converted directory) starts training from it, or is what
    ``--mode test`` forecasts with."""

    name: str = "GenCast"
    config: str = "gencast_tiny"
    checkpoint_path: str = ""


@dataclasses.dataclass(frozen=True)
class DataSection:
    """Where the data come from.

    ``source: synthetic`` builds the synthetic ERA5-format world (docs/synthetic_world.md):
    ``train_days`` of 12-hourly training data from ``start_date``, a test period after it.
    ``source: era5`` reads files the user holds: ``store_path`` (from ``mindgencast
    prepare``) and ``stats_path`` to train; ``test_path`` (WeatherBench2 Zarr/NetCDF or CDS
    file) and ``init_time`` to test.
    """

    source: str = "synthetic"
    grid_resolution: float = 10.0
    seed: int = 0
    start_date: str = "2000-01-01"
    train_days: int = 120
    store_path: str = ""
    stats_path: str = ""
    test_path: str = ""
    init_time: str = ""

    def __post_init__(self):
        if self.source not in ("synthetic", "era5"):
            raise ValueError(f"data.source must be 'synthetic' or 'era5', got {self.source!r}")
        if self.train_days < 2:
            raise ValueError(f"data.train_days must be >= 2, got {self.train_days}")


@dataclasses.dataclass(frozen=True)
class OptimizerSection:
    """AdamW with linear warm-up and cosine decay (GenCast's optimiser)."""

    name: str = "adamw"
    learning_rate: float = 2e-3
    min_learning_rate: float = 1e-5
    warmup_steps: int = 30
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0

    def __post_init__(self):
        if self.name.lower() != "adamw":
            raise ValueError(f"optimizer.name must be 'adamw' (GenCast's optimiser), got {self.name!r}")


@dataclasses.dataclass(frozen=True)
class SummarySection:
    """Outputs: everything goes under ``summary_dir``; ``ckpt_path`` (default
    ``<summary_dir>/checkpoint``) is where training writes and testing reads the model."""

    summary_dir: str = "./summary"
    ckpt_path: str = ""
    log_every: int = 50
    plot_variables: tuple[str, ...] = ("2m_temperature", "geopotential")


@dataclasses.dataclass(frozen=True)
class TrainSection:
    """Training and test sizes. ``distribute: true`` trains data parallel under ``msrun``."""

    steps: int = 300
    batch_size: int = 4
    seed: int = 0
    distribute: bool = False
    forecast_steps: int = 10
    members: int = 8
    sampler_steps: int = 20


@dataclasses.dataclass(frozen=True)
class AppConfig:
    """One MindSpore Earth-style experiment YAML."""

    model: ModelSection = ModelSection()
    data: DataSection = DataSection()
    optimizer: OptimizerSection = OptimizerSection()
    summary: SummarySection = SummarySection()
    train: TrainSection = TrainSection()

    def train_config_kwargs(self) -> dict:
        """The :class:`~mindgencast.training.trainer.TrainConfig` fields these sections set."""
        o, t = self.optimizer, self.train
        return dict(
            steps=t.steps,
            batch_size=t.batch_size,
            learning_rate=o.learning_rate,
            min_learning_rate=o.min_learning_rate,
            warmup_steps=min(o.warmup_steps, t.steps),
            weight_decay=o.weight_decay,
            max_grad_norm=o.max_grad_norm,
            seed=t.seed,
            log_every=self.summary.log_every,
        )

    def checkpoint_dir(self) -> str:
        return self.summary.ckpt_path or os.path.join(self.summary.summary_dir, "checkpoint")


def load_app_config(path: str | os.PathLike, summary_dir: Optional[str] = None) -> AppConfig:
    """Reads a MindSpore Earth-style YAML strictly; ``summary_dir`` overrides ``summary.summary_dir``.

    Relative paths in the file are taken relative to the current directory (run ``main.py``
    from the repository root, as MindSpore Earth's applications are run from theirs).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"config file {os.fspath(path)!r} does not exist (see configs/mindearth/)")
    with open(path) as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
    try:
        config = config_from_dict(AppConfig, data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    if summary_dir:
        config = dataclasses.replace(config, summary=dataclasses.replace(config.summary, summary_dir=summary_dir))
    return config
