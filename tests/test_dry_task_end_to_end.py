"""Task configs are data: a dry atmosphere (no humidity, precipitation or SST) on another grid,
levels and model size goes through data, training, forecasting and evaluation unchanged."""

import dataclasses

import numpy as np
import xarray as xr

from mindgencast.config import GridConfig, TaskConfig, config_to_dict, save_config
from mindgencast.config.builtin import builtin_config
from mindgencast.data.store import write_store
from mindgencast.data.synthetic import SyntheticWorld
from mindgencast.forecast.forecast_job import ForecastJob
from mindgencast.metrics.evaluation import evaluate
from mindgencast.training.job import run_training

DRY = TaskConfig(
    input_variables=("2m_temperature", "temperature", "geopotential", "u_component_of_wind",
                     "v_component_of_wind", "year_progress_sin", "year_progress_cos", "day_progress_sin",
                     "day_progress_cos", "geopotential_at_surface"),
    target_variables=("2m_temperature", "temperature", "geopotential", "u_component_of_wind",
                      "v_component_of_wind"),
    forcing_variables=("year_progress_sin", "year_progress_cos", "day_progress_sin", "day_progress_cos"),
    pressure_levels=(300, 850),
    input_duration="24h",
)


def test_dry_atmosphere_on_5625_degrees(tmp_path):
    tiny = builtin_config("gencast_tiny")
    arch = tiny.denoiser_architecture_config
    st = dataclasses.replace(arch.sparse_transformer_config, d_model=16, num_heads=2, ffw_hidden=32,
                             num_layers=1, attention_k_hop=1)
    config = dataclasses.replace(
        tiny, task_config=DRY, grid=GridConfig(5.625), description="dry test model",
        denoiser_architecture_config=dataclasses.replace(arch, mesh_size=1, latent_size=16,
                                                         sparse_transformer_config=st, node_output_size=None))
    save_config(config, tmp_path / "dry.yaml")

    world = SyntheticWorld(DRY, 5.625, seed=3, time_step="12h")
    world.write_stats(tmp_path / "stats")
    write_store(tmp_path / "store.h5", world.generate("2001-01-01", days=8), DRY)
    history = run_training(str(tmp_path / "dry.yaml"), str(tmp_path / "store.h5"), str(tmp_path / "stats"),
                           str(tmp_path / "ckpt"), steps=4, batch_size=2, warmup_steps=1, log=None)
    assert len(history) == 4 and np.isfinite([h["loss"] for h in history]).all()

    truth = world.generate("2001-02-01", days=3)
    job = ForecastJob.prepare(str(tmp_path / "ckpt"), str(tmp_path / "stats"), truth, init_time="2001-02-01T12")
    assert job.forecaster.model.num_target_channels == 1 + 4 * 2
    job.run(tmp_path / "fc.nc", steps=2, members=2, sampler_steps=2, progress=False)
    forecast = xr.load_dataset(tmp_path / "fc.nc", decode_timedelta=True)
    assert set(forecast.data_vars) >= set(DRY.target_variables)
    assert "specific_humidity" not in forecast and "sea_surface_temperature" not in forecast
    assert list(forecast["level"].values) == [300, 850] and forecast.sizes["lat"] == 33
    scores = evaluate(forecast, truth, regions=("global",))
    assert np.isfinite(scores["temperature"].sel(metric="crps")).all()
    assert config_to_dict(job.forecaster.model.config.task_config)["pressure_levels"] == [300, 850]
