"""Training store and pipeline: exact round trip, reference-fixture parity of the yielded
arrays, agreement with extraction, sharding, and no partial file on bad input."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import load_nc

from mindgencast.cli.main import main as cli_main
from mindgencast.config.builtin import builtin_config
from mindgencast.config.schemas import TaskConfig
from mindgencast.data.derived_forcings import add_derived_forcings
from mindgencast.data.extraction import example_batch, extract_inputs_targets_forcings
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.pipeline import TrainingExamples, training_dataset
from mindgencast.data.stacking import stack_dataset
from mindgencast.data.store import TrainingStore, write_store
from mindgencast.data.validation import DataValidationError
from mindgencast.grid_stacking import stack_to_nodes

# A task unlike GenCast's: a variable subset, levels out of order, a non-input target.
TASK = TaskConfig(
    input_variables=("temperature", "2m_temperature", "sea_surface_temperature", "year_progress_sin",
                     "day_progress_cos", "land_sea_mask"),
    target_variables=("temperature", "2m_temperature", "sea_surface_temperature", "total_precipitation_12hr"),
    forcing_variables=("year_progress_sin", "day_progress_cos"),
    pressure_levels=(850, 500),
    input_duration="24h",
)


def _plain_world(num_times: int = 12, step_hours: int = 6, seed: int = 0) -> xr.Dataset:
    """A plain-layout ERA5-like series on a 5 x 8 grid with 3 levels (random but plausible values)."""
    rng = np.random.default_rng(seed)
    lat, lon = np.linspace(-90.0, 90.0, 5), np.arange(8) * 45.0
    times = pd.date_range("2001-02-03T06", periods=num_times, freq=f"{step_hours}h").values
    land = np.zeros((lat.size, lon.size), np.float32)
    land[1:3, 2:5] = 1.0

    def field(mean, spread, *shape):
        return (mean + spread * rng.standard_normal(shape)).astype(np.float32)

    sst = field(290.0, 3.0, num_times, lat.size, lon.size)
    sst[:, land > 0.5] = np.nan
    ds = xr.Dataset(
        {
            "temperature": (("time", "level", "lat", "lon"), field(260.0, 10.0, num_times, 3, lat.size, lon.size)),
            "2m_temperature": (("time", "lat", "lon"), field(285.0, 5.0, num_times, lat.size, lon.size)),
            "sea_surface_temperature": (("time", "lat", "lon"), sst),
            "total_precipitation_12hr": (("time", "lat", "lon"),
                                         np.abs(field(0.0, 1e-3, num_times, lat.size, lon.size))),
            "land_sea_mask": (("lat", "lon"), land),
        },
        coords={"time": times, "level": np.array([500, 700, 850], np.int32), "lat": lat, "lon": lon},
    )
    return ds


def _world_stats(world: xr.Dataset) -> NormalizationStats:
    """Statistics for the test world (values need only be plausible, not estimated)."""
    from mindgencast.data.stats import compute_statistics

    return compute_statistics(world, time_chunk=5)


@pytest.fixture(scope="module")
def world():
    return _plain_world()


@pytest.fixture(scope="module")
def store_path(world, tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("store") / "world.h5", world, TASK)


@pytest.mark.parametrize("compression", [None, "gzip", "lzf"])
def test_store_round_trips_exactly(world, tmp_path, compression):
    path = write_store(tmp_path / "s.h5", world, TASK, compression=compression, time_chunk=5)
    store = TrainingStore(path)
    back = store.to_dataset()
    expected = add_derived_forcings(world.sel(level=[850, 500]), ["year_progress_sin", "day_progress_cos"])
    assert sorted(back.data_vars) == sorted(expected.data_vars)
    for name in expected.data_vars:
        want = expected[name]
        got = back[name].transpose(*want.dims)
        assert got.dtype == np.float32, name
        np.testing.assert_array_equal(got.values, want.values, err_msg=name)  # bit-exact, NaN included
    np.testing.assert_array_equal(store.times, world["time"].values)
    np.testing.assert_array_equal(store.levels, [850, 500])
    np.testing.assert_array_equal(store.lat, world["lat"].values)
    assert store.task_config == TASK
    assert store.time_step == pd.Timedelta("6h")
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]  # no temporary left


def test_pipeline_reproduces_reference_normalised_values(fixture_dir, tmp_path):
    """source.nc -> store -> example == the fixture's physical and normalised arrays."""
    task = builtin_config("gencast_tiny").task_config
    stats = NormalizationStats.load(fixture_dir / "stats")
    source = load_nc(fixture_dir / "source.nc")
    reference = {n: load_nc(fixture_dir / f"{n}.nc") for n in
                 ("inputs", "targets", "forcings", "denoiser_inputs", "loss_targets", "denoiser_forcings")}
    for b in range(source.sizes["batch"]):
        series = source.isel(batch=b)
        series = series.assign_coords(time=series["datetime"].values).drop_vars("datetime")
        examples = TrainingExamples(write_store(tmp_path / f"b{b}.h5", series, task), stats)
        assert len(examples) == 1  # three 12-hourly times: one (inputs, target) window
        for got, name in zip(examples.physical_example(0), ("inputs", "targets", "forcings")):
            want = reference[name].isel(batch=b)
            assert sorted(got.data_vars) == sorted(want.data_vars)
            for v in want.data_vars:
                np.testing.assert_array_equal(got[v].transpose(*want[v].dims).values, want[v].values, err_msg=v)
        arrays = examples[0]
        for got, name in zip(arrays, ("denoiser_inputs", "loss_targets", "denoiser_forcings")):
            want = reference[name]
            # The model's own stacking of the reference batch: identical channel layout and values.
            np.testing.assert_array_equal(got, stack_to_nodes(want, 2, 19, 36)[:, b, :], err_msg=name)
            assert got.dtype == np.float32
        assert [a.shape for a in arrays] == [(684, 56), (684, 24), (684, 4)]


def test_examples_agree_with_extraction(world, store_path):
    """6-hourly store: example i = the window extraction cuts at its anchor time (lag 2)."""
    examples = TrainingExamples(store_path, _world_stats(world))
    assert len(examples) == world.sizes["time"] - 2 * 2
    for index in (0, len(examples) - 1):
        anchor = examples.anchor_time(index)
        batch = example_batch(world, anchor, 1, TASK)
        want = extract_inputs_targets_forcings(batch, TASK, "12h")
        for got, ref in zip(examples.physical_example(index), want):
            ref = ref.isel(batch=0)
            for name in ref.data_vars:
                np.testing.assert_array_equal(got[name].transpose(*ref[name].dims).values, ref[name].values,
                                              err_msg=name)
            np.testing.assert_array_equal(got["time"].values, ref["time"].values)


def test_fast_path_equals_xarray_path(world, store_path):
    examples = TrainingExamples(store_path, _world_stats(world))
    for index in range(len(examples)):
        fast = examples[index]
        slow = [stack_dataset(ds, 5, 8) for ds in examples.normalized_example(index)]
        for a, b in zip(fast, slow):
            np.testing.assert_array_equal(a, b)
            assert not np.isnan(a).any()


def test_sharded_dataset_is_disjoint_and_complete(world, store_path):
    stats = _world_stats(world)
    source = TrainingExamples(store_path, stats)
    assert len(source) % 2 == 0  # MindSpore pads shards to equal size otherwise
    shards = []
    for shard_id in range(2):
        dataset = training_dataset(store_path, stats, batch_size=2, shuffle=True, seed=7, num_shards=2,
                                   shard_id=shard_id, num_parallel_workers=2, with_index=True)
        seen = []
        for row in dataset.create_dict_iterator(output_numpy=True, num_epochs=1):
            assert row["inputs"].shape == (2, 40, source[0][0].shape[1])
            for k, index in enumerate(row["index"]):
                np.testing.assert_array_equal(row["targets"][k], source[int(index)][1])
                seen.append(int(index))
        shards.append(seen)
    assert not set(shards[0]) & set(shards[1])
    assert sorted(shards[0] + shards[1]) == list(range(len(source)))


def test_bad_input_leaves_no_store(world, tmp_path):
    out = tmp_path / "s.h5"
    with pytest.raises(DataValidationError, match="total_precipitation_12hr"):
        write_store(out, world.drop_vars("total_precipitation_12hr"), TASK)
    with pytest.raises(DataValidationError, match="level"):
        write_store(out, world.sel(level=[500, 700]), TASK)
    bad = world.copy(deep=True)
    bad["temperature"][9, 0, 2, 2] = np.nan  # found while writing the second chunk
    with pytest.raises(DataValidationError, match="'temperature'"):
        write_store(out, bad, TASK, time_chunk=5)
    with pytest.raises(DataValidationError, match="gap in time"):
        write_store(out, world.isel(time=[0, 1, 2, 4, 5, 6]), TASK)
    assert list(tmp_path.iterdir()) == []
    # A failed rebuild keeps the previous complete store.
    write_store(out, world, TASK)
    before = TrainingStore(out).to_dataset()
    with pytest.raises(DataValidationError):
        write_store(out, bad, TASK, time_chunk=5)
    xr.testing.assert_identical(TrainingStore(out).to_dataset(), before)
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]


def test_prepare_cli(fixture_dir, tmp_path):
    source = load_nc(fixture_dir / "source.nc").isel(batch=1)
    series = source.assign_coords(time=source["datetime"].values).drop_vars("datetime")
    series.to_netcdf(tmp_path / "era5.nc")
    out = tmp_path / "train.h5"
    assert cli_main(["prepare", "--data", str(tmp_path / "era5.nc"), "--out", str(out), "--task", "gencast_tiny",
                     "--compression", "lzf"]) == 0
    store = TrainingStore(out)
    assert store.task_config == builtin_config("gencast_tiny").task_config
    np.testing.assert_array_equal(store.read("temperature").values, series["temperature"].values)
    missing = tmp_path / "missing.h5"
    assert cli_main(["prepare", "--data", str(tmp_path / "era5.nc"), "--out", str(missing),
                     "--task", "no_such_model"]) == 2
    series.drop_vars("geopotential").to_netcdf(tmp_path / "bad.nc")
    assert cli_main(["prepare", "--data", str(tmp_path / "bad.nc"), "--out", str(missing),
                     "--task", "gencast_tiny"]) == 2
    assert not missing.exists()
