"""A cheap stochastic baseline with the step-function contract of :mod:`rollout`.

Damped persistence plus seeded spherical noise, in physical units: for each
predicted variable that is also an input (per level)::

    x(t+dt) = mu + alpha (x(t) - mu) + beta (x(t) - x(t-dt)) + gamma s eps

with mu and s the global mean and standard deviation of x(t), eps the
unit-variance noise of ``noise_source(template, "init", 0)``. Variables that are
not inputs (e.g. total_precipitation_12hr) are ``gamma s_ref |eps|`` with
s_ref = 1e-3 (metres, a plausible 12-h precipitation scale). NaNs of x(t) (sea
surface temperature over land) stay NaN. It is no weather model: it exercises
rollouts, output and plots without a checkpoint, and is what the tests drive.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

__all__ = ["DampedPersistence"]


@dataclasses.dataclass(frozen=True)
class DampedPersistence:
    """Step function ``(inputs, targets_template, forcings, noise_source) -> prediction``.

    Attributes:
      alpha: damping of the anomaly from the global mean (1 = persistence).
      beta: weight of the last tendency x(t) - x(t-dt).
      gamma: noise amplitude as a fraction of the field's global standard deviation.
    """

    alpha: float = 0.9
    beta: float = 0.3
    gamma: float = 0.05

    def __call__(self, inputs: xr.Dataset, targets_template: xr.Dataset, forcings: xr.Dataset,
                 noise_source) -> xr.Dataset:
        eps = noise_source(targets_template, "init", 0)
        # One element at a time: float32 reductions over a (batch, lat, lon) block may round
        # differently with the batch size, and a member must not depend on its batch-mates.
        members = [
            self._one(inputs.isel(batch=[b]), targets_template.isel(batch=[b]), eps.isel(batch=[b]))
            for b in range(targets_template.sizes["batch"])
        ]
        return xr.concat(members, dim="batch").assign_coords(targets_template.coords)

    def _one(self, inputs: xr.Dataset, template: xr.Dataset, eps: xr.Dataset) -> xr.Dataset:
        out = {}
        for name, target in template.data_vars.items():
            noise = eps[name].transpose(*target.dims).values  # [1, 1, ..., lat, lon]
            if name in inputs.data_vars:
                frames = inputs[name].transpose(*target.dims).values
                x0, x1 = frames[:, -1:], frames[:, -2:-1] if frames.shape[1] > 1 else frames[:, -1:]
                mu = np.nanmean(x0, axis=(-2, -1), keepdims=True)
                s = np.nanstd(x0, axis=(-2, -1), keepdims=True)
                value = mu + self.alpha * (x0 - mu) + self.beta * (x0 - x1) + self.gamma * s * noise
            else:
                value = self.gamma * 1e-3 * np.abs(noise)
            out[name] = (target.dims, value.astype(np.float32))
        return xr.Dataset(out)
