"""Memory controls: recompute leaves the gradients unchanged; float16 with loss scaling keeps
float32 master weights and skips an overflowing step."""

import numpy as np
from mindspore import Tensor

from mindgencast.config.builtin import builtin_config
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.pipeline import TrainingExamples
from mindgencast.model import GenCast
from mindgencast.training.example_stream import ExampleStream
from mindgencast.training.memory import apply_recompute
from mindgencast.training.train_config import TrainConfig
from mindgencast.training.train_step import LossGradients
from mindgencast.training.trainer import Trainer, _node_major


def _setup(data, compute_dtype="float32"):
    stats = NormalizationStats.load(data["stats"])
    examples = TrainingExamples(data["store"], stats)
    model = GenCast(builtin_config("gencast_tiny"), compute_dtype=compute_dtype)
    loss_cell = model.loss_cell(*[d.expand_dims(batch=1) for d in examples.normalized_example(0)])
    stream = ExampleStream(examples, model.config.noise_config, seed=0, length=4)
    batch = [np.stack(column) for column in zip(stream[0], stream[1])]  # two examples
    return loss_cell, batch


def _gradients(loss_cell, batch):
    inputs, targets, forcings, noise, sigma = batch
    cell = LossGradients(loss_cell, loss_cell.trainable_params())
    loss, grads = cell(_node_major(np.concatenate([inputs, forcings], -1)), _node_major(targets),
                       _node_major(noise), Tensor(sigma), Tensor(np.float32(1.0)))
    return float(loss.asnumpy()), [g.asnumpy() for g in grads]


def test_recompute_gives_the_same_gradients(synthetic_training_data):
    loss_cell, batch = _setup(synthetic_training_data)
    loss, grads = _gradients(loss_cell, batch)
    names = apply_recompute(loss_cell.denoiser.network, encoder=True, decoder=True, processor_every=1)
    assert names[:2] == ["grid2mesh_gnn", "mesh2grid_gnn"] and names[2] == "mesh_transformer.blocks.0"
    loss_r, grads_r = _gradients(loss_cell, batch)
    assert loss_r == loss
    assert len(grads_r) == len(grads) and sum(np.abs(g).sum() > 0 for g in grads) > len(grads) // 2
    for g, g_r in zip(grads, grads_r):  # the same float32 ops, recomputed: equal to rounding
        np.testing.assert_allclose(g_r, g, rtol=1e-5, atol=1e-7)


def test_float16_loss_scaling_keeps_float32_master_weights(synthetic_training_data):
    loss_cell, batch = _setup(synthetic_training_data, compute_dtype="float16")
    trainer = Trainer(loss_cell, TrainConfig(steps=3, batch_size=2, precision="float16", initial_loss_scale=1e38,
                                             warmup_steps=1))
    before = [w.asnumpy().copy() for w in trainer.weights]
    row = trainer.step([batch])  # loss x 1e38 overflows: no update, the scale halves
    assert not np.isfinite(row["grad_norm"]) and row["loss_scale"] == 5e37
    for w, b in zip(trainer.weights, before):
        np.testing.assert_array_equal(w.asnumpy(), b)
    inputs, targets, forcings, noise, sigma = batch
    args = (_node_major(np.concatenate([inputs, forcings], -1)), _node_major(targets), _node_major(noise),
            Tensor(sigma))
    _, grads = trainer.gradients(*args, Tensor(np.float32(1.0)))  # unscaled gradients, same compiled cell
    trainer.state.loss_scale = 1024.0
    row = trainer.step([batch])
    assert np.isfinite(row["loss"]) and np.isfinite(row["grad_norm"]) and row["loss_scale"] == 1024.0
    assert all(str(w.dtype) == "Float32" for w in trainer.weights)
    assert any(not np.array_equal(w.asnumpy(), b) for w, b in zip(trainer.weights, before))
    # the unscaled gradients' norm is that of the scale-1 gradients (scaling is exact in powers of two)
    expected = np.sqrt(sum(float((g.asnumpy().astype(np.float64) ** 2).sum()) for g in grads))
    np.testing.assert_allclose(row["grad_norm"], expected, rtol=1e-3)
