"""``mindgencast make-synthetic``: files, statistics layout (as the gencast_tiny fixture's stats/), atomicity, errors."""

import pathlib

import numpy as np
import pytest
import xarray as xr

from mindgencast.cli.main import main
from mindgencast.config.builtin import builtin_config
from mindgencast.data.synthetic import SyntheticWorld
from mindgencast.data.synthetic import world as world_module

_STATS = ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level", "min_by_level")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    rc = main(["make-synthetic", "--out", str(out), "--grid", "10", "--start", "2000-12-31", "--days", "2",
               "--config", "tiny", "--time-step", "12h", "--seed", "4", "--yearly"])
    assert rc == 0
    return out


def test_writes_yearly_data_stats_and_world(made):
    assert sorted(p.name for p in made.iterdir()) == ["data_2000.nc", "data_2001.nc", "stats", "world.json"]
    first, second = xr.load_dataset(made / "data_2000.nc"), xr.load_dataset(made / "data_2001.nc")
    assert first.time.size == 2 and second.time.size == 2
    world = SyntheticWorld.from_dataset(second)
    assert world.seed == 4
    expected = world.generate("2000-12-31", days=2)
    both = xr.concat([first, second], "time", data_vars="minimal")
    for name in expected.data_vars:
        np.testing.assert_array_equal(both[name].values, expected[name].values)
    assert not list(made.glob(".*"))  # no temporary files left


def test_stats_have_the_layout_of_the_fixture(made, fixture_dir):
    task = builtin_config("gencast_tiny").task_config
    for stem in _STATS:
        ours = xr.load_dataset(made / "stats" / f"{stem}.nc")
        reference = xr.load_dataset(fixture_dir / "stats" / f"{stem}.nc")
        # the fixture also carries TOA radiation, which the task does not use
        assert set(reference.data_vars) - {"toa_incident_solar_radiation"} <= set(ours.data_vars), stem
        for name in ours.data_vars:
            assert ours[name].dims == reference[name].dims and ours[name].dtype == np.float32, (stem, name)
        assert ours.level.dtype == np.int32 and list(ours.level.values) == sorted(task.pressure_levels)
        # normalisation selects the task's levels from the stats by coordinate alignment
        assert set(ours.level.values) <= set(reference.level.values)
    minimum = xr.load_dataset(made / "stats" / "min_by_level.nc")
    assert float(minimum.sea_surface_temperature) == float(np.float32(271.35))  # NaN fill value, as the fixture


def test_refuses_to_overwrite_and_bad_arguments(made, tmp_path, capsys):
    before = (made / "data_2000.nc").read_bytes()
    assert main(["make-synthetic", "--out", str(made), "--grid", "10", "--days", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (made / "data_2000.nc").read_bytes() == before
    cases = [
        (["--grid", "7"], "divide 180"),
        (["--start", "2000-01-01T03:00", "--time-step", "6h"], "time axis"),
        (["--days", "0"], "positive"),
        (["--config", str(tmp_path / "missing.yaml")], "neither a built-in config"),
        (["--time-step", "7h"], "time_step"),
        (["--start", "yesterday-ish"], "--start"),
    ]
    for extra, message in cases:
        out = tmp_path / "out"
        args = ["make-synthetic", "--out", str(out), "--grid", "10", "--days", "1", *extra]
        assert main(args) == 2, extra
        assert message in capsys.readouterr().err, extra
        assert not out.exists() or not any(out.iterdir()), extra


def test_an_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    world = SyntheticWorld(builtin_config("gencast_tiny").task_config, 10.0, time_step="12h")
    monkeypatch.setattr(world_module, "_CHUNK_VALUES", 20000)  # ~1 time step per chunk: many appends
    calls = {"n": 0}
    fields = world.fields

    def failing(z, times):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return fields(z, times)

    monkeypatch.setattr(world, "fields", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        world.write(tmp_path / "data.nc", "2000-01-01", days=3)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(world, "fields", fields)
    world.write(tmp_path / "data.nc", "2000-01-01", days=3)  # streamed in 6 chunks
    streamed = xr.load_dataset(tmp_path / "data.nc")
    direct = world.generate("2000-01-01", days=3)
    for name in direct.data_vars:
        np.testing.assert_array_equal(streamed[name].values, direct[name].values)
    assert pathlib.Path(tmp_path / "data.nc").stat().st_mode & 0o044  # readable by others (not mkstemp's 0600)
