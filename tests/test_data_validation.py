"""Bad input is refused where it enters, with an error naming the variable/coordinate and the expectation.

One test per bad input of the data issue (the unreadable-file case is in test_data_io.py).
Every case starts from the fixture's valid source.nc, which itself passes (checked first).
"""

import numpy as np
import pytest
import xarray as xr

from mindgencast.config.builtin import builtin_config
from mindgencast.config.schemas import GridConfig
from mindgencast.data import DataValidationError, example_batch, extract_inputs_targets_forcings, validate_era5
from mindgencast.data.validation import GRAVITY, check_units


@pytest.fixture(scope="module")
def source(fixture_dir):
    return xr.load_dataset(fixture_dir / "source.nc", decode_timedelta=True)


@pytest.fixture(scope="module")
def task():
    return builtin_config("gencast_tiny").task_config


@pytest.fixture()
def plain(source):
    one = source.isel(batch=0)
    return one.assign_coords(time=one["datetime"].values).drop_vars("datetime")


def _extract(source, task, **kwargs):
    return extract_inputs_targets_forcings(source, task, "12h", **kwargs)


def test_valid_source_passes(source, task):
    validate_era5(source, task, grid=GridConfig(10.0))  # SST NaNs over land are allowed


def test_missing_variable(source, task):
    with pytest.raises(DataValidationError, match="missing variable.*'specific_humidity'"):
        _extract(source.drop_vars("specific_humidity"), task)


def test_missing_level(source, task):
    with pytest.raises(DataValidationError, match=r"missing pressure level\(s\) \[850\].*available: \[500, 700\]"):
        _extract(source.sel(level=[500, 700]), task)


def test_wrong_grid_names_both_grids(source, task):
    with pytest.raises(DataValidationError, match=r"19 lat x 36 lon.*expects 37 lat x 72 lon"):
        _extract(source, task, grid=GridConfig(5.0))
    with pytest.raises(DataValidationError, match="wrong grid"):
        validate_era5(source, task, grid=(np.linspace(-90, 90, 19), np.arange(36) * 10.0 + 5.0))


def test_non_monotonic_times(plain, task):
    shuffled = plain.isel(time=[0, 2, 1])
    with pytest.raises(DataValidationError, match="coordinate 'time'.*not increasing"):
        example_batch(shuffled, plain["time"].values[1], 1, task)


def test_duplicated_times(plain, task):
    doubled = plain.isel(time=[0, 1, 1, 2])
    with pytest.raises(DataValidationError, match="duplicated time 2019-03-29T12"):
        example_batch(doubled, plain["time"].values[1], 1, task)


def test_gap_in_time(plain, task):
    later = plain.isel(time=[2]).assign_coords(time=plain["time"].values[2:] + np.timedelta64(24, "h"))
    gappy = xr.concat([plain, later], dim="time", data_vars="minimal", coords="minimal", compat="override")
    expected = r"gap in time between 2019-03-30.*expected a regular step of 0 days 12:00"
    with pytest.raises(DataValidationError, match=expected):
        example_batch(gappy, plain["time"].values[1], 1, task)


def test_batch_datetimes_must_follow_lead_times(source, task):
    bad = source.assign_coords(datetime=source["datetime"].copy(data=source["datetime"].values[:, [0, 1, 1]]))
    with pytest.raises(DataValidationError, match="'datetime'"):
        _extract(bad, task)


def test_init_time_outside_data(plain, task):
    with pytest.raises(DataValidationError, match=r"time\(s\) 2019-03-30 12:00:00 not in coordinate 'time'"):
        example_batch(plain, plain["time"].values[2], 1, task)


def test_nan_outside_sst(source, task):
    bad = source.copy(deep=True)
    bad["temperature"][1, 2, 0, 3, 4] = np.nan
    with pytest.raises(DataValidationError, match=r"'temperature' has 1 NaN.*level=500.*only sea_surface_temperature"):
        _extract(bad, task)


def test_geopotential_height_by_units_attribute(source, task):
    bad = source.copy()
    bad["geopotential"] = (source["geopotential"] / GRAVITY).assign_attrs(units="m")
    with pytest.raises(DataValidationError, match="'geopotential' has units 'm'.*geopotential height"):
        _extract(bad, task)


def test_geopotential_height_by_magnitude(source, task):
    bad = source.copy()
    bad["geopotential"] = (source["geopotential"] / GRAVITY).assign_attrs({})  # no units attribute
    with pytest.raises(DataValidationError, match="'geopotential' has no 'units'.*geopotential height"):
        _extract(bad, task)
    # The same values in m2 s-2 without an attribute pass the magnitude check.
    check_units(source.assign(geopotential=source["geopotential"].assign_attrs({})), ["geopotential"])


def test_celsius_by_magnitude(source, task):
    bad = source.copy()
    bad["2m_temperature"] = (source["2m_temperature"] - 273.15).assign_attrs({})
    with pytest.raises(DataValidationError, match="'2m_temperature'.*expected units K"):
        _extract(bad, task)


def test_integer_dtype(source, task):
    bad = source.copy()
    bad["mean_sea_level_pressure"] = source["mean_sea_level_pressure"].astype(np.int32)
    with pytest.raises(DataValidationError, match="'mean_sea_level_pressure' has dtype int32; expected floating"):
        _extract(bad, task)


def test_latitude_out_of_range(source, task):
    bad = source.assign_coords(lat=source["lat"].values * 2)
    with pytest.raises(DataValidationError, match="coordinate 'lat' spans"):
        _extract(bad, task)


def test_all_problems_reported_together(source, task):
    bad = source.drop_vars("land_sea_mask").sel(level=[500, 700])
    bad["2m_temperature"] = bad["2m_temperature"].astype(np.int16)
    with pytest.raises(DataValidationError) as info:
        _extract(bad, task, grid=GridConfig(1.0))
    message = str(info.value)
    for part in ("'land_sea_mask'", "[850]", "wrong grid", "int16"):
        assert part in message, part
