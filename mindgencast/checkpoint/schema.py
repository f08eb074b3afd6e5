"""The typed contents of a GenCast checkpoint (DeepMind's ``gencast.CheckPoint``)."""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from mindgencast.config import (
    DenoiserArchitectureConfig,
    GenCastConfig,
    GridConfig,
    NoiseConfig,
    NoiseEncoderConfig,
    SamplerConfig,
    TaskConfig,
)

__all__ = ["Checkpoint", "CheckpointError"]


class CheckpointError(ValueError):
    """A checkpoint is unreadable, incomplete or does not match the model/data."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """Parameters and every config of one GenCast model.

    Attributes:
      params: DeepMind parameter names (``"params:<haiku path>:w"`` without the
        ``params:`` prefix is NOT stripped: keys are exactly the .npz keys) -> float32 arrays.
      task_config ... noise_encoder_config: as in ``gencast.CheckPoint``.
      description, license: free text carried by the checkpoint.
      grid: the grid the model was converted for (DeepMind's .npz does not record
        it; ``None`` means any grid is accepted).
    """

    params: dict[str, np.ndarray]
    task_config: TaskConfig
    denoiser_architecture_config: DenoiserArchitectureConfig
    sampler_config: SamplerConfig
    noise_config: NoiseConfig
    noise_encoder_config: NoiseEncoderConfig
    description: str = ""
    license: str = ""
    grid: Optional[GridConfig] = None

    @property
    def config(self) -> GenCastConfig:
        """All configs bundled (as the YAML files under configs/ hold them)."""
        return GenCastConfig(
            task_config=self.task_config,
            denoiser_architecture_config=self.denoiser_architecture_config,
            sampler_config=self.sampler_config,
            noise_config=self.noise_config,
            noise_encoder_config=self.noise_encoder_config,
            grid=self.grid,
            description=self.description,
        )

    @property
    def num_parameters(self) -> int:
        return int(sum(v.size for v in self.params.values()))
