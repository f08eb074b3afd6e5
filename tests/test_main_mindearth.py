"""main.py in MindSpore Earth's style: strict YAML sections, then train and test the tiny model."""

import os
import runpy
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
import yaml

from mindgencast.checkpoint.run_layout import is_run_dir, step_dirs
from mindgencast.config.io import ConfigError
from mindgencast.config.mindearth_yaml import AppConfig, load_app_config
from mindgencast.training.trainer import TrainConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO_CONFIG = os.path.join(REPO, "configs", "mindearth", "gencast_tiny.yaml")


def _write(tmp_path, data, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_shipped_configs_load_and_map_onto_train_config():
    for name in sorted(os.listdir(os.path.dirname(ZOO_CONFIG))):
        app = load_app_config(os.path.join(os.path.dirname(ZOO_CONFIG), name))
        train = TrainConfig(**app.train_config_kwargs())
        assert train.learning_rate == app.optimizer.learning_rate
        assert train.steps == app.train.steps and train.batch_size == app.train.batch_size
    with open(ZOO_CONFIG) as f:
        assert set(yaml.safe_load(f)) == {"model", "data", "optimizer", "summary", "train"}


def test_unknown_key_is_an_error_naming_it(tmp_path):
    with open(ZOO_CONFIG) as f:
        data = yaml.safe_load(f)
    data["optimizer"]["learnig_rate"] = 1e-3
    with pytest.raises(ConfigError, match="learnig_rate"):
        load_app_config(_write(tmp_path, data))
    data = {"modle": {}}
    with pytest.raises(ConfigError, match="modle"):
        load_app_config(_write(tmp_path, data))
    with pytest.raises(ConfigError, match="optimizer.name"):
        load_app_config(_write(tmp_path, {"optimizer": {"name": "sgd"}}))


def test_main_rejects_bad_config_before_any_work(tmp_path):
    bad = _write(tmp_path, {"train": {"stpes": 3}})
    out = tmp_path / "summary"
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "main.py"),
            "--config_file_path",
            bad,
            "--device_target",
            "CPU",
            "--output_dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    assert result.returncode != 0 and "stpes" in result.stderr
    assert not out.exists()


def test_main_test_mode_without_checkpoint_says_train_first(tmp_path):
    path = _write(tmp_path, {"summary": {"summary_dir": str(tmp_path / "s")}})
    main = runpy.run_path(os.path.join(REPO, "main.py"), run_name="not_main")["main"]
    with pytest.raises(FileNotFoundError, match="--mode train"):
        main(["--config_file_path", path, "--device_target", "CPU", "--mode", "test"])


def test_main_trains_then_tests_the_tiny_model(tmp_path):
    with open(ZOO_CONFIG) as f:
        data = yaml.safe_load(f)
    data["data"]["train_days"] = 12
    data["train"].update(steps=4, batch_size=2, forecast_steps=1, members=2, sampler_steps=2)
    data["summary"].update(summary_dir=str(tmp_path / "summary"), log_every=2)
    path = _write(tmp_path, data)
    main = runpy.run_path(os.path.join(REPO, "main.py"), run_name="not_main")["main"]
    assert main(["--config_file_path", path, "--device_target", "CPU", "--mode", "train"]) == 0
    app = load_app_config(path)
    assert isinstance(app, AppConfig)
    # The checkpoint directory is a training RUN with at least one complete checkpoint.
    assert is_run_dir(app.checkpoint_dir()) and step_dirs(app.checkpoint_dir())
    assert main(["--config_file_path", path, "--device_target", "CPU", "--mode", "test"]) == 0
    test_dir = tmp_path / "summary" / "test"
    forecast = xr.load_dataset(test_dir / "forecast.nc", decode_timedelta=True)
    assert forecast.sizes["member"] == 2 and forecast.sizes["lead_time"] == 1
    scores = xr.load_dataset(test_dir / "scores.nc", decode_timedelta=True)
    crps = scores["2m_temperature"].sel(metric="crps", region="global").values
    assert np.all(np.isfinite(crps)) and np.all(crps > 0)
    assert sorted(p.name for p in test_dir.glob("*.png"))
