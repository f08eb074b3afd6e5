"""Checkpoints: official .npz reading, JAX<->MindSpore names, conversion round trips, bad files."""

import dataclasses
import os

import numpy as np
import pytest

from mindgencast.checkpoint import (
    CheckpointError,
    convert_checkpoint,
    export_npz,
    jax_to_mindspore,
    load_checkpoint,
    mindspore_to_jax,
)
from mindgencast.cli.main import main
from mindgencast.config import GridConfig
from mindgencast.model import DataMismatchError, GenCast


def test_every_parameter_name_maps_both_ways(tiny_checkpoint, reference_graph_builder, fixture_dir):
    """Each JAX key maps to exactly one MindSpore parameter of the built model, and back."""
    from conftest import load_nc

    names = {jax_to_mindspore(k): k for k in tiny_checkpoint.params}
    assert len(names) == len(tiny_checkpoint.params) == 96
    assert all(mindspore_to_jax(ms) == jax for ms, jax in names.items())
    model = GenCast(tiny_checkpoint, graph_builder=reference_graph_builder)
    inputs = load_nc(fixture_dir / "denoiser_inputs.nc")
    grid_model = model._grid_model(inputs, load_nc(fixture_dir / "denoiser_forcings.nc"),
                                   load_nc(fixture_dir / "noisy_targets.nc"))
    own = dict(grid_model.denoiser.parameters_and_names())
    assert set(own) == set(names)
    for ms_name, p in own.items():
        np.testing.assert_array_equal(p.asnumpy(), tiny_checkpoint.params[names[ms_name]])


def test_npz_configs_load_typed(tiny_checkpoint):
    c = tiny_checkpoint
    assert c.task_config.pressure_levels == (500, 700, 850)
    assert c.denoiser_architecture_config.sparse_transformer_config.attention_type == "triblockdiag_mha"
    assert c.sampler_config.churn_max_noise_level == float("inf")
    assert c.noise_encoder_config.output_sizes == (32, 16)
    assert c.num_parameters == 66408
    assert c.license == "Apache-2.0" and "random weights" in c.description


def test_round_trip_npz_mindspore_npz_is_bit_exact(tmp_path, fixture_dir):
    src = fixture_dir / "checkpoint.npz"
    convert_checkpoint(str(src), str(tmp_path / "ms"), grid=GridConfig(10.0))
    back = load_checkpoint(tmp_path / "ms")
    assert back.grid == GridConfig(10.0)
    export_npz(back, str(tmp_path / "again.npz"))
    a, b = np.load(src), np.load(tmp_path / "again.npz")
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_convert_cli_and_grid_from_name(tmp_path, fixture_dir):
    named = tmp_path / "GenCast 10p0deg tiny.npz"
    named.write_bytes((fixture_dir / "checkpoint.npz").read_bytes())
    assert main(["convert", str(named), str(tmp_path / "out")]) == 0
    assert load_checkpoint(tmp_path / "out").grid == GridConfig(10.0)
    # no grid in the name and none given: refused, nothing written
    assert main(["convert", str(fixture_dir / "checkpoint.npz"), str(tmp_path / "out2")]) == 2
    assert not (tmp_path / "out2").exists()
    # an existing non-empty output directory is never overwritten
    assert main(["convert", str(named), str(tmp_path / "out")]) == 2


def test_converted_checkpoint_refuses_another_grid(tmp_path, fixture_dir, reference_graph_builder):
    from conftest import load_nc

    convert_checkpoint(str(fixture_dir / "checkpoint.npz"), str(tmp_path / "ms"), grid=GridConfig(5.0))
    model = GenCast(load_checkpoint(tmp_path / "ms"), graph_builder=reference_graph_builder)
    with pytest.raises(DataMismatchError, match=r"checkpoint grid mismatch: wrong grid.*expects 37 lat x 72 lon \(5 deg"):
        model.denoise(load_nc(fixture_dir / "denoiser_inputs.nc"), load_nc(fixture_dir / "noisy_targets.nc"),
                      np.ones(2), load_nc(fixture_dir / "denoiser_forcings.nc"))


def test_truncated_and_non_npz_files(tmp_path, fixture_dir):
    data = (fixture_dir / "checkpoint.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "cut.npz")
    (tmp_path / "text.npz").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable GenCast"):
        load_checkpoint(tmp_path / "text.npz")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.npz")
    os.mkdir(tmp_path / "empty_dir")
    with pytest.raises(CheckpointError, match="not a mindgencast checkpoint directory"):
        load_checkpoint(tmp_path / "empty_dir")


def _write_modified(tmp_path, fixture_dir, change):
    arrays = dict(np.load(fixture_dir / "checkpoint.npz"))
    change(arrays)
    path = tmp_path / "modified.npz"
    np.savez(path, **arrays)
    return path


def test_missing_unexpected_misshaped_parameters(tmp_path, fixture_dir, reference_graph_builder):
    from conftest import load_nc

    args = (load_nc(fixture_dir / "denoiser_inputs.nc"), load_nc(fixture_dir / "noisy_targets.nc"), np.ones(2),
            load_nc(fixture_dir / "denoiser_forcings.nc"))
    key = "params:mesh_transformer/~/transformer/block_01/ffw_up:w"

    def drop(a):
        del a[key]

    def extra(a):
        a["params:mesh_transformer/~/transformer/block_02/ffw_up:w"] = a[key]

    def reshape(a):
        a[key] = np.zeros((32, 65), np.float32)

    for change, pattern in ((drop, "missing .*blocks.1.ffw_up.w"), (extra, "unexpected .*blocks.2.ffw_up.w"),
                            (reshape, r"blocks.1.ffw_up.w' has shape \(32, 65\) .* needs \(32, 64\)")):
        ckpt = load_checkpoint(_write_modified(tmp_path, fixture_dir, change))
        with pytest.raises(CheckpointError, match=pattern):
            GenCast(ckpt, graph_builder=reference_graph_builder).denoise(*args)


def test_unsupported_config_is_named(tmp_path, fixture_dir, tiny_checkpoint):
    def bad_type(a):
        a["denoiser_architecture_config:latent_size"] = np.asarray("big")

    with pytest.raises(CheckpointError, match="latent_size: expected an integer"):
        load_checkpoint(_write_modified(tmp_path, fixture_dir, bad_type))

    def unknown(a):
        a["sampler_config:num_steps"] = np.asarray(3)

    with pytest.raises(CheckpointError, match="unknown key.*'num_steps'"):
        load_checkpoint(_write_modified(tmp_path, fixture_dir, unknown))
    arch = dataclasses.replace(tiny_checkpoint.denoiser_architecture_config, node_output_size=25)
    with pytest.raises(CheckpointError, match="node_output_size=25"):
        GenCast(dataclasses.replace(tiny_checkpoint, denoiser_architecture_config=arch))
