"""GenCast's training loss: latitude-, level- and variable-weighted MSE of D, times lambda(sigma).

Price et al. 2024 (GenCast), eq. for the training objective; Karras et al. 2022 (EDM)
eq. 8: loss = lambda(sigma) * E || D(y + sigma n; sigma) - y ||^2 with
lambda(sigma) = 1 / c_out(sigma)^2 = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2.
The squared error is averaged over grid points with area weights (unit mean), over
levels with weights proportional to pressure (unit mean), and summed over variables
with GenCast's per-variable weights (reference: ``losses.weighted_mse_per_level``).
Because every weight is fixed per (grid node, channel), the whole average is one
weight matrix W [num_grid_nodes, channels] and loss_b = lambda(sigma_b) sum W * err^2.
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
import xarray as xr
from mindspore import Tensor, nn

from mindgencast.diffusion.preconditioning import c_out
from mindgencast.metrics.latitude_weights import latitude_weights

__all__ = ["GENCAST_PER_VARIABLE_WEIGHTS", "channel_loss_weights", "DenoisingLoss"]

# GenCast's per-variable weights (gencast.py); any other variable weighs 1.
GENCAST_PER_VARIABLE_WEIGHTS = {
    "2m_temperature": 1.0,
    "10m_u_component_of_wind": 0.1,
    "10m_v_component_of_wind": 0.1,
    "mean_sea_level_pressure": 0.1,
    "sea_surface_temperature": 0.1,
    "total_precipitation_12hr": 0.1,
}


def channel_loss_weights(targets_template: xr.Dataset, per_variable_weights=None) -> np.ndarray:
    """W [num_lat * num_lon, channels] (float32) such that the weighted MSE is sum(W * err^2).

    Args:
      targets_template: targets structure (batch, time, [level,] lat, lon), sorted-channel layout.
      per_variable_weights: name -> weight (default GenCast's); missing names weigh 1.
    """
    weights = GENCAST_PER_VARIABLE_WEIGHTS if per_variable_weights is None else per_variable_weights
    # cell-area weights with unit mean: the reference's normalized_latitude_weights (cos(lat),
    # half-cell sin^2(d/4) at the poles) is the same sin-difference formula
    lat_w = latitude_weights(targets_template["lat"].values).values
    num_lat, num_lon = targets_template.sizes["lat"], targets_template.sizes["lon"]
    node_w = np.repeat(lat_w, num_lon) / (num_lat * num_lon)  # mean over grid nodes
    columns = []
    for name in sorted(targets_template.data_vars):
        var = targets_template[name]
        other = [d for d in var.dims if d not in ("batch", "lat", "lon")]
        per_channel = np.ones([var.sizes[d] for d in other]) if other else np.ones(())
        if "level" in other:
            level = var["level"].values.astype(np.float64)
            shape = [1] * len(other)
            shape[other.index("level")] = -1
            per_channel = per_channel * (level / level.mean()).reshape(shape)
        per_channel = per_channel / per_channel.size  # mean over time/level
        columns.append(np.ravel(per_channel) * weights.get(name, 1.0))
    channel_w = np.concatenate(columns)
    return (node_w[:, None] * channel_w[None, :]).astype(np.float32)


class DenoisingLoss(nn.Cell):
    """Per-example GenCast loss.

    Args:
      denoiser: a :class:`~mindgencast.nn.denoiser_network.PreconditionedDenoiser`.
      weights: [num_grid_nodes, channels] from :func:`channel_loss_weights`.

    Inputs:
      - **conditioning** (Tensor) - [num_grid_nodes, batch, conditioning_channels].
      - **targets** (Tensor) - [num_grid_nodes, batch, channels], clean normalised residuals y.
      - **noise** (Tensor) - unit-variance noise n, same shape.
      - **sigma** (Tensor) - [batch].
    Outputs:
      - Tensor [batch], lambda(sigma) * weighted MSE(D(y + sigma n; sigma), y).
    """

    def __init__(self, denoiser, weights: np.ndarray):
        super().__init__()
        self.denoiser = denoiser
        self.weights = Tensor(weights.astype(np.float32))

    def construct(self, conditioning, targets, noise, sigma):
        sigma = sigma.astype(ms.float32)
        noisy = targets + noise * sigma.reshape((1, -1, 1))
        denoised, _ = self.denoiser(conditioning, noisy, sigma)
        err = denoised - targets
        mse = (err * err * self.weights.expand_dims(1)).sum(axis=2).sum(axis=0)
        return mse / c_out(sigma, self.denoiser.sigma_data) ** 2  # lambda(sigma) = c_out^-2
