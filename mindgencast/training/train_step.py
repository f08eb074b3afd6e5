"""One optimisation step of the GenCast denoising loss, data-parallel ready.

Karras et al. 2022 (EDM) sec. 5 / GenCast (Price et al. 2024): minimise
E_{sigma ~ p_train, n ~ spherical white noise} lambda(sigma) ||D(y + sigma n; sigma) - y||^2_W.
Under ``ParallelMode.DATA_PARALLEL`` (msrun) every rank computes gradients on its own
shard and ``nn.DistributedGradReducer`` averages them before the update; a hand-written
step needs it explicitly (``TrainOneStepCell`` would insert it for us, but we also clip).
"""

from __future__ import annotations

import mindspore as ms
from mindspore import nn, ops
from mindspore.context import ParallelMode

__all__ = ["DenoiserTrainStep"]


class DenoiserTrainStep(nn.Cell):
    """Forward, backward, (all-reduce), global-norm clipping, optimiser update.

    Args:
      loss_cell: a :class:`~mindgencast.denoising_loss.DenoisingLoss`.
      optimizer: a MindSpore optimiser over ``loss_cell.trainable_params()``.
      max_grad_norm: clip the global gradient norm to this value (<= 0 disables).

    Inputs:
      - **conditioning**, **targets**, **noise**, **sigma** - as ``DenoisingLoss``.
    Outputs:
      - **loss** (Tensor) - scalar, the batch-mean loss on this rank.
    """

    def __init__(self, loss_cell: nn.Cell, optimizer: nn.Optimizer, max_grad_norm: float = 1.0):
        super().__init__(auto_prefix=False)
        self.loss_cell = loss_cell
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.grad = ops.GradOperation(get_by_list=True)
        self.max_grad_norm = max_grad_norm
        parallel = ms.get_auto_parallel_context("parallel_mode")
        self.reduce = parallel in (ParallelMode.DATA_PARALLEL, ParallelMode.HYBRID_PARALLEL)
        # No reducer on one rank (ops.identity is deprecated and logs a warning).
        self.grad_reducer = nn.DistributedGradReducer(self.weights, mean=True) if self.reduce else None

    def _mean_loss(self, conditioning, targets, noise, sigma):
        return self.loss_cell(conditioning, targets, noise, sigma).mean()

    def construct(self, conditioning, targets, noise, sigma):
        loss = self._mean_loss(conditioning, targets, noise, sigma)
        grads = self.grad(self._mean_loss, self.weights)(conditioning, targets, noise, sigma)
        if self.reduce:
            grads = self.grad_reducer(grads)
        if self.max_grad_norm > 0:
            grads = ops.clip_by_global_norm(grads, self.max_grad_norm)
        loss = ops.depend(loss, self.optimizer(grads))
        return loss
