"""The RUN directory: SIGKILL + --resume reproduces an uninterrupted run, refusals, damaged
checkpoints, EMA weights for forecasts, npz export, bad input."""

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mindgencast.checkpoint import load_checkpoint
from mindgencast.checkpoint.npz_format import read_official_npz
from mindgencast.checkpoint.run_layout import step_dirs
from mindgencast.config.io import ConfigError
from mindgencast.training.job import run_training
from mindgencast.training.run_directory import RunDirectory, RunMismatchError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# every setting that changes the numbers; checkpoint_every=2 so a kill lands between checkpoints
SETTINGS = dict(steps=4, batch_size=2, warmup_steps=1, learning_rate=2e-3, ema_decay=0.9, log_every=1,
                checkpoint_every=2, keep=2, seed=3, validation_examples=2)


def _losses(run):
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["loss"]]
    return [int(r["step"]) for r in rows], np.array([float(r["loss"]) for r in rows])


def _state(run):
    step, path = step_dirs(run)[0]
    with np.load(os.path.join(path, "state.npz")) as z:
        return step, {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def reference_run(synthetic_training_data, tmp_path_factory):
    """An uninterrupted 4-step run with EMA and a validation store."""
    data = synthetic_training_data
    root = tmp_path_factory.mktemp("reference")
    from mindgencast.data.store import write_store

    write_store(root / "val.h5", data["world"].generate("2000-03-01", days=4), data["world"].config.task_config)
    run_training("gencast_tiny", str(data["store"]), str(data["stats"]), str(root / "run"), log=None,
                 validation_store=str(root / "val.h5"), **SETTINGS)
    return {"run": str(root / "run"), "val": str(root / "val.h5")}


def test_sigkill_then_resume_reproduces_the_uninterrupted_run(synthetic_training_data, reference_run, tmp_path):
    data, run = synthetic_training_data, str(tmp_path / "run")
    cmd = [sys.executable, "-m", "mindgencast.cli.main", "train", "--store", str(data["store"]),
           "--stats", str(data["stats"]), "--out", run, "--no-progress", "--validation-store", reference_run["val"]]
    flags = {"steps": "--steps", "batch_size": "--batch-size", "warmup_steps": "--warmup-steps",
             "learning_rate": "--lr", "ema_decay": "--ema-decay", "log_every": "--log-every",
             "checkpoint_every": "--checkpoint-every", "keep": "--keep", "seed": "--seed",
             "validation_examples": "--validation-examples"}
    for key, flag in flags.items():
        cmd += [flag, str(SETTINGS[key])]
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not step_dirs(run) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-run: after the first checkpoint, before the last step
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()[-2000:]
    killed_at = step_dirs(run)[0][0]
    assert killed_at < SETTINGS["steps"]
    with pytest.raises(FileExistsError, match="--resume"):  # a plain restart refuses the run
        run_training("gencast_tiny", str(data["store"]), str(data["stats"]), run, log=None, **SETTINGS)

    run_training("gencast_tiny", str(data["store"]), str(data["stats"]), run, resume=True, log=None,
                 validation_store=reference_run["val"], **SETTINGS)
    steps_ref, loss_ref = _losses(reference_run["run"])
    steps_res, loss_res = _losses(run)
    assert steps_res == steps_ref == list(range(SETTINGS["steps"]))
    np.testing.assert_allclose(loss_res, loss_ref, rtol=1e-6)
    (step_a, a), (step_b, b) = _state(reference_run["run"]), _state(run)
    assert step_a == step_b == SETTINGS["steps"] and set(a) == set(b)
    for key in a:  # weights, EMA, Adam moments, optimiser step
        np.testing.assert_allclose(b[key], a[key], rtol=1e-6, atol=1e-7, err_msg=key)
    assert len(step_dirs(run)) == SETTINGS["keep"]


def test_run_directory_contents_and_ema_weights_for_forecasts(reference_run, tmp_path):
    run = reference_run["run"]
    assert {"config.yaml", "metrics.csv", "loss.png", "checkpoints"} <= set(os.listdir(run))
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"step", "loss", "lr", "grad_norm", "samples_per_s", "val_loss"} <= set(rows[0])
    val = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    assert len(val) == 2 and np.isfinite(val).all()  # at steps 2, 4
    assert [s for s, _ in step_dirs(run)] == [4, 2]  # keep=2
    step, state = _state(run)
    ckpt = load_checkpoint(run)  # mg.load_checkpoint(RUN): the latest EMA weights
    assert "EMA" in ckpt.description
    from mindgencast.checkpoint import jax_to_mindspore

    for name, value in ckpt.params.items():  # the trainer's names are the loss cell's: denoiser.<model name>
        np.testing.assert_array_equal(value, state[f"ema/denoiser.{jax_to_mindspore(name)}"])
    assert not all(np.array_equal(v, state[f"param/denoiser.{jax_to_mindspore(n)}"]) for n, v in ckpt.params.items())
    from mindgencast.cli.main import main

    assert main(["convert", "--export", run, str(tmp_path / "trained.npz")]) == 0  # DeepMind's layout, and back
    again = read_official_npz(tmp_path / "trained.npz")
    assert set(again.params) == set(ckpt.params)
    for name in ckpt.params:
        np.testing.assert_array_equal(again.params[name], ckpt.params[name])
    assert again.task_config == ckpt.task_config


def test_damaged_checkpoints_are_skipped_with_a_warning(reference_run, tmp_path):
    import shutil

    run = str(tmp_path / "run")
    shutil.copytree(reference_run["run"], run)
    latest = step_dirs(run)[0][1]
    with open(os.path.join(latest, "state.npz"), "r+b") as f:  # a partial write
        f.truncate(100)
    with pytest.warns(UserWarning, match="step_0000004"):
        arrays, meta = RunDirectory(run).latest_state()
    assert meta["step"] == 2
    os.remove(os.path.join(latest, "model", "model.ckpt"))
    with pytest.warns(UserWarning, match="step 4"):
        ckpt = load_checkpoint(run)
    assert "step 2" in ckpt.description


def test_resume_refuses_empty_foreign_and_different_runs(synthetic_training_data, reference_run, tmp_path):
    data = synthetic_training_data
    args = ("gencast_tiny", str(data["store"]), str(data["stats"]))
    with pytest.raises(RunMismatchError, match="does not exist"):
        run_training(*args, str(tmp_path / "none"), resume=True, log=None, **SETTINGS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunMismatchError, match="is empty"):
        run_training(*args, str(tmp_path / "empty"), resume=True, log=None, **SETTINGS)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(RunMismatchError, match="not a mindgencast training run"):
        run_training(*args, str(tmp_path / "foreign"), resume=True, log=None, **SETTINGS)
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(tmp_path / "foreign")) == ["notes.txt"] and os.listdir(tmp_path / "empty") == []

    run = reference_run["run"]
    before = {n: os.path.getmtime(os.path.join(run, n)) for n in os.listdir(run)}
    with pytest.raises(RunMismatchError, match=r"training\.learning_rate"):
        run_training(*args, run, resume=True, log=None, **dict(SETTINGS, learning_rate=1e-3))
    other_stats = tmp_path / "stats"
    import shutil

    shutil.copytree(data["stats"], other_stats)
    from mindgencast.data.normalization import NormalizationStats

    stats = NormalizationStats.load(other_stats)
    stats.mean_by_level["2m_temperature"] += 1.0
    shutil.rmtree(other_stats)
    stats.save(other_stats)
    with pytest.raises(RunMismatchError, match=r"data\.stats"):
        run_training(args[0], args[1], str(other_stats), run, resume=True, log=None, **SETTINGS)
    with pytest.raises(RunMismatchError, match=r"data\.store"):
        run_training(args[0], reference_run["val"], args[2], run, resume=True, log=None, **SETTINGS)
    assert {n: os.path.getmtime(os.path.join(run, n)) for n in os.listdir(run)} == before


def test_bad_training_input_is_refused_by_name(synthetic_training_data, tmp_path):
    data = synthetic_training_data
    args = ("gencast_tiny", str(data["store"]), str(data["stats"]))
    with pytest.raises(ConfigError, match="ema_decy"):  # unknown key in a run config file
        (tmp_path / "c.yaml").write_text("training:\n  ema_decy: 0.99\n")
        run_training(str(tmp_path / "c.yaml"), *args[1:], str(tmp_path / "o1"), log=None)
    with pytest.raises(ConfigError, match="optimiser"):
        (tmp_path / "d.yaml").write_text("model: {}\noptimiser: {}\n")
        run_training(str(tmp_path / "d.yaml"), *args[1:], str(tmp_path / "o1"), log=None)
    with pytest.raises(ValueError, match="not divisible by 1 worker"):
        run_training(*args, str(tmp_path / "o1"), log=None, batch_size=3, grad_accumulation=2)
    from mindgencast.training.train_config import TrainConfig

    with pytest.raises(ValueError, match="not divisible by 2 worker"):
        TrainConfig(batch_size=3).micro_batch(2)
    # a store for another task: the dry task's store
    import dataclasses

    from mindgencast.config.builtin import builtin_config
    from mindgencast.data.store import write_store

    task = builtin_config("gencast_tiny").task_config
    dry = dataclasses.replace(task, target_variables=tuple(v for v in task.target_variables
                                                           if v != "total_precipitation_12hr"))
    write_store(tmp_path / "other.h5", data["era5"].isel(time=slice(0, 8)), dry)
    with pytest.raises(ValueError, match="another task.*target_variables"):
        run_training(args[0], str(tmp_path / "other.h5"), args[2], str(tmp_path / "o1"), log=None)
    # statistics missing a variable
    from mindgencast.data.normalization import NormalizationStats

    stats = NormalizationStats.load(data["stats"])
    stats = dataclasses.replace(stats, stddev_by_level=stats.stddev_by_level.drop_vars("2m_temperature"))
    stats.save(tmp_path / "stats")
    with pytest.raises(ValueError, match="2m_temperature.*stddev_by_level"):
        run_training(args[0], args[1], str(tmp_path / "stats"), str(tmp_path / "o1"), log=None)
    assert not (tmp_path / "o1").exists()


def test_train_command_runs_in_graph_mode_and_passes_only_given_flags(monkeypatch):
    import mindspore as ms

    from mindgencast.cli.main import main

    seen = {}

    def fake_run_training(**kwargs):
        seen.update(mode=ms.get_context("mode"), kwargs=kwargs)

    monkeypatch.setattr("mindgencast.training.job.run_training", fake_run_training)
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        assert main(["train", "--store", "s.h5", "--stats", "st", "--out", "RUN", "--steps", "3",
                     "--ema-decay", "0.5", "--resume"]) == 0
        assert seen["mode"] == ms.GRAPH_MODE
        first = seen["kwargs"]
        assert first["steps"] == 3 and first["ema_decay"] == 0.5 and first["resume"] is True
        main(["train", "--store", "s.h5", "--stats", "st", "--out", "RUN", "--mode", "pynative"])
        assert seen["mode"] == ms.PYNATIVE_MODE
    finally:
        ms.set_context(mode=ms.GRAPH_MODE)
    kwargs = seen["kwargs"]
    assert "steps" not in kwargs and "batch_size" not in kwargs  # config-file values are not overridden


def test_fine_tuning_starts_from_a_runs_weights_with_its_own_schedule(synthetic_training_data, reference_run,
                                                                      tmp_path):
    data = synthetic_training_data
    start = load_checkpoint(reference_run["run"])  # the reference run's latest EMA weights
    run_training("ignored", str(data["store"]), str(data["stats"]), str(tmp_path / "ft"), log=None,
                 init_checkpoint=reference_run["run"], steps=1, batch_size=1, warmup_steps=4, learning_rate=1e-6)
    tuned = load_checkpoint(tmp_path / "ft")
    (_, lr), = [(r["step"], float(r["lr"])) for r in RunDirectory(tmp_path / "ft").read_metrics()]
    assert lr == pytest.approx(1e-6 / 4)  # this run's warm-up, not the reference's schedule
    assert set(tuned.params) == set(start.params)
    for name, value in start.params.items():  # one AdamW step of lr 2.5e-7 moves a weight by <~ 3e-7
        np.testing.assert_allclose(tuned.params[name], value, rtol=0, atol=1e-5, err_msg=name)
    assert RunDirectory(tmp_path / "ft").read_config()["data"]["init_checkpoint"] == "run"
