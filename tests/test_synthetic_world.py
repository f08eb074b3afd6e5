"""The synthetic world's datasets: layout, units, plausible values, masks, determinism, cycles.

Expected values come from physics and GenCast's clock definitions (graphcast
data_utils: year progress = s / 86400 / 365.24219 mod 1, day progress =
s mod 86400 / 86400 + lon / 360 mod 1), re-derived here, not from the generator.
"""

import numpy as np
import pandas as pd
import pytest

from mindgencast.config import GridConfig, TaskConfig
from mindgencast.config.builtin import builtin_config
from mindgencast.config.variables import VARIABLES
from mindgencast.data.synthetic import SyntheticWorld, SyntheticWorldConfig

G = 9.80665


def _task(variables, levels):
    return TaskConfig(input_variables=tuple(variables), target_variables=tuple(variables), forcing_variables=(),
                      pressure_levels=tuple(levels), input_duration="24h")


@pytest.fixture(scope="module")
def tiny_task():
    return builtin_config("gencast_tiny").task_config


@pytest.fixture(scope="module")
def tiny_data(tiny_task):
    return SyntheticWorld(tiny_task, 10.0, seed=0, time_step="6h").generate("2000-01-01", days=4)


@pytest.fixture(scope="module")
def year_data():
    """One year, 6-hourly, of 2 m temperature and z500 (for the cycles and predictability)."""
    world = SyntheticWorld(_task(["2m_temperature", "geopotential", "land_sea_mask"], [500]), 10.0, seed=1)
    return world.generate("2001-01-01", days=365)


def _clock(times, lon):
    s = np.asarray(times, dtype="datetime64[s]").astype(np.int64)
    year = np.mod(s / 86400 / 365.24219, 1.0)
    day = np.mod(np.mod(s, 86400)[:, None] / 86400 + np.asarray(lon)[None, :] / 360.0, 1.0)
    return year, day


def test_layout_follows_weatherbench2_and_the_task(tiny_task, tiny_data):
    ds = tiny_data
    expected = {v for v in tiny_task.input_variables + tiny_task.target_variables if VARIABLES[v].kind != "forcing"}
    assert set(ds.data_vars) == expected
    assert np.issubdtype(ds.time.dtype, np.datetime64)
    assert ds.time.size == 16 and (np.diff(ds.time.values) == np.timedelta64(6, "h")).all()
    assert ds.level.dtype == np.int32 and list(ds.level.values) == [500, 700, 850]
    np.testing.assert_array_equal(ds.lat.values, np.linspace(-90, 90, 19))
    np.testing.assert_array_equal(ds.lon.values, np.arange(36) * 10.0)
    for name, array in ds.data_vars.items():
        info = VARIABLES[name]
        assert array.dtype == np.float32, name
        assert array.attrs["units"] == info.units, name
        if info.kind == "static":
            assert array.dims == ("lat", "lon"), name
        elif info.atmospheric:
            assert array.dims == ("time", "level", "lat", "lon"), name
        else:
            assert array.dims == ("time", "lat", "lon"), name


def test_dry_task_on_another_grid_and_levels():
    task = _task(["temperature", "geopotential", "u_component_of_wind", "v_component_of_wind", "2m_temperature",
                  "mean_sea_level_pressure", "year_progress_sin"], [850, 250, 500])
    ds = SyntheticWorld(task, GridConfig(5.625), seed=0, time_step="12h").generate("1990-06-01", days=2)
    assert set(ds.data_vars) == {"temperature", "geopotential", "u_component_of_wind", "v_component_of_wind",
                                 "2m_temperature", "mean_sea_level_pressure"}
    assert list(ds.level.values) == [250, 500, 850]
    assert ds.sizes == {"time": 4, "level": 3, "lat": 33, "lon": 64}
    # geopotential decreases with pressure at every point: a hydrostatic column
    z = ds.geopotential.values
    assert (z[:, 0] > z[:, 1]).all() and (z[:, 1] > z[:, 2]).all()


def test_values_are_physically_plausible(tiny_data):
    ds = tiny_data
    bounds = {
        "2m_temperature": (190, 330), "temperature": (180, 320), "sea_surface_temperature": (271.35, 310),
        "mean_sea_level_pressure": (9.0e4, 1.1e5), "10m_u_component_of_wind": (-60, 60),
        "10m_v_component_of_wind": (-60, 60), "u_component_of_wind": (-100, 120), "v_component_of_wind": (-100, 100),
        "vertical_velocity": (-5, 5), "specific_humidity": (0, 0.04), "total_precipitation_12hr": (0, 0.1),
        "land_sea_mask": (0, 1), "geopotential_at_surface": (0, G * 9000),
    }
    for name, (low, high) in bounds.items():
        values = ds[name].values
        assert np.nanmin(values) >= low and np.nanmax(values) <= high, name
    assert ds.specific_humidity.min() > 0
    assert (ds.total_precipitation_12hr > 0).mean() > 0.1  # it does rain
    # geopotential ~ g * height of the level in the standard atmosphere (5.57 km, 3.01 km, 1.46 km)
    for level, height in [(500, 5574), (700, 3012), (850, 1457)]:
        assert abs(float(ds.geopotential.sel(level=level).mean()) / G - height) < 250, level
    # temperature and humidity decrease with height; msl near 1013 hPa
    t = ds.temperature.mean(("time", "lat", "lon")).values
    q = ds.specific_humidity.mean(("time", "lat", "lon")).values
    assert t[0] < t[1] < t[2] and q[0] < q[1] < q[2]
    assert abs(float(ds.mean_sea_level_pressure.mean()) - 101325) < 1000
    # land: about 30 % of the area
    weights = np.cos(np.deg2rad(ds.lat.values))[:, None] * np.ones(ds.lon.size)
    assert 0.2 < np.sum(weights * (ds.land_sea_mask.values > 0.5)) / weights.sum() < 0.4


def test_sst_is_nan_exactly_over_land_at_every_time(tiny_data):
    land = tiny_data.land_sea_mask.values > 0.5
    sst = tiny_data.sea_surface_temperature.values
    assert land.any() and (~land).any()
    for frame in sst:
        np.testing.assert_array_equal(np.isnan(frame), land)
    assert not any(np.isnan(tiny_data[v].values).any() for v in tiny_data.data_vars if v != "sea_surface_temperature")


def test_deterministic_given_seed_and_consistent_across_windows(tiny_task, tiny_data):
    again = SyntheticWorld(tiny_task, 10.0, seed=0, time_step="6h").generate("2000-01-01", days=4)
    for name in tiny_data.data_vars:
        np.testing.assert_array_equal(again[name].values, tiny_data[name].values)
    window = SyntheticWorld(tiny_task, 10.0, seed=0, time_step="6h").generate("2000-01-02", end="2000-01-03T18:00")
    part = tiny_data.sel(time=window.time)
    for name in window.data_vars:
        np.testing.assert_array_equal(window[name].values, part[name].values)
    other = SyntheticWorld(tiny_task, 10.0, seed=1, time_step="6h").generate("2000-01-01", days=4)
    assert not np.allclose(other.temperature.values, tiny_data.temperature.values)
    np.testing.assert_array_equal(other.land_sea_mask.values, tiny_data.land_sea_mask.values)  # same law


def test_seasonal_cycle_peaks_in_local_summer(year_data):
    year, _ = _clock(year_data.time.values, year_data.lon.values)
    t2m = year_data["2m_temperature"]
    design = np.stack([np.ones_like(year), np.cos(2 * np.pi * year), np.sin(2 * np.pi * year)], axis=1)
    for lats, peak in [(slice(40, 90), 0.54), (slice(-90, -40), 0.04)]:  # mid July / early January
        series = t2m.sel(lat=lats).mean(("lat", "lon")).values
        coef = np.linalg.lstsq(design, series, rcond=None)[0]
        phase = np.mod(np.arctan2(coef[2], coef[1]) / (2 * np.pi), 1.0)
        amplitude = np.hypot(coef[1], coef[2])
        assert amplitude > 3.0
        # one year of weather (persistent large-scale anomalies) shifts the fitted phase by ~0.02
        assert abs((phase - peak + 0.5) % 1.0 - 0.5) < 0.05, (lats, phase)


def test_diurnal_cycle_peaks_in_the_local_afternoon(year_data):
    _, day = _clock(year_data.time.values, year_data.lon.values)  # [time, lon]
    t2m = year_data["2m_temperature"].values
    tropics = np.abs(year_data.lat.values) <= 30
    land = year_data.land_sea_mask.values > 0.5
    anomalies, phases = [], []
    for i in np.flatnonzero(tropics):
        for j in np.flatnonzero(land[i]):
            anomalies.append(t2m[:, i, j] - t2m[:, i, j].mean())
            phases.append(day[:, j])
    assert len(anomalies) > 10
    a, d = np.concatenate(anomalies), 2 * np.pi * np.concatenate(phases)
    coef = np.linalg.lstsq(np.stack([np.cos(d), np.sin(d)], axis=1), a, rcond=None)[0]
    phase = np.mod(np.arctan2(coef[1], coef[0]) / (2 * np.pi), 1.0)
    assert abs(phase - 15 / 24) < 0.03  # 15:00 local solar time
    assert np.hypot(*coef) > 2.0  # K, land amplitude


def test_weather_is_predictable_at_short_range_only(year_data):
    z = year_data.geopotential.sel(level=500).values
    anomaly = z - z.mean(axis=0)

    def autocorrelation(lag_steps):
        a, b = anomaly[lag_steps:], anomaly[:-lag_steps]
        return np.mean(a * b) / np.sqrt(np.mean(a * a) * np.mean(b * b))

    assert autocorrelation(2) > 0.85  # 12 h
    assert autocorrelation(40) < 0.3  # 10 days


def test_bad_arguments_get_clear_errors(tiny_task):
    with pytest.raises(ValueError, match="cannot generate variable 'total_cloud_cover'"):
        SyntheticWorld(_task(["2m_temperature", "total_cloud_cover"], []), 10.0)
    with pytest.raises(ValueError, match="time_step"):
        SyntheticWorld(tiny_task, 10.0, time_step="5h")
    with pytest.raises(ValueError, match="cannot resolve"):
        SyntheticWorld(tiny_task, 30.0)
    world = SyntheticWorld(tiny_task, 10.0, time_step="6h")
    with pytest.raises(ValueError, match="not on this world's time axis"):
        world.generate("2000-01-01T03:00", days=1)
    with pytest.raises(ValueError, match="days= or end="):
        world.generate("2000-01-01")
    with pytest.raises(ValueError, match="seed"):
        SyntheticWorld(tiny_task, 10.0, seed=-1)


def test_config_round_trips_through_dataset_attributes(tiny_data):
    world = SyntheticWorld.from_dataset(tiny_data)
    assert world.seed == 0
    assert world.config == SyntheticWorldConfig.from_json(tiny_data.attrs["synthetic_world"])
    np.testing.assert_array_equal(world.generate("2000-01-01", days=1).temperature.values,
                                  tiny_data.temperature.values[:4])
    assert pd.Timestamp(world.config.epoch) == pd.Timestamp("1940-01-01")
