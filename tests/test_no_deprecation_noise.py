"""Commands do not print MindSpore's "'identity' is deprecated" warning, and warnings are not muted."""

import mindspore as ms
import numpy as np
from mindspore import nn, ops

from mindgencast.training import TrainConfig, Trainer


class _SquaredError(nn.Cell):
    """Per-example loss of a linear map, with the denoiser loss cell's signature."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(3, 3)

    def construct(self, conditioning, targets, noise, sigma):
        return ((self.dense(conditioning + sigma[:, None] * noise) - targets) ** 2).mean(axis=-1).mean(axis=0)


def test_a_train_step_logs_no_identity_deprecation(capfd, monkeypatch):
    import mindspore.common._decorator as decorator

    monkeypatch.setattr(decorator, "DEPRECATE_SET", set())  # MindSpore warns once per process
    loss_cell = _SquaredError()
    trainer = Trainer(loss_cell, TrainConfig(steps=2, batch_size=2, learning_rate=1e-2, warmup_steps=0,
                                             min_learning_rate=1e-2, weight_decay=0.0))
    x = np.ones((2, 1, 3), np.float32)  # batch-major [batch, nodes, channels]
    batch = (x, x, np.zeros((2, 1, 0), np.float32), x, np.full((2,), 0.5, np.float32))
    first = trainer.step([batch])["loss"]
    second = trainer.step([batch])["loss"]
    assert second < first  # the step trains
    assert "is deprecated" not in capfd.readouterr().err
    # MindSpore's own deprecation messages still reach the user (nothing is muted).
    ops.identity(ms.Tensor(x))
    assert "'identity' is deprecated" in capfd.readouterr().err
