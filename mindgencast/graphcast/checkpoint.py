"""GraphCast checkpoints: DeepMind's official ``.npz`` (``graphcast.CheckPoint``) and
mindgencast's converted directory, with the JAX <-> MindSpore name rules as data.

The ``.npz`` is the same ':'-flattened dataclass tree as GenCast's, with top-level
entries ``params``, ``model_config``, ``task_config``, ``description``, ``license``;
:func:`mindgencast.checkpoint.load_checkpoint` tells the two models apart by those
entries (``model_config`` vs ``denoiser_architecture_config``).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

import numpy as np

from mindgencast.checkpoint.npz_format import write_npz_tree
from mindgencast.checkpoint.schema import CheckpointError
from mindgencast.config import ConfigError, GridConfig, TaskConfig, config_from_dict, config_to_dict
from mindgencast.graphcast.config import GraphCastConfig, GraphCastModelConfig

__all__ = [
    "GRAPHCAST_NAME_RULES",
    "GraphCastCheckpoint",
    "graphcast_checkpoint_from_tree",
    "write_graphcast_npz",
    "save_graphcast_converted",
    "load_graphcast_converted",
]

# (JAX .npz key template, MindSpore parameter name template); see checkpoint/name_mapping.py.
# {gnn}: grid2mesh_gnn | mesh2grid_gnn (one-step encoder/decoder cells, shared with GenCast);
# the processor's unshared steps live in CellLists of nn/mesh_gnn.MeshGNN.
GRAPHCAST_NAME_RULES: tuple[tuple[str, str], ...] = (
    ("params:{gnn}/~_networks_builder/{block}_mlp/~/linear_{i}:{p}", "network.{gnn}.{block}.mlp.layers.{i}.{p}"),
    ("params:{gnn}/~_networks_builder/{block}_layer_norm:{q}", "network.{gnn}.{block}.layer_norm.{q}"),
    (
        "params:mesh_gnn/~_networks_builder/encoder_edges_mesh_mlp/~/linear_{i}:{p}",
        "network.mesh_gnn.encoder_edges_mesh.mlp.layers.{i}.{p}",
    ),
    (
        "params:mesh_gnn/~_networks_builder/encoder_edges_mesh_layer_norm:{q}",
        "network.mesh_gnn.encoder_edges_mesh.layer_norm.{q}",
    ),
    (
        "params:mesh_gnn/~_networks_builder/processor_edges_{step}_mesh_mlp/~/linear_{i}:{p}",
        "network.mesh_gnn.edge_steps.{step}.mlp.layers.{i}.{p}",
    ),
    (
        "params:mesh_gnn/~_networks_builder/processor_edges_{step}_mesh_layer_norm:{q}",
        "network.mesh_gnn.edge_steps.{step}.layer_norm.{q}",
    ),
    (
        "params:mesh_gnn/~_networks_builder/processor_nodes_{step}_mesh_nodes_mlp/~/linear_{i}:{p}",
        "network.mesh_gnn.node_steps.{step}.mlp.layers.{i}.{p}",
    ),
    (
        "params:mesh_gnn/~_networks_builder/processor_nodes_{step}_mesh_nodes_layer_norm:{q}",
        "network.mesh_gnn.node_steps.{step}.layer_norm.{q}",
    ),
)



@dataclasses.dataclass(frozen=True)
class GraphCastCheckpoint:
    """Parameters and configs of one GraphCast model (DeepMind's ``graphcast.CheckPoint``).

    Attributes:
      params: the .npz keys (``params:<haiku path>:<w|b|scale|offset>``) -> float32 arrays.
      model_config, task_config: as in the reference.
      description, license: free text.
      grid: the grid recorded at conversion (None: any grid accepted).
    """

    params: dict[str, np.ndarray]
    model_config: GraphCastModelConfig
    task_config: TaskConfig
    description: str = ""
    license: str = ""
    grid: Optional[GridConfig] = None

    @property
    def config(self) -> GraphCastConfig:
        return GraphCastConfig(
            model_config=self.model_config, task_config=self.task_config, grid=self.grid, description=self.description
        )

    @property
    def num_parameters(self) -> int:
        return int(sum(v.size for v in self.params.values()))


def graphcast_checkpoint_from_tree(path: str, params: dict, tree: dict) -> GraphCastCheckpoint:
    """Builds the checkpoint from the unflattened non-parameter entries of an official .npz."""
    unknown = sorted(set(tree) - {"model_config", "task_config", "description", "license"})
    if unknown:
        raise CheckpointError(f"{path!r} has unknown top-level entries {unknown} for a GraphCast checkpoint")
    if "task_config" not in tree:
        raise CheckpointError(f"{path!r} lacks task_config: not a complete GraphCast checkpoint")
    try:
        model_config = config_from_dict(GraphCastModelConfig, tree["model_config"], "model_config")
        task_config = config_from_dict(TaskConfig, tree["task_config"], "task_config")
    except ConfigError as e:
        raise CheckpointError(f"{path!r}: unsupported config: {e}") from None
    return GraphCastCheckpoint(
        params=params,
        model_config=model_config,
        task_config=task_config,
        description=str(tree.get("description", "")),
        license=str(tree.get("license", "")),
    )


def write_graphcast_npz(checkpoint: GraphCastCheckpoint, path: str | os.PathLike) -> None:
    """Writes the official layout (atomically), loadable by ``checkpoint.load(f, graphcast.CheckPoint)``."""
    model = config_to_dict(checkpoint.model_config)
    if float(model["resolution"]).is_integer():
        model["resolution"] = int(model["resolution"])  # as the reference stores it
    write_npz_tree(path, checkpoint.params, checkpoint.description, checkpoint.license,
                   {"model_config": model, "task_config": config_to_dict(checkpoint.task_config)})


def save_graphcast_converted(checkpoint: GraphCastCheckpoint, out_dir: str | os.PathLike, source: str = "") -> None:
    """Writes ``model.ckpt`` + ``config.yaml`` + ``checkpoint.yaml`` (``model: graphcast``), atomically."""
    from mindgencast.checkpoint.mindspore_format import save_converted

    save_converted(checkpoint, out_dir, source=source, name_rules=GRAPHCAST_NAME_RULES, model="graphcast")


def load_graphcast_converted(path: str | os.PathLike, meta: dict) -> GraphCastCheckpoint:
    """Reads a directory written by :func:`save_graphcast_converted` (``meta``: its checkpoint.yaml)."""
    from mindgencast.checkpoint.mindspore_format import read_converted

    config, params = read_converted(os.fspath(path), meta, GraphCastConfig, GRAPHCAST_NAME_RULES)
    return GraphCastCheckpoint(
        params=params,
        model_config=config.model_config,
        task_config=config.task_config,
        description=config.description,
        license=str(meta.get("license", "")),
        grid=config.grid,
    )
