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

import inspect
from typing import Any, Callable, Mapping, Optional

from mindgencast.config.schemas import SamplerConfig
from mindgencast.diffusion.samplers.ddpm_ancestral import DDPM_VARIANCES, sample_ddpm
from mindgencast.diffusion.samplers.dpm_solver_pp_2s import sample_dpmpp_2s
from mindgencast.diffusion.samplers.edm_sde import sample_edm_sde
from mindgencast.diffusion.samplers.euler import sample_euler
from mindgencast.diffusion.samplers.euler_maruyama import sample_euler_maruyama
from mindgencast.diffusion.samplers.heun import sample_heun
from mindgencast.diffusion.samplers.predictor_corrector import check_pc_params, sample_pc
from mindgencast.diffusion.schedules import sampler_sigmas

__all__ = ["SAMPLERS", "CHURN_SAMPLERS", "run_sampler", "sampler_parameters", "check_sampler_params"]

SAMPLERS = {
    "dpmpp2s": sample_dpmpp_2s,
    "heun": sample_heun,
    "euler": sample_euler,
    "edm_sde": sample_edm_sde,
    "euler_maruyama": sample_euler_maruyama,
    "ddpm": sample_ddpm,
    "pc": sample_pc,
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
    sampler_params: Optional[Mapping[str, Any]] = None,
) -> Any:
    """Draws the initial state and runs the named sampler down to sigma = 0.

    As in GenCast, the initial state is x = sigma_0 * noise_source(template, "init", 0)
    (the data, normalised residuals, are assumed to have mean ~0 and std ~1 << sigma_0).

    Args:
      name: one of SAMPLERS ("dpmpp2s", "heun", "euler", "edm_sde", "euler_maruyama", "ddpm", "pc").
      denoise: D(x; sigma) -> clean-state estimate, same structure as template.
      sampler_config: schedule (max/min_noise_level, num_noise_levels, rho) and churn
        (stochastic_churn_rate, churn_min/max_noise_level, noise_level_inflation_factor);
        churn applies to the samplers in CHURN_SAMPLERS.
      template: structure of the state, e.g. the normalised targets [batch, time, (level,) lat, lon].
      noise_source: see mindgencast.diffusion.noise_source.
      num_steps: overrides sampler_config.num_noise_levels (the number of sampler steps).
      churn_arithmetic: "exact" (default) or "xla_float32" to replay DeepMind's reference
        bit for bit (see churn.churn_noise_std); churn samplers only.
      sampler_params: extra keyword parameters of the named sampler (``sampler_parameters(name)``):
        "pc": snr (default 0.16), n_corrector_steps (default 1); "ddpm": variance ("posterior"
        or "beta"). For "ddpm" the schedule is the config's rho schedule of num_steps levels in
        [min_noise_level, max_noise_level]: a DDPM with T = num_steps and
        alpha_bar_t = 1 / (1 + sigma_t^2) (see samplers/ddpm_ancestral.py). Unknown names are an error.

    Returns:
      The sample, same structure as template (normalised space).
    """
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}")
    if noise_source is None:
        raise ValueError("run_sampler needs a noise_source (e.g. SphericalNoiseSource(seed))")
    params = check_sampler_params(name, sampler_params)
    sigmas = sampler_sigmas(sampler_config, num_steps)
    x = noise_source(template, "init", 0) * float(sigmas[0])
    if name in CHURN_SAMPLERS:
        params.update(
            s_churn=sampler_config.stochastic_churn_rate,
            s_tmin=sampler_config.churn_min_noise_level,
            s_tmax=sampler_config.churn_max_noise_level,
            s_noise=sampler_config.noise_level_inflation_factor,
            churn_arithmetic=churn_arithmetic,
        )
    return SAMPLERS[name](denoise, sigmas, x, noise_source, **params)


def sampler_parameters(name: str) -> dict[str, Any]:
    """The extra keyword parameters of a registered sampler and their defaults, e.g.
    ``sampler_parameters("pc") == {"snr": 0.16, "n_corrector_steps": 1}`` (churn parameters,
    which come from the SamplerConfig, are left out)."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}")
    churn = {"s_churn", "s_tmin", "s_tmax", "s_noise", "churn_arithmetic"}
    signature = inspect.signature(SAMPLERS[name])
    return {
        p.name: p.default
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in churn
    }


def check_sampler_params(name: str, sampler_params: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """Validates a sampler's extra parameters before any work is done; returns them as a dict.

    Raises ValueError naming an unknown sampler, a parameter the sampler does not take, or a
    bad value (pc: snr > 0, n_corrector_steps integer >= 0; ddpm: variance in DDPM_VARIANCES).
    """
    params = dict(sampler_params or {})
    allowed = sampler_parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"sampler {name!r} has no parameter(s) {unknown}; its parameters are {sorted(allowed) or 'none'}"
        )
    merged = {**allowed, **params}
    if name == "pc":
        check_pc_params(merged["snr"], merged["n_corrector_steps"])
    if name == "ddpm" and merged["variance"] not in DDPM_VARIANCES:
        raise ValueError(f"ddpm variance must be one of {DDPM_VARIANCES}, got {merged['variance']!r}")
    return params
