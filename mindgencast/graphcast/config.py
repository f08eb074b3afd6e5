"""GraphCast's configuration: DeepMind's ``graphcast.ModelConfig`` and the bundle a
checkpoint carries (model, task, grid, description)."""

from __future__ import annotations

import dataclasses
from typing import Optional

from mindgencast.config import GridConfig, TaskConfig

__all__ = ["GraphCastModelConfig", "GraphCastConfig"]


@dataclasses.dataclass(frozen=True)
class GraphCastModelConfig:
    """Architecture of GraphCast (field names as ``graphcast.ModelConfig``).

    Attributes:
      resolution: unused by the model (kept so checkpoints round-trip).
      mesh_size: icosahedron refinements; the multimesh merges levels 0 .. mesh_size.
      latent_size: width of every latent and MLP hidden layer (512 published).
      gnn_msg_steps: processor message-passing steps, unshared (16 published).
      hidden_layers: hidden layers per MLP (1 published).
      radius_query_fraction_edge_length: grid -> mesh radius / finest mesh's longest edge.
      mesh2grid_edge_normalization_factor: divides the decoder's summed messages (None: no division).
    """

    resolution: float
    mesh_size: int
    latent_size: int
    gnn_msg_steps: int
    hidden_layers: int
    radius_query_fraction_edge_length: float
    mesh2grid_edge_normalization_factor: Optional[float] = None

    def __post_init__(self):
        for name in ("latent_size", "gnn_msg_steps", "hidden_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "hidden_layers" else 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclasses.dataclass(frozen=True)
class GraphCastConfig:
    """Everything that describes one GraphCast model (the YAML of a converted checkpoint)."""

    model_config: GraphCastModelConfig
    task_config: TaskConfig
    grid: Optional[GridConfig] = None
    description: str = ""

    @property
    def model_step(self) -> str:
        """Time between the input frames and to the target: GraphCast steps 6 hours."""
        return "6h"
