"""Spherical white noise statistics, and the seeded / replayed noise sources.

Theory (module docstring of spherical_noise): unit variance at every point, and
Cov(f(p), f(q)) = (1 / L) sum_{l < L} P_l(cos gamma(p, q)), L = nlon / 2.
"""

import numpy as np
import pytest
import xarray as xr
from scipy.special import eval_legendre

from mindgencast.diffusion.noise_source import ReplayNoiseSource, SphericalNoiseSource
from mindgencast.diffusion.spherical_noise import spherical_white_noise, spherical_white_noise_like

LAT_10DEG = np.linspace(-90.0, 90.0, 19)
LON_10DEG = np.arange(36) * 10.0
NUM_FIELDS = 2000


def _theory_covariance(angle_degrees, num_wavenumbers):
    cos_gamma = np.cos(np.deg2rad(angle_degrees))
    return sum(eval_legendre(l, cos_gamma) for l in range(num_wavenumbers)) / num_wavenumbers


def _meridional_covariances(fields, lags):
    """Mean f(lat_i, lon) f(lat_{i+k}, lon) over fields, rows and lons: points 10 k degrees apart."""
    fields = fields.astype(np.float64)
    return np.array([(fields[:, :-k] * fields[:, k:]).mean() for k in lags])


@pytest.fixture(scope="module")
def fields_10deg():
    return spherical_white_noise(np.random.default_rng(0), LAT_10DEG, LON_10DEG, NUM_FIELDS)


def test_shape_dtype_and_single_valued_poles(fields_10deg):
    assert fields_10deg.shape == (NUM_FIELDS, 19, 36) and fields_10deg.dtype == np.float32
    # A continuous field on the sphere has one value at each pole.
    assert np.ptp(fields_10deg[:, 0], axis=1).max() < 1e-5
    assert np.ptp(fields_10deg[:, -1], axis=1).max() < 1e-5


def test_unit_variance_everywhere(fields_10deg):
    """Per-latitude mean square ~1 (no pile-up at the poles), and ~1 on an equal-area average."""
    per_lat = (fields_10deg.astype(np.float64) ** 2).mean(axis=(0, 2))
    # Each row holds >= NUM_FIELDS independent values: std of the mean square <= sqrt(2 / 2000) = 0.032.
    assert np.all(np.abs(per_lat - 1) < 5 * np.sqrt(2 / NUM_FIELDS)), per_lat
    # Cell areas of the pole-to-pole grid: bands of half-width 5 degrees, halved at the poles.
    weights = np.cos(np.deg2rad(LAT_10DEG))
    weights[[0, -1]] = (1 - np.cos(np.deg2rad(5.0))) / np.sin(np.deg2rad(5.0)) / 2
    area_mean = np.sum(per_lat * weights) / weights.sum()
    assert abs(area_mean - 1) < 0.02
    # No latitude dependence: northern and southern, polar and tropical bands agree.
    assert abs(per_lat[:5].mean() - per_lat[7:12].mean()) < 0.06


def test_isotropic_covariance_matches_legendre_theory(fields_10deg):
    lags = (1, 2, 3, 5)
    ours = _meridional_covariances(fields_10deg, lags)
    theory = _theory_covariance(10.0 * np.array(lags), 18)
    # Sampling std of these averages ~0.003 (seen over seeds); L = 17 or 19 would be off by 0.04.
    np.testing.assert_allclose(ours, theory, atol=0.012)
    # Zonal pairs at the same angular distance as meridional ones give the same covariance:
    # on the 60N row, 20 degrees of longitude are a great-circle distance gamma with cos gamma =
    # sin^2(60) + cos^2(60) cos(20).
    row = fields_10deg[:, 15].astype(np.float64)
    zonal = (row * np.roll(row, -2, axis=1)).mean()
    gamma = np.rad2deg(np.arccos(np.sin(np.deg2rad(60)) ** 2 + np.cos(np.deg2rad(60)) ** 2 * np.cos(np.deg2rad(20))))
    assert zonal == pytest.approx(_theory_covariance(gamma, 18), abs=0.02)


def test_reference_noise_has_the_same_statistics(fixture_dir):
    """DeepMind's draws (sampler_noise_draws.nc, 1920 fields) follow the same theory as ours."""
    draws = xr.load_dataset(fixture_dir / "sampler_noise_draws.nc", decode_timedelta=True)
    fields = np.concatenate([draws[name].values.reshape(-1, 19, 36) for name in draws.data_vars])
    assert abs((fields.astype(np.float64) ** 2).mean() - 1) < 0.02
    lags = (1, 2, 3, 5)
    np.testing.assert_allclose(_meridional_covariances(fields, lags), _theory_covariance(10.0 * np.array(lags), 18),
                               atol=0.012)  # fmt: skip


def test_independent_fields(fields_10deg):
    pairs = fields_10deg.reshape(NUM_FIELDS // 2, 2, -1).astype(np.float64)
    cross = (pairs[:, 0] * pairs[:, 1]).mean()
    assert abs(cross) < 5 * 0.43 / np.sqrt(NUM_FIELDS / 2)  # 0.43: neighbour correlation inflates the error


def test_other_grids():
    """Descending latitudes and grids without poles (Fejer, nlon = 2 nlat) work too."""
    rng = np.random.default_rng(1)
    descending = spherical_white_noise(rng, LAT_10DEG[::-1], LON_10DEG, 400)
    ascending = spherical_white_noise(np.random.default_rng(1), LAT_10DEG, LON_10DEG, 400)
    np.testing.assert_array_equal(descending, ascending[:, ::-1])
    lat_no_poles = np.linspace(-85.0, 85.0, 18)
    fields = spherical_white_noise(rng, lat_no_poles, LON_10DEG, 2000).astype(np.float64)
    assert np.all(np.abs((fields**2).mean(axis=(0, 2)) - 1) < 5 * np.sqrt(2 / 2000))
    lat_fine = np.linspace(-90.0, 90.0, 73)
    fine = spherical_white_noise(rng, lat_fine, np.arange(144) * 2.5, 100)
    assert abs((fine.astype(np.float64) ** 2).mean() - 1) < 0.1


@pytest.mark.parametrize(
    "lat, lon, message",
    [
        (LAT_10DEG, np.arange(37) * 360 / 37, "expected 36"),
        (np.linspace(-80.0, 80.0, 17), LON_10DEG, "globe"),
        (np.array([-90.0, -60.0, 0.0, 90.0]), np.arange(6) * 60.0, "equally spaced"),
        (LAT_10DEG, LON_10DEG[::-1], "longitudes"),
    ],
)
def test_bad_grids_are_rejected(lat, lon, message):
    with pytest.raises(ValueError, match=message):
        spherical_white_noise(np.random.default_rng(0), lat, lon, 1)


def _template(batch=2, names=("b_var", "a_var")):
    coords = {"lat": LAT_10DEG.astype(np.float32), "lon": LON_10DEG.astype(np.float32), "level": [500, 850]}
    data = {}
    for name in names:
        dims = ("batch", "time", "level", "lat", "lon") if name.startswith("a") else ("batch", "time", "lat", "lon")
        shape = [{"batch": batch, "time": 1, "level": 2, "lat": 19, "lon": 36}[d] for d in dims]
        data[name] = (dims, np.zeros(shape, np.float32))
    return xr.Dataset(data, coords=coords)


def test_noise_like_structure_and_sorted_order():
    template = _template()
    noise = spherical_white_noise_like(template, np.random.default_rng(3))
    assert list(noise.data_vars) == list(template.data_vars)
    for name in template.data_vars:
        assert noise[name].dims == template[name].dims and noise[name].dtype == np.float32
    xr.testing.assert_identical(noise.lat, template.lat)
    # Variables are drawn in sorted name order, whatever the Dataset order.
    reordered = spherical_white_noise_like(template[["a_var", "b_var"]], np.random.default_rng(3))
    xr.testing.assert_identical(noise, reordered[["b_var", "a_var"]])
    # a_var (sorted first) takes the first 2 x 2 fields of the stream in (batch, time, level) C order.
    direct = spherical_white_noise(np.random.default_rng(3), LAT_10DEG, LON_10DEG, 4)
    np.testing.assert_array_equal(noise["a_var"].values.reshape(4, 19, 36), direct)
    with pytest.raises(ValueError, match="lat"):
        spherical_white_noise_like(xr.Dataset({"x": ("batch", np.zeros(2))}), np.random.default_rng(0))


def test_spherical_source_is_seeded_and_batch_invariant():
    template = _template(batch=3)
    source = SphericalNoiseSource(seed=7)
    first = source(template, "churn", 4)
    xr.testing.assert_identical(first, SphericalNoiseSource(seed=7)(template, "churn", 4))
    # Different seed, kind or step: different noise.
    assert not np.array_equal(first["a_var"], SphericalNoiseSource(8)(template, "churn", 4)["a_var"])
    assert not np.array_equal(first["a_var"], source(template, "init", 4)["a_var"])
    assert not np.array_equal(first["a_var"], source(template, "churn", 5)["a_var"])
    # Member 2 drawn alone, with its key, equals member 2 of the batch of 3.
    alone = SphericalNoiseSource(seed=7, batch_keys=[(2,)])(template.isel(batch=[2]), "churn", 4)
    xr.testing.assert_identical(alone, first.isel(batch=[2]))
    # Batch elements are independent draws.
    assert not np.array_equal(first["b_var"][0], first["b_var"][1])
    with pytest.raises(ValueError, match="batch_keys"):
        SphericalNoiseSource(seed=7, batch_keys=[(0,)])(template, "init", 0)
    with pytest.raises(ValueError, match="kind"):
        source(template, "final", 0)


def test_replay_source_returns_the_captured_draws(fixture_dir):
    draws = xr.load_dataset(fixture_dir / "sampler_noise_draws.nc", decode_timedelta=True)
    template = xr.zeros_like(draws.isel(draw=0, drop=True))  # drop=True drops the draw_* coords
    assert not any(name.startswith("draw") for name in template.coords)
    source = ReplayNoiseSource(draws)
    for kind, step, position in [("init", 0, 0), ("churn", 0, 1), ("churn", 6, 13), ("churn", 19, 39)]:
        noise = source(template, kind, step)
        for name in template.data_vars:
            np.testing.assert_array_equal(noise[name].values, draws[name].isel(draw=position).values)
    # The returned noise takes the template's dim order and coordinates.
    transposed = template.transpose("lon", ...)
    noise = source(transposed, "churn", 3)
    assert noise["temperature"].dims == transposed["temperature"].dims
    np.testing.assert_array_equal(noise["temperature"].values, draws["temperature"].isel(draw=7).transpose("lon", ...))
    with pytest.raises(KeyError, match="'churn' draw for sampler step 20"):
        source(template, "churn", 20)
    with pytest.raises(ValueError, match="no variable 'extra'"):
        source(template.assign(extra=template["temperature"]), "init", 0)


def test_replay_from_initial_noise(fixture_dir):
    initial = xr.load_dataset(fixture_dir / "sampler_initial_noise.nc", decode_timedelta=True)
    source = ReplayNoiseSource.from_initial_noise(initial)
    xr.testing.assert_identical(source(xr.zeros_like(initial), "init", 0), initial)
    with pytest.raises(KeyError, match="available: init@0"):
        source(initial, "churn", 0)
