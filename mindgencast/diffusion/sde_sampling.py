"""Sampling a score SDE in its own time t: reverse SDE with predictor-corrector, and the PF-ODE.

Song et al. 2021 (ICLR), for any ``score_sde.VESDE`` / ``VPSDE`` and the one denoiser D(x; sigma)
(the score comes from ``sde.score``):

    reverse SDE (eq. 6):  dx = [f(x, t) - g(t)^2 grad log p_t(x)] dt + g(t) dw_bar,  t: 1 -> 0
    predictor (Euler-Maruyama, sec. 4.1): with dt = t_{i+1} - t_i < 0,
        x <- x + [f - g^2 s] dt + g sqrt(|dt|) z
    corrector (Langevin, Algorithm 4 (VE) / 5 (VP)), M times at t_{i+1}:
        eps = 2 alpha (r ||z|| / ||s||)^2,   x <- x + eps s + sqrt(2 eps) z
    probability-flow ODE (eq. 13):  dx/dt = f(x, t) - g(t)^2 grad log p_t(x) / 2

The PF-ODE is integrated with Heun's method (2nd order) in either direction: t decreasing
decodes noise into data, t increasing encodes data into noise (sec. 4.3, "exact likelihood /
manipulating latents"); the map is deterministic and, up to the solver's error, invertible.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from mindgencast.diffusion.samplers.predictor_corrector import check_pc_params, langevin_step_size

__all__ = ["sde_time_steps", "sample_reverse_sde", "probability_flow_ode"]


def sde_time_steps(num_steps: int, t_end: float = 1e-3, t_start: float = 1.0) -> np.ndarray:
    """Uniform times t_start = t_0 > ... > t_N = t_end (Song et al.: eps = 1e-3 for VP, 1e-5 for VE).

    Returns float64 [num_steps + 1].
    """
    if int(num_steps) != num_steps or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    if not 0 < t_end < t_start <= 1:
        raise ValueError(f"need 0 < t_end < t_start <= 1, got t_end={t_end}, t_start={t_start}")
    return np.linspace(t_start, t_end, int(num_steps) + 1)


def _check_times(ts: Any) -> list[float]:
    values = np.asarray(ts, dtype=np.float64)
    if values.ndim != 1 or values.size < 2 or np.any((values < 0) | (values > 1)):
        raise ValueError("times must be a 1-d sequence of at least 2 values in [0, 1]")
    steps = np.diff(values)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("times must be strictly monotonic (decreasing to sample, increasing to encode)")
    return [float(v) for v in values]


def sample_reverse_sde(
    sde: Any,
    denoise: Callable[[Any, float], Any],
    x: Any,
    ts: Any,
    noise_source: Callable[[Any, str, int], Any],
    snr: float = 0.16,
    n_corrector_steps: int = 0,
    denoise_final: bool = True,
) -> Any:
    """Predictor-corrector sampling of the reverse SDE from ts[0] down to ts[-1].

    Args:
      sde: a ``score_sde.VESDE`` or ``VPSDE``.
      denoise: D(x; sigma) on VE-scaled states.
      x: state at time ts[0] (e.g. ``sde.prior_sample``), numpy array [..., dim].
      ts: decreasing times [N + 1] (``sde_time_steps``).
      noise_source: ``noise_source(x, "churn", i)`` predictor noise,
        ``noise_source(x, "corrector", i * M + j)`` corrector noise.
      snr: r of the Langevin step rule (Song et al.: 0.16 VE, 0.01-0.27 VP).
      n_corrector_steps: M >= 0 (0 = reverse-SDE Euler-Maruyama only).
      denoise_final: return D(x / m; sigma(ts[-1])), Tweedie's estimate of the data (Song et al.'s
        last "denoising" step), instead of the noisy state at ts[-1].

    Returns:
      The sample, same shape as x (data coordinates if denoise_final, else the state at ts[-1]).
    """
    times = _check_times(ts)
    if times[1] > times[0]:
        raise ValueError("sample_reverse_sde runs backwards in time: pass decreasing times")
    check_pc_params(snr, n_corrector_steps)
    M = int(n_corrector_steps)
    for i, (t, t_next) in enumerate(zip(times[:-1], times[1:])):
        dt = t_next - t
        g = sde.diffusion(t)
        drift = sde.drift(x, t) - g**2 * sde.score(denoise, x, t)
        x = x + drift * dt + noise_source(x, "churn", i) * (g * abs(dt) ** 0.5)
        for j in range(M):
            score = sde.score(denoise, x, t_next)
            z = noise_source(x, "corrector", i * M + j)
            eps = langevin_step_size(score, z, snr, sde.corrector_alpha(t_next, dt))
            x = x + eps * score + z * (2.0 * eps) ** 0.5
    if denoise_final:
        t = times[-1]
        m = sde.mean_coefficient(t)
        return denoise(x * (1.0 / m), sde.std(t) / m)
    return x


def probability_flow_ode(
    sde: Any,
    denoise: Callable[[Any, float], Any],
    x: Any,
    ts: Any,
    return_trajectory: bool = False,
) -> Any:
    """Integrates dx/dt = f - g^2 s / 2 (Song et al. eq. 13) from ts[0] to ts[-1] with Heun's method.

    Args:
      sde: a ``score_sde.VESDE`` or ``VPSDE``.
      denoise: D(x; sigma) on VE-scaled states.
      x: state at ts[0], numpy array [..., dim].
      ts: monotonic times [N + 1]; decreasing decodes (noise -> data), increasing encodes.
      return_trajectory: also return the states at every time, [N + 1, ...].

    Returns:
      The state at ts[-1] (in the SDE's own coordinates), or (state, trajectory).
    """
    times = _check_times(ts)

    def velocity(state, t):
        return sde.drift(state, t) - (0.5 * sde.diffusion(t) ** 2) * sde.score(denoise, state, t)

    trajectory = [x]
    for t, t_next in zip(times[:-1], times[1:]):
        dt = t_next - t
        v = velocity(x, t)
        x_euler = x + v * dt
        x = x + (v + velocity(x_euler, t_next)) * (0.5 * dt)
        if return_trajectory:
            trajectory.append(x)
    if return_trajectory:
        return x, np.stack([np.asarray(s) for s in trajectory])
    return x
