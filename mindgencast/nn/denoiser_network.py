"""The GenCast denoiser network F_theta and its EDM preconditioning D_theta.

Karras et al. 2022 (EDM), eq. 7:  D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x; sigma)
with sigma_data = 1 as in GenCast (Price et al. 2024):
c_skip = 1 / (sigma^2 + 1),  c_out = sigma / sqrt(sigma^2 + 1),  c_in = 1 / sqrt(sigma^2 + 1).

F is encoder (grid -> mesh interaction network) -> processor (sparse mesh transformer)
-> decoder (mesh -> grid interaction network + output MLP), every layer norm
conditioned on the Fourier-MLP encoding of sigma. Graph structure (indices and
structural features) is fixed per grid and stored in the cell as constants.
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from mindgencast.config import DenoiserArchitectureConfig, NoiseEncoderConfig
from mindgencast.diffusion.preconditioning import c_in, c_out, c_skip
from mindgencast.graphs.attention_blocks import attention_blocks
from mindgencast.graphs.attention_cost import plan_attention
from mindgencast.nn.interaction_network import Grid2MeshEncoder, Mesh2GridDecoder
from mindgencast.nn.noise_encoder import FourierFeaturesMLP
from mindgencast.nn.sparse_transformer import MASKED_LOGIT, MeshTransformer

__all__ = ["DenoiserNetwork", "PreconditionedDenoiser"]


def _const(array, dtype):
    return Tensor(np.ascontiguousarray(array).astype(dtype))


class DenoiserNetwork(nn.Cell):
    """F_theta: grid node channels + sigma -> raw output channels.

    Args:
      arch: the architecture config (its ``node_output_size`` must be set or derived).
      noise_encoder_config: the sigma encoder config.
      graphs: an object with the graph arrays (see :class:`mindgencast.graphs.GenCastGraphs`):
        grid_node_features, mesh_node_features, grid2mesh_{senders,receivers,edge_features},
        mesh2grid_{senders,receivers,edge_features}, attention_neighbours, attention_neighbour_mask.
      num_input_channels: channels per grid node fed to the network (inputs, forcings and
        noisy targets; structural features are added here).
      node_output_size: output channels per grid node.
      attention_implementation: "banded" (block-banded matmuls on the RCM-ordered mesh),
        "gather" (neighbour lists) or "auto" (the cheaper by the cost model of
        :mod:`mindgencast.graphs.attention_cost`); all exact.

    Inputs:
      - **x** (Tensor) - [num_grid_nodes, batch, num_input_channels] float32.
      - **sigma** (Tensor) - [batch] float32 noise levels.
    Outputs:
      - Tensor [num_grid_nodes, batch, node_output_size] float32.
    """

    def __init__(self, arch: DenoiserArchitectureConfig, noise_encoder_config: NoiseEncoderConfig, graphs,
                 num_input_channels: int, node_output_size: int, compute_dtype=ms.float32,
                 attention_implementation: str = "auto"):
        super().__init__()
        st = arch.sparse_transformer_config
        if st.d_model != arch.latent_size:
            raise ValueError(
                f"sparse_transformer_config.d_model={st.d_model} must equal latent_size={arch.latent_size} "
                "(the mesh latents enter the transformer unprojected)")
        unsupported = set(arch.norm_conditioning_features) - {"noise_level_encodings"}
        if unsupported:
            raise ValueError(f"norm_conditioning_features {sorted(unsupported)} are not supported; "
                             "GenCast conditions only on 'noise_level_encodings'")
        cond_size = noise_encoder_config.output_sizes[-1]
        num_grid = graphs.grid_node_features.shape[0]
        num_mesh = graphs.mesh_node_features.shape[0]
        self.noise_encoder = FourierFeaturesMLP(noise_encoder_config)
        self.grid2mesh_gnn = Grid2MeshEncoder(
            num_input_channels=num_input_channels,
            num_structural_node_features=graphs.grid_node_features.shape[1],
            num_edge_features=graphs.grid2mesh_edge_features.shape[1],
            latent_size=arch.latent_size, hidden_layers=arch.hidden_layers, cond_size=cond_size,
            num_mesh_nodes=num_mesh, aggregate_normalization=arch.grid2mesh_aggregate_normalization,
            compute_dtype=compute_dtype)
        plan, index, mask = _attention_layout(graphs, st, attention_implementation)
        self.attention_plan = plan
        self.attention_implementation = plan.implementation
        self.mesh_transformer = MeshTransformer(st, cond_size, compute_dtype, plan.implementation)
        self.mesh2grid_gnn = Mesh2GridDecoder(
            num_edge_features=graphs.mesh2grid_edge_features.shape[1], latent_size=arch.latent_size,
            hidden_layers=arch.hidden_layers, node_output_size=node_output_size, cond_size=cond_size,
            num_grid_nodes=num_grid, compute_dtype=compute_dtype)
        f32, i32 = np.float32, np.int32
        self.grid_node_features = _const(graphs.grid_node_features, f32)
        self.mesh_node_features = _const(graphs.mesh_node_features, f32)
        self.grid2mesh_senders = _const(graphs.grid2mesh_senders, i32)
        self.grid2mesh_receivers = _const(graphs.grid2mesh_receivers, i32)
        self.grid2mesh_edge_features = _const(graphs.grid2mesh_edge_features, f32)
        self.mesh2grid_senders = _const(graphs.mesh2grid_senders, i32)
        self.mesh2grid_receivers = _const(graphs.mesh2grid_receivers, i32)
        self.mesh2grid_edge_features = _const(graphs.mesh2grid_edge_features, f32)
        self.attention_index = _const(index, i32)
        self.attention_mask = Tensor(mask)
        self.num_grid_nodes = num_grid
        self.num_input_channels = num_input_channels
        self.node_output_size = node_output_size

    def construct(self, x, sigma):
        c = self.noise_encoder(sigma)
        mesh, grid = self.grid2mesh_gnn(x, self.grid_node_features, self.mesh_node_features,
                                        self.grid2mesh_edge_features, self.grid2mesh_senders,
                                        self.grid2mesh_receivers, c)
        mesh = self.mesh_transformer(mesh, c, self.attention_index, self.attention_mask)
        return self.mesh2grid_gnn(mesh, grid, self.mesh2grid_edge_features, self.mesh2grid_senders,
                                  self.mesh2grid_receivers, c)


def _attention_layout(graphs, config, implementation: str):
    """(plan, index, mask) for the mesh attention: ``auto`` takes the form, and ``banded`` the
    block size, that the cost model of the k-hop mask rates cheapest (graphs/attention_cost.py)."""
    if implementation not in ("auto", "banded", "gather"):
        raise ValueError(f"attention_implementation {implementation!r} must be 'auto', 'banded' or 'gather'")
    neighbours, mask = graphs.attention_neighbours, graphs.attention_neighbour_mask
    allowed = ("banded", "gather") if implementation == "auto" else (implementation,)
    plan = plan_attention(neighbours, mask, config.d_model, config.num_heads, allowed)
    if plan.implementation == "gather":
        return plan, neighbours, mask
    blocks = attention_blocks(neighbours, mask, plan.block_size)
    return plan, blocks.window_index, np.where(blocks.mask, 0.0, MASKED_LOGIT).astype(np.float32)


class PreconditionedDenoiser(nn.Cell):
    """D_theta(x; sigma) = c_skip x + c_out F(c_in x; sigma), conditioned on the inputs.

    The network sees the conditioning channels (inputs and forcings) and the scaled
    noisy targets, reordered to the reference's channel order by ``channel_order``.

    Args:
      network: a :class:`DenoiserNetwork`.
      channel_order: [num_input_channels] int permutation taking
        ``concat([conditioning, c_in * noisy_targets])`` to the network's channel order.
      sigma_data: EDM's data standard deviation (1 for GenCast's normalised residuals).

    Inputs:
      - **conditioning** (Tensor) - [num_grid_nodes, batch, num_conditioning_channels].
      - **noisy_targets** (Tensor) - [num_grid_nodes, batch, node_output_size], x = y + sigma n.
      - **sigma** (Tensor) - [batch].
    Outputs:
      - **denoised** (Tensor) - [num_grid_nodes, batch, node_output_size], D(x; sigma).
      - **raw** (Tensor) - the same shape, F's output.
    """

    def __init__(self, network: DenoiserNetwork, channel_order: np.ndarray, sigma_data: float = 1.0):
        super().__init__()
        self.network = network
        self.channel_order = _const(channel_order, np.int32)
        self.sigma_data = sigma_data

    def network_input(self, conditioning, noisy_targets, sigma):
        """F's input x [num_grid_nodes, batch, num_input_channels]: conditioning and c_in * noisy targets."""
        per_batch = (1, -1, 1)  # sigma [batch] against [nodes, batch, channels]
        scaled = noisy_targets * c_in(sigma, self.sigma_data).reshape(per_batch)
        return ops.gather(ops.concat([conditioning, scaled], axis=-1), self.channel_order, 2)

    def precondition_output(self, noisy_targets, raw, sigma):
        """D = c_skip * x + c_out * F, [num_grid_nodes, batch, node_output_size]."""
        per_batch = (1, -1, 1)
        return (noisy_targets * c_skip(sigma, self.sigma_data).reshape(per_batch)
                + raw * c_out(sigma, self.sigma_data).reshape(per_batch))

    def construct(self, conditioning, noisy_targets, sigma):
        sigma = sigma.astype(ms.float32)
        raw = self.network(self.network_input(conditioning, noisy_targets, sigma), sigma)
        return self.precondition_output(noisy_targets, raw, sigma), raw
