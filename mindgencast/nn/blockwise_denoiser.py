"""The preconditioned denoiser run as a chain of separately compiled blocks.

MindSpore's CPU backend gives every intermediate of a compiled graph its own buffer, so one
graph for the whole network (encoder, 16 transformer layers, decoder) holds the
intermediates of all of them at once. Compiling the encoder, each transformer block and the
decoder as separate graphs, chained from Python, bounds the live intermediates to one block
plus the [nodes, batch, latent] tensors handed between blocks (docs/performance.md). Same
cells, same parameters, same arithmetic as :class:`PreconditionedDenoiser`; for inference only
(training differentiates the whole graph).
"""

from __future__ import annotations

import mindspore as ms
from mindspore import nn

from mindgencast.nn.denoiser_network import PreconditionedDenoiser

__all__ = ["BlockwiseDenoiser"]


class _Encoder(nn.Cell):
    """x, sigma -> (mesh latents [M, B, L], grid latents [G, B, L], noise encoding c [B, C])."""

    def __init__(self, denoiser: PreconditionedDenoiser):
        super().__init__(auto_prefix=False)
        self.denoiser = denoiser

    def construct(self, conditioning, noisy_targets, sigma):
        sigma = sigma.astype(ms.float32)
        net = self.denoiser.network
        x = self.denoiser.network_input(conditioning, noisy_targets, sigma)
        c = net.noise_encoder(sigma)
        mesh, grid = net.grid2mesh_gnn(
            x,
            net.grid_node_features,
            net.mesh_node_features,
            net.grid2mesh_edge_features,
            net.grid2mesh_senders,
            net.grid2mesh_receivers,
            c,
        )
        return mesh, grid, c


class _Decoder(nn.Cell):
    """Final conditioned norm, mesh -> grid decoder and preconditioning -> (denoised, raw)."""

    def __init__(self, denoiser: PreconditionedDenoiser):
        super().__init__(auto_prefix=False)
        self.denoiser = denoiser

    def construct(self, mesh, grid, c, noisy_targets, sigma):
        sigma = sigma.astype(ms.float32)
        net = self.denoiser.network
        mesh = net.mesh_transformer.final_norm(mesh, c)
        raw = net.mesh2grid_gnn(
            mesh, grid, net.mesh2grid_edge_features, net.mesh2grid_senders, net.mesh2grid_receivers, c
        )
        return self.denoiser.precondition_output(noisy_targets, raw, sigma), raw


class BlockwiseDenoiser:
    """Calls a :class:`PreconditionedDenoiser` block by block, each block its own compiled graph
    in GRAPH_MODE: the encoder, ONE transformer block run once per layer with that layer's
    weights copied into it (a compiled graph keeps its buffers: one shared block graph holds one
    layer's intermediates instead of ``num_layers``), and the decoder.

    Inputs and outputs as :class:`PreconditionedDenoiser` (conditioning, noisy_targets, sigma)
    -> (denoised, raw). Reads the denoiser's current weights at every call.

    Args:
      denoiser: the PreconditionedDenoiser.
      max_edges, max_grid_nodes: when the grid<->mesh graphs have more edges or grid nodes
        than this, the encoder and decoder run in chunks of at most this many
        (:mod:`mindgencast.nn.chunked_interaction`; 1 deg: 7 and 12 edge chunks, 8 grid-node
        chunks) for one member; a batch of B members uses chunks B times smaller, so that a
        chunk holds as many (edge or node) x member rows, and about as much memory, as one
        member's. None never chunks.
      max_attention_logits: when the banded attention of a call (all heads and members) has
        more logits than this, each transformer layer runs its attention in chunks of query
        rows of at most this many logits (:mod:`mindgencast.nn.chunked_attention`; Mini at k-hop
        16: mesh 5 and up for one member, mesh 4 from two members per batch). None never chunks.
    """

    MAX_EDGES, MAX_GRID_NODES = 16384, 8192
    MAX_ATTENTION_LOGITS = 2**25  # 128 MiB per float32 buffer

    def __init__(self, denoiser: PreconditionedDenoiser, max_edges=MAX_EDGES, max_grid_nodes=MAX_GRID_NODES,
                 max_attention_logits=MAX_ATTENTION_LOGITS):
        from mindgencast.nn.sparse_transformer import TransformerBlock

        self.denoiser = denoiser
        self.encoder = _Encoder(denoiser)
        transformer = denoiser.network.mesh_transformer
        self.runner = TransformerBlock(*transformer.block_args)
        self.runner.update_parameters_name("blockwise_runner.")
        slots = self.runner.get_parameters()
        self.layers = [list(block.get_parameters()) for block in transformer.blocks]
        self._slots = list(slots)
        for weights in self.layers:
            if [w.shape for w in weights] != [s.shape for s in self._slots]:
                raise ValueError("transformer blocks differ in structure; per-block execution needs like blocks")
        net = denoiser.network
        sizes = (int(net.grid2mesh_senders.shape[0]), int(net.mesh2grid_senders.shape[0]))
        chunked = max_edges is not None and max_grid_nodes is not None and (
            max(sizes) > max_edges or net.num_grid_nodes > max_grid_nodes)
        self.chunked = chunked
        self.max_edges, self.max_grid_nodes = max_edges, max_grid_nodes
        self._chunked_by_batch = {}
        self.max_attention_logits = max_attention_logits
        self._attention_by_batch = {}
        if chunked:
            self.encoder, self.decoder = self.chunked_blocks(1)
        else:
            self.decoder = _Decoder(denoiser)

    def chunked_blocks(self, batch: int):
        """(ChunkedEncoder, ChunkedDecoder) for ``batch`` members: chunk sizes divided by the
        batch (built, and compiled, once per batch size)."""
        if batch not in self._chunked_by_batch:
            from mindgencast.nn.chunked_interaction import ChunkedDecoder, ChunkedEncoder

            edges, nodes = max(1, self.max_edges // batch), max(1, self.max_grid_nodes // batch)
            self._chunked_by_batch[batch] = (ChunkedEncoder(self.denoiser, edges, nodes),
                                             ChunkedDecoder(self.denoiser, edges, nodes))
        return self._chunked_by_batch[batch]

    def chunked_attention(self, batch: int):
        """The :class:`ChunkedTransformerLayer` for ``batch`` members, or None when the banded
        attention's logits fit ``max_attention_logits`` (or the attention is the gather form)."""
        if batch not in self._attention_by_batch:
            from mindgencast.nn.chunked_attention import ChunkedTransformerLayer

            net = self.denoiser.network
            layer = None
            if net.attention_implementation == "banded" and self.max_attention_logits is not None:
                bias = net.attention_mask.asnumpy()
                if bias.size * self.runner.attention.num_heads * batch > self.max_attention_logits:
                    layer = ChunkedTransformerLayer(self.runner, net.attention_index.asnumpy(), bias,
                                                    int(net.mesh_node_features.shape[0]), batch,
                                                    self.max_attention_logits)
            self._attention_by_batch[batch] = layer
        return self._attention_by_batch[batch]

    def layer(self, i: int, mesh, c):
        """Transformer layer ``i`` on mesh latents [num_mesh_nodes, batch, latent]."""
        for slot, weight in zip(self._slots, self.layers[i]):
            slot.set_data(weight.value())
        chunked = self.chunked_attention(int(mesh.shape[1]))
        if chunked is not None:
            return chunked(mesh, c)
        net = self.denoiser.network
        return self.runner(mesh, c, net.attention_index, net.attention_mask)

    def __call__(self, conditioning, noisy_targets, sigma):
        """conditioning [G, B, C], noisy_targets [G, B, T], sigma [B] -> (denoised, raw) [G, B, T]."""
        encoder, decoder = self.chunked_blocks(int(noisy_targets.shape[1])) if self.chunked else (self.encoder,
                                                                                                  self.decoder)
        mesh, grid, c = encoder(conditioning, noisy_targets, sigma)
        for i in range(len(self.layers)):
            mesh = self.layer(i, mesh, c)
        return decoder(mesh, grid, c, noisy_targets, sigma)
