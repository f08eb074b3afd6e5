"""One typed interaction-network step between the grid and the mesh (GraphCast/GenCast).

Reference: ``deep_typed_graph_net.DeepTypedGraphNet`` with one message-passing
step, as GenCast's ``grid2mesh_gnn`` (encoder) and ``mesh2grid_gnn`` (decoder)
configure it (Battaglia et al. 2016 interaction networks; Lam et al. 2023).
All arrays are node-major: ``[num_nodes, batch, channels]``; edges ``[num_edges, batch, channels]``.

Edge update:  e' = MLP_e([e, h_sender, h_receiver])   (first layer split, see below)
Node update:  h' = MLP_n([h, sum_{edges into node} e'])   (sum in float32)
Residuals:    h <- h + h',  e <- e + e'.
Every MLP is followed by a layer norm, except the decoder output MLP: noise-conditioned
for GenCast (``cond_size`` given, ``c`` passed), plain with learned scale/offset for
GraphCast (``cond_size=None``, no ``c``).

Split first layer of the edge MLP (not in DeepMind's code; same parameters, same result
up to float rounding). With the first weight ``w`` [C_e + C_s + C_r, H] cut by rows into
``w_e, w_s, w_r``::

    [e, h_s[senders], h_r[receivers]] @ w + b
        = e @ w_e + (h_s @ w_s)[senders] + (h_r @ w_r)[receivers] + b

Per side the node form costs N*C*H multiply-adds instead of E*C*H and gathers H instead of
C channels per edge, so a side is split iff its node count N is below the edge count E
(decided from the static shapes, see ``split_pays_off``); with neither side split the
concatenated form runs unchanged. Gathering commutes exactly with a row-wise matmul, so
only the grouping of the three block sums differs from the concatenated form.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops

from mindgencast.nn.conditioned_layer_norm import LinearNormConditioning, layer_norm
from mindgencast.nn.layer_norm import LayerNorm
from mindgencast.nn.linear import MLP

__all__ = [
    "NormedMLP",
    "Grid2MeshEncoder",
    "Mesh2GridDecoder",
    "gather_nodes",
    "aggregate_messages",
    "split_pays_off",
]


def split_pays_off(num_nodes: int, num_edges: int) -> bool:
    """True when a node block of the edge MLP's first layer is cheaper per node than per edge.

    The node form multiplies ``num_nodes`` rows instead of ``num_edges`` and gathers the
    (equally wide) product instead of the input, so it saves work iff num_nodes < num_edges.
    """
    return num_nodes < num_edges


class NormedMLP(nn.Cell):
    """MLP (swish) followed by a layer norm: noise-conditioned (GenCast) or plain (GraphCast).

    Args:
      cond_size: size of the conditioning vector; ``None`` for GraphCast's plain
        ``LayerNorm`` (parameters ``layer_norm.scale`` / ``layer_norm.offset``).

    Inputs:
      - **x** (Tensor) - [num, batch, in_size].
      - **c** (Tensor) - [batch, cond_size]; omitted (None) when ``cond_size`` is None.
    Outputs:
      - Tensor [num, batch, out_size].
    """

    def __init__(
        self, in_size: int, hidden_size: int, hidden_layers: int, out_size: int, cond_size, compute_dtype=ms.float32
    ):
        super().__init__()
        self.mlp = MLP(in_size, [hidden_size] * hidden_layers + [out_size], "swish", compute_dtype)
        self.conditioned = cond_size is not None
        if self.conditioned:
            self.norm_conditioning = LinearNormConditioning(cond_size, out_size)
        else:
            self.layer_norm = LayerNorm(out_size)

    def normalize(self, h, c=None):
        """The layer norm alone, on an MLP output ``h``."""
        if self.conditioned:
            return self.norm_conditioning(layer_norm(h), c)
        return self.layer_norm(h)

    def construct(self, x, c=None):
        return self.normalize(self.mlp(x), c)

    def edge_update(
        self, e, sender_nodes, receiver_nodes, senders, receivers, c=None, split_senders=None, split_receivers=None
    ):
        """This MLP on ``[e, sender_nodes[senders], receiver_nodes[receivers]]`` with its
        first layer split by input block (module docstring); the node blocks are multiplied
        once per node where ``split_pays_off`` (or as forced by ``split_*``: True/False).

        Inputs: e [E, B, C_e]; sender_nodes [N_s, B, C_s]; receiver_nodes [N_r, B, C_r];
        senders, receivers [E] int32; c [B, cond_size] or None.
        Output: [E, B, out_size], equal to ``self(ops.concat([e, gathered s, gathered r], -1), c)``.
        """
        num_edges = e.shape[0]
        if split_senders is None:
            split_senders = split_pays_off(sender_nodes.shape[0], num_edges)
        if split_receivers is None:
            split_receivers = split_pays_off(receiver_nodes.shape[0], num_edges)
        if not split_senders and not split_receivers:
            # nothing to save: DeepMind's form, one matmul on the concatenation
            x = ops.concat([e, gather_nodes(sender_nodes, senders), gather_nodes(receiver_nodes, receivers)], -1)
            return self.normalize(self.mlp(x), c)
        c_e, c_s = e.shape[-1], sender_nodes.shape[-1]
        if split_senders:
            from_senders = gather_nodes(self.project_block(sender_nodes, c_e, c_e + c_s), senders)
        else:
            from_senders = self.project_block(gather_nodes(sender_nodes, senders), c_e, c_e + c_s)
        if split_receivers:
            from_receivers = gather_nodes(self.project_block(receiver_nodes, c_e + c_s, None), receivers)
        else:
            from_receivers = self.project_block(gather_nodes(receiver_nodes, receivers), c_e + c_s, None)
        return self.edge_update_from_parts(e, from_senders, from_receivers, c)

    def project_block(self, x, start: int, stop):
        """x [N, B, C] times rows ``start:stop`` of the first weight -> [N, B, H] (no bias):
        one input block's share of the first layer (``stop`` None: to the end)."""
        first = self.mlp.layers[0]
        w = first.w[start:] if stop is None else first.w[start:stop]
        return _project(x, w, first.compute_dtype)

    def edge_update_from_parts(self, e, from_senders, from_receivers, c=None):
        """The edge MLP given the node blocks' shares of its first layer, already gathered to
        the edges ([E, B, H] each): adds the edge block's share and the bias, then the rest."""
        first = self.mlp.layers[0]
        h = self.project_block(e, 0, e.shape[-1]) + from_senders + from_receivers + first.b
        for i in range(1, self.mlp.num_layers):
            h = self.mlp.layers[i](self.mlp.activation(h))
        return self.normalize(h, c)


def _project(x, w, compute_dtype):
    """x [N, B, C] @ w [C, H] -> [N, B, H] float32, multiplied in ``compute_dtype`` as ``Linear``."""
    lead = x.shape[:-1]
    x2 = x.reshape((-1, x.shape[-1]))
    if compute_dtype != ms.float32:
        x2 = x2.astype(compute_dtype)
        w = w.astype(compute_dtype)
    return ops.matmul(x2, w).astype(ms.float32).reshape(lead + (w.shape[-1],))


def gather_nodes(nodes, index):
    """nodes [N, B, C] at ``index`` [E] -> [E, B, C] (sender or receiver states of edges)."""
    return ops.gather(nodes, index, 0)


def aggregate_messages(messages, receivers, num_nodes):
    """Sum of messages [E, B, C] per receiver -> [num_nodes, B, C], in float32."""
    return ops.unsorted_segment_sum(messages.astype(ms.float32), receivers, num_nodes)


class Grid2MeshEncoder(nn.Cell):
    """Embeds grid and mesh nodes and grid->mesh edges, then one message-passing step.

    Args:
      split_edge_mlp: True (default) splits the edge MLP's first layer by input block where
        ``split_pays_off``; False keeps DeepMind's concatenation (same result up to rounding).

    Inputs:
      - **grid_inputs** (Tensor) - [num_grid_nodes, batch, num_input_channels], the
        stacked model inputs (inputs, forcings, noisy targets) WITHOUT structural features.
      - **grid_features** (Tensor) - [num_grid_nodes, 3] structural grid node features.
      - **mesh_features** (Tensor) - [num_mesh_nodes, 3] structural mesh node features.
      - **edge_features** (Tensor) - [num_edges, 4] grid2mesh edge features.
      - **senders** (Tensor) - [num_edges] int32 grid node indices.
      - **receivers** (Tensor) - [num_edges] int32 mesh node indices.
      - **c** (Tensor) - [batch, cond_size] noise-level encoding (None: unconditioned, GraphCast).
    Outputs:
      - **mesh_latents** (Tensor) - [num_mesh_nodes, batch, latent_size].
      - **grid_latents** (Tensor) - [num_grid_nodes, batch, latent_size].
    """

    def __init__(
        self,
        num_input_channels: int,
        num_structural_node_features: int,
        num_edge_features: int,
        latent_size: int,
        hidden_layers: int,
        cond_size: int,
        num_mesh_nodes: int,
        aggregate_normalization=None,
        compute_dtype=ms.float32,
        split_edge_mlp: bool = True,
    ):
        super().__init__()
        node_in = num_input_channels + num_structural_node_features
        L, H = latent_size, hidden_layers
        self.encoder_edges_grid2mesh = NormedMLP(num_edge_features, L, H, L, cond_size, compute_dtype)
        self.encoder_nodes_grid_nodes = NormedMLP(node_in, L, H, L, cond_size, compute_dtype)
        # The reference feeds mesh nodes zeros in place of the grid's input channels
        # (so both node types have the same input width); only the structural rows
        # of the first weight matrix ever see non-zero input, so we use just those.
        self.encoder_nodes_mesh_nodes = NormedMLP(node_in, L, H, L, cond_size, compute_dtype)
        self.processor_edges_0_grid2mesh = NormedMLP(3 * L, L, H, L, cond_size, compute_dtype)
        self.processor_nodes_0_mesh_nodes = NormedMLP(2 * L, L, H, L, cond_size, compute_dtype)
        self.processor_nodes_0_grid_nodes = NormedMLP(L, L, H, L, cond_size, compute_dtype)
        self.num_input_channels = num_input_channels
        self.num_mesh_nodes = num_mesh_nodes
        self.aggregate_normalization = aggregate_normalization
        # False: DeepMind's concatenated first layer everywhere (for benchmarks and checks)
        self.edge_split = None if split_edge_mlp else False

    def _embed_mesh_nodes(self, mesh_features, batch, c):
        cell = self.encoder_nodes_mesh_nodes
        first = cell.mlp.layers[0]
        w_struct = first.w[self.num_input_channels :]
        h = ops.matmul(mesh_features, w_struct) + first.b  # [M, L]
        h = ops.broadcast_to(h.expand_dims(1), (h.shape[0], batch, h.shape[1]))
        for i in range(1, cell.mlp.num_layers):
            h = cell.mlp.layers[i](cell.mlp.activation(h))
        return cell.normalize(h, c)

    def construct(self, grid_inputs, grid_features, mesh_features, edge_features, senders, receivers, c=None):
        num_grid, batch = grid_inputs.shape[0], grid_inputs.shape[1]
        grid_struct = ops.broadcast_to(grid_features.expand_dims(1), (num_grid, batch, grid_features.shape[-1]))
        grid = self.encoder_nodes_grid_nodes(ops.concat([grid_inputs, grid_struct], axis=-1), c)
        mesh = self._embed_mesh_nodes(mesh_features, batch, c)
        num_edges = edge_features.shape[0]
        e = ops.broadcast_to(edge_features.expand_dims(1), (num_edges, batch, edge_features.shape[-1]))
        e = self.encoder_edges_grid2mesh(e, c)

        e_new = self.processor_edges_0_grid2mesh.edge_update(
            e, grid, mesh, senders, receivers, c, self.edge_split, self.edge_split
        )
        received = aggregate_messages(e_new, receivers, self.num_mesh_nodes)
        if self.aggregate_normalization is not None:
            received = received / self.aggregate_normalization
        mesh_new = self.processor_nodes_0_mesh_nodes(ops.concat([mesh, received], axis=-1), c)
        grid_new = self.processor_nodes_0_grid_nodes(grid, c)
        return mesh + mesh_new, grid + grid_new


class Mesh2GridDecoder(nn.Cell):
    """One message-passing step mesh -> grid, then the output MLP to the target channels.

    Args:
      split_edge_mlp: True (default) splits the edge MLP's first layer by input block where
        ``split_pays_off``; False keeps DeepMind's concatenation (same result up to rounding).

    Inputs:
      - **mesh_latents** (Tensor) - [num_mesh_nodes, batch, latent_size].
      - **grid_latents** (Tensor) - [num_grid_nodes, batch, latent_size].
      - **edge_features** (Tensor) - [num_edges, 4] mesh2grid edge features.
      - **senders** (Tensor) - [num_edges] int32 mesh node indices.
      - **receivers** (Tensor) - [num_edges] int32 grid node indices.
      - **c** (Tensor) - [batch, cond_size] (None: unconditioned, GraphCast).
    Outputs:
      - Tensor [num_grid_nodes, batch, node_output_size].
    """

    def __init__(
        self,
        num_edge_features: int,
        latent_size: int,
        hidden_layers: int,
        node_output_size: int,
        cond_size,
        num_grid_nodes: int,
        compute_dtype=ms.float32,
        aggregate_normalization=None,
        split_edge_mlp: bool = True,
    ):
        super().__init__()
        L, H = latent_size, hidden_layers
        self.encoder_edges_mesh2grid = NormedMLP(num_edge_features, L, H, L, cond_size, compute_dtype)
        self.processor_edges_0_mesh2grid = NormedMLP(3 * L, L, H, L, cond_size, compute_dtype)
        self.processor_nodes_0_grid_nodes = NormedMLP(2 * L, L, H, L, cond_size, compute_dtype)
        # The reference also updates the mesh nodes in this step, but that result is
        # never used; the parameters exist (checkpoints carry them), the compute is skipped.
        self.processor_nodes_0_mesh_nodes = NormedMLP(L, L, H, L, cond_size, compute_dtype)
        self.decoder_nodes_grid_nodes = _OutputMLP(L, [L] * H + [node_output_size], compute_dtype)
        self.num_grid_nodes = num_grid_nodes
        # GraphCast's mesh2grid_edge_normalization_factor: divides the summed messages
        self.aggregate_normalization = aggregate_normalization
        self.edge_split = None if split_edge_mlp else False

    def construct(self, mesh_latents, grid_latents, edge_features, senders, receivers, c=None):
        batch = grid_latents.shape[1]
        num_edges = edge_features.shape[0]
        e = ops.broadcast_to(edge_features.expand_dims(1), (num_edges, batch, edge_features.shape[-1]))
        e = self.encoder_edges_mesh2grid(e, c)
        e_new = self.processor_edges_0_mesh2grid.edge_update(
            e, mesh_latents, grid_latents, senders, receivers, c, self.edge_split, self.edge_split
        )
        received = aggregate_messages(e_new, receivers, self.num_grid_nodes)
        if self.aggregate_normalization is not None:
            received = received / self.aggregate_normalization
        grid = grid_latents + self.processor_nodes_0_grid_nodes(ops.concat([grid_latents, received], axis=-1), c)
        return self.decoder_nodes_grid_nodes(grid)


class _OutputMLP(nn.Cell):
    """The decoder's output MLP (no layer norm); holds ``mlp`` so names mirror the reference.

    Inputs:
      - **x** (Tensor) - [num_grid_nodes, batch, latent_size].
    Outputs:
      - Tensor [num_grid_nodes, batch, node_output_size].
    """

    def __init__(self, in_size, output_sizes, compute_dtype):
        super().__init__()
        self.mlp = MLP(in_size, output_sizes, "swish", compute_dtype)

    def construct(self, x):
        return self.mlp(x)
