"""The sampler registry and ``run_sampler``, the one entry point the model uses.

Every sampler has the signature (k-diffusion style)

    sampler(denoise, sigmas, x, noise_source=None, **params) -> x_0

where ``denoise(x, sigma: float)`` is the preconditioned denoiser D(x; sigma),
``sigmas`` the decreasing schedule (ending with 0), ``x`` the initial state at sigmas[0],
and ``noise_source(template, kind, step)`` the injectable randomness
(mindgencast.diffusion.noise_source). States only need + - * / with floats, so the same
code runs on xarray.Dataset (the model) and numpy arrays (analytic tests).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from mindgencast.config.schemas import SamplerConfig
from mindgencast.diffusion.samplers.dpm_solver_pp_2s import sample_dpmpp_2s
from mindgencast.diffusion.samplers.edm_sde import sample_edm_sde
from mindgencast.diffusion.samplers.euler import sample_euler
from mindgencast.diffusion.samplers.euler_maruyama import sample_euler_maruyama
from mindgencast.diffusion.samplers.heun import sample_heun
from mindgencast.diffusion.schedules import sampler_sigmas

__all__ = ["SAMPLERS", "CHURN_SAMPLERS", "run_sampler"]

SAMPLERS = {
    "dpmpp2s": sample_dpmpp_2s,
    "heun": sample_heun,
    "euler": sample_euler,
    "edm_sde": sample_edm_sde,
    "euler_maruyama": sample_euler_maruyama,
}

# Samplers that take the SamplerConfig's churn parameters (s_churn, s_tmin, s_tmax, s_noise).
CHURN_SAMPLERS = frozenset({"dpmpp2s", "edm_sde"})


def run_sampler(
    name: str,
    denoise: Callable[[Any, float], Any],
    sampler_config: SamplerConfig,
    template: Any,
    noise_source: Callable[[Any, str, int], Any],
    num_steps: Optional[int] = None,
    churn_arithmetic: str = "exact",
) -> Any:
    """Draws the initial state and runs the named sampler down to sigma = 0.

    As in GenCast, the initial state is x = sigma_0 * noise_source(template, "init", 0)
    (the data, normalised residuals, are assumed to have mean ~0 and std ~1 << sigma_0).

    Args:
      name: one of SAMPLERS ("dpmpp2s", "heun", "euler", "edm_sde", "euler_maruyama").
      denoise: D(x; sigma) -> clean-state estimate, same structure as template.
      sampler_config: schedule (max/min_noise_level, num_noise_levels, rho) and churn
        (stochastic_churn_rate, churn_min/max_noise_level, noise_level_inflation_factor);
        churn applies to the samplers in CHURN_SAMPLERS.
      template: structure of the state, e.g. the normalised targets [batch, time, (level,) lat, lon].
      noise_source: see mindgencast.diffusion.noise_source.
      num_steps: overrides sampler_config.num_noise_levels (the number of sampler steps).
      churn_arithmetic: "exact" (default) or "xla_float32" to replay DeepMind's reference
        bit for bit (see churn.churn_noise_std); churn samplers only.

    Returns:
      The sample, same structure as template (normalised space).
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}")
    if noise_source is None:
        raise ValueError("run_sampler needs a noise_source (e.g. SphericalNoiseSource(seed))")
    sigmas = sampler_sigmas(sampler_config, num_steps)
    x = noise_source(template, "init", 0) * float(sigmas[0])
    params = {}
    if name in CHURN_SAMPLERS:
        params = dict(
            s_churn=sampler_config.stochastic_churn_rate,
            s_tmin=sampler_config.churn_min_noise_level,
            s_tmax=sampler_config.churn_max_noise_level,
            s_noise=sampler_config.noise_level_inflation_factor,
            churn_arithmetic=churn_arithmetic,
        )
    return SAMPLERS[name](denoise, sigmas, x, noise_source, **params)
