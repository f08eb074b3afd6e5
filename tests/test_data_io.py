"""Reading ERA5: CDS/WeatherBench2 layouts, precipitation accumulation, 1 degree subsampling, unreadable files."""

import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.config.builtin import builtin_config
from mindgencast.config.schemas import GridConfig, TaskConfig
from mindgencast.data import (
    DataValidationError,
    coarsen_to_1deg,
    example_batch,
    open_era5,
    select_levels,
    standardize_era5,
    subsample_grid,
    total_precipitation_12hr,
)
from mindgencast.data.era5_io import total_precipitation_6hr
from mindgencast.data.validation import check_grid

_PRESSURE = {"temperature": "t", "geopotential": "z", "u_component_of_wind": "u", "v_component_of_wind": "v",
             "vertical_velocity": "w", "specific_humidity": "q"}
_SURFACE = {"2m_temperature": "t2m", "mean_sea_level_pressure": "msl", "10m_u_component_of_wind": "10u",
            "10m_v_component_of_wind": "v10", "sea_surface_temperature": "sst", "land_sea_mask": "lsm",
            "geopotential_at_surface": "z"}


@pytest.fixture(scope="module")
def plain(fixture_dir):
    """Batch element 0 of source.nc as a plain WeatherBench2 series (time = valid time)."""
    source = xr.load_dataset(fixture_dir / "source.nc", decode_timedelta=True).isel(batch=0)
    return source.assign_coords(time=source["datetime"].values).drop_vars("datetime")


def _as_cds(ds: xr.Dataset) -> xr.Dataset:
    """The CDS spelling: descending latitude, -180..180 longitude, valid_time/pressure_level dims, extra coords."""
    lon = ((ds["lon"].values + 180) % 360 - 180).astype(ds["lon"].dtype)
    ds = ds.assign_coords(lon=lon).sortby("lon").sortby("lat", ascending=False)
    ds = ds.assign_coords(level=ds["level"].values.astype(np.float64))
    ds = ds.rename(time="valid_time", level="pressure_level", lat="latitude", lon="longitude")
    return ds.assign_coords(number=0, expver=("valid_time", ["0001"] * ds.sizes["valid_time"]))


def test_cds_files_normalise_to_weatherbench2(plain, tmp_path):
    cds = _as_cds(plain)
    pressure = cds[list(_PRESSURE)].rename(_PRESSURE)
    static = {name: cds[name].expand_dims(valid_time=cds["valid_time"].values)  # CDS gives statics a time
              for name in ("land_sea_mask", "geopotential_at_surface")}
    surface = cds[[n for n in _SURFACE if n not in static] + ["total_precipitation_12hr"]].assign(static)
    surface = surface.rename(_SURFACE)
    assert {"z", "t2m", "10u", "lsm"} <= set(surface.data_vars) and "z" in pressure.data_vars
    pressure.to_netcdf(tmp_path / "pressure.nc")
    surface.to_netcdf(tmp_path / "single.nc")

    opened = open_era5([tmp_path / "pressure.nc", tmp_path / "single.nc"]).load()
    assert set(opened.data_vars) == set(plain.data_vars)
    np.testing.assert_array_equal(opened["lat"].values, plain["lat"].values)
    np.testing.assert_array_equal(opened["lon"].values, plain["lon"].values)
    np.testing.assert_array_equal(opened["level"].values, plain["level"].values)
    np.testing.assert_array_equal(opened["time"].values, plain["time"].values)
    for name, var in plain.data_vars.items():
        assert opened[name].dims == var.dims, name
        np.testing.assert_array_equal(opened[name].values, var.values, err_msg=name)


def test_standardize_is_idempotent_and_drops_periodic_column(plain):
    once = standardize_era5(_as_cds(plain))
    xr.testing.assert_identical(standardize_era5(once), once)
    # A grid listing both 0 and 360 degrees holds one column twice: keep one.
    wide = plain.isel(lon=list(range(36)) + [0])
    wide = wide.assign_coords(lon=np.append(plain["lon"].values[:36], np.float32(360.0)))
    fixed = standardize_era5(wide)
    np.testing.assert_array_equal(fixed["lon"].values, plain["lon"].values)


def test_open_with_task_selects_variables_and_levels(fixture_dir):
    task = TaskConfig(("2m_temperature", "temperature", "year_progress_sin"), ("temperature",),
                      ("year_progress_sin",), (700,), "24h")
    ds = open_era5(fixture_dir / "source.nc", task_config=task, grid=GridConfig(10.0))
    assert set(ds.data_vars) == {"2m_temperature", "temperature"}
    np.testing.assert_array_equal(ds["level"].values, [700])
    with pytest.raises(DataValidationError, match="wrong grid"):
        open_era5(fixture_dir / "source.nc", task_config=task, grid=GridConfig(5.0))


def test_select_levels_order_and_missing(plain):
    np.testing.assert_array_equal(select_levels(plain, [850, 500])["level"].values, [850, 500])
    with pytest.raises(DataValidationError, match=r"missing pressure level\(s\) \[1000\]"):
        select_levels(plain, [500, 1000])


def _hourly(num_hours=36, seed=0):
    rng = np.random.default_rng(seed)
    tp = rng.exponential(1e-4, size=(num_hours, 2, 3)).astype(np.float32)
    times = pd.date_range("2021-03-01", periods=num_hours, freq="1h")
    return xr.Dataset({"tp": (("valid_time", "latitude", "longitude"), tp, {"units": "m"})},
                      coords={"valid_time": times, "latitude": [10.0, -10.0], "longitude": [0.0, 120.0, 240.0]})


def test_precipitation_from_hourly_matches_hand_sum(tmp_path):
    cds = _hourly()
    cds.to_netcdf(tmp_path / "tp.nc")
    ds = open_era5(tmp_path / "tp.nc")
    tp12 = ds["total_precipitation_12hr"].values
    hourly = cds["tp"].values[:, ::-1]  # open_era5 sorted latitude ascending
    assert np.isnan(tp12[:11]).all()  # the 12 h window ending there starts before the data
    for i in range(11, hourly.shape[0]):
        hand = hourly[i - 11: i + 1].astype(np.float64).sum(axis=0)
        np.testing.assert_allclose(tp12[i], hand, rtol=1e-6)  # float32 sums in another order


def test_precipitation_from_six_hourly_equals_hourly():
    hourly = standardize_era5(_hourly(48), derive_precipitation=False)
    tp = hourly["total_precipitation"]
    six = (tp.rolling(time=6).sum().isel(time=slice(5, None, 6))).rename("total_precipitation_6hr")
    from_six = total_precipitation_12hr(six.to_dataset())
    from_hourly = total_precipitation_12hr(hourly, times=from_six["time"].values)
    assert np.isnan(from_six.values[0]).all() and not np.isnan(from_six.values[1:]).any()
    np.testing.assert_allclose(from_six.values[1:], from_hourly.values[1:], rtol=1e-6)


def test_six_hour_precipitation_for_graphcast_from_hourly(tmp_path):
    """open_era5 of hourly CDS data adds GraphCast's total_precipitation_6hr (hand sums), and the
    12-h total built from those 6-h totals equals the one built from the hours."""
    cds = _hourly(48)
    cds.to_netcdf(tmp_path / "tp.nc")
    ds = open_era5(tmp_path / "tp.nc")
    tp6 = ds["total_precipitation_6hr"].values
    hourly = cds["tp"].values[:, ::-1]
    assert np.isnan(tp6[:5]).all() and not np.isnan(tp6[5:]).any()
    for i in range(5, hourly.shape[0]):
        np.testing.assert_allclose(tp6[i], hourly[i - 5: i + 1].astype(np.float64).sum(axis=0), rtol=1e-6)
    six = ds[["total_precipitation_6hr"]].isel(time=slice(11, None, 6))
    np.testing.assert_allclose(total_precipitation_12hr(six).values[1:],
                               ds["total_precipitation_12hr"].values[17::6], rtol=1e-6)
    with pytest.raises(DataValidationError, match="parts of the 6 h are missing"):
        open_era5(tmp_path / "tp.nc").isel(time=slice(None, None, 6)).pipe(
            lambda d: total_precipitation_6hr(d[["total_precipitation"]]))


def test_hourly_precipitation_sampled_six_hourly_is_refused():
    coarse = standardize_era5(_hourly(48), derive_precipitation=False).isel(time=slice(None, None, 6))
    with pytest.raises(DataValidationError, match="parts of the 12 h are missing"):
        total_precipitation_12hr(coarse)


def test_example_batch_derives_precipitation_from_hourly():
    cds = _hourly(48)
    cds["2t"] = xr.full_like(cds["tp"], 280.0).assign_attrs(units="K")
    task = TaskConfig(("2m_temperature",), ("total_precipitation_12hr",), (), (), "24h")
    batch = example_batch(cds, "2021-03-01T23", num_steps=1, task_config=task)
    hourly = cds["tp"].values[:, ::-1]
    assert batch["total_precipitation_12hr"].shape == (1, 3, 2, 3)
    target_hour = 35  # 2021-03-02T11: sum of hours 24..35
    np.testing.assert_allclose(batch["total_precipitation_12hr"].values[0, 2],
                               hourly[target_hour - 11: target_hour + 1].sum(axis=0), rtol=1e-6)


def test_one_degree_is_every_fourth_quarter_degree_point():
    grid = GridConfig(0.25)
    lat, lon = grid.latitudes(), grid.longitudes()
    field = (lat[:, None] * 1000 + lon[None, :]).astype(np.float32)  # exact in float32
    ds = xr.Dataset({"2m_temperature": (("lat", "lon"), field)}, coords={"lat": lat, "lon": lon})
    one = coarsen_to_1deg(ds)
    check_grid(one, GridConfig(1.0))
    assert one.sizes == {"lat": 181, "lon": 360}
    assert one["lat"].values[0] == -90 and one["lat"].values[-1] == 90
    expected = one["lat"].values[:, None] * 1000 + one["lon"].values[None, :]
    np.testing.assert_array_equal(one["2m_temperature"].values, expected)
    with pytest.raises(DataValidationError, match="every 7th point"):
        subsample_grid(ds, 7)
    with pytest.raises(DataValidationError, match="1 deg grid"):
        coarsen_to_1deg(one.isel(lat=slice(None, None, 10), lon=slice(None, None, 10)))


def test_zarr_without_zarr_package_says_how_to_install(tmp_path, monkeypatch):
    store = tmp_path / "era5.zarr"
    store.mkdir()
    monkeypatch.setitem(sys.modules, "zarr", None)  # makes `import zarr` fail
    with pytest.raises(ImportError, match="pip install zarr"):
        open_era5(store)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.nc"):
        open_era5(tmp_path / "nothere.nc")


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_corrupt_file(tmp_path, fixture_dir, kind):
    good = (fixture_dir / "source.nc").read_bytes()
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"this is not a netcdf file" * 40 if kind == "garbage" else good[:2000])
    with pytest.raises(DataValidationError, match=r"cannot read .*bad\.nc.*corrupt"):
        open_era5(bad, task_config=builtin_config("gencast_tiny").task_config)
