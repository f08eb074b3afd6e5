"""EDM preconditioning of the denoiser, as functions of the noise level sigma.

Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative
Models" (EDM), eq. 7 and Table 1 ("Ours" column), with the derivation in App. B.6:

    D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x; sigma)
    c_skip = sigma_data^2 / (sigma^2 + sigma_data^2)
    c_out  = sigma sigma_data / sqrt(sigma^2 + sigma_data^2)
    c_in   = 1 / sqrt(sigma^2 + sigma_data^2)
    lambda(sigma) = c_out^-2 = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2

GenCast (reference ``gencast.GenCast._c_in/_c_out/_c_skip/_loss_weighting``)
works on normalised residuals and uses sigma_data = 1. The network F is
conditioned on sigma itself (through Fourier features of log sigma), so no
c_noise is defined here.

Every function accepts a float or a numpy / xarray array of sigmas (>= 0) and
returns the same type; sigma is in units of the normalised data (dimensionless).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["c_skip", "c_out", "c_in", "loss_weighting", "preconditioned_denoise"]


def c_skip(sigma: Any, sigma_data: float = 1.0) -> Any:
    """Skip-connection weight sigma_data^2 / (sigma^2 + sigma_data^2) (EDM eq. 7, Table 1)."""
    return sigma_data**2 / (sigma**2 + sigma_data**2)


def c_out(sigma: Any, sigma_data: float = 1.0) -> Any:
    """Network-output weight sigma sigma_data / sqrt(sigma^2 + sigma_data^2) (EDM eq. 7, Table 1)."""
    return sigma * sigma_data * (sigma**2 + sigma_data**2) ** -0.5


def c_in(sigma: Any, sigma_data: float = 1.0) -> Any:
    """Input scaling 1 / sqrt(sigma^2 + sigma_data^2), giving the network unit-variance inputs."""
    return (sigma**2 + sigma_data**2) ** -0.5


def loss_weighting(sigma: Any, sigma_data: float = 1.0) -> Any:
    """Loss weight lambda(sigma) = c_out(sigma)^-2 (EDM eq. 8 and Table 1).

    Infinite at sigma = 0, where the denoiser is the identity and carries no loss.
    """
    if isinstance(sigma, (int, float)):
        sigma = np.float64(sigma)  # so that sigma = 0 gives inf, not ZeroDivisionError
    with np.errstate(divide="ignore"):
        return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def preconditioned_denoise(network: Callable[[Any, Any], Any], x: Any, sigma: Any, sigma_data: float = 1.0) -> Any:
    """D(x; sigma) = c_skip x + c_out F(c_in x; sigma) (EDM eq. 7).

    Args:
      network: the raw network F(x_in, sigma) -> same structure as x_in.
      x: noisy state, numpy array or xarray object (e.g. [batch, ...] residuals).
      sigma: noise level, a float or an array broadcasting against x
        (e.g. an xarray.DataArray with dims ('batch',)).
      sigma_data: standard deviation of the clean data (1 for GenCast).

    Returns:
      The denoised estimate of the clean data, same structure as x.
    """
    raw = network(x * c_in(sigma, sigma_data), sigma)
    return x * c_skip(sigma, sigma_data) + raw * c_out(sigma, sigma_data)
