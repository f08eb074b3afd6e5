"""Everything ``mindgencast forecast`` does, as a library call: load, validate, roll out.

All validation (checkpoint, statistics, initial-condition file, grid vs checkpoint,
variables, input frames, init time, member counts) happens in :meth:`ForecastJob.prepare`
and at the start of :meth:`ForecastJob.run`, before any model work or output.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

import xarray as xr

from mindgencast.checkpoint import Checkpoint, load_checkpoint
from mindgencast.config import GridConfig
from mindgencast.data.normalization import STATISTICS, NormalizationStats
from mindgencast.forecast.initial_state import initial_state
from mindgencast.forecaster import Forecaster
from mindgencast.model import GenCast
from mindgencast.version import __version__

__all__ = ["ForecastJob"]


def _implied_global_grid(ds: xr.Dataset) -> GridConfig:
    """The global equiangular grid with poles that the data's longitudes imply (a checkpoint
    straight from DeepMind's .npz records no grid, but GenCast needs a global grid)."""
    lon_name = "lon" if "lon" in ds.dims else "longitude"
    if lon_name not in ds.dims:
        raise ValueError("initial conditions have no 'lon'/'longitude' dimension")
    try:
        return GridConfig(resolution=360.0 / ds.sizes[lon_name])
    except ValueError:
        raise ValueError(
            f"wrong grid: {ds.sizes[lon_name]} longitudes do not make a global equiangular grid whose spacing "
            "divides 180 degrees; GenCast needs lat -90..90 (poles included) and lon 0..360-step") from None


@dataclasses.dataclass
class ForecastJob:
    """A validated forecast, ready to run."""

    forecaster: Forecaster
    inputs: xr.Dataset
    targets_template: xr.Dataset
    init_time: object
    checkpoint_name: str

    @classmethod
    def prepare(cls, checkpoint, stats, init, init_time=None, compute_dtype: str = "float32",
                graph_builder=None) -> "ForecastJob":
        """Loads and validates everything. ``checkpoint``/``stats``/``init`` are paths or loaded objects."""
        from mindgencast.graphcast.checkpoint import GraphCastCheckpoint

        ckpt = checkpoint if isinstance(checkpoint, (Checkpoint, GraphCastCheckpoint)) else load_checkpoint(checkpoint)
        graphcast = isinstance(ckpt, GraphCastCheckpoint)
        if not isinstance(stats, NormalizationStats):  # GraphCast has no NaN-filled variable: no min_by_level
            stats = NormalizationStats.load(stats, required=STATISTICS[:3]) if graphcast else NormalizationStats.load(stats)
        if isinstance(init, (str, os.PathLike)):
            if not os.path.exists(init):
                raise FileNotFoundError(f"initial-condition file {os.fspath(init)!r} does not exist")
            from mindgencast.data.era5_io import open_era5

            init = open_era5(init)
        grid = ckpt.grid or _implied_global_grid(init)
        if graphcast:
            return cls._prepare_graphcast(ckpt, stats, init, init_time, grid, compute_dtype, checkpoint)
        state = initial_state(init, ckpt.task_config, init_time=init_time, grid=grid)
        inputs, template = state.inputs, state.targets_template
        model = GenCast(ckpt, compute_dtype=compute_dtype, graph_builder=graph_builder)
        if isinstance(checkpoint, (str, os.PathLike)):
            name = os.path.basename(os.path.normpath(os.fspath(checkpoint)))
        else:  # an in-memory checkpoint: identify it by its weights
            from mindgencast.training.job import parameter_checksum

            name = f"sha256:{parameter_checksum(ckpt.params)[:16]}"
        return cls(Forecaster(model, stats), inputs, template, state.init_time, name)

    @classmethod
    def _prepare_graphcast(cls, ckpt, stats, init, init_time, grid, compute_dtype, checkpoint) -> "ForecastJob":
        """GraphCast: 6-h steps; TISR of the input frames computed from their valid times if absent."""
        from mindgencast.graphcast.forcings import TISR, add_tisr
        from mindgencast.graphcast.model import GraphCast

        task = ckpt.task_config
        computed = tuple(v for v in task.input_variables if v != TISR)
        state = initial_state(init, dataclasses.replace(task, input_variables=computed), init_time=init_time,
                              grid=grid, timestep="6h")
        inputs = state.inputs
        if TISR in task.input_variables:
            if TISR in init.data_vars:  # the initial file's own TISR, at the input frames
                state = initial_state(init, task, init_time=init_time, grid=grid, timestep="6h")
                inputs = state.inputs
            else:
                valid = state.init_time + inputs["time"].values
                inputs = add_tisr(inputs, valid)[list(task.input_variables)]
        name = os.path.basename(os.path.normpath(os.fspath(checkpoint))) if isinstance(
            checkpoint, (str, os.PathLike)) else "in-memory GraphCast checkpoint"
        return cls(GraphCast(ckpt, stats, compute_dtype=compute_dtype), inputs, state.targets_template,
                   state.init_time, name)

    def run(self, out, steps: int = 30, members: Optional[int] = None, members_per_batch: Optional[int] = None, seed: int = 0,
            sampler: str = "dpmpp2s", sampler_steps: Optional[int] = None, ensemble_stats: bool = False,
            resume: bool = False, progress: bool = True, overwrite: bool = False, workers=None,
            sampler_params: Optional[dict] = None):
        """Rolls out into ``out`` (CF NetCDF, atomic; resumable). Returns the path.

        ``workers``: a :class:`mindgencast.forecast.distributed.WorkerGroup` (msrun) to spread
        the members over; rank 0 writes ``out``. ``sampler_params`` are the sampler's extra
        parameters (e.g. pc: snr, n_corrector_steps), validated before anything is written
        (``samplers.base.check_sampler_params``).
        """
        from mindgencast.diffusion.samplers.base import SAMPLERS, check_sampler_params

        if not isinstance(self.forecaster, Forecaster):  # GraphCast: deterministic, one member
            if members not in (None, 1):
                raise ValueError(f"GraphCast is deterministic: it makes one forecast, not {members} members; "
                                 "leave out --members (or pass --members 1)")
            if ensemble_stats:
                raise ValueError("--ensemble-stats needs an ensemble; GraphCast makes one deterministic forecast")
            attrs = {"checkpoint": self.checkpoint_name, "sampler": "none (deterministic)", "sampler_steps": "0",
                     "source": f"mindgencast {__version__} (GraphCast, MindSpore)",
                     "title": "GraphCast deterministic forecast"}
            return self.forecaster.forecast_to_file(
                self.inputs, self.targets_template, out, num_steps=steps, seed=seed, resume=resume, attrs=attrs,
                progress=progress, init_time=self.init_time, overwrite=overwrite)
        members = 8 if members is None else members
        if members < 1:
            raise ValueError(f"--members must be >= 1, got {members}")
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
        if sampler_steps is not None and sampler_steps < 1:
            raise ValueError(f"--sampler-steps must be >= 1, got {sampler_steps}")
        sampler_params = check_sampler_params(sampler, sampler_params)
        steps_used = self.forecaster.model.sampler_config.num_noise_levels if sampler_steps is None else sampler_steps
        attrs = {"checkpoint": self.checkpoint_name, "sampler": sampler, "sampler_steps": str(steps_used),
                 "source": f"mindgencast {__version__} (GenCast, MindSpore)",
                 "title": "GenCast ensemble forecast"}
        if sampler_params:
            attrs["sampler_params"] = ", ".join(f"{k}={v}" for k, v in sorted(sampler_params.items()))
        return self.forecaster.forecast_to_file(
            self.inputs, self.targets_template, out, num_steps=steps, num_members=members, seed=seed,
            members_per_batch=members_per_batch, sampler=sampler, sampler_steps=sampler_steps,
            ensemble_stats=ensemble_stats, resume=resume, attrs=attrs, progress=progress, init_time=self.init_time,
            overwrite=overwrite, workers=workers, sampler_params=sampler_params)
