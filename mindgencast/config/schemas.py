"""Frozen, typed configuration schemas mirroring DeepMind GenCast's configs.

Field names and defaults follow the reference (graphcast ``TaskConfig``,
``denoiser.DenoiserArchitectureConfig``, ``denoiser.NoiseEncoderConfig``,
``denoiser.SparseTransformerConfig``, ``gencast.SamplerConfig`` and
``gencast.NoiseConfig``) so that the configs stored inside an official GenCast
``.npz`` checkpoint load 1:1. Every class is frozen: derived values (e.g. the
number of output channels) are computed by functions, never written back.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

__all__ = [
    "TaskConfig",
    "SparseTransformerConfig",
    "DenoiserArchitectureConfig",
    "NoiseEncoderConfig",
    "NoiseConfig",
    "SamplerConfig",
    "GridConfig",
]


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """Which variables are inputs, targets and forcings, and on which levels.

    Attributes:
      input_variables: variables fed to the model (incl. static fields and
        generated forcings such as ``year_progress_sin``).
      target_variables: variables the model predicts (12 h ahead for GenCast).
      forcing_variables: variables known at the target time (e.g. day progress).
      pressure_levels: pressure levels in hPa of the atmospheric variables.
      input_duration: time span covered by the input frames, e.g. ``"24h"``
        for GenCast's two frames 12 h apart (pandas timedelta string).
    """

    input_variables: tuple[str, ...]
    target_variables: tuple[str, ...]
    forcing_variables: tuple[str, ...]
    pressure_levels: tuple[int, ...]
    input_duration: str


@dataclasses.dataclass(frozen=True)
class SparseTransformerConfig:
    """The mesh transformer (processor) of the denoiser.

    ``block_*`` fields only configure the reference's TPU splash attention and
    are kept so that checkpoints round-trip; mindgencast ignores them.
    """

    attention_k_hop: int
    d_model: int
    num_layers: int = 16
    num_heads: int = 4
    attention_type: str = "splash_mha"
    mask_type: str = "lazy"
    block_q: int = 1024
    block_kv: int = 512
    block_kv_compute: int = 256
    block_q_dkv: int = 512
    block_kv_dkv: int = 1024
    block_kv_dkv_compute: int = 1024
    ffw_winit_final_mult: float = 0.0
    attn_winit_final_mult: float = 0.0
    ffw_hidden: int = 2048
    name: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class DenoiserArchitectureConfig:
    """The encoder / processor / decoder network of the GenCast denoiser.

    Attributes:
      sparse_transformer_config: the processor on the mesh.
      mesh_size: number of icosahedron refinements (GenCast uses only the finest).
      latent_size: width of the GNN MLPs.
      hidden_layers: hidden layers of each GNN MLP.
      radius_query_fraction_edge_length: grid->mesh radius as a fraction of the
        longest finest-mesh edge.
      norm_conditioning_features: features that condition the layer norms.
      grid2mesh_aggregate_normalization: optional divisor of the grid->mesh sum.
      node_output_size: output channels; filled in by the reference at runtime
        and stored in its checkpoints. ``None`` means derive it from the task
        (see :func:`mindgencast.config.task_channels.num_target_channels`).
    """

    sparse_transformer_config: SparseTransformerConfig
    mesh_size: int
    latent_size: int = 512
    hidden_layers: int = 1
    radius_query_fraction_edge_length: float = 0.6
    norm_conditioning_features: tuple[str, ...] = ("noise_level_encodings",)
    grid2mesh_aggregate_normalization: Optional[float] = None
    node_output_size: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class NoiseEncoderConfig:
    """Fourier-feature MLP encoding of the noise level sigma."""

    apply_log_first: bool = True
    base_period: float = 16.0
    num_frequencies: int = 32
    output_sizes: tuple[int, ...] = (32, 16)


@dataclasses.dataclass(frozen=True)
class NoiseConfig:
    """Training noise-level distribution (rho inverse-CDF, EDM sec. 5)."""

    training_noise_level_rho: float = 7.0
    training_max_noise_level: float = 88.0
    training_min_noise_level: float = 0.02


@dataclasses.dataclass(frozen=True)
class SamplerConfig:
    """DPM-Solver++ 2S sampler with EDM stochastic churn.

    Paper symbols (EDM Algorithm 2): sigma_max = max_noise_level,
    sigma_min = min_noise_level, N = num_noise_levels, rho = rho,
    S_churn = stochastic_churn_rate, S_tmin = churn_min_noise_level,
    S_tmax = churn_max_noise_level, S_noise = noise_level_inflation_factor.
    """

    max_noise_level: float = 80.0
    min_noise_level: float = 0.03
    num_noise_levels: int = 20
    rho: float = 7.0
    stochastic_churn_rate: float = 2.5
    churn_min_noise_level: float = 0.75
    churn_max_noise_level: float = float("inf")
    noise_level_inflation_factor: float = 1.05


@dataclasses.dataclass(frozen=True)
class GridConfig:
    """An equiangular lat-lon grid with poles: lat -90..90, lon 0..360-step.

    DeepMind's checkpoints do not record their grid; mindgencast records it so
    that a converted checkpoint can refuse data on another grid.

    Attributes:
      resolution: grid spacing in degrees (1.0 for ``1p0deg``, 0.25 for ``0p25deg``).
    """

    resolution: float

    def __post_init__(self):
        if not self.resolution > 0 or abs(180.0 / self.resolution - round(180.0 / self.resolution)) > 1e-9:
            raise ValueError(
                f"grid resolution {self.resolution!r} must be positive and divide 180 degrees "
                "(e.g. 0.25, 1.0, 5.625, 10.0)"
            )

    @property
    def num_lat(self) -> int:
        return int(round(180.0 / self.resolution)) + 1

    @property
    def num_lon(self) -> int:
        return int(round(360.0 / self.resolution))

    def latitudes(self):
        import numpy as np

        return np.linspace(-90.0, 90.0, self.num_lat)

    def longitudes(self):
        import numpy as np

        return np.arange(self.num_lon) * self.resolution
