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
from mindgencast.data.normalization import NormalizationStats
from mindgencast.forecast.initial_conditions import initial_conditions
from mindgencast.forecaster import Forecaster
from mindgencast.model import GenCast
from mindgencast.version import __version__

__all__ = ["ForecastJob"]


@dataclasses.dataclass
class ForecastJob:
    """A validated forecast, ready to run."""

    forecaster: Forecaster
    inputs: xr.Dataset
    targets_template: xr.Dataset
    checkpoint_path: str

    @classmethod
    def prepare(cls, checkpoint, stats, init, init_time=None, compute_dtype: str = "float32",
                graph_builder=None) -> "ForecastJob":
        """Loads and validates everything. ``checkpoint``/``stats``/``init`` are paths or loaded objects."""
        ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
        stats = stats if isinstance(stats, NormalizationStats) else NormalizationStats.load(stats)
        if isinstance(init, (str, os.PathLike)):
            if not os.path.exists(init):
                raise FileNotFoundError(f"initial-condition file {os.fspath(init)!r} does not exist")
            from mindgencast.data.era5_io import open_era5

            init = open_era5(init)
        inputs, template = initial_conditions(init, ckpt.task_config, init_time=init_time, grid=ckpt.grid)
        model = GenCast(ckpt, compute_dtype=compute_dtype, graph_builder=graph_builder)
        path = os.fspath(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else ckpt.description
        return cls(Forecaster(model, stats), inputs, template, path)

    def run(self, out, steps: int = 30, members: int = 8, members_per_batch: Optional[int] = None, seed: int = 0,
            sampler: str = "dpmpp2s", sampler_steps: Optional[int] = None, ensemble_stats: bool = False,
            resume: bool = False, progress: bool = True):
        """Rolls out into ``out`` (CF NetCDF, atomic; resumable). Returns the path."""
        if members < 1:
            raise ValueError(f"--members must be >= 1, got {members}")
        attrs = {"checkpoint": os.path.basename(self.checkpoint_path), "sampler": sampler,
                 "sampler_steps": str(sampler_steps or self.forecaster.model.sampler_config.num_noise_levels),
                 "source": f"mindgencast {__version__} (GenCast, MindSpore)",
                 "title": "GenCast ensemble forecast"}
        return self.forecaster.forecast_to_file(
            self.inputs, self.targets_template, out, num_steps=steps, num_members=members, seed=seed,
            members_per_batch=members_per_batch, sampler=sampler, sampler_steps=sampler_steps,
            ensemble_stats=ensemble_stats, resume=resume, attrs=attrs, progress=progress)
