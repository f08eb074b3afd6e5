"""Any task config trains without code changes: a dry atmosphere whose static field is
constant (all-zero geopotential_at_surface, stddev 0) normalises it to 0, not NaN."""

import dataclasses

import numpy as np

from mindgencast.config import GridConfig, TaskConfig, save_config
from mindgencast.config.builtin import builtin_config
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.pipeline import TrainingExamples
from mindgencast.data.stats import compute_statistics
from mindgencast.data.store import write_store
from mindgencast.data.synthetic import SyntheticWorld
from mindgencast.training.job import run_training

DRY = TaskConfig(
    input_variables=("2m_temperature", "temperature", "geopotential", "year_progress_sin", "year_progress_cos",
                     "day_progress_sin", "day_progress_cos", "geopotential_at_surface"),
    target_variables=("2m_temperature", "temperature", "geopotential"),
    forcing_variables=("year_progress_sin", "year_progress_cos", "day_progress_sin", "day_progress_cos"),
    pressure_levels=(500, 850),
    input_duration="24h",
)


def test_dry_task_with_a_zero_static_field_trains(tmp_path):
    world = SyntheticWorld(DRY, 5.625, seed=4, time_step="12h")
    data = world.generate("2001-01-01", days=4)
    data["geopotential_at_surface"] = data["geopotential_at_surface"] * 0.0
    stats = compute_statistics(data)
    assert float(stats.stddev_by_level["geopotential_at_surface"]) == 0.0  # the case under test
    stats.save(tmp_path / "stats")
    write_store(tmp_path / "store.h5", data, DRY)
    examples = TrainingExamples(tmp_path / "store.h5", NormalizationStats.load(tmp_path / "stats"))
    inputs, targets, forcings = examples[0]
    assert np.isfinite(inputs).all() and np.isfinite(targets).all()
    normalized = examples.normalized_example(0)[0]["geopotential_at_surface"].values
    np.testing.assert_array_equal(normalized, 0.0)

    tiny = builtin_config("gencast_tiny")
    arch = tiny.denoiser_architecture_config
    st = dataclasses.replace(arch.sparse_transformer_config, d_model=8, num_heads=1, ffw_hidden=16, num_layers=1,
                             attention_k_hop=1)
    config = dataclasses.replace(tiny, task_config=DRY, grid=GridConfig(5.625), denoiser_architecture_config=(
        dataclasses.replace(arch, mesh_size=1, latent_size=8, sparse_transformer_config=st, node_output_size=None)))
    save_config(config, tmp_path / "dry.yaml")
    history = run_training(str(tmp_path / "dry.yaml"), str(tmp_path / "store.h5"), str(tmp_path / "stats"),
                           str(tmp_path / "run"), steps=2, batch_size=1, warmup_steps=1, log=None)
    assert len(history) == 2 and np.isfinite([h["loss"] for h in history]).all()
