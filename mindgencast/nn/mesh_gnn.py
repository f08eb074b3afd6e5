"""GraphCast's processor: unshared interaction-network steps on the multimesh.

Lam et al., *Science* 2023, Supplement "Processor": ``gnn_msg_steps`` (16 published)
message-passing steps, each with its own weights, on the mesh latents from the encoder,
using embedded mesh edge features (reference: ``mesh_gnn``, a ``DeepTypedGraphNet``
with ``embed_nodes=False``, ``embed_edges=True``). With ``h`` mesh node latents and
``e`` mesh edge latents, step ``k``::

    e' = LN(MLP_e^k([e, h_sender, h_receiver]));   e <- e + e'
    h' = LN(MLP_n^k([h, sum_{edges into node} e'])); h <- h + h'
"""

from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops

from mindgencast.nn.interaction_network import NormedMLP, aggregate_messages

__all__ = ["MeshGNN"]


class MeshGNN(nn.Cell):
    """Embeds the multimesh edge features, then ``num_steps`` interaction-network steps.

    Args:
      num_edge_features: structural edge features (4).
      latent_size, hidden_layers: MLP widths/depth.
      num_steps: message-passing steps (``gnn_msg_steps``).
      num_mesh_nodes: number of mesh nodes.
      split_edge_mlp: True (default) splits each edge MLP's first layer by input block
        (``interaction_network.split_pays_off``); False keeps DeepMind's concatenation.

    Inputs:
      - **mesh_latents** (Tensor) - [num_mesh_nodes, batch, latent_size].
      - **edge_features** (Tensor) - [num_mesh_edges, 4].
      - **senders**, **receivers** (Tensor) - [num_mesh_edges] int32.
    Outputs:
      - Tensor [num_mesh_nodes, batch, latent_size].
    """

    def __init__(
        self,
        num_edge_features: int,
        latent_size: int,
        hidden_layers: int,
        num_steps: int,
        num_mesh_nodes: int,
        compute_dtype=ms.float32,
        split_edge_mlp: bool = True,
    ):
        super().__init__()
        L, H = latent_size, hidden_layers
        self.encoder_edges_mesh = NormedMLP(num_edge_features, L, H, L, None, compute_dtype)
        self.edge_steps = nn.CellList([NormedMLP(3 * L, L, H, L, None, compute_dtype) for _ in range(num_steps)])
        self.node_steps = nn.CellList([NormedMLP(2 * L, L, H, L, None, compute_dtype) for _ in range(num_steps)])
        self.num_steps = num_steps
        self.num_mesh_nodes = num_mesh_nodes
        # False: DeepMind's concatenated first layer (for benchmarks and checks)
        self.edge_split = None if split_edge_mlp else False

    def construct(self, mesh_latents, edge_features, senders, receivers):
        h = mesh_latents
        batch = h.shape[1]
        num_edges = edge_features.shape[0]
        e = ops.broadcast_to(edge_features.expand_dims(1), (num_edges, batch, edge_features.shape[-1]))
        e = self.encoder_edges_mesh(e)
        for k in range(self.num_steps):
            # first layer split by input block: h @ w_s, h @ w_r once per node (interaction_network)
            e_new = self.edge_steps[k].edge_update(e, h, h, senders, receivers, None, self.edge_split, self.edge_split)
            received = aggregate_messages(e_new, receivers, self.num_mesh_nodes)
            h_new = self.node_steps[k](ops.concat([h, received], -1))
            h = h + h_new
            e = e + e_new
        return h
