"""Config schemas: YAML round trips, strict keys, checkpoint-equivalent defaults."""

import dataclasses
import math

import numpy as np
import pytest

from mindgencast.config import (
    ConfigError,
    DenoiserArchitectureConfig,
    GenCastConfig,
    SamplerConfig,
    SparseTransformerConfig,
    TaskConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    node_output_size,
    num_target_channels,
    save_config,
)
from mindgencast.config.builtin import builtin_config, builtin_config_names

PUBLISHED = {
    # name: (grid resolution, mesh_size)
    "gencast_0p25deg": (0.25, 6),
    "gencast_0p25deg_operational": (0.25, 6),
    "gencast_1p0deg": (1.0, 5),
    "gencast_1p0deg_mini": (1.0, 4),
}


def test_builtin_configs_are_the_published_models():
    assert set(PUBLISHED) | {"gencast_tiny"} <= set(builtin_config_names())
    for name, (res, mesh) in PUBLISHED.items():
        c = builtin_config(name)
        arch = c.denoiser_architecture_config
        st = arch.sparse_transformer_config
        assert c.grid.resolution == res and arch.mesh_size == mesh, name
        assert (arch.latent_size, st.d_model, st.num_layers, st.num_heads, st.attention_k_hop) == (512, 512, 16, 4, 16)
        assert len(c.task_config.pressure_levels) == 13
        # 6 surface targets + 6 atmospheric variables x 13 levels
        assert num_target_channels(c.task_config) == 6 + 6 * 13


@pytest.mark.parametrize("name", ["gencast_tiny", "gencast_1p0deg_mini", "gencast_0p25deg"])
def test_yaml_round_trip(tmp_path, name):
    c = builtin_config(name)
    save_config(c, tmp_path / "c.yaml")
    again = load_config(tmp_path / "c.yaml")
    assert again == c
    assert config_to_dict(again) == config_to_dict(c)
    assert math.isinf(again.sampler_config.churn_max_noise_level)


def test_tiny_config_matches_the_fixture_checkpoint(fixture_dir):
    """The tiny YAML describes exactly the model stored in the fixture's checkpoint.npz."""
    z = np.load(fixture_dir / "checkpoint.npz", allow_pickle=False)
    c = builtin_config("gencast_tiny")
    arch = c.denoiser_architecture_config
    st = arch.sparse_transformer_config
    assert tuple(int(z[f"task_config:pressure_levels:{i}"]) for i in range(3)) == c.task_config.pressure_levels
    n_in = len([k for k in z.files if k.startswith("task_config:input_variables:")])
    assert tuple(str(z[f"task_config:input_variables:{i}"]) for i in range(n_in)) == c.task_config.input_variables
    prefix = "denoiser_architecture_config:sparse_transformer_config:"
    for field in ("attention_k_hop", "d_model", "num_layers", "num_heads", "ffw_hidden"):
        assert int(z[prefix + field]) == getattr(st, field), field
    assert int(z["denoiser_architecture_config:mesh_size"]) == arch.mesh_size
    assert int(z["denoiser_architecture_config:latent_size"]) == arch.latent_size
    assert int(z["denoiser_architecture_config:node_output_size"]) == num_target_channels(c.task_config) == 24


def test_unknown_key_is_named(tmp_path):
    p = tmp_path / "bad.yaml"
    text = open(_tiny_path()).read()
    p.write_text(text.replace("latent_size:", "latnet_size:"))
    with pytest.raises(ConfigError, match=r"latnet_size.*valid keys are: .*latent_size"):
        load_config(p)
    p.write_text(text.replace("noise_config:", "noise_cfg:"))
    with pytest.raises(ConfigError, match="noise_cfg"):
        load_config(p)


def _tiny_path():
    from mindgencast.config.builtin import builtin_config_dir

    return builtin_config_dir() / "gencast_tiny.yaml"


def test_missing_and_mistyped_keys():
    with pytest.raises(ConfigError, match="missing required key 'mesh_size'"):
        config_from_dict(DenoiserArchitectureConfig, {"sparse_transformer_config": {"attention_k_hop": 2, "d_model": 8}})
    with pytest.raises(ConfigError, match=r"sampler_config.num_noise_levels: expected an integer"):
        config_from_dict(GenCastConfig, {**config_to_dict(builtin_config("gencast_tiny")),
                                         "sampler_config": {"num_noise_levels": "twenty"}})
    with pytest.raises(ConfigError, match="grid resolution"):
        config_from_dict(GenCastConfig, {**config_to_dict(builtin_config("gencast_tiny")), "grid": {"resolution": 7.0}})


def test_configs_are_frozen_and_not_mutated():
    c = builtin_config("gencast_tiny")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.sampler_config.rho = 3.0
    arch = dataclasses.replace(c.denoiser_architecture_config, node_output_size=None)
    assert node_output_size(c.task_config, arch) == 24
    assert arch.node_output_size is None  # derived, never written back
    with pytest.raises(ValueError, match="node_output_size=7"):
        node_output_size(c.task_config, dataclasses.replace(arch, node_output_size=7))


def test_defaults_match_reference():
    s = SamplerConfig()
    assert (s.max_noise_level, s.min_noise_level, s.num_noise_levels, s.rho) == (80.0, 0.03, 20, 7.0)
    assert (s.stochastic_churn_rate, s.churn_min_noise_level, s.noise_level_inflation_factor) == (2.5, 0.75, 1.05)
    st = SparseTransformerConfig(attention_k_hop=16, d_model=512)
    assert (st.num_layers, st.num_heads, st.ffw_hidden, st.attention_type) == (16, 4, 2048, "splash_mha")


def test_dry_task_channels():
    """A dry atmosphere (no humidity, precipitation or SST) derives its own sizes."""
    task = TaskConfig(
        input_variables=("2m_temperature", "temperature", "geopotential", "year_progress_sin"),
        target_variables=("2m_temperature", "temperature", "geopotential"),
        forcing_variables=("year_progress_sin",),
        pressure_levels=(250, 500, 850, 1000),
        input_duration="24h",
    )
    assert num_target_channels(task) == 1 + 2 * 4


def test_the_shipped_demo_checkpoint_has_the_gencast_tiny_wide_architecture():
    """`train --config gencast_tiny_wide` (and `demo --train`) retrain the shipped model's
    architecture: the same task, grid, denoiser, sampler and noise settings as the checkpoint."""
    from mindgencast.checkpoint import load_checkpoint
    from mindgencast.demo import DemoConfig
    from mindgencast.pretrained import pretrained_path

    shipped = load_checkpoint(pretrained_path())
    config = builtin_config(DemoConfig().model)
    assert DemoConfig().model == "gencast_tiny_wide"
    for field in ("task_config", "grid", "sampler_config", "noise_config", "noise_encoder_config"):
        assert getattr(shipped, field) == getattr(config, field), field
    # node_output_size is filled in from the task when a model is built
    arch = dataclasses.replace(shipped.denoiser_architecture_config, node_output_size=None)
    assert arch == config.denoiser_architecture_config
    assert shipped.num_parameters == 736968
    tiny = builtin_config("gencast_tiny")
    assert tiny.task_config == config.task_config and tiny.grid == config.grid  # the demo's task and grid
