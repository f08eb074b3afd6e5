"""Configuration of the built-in synthetic world (its law, not its data).

Everything that fixes the *law* of the synthetic world (which variables and
levels, the grid, the spectral truncation, the time scales, the seed of the
fixed structure) lives in one frozen dataclass, so that a world can be
re-created from a dataset's attributes and its oracle asked about that dataset.
The weather *realisation* is chosen separately by ``seed``.

Reference: issue 5, "The built-in synthetic world"; docs/synthetic_world.md.
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from mindgencast.config import GridConfig, TaskConfig
from mindgencast.config.variables import VARIABLES

__all__ = ["SyntheticWorldConfig", "world_variables"]

# Variables the world can generate; the others in the catalogue are forcings the
# data pipeline derives from the valid time (year/day progress, TOA radiation).
_SUPPORTED = (
    "2m_temperature",
    "mean_sea_level_pressure",
    "10m_u_component_of_wind",
    "10m_v_component_of_wind",
    "total_precipitation_12hr",
    "total_precipitation_6hr",
    "total_precipitation",
    "sea_surface_temperature",
    "temperature",
    "geopotential",
    "u_component_of_wind",
    "v_component_of_wind",
    "vertical_velocity",
    "specific_humidity",
    "geopotential_at_surface",
    "land_sea_mask",
)


def world_variables(task_config: TaskConfig) -> tuple[str, ...]:
    """The variables a world generates for ``task_config``, sorted.

    Inputs and targets of the task that are weather or static fields; forcings
    (``year_progress_sin``, ...) are left to the data pipeline, which derives
    them from the valid times exactly as GenCast does.

    Raises:
      ValueError: naming a variable the world cannot generate.
    """
    wanted = set(task_config.input_variables) | set(task_config.target_variables)
    names = []
    for name in sorted(wanted):
        info = VARIABLES.get(name)
        if info is not None and info.kind == "forcing":
            continue
        if name not in _SUPPORTED:
            raise ValueError(
                f"the synthetic world cannot generate variable {name!r}; it generates "
                f"{', '.join(_SUPPORTED)} (forcings are derived from time by the data pipeline)"
            )
        names.append(name)
    return tuple(names)


@dataclasses.dataclass(frozen=True)
class SyntheticWorldConfig:
    """The law of one synthetic world.

    Attributes:
      task_config: which variables and pressure levels (hPa) to generate.
      grid: the equiangular lat-lon grid with poles.
      time_step: spacing of the generated times, a whole number of hours that
        divides 24 h (``"6h"``, ``"12h"``).
      max_degree: largest spherical-harmonic degree ``L`` of the weather modes
        (all ``1 <= l <= L``, ``0 <= m <= l``).
      decorrelation_days: e-folding time ``tau_1`` of the largest modes; mode
        ``l`` decays with ``tau_l = tau_1 / sqrt(l)``.
      drift_deg_per_day: eastward phase drift ``U`` of every wave (deg/day).
      rossby_deg_per_day: Rossby retrogression ``R`` (deg/day); wave ``(l, m)``
        moves at ``U - R / (l (l + 1))`` degrees of longitude per day.
      coupling_per_day: strength ``kappa`` of the energy-conserving
        (antisymmetric) interaction between modes (1/day).
      spectral_slope: amplitude spectrum ``s_l ~ l^-slope``.
      structure_seed: seed of the fixed structure (land, orography, how each
        variable loads on the modes). Part of the law.
      epoch: the latent process starts (stationary) at this time; every
        generated time is ``epoch + n * time_step``.
    """

    task_config: TaskConfig
    grid: GridConfig
    time_step: str = "6h"
    max_degree: int = 6
    decorrelation_days: float = 6.0
    drift_deg_per_day: float = 8.0
    rossby_deg_per_day: float = 60.0
    coupling_per_day: float = 0.05
    spectral_slope: float = 1.0
    structure_seed: int = 0
    epoch: str = "1940-01-01T00:00"

    def __post_init__(self):
        step = pd.Timedelta(self.time_step)
        hours = step / pd.Timedelta("1h")
        if hours <= 0 or hours != int(hours) or 24 % int(hours):
            raise ValueError(
                f"time_step {self.time_step!r} must be a whole number of hours dividing 24h, e.g. '6h' or '12h'"
            )
        if pd.Timestamp(self.epoch) != pd.Timestamp(self.epoch).normalize():
            raise ValueError(f"epoch {self.epoch!r} must be at 00:00 UTC")
        if self.max_degree < 1:
            raise ValueError(f"max_degree must be >= 1, got {self.max_degree}")
        if self.grid.num_lon <= 2 * self.max_degree + 1 or self.grid.num_lat <= self.max_degree + 2:
            raise ValueError(
                f"a {self.grid.resolution} deg grid cannot resolve waves up to degree {self.max_degree}: "
                f"use a finer grid or a smaller max_degree (need num_lon > 2L+1 and num_lat > L+2)"
            )
        if self.decorrelation_days <= 0 or self.coupling_per_day < 0:
            raise ValueError("decorrelation_days must be > 0 and coupling_per_day >= 0")
        for level in self.task_config.pressure_levels:
            if not 1 <= level <= 1100:
                raise ValueError(f"pressure level {level} hPa is outside 1..1100 hPa")
        world_variables(self.task_config)

    @property
    def step_hours(self) -> int:
        """The time step in whole hours."""
        return int(pd.Timedelta(self.time_step) / pd.Timedelta("1h"))

    def to_json(self) -> str:
        """The config as a JSON string (stored in the attrs of generated datasets)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SyntheticWorldConfig":
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        task = TaskConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.pop("task_config").items()})
        grid = GridConfig(**d.pop("grid"))
        return cls(task_config=task, grid=grid, **d)
