"""The built-in synthetic world: ERA5-format data whose law is known exactly.

``SyntheticWorld`` turns a :class:`SyntheticWorldConfig` (the law) and a seed
(the realisation) into WeatherBench2-layout datasets: dims ``time`` (datetime64),
``level`` (hPa, int32), ``lat`` (ascending, -90..90), ``lon`` (0..360-step),
float32 fields in the units of :mod:`mindgencast.config.variables`. The
weather is a linear-Gaussian latent process (:mod:`latent_process`) mapped to
every variable and level (:mod:`field_law`) on top of a climate with seasonal
and diurnal cycles (:mod:`climate`); because the law is known, the world also
gives its analytic climatology (:mod:`moments`) and the exact conditional law
of the future, the ideal ensemble (:mod:`oracle`).

The latent trajectory is anchored at ``config.epoch``: the state at
``epoch + n * time_step`` depends only on (law, seed, n), so any window of any
length gives the same values at the same times (generation runs in blocks of
``_BLOCK`` steps with one random stream per block).

Reference: issue 5 "The built-in synthetic world"; docs/synthetic_world.md.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config import GridConfig, TaskConfig
from mindgencast.config.variables import VARIABLES
from mindgencast.data.synthetic.climate import clock, field_recipe, static_fields, variable_rng
from mindgencast.data.synthetic.config import SyntheticWorldConfig, world_variables
from mindgencast.data.synthetic.field_law import FieldLaw
from mindgencast.data.synthetic.latent_process import LatentProcess
from mindgencast.data.synthetic.moments import ClimatologyMoments, climatology_moments
from mindgencast.data.synthetic.oracle import recover_latent, sample_future
from mindgencast.data.synthetic.writer import write_dataset_atomic, write_netcdf_stream

__all__ = ["SyntheticWorld"]

_BLOCK = 1024  # latent steps per random stream
_CHUNK_VALUES = 2**22  # field values generated at once (bounds memory: ~100 MB of float64 work arrays)


class SyntheticWorld:
    """A synthetic ERA5-like world with a known law.

    Args:
      task_config: variables and pressure levels to generate (any subset of
        the GenCast variables; forcings are left to the data pipeline).
      grid: a GridConfig or a resolution in degrees (e.g. 5.625).
      seed: the weather realisation (the law does not depend on it).
      time_step: spacing of generated times (``"6h"``, ``"12h"``, ...).
      **law: further :class:`SyntheticWorldConfig` fields (``max_degree``, ...).

    Attributes:
      config: the SyntheticWorldConfig (the law); seed: the realisation.
      lat, lon: [num_lat], [num_lon] grid coordinates (degrees, float64).
      variables: the generated variable names (sorted); levels: hPa, ascending.
      process: the LatentProcess of the waves (dimension ``D``).
      statics: ``land_sea_mask`` and ``geopotential_at_surface`` [lat, lon].
      laws: ``{(name, level or None): FieldLaw}`` of every time-varying field.
    """

    def __init__(self, task_config: TaskConfig, grid: GridConfig | float, seed: int = 0, time_step: str = "6h",
                 **law):
        if not isinstance(grid, GridConfig):
            grid = GridConfig(resolution=float(grid))
        self._init(SyntheticWorldConfig(task_config=task_config, grid=grid, time_step=time_step, **law), seed)

    @classmethod
    def from_config(cls, config: SyntheticWorldConfig, seed: int = 0) -> "SyntheticWorld":
        """The world of ``config`` with weather realisation ``seed``."""
        world = cls.__new__(cls)
        world._init(config, seed)
        return world

    @classmethod
    def from_dataset(cls, dataset: xr.Dataset) -> "SyntheticWorld":
        """The world that generated ``dataset`` (read from its ``synthetic_world`` attrs)."""
        if "synthetic_world" not in dataset.attrs:
            raise ValueError("dataset has no 'synthetic_world' attribute: it was not written by SyntheticWorld")
        config = SyntheticWorldConfig.from_json(dataset.attrs["synthetic_world"])
        return cls.from_config(config, int(dataset.attrs.get("synthetic_seed", 0)))

    def _init(self, config: SyntheticWorldConfig, seed: int):
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.config = config
        self.seed = int(seed)
        c = config
        self.lat = c.grid.latitudes()
        self.lon = c.grid.longitudes()
        self.variables = world_variables(c.task_config)
        self.levels = tuple(sorted(int(p) for p in c.task_config.pressure_levels))
        self.process = LatentProcess.build(c.max_degree, c.decorrelation_days, c.drift_deg_per_day,
                                           c.rossby_deg_per_day, c.coupling_per_day, c.spectral_slope,
                                           variable_rng(c.structure_seed, "coupling"))
        self.statics = static_fields(self.lat, self.lon, c.structure_seed)
        self.laws: dict[tuple[str, int | None], FieldLaw] = {}
        for name in self.variables:
            info = VARIABLES[name]
            if info.kind == "static":
                continue
            for level in (self.levels if info.atmospheric else (None,)):
                recipe = field_recipe(name, level, self.lat, self.lon, self.statics)
                self.laws[(name, level)] = FieldLaw(name, level, recipe, self.process, self.lat, self.lon,
                                                    c.structure_seed)
        self._epoch = np.datetime64(pd.Timestamp(c.epoch).to_datetime64(), "s")
        self._step = np.timedelta64(c.step_hours * 3600, "s")
        self._transitions: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._M, self._C = self.transition(c.step_hours / 24.0)
        self._block_ends: dict[int, np.ndarray] = {}
        self._last_block: tuple[int, np.ndarray] | None = None

    def transition(self, lag_days: float) -> tuple[np.ndarray, np.ndarray]:
        """``M(tau)`` and ``sqrt(Q(tau))`` of the latent process (cached per lag, in days)."""
        key = float(lag_days)
        if key not in self._transitions:
            self._transitions[key] = self.process.transition(key)
        return self._transitions[key]

    # ----------------------------------------------------------------- times
    def times(self, start, days: float | None = None, end=None) -> np.ndarray:
        """The generated times ``start, start + step, ...`` (datetime64[ns]).

        ``days`` gives ``[start, start + days)``; ``end`` gives ``[start, end]``.
        """
        t0 = np.datetime64(pd.Timestamp(start).to_datetime64(), "s")
        if (days is None) == (end is None):
            raise ValueError("give exactly one of days= or end=")
        if end is not None:
            t1 = np.datetime64(pd.Timestamp(end).to_datetime64(), "s")
            count = int((t1 - t0) // self._step) + 1
        else:
            if not days > 0:
                raise ValueError(f"days must be positive, got {days}")
            count = int(np.ceil(days * 24 / self.config.step_hours - 1e-9))
        if count < 1:
            raise ValueError(f"no times between start {start} and end {end}")
        self._step_index(t0)
        return (t0 + np.arange(count) * self._step).astype("datetime64[ns]")

    def _step_index(self, times) -> np.ndarray:
        t = np.asarray(times, dtype="datetime64[s]")
        offset = (t - self._epoch).astype(np.int64)
        step = int(self._step.astype(np.int64))
        if np.any(offset < 0) or np.any(offset % step):
            bad = t[(offset < 0) | (offset % step != 0)][0]
            raise ValueError(
                f"time {bad} is not on this world's time axis: times must be {self.config.epoch} "
                f"+ a multiple of {self.config.time_step} (set start accordingly, e.g. 00:00 UTC)"
            )
        return offset // step

    # ---------------------------------------------------------------- latent
    def _block(self, b: int) -> np.ndarray:
        """Latent states of steps ``b * _BLOCK ... (b + 1) * _BLOCK - 1``: [_BLOCK, D]."""
        if self._last_block is not None and self._last_block[0] == b:
            return self._last_block[1]
        known = [k for k in self._block_ends if k < b]
        first = max(known) + 1 if known else 0
        for k in range(first, b + 1):
            eps = np.random.default_rng([self.seed, k + 1]).standard_normal((_BLOCK, self.process.dim))
            w = eps @ self._C.T
            states = np.empty_like(w)
            if k == 0:
                z0 = np.random.default_rng([self.seed, 0]).standard_normal(self.process.dim)
                z = self.process.stationary_sqrt() @ z0
            else:
                z = self._M @ self._block_ends[k - 1] + w[0]
            states[0] = z
            M = self._M
            for i in range(1, _BLOCK):
                z = M @ z + w[i]
                states[i] = z
            self._block_ends[k] = z
        self._last_block = (b, states)
        return states

    def latent_states(self, times) -> np.ndarray:
        """The true latent state ``z`` [T, D] at ``times`` (on the world's time axis)."""
        index = self._step_index(times)
        out = np.empty((index.size, self.process.dim))
        for b in np.unique(index // _BLOCK):
            sel = index // _BLOCK == b
            out[sel] = self._block(int(b))[index[sel] % _BLOCK]
        return out

    # ---------------------------------------------------------------- fields
    def fields(self, z: np.ndarray, times) -> dict[tuple[str, int | None], np.ndarray]:
        """Every field ``Y`` [T, lat, lon] (float64) for latent states ``z`` [T, D] valid at ``times``."""
        year_progress, day_progress = clock(times, self.lon)
        return {key: law.evaluate(z, year_progress, day_progress) for key, law in self.laws.items()}

    def to_dataset(self, values: dict, times, extra_dims: tuple[str, ...] = ()) -> xr.Dataset:
        """Packs ``fields`` output (arrays [*extra, T, lat, lon]) into the WeatherBench2 layout."""
        coords = {
            "time": np.asarray(times, dtype="datetime64[ns]"),
            "lat": self.lat.astype(np.float32),
            "lon": self.lon.astype(np.float32),
        }
        dims = (*extra_dims, "time")
        data = {}
        for name in self.variables:
            info = VARIABLES[name]
            if info.kind == "static":
                array = xr.Variable(("lat", "lon"), self.statics[name].astype(np.float32))
            elif info.atmospheric:
                stack = np.stack([values[(name, p)] for p in self.levels], axis=-3)
                array = xr.Variable((*dims, "level", "lat", "lon"), stack.astype(np.float32))
            else:
                array = xr.Variable((*dims, "lat", "lon"), values[(name, None)].astype(np.float32))
            array.attrs = {"units": info.units, "long_name": info.long_name}
            if info.standard_name:
                array.attrs["standard_name"] = info.standard_name
            data[name] = array
        if any(VARIABLES[n].atmospheric for n in self.variables):
            coords["level"] = np.asarray(self.levels, dtype=np.int32)
        ds = xr.Dataset(data, coords=coords)
        ds["lat"].attrs = {"units": "degrees_north", "long_name": "latitude"}
        ds["lon"].attrs = {"units": "degrees_east", "long_name": "longitude"}
        if "level" in ds.coords:
            ds["level"].attrs = {"units": "hPa", "long_name": "pressure level"}
        ds.attrs = {
            "title": "mindgencast synthetic world (ERA5 / WeatherBench2 layout)",
            "description": "Synthetic weather with a known law; see docs/synthetic_world.md. Not real data.",
            "synthetic_world": self.config.to_json(),
            "synthetic_seed": self.seed,
        }
        return ds

    def generate(self, start, days: float | None = None, end=None) -> xr.Dataset:
        """The dataset over ``[start, start + days)`` (or ``[start, end]``), in memory.

        Deterministic given (law, seed): the same time always gets the same values.

        Returns:
          xr.Dataset: atmospheric variables [time, level, lat, lon], surface ones
          [time, lat, lon], static ones [lat, lon]; float32, CF units attrs.
        """
        times = self.times(start, days, end)
        out = {key: np.empty((times.size, self.lat.size, self.lon.size), np.float32) for key in self.laws}
        for sl in self._time_chunks(times.size):
            values = self.fields(self.latent_states(times[sl]), times[sl])
            for key, array in values.items():
                out[key][sl] = array
        return self.to_dataset(out, times)

    def _time_chunks(self, count: int):
        per_step = max(1, len(self.laws)) * self.lat.size * self.lon.size
        size = max(1, _CHUNK_VALUES // per_step)
        for i in range(0, count, size):
            yield slice(i, min(count, i + size))

    def generate_chunks(self, start, days: float | None = None, end=None):
        """Like :meth:`generate`, but yields consecutive datasets of bounded size (for streaming)."""
        times = self.times(start, days, end)
        for sl in self._time_chunks(times.size):
            yield self.to_dataset(self.fields(self.latent_states(times[sl]), times[sl]), times[sl])

    # ------------------------------------------------------- law, oracle, io
    def write(self, path, start, days: float | None = None, end=None) -> None:
        """Writes ``generate(start, days | end)`` to one NetCDF file, streaming, atomically."""
        write_netcdf_stream(path, self.generate_chunks(start, days, end))

    def climatology_moments(self, lag="12h") -> ClimatologyMoments:
        """The analytic climatology: see :func:`moments.climatology_moments`."""
        return climatology_moments(self, lag)

    def write_stats(self, directory) -> None:
        """Writes ``mean_by_level.nc``, ``stddev_by_level.nc``, ``diffs_stddev_by_level.nc``,
        ``min_by_level.nc`` (GenCast's stats layout) into ``directory``, each atomically."""
        for stem, dataset in self.climatology_moments().by_file_name().items():
            write_dataset_atomic(dataset, pathlib.Path(directory) / f"{stem}.nc")

    def recover_latent(self, state, init_time=None) -> np.ndarray:
        """The latent state [D] behind a dataset at ``init_time``: see :func:`oracle.recover_latent`."""
        return recover_latent(self, state, init_time)

    def sample_future(self, state, init_time, lead_times, num_members: int, rng=None) -> xr.Dataset:
        """The ideal ensemble: see :func:`oracle.sample_future`."""
        return sample_future(self, state, init_time, lead_times, num_members, rng)
