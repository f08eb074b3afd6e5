"""``mg.GraphCast``: DeepMind's deterministic GraphCast in physical units, on MindSpore cells.

Lam et al., *Science* 2023. What DeepMind's
``autoregressive.Predictor(normalization.InputsAndResiduals(GraphCast))`` computes:

* inputs and forcings are normalised ``(x - mean) / stddev``;
* the network predicts, per 6-h step, the normalised residual of every target that is also
  an input (``x_{t+1} = x_t + stddev_diff * r``) and the normalised value of the others
  (``total_precipitation_6hr = mean + stddev * r``);
* the rollout feeds each prediction back: the two input frames shift by one step, static
  fields are reused, and the forcings (TISR, year/day progress) of the new frame come from
  ``forcings``; variables that are not inputs (precipitation) are not fed back;
* the loss is GraphCast's weighted MSE of the normalised residuals, averaged over steps
  (step k's residual is taken against the model's own step k-1 prediction).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Optional

import mindspore as ms
import numpy as np
import pandas as pd
import xarray as xr
from mindspore import Tensor

from mindgencast.checkpoint.name_mapping import jax_to_mindspore, mindspore_to_jax
from mindgencast.checkpoint.schema import CheckpointError
from mindgencast.config import variable_info
from mindgencast.data.normalization import (
    NormalizationStats,
    normalize,
    normalized_residuals_to_targets,
    targets_to_normalized_residuals,
)
from mindgencast.graphcast.checkpoint import GRAPHCAST_NAME_RULES, GraphCastCheckpoint
from mindgencast.graphcast.config import GraphCastConfig
from mindgencast.graphcast.loss import GraphCastLoss, graphcast_loss_weights
from mindgencast.graphcast.network import GraphCastNetwork
from mindgencast.grid_stacking import nodes_to_dataset, num_channels, stack_to_nodes

__all__ = ["GraphCast"]

_COMPUTE_DTYPES = {"float32": ms.float32, "float16": ms.float16, "bfloat16": ms.bfloat16}
_PREFIX = "network."  # MindSpore names are those of the network inside its loss/train cells


@dataclasses.dataclass
class _GridModel:
    network: GraphCastNetwork
    lat: np.ndarray
    lon: np.ndarray
    loss_cells: dict = dataclasses.field(default_factory=dict)

    def loss_cell(self, targets: xr.Dataset, per_variable_weights=None) -> GraphCastLoss:
        key = None if per_variable_weights is None else tuple(sorted(per_variable_weights.items()))
        if key not in self.loss_cells:
            self.loss_cells[key] = GraphCastLoss(self.network, graphcast_loss_weights(targets, per_variable_weights))
        return self.loss_cells[key]


class GraphCast:
    """GraphCast: 6-hourly deterministic forecasts, loss and rollout in physical units.

    Args:
      checkpoint: a ``GraphCastCheckpoint``, a path to DeepMind's GraphCast ``.npz`` or a
        converted directory, or a :class:`GraphCastConfig` (random weights, for training).
      stats: ``NormalizationStats`` or a directory with mean_by_level.nc,
        stddev_by_level.nc and diffs_stddev_by_level.nc.
      compute_dtype: matmul dtype ("float32"; "float16"/"bfloat16" on Ascend).
      graph_builder: ``f(lat, lon, model_config) -> GraphCastGraphs`` (default: built here).
    """

    def __init__(self, checkpoint, stats, compute_dtype: str = "float32", graph_builder: Optional[Callable] = None):
        if isinstance(checkpoint, (str, os.PathLike)):
            from mindgencast.checkpoint import load_checkpoint

            checkpoint = load_checkpoint(checkpoint)
        if isinstance(checkpoint, GraphCastCheckpoint):
            self.config: GraphCastConfig = checkpoint.config
            self._params = {
                jax_to_mindspore(k, GRAPHCAST_NAME_RULES): np.asarray(v) for k, v in checkpoint.params.items()
            }
            self.license = checkpoint.license
        elif isinstance(checkpoint, GraphCastConfig):
            self.config, self._params, self.license = checkpoint, None, ""
        else:
            raise TypeError(
                f"GraphCast needs a GraphCast checkpoint (or its path) or a GraphCastConfig, got "
                f"{type(checkpoint).__name__}; a GenCast checkpoint loads with mg.GenCast"
            )
        if not isinstance(stats, NormalizationStats):
            stats = NormalizationStats.load(
                stats, required=("mean_by_level", "stddev_by_level", "diffs_stddev_by_level")
            )
        self.stats = stats
        if compute_dtype not in _COMPUTE_DTYPES:
            raise ValueError(f"compute_dtype {compute_dtype!r} must be one of {sorted(_COMPUTE_DTYPES)}")
        self.compute_dtype = compute_dtype
        self._graph_builder = graph_builder
        self._grid_models: dict = {}

    @property
    def task_config(self):
        return self.config.task_config

    @property
    def model_config(self):
        return self.config.model_config

    # ------------------------------------------------------------------ validation
    def _check(self, ds: xr.Dataset, expected, what: str, times: Optional[int] = None):
        names = set(ds.data_vars)
        missing = [v for v in expected if v not in names]
        extra = sorted(names - set(expected))
        if missing or extra:
            parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
            raise ValueError(
                f"{what} do not match the GraphCast task ({'; '.join(parts)}); the task expects "
                f"{list(expected)}: select the task's variables (TISR and year/day progress can be "
                "computed from the valid time)"
            )
        want = tuple(self.task_config.pressure_levels)
        for name in expected:
            x = ds[name]
            if "level" in x.dims and tuple(int(v) for v in x["level"].values) != want:
                raise ValueError(
                    f"{what} variable {name!r} has levels {x['level'].values.tolist()}, the task "
                    f"needs {list(want)}: select them with ds.sel(level={list(want)})"
                )
            if "level" not in x.dims and variable_info(name).atmospheric:
                raise ValueError(f"{what} variable {name!r} has no 'level' dimension")
            if np.issubdtype(x.dtype, np.floating) and np.isnan(x.values).any() and what != "targets template":
                raise ValueError(f"{what} variable {name!r} contains NaN; GraphCast needs complete fields")
        if times is not None and ds.sizes.get("time") != times:
            raise ValueError(
                f"{what} have {ds.sizes.get('time')} times but the targets template has {times}: "
                "give the forcings at every target time"
            )

    def _check_all(self, inputs, targets, forcings, what: str) -> int:
        """Validates a (inputs, targets or template, forcings) triple; returns the number of steps."""
        steps = targets.sizes.get("time", 0)
        if steps < 1:
            raise ValueError(f"the {what} need a 'time' dim with at least one target time (6 h, 12 h, ...)")
        frames = int(pd.Timedelta(self.task_config.input_duration) // pd.Timedelta("6h"))
        if inputs.sizes.get("time") != frames:
            raise ValueError(
                f"inputs have {inputs.sizes.get('time')} frames; the task's input_duration "
                f"{self.task_config.input_duration} needs {frames} frames 6 h apart ending at the init time"
            )
        self._check(inputs, self.task_config.input_variables, "inputs")
        self._check(targets, self.task_config.target_variables, what)
        self._check(forcings, self.task_config.forcing_variables, "forcings", times=steps)
        return steps

    # ------------------------------------------------------------------ building
    def _build_graphs(self, lat, lon):
        if self._graph_builder is not None:
            return self._graph_builder(lat, lon, self.model_config)
        from mindgencast.graphcast.graphs import build_graphcast_graphs

        mc = self.model_config
        return build_graphcast_graphs(lat, lon, mc.mesh_size, mc.radius_query_fraction_edge_length)

    def network_for_grid(
        self, lat, lon, num_input_channels: Optional[int] = None, node_output_size: Optional[int] = None
    ) -> GraphCastNetwork:
        """The network cell for a grid (built once, weights loaded); channel counts default to the task's."""
        return self._grid_model(lat, lon, num_input_channels, node_output_size).network

    def _grid_model(self, lat, lon, n_in=None, n_out=None) -> _GridModel:
        lat = np.asarray(lat, np.float64)
        lon = np.asarray(lon, np.float64)
        if n_in is None or n_out is None:
            n_in, n_out = self._task_channels()
        key = (lat.tobytes(), lon.tobytes(), n_in, n_out)
        if key in self._grid_models:
            return self._grid_models[key]
        if self.config.grid is not None:
            from mindgencast.data.validation import check_grid

            check_grid(xr.Dataset(coords={"lat": lat, "lon": lon}), self.config.grid)
        if np.any(np.diff(lat) <= 0):
            raise ValueError("latitude must be ascending (-90 .. 90); sort the data with ds.sortby('lat')")
        network = GraphCastNetwork(
            self.model_config, self._build_graphs(lat, lon), n_in, n_out, _COMPUTE_DTYPES[self.compute_dtype]
        )
        own = {_PREFIX + n: p for n, p in network.parameters_and_names()}
        if self._params is not None:
            missing, unexpected = sorted(set(own) - set(self._params)), sorted(set(self._params) - set(own))
            if missing or unexpected:
                raise CheckpointError(
                    f"checkpoint parameters do not match the GraphCast built from its configs: "
                    f"missing {missing[:5]}, unexpected {unexpected[:5]}"
                )
            for name, p in own.items():
                value = self._params[name]
                if tuple(value.shape) != tuple(p.shape):
                    raise CheckpointError(
                        f"parameter {name!r} has shape {tuple(value.shape)} in the checkpoint but the model needs "
                        f"{tuple(p.shape)}: the data's variables/levels do not match the checkpoint's task"
                    )
                p.set_data(Tensor(np.asarray(value, np.float32)))
        model = _GridModel(network=network, lat=lat, lon=lon)
        self._grid_models[key] = model
        return model

    def _task_channels(self) -> tuple[int, int]:
        """Stacked (inputs + forcings, targets) channels of the task, from its variables and levels."""
        task = self.task_config
        n_levels = len(task.pressure_levels)
        frames = int(pd.Timedelta(task.input_duration) // pd.Timedelta("6h"))

        def width(name, times):
            info = variable_info(name)
            per_time = n_levels if info.atmospheric else 1
            return per_time * (1 if info.kind == "static" else times)

        n_in = sum(width(v, frames) for v in task.input_variables) + sum(width(v, 1) for v in task.forcing_variables)
        return n_in, sum(width(v, 1) for v in task.target_variables)

    # ------------------------------------------------------------------ one step
    def _conditioning(self, norm_inputs, norm_forcings, batch, num_lat, num_lon) -> np.ndarray:
        return np.concatenate(
            [
                stack_to_nodes(norm_inputs, batch, num_lat, num_lon),
                stack_to_nodes(norm_forcings, batch, num_lat, num_lon),
            ],
            axis=-1,
        )

    def _model_for(self, inputs, forcings, template) -> _GridModel:
        n_in = num_channels(inputs) + num_channels(forcings)
        return self._grid_model(inputs["lat"].values, inputs["lon"].values, n_in, num_channels(template))

    def predict_normalized(
        self, norm_inputs: xr.Dataset, targets_template: xr.Dataset, norm_forcings: xr.Dataset
    ) -> xr.Dataset:
        """The raw network output for one step (normalised residuals / values), like the template.

        Args:
          norm_inputs: normalised inputs (batch, time=2, [level,] lat, lon; statics (lat, lon)).
          targets_template: one target time (batch, time=1, [level,] lat, lon); values ignored.
          norm_forcings: normalised forcings at that time.
        """
        model = self._model_for(norm_inputs, norm_forcings, targets_template)
        batch = targets_template.sizes["batch"]
        cond = self._conditioning(norm_inputs, norm_forcings, batch, model.lat.size, model.lon.size)
        raw = model.network(Tensor(cond)).asnumpy()
        return nodes_to_dataset(raw, targets_template.fillna(0.0).astype(np.float32))

    def _one_step(self, inputs, template, forcings) -> xr.Dataset:
        raw = self.predict_normalized(normalize(inputs, self.stats), template, normalize(forcings, self.stats))
        return normalized_residuals_to_targets(raw, inputs, self.stats)

    def normalized_targets(self, inputs: xr.Dataset, targets: xr.Dataset) -> xr.Dataset:
        """One target time as the normalised residuals the network is trained on."""
        return targets_to_normalized_residuals(targets, inputs, self.stats)

    def _next_inputs(self, inputs: xr.Dataset, prediction: xr.Dataset, forcings: xr.Dataset) -> xr.Dataset:
        """Shifts the input window by one step (reference: ``autoregressive._get_next_inputs``)."""
        out = {}
        for name in inputs.data_vars:
            x = inputs[name]
            if "time" not in x.dims:
                out[name] = x  # static field, reused
                continue
            source = prediction if name in prediction.data_vars else forcings
            if name not in source.data_vars:
                raise ValueError(f"input {name!r} is neither predicted nor a forcing: cannot roll it forward")
            new = source[name].transpose(*[d for d in x.dims if d in source[name].dims])
            new = new.drop_vars([c for c in new.coords if c not in x.coords and c not in new.dims])
            frames = xr.concat(
                [x.isel(time=slice(1, None)), new.assign_coords(time=x["time"].values[-1:])],
                dim="time",
                coords="minimal",
                compat="override",
                join="override",
            )
            out[name] = frames.assign_coords(time=x["time"].values).astype(x.dtype)
        return xr.Dataset(out, coords=inputs.coords, attrs=inputs.attrs)

    # ------------------------------------------------------------------ public API
    def predict(self, inputs: xr.Dataset, targets_template: xr.Dataset, forcings: xr.Dataset) -> xr.Dataset:
        """Autoregressive forecast for every time of ``targets_template``, physical units.

        Args:
          inputs: (batch, time=2, [level,] lat, lon) physical inputs (statics (lat, lon)).
          targets_template: (batch, time=T, [level,] lat, lon) structure of the targets, 6 h
            apart (values ignored, e.g. NaN).
          forcings: the task's forcings at the T target times.

        Returns:
          Like ``targets_template``, the predictions.
        """
        steps = self._check_all(inputs, targets_template, forcings, "targets template")
        predictions = []
        for t in range(steps):
            forcing_t = forcings.isel(time=[t])
            pred = self._one_step(inputs, targets_template.isel(time=[t]), forcing_t)
            predictions.append(pred)
            if t + 1 < steps:
                inputs = self._next_inputs(inputs, pred, forcing_t)
        out = xr.concat(predictions, dim="time", coords="minimal", compat="override", join="override")
        return xr.Dataset(
            {
                n: out[n].transpose(*targets_template[n].dims).astype(targets_template[n].dtype)
                for n in targets_template.data_vars
            },
            coords=targets_template.coords,
        )

    def loss(
        self, inputs: xr.Dataset, targets: xr.Dataset, forcings: xr.Dataset, per_variable_weights=None
    ) -> np.ndarray:
        """Per-example GraphCast loss [batch], averaged over the target times (autoregressive).

        Step k's normalised residual is taken against the model's own prediction of step k-1
        (the reference's ``autoregressive.Predictor.loss``).
        """
        steps = self._check_all(inputs, targets, forcings, "targets")
        losses = []
        for t in range(steps):
            forcing_t, target_t = forcings.isel(time=[t]), targets.isel(time=[t])
            norm_inputs, norm_forcings = normalize(inputs, self.stats), normalize(forcing_t, self.stats)
            model = self._model_for(norm_inputs, norm_forcings, target_t)
            batch = target_t.sizes["batch"]
            cond = self._conditioning(norm_inputs, norm_forcings, batch, model.lat.size, model.lon.size)
            y = stack_to_nodes(self.normalized_targets(inputs, target_t), batch, model.lat.size, model.lon.size)
            losses.append(model.loss_cell(target_t, per_variable_weights)(Tensor(cond), Tensor(y)).asnumpy())
            if t + 1 < steps:
                inputs = self._next_inputs(inputs, self._one_step(inputs, target_t * np.nan, forcing_t), forcing_t)
        return np.mean(np.stack(losses), axis=0)

    def loss_cell(
        self, inputs: xr.Dataset, targets: xr.Dataset, forcings: xr.Dataset, per_variable_weights=None
    ) -> GraphCastLoss:
        """The one-step loss cell for this grid (what a trainer differentiates); see ``GraphCastLoss``."""
        model = self._model_for(inputs, forcings, targets.isel(time=[0]))
        return model.loss_cell(targets.isel(time=[0]), per_variable_weights)

    def step_fn(self):
        """The rollout's step function ``(inputs, template, forcings, noise_source) -> prediction``
        (GraphCast draws no noise)."""

        def step(inputs, targets_template, forcings, noise_source=None):
            return self._one_step(inputs, targets_template, forcings)

        return step

    def forecast_to_file(self, inputs: xr.Dataset, targets_template: xr.Dataset, out_path, num_steps: int, **kwargs):
        """Deterministic rollout (one member, 6-h steps) into a CF NetCDF file, the layout of
        GenCast's forecasts; see :func:`mindgencast.forecast.rollout.run_forecast`. Forcings
        (TISR, year/day progress) are computed from each valid time."""
        from mindgencast.forecast.rollout import run_forecast
        from mindgencast.graphcast.forcings import graphcast_forcings_fn

        task = self.task_config
        return run_forecast(
            self.step_fn(),
            inputs,
            targets_template,
            out_path,
            num_steps=num_steps,
            num_members=1,
            members_per_batch=1,
            input_variables=task.input_variables,
            forcing_variables=task.forcing_variables,
            forcings_fn=graphcast_forcings_fn(inputs["lat"].values),
            **kwargs,
        )

    def to_checkpoint(self, description: Optional[str] = None) -> GraphCastCheckpoint:
        """Current weights (e.g. after training) and configs, with DeepMind's parameter names."""
        if self._grid_models:
            network = next(iter(self._grid_models.values())).network
            self._params = {_PREFIX + n: p.asnumpy() for n, p in network.parameters_and_names()}
        if self._params is None:
            raise ValueError("the model has no weights yet: call it on data (or train it) first")
        c = self.config
        return GraphCastCheckpoint(
            params={
                mindspore_to_jax(k, GRAPHCAST_NAME_RULES): np.asarray(v, np.float32) for k, v in self._params.items()
            },
            model_config=c.model_config,
            task_config=c.task_config,
            description=c.description if description is None else description,
            license=self.license,
            grid=c.grid,
        )
