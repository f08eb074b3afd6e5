"""Extraction of (inputs, targets, forcings) and the derived clock forcings vs the JAX fixture.

The fixture's inputs.nc / targets.nc / forcings.nc are DeepMind's
``data_utils.extract_inputs_targets_forcings(source.nc, target_lead_times=slice('12h', '12h'))``.
Extraction only selects and reshapes float32 data, and the clock features are
computed with the reference's float64 -> float32 path, so the tolerance is the
brief's 1e-6 relative to each variable's largest magnitude (we expect exact).
"""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.config.builtin import builtin_config
from mindgencast.config.schemas import TaskConfig
from mindgencast.data import (
    DataValidationError,
    add_derived_forcings,
    day_progress,
    example_batch,
    extract_inputs_targets_forcings,
    target_lead_times_for,
    year_progress,
)
from mindgencast.data.derived_forcings import seconds_since_epoch

RTOL = 1e-6


def _load(path):
    return xr.load_dataset(path, decode_timedelta=True)


@pytest.fixture(scope="module")
def fixture(fixture_dir):
    return {name: _load(fixture_dir / f"{name}.nc") for name in ("source", "inputs", "targets", "forcings")}


@pytest.fixture(scope="module")
def task():
    return builtin_config("gencast_tiny").task_config


def _assert_matches(ours: xr.Dataset, ref: xr.Dataset):
    assert list(ours.data_vars) == list(ref.data_vars)
    assert set(ours.coords) == set(ref.coords)
    for name in ref.coords:
        np.testing.assert_array_equal(ours[name].values, ref[name].values, err_msg=name)
        assert ours[name].dtype == ref[name].dtype, name
    for name, ref_var in ref.data_vars.items():
        var = ours[name]
        assert var.dims == ref_var.dims, name
        assert var.dtype == ref_var.dtype == np.float32, name
        a, b = var.values, ref_var.values
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{name}: NaN pattern")
        scale = np.nanmax(np.abs(b))
        assert np.nanmax(np.abs(a - b)) <= RTOL * scale, name


def _plain_series(source: xr.Dataset, b: int) -> xr.Dataset:
    """Batch element b of source.nc as a plain WeatherBench2 time series."""
    one = source.isel(batch=b)
    return one.assign_coords(time=one["datetime"].values).drop_vars("datetime")


def test_extraction_reproduces_fixture(fixture, task):
    inputs, targets, forcings = extract_inputs_targets_forcings(
        fixture["source"], task, slice("12h", "12h"), grid=builtin_config("gencast_tiny").grid
    )
    _assert_matches(inputs, fixture["inputs"])
    _assert_matches(targets, fixture["targets"])
    _assert_matches(forcings, fixture["forcings"])
    np.testing.assert_array_equal(inputs["time"].values, pd.to_timedelta(["-12h", "0h"]).values)
    assert inputs.sizes["time"] == 2 and targets.sizes["time"] == 1


@pytest.mark.parametrize("lead", ["12h", pd.Timedelta("12h"), ["12h"], slice(None, "12h")])
def test_lead_time_forms_agree(fixture, task, lead):
    _, targets, forcings = extract_inputs_targets_forcings(fixture["source"], task, lead)
    _assert_matches(targets, fixture["targets"])
    _assert_matches(forcings, fixture["forcings"])


def test_derived_forcings_match_fixture(fixture):
    derived = add_derived_forcings(fixture["source"])
    for name in ("year_progress_sin", "year_progress_cos", "day_progress_sin", "day_progress_cos"):
        np.testing.assert_allclose(derived[name].isel(time=[2]).values, fixture["forcings"][name].values,
                                   rtol=0, atol=RTOL)
        np.testing.assert_allclose(derived[name].isel(time=[0, 1]).values, fixture["inputs"][name].values,
                                   rtol=0, atol=RTOL)
        assert derived[name].dtype == np.float32


def test_derived_forcings_invariants():
    times = np.array(["1970-01-01T00", "1970-01-01T12", "2000-06-01T06", "1970-07-02T14:54:33"],
                     dtype="datetime64[s]")
    seconds = seconds_since_epoch(times)
    np.testing.assert_array_equal(seconds[:2], [0, 43200])
    yp = year_progress(seconds)
    assert yp[0] == 0 and np.all((yp >= 0) & (yp < 1))
    # Half an average year after the epoch is year progress 0.5.
    assert abs(year_progress(np.array([int(365.24219 * 86400 / 2)]))[0] - 0.5) < 1e-6
    lon = np.array([0.0, 90.0, 180.0, 270.0])
    dp = day_progress(seconds, lon)
    assert dp.shape == (4, 4) and dp.dtype == np.float32
    np.testing.assert_allclose(dp[0], [0.0, 0.25, 0.5, 0.75], atol=1e-7)  # midnight UTC at Greenwich
    np.testing.assert_allclose(dp[1], [0.5, 0.75, 0.0, 0.25], atol=1e-7)  # noon UTC


def test_example_batch_from_plain_series(fixture, task):
    for b in range(2):
        plain = _plain_series(fixture["source"], b)
        batch = example_batch(plain, plain["time"].values[1], num_steps=1, task_config=task)
        assert batch.sizes["batch"] == 1 and batch["datetime"].dims == ("batch", "time")
        outputs = extract_inputs_targets_forcings(batch, task, target_lead_times_for(1))
        for ours, name in zip(outputs, ("inputs", "targets", "forcings")):
            _assert_matches(ours, fixture[name].isel(batch=[b]))


def test_example_batch_several_init_times_and_steps():
    """Frames come from the right valid times for a 6-hourly series and a 3-frame input window."""
    times = pd.date_range("2021-01-01", periods=10, freq="6h")
    rng = np.random.default_rng(0)
    values = (280 + rng.standard_normal((10, 3, 4))).astype(np.float32)
    plain = xr.Dataset(
        {"2m_temperature": (("time", "lat", "lon"), values, {"units": "K"})},
        coords={"time": times, "lat": [-90.0, 0.0, 90.0], "lon": [0.0, 90.0, 180.0, 270.0]},
    )
    task = TaskConfig(("2m_temperature", "day_progress_sin"), ("2m_temperature",), ("day_progress_sin",), (), "18h")
    init = [times[2], times[4]]
    batch = example_batch(plain, init, num_steps=2, task_config=task, timestep="6h")
    assert batch["2m_temperature"].shape == (2, 5, 3, 4)
    np.testing.assert_array_equal(batch["2m_temperature"].values[0], values[0:5])
    np.testing.assert_array_equal(batch["2m_temperature"].values[1], values[2:7])
    inputs, targets, forcings = extract_inputs_targets_forcings(batch, task, target_lead_times_for(2, "6h"))
    assert inputs.sizes["time"] == 3 and targets.sizes["time"] == 2
    np.testing.assert_array_equal(targets["2m_temperature"].values[1], values[5:7])
    np.testing.assert_array_equal(targets["time"].values, pd.to_timedelta(["6h", "12h"]).values)
    # The first target of batch 0 is 2021-01-01T18 UTC: day progress 0.75 at lon 0, sin = -1.
    assert abs(float(forcings["day_progress_sin"].values[0, 0, 0]) + 1) < 1e-6


def test_dry_task_uses_only_its_variables_and_levels(fixture):
    """A task without humidity, precipitation or SST, on levels in another order, from a source lacking them."""
    dry = TaskConfig(
        input_variables=("2m_temperature", "temperature", "geopotential", "year_progress_cos", "land_sea_mask"),
        target_variables=("2m_temperature", "temperature", "geopotential"),
        forcing_variables=("year_progress_cos",),
        pressure_levels=(850, 500),
        input_duration="24h",
    )
    source = fixture["source"].drop_vars(
        ["specific_humidity", "total_precipitation_12hr", "sea_surface_temperature"])
    inputs, targets, forcings = extract_inputs_targets_forcings(source, dry, "12h")
    assert list(inputs.data_vars) == list(dry.input_variables)
    assert list(targets.data_vars) == list(dry.target_variables)
    np.testing.assert_array_equal(inputs["level"].values, [850, 500])
    ref = fixture["inputs"].sel(level=[850, 500])
    for name in dry.input_variables:
        np.testing.assert_array_equal(inputs[name].values, ref[name].values, err_msg=name)
    np.testing.assert_array_equal(targets["temperature"].values,
                                  fixture["targets"]["temperature"].sel(level=[850, 500]).values)
    np.testing.assert_array_equal(forcings["year_progress_cos"].values, fixture["forcings"]["year_progress_cos"].values)


def test_missing_target_lead_time_is_named(fixture, task):
    with pytest.raises(DataValidationError, match="lead time"):
        extract_inputs_targets_forcings(fixture["source"], task, ["12h", "18h"])


def test_too_few_input_frames(fixture, task):
    source = fixture["source"].isel(time=[1, 2])
    with pytest.raises(DataValidationError, match="needs 2 input frames"):
        extract_inputs_targets_forcings(source, task, "12h")


def test_forcing_target_overlap_rejected(fixture):
    bad = TaskConfig(("2m_temperature",), ("2m_temperature",), ("2m_temperature",), (), "24h")
    with pytest.raises(ValueError, match="must not also be target"):
        extract_inputs_targets_forcings(fixture["source"], bad, "12h")
