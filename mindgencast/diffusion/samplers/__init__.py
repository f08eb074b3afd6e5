"""Diffusion samplers sharing one signature: sampler(denoise, sigmas, x, noise_source=None, **params)."""

from mindgencast.diffusion.samplers.base import CHURN_SAMPLERS, SAMPLERS, run_sampler, sampler_parameters
from mindgencast.diffusion.samplers.churn import apply_churn, churn_noise_std
from mindgencast.diffusion.samplers.ddpm_ancestral import sample_ddpm
from mindgencast.diffusion.samplers.dpm_solver_pp_2s import sample_dpmpp_2s
from mindgencast.diffusion.samplers.edm_sde import sample_edm_sde
from mindgencast.diffusion.samplers.euler import sample_euler
from mindgencast.diffusion.samplers.euler_maruyama import sample_euler_maruyama
from mindgencast.diffusion.samplers.heun import sample_heun
from mindgencast.diffusion.samplers.predictor_corrector import sample_pc

__all__ = [
    "SAMPLERS",
    "CHURN_SAMPLERS",
    "run_sampler",
    "sampler_parameters",
    "sample_ddpm",
    "sample_pc",
    "apply_churn",
    "churn_noise_std",
    "sample_dpmpp_2s",
    "sample_edm_sde",
    "sample_euler",
    "sample_euler_maruyama",
    "sample_heun",
]
