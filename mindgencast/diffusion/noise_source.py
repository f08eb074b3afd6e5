"""Injectable randomness for the samplers, so that every run can be replayed exactly.

A noise source is any callable

    noise_source(template: xarray.Dataset, kind: str, step: int) -> xarray.Dataset

returning unit-variance noise structured like ``template`` (same variables, dims, coords,
dtypes). ``kind`` is "init" for the starting noise (step 0; the sampler multiplies it by
sigma_0), "churn" for the noise of sampler step ``step`` (EDM Algorithm 2's epsilon_i; also the
reverse-SDE / DDPM ancestral noise z_i), or "corrector" for the Langevin corrector noise of the
predictor-corrector sampler (step = i * n_corrector_steps + j for corrector step j of step i).

- ``SphericalNoiseSource``: GenCast's isotropic spherical white noise from a seed; each
  batch element has its own generator keyed by (seed, batch key, kind, step), so a draw does
  not depend on how ensemble members are batched or on which other draws were made.
- ``ReplayNoiseSource``: replays draws captured from a reference run (the layout of the
  gencast_tiny fixture's ``sampler_noise_draws.nc`` / ``sampler_initial_noise.nc``).
"""

from __future__ import annotations

from typing import Optional, Protocol, Sequence

import numpy as np
import xarray as xr

from mindgencast.diffusion.spherical_noise import spherical_white_noise_like

__all__ = ["NoiseSource", "NOISE_KINDS", "SphericalNoiseSource", "ReplayNoiseSource"]

# Kind names, and the id each contributes to a SphericalNoiseSource seed.
NOISE_KINDS = {"init": 0, "churn": 1, "corrector": 2}


class NoiseSource(Protocol):
    """Callable returning unit-variance noise structured like ``template``."""

    def __call__(self, template: xr.Dataset, kind: str, step: int) -> xr.Dataset: ...


def _check_kind(kind: str) -> int:
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; expected one of {sorted(NOISE_KINDS)}")
    return NOISE_KINDS[kind]


class SphericalNoiseSource:
    """Seeded spherical white noise (``spherical_white_noise_like``), one generator per batch element.

    Batch element b of a draw comes from
    ``np.random.default_rng([seed, *batch_keys[b], kind_id, step])`` (kind_id: init 0, churn 1, corrector 2).
    The same seed gives bit-identical noise, and e.g. ensemble member 7 gets the same noise
    whether it is sampled alone (batch_keys=((7,),)) or in a batch of 8 (batch_keys default).

    Args:
      seed: non-negative integer.
      batch_keys: one tuple of non-negative ints per batch element; default ((0,), (1,), ...).
        A template without a 'batch' dim is treated as batch element 0.
    """

    def __init__(self, seed: int, batch_keys: Optional[Sequence[tuple[int, ...]]] = None):
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.batch_keys = None if batch_keys is None else tuple(tuple(int(k) for k in key) for key in batch_keys)

    def _keys(self, batch_size: int) -> tuple[tuple[int, ...], ...]:
        if self.batch_keys is None:
            return tuple((b,) for b in range(batch_size))
        if len(self.batch_keys) != batch_size:
            raise ValueError(
                f"SphericalNoiseSource has {len(self.batch_keys)} batch_keys but the template has "
                f"batch size {batch_size}; pass one key per batch element"
            )
        return self.batch_keys

    def __call__(self, template: xr.Dataset, kind: str, step: int) -> xr.Dataset:
        kind_id = _check_kind(kind)
        if "batch" not in template.dims:
            rng = np.random.default_rng([self.seed, *self._keys(1)[0], kind_id, int(step)])
            return spherical_white_noise_like(template, rng)
        unbatched = [name for name in template.data_vars if "batch" not in template[name].dims]
        if unbatched:
            raise ValueError(f"variables {unbatched} have no 'batch' dim while others do; noise is drawn per element")
        members = []
        for b, key in enumerate(self._keys(template.sizes["batch"])):
            rng = np.random.default_rng([self.seed, *key, kind_id, int(step)])
            members.append(spherical_white_noise_like(template.isel(batch=[b]), rng))
        noise = {}
        for name, variable in template.data_vars.items():
            axis = variable.dims.index("batch")
            noise[name] = variable.copy(data=np.concatenate([member[name].values for member in members], axis=axis))
        return xr.Dataset(noise, attrs=template.attrs)


class ReplayNoiseSource:
    """Replays captured unit-variance draws, looked up by (kind, step).

    Args:
      draws: Dataset with a leading dim ``draw`` and coords ``draw_kind`` ('init' / 'churn')
        and ``draw_iteration`` (sampler step) along it, e.g. the fixture's
        ``sampler_noise_draws.nc`` (draw 0 = init of step 0, draw 2i+1 = churn of step i;
        the unused 'init' draws of later steps are ignored).

    Calling it with a (kind, step) that has no draw raises a KeyError naming it. The returned
    noise takes the template's coords, dim order and dtypes; its variables and sizes must match.
    """

    def __init__(self, draws: xr.Dataset):
        for coord in ("draw_kind", "draw_iteration"):
            if coord not in draws.coords or draws[coord].dims != ("draw",):
                raise ValueError(f"replay draws need a coord {coord!r} along dim 'draw'")
        self._draws = draws
        self._index = {}
        for position, (kind, step) in enumerate(zip(draws["draw_kind"].values, draws["draw_iteration"].values)):
            self._index.setdefault((str(kind), int(step)), position)

    @classmethod
    def from_initial_noise(cls, noise: xr.Dataset) -> ReplayNoiseSource:
        """A source holding only the init draw (e.g. ``sampler_initial_noise.nc``), for churn-free runs."""
        draws = noise.expand_dims("draw").assign_coords(
            draw_kind=("draw", np.array(["init"])), draw_iteration=("draw", np.array([0]))
        )
        return cls(draws)

    def __call__(self, template: xr.Dataset, kind: str, step: int) -> xr.Dataset:
        _check_kind(kind)
        key = (kind, int(step))
        if key not in self._index:
            available = ", ".join(f"{k}@{s}" for k, s in sorted(self._index))
            raise KeyError(f"no captured {kind!r} draw for sampler step {step} (available: {available})")
        draw = self._draws.isel(draw=self._index[key])
        noise = {}
        for name in template.data_vars:
            if name not in draw.data_vars:
                raise ValueError(f"replay draws have no variable {name!r}; they hold {sorted(draw.data_vars)}")
            expected, variable = template[name], draw[name]
            if dict(variable.sizes) != dict(expected.sizes):
                raise ValueError(
                    f"replay draw of {name!r} has sizes {dict(variable.sizes)}, template has {dict(expected.sizes)}"
                )
            values = variable.transpose(*expected.dims).values.astype(expected.dtype, copy=False)
            noise[name] = expected.copy(data=values)
        return xr.Dataset(noise, attrs=template.attrs)
