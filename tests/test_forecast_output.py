"""CF-1.8 NetCDF forecast files: structure, attributes, readability, ensemble statistics."""

import datetime

import netCDF4
import numpy as np
import pytest
import xarray as xr

import mindgencast
from mindgencast.config.variables import VARIABLES
from mindgencast.forecast import run_forecast
from mindgencast.forecast.baselines import DampedPersistence

INIT = np.datetime64("2019-03-29T12:00", "ns")
STEPS, MEMBERS = 3, 3


@pytest.fixture(scope="module")
def forecast_file(fixture_dir, tmp_path_factory):
    inputs = xr.load_dataset(fixture_dir / "inputs.nc", decode_timedelta=True).isel(batch=0)
    targets = xr.load_dataset(fixture_dir / "targets.nc", decode_timedelta=True).isel(batch=0)
    out = tmp_path_factory.mktemp("forecast") / "forecast.nc"
    attrs = {"checkpoint": "gencast_tiny/checkpoint.npz", "sampler": "dpmpp2s churn=2.5 steps=20",
             "institution": "Test Lab"}
    path = run_forecast(DampedPersistence(), inputs, targets, out, num_steps=STEPS, num_members=MEMBERS,
                        seed=3, members_per_batch=2, init_time=INIT, ensemble_stats=True, attrs=attrs,
                        progress=False)
    return path, inputs, targets


def test_netcdf4_structure_and_cf_attributes(forecast_file):
    path, _, targets = forecast_file
    with netCDF4.Dataset(path) as nc:
        assert nc.data_model == "NETCDF4"
        dims = {name: (dim.size, dim.isunlimited()) for name, dim in nc.dimensions.items()}
        assert dims == {"member": (MEMBERS, False), "lead_time": (STEPS, True), "level": (3, False),
                        "lat": (19, False), "lon": (36, False)}
        assert nc.Conventions == "CF-1.8"
        assert nc.software == f"mindgencast {mindgencast.__version__}"
        assert (nc.checkpoint, nc.sampler, int(nc.seed), int(nc.members)) == (
            "gencast_tiny/checkpoint.npz", "dpmpp2s churn=2.5 steps=20", 3, MEMBERS)
        assert nc.institution == "Test Lab" and nc.title and nc.source and "mindgencast" in nc.history
        assert int(nc.completed_steps) == STEPS
        lat, lon, level = nc["lat"], nc["lon"], nc["level"]
        assert (lat.units, lat.standard_name, lat.axis) == ("degrees_north", "latitude", "Y")
        assert (lon.units, lon.standard_name, lon.axis) == ("degrees_east", "longitude", "X")
        assert (level.units, level.positive, level.axis) == ("hPa", "down", "Z")
        np.testing.assert_array_equal(level[:], targets.level.values)
        assert nc["lead_time"].units == "hours" and nc["lead_time"].standard_name == "forecast_period"
        np.testing.assert_array_equal(nc["lead_time"][:], [12.0, 24.0, 36.0])
        assert nc["init_time"].standard_name == "forecast_reference_time"
        assert nc["init_time"].units == "hours since 1970-01-01 00:00:00"
        # 2019-03-29T12 is 17,984.5 days (49 years, 12 of them leap, + 87.5 days) after the epoch.
        init_hours = (datetime.datetime(2019, 3, 29, 12) - datetime.datetime(1970, 1, 1)).total_seconds() / 3600
        assert init_hours == (49 * 365 + 12 + 87.5) * 24
        assert float(nc["init_time"][...]) == init_hours
        np.testing.assert_array_equal(nc["valid_time"][:], init_hours + np.array([12.0, 24.0, 36.0]))
        for name in targets.data_vars:
            var, info = nc[name], VARIABLES[name]
            expected_dims = ("member", "lead_time", *targets[name].dims[1:])
            assert var.dimensions == expected_dims and var.dtype == np.float32
            assert var.units == info.units and var.long_name == info.long_name
            assert getattr(var, "standard_name", None) == info.standard_name
            assert set(var.coordinates.split()) == {"valid_time", "init_time"}
            assert nc[f"{name}_ensemble_spread"].cell_methods == "member: standard_deviation"
        assert nc["land_sea_mask"].dimensions == ("lat", "lon")


def test_plain_xarray_decodes_times_and_values(forecast_file):
    path, inputs, _ = forecast_file
    with xr.open_dataset(path, decode_timedelta=True) as ds:
        assert ds["temperature"].dims == ("member", "lead_time", "level", "lat", "lon")
        hours = ds.lead_time.values / np.timedelta64(1, "h")
        np.testing.assert_array_equal(hours, [12, 24, 36])
        assert ds.init_time.values == INIT
        np.testing.assert_array_equal(ds.valid_time.values, INIT + ds.lead_time.values)
        assert {"valid_time", "init_time"} <= set(ds["2m_temperature"].coords)
        # Sea surface temperature stays missing over land (NaN where the inputs are), nowhere else.
        sst_nan = np.isnan(ds["sea_surface_temperature"].values)
        input_nan = np.isnan(inputs["sea_surface_temperature"].values).any(axis=0)
        assert sst_nan.any() and (sst_nan == input_nan).all()
        assert np.isfinite(ds["temperature"].values).all()
        np.testing.assert_array_equal(ds["land_sea_mask"].values, inputs["land_sea_mask"].values)


def test_ensemble_mean_and_spread_match_the_members(forecast_file):
    path, _, _ = forecast_file
    with xr.open_dataset(path, decode_timedelta=True) as ds:
        for name in ("temperature", "2m_temperature", "sea_surface_temperature"):
            members = ds[name].values.astype(np.float64)
            # float32 storage of a float64 statistic: relative error <= 2^-24 ~ 6e-8.
            np.testing.assert_allclose(ds[f"{name}_ensemble_mean"].values, members.mean(axis=0), rtol=1e-7)
            np.testing.assert_allclose(ds[f"{name}_ensemble_spread"].values, members.std(axis=0, ddof=1),
                                       rtol=1e-6, atol=1e-6 * np.nanmax(np.abs(members)))
            assert np.nanmin(ds[f"{name}_ensemble_spread"].values) >= 0


def test_no_partial_file_is_left_after_success(forecast_file):
    path, _, _ = forecast_file
    assert [p.name for p in path.parent.iterdir()] == [path.name]
