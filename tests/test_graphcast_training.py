"""`mindgencast train` trains GraphCast: 6-h examples, its loss, TISR computed for the store,
statistics over 6-h differences, a RUN that forecasts, resume, recompute."""

import pathlib
import shutil

import h5py
import mindspore as ms
import numpy as np
import pytest

import mindgencast as mg
from mindgencast.config.builtin import builtin_config
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.pipeline import TrainingExamples
from mindgencast.data.solar_radiation import toa_incident_solar_radiation
from mindgencast.data.stats import compute_statistics
from mindgencast.data.store import TrainingStore, write_store
from mindgencast.data.synthetic import SyntheticWorld
from mindgencast.graphcast.checkpoint import GraphCastCheckpoint
from mindgencast.training.example_stream import ExampleStream
from mindgencast.training.job import parameter_checksum, run_training

GC_DIR = pathlib.Path(__file__).parent / "data" / "graphcast_tiny"
TISR = "toa_incident_solar_radiation"


@pytest.fixture(scope="module")
def graphcast_world(tmp_path_factory):
    """Ten days of a 6-hourly synthetic world with graphcast_tiny's task (no TISR in the data)."""
    root = tmp_path_factory.mktemp("gc_world")
    config = builtin_config("graphcast_tiny")
    world = SyntheticWorld(config.task_config, 10.0, seed=3, time_step="6h")
    data = world.generate("2000-01-01", days=10)
    assert TISR not in data.data_vars
    task = config.task_config
    names = list(dict.fromkeys(task.input_variables + task.target_variables + task.forcing_variables))
    stats = compute_statistics(data, variables=names, levels=list(task.pressure_levels), difference_step="6h")
    stats.save(root / "stats")
    write_store(root / "store.h5", data, task)
    return {"data": data, "root": root, "stats": root / "stats", "store": root / "store.h5", "config": config}


def test_builtin_graphcast_tiny_is_the_fixture_config():
    ckpt = mg.load_checkpoint(GC_DIR / "checkpoint.npz")
    config = builtin_config("graphcast_tiny")
    assert config.task_config == ckpt.task_config
    assert config.model_config == ckpt.model_config.__class__(**{**ckpt.model_config.__dict__, "resolution": 10.0})
    assert config.model_step == "6h" and builtin_config("gencast_tiny").model_step == "12h"


def test_store_computes_tisr_and_stats_use_6h_differences(graphcast_world):
    data = graphcast_world["data"]
    want = toa_incident_solar_radiation(data["time"].values, data["lat"].values, data["lon"].values)
    with h5py.File(graphcast_world["store"]) as f:
        got = f["variables"][TISR][...]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-3)
    stats = NormalizationStats.load(graphcast_world["stats"])
    assert TISR in stats.mean_by_level.data_vars
    z = data["geopotential"].sel(level=500).values
    diffs6 = float(np.std(z[1:] - z[:-1]))
    diffs12 = float(np.std(z[2:] - z[:-2]))
    got = float(stats.diffs_stddev_by_level["geopotential"].sel(level=500))
    np.testing.assert_allclose(got, diffs6, rtol=1e-4)
    assert abs(got - diffs12) > 0.1 * diffs6  # the 12-h statistic would be a different number


def test_train_from_deepmind_weights_resume_and_forecast(graphcast_world, tmp_path):
    """From DeepMind-format weights: step 0's loss is mg.GraphCast.loss on the same 6-h examples;
    a run cut after its step-2 checkpoint and resumed to 4 steps equals the uninterrupted run;
    the RUN holds a GraphCast checkpoint. (Random initialisation from the built-in config and
    a 6-hourly forecast from a GraphCast RUN: `demo --graphcast`, tests/test_demo.py.)"""
    w = graphcast_world
    args = dict(init_checkpoint=str(GC_DIR / "checkpoint.npz"), steps=4, batch_size=2, learning_rate=3e-3,
                warmup_steps=1, checkpoint_every=2, keep=2, log=None, seed=5)
    straight = run_training("graphcast_tiny", str(w["store"]), str(w["stats"]), str(tmp_path / "a"), **args)

    model = mg.GraphCast(GC_DIR / "checkpoint.npz", w["stats"])
    examples = TrainingExamples(TrainingStore(w["store"]), model.stats, model_step="6h")
    stream = ExampleStream(examples, None, seed=5, length=2)
    losses = []
    for position in range(2):
        inputs, targets, forcings = (d.expand_dims(batch=1) for d in
                                     examples.physical_example(stream.example_index(position)))
        assert targets["time"].values[0] == np.timedelta64(6, "h")
        losses.append(float(model.loss(inputs, targets, forcings)[0]))
    np.testing.assert_allclose(straight[0]["loss"], np.mean(losses), rtol=1e-5)

    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "step_0000004")  # as if killed before step 4 was saved
    resumed = run_training("graphcast_tiny", str(w["store"]), str(w["stats"]), str(tmp_path / "b"), resume=True,
                           **args)
    assert [h["step"] for h in resumed] == [2, 3]
    np.testing.assert_allclose([h["loss"] for h in resumed], [h["loss"] for h in straight[2:]], rtol=1e-6)
    a, b = (mg.load_checkpoint(tmp_path / r) for r in ("a", "b"))
    assert isinstance(a, GraphCastCheckpoint)
    assert set(a.params) == set(mg.load_checkpoint(GC_DIR / "checkpoint.npz").params)
    assert parameter_checksum(a.params) == parameter_checksum(b.params)

    assert ms.get_context("mode") == ms.GRAPH_MODE


def test_recompute_marks_graphcast_processor_steps():
    from mindgencast.graphcast.model import GraphCast
    from mindgencast.training.memory import apply_recompute

    model = GraphCast(builtin_config("graphcast_tiny"), GC_DIR / "stats")
    lat, lon = np.linspace(-90, 90, 19), np.arange(36) * 10.0
    network = model.network_for_grid(lat, lon)
    names = apply_recompute(network, encoder=True, decoder=False, processor_every=2)
    assert names == ["grid2mesh_gnn", "mesh_gnn.edge_steps.0", "mesh_gnn.node_steps.0"]


def test_stats_and_prepare_commands_for_a_graphcast_task(graphcast_world, tmp_path, capsys):
    """`mindgencast stats --config graphcast_tiny` gives the 6-h statistics with TISR computed,
    `prepare --task graphcast_tiny` a store with TISR computed; --config with --levels is refused."""
    from mindgencast.cli.main import main

    source = tmp_path / "world.nc"
    graphcast_world["data"].to_netcdf(source)
    assert main(["stats", "--data", str(source), "--out", str(tmp_path / "stats"), "--config", "graphcast_tiny"]) == 0
    ours, reference = NormalizationStats.load(tmp_path / "stats"), NormalizationStats.load(graphcast_world["stats"])
    for field in ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level"):
        a, b = getattr(ours, field), getattr(reference, field)
        assert sorted(a.data_vars) == sorted(b.data_vars) and TISR in a.data_vars
        for v in b.data_vars:
            np.testing.assert_allclose(a[v].values, b[v].values, rtol=1e-6, err_msg=f"{field} {v}")
    assert main(["prepare", "--data", str(source), "--out", str(tmp_path / "s.h5"), "--task", "graphcast_tiny"]) == 0
    with h5py.File(tmp_path / "s.h5") as f, h5py.File(graphcast_world["store"]) as g:
        np.testing.assert_array_equal(f["variables"][TISR][...], g["variables"][TISR][...])
    capsys.readouterr()
    assert main(["stats", "--data", str(source), "--out", str(tmp_path / "bad"), "--config", "graphcast_tiny",
                 "--levels", "500"]) == 2
    assert "--config sets the variables and levels" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
