"""The synthetic world's analytic climatology against samples of the world itself.

Two checks: (1) Monte Carlo with independent draws from the stationary law at
uniformly random times (so the sampling error is known from the sample: z-tests
at 5 standard errors), covering every kind of field (linear, log-normal humidity,
censored SST, positive precipitation) and the 12-h differences; (2) the generator's
latent transitions are exactly the law (whitened innovations are white and unit),
and two years of generated data match the moments to a few percent.
"""

import numpy as np
import pytest

from mindgencast.config import TaskConfig
from mindgencast.config.builtin import builtin_config
from mindgencast.data.synthetic import SyntheticWorld

_SAMPLES = 1500
_CHUNK = 250


@pytest.fixture(scope="module")
def world():
    return SyntheticWorld(builtin_config("gencast_tiny").task_config, 10.0, seed=0, time_step="6h")


@pytest.fixture(scope="module")
def moments(world):
    return world.climatology_moments()


@pytest.fixture(scope="module")
def stationary_samples(world, moments):
    """Per-sample pooled statistics of fields at random times t and t + 12 h with z(t) ~ N(0, S).

    Returns {(name, level): {"mean", "sq", "diff", "min": [N]}}: the grid mean of Y(t), of
    (Y(t) - analytic mean)^2, of (Y(t + 12 h) - Y(t))^2, and the grid minimum (NaNs skipped).
    Each is iid over samples, with expectation mean, stddev^2, diffs_stddev^2 of the climatology.
    """
    rng = np.random.default_rng(123)
    M, C = world.process.transition(0.5)
    out = {}
    for _ in range(_SAMPLES // _CHUNK):
        seconds = rng.integers(0, 4 * 365 * 86400, _CHUNK)
        t1 = np.datetime64("2001-01-01T00", "s") + seconds.astype("timedelta64[s]")
        z1 = rng.standard_normal((_CHUNK, world.process.dim)) @ world.process.stationary_sqrt().T
        z2 = z1 @ M.T + rng.standard_normal(z1.shape) @ C.T
        f1, f2 = world.fields(z1, t1), world.fields(z2, t1 + np.timedelta64(12, "h"))
        for (name, level), y1 in f1.items():
            mean = float(moments.mean[name].sel({} if level is None else {"level": level}))
            record = out.setdefault((name, level), {"mean": [], "sq": [], "diff": [], "min": []})
            record["mean"].append(np.nanmean(y1, axis=(1, 2)))
            record["sq"].append(np.nanmean((y1 - mean) ** 2, axis=(1, 2)))
            record["diff"].append(np.nanmean((f2[(name, level)] - y1) ** 2, axis=(1, 2)))
            record["min"].append(np.nanmin(y1, axis=(1, 2)))
    return {key: {k: np.concatenate(v) for k, v in record.items()} for key, record in out.items()}


def _z_test(per_sample, expected, label):
    mean = per_sample.mean()
    se = per_sample.std(ddof=1) / np.sqrt(per_sample.size)
    assert abs(mean - expected) <= 5 * se + 1e-6 * abs(expected), (label, mean, expected, se)


def test_analytic_moments_match_stationary_monte_carlo(world, moments, stationary_samples):
    kinds = set()
    for (name, level), record in stationary_samples.items():
        sel = {} if level is None else {"level": level}
        _z_test(record["mean"], float(moments.mean[name].sel(sel)), (name, level, "mean"))
        _z_test(record["sq"], float(moments.stddev[name].sel(sel)) ** 2, (name, level, "var"))
        _z_test(record["diff"], float(moments.diffs_stddev[name].sel(sel)) ** 2, (name, level, "diff"))
        kinds.add(world.laws[(name, level)].recipe.kind)
    assert kinds == {"linear", "lognormal", "censored", "positive"}


def test_minimum_is_a_lower_bound_and_sst_floor_is_the_nan_fill(moments, stationary_samples):
    assert float(moments.minimum["sea_surface_temperature"]) == pytest.approx(271.35)
    assert float(moments.minimum["total_precipitation_12hr"]) == 0.0
    for (name, level), record in stationary_samples.items():
        bound = float(moments.minimum[name].sel({} if level is None else {"level": level}))
        assert record["min"].min() >= bound - 1e-6 * max(1.0, abs(bound)), (name, level)  # float32 stats


def test_progress_and_static_statistics(world, moments):
    # 12-h differences of the clock features, from their definitions
    assert float(moments.diffs_stddev["day_progress_sin"]) == pytest.approx(np.sqrt(2), rel=1e-6)
    assert float(moments.diffs_stddev["year_progress_sin"]) == pytest.approx(
        np.sqrt(2) * np.sin(np.pi * 0.5 / 365.24219), rel=1e-5)
    assert float(moments.stddev["year_progress"]) == pytest.approx(1 / np.sqrt(12), rel=1e-6)
    lsm = world.statics["land_sea_mask"]
    assert float(moments.mean["land_sea_mask"]) == pytest.approx(lsm.mean(), rel=1e-6)
    assert moments.mean.temperature.dims == ("level",) and moments.mean.level.dtype == np.int32
    assert all(moments.mean[v].dtype == np.float32 for v in moments.mean.data_vars)


def test_generator_transitions_are_the_known_law(world):
    times = np.datetime64("1990-01-01T00", "ns") + np.arange(8000) * np.timedelta64(6, "h")
    z = world.latent_states(times)
    M, C = world.process.transition(0.25)
    innovations = np.linalg.solve(C, (z[1:] - z[:-1] @ M.T).T).T  # should be iid N(0, I)
    cov = innovations.T @ innovations / len(innovations)
    # 8000 samples: entries of the sample covariance have standard error 1/sqrt(8000) ~ 0.011
    assert np.abs(cov - np.eye(world.process.dim)).max() < 0.07
    lag1 = innovations[1:].T @ innovations[:-1] / len(innovations)
    assert np.abs(lag1).max() < 0.07
    assert np.abs(innovations.mean(axis=0)).max() < 0.06


def test_two_generated_years_match_the_climatology():
    task = TaskConfig(input_variables=("2m_temperature", "geopotential", "specific_humidity",
                                       "sea_surface_temperature", "land_sea_mask"),
                      target_variables=("total_precipitation_12hr",), forcing_variables=(),
                      pressure_levels=(500, 850), input_duration="24h")
    world = SyntheticWorld(task, 10.0, seed=5, time_step="6h")
    data = world.generate("2002-01-01", days=730)
    moments = world.climatology_moments()
    for name in ("2m_temperature", "geopotential", "specific_humidity", "sea_surface_temperature",
                 "total_precipitation_12hr"):
        array = data[name]
        dims = ("time", "lat", "lon")
        std = moments.stddev[name]
        # two years hold ~120 independent samples of the slowest waves: a few percent of error
        np.testing.assert_array_less(np.abs(array.mean(dims) - moments.mean[name]) / std, 0.06)
        np.testing.assert_array_less(np.abs(array.std(dims) / std - 1), 0.06)
        diffs = array.isel(time=slice(2, None)).values - array.isel(time=slice(None, -2)).values
        axes = (0,) + tuple(range(diffs.ndim - 2, diffs.ndim))
        rms = np.sqrt(np.nanmean(diffs**2, axis=axes))
        np.testing.assert_array_less(np.abs(rms / moments.diffs_stddev[name].values - 1), 0.06)
