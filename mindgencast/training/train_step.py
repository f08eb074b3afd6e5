"""One optimisation step of the GenCast denoising loss, split into the cells a long run needs.

Karras et al. 2022 (EDM) sec. 5 / GenCast (Price et al. 2024): minimise
E_{sigma ~ p_train, n ~ spherical white noise} lambda(sigma) ||D(y + sigma n; sigma) - y||^2_W.

A step is: :class:`LossGradients` on each micro batch (gradients of the loss times the loss
scale, unscaled), summed over the accumulation steps, then :class:`ReduceGradients`
(``nn.DistributedGradReducer`` under ``ParallelMode.DATA_PARALLEL`` / msrun, and the global
norm), then -- only if that norm is finite (float16 overflow skips the update) --
:class:`ApplyGradients` (clip + optimiser). :class:`EMAUpdate` keeps the weights' average.
Every cell compiles once in GRAPH_MODE; the loss cell is any cell with the
:class:`~mindgencast.denoising_loss.DenoisingLoss` call interface.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import Parameter, ParameterTuple, nn, ops
from mindspore.context import ParallelMode

__all__ = ["LossGradients", "GradientSum", "ReduceGradients", "ApplyGradients", "EMAUpdate", "is_data_parallel"]


def is_data_parallel() -> bool:
    return ms.get_auto_parallel_context("parallel_mode") in (ParallelMode.DATA_PARALLEL,
                                                               ParallelMode.HYBRID_PARALLEL)


class LossGradients(nn.Cell):
    """Batch-mean loss and its gradients with respect to ``weights``.

    Args:
      loss_cell: ``f(conditioning, targets, noise, sigma) -> loss [batch]`` (e.g. DenoisingLoss).
      weights: the trained parameters (float32 master weights).

    Inputs:
      - **conditioning** (Tensor) - [num_grid_nodes, batch, conditioning_channels].
      - **targets**, **noise** (Tensor) - [num_grid_nodes, batch, channels].
      - **sigma** (Tensor) - [batch].
      - **scale** (Tensor) - scalar loss scale (1 unless float16).
    Outputs:
      - **loss** (Tensor) - scalar batch mean (unscaled).
      - **grads** (tuple of Tensor) - d loss / d weights (unscaled; inf/NaN on float16 overflow).
    """

    def __init__(self, loss_cell: nn.Cell, weights):
        super().__init__(auto_prefix=False)
        self.loss_cell = loss_cell
        self.weights = ParameterTuple(weights)
        self.grad = ops.GradOperation(get_by_list=True)

    def _scaled_loss(self, conditioning, targets, noise, sigma, scale):
        return self.loss_cell(conditioning, targets, noise, sigma).mean() * scale

    def construct(self, conditioning, targets, noise, sigma, scale):
        loss = self.loss_cell(conditioning, targets, noise, sigma).mean()
        grads = self.grad(self._scaled_loss, self.weights)(conditioning, targets, noise, sigma, scale)
        grads = tuple(g / scale for g in grads)
        return loss, grads


class GradientSum(nn.Cell):
    """Element-wise a + b of two gradient tuples (gradient accumulation).

    Inputs: **a**, **b** (tuple of Tensor). Outputs: tuple of Tensor.
    """

    def construct(self, a, b):
        return tuple(x + y for x, y in zip(a, b))


class ReduceGradients(nn.Cell):
    """Averages gradients over accumulation steps and data-parallel ranks; their global norm.

    Args:
      weights: the trained parameters (the reducer's layout).
      num_micro_steps: accumulation steps summed into the gradients.

    Inputs: **grads** (tuple of Tensor).
    Outputs: **grads** (tuple of Tensor), **norm** (Tensor, scalar float32).
    """

    def __init__(self, weights, num_micro_steps: int = 1):
        super().__init__(auto_prefix=False)
        self.reduce = is_data_parallel()
        self.reducer = nn.DistributedGradReducer(ParameterTuple(weights), mean=True) if self.reduce else None
        self.inv_micro = 1.0 / num_micro_steps

    def construct(self, grads):
        grads = tuple(g * self.inv_micro for g in grads)
        if self.reduce:
            grads = self.reducer(grads)
        squares = [ops.reduce_sum(g * g) for g in grads]
        return grads, ops.sqrt(ops.addn(squares))


class ApplyGradients(nn.Cell):
    """Global-norm clipping, then the optimiser update.

    Args:
      optimizer: a MindSpore optimiser over the trained parameters.
      max_grad_norm: clip threshold (<= 0 disables).

    Inputs: **grads** (tuple of Tensor), **norm** (Tensor, scalar: their global norm).
    Outputs: **norm** (Tensor), after the update.
    """

    def __init__(self, optimizer: nn.Optimizer, max_grad_norm: float):
        super().__init__(auto_prefix=False)
        self.optimizer = optimizer
        self.max_grad_norm = float(max_grad_norm)

    def construct(self, grads, norm):
        if self.max_grad_norm > 0:
            factor = self.max_grad_norm / ops.maximum(norm, self.max_grad_norm)
            grads = tuple(g * factor for g in grads)
        return ops.depend(norm, self.optimizer(grads))


class EMAUpdate(nn.Cell):
    """ema <- decay * ema + (1 - decay) * w for every trained parameter (float32 copies).

    Inputs: **decay** (Tensor, scalar float32). Outputs: **decay**, after the update.
    """

    def __init__(self, weights):
        super().__init__(auto_prefix=False)
        self.weights = ParameterTuple(weights)
        self.ema = ParameterTuple([Parameter(w.data.copy(), name=f"ema.{w.name}", requires_grad=False)
                                   for w in weights])

    def construct(self, decay):
        for e, w in zip(self.ema, self.weights):
            ops.assign(e, e * decay + w * (1.0 - decay))
        return decay
