"""GraphCast checkpoints: DeepMind's .npz, recognition, name rules, conversion round trip."""

import pathlib

import numpy as np
import pytest

import mindgencast as mg
from mindgencast.checkpoint import CheckpointError, convert_checkpoint, export_npz, load_checkpoint
from mindgencast.checkpoint.name_mapping import jax_to_mindspore, mindspore_to_jax
from mindgencast.graphcast.checkpoint import GRAPHCAST_NAME_RULES, GraphCastCheckpoint

GC_DIR = pathlib.Path(__file__).parent / "data" / "graphcast_tiny"
GENCAST_NPZ = pathlib.Path(__file__).parent / "data" / "gencast_tiny" / "checkpoint.npz"


def _param_lines():
    return [line.split()[0] for line in (GC_DIR / "params_tree.txt").read_text().splitlines() if line.strip()]


def test_load_recognises_graphcast_and_gencast():
    gc = load_checkpoint(GC_DIR / "checkpoint.npz")
    assert isinstance(gc, GraphCastCheckpoint)
    assert gc.model_config.mesh_size == 2 and gc.model_config.gnn_msg_steps == 2
    assert gc.model_config.mesh2grid_edge_normalization_factor is None
    assert gc.task_config.input_duration == "12h"
    assert gc.task_config.pressure_levels == (500, 700, 850)
    assert len(gc.params) == 94 and gc.num_parameters == 46103
    gen = load_checkpoint(GENCAST_NPZ)
    assert not isinstance(gen, GraphCastCheckpoint)
    assert hasattr(gen, "denoiser_architecture_config")


def test_name_rules_cover_every_key_both_ways():
    keys = _param_lines()
    assert len(keys) == 94
    names = {k: jax_to_mindspore(k, GRAPHCAST_NAME_RULES) for k in keys}
    assert len(set(names.values())) == 94  # injective
    for k, n in names.items():
        assert mindspore_to_jax(n, GRAPHCAST_NAME_RULES) == k
    with pytest.raises(KeyError, match="name-mapping rules"):
        jax_to_mindspore("params:mesh_gnn/~_networks_builder/bogus:w", GRAPHCAST_NAME_RULES)


def test_model_parameters_are_the_rule_table_image():
    model = mg.GraphCast(GC_DIR / "checkpoint.npz", GC_DIR / "stats")
    network = model.network_for_grid(np.arange(-90, 91, 10.0), np.arange(0, 360, 10.0))
    cell_names = {"network." + name for name, _ in network.parameters_and_names()}
    assert cell_names == {jax_to_mindspore(k, GRAPHCAST_NAME_RULES) for k in _param_lines()}


def test_convert_round_trip_bit_exact(tmp_path):
    src = GC_DIR / "checkpoint.npz"
    out = tmp_path / "gc"
    convert_checkpoint(str(src), str(out), grid=mg.config.GridConfig(resolution=10.0))
    back = load_checkpoint(out)
    assert isinstance(back, GraphCastCheckpoint)
    export_npz(back, tmp_path / "back.npz")
    with np.load(src) as a, np.load(tmp_path / "back.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            assert a[k].dtype == b[k].dtype or not k.startswith("params:"), k
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_truncated_file_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes((GC_DIR / "checkpoint.npz").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(bad)


def test_convert_cli_and_published_file_names(tmp_path, capsys):
    from mindgencast.checkpoint import grid_from_filename
    from mindgencast.cli.main import main

    name = "GraphCast_small - ERA5 1979-2015 - resolution 1.0 - pressure levels 13 - mesh 2to5.npz"
    assert grid_from_filename(name).resolution == 1.0
    assert (
        grid_from_filename("GraphCast - ERA5 1979-2017 - resolution 0.25 - pressure levels 37.npz").resolution == 0.25
    )
    assert grid_from_filename("GenCast 1p0deg Mini <2019.npz").resolution == 1.0
    assert main(["convert", str(GC_DIR / "checkpoint.npz"), str(tmp_path / "gc"), "--grid", "10"]) == 0
    assert "94 arrays, 46,103 parameters, grid 10 deg" in capsys.readouterr().out
    model = mg.GraphCast(tmp_path / "gc", GC_DIR / "stats")  # a converted directory loads like the .npz
    with pytest.raises(ValueError, match="grid"):
        model.network_for_grid(np.arange(-90, 91, 5.0), np.arange(0, 360, 5.0))


def test_random_init_from_config_round_trips_through_npz(tmp_path):
    """A GraphCast built from configs (training from scratch) saves to DeepMind's layout and
    reloads to the same predictions, bit for bit."""
    import xarray as xr

    from mindgencast.graphcast.config import GraphCastConfig

    ref = load_checkpoint(GC_DIR / "checkpoint.npz")
    config = GraphCastConfig(model_config=ref.model_config, task_config=ref.task_config, description="scratch")
    inputs, targets, forcings = (xr.load_dataset(GC_DIR / f"{n}.nc") for n in ("inputs", "targets", "forcings"))
    template, forcing = targets.isel(time=[0]) * np.nan, forcings.isel(time=[0])
    model = mg.GraphCast(config, GC_DIR / "stats")
    with pytest.raises(ValueError, match="no weights yet"):
        model.to_checkpoint()
    first = model.predict(inputs, template, forcing)
    export_npz(model.to_checkpoint(), tmp_path / "scratch.npz")
    saved = load_checkpoint(tmp_path / "scratch.npz")
    assert sorted(saved.params) == sorted(ref.params) and saved.description == "scratch"
    again = mg.GraphCast(saved, GC_DIR / "stats").predict(inputs, template, forcing)
    for name in first.data_vars:
        np.testing.assert_array_equal(first[name].values, again[name].values, err_msg=name)
    assert not np.allclose(
        first["temperature"].values, xr.load_dataset(GC_DIR / "one_step_output.nc")["temperature"].values
    )  # really other weights than the fixture's


def test_gencast_refuses_a_graphcast_checkpoint_with_a_hint():
    with pytest.raises(TypeError, match="mg.GraphCast"):
        mg.GenCast(load_checkpoint(GC_DIR / "checkpoint.npz"))
    with pytest.raises(TypeError, match="mg.GenCast"):
        mg.GraphCast(load_checkpoint(GENCAST_NPZ), GC_DIR / "stats")
