"""Streaming normalisation statistics: known moments of an AR(1) world, streaming ==
in-memory, save/load round trip, CLI, bad input."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.cli.main import main as cli_main
from mindgencast.data.derived_forcings import add_derived_forcings
from mindgencast.data.normalization import NormalizationStats, normalize
from mindgencast.data.stats import compute_statistics

# The law of the test world: x(t+dt) - mu = phi (x(t) - mu) + sigma sqrt(1 - phi^2) eps,
# stationary N(mu, sigma^2), so Var[x(t + k dt) - x(t)] = 2 sigma^2 (1 - phi^k).
PHI = 0.8
LAW = {  # name: (mu, sigma) per level
    "temperature": (np.array([250.0, 280.0]), np.array([5.0, 10.0])),
    "2m_temperature": (np.array([285.0]), np.array([3.0])),
    "sea_surface_temperature": (np.array([290.0]), np.array([2.0])),
}


def _ar1_world(num_times: int, step_hours: int, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    lat, lon, levels = np.linspace(-90, 90, 4), np.arange(8) * 45.0, np.array([500, 850], np.int32)
    times = pd.date_range("2000-01-01", periods=num_times, freq=f"{step_hours}h").values
    land = np.zeros((lat.size, lon.size), bool)
    land[1:3, 2:5] = True
    out = {}
    for name, (mu, sigma) in LAW.items():
        shape = (num_times, mu.size, lat.size, lon.size)
        x = np.empty(shape)
        x[0] = rng.standard_normal(shape[1:])
        for t in range(1, num_times):
            x[t] = PHI * x[t - 1] + np.sqrt(1 - PHI**2) * rng.standard_normal(shape[1:])
        x = mu[:, None, None] + sigma[:, None, None] * x
        if name == "temperature":
            out[name] = (("time", "level", "lat", "lon"), x.astype(np.float32))
        else:
            out[name] = (("time", "lat", "lon"), x[:, 0].astype(np.float32))
    out["sea_surface_temperature"][1][:, land] = np.nan
    out["land_sea_mask"] = (("lat", "lon"), land.astype(np.float32))
    return xr.Dataset(out, coords={"time": times, "level": levels, "lat": lat, "lon": lon})


@pytest.fixture(scope="module")
def world():
    return _ar1_world(num_times=1500, step_hours=6)


def _per_level(ds: xr.Dataset, name: str) -> np.ndarray:
    return np.atleast_1d(ds[name].values)


def test_known_moments_of_an_ar1_world(world):
    stats = compute_statistics(world, time_chunk=100)
    for name, (mu, sigma) in LAW.items():
        # 48,000 samples per level, correlated in time: standard errors are ~0.014 sigma
        # for the mean and ~0.7% for the stddevs; tolerances are 5 of them.
        np.testing.assert_allclose(_per_level(stats.mean_by_level, name), mu, atol=0.07 * sigma.max())
        np.testing.assert_allclose(_per_level(stats.stddev_by_level, name), sigma, rtol=0.035)
        # 6-hourly data: a 12 h difference is a lag-2 difference, Var = 2 sigma^2 (1 - phi^2).
        expected = sigma * np.sqrt(2 * (1 - PHI**2))
        np.testing.assert_allclose(_per_level(stats.diffs_stddev_by_level, name), expected, rtol=0.035)
    assert stats.mean_by_level["temperature"].dims == ("level",)
    np.testing.assert_array_equal(stats.mean_by_level["level"].values, [500, 850])
    assert stats.diffs_stddev_by_level["land_sea_mask"].item() == 0.0  # static field
    assert all(v.dtype == np.float32 for v in stats.stddev_by_level.data_vars.values())


def test_twelve_hourly_data_uses_lag_one(world):
    stats = compute_statistics(world.isel(time=slice(0, None, 2)), variables=["temperature"])
    # Sub-sampled to 12 h, the AR coefficient per step is phi^2; the 12 h difference is
    # lag 1 with the same variance 2 sigma^2 (1 - phi^2) as before.
    mu, sigma = LAW["temperature"]
    np.testing.assert_allclose(stats.diffs_stddev_by_level["temperature"].values,
                               sigma * np.sqrt(2 * (1 - PHI**2)), rtol=0.05)


def _in_memory(ds: xr.Dataset, name: str, lag: int):
    """Moments of the whole array at once (float64 numpy), per level."""
    x = ds[name]
    x = x.transpose("level", ...) if "level" in x.dims else x.expand_dims("level")
    a = x.values.astype(np.float64)
    flat = a.reshape(a.shape[0], -1)
    if "time" in x.dims:
        t = x.dims.index("time")
        d = np.take(a, np.arange(lag, a.shape[t]), axis=t) - np.take(a, np.arange(a.shape[t] - lag), axis=t)
        dstd = np.nanstd(d.reshape(a.shape[0], -1), axis=1)
    else:
        dstd = np.zeros(a.shape[0])
    return np.nanmean(flat, axis=1), np.nanstd(flat, axis=1), dstd, np.nanmin(flat, axis=1)


@pytest.mark.parametrize("time_chunk", [1, 7, 5000])
def test_streaming_equals_in_memory(world, time_chunk):
    small = world.isel(time=slice(0, 60))
    stats = compute_statistics(small, time_chunk=time_chunk)
    full = add_derived_forcings(small)
    names = list(LAW) + ["land_sea_mask", "year_progress_sin", "day_progress", "day_progress_cos"]
    for name in names:
        mean, std, dstd, low = _in_memory(full, name, lag=2)
        for table, want in [("mean_by_level", mean), ("stddev_by_level", std),
                            ("diffs_stddev_by_level", dstd), ("min_by_level", low)]:
            got = _per_level(getattr(stats, table), name)
            # float64 accumulation rounded once to float32: agreement to float32 precision.
            np.testing.assert_allclose(got, want.astype(np.float32), rtol=2e-7, atol=1e-7,
                                       err_msg=f"{table}[{name}]")


def test_saved_statistics_load_and_normalise(world, tmp_path):
    stats = compute_statistics(world, time_chunk=256)
    stats.save(tmp_path)
    loaded = NormalizationStats.load(tmp_path)
    for table in ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level", "min_by_level"):
        xr.testing.assert_identical(getattr(loaded, table), getattr(stats, table))
    # Invariant: the data normalised with its own statistics has mean 0 and stddev 1.
    norm = normalize(world[["temperature", "sea_surface_temperature"]], loaded)
    for name in ("temperature", "sea_surface_temperature"):
        dims = [d for d in norm[name].dims if d != "level"]
        np.testing.assert_allclose(norm[name].mean(dims).values, 0.0, atol=1e-4)
        np.testing.assert_allclose(norm[name].std(dims).values, 1.0, rtol=1e-4)


def test_cli_writes_loadable_statistics(world, tmp_path):
    path = tmp_path / "world.nc"
    world.isel(time=slice(0, 40)).to_netcdf(path)
    out = tmp_path / "stats"
    assert cli_main(["stats", "--data", str(path), "--out", str(out), "--levels", "850",
                     "--time-chunk", "9"]) == 0
    stats = NormalizationStats.load(out)
    direct = compute_statistics(world.isel(time=slice(0, 40)), levels=[850])
    np.testing.assert_array_equal(stats.mean_by_level["level"].values, [850])
    xr.testing.assert_allclose(stats.stddev_by_level, direct.stddev_by_level, rtol=1e-6)


def test_bad_input_is_named(world, tmp_path):
    with pytest.raises(ValueError, match=r"\[300\] hPa"):
        compute_statistics(world, levels=[300, 500])
    with pytest.raises(ValueError, match="not regular"):
        compute_statistics(world.isel(time=[0, 1, 2, 4, 5]))
    with pytest.raises(ValueError, match="specific_humidity"):
        compute_statistics(world, variables=["specific_humidity"])
    out = tmp_path / "never"
    assert cli_main(["stats", "--data", str(tmp_path / "missing.nc"), "--out", str(out)]) == 2
    assert not out.exists()
    with pytest.raises(FileNotFoundError, match="min_by_level.nc"):
        NormalizationStats.load(tmp_path)


def test_matches_the_synthetic_worlds_analytic_moments():
    """Two generated years of the built-in synthetic world against its analytic climatology."""
    from mindgencast.config import TaskConfig
    from mindgencast.data.synthetic import SyntheticWorld

    task = TaskConfig(input_variables=("2m_temperature", "temperature", "specific_humidity",
                                       "sea_surface_temperature", "year_progress_sin", "day_progress_cos"),
                      target_variables=("total_precipitation_12hr",), forcing_variables=(),
                      pressure_levels=(500, 850), input_duration="24h")
    world = SyntheticWorld(task, 10.0, seed=5, time_step="6h")
    stats = compute_statistics(world.generate("2002-01-01", days=730), time_chunk=200)
    law = world.climatology_moments()
    names = ("2m_temperature", "temperature", "specific_humidity", "sea_surface_temperature",
             "total_precipitation_12hr", "year_progress_sin", "year_progress_cos", "day_progress_sin",
             "day_progress_cos")
    for name in names:
        std = law.stddev[name].values
        # Two years hold ~120 independent samples of the slowest waves: a few percent of error
        # (the same bound as the world's own test of its moments).
        np.testing.assert_array_less(np.abs(stats.mean_by_level[name].values - law.mean[name].values) / std, 0.06,
                                     err_msg=name)
        np.testing.assert_array_less(np.abs(stats.stddev_by_level[name].values / std - 1), 0.06, err_msg=name)
        np.testing.assert_array_less(np.abs(stats.diffs_stddev_by_level[name].values / law.diffs_stddev[name].values
                                            - 1), 0.06, err_msg=name)
    assert stats.min_by_level["sea_surface_temperature"].item() == pytest.approx(271.35)  # the world's SST floor


def test_series_without_a_12h_pair_is_a_clear_error():
    times = pd.date_range("2000-01-01", periods=2, freq="6h")
    ds = xr.Dataset({"2m_temperature": (("time", "lat", "lon"), np.full((2, 3, 4), 280.0, np.float32))},
                    coords={"time": times, "lat": [-90.0, 0.0, 90.0], "lon": [0.0, 90.0, 180.0, 270.0]})
    with pytest.raises(ValueError, match="no pair 12h apart|no pair 0 days 12:00:00 apart"):
        compute_statistics(ds, variables=["2m_temperature"])
