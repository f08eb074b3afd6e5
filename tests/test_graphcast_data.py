"""GraphCast's 6-h task through the shared data extraction, and training with the shared step."""

import pathlib

import mindspore as ms
import numpy as np
import xarray as xr

import mindgencast as mg
from mindgencast.data.extraction import extract_inputs_targets_forcings
from mindgencast.data.normalization import normalize
from mindgencast.grid_stacking import stack_to_nodes
from mindgencast.training import TrainConfig, Trainer

GC_DIR = pathlib.Path(__file__).parent / "data" / "graphcast_tiny"


def test_extraction_reproduces_reference_split():
    """DeepMind's extract_inputs_targets_forcings output (inputs/targets/forcings.nc), bit for bit."""
    task = mg.load_checkpoint(GC_DIR / "checkpoint.npz").task_config
    split = extract_inputs_targets_forcings(xr.load_dataset(GC_DIR / "source.nc"), task, slice("6h", "12h"))
    for ours, name in zip(split, ("inputs", "targets", "forcings")):
        ref = xr.load_dataset(GC_DIR / f"{name}.nc")
        assert list(ours.data_vars) == list(ref.data_vars), name
        for v in ref.data_vars:
            np.testing.assert_array_equal(ours[v].transpose(*ref[v].dims).values, ref[v].values, err_msg=v)


def test_shared_train_step_lowers_graphcast_loss():
    """GraphCastLoss has DenoisingLoss's call interface, so the trainer's step cell trains it."""
    model = mg.GraphCast(GC_DIR / "checkpoint.npz", GC_DIR / "stats")
    inputs, targets, forcings = (xr.load_dataset(GC_DIR / f"{n}.nc") for n in ("inputs", "targets", "forcings"))
    target, forcing = targets.isel(time=[0]), forcings.isel(time=[0])
    before = model.loss(inputs, target, forcing)
    cell = model.loss_cell(inputs, target, forcing)
    cond = np.concatenate(
        [
            stack_to_nodes(normalize(inputs, model.stats), 2, 19, 36),
            stack_to_nodes(normalize(forcing, model.stats), 2, 19, 36),
        ],
        axis=-1,
    )
    y = stack_to_nodes(model.normalized_targets(inputs, target), 2, 19, 36)
    trainer = Trainer(cell, TrainConfig(steps=5, batch_size=2, learning_rate=1e-3, warmup_steps=0,
                                        min_learning_rate=1e-3, weight_decay=0.0, max_grad_norm=1.0))
    # Trainer takes batch-major arrays; noise / sigma are unused by GraphCast (zeros).
    batch = (np.swapaxes(cond, 0, 1), np.swapaxes(y, 0, 1), np.zeros((2, cond.shape[0], 0), np.float32),
             np.zeros_like(np.swapaxes(y, 0, 1)), np.zeros((2,), np.float32))
    first = trainer.step([batch])["loss"]
    for _ in range(4):
        last = trainer.step([batch])["loss"]
    np.testing.assert_allclose(first, before.mean(), rtol=1e-5)  # the step's loss is the model's loss
    assert last < 0.9 * first, (first, last)
    after = model.loss(inputs, target, forcing)  # the model object sees the trained weights
    assert after.mean() < 0.9 * before.mean()
    ckpt = model.to_checkpoint()
    assert not np.array_equal(
        ckpt.params["params:mesh_gnn/~_networks_builder/encoder_edges_mesh_mlp/~/linear_0:w"],
        mg.load_checkpoint(GC_DIR / "checkpoint.npz").params[
            "params:mesh_gnn/~_networks_builder/encoder_edges_mesh_mlp/~/linear_0:w"
        ],
    )
    assert ms.get_context("mode") == ms.GRAPH_MODE
