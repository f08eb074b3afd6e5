"""``mg.Forecaster``: GenCast in physical units (GenCast's NaNCleaner(InputsAndResiduals(...))).

Price et al. 2024: the denoiser conditions on the normalised two latest states and
forcings and predicts the normalised 12-h residual (target minus the latest input, over
``diffs_stddev_by_level``; variables that are not inputs, like precipitation, are
normalised by mean/stddev). Sea-surface-temperature NaNs (land) are filled with
``min_by_level`` on the way in and put back on the way out. This class composes those
wrappers around :class:`mindgencast.model.GenCast`, and rolls forecasts out as ensembles.
"""

from __future__ import annotations

import functools
from typing import Iterable, Optional

import numpy as np
import xarray as xr

from mindgencast.data.nan_cleaning import NAN_VARIABLES, clean_nans, reintroduce_nans
from mindgencast.data.normalization import (
    NormalizationStats,
    normalize,
    normalized_residuals_to_targets,
    targets_to_normalized_residuals,
)
from mindgencast.model import GenCast

__all__ = ["Forecaster"]


class Forecaster:
    """Physical-units loss, sampling and ensemble rollout of a GenCast model.

    Args:
      model: a :class:`GenCast`.
      stats: normalisation statistics (``mg.NormalizationStats.load(dir)``).
      nan_variables: variables whose NaNs are expected (filled with min_by_level and
        re-inserted in predictions); any other NaN is an error.
    """

    def __init__(self, model: GenCast, stats: NormalizationStats,
                 nan_variables: Iterable[str] = NAN_VARIABLES):
        self.model = model
        self.stats = stats
        self.nan_variables = tuple(nan_variables)

    # ------------------------------------------------------------------ normalisation
    def normalized_conditioning(self, inputs: xr.Dataset, forcings: xr.Dataset):
        """(inputs, forcings) cleaned of expected NaNs and normalised, as the denoiser sees them
        (the fixture's ``denoiser_inputs.nc`` / ``denoiser_forcings.nc``). Also returns the
        cleaned physical inputs, from which residuals are taken."""
        clean_inputs = clean_nans(inputs, self.stats, self.nan_variables)
        return normalize(clean_inputs, self.stats), normalize(forcings, self.stats), clean_inputs

    def normalized_targets(self, inputs: xr.Dataset, targets: xr.Dataset) -> xr.Dataset:
        """Targets as clean normalised residuals y (the fixture's ``loss_targets.nc``)."""
        clean_inputs = clean_nans(inputs, self.stats, self.nan_variables)
        clean_targets = clean_nans(targets, self.stats, self.nan_variables)
        return targets_to_normalized_residuals(clean_targets, clean_inputs, self.stats)

    # ------------------------------------------------------------------ API
    def loss(self, inputs: xr.Dataset, targets: xr.Dataset, forcings: xr.Dataset, noise_levels=None,
             noise: Optional[xr.Dataset] = None, seed: int = 0) -> np.ndarray:
        """Per-example GenCast loss [batch] from physical inputs/targets/forcings."""
        norm_inputs, norm_forcings, _ = self.normalized_conditioning(inputs, forcings)
        residuals = self.normalized_targets(inputs, targets)
        return self.model.loss(norm_inputs, residuals, norm_forcings, noise_levels=noise_levels, noise=noise,
                               seed=seed)

    def sample(self, inputs: xr.Dataset, targets_template: xr.Dataset, forcings: xr.Dataset,
               noise_source=None, seed: int = 0, sampler: str = "dpmpp2s",
               num_steps: Optional[int] = None, churn_arithmetic: str = "exact",
               sampler_params: Optional[dict] = None) -> xr.Dataset:
        """One sample of the state 12 h after the last input frame, in physical units.

        Args:
          inputs: physical inputs (batch, time=2, [level,] lat, lon), SST NaN over land allowed.
          targets_template: structure of the targets (values ignored, e.g. NaN).
          forcings: physical forcings at the target time.
          noise_source, seed, sampler, num_steps, churn_arithmetic, sampler_params: see :meth:`GenCast.sample`.

        Returns:
          Like ``targets_template``; SST NaN wherever any input frame was NaN.
        """
        norm_inputs, norm_forcings, clean_inputs = self.normalized_conditioning(inputs, forcings)
        residuals = self.model.sample(norm_inputs, targets_template, norm_forcings, noise_source=noise_source,
                                      seed=seed, sampler=sampler, num_steps=num_steps,
                                      churn_arithmetic=churn_arithmetic, sampler_params=sampler_params)
        predictions = normalized_residuals_to_targets(residuals, clean_inputs, self.stats)
        return reintroduce_nans(predictions, inputs, self.nan_variables)

    def step_fn(self, sampler: str = "dpmpp2s", num_steps: Optional[int] = None,
                sampler_params: Optional[dict] = None):
        """The rollout's step function ``(inputs, template, forcings, noise_source) -> prediction``."""

        def step(inputs, targets_template, forcings, noise_source):
            return self.sample(inputs, targets_template, forcings, noise_source=noise_source, sampler=sampler,
                               num_steps=num_steps, sampler_params=sampler_params)

        return step

    def rollout(self, inputs: xr.Dataset, targets_template: xr.Dataset, forcings: Optional[xr.Dataset],
                num_steps: int, num_members: int, seed: int = 0, noise_source=None,
                members_per_batch: Optional[int] = None, sampler: str = "dpmpp2s",
                sampler_steps: Optional[int] = None, sampler_params: Optional[dict] = None, **kwargs):
        """Autoregressive ensemble forecast, in memory (see :func:`mindgencast.forecast.rollout.rollout`).

        Each step samples the next state conditioned on the last two, feeds it back, and
        computes the next forcings from the valid time (``forcings`` only names them; the
        task's forcing variables are used when it is None). Member k's noise is keyed by
        (seed, k, step), so its forecast does not depend on ``members_per_batch``.
        ``noise_source``, if given, is a factory ``f(seed, [(member, step), ...]) -> noise
        source`` (default: spherical white noise). Extra keyword arguments go to the rollout
        (init_time, writer, progress, ...).

        Returns:
          Dataset (member, lead_time, [level,] lat, lon) with valid_time and init_time coords.
        """
        from mindgencast.forecast.rollout import rollout

        return rollout(self.step_fn(sampler, sampler_steps, sampler_params), inputs, targets_template,
                       **self._rollout_args(forcings, num_steps, num_members, seed, noise_source,
                                            members_per_batch), **kwargs)

    def forecast_to_file(self, inputs: xr.Dataset, targets_template: xr.Dataset, out_path, num_steps: int,
                         num_members: int, seed: int = 0, members_per_batch: Optional[int] = None,
                         sampler: str = "dpmpp2s", sampler_steps: Optional[int] = None, noise_source=None,
                         forcings: Optional[xr.Dataset] = None, sampler_params: Optional[dict] = None,
                         **kwargs):
        """Rolls out straight into a CF NetCDF file (atomic; ``resume=True`` continues an
        interrupted run); see :func:`mindgencast.forecast.rollout.run_forecast`. With
        ``workers`` (a :class:`mindgencast.forecast.distributed.WorkerGroup` of N > 1) the members
        are spread over the workers and rank 0 writes the file."""
        from mindgencast.forecast.distributed import run_distributed_forecast
        from mindgencast.forecast.rollout import run_forecast

        workers = kwargs.pop("workers", None)
        if workers is not None and workers.size > 1:
            run_forecast = functools.partial(run_distributed_forecast, workers=workers)
        return run_forecast(self.step_fn(sampler, sampler_steps, sampler_params), inputs, targets_template, out_path,
                            **self._rollout_args(forcings, num_steps, num_members, seed, noise_source,
                                                 members_per_batch), **kwargs)

    def _rollout_args(self, forcings, num_steps, num_members, seed, noise_source, members_per_batch) -> dict:
        task = self.model.task_config
        forcing_variables = tuple(forcings.data_vars) if forcings is not None else task.forcing_variables
        return dict(num_steps=num_steps, num_members=num_members, seed=seed,
                    members_per_batch=num_members if members_per_batch is None else members_per_batch,
                    noise_source_factory=noise_source,
                    input_variables=task.input_variables, forcing_variables=forcing_variables)
