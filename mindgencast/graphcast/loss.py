"""GraphCast's training loss: latitude-, level- and variable-weighted MSE in normalised space.

Lam et al., *Science* 2023, eq. (19) / Supplement "Training objective"; reference
``graphcast.GraphCast.loss`` -> ``losses.weighted_mse_per_level``. Per variable ``v``::

    L_v = mean_{time, level, lat, lon} (yhat - y)^2 * a(lat) * w(level)
    loss = sum_v lambda_v L_v

with ``a`` the normalised latitude weights (cos(lat) sin(dlat/2), sin^2(dlat/4) on pole
rows, unit mean), ``w(level) = level / mean(level)`` and ``lambda_v`` below. All weights
are fixed per (grid node, channel), so the weight matrix is GenCast's
``channel_loss_weights`` with GraphCast's variable weights.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from mindspore import Tensor, nn

from mindgencast.denoising_loss import channel_loss_weights

__all__ = ["GRAPHCAST_PER_VARIABLE_WEIGHTS", "graphcast_loss_weights", "GraphCastLoss"]

# graphcast.GraphCast.loss; any other variable weighs 1.
GRAPHCAST_PER_VARIABLE_WEIGHTS = {
    "2m_temperature": 1.0,
    "10m_u_component_of_wind": 0.1,
    "10m_v_component_of_wind": 0.1,
    "mean_sea_level_pressure": 0.1,
    "total_precipitation_6hr": 0.1,
}


def graphcast_loss_weights(targets_template: xr.Dataset, per_variable_weights=None) -> np.ndarray:
    """W [num_lat * num_lon, channels] float32 with loss = sum(W * err^2) (sorted target channels)."""
    weights = GRAPHCAST_PER_VARIABLE_WEIGHTS if per_variable_weights is None else per_variable_weights
    return channel_loss_weights(targets_template, weights)


class GraphCastLoss(nn.Cell):
    """Per-example one-step GraphCast loss, with the trainer's call interface.

    Args:
      network: a :class:`~mindgencast.graphcast.network.GraphCastNetwork`.
      weights: [num_grid_nodes, channels] from :func:`graphcast_loss_weights`.

    Inputs:
      - **conditioning** (Tensor) - [num_grid_nodes, batch, channels_in], normalised inputs | forcings.
      - **targets** (Tensor) - [num_grid_nodes, batch, channels], normalised target residuals.
      - **noise**, **sigma** - ignored (GraphCast is deterministic); present so that
        ``DenoiserTrainStep`` can drive this cell like GenCast's ``DenoisingLoss``.
    Outputs:
      - Tensor [batch], the weighted MSE.
    """

    def __init__(self, network: nn.Cell, weights: np.ndarray):
        super().__init__()
        self.network = network
        self.weights = Tensor(weights.astype(np.float32))

    def construct(self, conditioning, targets, noise=None, sigma=None):
        err = self.network(conditioning) - targets
        return (err * err * self.weights.expand_dims(1)).sum(axis=2).sum(axis=0)
