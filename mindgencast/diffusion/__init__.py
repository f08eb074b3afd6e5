"""Diffusion machinery of GenCast in NumPy/xarray: preconditioning, schedules, noise, samplers,
and the classics on any array data: DDPM (``ddpm``), the epsilon / score / D conversions
(``parameterisations``), VE / VP score SDEs (``score_sde``, ``sde_sampling``), toy problems (``toy``).

Nothing here depends on the network: samplers take a denoiser callable D(x; sigma).
"""

from mindgencast.diffusion.noise_source import NoiseSource, ReplayNoiseSource, SphericalNoiseSource
from mindgencast.diffusion.preconditioning import c_in, c_out, c_skip, loss_weighting, preconditioned_denoise
from mindgencast.diffusion.samplers import CHURN_SAMPLERS, SAMPLERS, run_sampler, sampler_parameters
from mindgencast.diffusion.schedules import (
    churn_gammas,
    noise_schedule,
    rho_inverse_cdf,
    sampler_sigmas,
    training_noise_levels,
)
from mindgencast.diffusion.score_sde import VESDE, VPSDE
from mindgencast.diffusion.sde_sampling import probability_flow_ode, sample_reverse_sde
from mindgencast.diffusion.spherical_noise import spherical_white_noise, spherical_white_noise_like

__all__ = [
    "NoiseSource",
    "ReplayNoiseSource",
    "SphericalNoiseSource",
    "c_in",
    "c_out",
    "c_skip",
    "loss_weighting",
    "preconditioned_denoise",
    "CHURN_SAMPLERS",
    "SAMPLERS",
    "run_sampler",
    "sampler_parameters",
    "VESDE",
    "VPSDE",
    "probability_flow_ode",
    "sample_reverse_sde",
    "churn_gammas",
    "noise_schedule",
    "rho_inverse_cdf",
    "sampler_sigmas",
    "training_noise_levels",
    "spherical_white_noise",
    "spherical_white_noise_like",
]
