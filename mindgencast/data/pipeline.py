"""Training examples from the packed store, normalised and stacked, as a MindSpore dataset.

Reference: GenCast (Price et al., Nature 2024), Methods "Training"; DeepMind graphcast
``data_utils.extract_inputs_targets_forcings`` (which frames are inputs, targets and
forcings), ``nan_cleaning.NaNCleaner`` and ``normalization.InputsAndResiduals`` (how
they are normalised); ``mindspore.dataset.GeneratorDataset`` (random-access sources,
sharding for data parallelism).

Example ``i`` is anchored at the store time ``t = times[i + (n_in - 1) k]`` where
``k = 12 h / data spacing`` and ``n_in = input_duration / 12 h`` (2 for GenCast):

    inputs    input variables at t - (n_in - 1) 12 h, ..., t (static fields once)
    targets   target variables at t + 12 h
    forcings  forcing variables at t + 12 h

SST NaNs are filled with ``min_by_level``; inputs and forcings are normalised by
mean/stddev, targets become normalised residuals (see
:mod:`mindgencast.data.normalization`). Each is stacked by
:func:`mindgencast.data.stacking.stack_dataset` to ``[num_lat * num_lon, channels]``
float32: channels in sorted variable order, each variable's (time, level) flattened
time-major; grid node = lat_index * num_lon + lon_index. Batched by the dataset to
``[batch, num_lat * num_lon, channels]``.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.data.nan_cleaning import NAN_VARIABLES, clean_nans
from mindgencast.data.normalization import NormalizationStats, normalize, targets_to_normalized_residuals
from mindgencast.data.stacking import variable_block
from mindgencast.data.store import TrainingStore

__all__ = ["MODEL_STEP", "COLUMNS", "TrainingExamples", "training_dataset"]

MODEL_STEP = "12h"  # GenCast's step between input frames and to the target
COLUMNS = ("inputs", "targets", "forcings")


@dataclasses.dataclass(frozen=True)
class _VariablePlan:
    """How one stored variable becomes its normalised channels: ``(x - shift) / scale``.

    ``shift``/``scale``/``fill`` are float32, shaped to broadcast against the stored
    array ``dims`` (per level along ``level``). ``residual``: the shift is the last
    input frame instead (targets that are inputs).
    """

    name: str
    dims: tuple[str, ...]
    shift: np.ndarray
    scale: np.ndarray
    fill: Optional[np.ndarray]
    residual: bool = False


class TrainingExamples:
    """Random-access source of normalised, stacked training examples from a store.

    Args:
      store: a :class:`~mindgencast.data.store.TrainingStore` or the path of one.
      stats: normalisation statistics covering every variable and level of the task.
      model_step: time between frames (GenCast: 12 h); a multiple of the store's spacing.
      with_index: also yield the example index as a 4th item (to check sharding).

    ``len(source)`` examples; ``source[i]`` -> ``(inputs [N, C_in], targets [N, C_t],
    forcings [N, C_f])`` float32 with ``N = num_lat * num_lon``.
    """

    def __init__(self, store, stats: NormalizationStats, *, model_step: str = MODEL_STEP, with_index: bool = False):
        self.store = store if isinstance(store, TrainingStore) else TrainingStore(store)
        self.stats = stats
        self.with_index = with_index
        task = self.store.task_config
        step, spacing = pd.Timedelta(model_step), self.store.time_step
        lag, num_inputs = step / spacing, pd.Timedelta(task.input_duration) / step
        if spacing <= pd.Timedelta(0) or lag < 1 or lag != int(lag):
            raise ValueError(f"model step {step} is not a whole multiple of the store's time spacing {spacing}")
        if num_inputs < 1 or num_inputs != int(num_inputs):
            raise ValueError(f"input_duration {task.input_duration} is not a whole number of {step} steps")
        self.lag, self.num_inputs, self.model_step = int(lag), int(num_inputs), step
        self._check_stats()
        self._plans = {
            "inputs": self._plan(task.input_variables),
            "targets": self._plan(task.target_variables, residual_of=task.input_variables),
            "forcings": self._plan(task.forcing_variables),
        }

    def _plan(self, names, residual_of=()) -> tuple[_VariablePlan, ...]:
        """Per-variable normalisation constants, in stacking (sorted) order."""
        plans = []
        for name in sorted(names):
            dims = self.store.dims[name]
            if "level" in dims:
                like = xr.DataArray(np.zeros(self.store.levels.size, np.float32), dims=("level",),
                                    coords={"level": self.store.levels}, name=name)
            else:
                like = xr.DataArray(np.float32(0), name=name)
            shape = [self.store.levels.size if d == "level" else 1 for d in dims]

            def constant(which):
                return np.asarray(self.stats.statistic(which, like).values, np.float32).reshape(shape)  # noqa: B023 (used within this iteration)

            residual = name in residual_of
            fill = constant("min_by_level") if name in NAN_VARIABLES else None
            shift = np.float32(0) if residual else constant("mean_by_level")
            scale = constant("diffs_stddev_by_level" if residual else "stddev_by_level")
            plans.append(_VariablePlan(name, dims, shift, scale, fill, residual))
        return tuple(plans)

    def _check_stats(self) -> None:
        """Fails now, naming the gap, rather than in a worker mid-epoch."""
        task = self.store.task_config
        names = set(task.input_variables) | set(task.target_variables) | set(task.forcing_variables)
        for table in ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level", "min_by_level"):
            missing = sorted(n for n in names if n not in getattr(self.stats, table).data_vars)
            if table == "min_by_level":
                missing = [n for n in missing if n in NAN_VARIABLES]
            if table == "diffs_stddev_by_level":
                missing = [n for n in missing if n in task.target_variables and n in task.input_variables]
            if missing:
                raise ValueError(f"the normalisation statistics lack {missing} in {table}.nc; "
                                 "compute them with `mindgencast stats` on data holding these variables")

    def __len__(self) -> int:
        return max(0, self.store.times.size - self.num_inputs * self.lag)

    def anchor_time(self, index: int) -> np.datetime64:
        """Valid time ``t`` of the last input frame of example ``index``."""
        return self.store.times[self._anchor(index)]

    def _anchor(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(f"example {index} out of range [0, {len(self)})")
        return int(index) + (self.num_inputs - 1) * self.lag

    def _frames(self, names, start: int, count: int, lead_times) -> xr.Dataset:
        """Physical Dataset of ``names`` at store times start, start + lag, ... (count of them)."""
        out = {}
        indices = slice(start, start + (count - 1) * self.lag + 1, self.lag)
        for name in names:
            dims = self.store.dims[name]
            var = self.store.read(name, indices if "time" in dims else None)
            out[name] = var.assign_coords(time=lead_times) if "time" in dims else var
        return xr.Dataset(out)

    def physical_example(self, index: int) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
        """``(inputs, targets, forcings)`` of example ``index`` in physical units, NaNs kept.

        Dims as :func:`mindgencast.data.extract_inputs_targets_forcings` gives for
        one batch element: ``time`` holds lead times (inputs -12 h, 0 h; others +12 h).
        """
        t = self._anchor(index)
        task = self.store.task_config
        first = t - (self.num_inputs - 1) * self.lag
        input_leads = pd.to_timedelta(np.arange(-(self.num_inputs - 1), 1) * self.model_step).values
        target_lead = pd.to_timedelta([self.model_step]).values
        inputs = self._frames(task.input_variables, first, self.num_inputs, input_leads)
        targets = self._frames(task.target_variables, t + self.lag, 1, target_lead)
        forcings = self._frames(task.forcing_variables, t + self.lag, 1, target_lead)
        return inputs, targets, forcings

    def normalized_example(self, index: int) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
        """``(inputs, target residuals, forcings)`` normalised as GenCast's wrapped predictor sees them."""
        inputs, targets, forcings = self.physical_example(index)
        inputs, targets = clean_nans(inputs, self.stats), clean_nans(targets, self.stats)
        forcings = clean_nans(forcings, self.stats)
        residuals = targets_to_normalized_residuals(targets, inputs, self.stats)
        return normalize(inputs, self.stats), residuals, normalize(forcings, self.stats)

    def _read(self, plan: _VariablePlan, start: int, count: int) -> np.ndarray:
        """Stored values (NaN filled) at store times start, start + lag, ... (count of them)."""
        if "time" in plan.dims:
            values = self.store.read_array(plan.name, slice(start, start + (count - 1) * self.lag + 1, self.lag))
        else:
            values = self.store.read_array(plan.name)
        if plan.fill is not None:
            values = np.where(np.isnan(values), plan.fill, values)
        return values

    def _stack(self, blocks: list[np.ndarray]) -> np.ndarray:
        if not blocks:
            return np.zeros((self.store.lat.size * self.store.lon.size, 0), np.float32)
        return np.concatenate(blocks, axis=-1).reshape(-1, sum(b.shape[-1] for b in blocks))

    def __getitem__(self, index):
        """Example ``index`` as ``(inputs, targets, forcings)`` stacked float32 arrays.

        The same float32 operations as :meth:`normalized_example` + ``stack_dataset``
        (hence bit-identical), done in NumPy on the stored arrays: the xarray route
        costs ~30x more per example. The store was NaN-checked when written.
        """
        index = int(index)
        t = self._anchor(index)
        num_lat, num_lon = self.store.lat.size, self.store.lon.size
        first = t - (self.num_inputs - 1) * self.lag
        last_inputs, inputs = {}, []
        for plan in self._plans["inputs"]:
            x = self._read(plan, first, self.num_inputs)
            if "time" in plan.dims:
                last_inputs[plan.name] = x[-1:]
            inputs.append(variable_block((x - plan.shift) / plan.scale, plan.dims, num_lat, num_lon))
        outputs = {"inputs": self._stack(inputs)}
        for column in ("targets", "forcings"):
            blocks = []
            for plan in self._plans[column]:
                y = self._read(plan, t + self.lag, 1)
                shift = last_inputs[plan.name] if plan.residual else plan.shift
                blocks.append(variable_block((y - shift) / plan.scale, plan.dims, num_lat, num_lon))
            outputs[column] = self._stack(blocks)
        arrays = tuple(outputs[c] for c in COLUMNS)
        return (*arrays, np.int64(index)) if self.with_index else arrays


def training_dataset(
    store,
    stats: NormalizationStats,
    *,
    batch_size: int = 1,
    shuffle: bool = True,
    seed: Optional[int] = None,
    num_shards: Optional[int] = None,
    shard_id: Optional[int] = None,
    num_parallel_workers: int = 1,
    python_multiprocessing: bool = False,
    drop_remainder: bool = True,
    with_index: bool = False,
):
    """A ``mindspore.dataset`` of batches ``(inputs, targets, forcings)`` from a store.

    Args:
      store: path of a store or a :class:`TrainingStore`.
      stats: normalisation statistics (e.g. ``NormalizationStats.load(dir)``).
      batch_size: examples per batch (``None`` or 0: unbatched examples).
      shuffle: draw examples in random order each epoch.
      seed: seed of MindSpore's global RNG for the shuffle (``ds.config.set_seed``),
        for reproducible orders; None leaves it alone.
      num_shards, shard_id: data-parallel split (e.g. ``get_group_size()``,
        ``get_rank()``): shard ``k`` reads only its share of the examples.
        MindSpore's distributed sampler gives every shard ceil(len / num_shards)
        examples, repeating a few when len is not a multiple of num_shards.
      num_parallel_workers: workers reading and normalising examples.
      python_multiprocessing: workers as processes instead of threads.
      drop_remainder: drop a last incomplete batch.
      with_index: add an ``index`` column (int64) with each example's index.

    Returns:
      ``mindspore.dataset.GeneratorDataset`` (batched), columns ``inputs``
      ``[batch, N, C_in]``, ``targets`` ``[batch, N, C_t]``, ``forcings``
      ``[batch, N, C_f]`` float32 (+ ``index`` ``[batch]``).
    """
    import mindspore.dataset as msds

    if seed is not None:
        msds.config.set_seed(int(seed))
    source = TrainingExamples(store, stats, with_index=with_index)
    if len(source) == 0:
        raise ValueError(
            f"the store {source.store.path} has {source.store.times.size} times: too few for one example "
            f"({source.num_inputs} input frames and a target {source.model_step} later)"
        )
    columns = list(COLUMNS) + (["index"] if with_index else [])
    dataset = msds.GeneratorDataset(
        source,
        column_names=columns,
        shuffle=shuffle,
        num_shards=num_shards,
        shard_id=shard_id,
        num_parallel_workers=max(1, int(num_parallel_workers)),
        python_multiprocessing=python_multiprocessing,
    )
    if batch_size:
        dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
    return dataset

