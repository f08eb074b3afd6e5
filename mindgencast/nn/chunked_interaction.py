"""GenCast's grid <-> mesh interaction networks run in chunks of edges and grid nodes.

On MindSpore's CPU backend a compiled graph keeps a buffer for each of its intermediates, so
the encoder and decoder graphs hold several ``[num_edges, batch, latent]`` and
``[num_grid_nodes, batch, latent]`` tensors at once: at 1 deg (102,486 grid->mesh and
195,480 mesh->grid edges, 65,160 grid nodes, latent 512) far more than the whole model
needs (docs/performance.md). Here the same cells, with the same parameters, run as a few
small graphs, each compiled once and called per chunk:

encoder (:class:`ChunkedEncoder`)
  1. grid-node chunk: F's input x = [conditioning, c_in * noisy targets], the grid-node
     embedding h_g, its updated latent h_g + MLP(h_g), and h_g's share of the edge MLP's
     first layer ``h_g @ w_s``;
  2. mesh nodes: the mesh-node embedding h_m and ``h_m @ w_r``;
  3. edge chunk: edge embedding e, ``e' = MLP_e(e @ w_e + (h_g w_s)[s] + (h_m w_r)[r] + b)``,
     and its partial sum per mesh node (padding edges weigh 0); partial sums add up;
  4. mesh update: h_m + MLP([h_m, sum e']).

decoder (:class:`ChunkedDecoder`)
  1. the final conditioned norm of the mesh latents and their share ``h_m @ w_s``;
  2. per chunk of grid nodes, with the mesh->grid edges that enter it (grouped once, padded
     to one size): edge embedding and update, the sum per grid node, h_g + MLP([h_g, sum e']),
     the output MLP (F's raw output) and the EDM preconditioning D = c_skip x + c_out F. No
     grid-sized partial sums: each chunk sums into its own nodes only.

This is the split form of the edge MLP's first layer (``NormedMLP.edge_update``; exact up to
float rounding, as are the chunked sums). Inference only.
"""

from __future__ import annotations

import math

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from mindgencast.nn.interaction_network import aggregate_messages, gather_nodes

__all__ = ["chunk_layout", "ChunkedEncoder", "ChunkedDecoder"]


def chunk_layout(count: int, max_chunk: int) -> tuple[int, int]:
    """(number of chunks, chunk size) covering ``count`` items with chunks of at most
    ``max_chunk``, all of one size (the last padded) so one compiled graph serves them all."""
    chunks = max(1, math.ceil(count / max(1, max_chunk)))
    return chunks, math.ceil(count / chunks)


def _pad_rows(array: np.ndarray, rows: int) -> np.ndarray:
    pad = rows - array.shape[0]
    return np.concatenate([array, np.zeros((pad,) + array.shape[1:], array.dtype)]) if pad else array


def _edge_chunks(features, senders, receivers, max_chunk):
    """Tensors (features [k, F], senders [k], receivers [k], weight [k]) per chunk; padding
    edges point at node 0 with weight 0."""
    features, senders, receivers = (t.asnumpy() for t in (features, senders, receivers))
    chunks, size = chunk_layout(features.shape[0], max_chunk)
    weight = np.ones(features.shape[0], np.float32)
    padded = [_pad_rows(a, chunks * size) for a in (features, senders, receivers, weight)]
    return [tuple(Tensor(a[i * size:(i + 1) * size]) for a in padded) for i in range(chunks)]


class _Part(nn.Cell):
    """One piece of the denoiser's computation, compiled as its own graph; holds the
    PreconditionedDenoiser whose cells (and parameters) it uses."""

    def __init__(self, denoiser):
        super().__init__(auto_prefix=False)
        self.denoiser = denoiser


class _EdgeChunk(nn.Cell):
    """One chunk of edges: embed, update from the node shares, sum per receiver.

    Inputs: features [k, F], senders [k], receivers [k] int32, weight [k] (0 = padding),
    sender_share [N_s, B, H], receiver_share [N_r, B, H], c [B, cond].
    Output: [num_receivers, B, L] float32, this chunk's messages summed per receiver.
    """

    def __init__(self, embed, update, num_receivers: int):
        super().__init__(auto_prefix=False)
        self.embed, self.update, self.num_receivers = embed, update, num_receivers

    def construct(self, features, senders, receivers, weight, sender_share, receiver_share, c):
        batch = sender_share.shape[1]
        e = ops.broadcast_to(features.expand_dims(1), (features.shape[0], batch, features.shape[-1]))
        e = self.embed(e, c)
        e_new = self.update.edge_update_from_parts(
            e, gather_nodes(sender_share, senders), gather_nodes(receiver_share, receivers), c)
        return aggregate_messages(e_new * weight.reshape((-1, 1, 1)), receivers, self.num_receivers)


class _EncoderGridChunk(_Part):
    """Grid-node chunk of the encoder -> (updated grid latents, their share of the edge MLP)."""

    def construct(self, conditioning, noisy_targets, grid_features, sigma, c):
        enc = self.denoiser.network.grid2mesh_gnn
        x = self.denoiser.network_input(conditioning, noisy_targets, sigma)
        num, batch = x.shape[0], x.shape[1]
        struct = ops.broadcast_to(grid_features.expand_dims(1), (num, batch, grid_features.shape[-1]))
        grid = enc.encoder_nodes_grid_nodes(ops.concat([x, struct], axis=-1), c)
        latent = grid.shape[-1]
        share = enc.processor_edges_0_grid2mesh.project_block(grid, latent, 2 * latent)
        return grid + enc.processor_nodes_0_grid_nodes(grid, c), share


class _EncoderMesh(_Part):
    """sigma -> (noise encoding c, mesh-node embedding, its share of the edge MLP)."""

    def construct(self, sigma, batch_like):
        net = self.denoiser.network
        enc = net.grid2mesh_gnn
        c = net.noise_encoder(sigma)
        mesh = enc._embed_mesh_nodes(net.mesh_node_features, batch_like.shape[0], c)
        latent = mesh.shape[-1]
        return c, mesh, enc.processor_edges_0_grid2mesh.project_block(mesh, 2 * latent, None)


class _EncoderMeshUpdate(_Part):
    """Mesh-node update from the summed messages -> updated mesh latents [M, B, L]."""

    def construct(self, mesh, received, c):
        enc = self.denoiser.network.grid2mesh_gnn
        if enc.aggregate_normalization is not None:
            received = received / enc.aggregate_normalization
        return mesh + enc.processor_nodes_0_mesh_nodes(ops.concat([mesh, received], axis=-1), c)


class ChunkedEncoder:
    """Encoder of a :class:`~mindgencast.nn.denoiser_network.PreconditionedDenoiser` in chunks.

    Args:
      denoiser: the PreconditionedDenoiser (its network's grid2mesh_gnn and graph constants).
      max_edges, max_grid_nodes: largest chunk of grid->mesh edges / grid nodes.

    Call: (conditioning [G, B, C], noisy_targets [G, B, T], sigma [B]) -> (mesh latents
    [M, B, L], grid latents [G, B, L], c [B, cond]), as BlockwiseDenoiser's encoder.
    """

    def __init__(self, denoiser, max_edges: int, max_grid_nodes: int):
        net = denoiser.network
        enc = net.grid2mesh_gnn
        self.num_grid = net.num_grid_nodes
        self.grid_chunks, self.grid_size = chunk_layout(self.num_grid, max_grid_nodes)
        features = net.grid_node_features.asnumpy()
        padded = _pad_rows(features, self.grid_chunks * self.grid_size)
        self.grid_features = [Tensor(padded[i * self.grid_size:(i + 1) * self.grid_size])
                              for i in range(self.grid_chunks)]
        self.edges = _edge_chunks(net.grid2mesh_edge_features, net.grid2mesh_senders, net.grid2mesh_receivers,
                                  max_edges)
        self.grid_cell = _EncoderGridChunk(denoiser)
        self.mesh_cell = _EncoderMesh(denoiser)
        self.edge_cell = _EdgeChunk(enc.encoder_edges_grid2mesh, enc.processor_edges_0_grid2mesh, enc.num_mesh_nodes)
        self.update_cell = _EncoderMeshUpdate(denoiser)

    def __call__(self, conditioning, noisy_targets, sigma):
        sigma = sigma.astype(ms.float32)
        c, mesh, mesh_share = self.mesh_cell(sigma, sigma)
        conditioning = _pad_tensor(conditioning, self.grid_chunks * self.grid_size)
        noisy_targets = _pad_tensor(noisy_targets, self.grid_chunks * self.grid_size)
        grids, shares = [], []
        for i in range(self.grid_chunks):
            rows = slice(i * self.grid_size, (i + 1) * self.grid_size)
            grid, share = self.grid_cell(conditioning[rows], noisy_targets[rows], self.grid_features[i], sigma, c)
            grids.append(grid)
            shares.append(share)
        grid = _concat_rows(grids, self.num_grid)
        grid_share = _concat_rows(shares, self.num_grid)
        received = None
        for features, senders, receivers, weight in self.edges:
            part = self.edge_cell(features, senders, receivers, weight, grid_share, mesh_share, c)
            received = part if received is None else received + part
        return self.update_cell(mesh, received, c), grid, c


def _receiver_chunks(features, senders, receivers, num_receivers: int, max_nodes: int, max_edges: int):
    """Edges grouped by the chunk of receivers they enter, padded to one size K.

    The receivers are cut into equal chunks of ``size`` nodes, as many as needed for at most
    ``max_nodes`` nodes and (where the in-degree allows) ``max_edges`` edges per chunk. Returns
    (chunks, size, [(features [K, F], senders [K], local receivers [K], weight [K]) per chunk]):
    local receivers count from the chunk's first node; padding edges weigh 0."""
    features, senders, receivers = (np.asarray(t.asnumpy()) for t in (features, senders, receivers))
    order = np.argsort(receivers, kind="stable")
    features, senders, receivers = features[order], senders[order], receivers[order]
    degree = int(np.bincount(receivers, minlength=num_receivers).max())
    chunks, size = chunk_layout(num_receivers, max_nodes)
    while True:
        bounds = np.searchsorted(receivers, np.arange(chunks + 1) * size)
        count = int(np.diff(bounds).max())
        if count <= max(max_edges, degree) or size <= 1:
            break
        chunks, size = chunk_layout(num_receivers, max(1, size // 2))
    out = []
    for i in range(chunks):
        rows = slice(bounds[i], bounds[i + 1])
        weight = np.ones(bounds[i + 1] - bounds[i], np.float32)
        parts = (features[rows], senders[rows], receivers[rows] - i * size, weight)
        out.append(tuple(Tensor(_pad_rows(np.ascontiguousarray(a), count)) for a in parts))
    return chunks, size, out


class _DecoderMeshShare(_Part):
    """Final conditioned norm of the mesh latents and their share of the edge MLP."""

    def construct(self, mesh, c):
        net = self.denoiser.network
        mesh = net.mesh_transformer.final_norm(mesh, c)
        latent = mesh.shape[-1]
        return net.mesh2grid_gnn.processor_edges_0_mesh2grid.project_block(mesh, latent, 2 * latent)


class _DecoderChunk(_Part):
    """One chunk of grid nodes and the edges into it: edge embedding and update, sum per
    node, node update, output MLP, preconditioning -> (denoised, raw) [S, B, T]."""

    def __init__(self, denoiser, size: int):
        super().__init__(denoiser)
        self.size = size

    def construct(self, features, senders, receivers, weight, mesh_share, grid, noisy_targets, sigma, c):
        dec = self.denoiser.network.mesh2grid_gnn
        update = dec.processor_edges_0_mesh2grid
        batch, latent = grid.shape[1], grid.shape[-1]
        e = ops.broadcast_to(features.expand_dims(1), (features.shape[0], batch, features.shape[-1]))
        e = dec.encoder_edges_mesh2grid(e, c)
        grid_share = update.project_block(grid, 2 * latent, None)
        e_new = update.edge_update_from_parts(
            e, gather_nodes(mesh_share, senders), gather_nodes(grid_share, receivers), c)
        received = aggregate_messages(e_new * weight.reshape((-1, 1, 1)), receivers, self.size)
        if dec.aggregate_normalization is not None:
            received = received / dec.aggregate_normalization
        grid = grid + dec.processor_nodes_0_grid_nodes(ops.concat([grid, received], axis=-1), c)
        raw = dec.decoder_nodes_grid_nodes(grid)
        return self.denoiser.precondition_output(noisy_targets, raw, sigma), raw


class ChunkedDecoder:
    """Decoder + preconditioning of a PreconditionedDenoiser in chunks of grid nodes, each
    with the mesh->grid edges that enter it (module docstring).

    Call: (mesh [M, B, L], grid [G, B, L], c, noisy_targets [G, B, T], sigma [B]) ->
    (denoised, raw) [G, B, T], as BlockwiseDenoiser's decoder.
    """

    def __init__(self, denoiser, max_edges: int, max_grid_nodes: int):
        net = denoiser.network
        self.num_grid = net.num_grid_nodes
        self.grid_chunks, self.grid_size, self.edges = _receiver_chunks(
            net.mesh2grid_edge_features, net.mesh2grid_senders, net.mesh2grid_receivers, self.num_grid,
            max_grid_nodes, max_edges)
        self.share_cell = _DecoderMeshShare(denoiser)
        self.chunk_cell = _DecoderChunk(denoiser, self.grid_size)

    def __call__(self, mesh, grid, c, noisy_targets, sigma):
        sigma = sigma.astype(ms.float32)
        mesh_share = self.share_cell(mesh, c)
        rows_total = self.grid_chunks * self.grid_size
        grid, noisy = _pad_tensor(grid, rows_total), _pad_tensor(noisy_targets, rows_total)
        denoised, raw = [], []
        for i, (features, senders, receivers, weight) in enumerate(self.edges):
            rows = slice(i * self.grid_size, (i + 1) * self.grid_size)
            d, r = self.chunk_cell(features, senders, receivers, weight, mesh_share, grid[rows], noisy[rows], sigma, c)
            denoised.append(d)
            raw.append(r)
        return _concat_rows(denoised, self.num_grid), _concat_rows(raw, self.num_grid)


def _pad_tensor(x, rows: int):
    """[N, ...] -> [rows, ...] with zero rows appended."""
    pad = rows - x.shape[0]
    if pad == 0:
        return x
    return ops.concat([x, ops.zeros((pad,) + tuple(x.shape[1:]), x.dtype)], axis=0)


def _concat_rows(parts, rows: int):
    out = parts[0] if len(parts) == 1 else ops.concat(parts, axis=0)
    return out if out.shape[0] == rows else out[:rows]
