"""GraphCast's network: grid -> mesh encoder, multimesh processor, mesh -> grid decoder.

Lam et al., *Science* 2023, Supplement "GraphCast model". The three parts are GenCast's
interaction-network cells without noise conditioning (``cond_size=None``: plain layer
norms) plus :class:`~mindgencast.nn.mesh_gnn.MeshGNN`; attribute names mirror the haiku
modules (``grid2mesh_gnn``, ``mesh_gnn``, ``mesh2grid_gnn``) so checkpoint conversion
is a renaming (``graphcast/checkpoint.py``). Reference: ``graphcast/graphcast.py``.
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn

from mindgencast.graphcast.config import GraphCastModelConfig
from mindgencast.nn.interaction_network import Grid2MeshEncoder, Mesh2GridDecoder
from mindgencast.nn.mesh_gnn import MeshGNN

__all__ = ["GraphCastNetwork"]

_NODE_FEATURES, _EDGE_FEATURES = 3, 4


def _const(array, dtype=np.float32) -> Tensor:
    return Tensor(np.ascontiguousarray(array).astype(dtype))


class GraphCastNetwork(nn.Cell):
    """One GraphCast step in normalised space.

    Args:
      config: the architecture.
      graphs: :class:`~mindgencast.graphcast.graphs.GraphCastGraphs` for the grid.
      num_input_channels: stacked inputs + forcings per grid node (without the 3 structural features).
      node_output_size: stacked target channels.

    Inputs:
      - **grid_inputs** (Tensor) - [num_grid_nodes, batch, num_input_channels] float32:
        ``[sorted normalised inputs | sorted normalised forcings]``.
    Outputs:
      - Tensor [num_grid_nodes, batch, node_output_size] float32: normalised residuals for
        targets that are inputs, normalised values for the others (sorted target channels).
    """

    def __init__(
        self,
        config: GraphCastModelConfig,
        graphs,
        num_input_channels: int,
        node_output_size: int,
        compute_dtype=ms.float32,
    ):
        super().__init__()
        L, H = config.latent_size, config.hidden_layers
        self.grid2mesh_gnn = Grid2MeshEncoder(
            num_input_channels,
            _NODE_FEATURES,
            _EDGE_FEATURES,
            L,
            H,
            None,
            graphs.num_mesh_nodes,
            compute_dtype=compute_dtype,
        )
        self.mesh_gnn = MeshGNN(_EDGE_FEATURES, L, H, config.gnn_msg_steps, graphs.num_mesh_nodes, compute_dtype)
        self.mesh2grid_gnn = Mesh2GridDecoder(
            _EDGE_FEATURES,
            L,
            H,
            node_output_size,
            None,
            graphs.num_grid_nodes,
            compute_dtype,
            config.mesh2grid_edge_normalization_factor,
        )
        self.grid_node_features = _const(graphs.grid_node_features)
        self.mesh_node_features = _const(graphs.mesh_node_features)
        self.grid2mesh_edge_features = _const(graphs.grid2mesh_edge_features)
        self.grid2mesh_senders = _const(graphs.grid2mesh_senders, np.int32)
        self.grid2mesh_receivers = _const(graphs.grid2mesh_receivers, np.int32)
        self.mesh_edge_features = _const(graphs.mesh_edge_features)
        self.mesh_senders = _const(graphs.mesh_senders, np.int32)
        self.mesh_receivers = _const(graphs.mesh_receivers, np.int32)
        self.mesh2grid_edge_features = _const(graphs.mesh2grid_edge_features)
        self.mesh2grid_senders = _const(graphs.mesh2grid_senders, np.int32)
        self.mesh2grid_receivers = _const(graphs.mesh2grid_receivers, np.int32)

    def construct(self, grid_inputs):
        mesh, grid = self.grid2mesh_gnn(
            grid_inputs,
            self.grid_node_features,
            self.mesh_node_features,
            self.grid2mesh_edge_features,
            self.grid2mesh_senders,
            self.grid2mesh_receivers,
        )
        mesh = self.mesh_gnn(mesh, self.mesh_edge_features, self.mesh_senders, self.mesh_receivers)
        return self.mesh2grid_gnn(
            mesh, grid, self.mesh2grid_edge_features, self.mesh2grid_senders, self.mesh2grid_receivers
        )
