"""Every sampler against the exact denoiser of Gaussian data N(mu, s^2).

For data y ~ N(mu, s^2) and x = y + sigma n, the exact denoiser is
D(x; sigma) = E[y | x] = (s^2 x + sigma^2 mu) / (s^2 + sigma^2), the noisy marginal is
N(mu, s^2 + sigma^2), and the probability-flow ODE dx/dsigma = (x - D) / sigma has the closed
form x(sigma) = mu + (x(sigma_0) - mu) sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma_0^2).
"""

import numpy as np
import pytest
import xarray as xr

from mindgencast.config import SamplerConfig
from mindgencast.diffusion.noise_source import SphericalNoiseSource
from mindgencast.diffusion.samplers import (
    SAMPLERS,
    run_sampler,
    sample_dpmpp_2s,
    sample_euler,
    sample_heun,
)
from mindgencast.diffusion.schedules import noise_schedule

NUM_SAMPLES = 50_000
SIGMA_MAX, SIGMA_MIN, RHO = 80.0, 0.03, 7.0

# (sampler, steps, params): steps chosen so the discretisation bias is below the sampling
# error (checked at 4x the steps); churn strong enough to matter (gamma_i ~ 0.08 and 0.16).
CASES = [
    ("dpmpp2s", 128, dict(s_churn=10.0, s_tmin=0.05, s_tmax=np.inf, s_noise=1.0)),
    ("dpmpp2s", 64, {}),
    ("heun", 64, {}),
    ("euler", 1000, {}),
    ("edm_sde", 256, dict(s_churn=40.0, s_tmin=0.05, s_tmax=np.inf, s_noise=1.0)),
    ("euler_maruyama", 500, {}),
]


def gaussian_denoiser(mu, s):
    def denoise(x, sigma):
        return (s**2 * x + sigma**2 * mu) / (s**2 + sigma**2)

    return denoise


def numpy_noise_source(seed):
    rng = np.random.default_rng(seed)
    return lambda template, kind, step: rng.standard_normal(np.shape(template))


def exact_ode_solution(x_start, sigma_start, sigma_end, mu, s):
    return mu + (x_start - mu) * np.sqrt(s**2 + sigma_end**2) / np.sqrt(s**2 + sigma_start**2)


@pytest.mark.parametrize("mu, s", [(0.0, 1.0), (2.5, 0.5), (-1.0, 2.0)])
@pytest.mark.parametrize("name, steps, params", CASES, ids=[f"{c[0]}-{c[1]}-{bool(c[2])}" for c in CASES])
def test_samples_have_data_mean_and_std(name, steps, params, mu, s):
    rng = np.random.default_rng(0)
    # Start from the exact noisy marginal N(mu, s^2 + sigma_0^2), so only the sampler is tested.
    x = mu + np.sqrt(s**2 + SIGMA_MAX**2) * rng.standard_normal(NUM_SAMPLES)
    sigmas = noise_schedule(SIGMA_MAX, SIGMA_MIN, steps, RHO)
    samples = SAMPLERS[name](gaussian_denoiser(mu, s), sigmas, x, numpy_noise_source(1), **params)
    # Sampling errors: std(mean) = s / sqrt(n), std(std) = s / sqrt(2 n); 4 of them (fixed seeds).
    assert abs(samples.mean() - mu) < 4 * s / np.sqrt(NUM_SAMPLES)
    assert abs(samples.std() - s) < 4 * s / np.sqrt(2 * NUM_SAMPLES)


@pytest.mark.parametrize("name", ["dpmpp2s", "edm_sde"])
def test_churn_noise_is_injected(name):
    """S_noise = 1.05 (GenCast) injects more noise than the denoiser removes: wider samples.
    Guards against churn that is computed but never added."""
    mu, s = 0.0, 1.0
    x = np.sqrt(s**2 + SIGMA_MAX**2) * np.random.default_rng(0).standard_normal(NUM_SAMPLES)
    sigmas = noise_schedule(SIGMA_MAX, SIGMA_MIN, 128, RHO)
    params = dict(s_churn=10.0, s_tmin=0.05, s_tmax=np.inf)
    plain = SAMPLERS[name](gaussian_denoiser(mu, s), sigmas, x, numpy_noise_source(1), s_noise=1.0, **params)
    inflated = SAMPLERS[name](gaussian_denoiser(mu, s), sigmas, x, numpy_noise_source(1), s_noise=1.05, **params)
    assert inflated.std() - plain.std() > 10 * s / np.sqrt(2 * NUM_SAMPLES)
    with pytest.raises(ValueError, match="noise_source"):
        SAMPLERS[name](gaussian_denoiser(mu, s), sigmas, x, None, s_churn=1.0)


@pytest.mark.parametrize("name", ["dpmpp2s", "heun", "euler", "edm_sde"])
def test_ode_samplers_are_deterministic(name):
    x = 80.0 * np.random.default_rng(5).standard_normal(1000)
    sigmas = noise_schedule(SIGMA_MAX, SIGMA_MIN, 20, RHO)
    denoise = gaussian_denoiser(0.3, 0.7)
    # Without churn no noise is ever requested: a source that fails proves it.
    first = SAMPLERS[name](denoise, sigmas, x, _failing_source)
    np.testing.assert_array_equal(first, SAMPLERS[name](denoise, sigmas, x.copy(), None))
    np.testing.assert_array_equal(x, 80.0 * np.random.default_rng(5).standard_normal(1000))  # input untouched


def _failing_source(template, kind, step):
    raise AssertionError(f"deterministic sampler asked for {kind} noise at step {step}")


@pytest.mark.parametrize("sampler, order", [(sample_heun, 2), (sample_dpmpp_2s, 2), (sample_euler, 1)])
def test_convergence_order(sampler, order):
    """Error vs the exact ODE solution at sigma_min falls 2^order x when the steps double.

    The schedule stops at sigma_min (no final 0), so every step is of the method's order."""
    mu, s = 0.7, 1.3
    x = mu + np.sqrt(s**2 + SIGMA_MAX**2) * np.linspace(-2, 2, 9)
    exact = exact_ode_solution(x, SIGMA_MAX, SIGMA_MIN, mu, s)
    errors = []
    for steps in (16, 32, 64):
        sigmas = noise_schedule(SIGMA_MAX, SIGMA_MIN, steps, RHO)[:-1]
        errors.append(np.abs(sampler(gaussian_denoiser(mu, s), sigmas, x) - exact).max())
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    # Observed: Heun 4.5, 4.2; DPM-Solver++(2S) 4.0, 4.0; Euler 1.99, 2.00.
    np.testing.assert_allclose(ratios, 2.0**order, rtol=0.15)


def test_dpmpp_2s_step_is_the_papers_update():
    """One step equals DPM-Solver++(2S) (Lu et al. 2022, Alg. 1, r = 1/2) written with
    alpha_t = 1, sigma_t = sigma, lambda = -log sigma, h = lambda_{i+1} - lambda_i."""
    mu, s = 0.4, 0.9
    denoise = gaussian_denoiser(mu, s)
    x, sigma, sigma_next = np.array([3.0, -1.5]), 4.0, 1.5
    lam, lam_next = -np.log(sigma), -np.log(sigma_next)
    h = lam_next - lam
    lam_mid = lam + 0.5 * h
    sigma_mid = np.exp(-lam_mid)
    u = (sigma_mid / sigma) * x - (np.exp(-0.5 * h) - 1) * denoise(x, sigma)
    expected = (sigma_next / sigma) * x - (np.exp(-h) - 1) * denoise(u, sigma_mid)
    np.testing.assert_allclose(sample_dpmpp_2s(denoise, [sigma, sigma_next], x), expected, rtol=1e-13)


def test_last_step_returns_the_denoised_state():
    calls = []

    def denoise(x, sigma):
        calls.append(sigma)
        return gaussian_denoiser(1.0, 0.5)(x, sigma)

    x = np.array([0.2, 1.9])
    for name in SAMPLERS:
        calls.clear()
        out = SAMPLERS[name](denoise, [0.5, 0.0], x, numpy_noise_source(0))
        np.testing.assert_allclose(out, gaussian_denoiser(1.0, 0.5)(x, 0.5), rtol=1e-15)
        assert calls == [0.5], name  # never evaluated at sigma = 0


def _dataset_state(seed):
    lat, lon = np.linspace(-90.0, 90.0, 19), np.arange(36) * 10.0
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {
            "temperature": (("batch", "level", "lat", "lon"), rng.standard_normal((2, 3, 19, 36)).astype(np.float32)),
            "2m_temperature": (("batch", "lat", "lon"), rng.standard_normal((2, 19, 36)).astype(np.float32)),
        },
        coords={"lat": lat.astype(np.float32), "lon": lon.astype(np.float32), "level": [500, 700, 850]},
    )


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_run_on_datasets_like_on_arrays(name):
    """The same code on xarray.Dataset (the model's states) and numpy arrays gives the same
    numbers, keeps float32, dims and coords."""
    x = _dataset_state(0) * 80.0
    source = SphericalNoiseSource(seed=3)
    sigmas = noise_schedule(SIGMA_MAX, SIGMA_MIN, 8, RHO)
    params = dict(s_churn=2.5, s_tmin=0.75, s_noise=1.05) if name in ("dpmpp2s", "edm_sde") else {}
    denoise = gaussian_denoiser(0.2, 0.8)
    out = SAMPLERS[name](denoise, sigmas, x, source, **params)
    assert list(out.data_vars) == list(x.data_vars)
    if name == "pc":
        # pc's Langevin step size uses norms over each batch element's whole state (all its
        # variables together), so the array run is per member on its variables concatenated
        def joint(ds, b):
            return np.concatenate([ds[var].isel(batch=b).values.ravel() for var in x.data_vars])

        for b in range(x.sizes["batch"]):
            expected = SAMPLERS[name](denoise, sigmas, joint(x, b),
                                      lambda t, kind, step, b=b: joint(source(x, kind, step), b))
            # per-member norms are summed in float64, the array's in float32: float32-level differences
            np.testing.assert_allclose(joint(out, b), expected, rtol=0, atol=3e-5)

    for var in (x.data_vars if name != "pc" else []):
        assert out[var].dtype == np.float32 and out[var].dims == x[var].dims
        xr.testing.assert_identical(out[var].coords.to_dataset(), x[var].coords.to_dataset())

        def array_source(template, kind, step, var=var):
            return source(x, kind, step)[var].values

        expected = SAMPLERS[name](denoise, sigmas, x[var].values, array_source, **params)
        np.testing.assert_allclose(out[var].values, expected, rtol=0, atol=1e-6)
    xr.testing.assert_identical(out, SAMPLERS[name](denoise, sigmas, x, SphericalNoiseSource(seed=3), **params))


class _RecordingSource:
    def __init__(self, seed):
        self.calls, self._source = [], SphericalNoiseSource(seed)

    def __call__(self, template, kind, step):
        self.calls.append((kind, step))
        return self._source(template, kind, step)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_run_sampler_draws_like_the_reference(name):
    """x_0 = sigma_0 * init draw; churn draws once per step, in order, only for churn samplers
    (the reference draws churn noise at every step once churn is on, gamma_i = 0 or not)."""
    config = SamplerConfig(num_noise_levels=20)
    template = xr.zeros_like(_dataset_state(0))
    denoise = gaussian_denoiser(0.0, 1.0)
    source = _RecordingSource(seed=11)
    out = run_sampler(name, denoise, config, template, source, num_steps=6)
    expected_calls = [("init", 0)]
    if name in ("dpmpp2s", "edm_sde"):
        expected_calls += [("churn", i) for i in range(6)]
    if name in ("euler_maruyama", "ddpm"):
        expected_calls += [("churn", i) for i in range(5)]
    if name == "pc":  # predictor noise, then one corrector draw (n_corrector_steps = 1), per step but the last
        expected_calls += [call for i in range(5) for call in (("churn", i), ("corrector", i))]
    assert source.calls == expected_calls
    # Same as calling the sampler directly on sigma_0 * init noise.
    sigmas = noise_schedule(80.0, 0.03, 6, 7.0)
    x = SphericalNoiseSource(11)(template, "init", 0) * float(sigmas[0])
    params = {}
    if name in ("dpmpp2s", "edm_sde"):
        params = dict(s_churn=2.5, s_tmin=0.75, s_tmax=np.inf, s_noise=1.05)
    xr.testing.assert_identical(out, SAMPLERS[name](denoise, sigmas, x, SphericalNoiseSource(11), **params))


def test_run_sampler_gencast_config_on_gaussian_data():
    """GenCast's defaults (20 steps, churn 2.5, S_noise 1.05) started from 80 * unit noise map
    N(0, 1) data to samples with std 1 within a few percent (the prior mismatch at sigma_0 = 80
    and the 1.05 inflation are small)."""
    template = xr.zeros_like(_dataset_state(0))
    samples = [
        run_sampler("dpmpp2s", gaussian_denoiser(0.0, 1.0), SamplerConfig(), template, SphericalNoiseSource(seed))
        for seed in range(3)
    ]
    values = np.concatenate([sample["temperature"].values.ravel() for sample in samples]).astype(np.float64)
    assert abs(values.mean()) < 0.1 and abs(values.std() - 1) < 0.05


def test_run_sampler_replays_initial_noise(fixture_dir):
    from mindgencast.diffusion.noise_source import ReplayNoiseSource

    initial = xr.load_dataset(fixture_dir / "sampler_initial_noise.nc", decode_timedelta=True)
    source = ReplayNoiseSource.from_initial_noise(initial)
    deterministic = SamplerConfig(stochastic_churn_rate=0.0)
    seen = []

    def denoise(x, sigma):
        seen.append(x)
        return x * 0.0

    run_sampler("dpmpp2s", denoise, deterministic, xr.zeros_like(initial), source)
    xr.testing.assert_identical(seen[0], initial * 80.0)  # the reference's starting point
    with pytest.raises(KeyError, match="churn"):
        run_sampler("dpmpp2s", denoise, SamplerConfig(), xr.zeros_like(initial), source)
    with pytest.raises(ValueError, match="unknown sampler"):
        run_sampler("ddim", denoise, deterministic, initial, source)
