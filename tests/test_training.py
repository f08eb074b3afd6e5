"""Training: schedule, loss goes down on held-out data, checkpoints, msrun data parallel."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from mindgencast.checkpoint import load_checkpoint
from mindgencast.config.builtin import builtin_config
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.pipeline import TrainingExamples
from mindgencast.forecaster import Forecaster
from mindgencast.model import GenCast
from mindgencast.training.job import parameter_checksum, run_training
from mindgencast.training.trainer import TrainConfig, learning_rates, train

SIGMAS = np.array([0.3, 1.0, 3.0, 10.0], np.float32)


def test_learning_rate_schedule():
    cfg = TrainConfig(steps=100, learning_rate=1e-3, min_learning_rate=1e-5, warmup_steps=10)
    lr = learning_rates(cfg)
    assert len(lr) == 100
    np.testing.assert_allclose(lr[:10], 1e-3 * np.arange(1, 11) / 10)
    assert lr[10] == pytest.approx(1e-3) and lr[-1] == pytest.approx(1e-5, rel=0.05)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:]))
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)


def _heldout_loss(model, world_data, stats):
    """Loss with fixed sigmas and noise on times after the training period (held out)."""
    era5 = world_data["world"].generate("2000-03-01", days=3)
    from mindgencast.data import example_batch, extract_inputs_targets_forcings, target_lead_times_for

    task = model.task_config
    batch = example_batch(era5, ["2000-03-01T12", "2000-03-02T00", "2000-03-02T12", "2000-03-03T00"], 1, task)
    inputs, targets, forcings = extract_inputs_targets_forcings(batch, task, target_lead_times_for(1))
    from mindgencast.diffusion.spherical_noise import spherical_white_noise_like

    noise = spherical_white_noise_like(targets, np.random.default_rng(123))
    return Forecaster(model, stats).loss(inputs, targets, forcings, noise_levels=SIGMAS, noise=noise)


def test_training_lowers_heldout_loss(synthetic_training_data):
    stats = NormalizationStats.load(synthetic_training_data["stats"])
    model = GenCast(builtin_config("gencast_tiny"))
    examples = TrainingExamples(synthetic_training_data["store"], stats)
    model.loss_cell(*[d.expand_dims(batch=1) for d in examples.normalized_example(0)])
    before = _heldout_loss(model, synthetic_training_data, stats)
    history = train(model, synthetic_training_data["store"], stats,
                    TrainConfig(steps=40, batch_size=4, learning_rate=3e-3, warmup_steps=5, seed=1), log=None)
    after = _heldout_loss(model, synthetic_training_data, stats)
    assert len(history) == 40 and all(np.isfinite(h["loss"]) for h in history)
    # mean over the fixed sigmas; an untrained random network is far from the denoiser optimum
    assert after.mean() < 0.6 * before.mean(), (before, after)


def test_run_training_writes_a_reloadable_checkpoint(synthetic_training_data, tmp_path):
    out = tmp_path / "ckpt"
    history = run_training("gencast_tiny", str(synthetic_training_data["store"]), str(synthetic_training_data["stats"]),
                           str(out), steps=3, batch_size=2, warmup_steps=1, log=None)
    meta = json.loads((out / "history.json").read_text())
    assert meta["ranks"] == 1 and len(meta["history"]) == len(history) == 3
    ckpt = load_checkpoint(out)
    assert ckpt.grid.resolution == 10.0 and "step 3" in ckpt.description
    assert parameter_checksum(ckpt.params) == meta["parameter_checksum"]
    with pytest.raises(FileExistsError, match="not empty"):
        run_training("gencast_tiny", str(synthetic_training_data["store"]), str(synthetic_training_data["stats"]),
                     str(out), steps=1, log=None)
    with pytest.raises(FileNotFoundError, match="prepare"):
        run_training("gencast_tiny", str(tmp_path / "nope.h5"), str(synthetic_training_data["stats"]),
                     str(tmp_path / "o2"), steps=1, log=None)
    with pytest.raises(ValueError, match="neither a file nor a built-in"):
        run_training("gencast_huge", str(synthetic_training_data["store"]), str(synthetic_training_data["stats"]),
                     str(tmp_path / "o3"), steps=1, log=None)
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()


def _final_params(run):
    from mindgencast.checkpoint.run_layout import step_dirs

    step, path = step_dirs(run)[0]
    with np.load(os.path.join(path, "state.npz")) as z:
        return step, {k: z[k] for k in z.files if k.startswith("param/")}


def test_msrun_data_parallel_equals_one_process_on_the_union_batch(synthetic_training_data, tmp_path):
    """Two CPU ranks each take half of every global batch (their own examples and noise);
    identical weights on both ranks prove the all-reduce, and equality with one process on
    the whole batch (and with gradient accumulation over two micro batches) proves the
    gradients are the union batch's mean."""
    bindir = os.path.dirname(sys.executable)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), PYTHONPATH=root)
    script = os.path.join(root, "scripts", "train.py")
    out, logs = tmp_path / "dp", tmp_path / "logs"
    data = [str(synthetic_training_data["store"]), str(synthetic_training_data["stats"])]
    cmd = [os.path.join(bindir, "msrun"), "--worker_num=2", "--local_worker_num=2", "--master_addr=127.0.0.1",
           "--master_port=8437", "--join=True", f"--log_dir={logs}", script, "--store", data[0], "--stats", data[1],
           "--out", str(out), "--steps", "2", "--batch-size", "2", "--warmup-steps", "1", "--data-parallel",
           "--no-progress"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    worker_logs = {r: (logs / f"worker_{r}.log").read_text() for r in (0, 1)}
    assert result.returncode == 0, result.stdout[-2000:] + worker_logs[0][-2000:] + worker_logs[1][-2000:]
    sums = {r: re.search(r"rank \d: parameter checksum (\w+)", text).group(1) for r, text in worker_logs.items()}
    meta = json.loads((out / "history.json").read_text())
    assert meta["ranks"] == 2
    assert sums[0] == sums[1] == meta["parameter_checksum"]
    assert "wrote" in worker_logs[0] and "wrote" not in worker_logs[1]  # only rank 0 writes

    step, dp = _final_params(out)
    for name, kwargs in (("single", {}), ("accumulated", {"grad_accumulation": 2})):
        run_training("gencast_tiny", *data, str(tmp_path / name), steps=2, batch_size=2, warmup_steps=1,
                     log=None, **kwargs)
        step_1, single = _final_params(tmp_path / name)
        assert step_1 == step == 2 and set(single) == set(dp)
        for key in dp:
            np.testing.assert_allclose(dp[key], single[key], rtol=0, atol=1e-6, err_msg=f"{name}: {key}")


def test_small_noise_fraction_mixes_a_log_uniform_range_into_the_sigmas(synthetic_training_data):
    """TrainConfig.small_noise_*: that fraction of examples draws sigma log-uniformly from
    [min training sigma, small_noise_max]; fraction 0 leaves GenCast's draws untouched."""
    from mindgencast.training.example_stream import ExampleStream

    stats = NormalizationStats.load(synthetic_training_data["stats"])
    examples = TrainingExamples(synthetic_training_data["store"], stats)
    noise = builtin_config("gencast_tiny").noise_config
    plain = ExampleStream(examples, noise, seed=4, length=400)
    off = ExampleStream(examples, noise, seed=4, length=400, small_noise=(0.0, 1.0))
    mixed = ExampleStream(examples, noise, seed=4, length=400, small_noise=(0.5, 1.0))
    positions = range(0, 400, 2)
    s_plain = np.array([plain[p][4] for p in positions])
    np.testing.assert_array_equal(s_plain, [off[p][4] for p in positions])
    s_mixed = np.array([mixed[p][4] for p in positions])
    changed = s_mixed != s_plain
    assert 0.35 < changed.mean() < 0.65  # about half the examples
    low = noise.training_min_noise_level
    assert (s_mixed[changed] >= low * (1 - 1e-6)).all() and (s_mixed[changed] <= 1.0 * (1 + 1e-6)).all()
    # log-uniform: the log sigmas of the replaced draws spread evenly over [log 0.02, log 1]
    u = (np.log(s_mixed[changed]) - np.log(low)) / -np.log(low)
    assert abs(u.mean() - 0.5) < 0.1 and (u < 0.25).mean() > 0.12
    with pytest.raises(ValueError, match="small_noise_fraction"):
        TrainConfig(small_noise_fraction=1.5)
