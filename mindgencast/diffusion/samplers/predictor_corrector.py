"""Predictor-corrector sampling of the reverse VE SDE (Song et al. 2021, Algorithms 1, 2, 4).

Song, Sohl-Dickstein, Kingma, Kumar, Ermon, Poole 2021, "Score-Based Generative Modeling
through Stochastic Differential Equations" (ICLR), sec. 4.2 and App. G. One step i
(sigma_i -> sigma_{i+1}), the score taken from the denoiser, s(x; sigma) = (D(x; sigma) - x) / sigma^2:

    predictor (reverse diffusion, eq. 47 / Alg. 2, VE: f = 0, G_i^2 = sigma_i^2 - sigma_{i+1}^2):
        x <- x + (sigma_i^2 - sigma_{i+1}^2) s(x; sigma_i) + sqrt(sigma_i^2 - sigma_{i+1}^2) z
    corrector (annealed Langevin at sigma_{i+1}, M times; Alg. 4):
        g   = s(x; sigma_{i+1}),   z ~ N(0, I)
        eps = 2 alpha (r ||z|| / ||g||)^2                 signal-to-noise step rule, alpha = 1 (VE)
        x  <- x + eps g + sqrt(2 eps) z

r is the signal-to-noise ratio ``snr`` (Song et al.: 0.16 for VE on CIFAR-10), M the number of
corrector steps. For an xarray state with a ``batch`` dimension (GenCast's ensemble members)
the norms, and so eps, are taken per batch element: each member gets the rule of App. G on its
own state, and a member's sample does not depend on which members share its batch (the
reference code averages per-sample norms over the batch instead). Any other state (e.g. an
array of toy samples) is one joint state. The step to sigma = 0 returns D(x; sigma_i) and is
not corrected. Network evaluations: N + M (N - 1) for N steps.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from mindgencast.diffusion.schedules import check_sigmas

__all__ = ["sample_pc", "langevin_step_size", "check_pc_params"]


def _norm(x: Any) -> float:
    """Euclidean norm over every element of a numpy array or xarray object."""
    if hasattr(x, "data_vars"):
        return float(np.sqrt(sum(float(np.sum(np.square(v.values))) for v in x.data_vars.values())))
    return float(np.linalg.norm(np.ravel(np.asarray(x))))


def check_pc_params(snr: float, n_corrector_steps: int) -> None:
    """Raises ValueError naming a bad ``snr`` (> 0, finite) or ``n_corrector_steps`` (integer >= 0)."""
    if not (isinstance(snr, (int, float, np.floating)) and np.isfinite(snr) and snr > 0):
        raise ValueError(f"pc sampler: snr (Langevin signal-to-noise ratio r) must be a positive number, got {snr!r}")
    if isinstance(n_corrector_steps, bool) or int(n_corrector_steps) != n_corrector_steps or n_corrector_steps < 0:
        raise ValueError(f"pc sampler: n_corrector_steps must be an integer >= 0, got {n_corrector_steps!r}")


def _batch_norms(x: Any, dim: str):
    """Euclidean norm of each element along ``dim`` of an xarray state -> DataArray [dim]."""
    arrays = list(x.data_vars.values()) if hasattr(x, "data_vars") else [x]
    total = 0.0
    for a in arrays:
        others = [d for d in a.dims if d != dim]
        total = total + (a.astype(np.float64) ** 2).sum(dim=others, skipna=True)
    return total**0.5


def langevin_step_size(score: Any, z: Any, snr: float, alpha: float = 1.0, per: Optional[str] = None):
    """eps = 2 alpha (snr ||z|| / ||score||)^2 (Song et al. 2021, Algorithm 4 / App. G).

    ``per``: a dimension of an xarray state (``"batch"``) to take the norms per element of,
    giving eps as a DataArray over it; otherwise one float over the whole state. A zero score
    (x at a mode) gives eps = 0 rather than a division by zero.
    """
    if per is not None and per in getattr(score, "dims", ()):
        score_norm, z_norm = _batch_norms(score, per), _batch_norms(z, per)
        safe = score_norm.where(score_norm > 0, 1.0)
        return (2.0 * alpha * (snr * z_norm / safe) ** 2).where(score_norm > 0, 0.0)
    score_norm = _norm(score)
    if score_norm == 0.0:
        return 0.0
    return 2.0 * alpha * (snr * _norm(z) / score_norm) ** 2


def sample_pc(
    denoise: Callable[[Any, float], Any],
    sigmas: Any,
    x: Any,
    noise_source: Optional[Callable[[Any, str, int], Any]] = None,
    *,
    snr: float = 0.16,
    n_corrector_steps: int = 1,
) -> Any:
    """Reverse-diffusion predictor + Langevin corrector from sigmas[0] down to sigmas[-1].

    Args:
      denoise: D(x; sigma) -> clean-state estimate, same structure as x.
      sigmas: decreasing schedule [N + 1] (usually ending with 0).
      x: state at noise level sigmas[0]; numpy array or xarray.Dataset.
      noise_source: required; predictor noise ``noise_source(x, "churn", i)``, corrector noise
        ``noise_source(x, "corrector", i * n_corrector_steps + j)``.
      snr: r > 0, the corrector's signal-to-noise ratio (step size rule above).
      n_corrector_steps: M >= 0 Langevin steps after each predictor step (0: predictor only,
        i.e. the reverse-diffusion discretisation of the reverse SDE).

    Returns:
      The state at sigmas[-1], same structure as x.
    """
    sigmas = check_sigmas(sigmas)
    check_pc_params(snr, n_corrector_steps)
    if noise_source is None:
        raise ValueError("the pc sampler is stochastic: pass a noise_source")
    for i, (sigma, sigma_next) in enumerate(zip(sigmas[:-1], sigmas[1:])):
        x_denoised = denoise(x, sigma)
        if sigma_next == 0:
            x = x_denoised
            continue
        variance_step = sigma**2 - sigma_next**2  # G_i^2 of the discretised VE SDE
        # x + G^2 s with s = (D - x) / sigma^2
        x = x + (variance_step / sigma**2) * (x_denoised - x) + noise_source(x, "churn", i) * variance_step**0.5
        for j in range(int(n_corrector_steps)):
            score = (denoise(x, sigma_next) - x) * (1.0 / sigma_next**2)
            z = noise_source(x, "corrector", i * int(n_corrector_steps) + j)
            eps = langevin_step_size(score, z, snr, per="batch")  # per member (module docstring)
            x = x + eps * score + z * (2.0 * eps) ** 0.5
    return x
