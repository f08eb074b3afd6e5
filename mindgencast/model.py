"""``mg.GenCast``: DeepMind's GenCast denoiser, loss and samplers on MindSpore cells.

Price et al. 2024 (GenCast); Karras et al. 2022 (EDM). Works in NORMALISED space
(inputs/forcings normalised, targets as normalised residuals): see
:class:`mindgencast.forecaster.Forecaster` for physical units. The network for a grid is
built on the first call that sees that grid (as the reference does), then cached.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import mindspore as ms
import numpy as np
import xarray as xr
from mindspore import Tensor

from mindgencast.checkpoint.name_mapping import jax_to_mindspore
from mindgencast.checkpoint.schema import Checkpoint, CheckpointError
from mindgencast.config import GenCastConfig, SamplerConfig, TaskConfig, num_target_channels, variable_info
from mindgencast.denoising_loss import DenoisingLoss, channel_loss_weights
from mindgencast.grid_stacking import nodes_to_dataset, num_channels, stack_to_nodes
from mindgencast.nn.blockwise_denoiser import BlockwiseDenoiser
from mindgencast.nn.denoiser_network import DenoiserNetwork, PreconditionedDenoiser

__all__ = ["GenCast", "DataMismatchError"]

# "auto" -> per_block: measured leaner and no slower on the CPU backend (docs/performance.md).
_EXECUTIONS = {"auto": "per_block", "whole": "whole", "per_block": "per_block"}
_COMPUTE_DTYPES = {"float32": ms.float32, "float16": ms.float16, "bfloat16": ms.bfloat16}


class DataMismatchError(ValueError):
    """Data do not match the model's task (variables, levels, grid)."""


def _levels_of(ds: xr.Dataset) -> Optional[tuple]:
    return tuple(int(v) for v in ds["level"].values) if "level" in ds.coords else None


@dataclasses.dataclass
class _GridModel:
    """Cells and constants for one grid."""

    denoiser: PreconditionedDenoiser
    lat: np.ndarray
    lon: np.ndarray
    execution: str = "whole"  # "whole": one graph; "per_block": BlockwiseDenoiser (inference only)
    forward: Optional[Callable] = None  # (conditioning, noisy_targets, sigma) -> (denoised, raw)
    loss_cells: dict = dataclasses.field(default_factory=dict)  # per-variable weights -> DenoisingLoss

    def loss_cell(self, targets: xr.Dataset, per_variable_weights) -> DenoisingLoss:
        """The (compiled once) loss cell for these weights; targets only give the structure."""
        key = None if per_variable_weights is None else tuple(sorted(per_variable_weights.items()))
        if key not in self.loss_cells:
            self.loss_cells[key] = DenoisingLoss(self.denoiser, channel_loss_weights(targets, per_variable_weights))
        return self.loss_cells[key]


class GenCast:
    """GenCast on MindSpore.

    Args:
      checkpoint: a :class:`Checkpoint` (from :func:`mindgencast.load_checkpoint`) or a
        :class:`GenCastConfig` (randomly initialised weights, e.g. for training).
      sampler_config: overrides the checkpoint's sampler config.
      compute_dtype: "float32" (default), "float16" or "bfloat16" (Ascend; CPU has no
        bfloat16) for the matmuls; norms, softmax and aggregation stay float32.
      graph_builder: ``f(lat, lon, arch) -> graphs`` (default: mindgencast.graphs with
        its disk cache).
      attention_implementation: "auto" | "banded" | "gather" (see
        :class:`mindgencast.nn.sparse_transformer.SparseAttention`); all compute the same
        masked softmax.
      execution: how inference runs in GRAPH_MODE: "whole" (one compiled graph for the
        network), "per_block" (encoder, each transformer block and decoder compiled
        separately and chained, :class:`mindgencast.nn.blockwise_denoiser.BlockwiseDenoiser`:
        less memory on the CPU backend) or "auto" (per_block; docs/performance.md). Training
        always differentiates the whole graph.
    """

    def __init__(self, checkpoint, sampler_config: Optional[SamplerConfig] = None,
                 compute_dtype: str = "float32", graph_builder: Optional[Callable] = None,
                 attention_implementation: str = "auto", execution: str = "auto"):
        if execution not in _EXECUTIONS:
            raise ValueError(f"execution {execution!r} must be one of {list(_EXECUTIONS)}")
        if isinstance(checkpoint, Checkpoint):
            self.config: GenCastConfig = checkpoint.config
            self._params = {jax_to_mindspore(k): np.asarray(v) for k, v in checkpoint.params.items()}
        elif isinstance(checkpoint, GenCastConfig):
            self.config = checkpoint
            self._params = None
        else:
            hint = "; a GraphCast checkpoint loads with mg.GraphCast" if "GraphCast" in type(checkpoint).__name__ else ""
            raise TypeError(f"GenCast needs a Checkpoint or a GenCastConfig, got {type(checkpoint).__name__}{hint}")
        if sampler_config is not None:
            self.config = dataclasses.replace(self.config, sampler_config=sampler_config)
        if compute_dtype not in _COMPUTE_DTYPES:
            raise ValueError(f"compute_dtype {compute_dtype!r} must be one of {sorted(_COMPUTE_DTYPES)}")
        self.compute_dtype = compute_dtype
        self._graph_builder = graph_builder
        self.attention_implementation = attention_implementation
        self.execution = _EXECUTIONS[execution]
        self._grid_models: dict = {}
        self.num_target_channels = num_target_channels(self.task_config)
        arch = self.config.denoiser_architecture_config
        if arch.node_output_size not in (None, self.num_target_channels):
            raise CheckpointError(
                f"checkpoint's node_output_size={arch.node_output_size} does not match its task's "
                f"{self.num_target_channels} target channels")

    # ------------------------------------------------------------------ configs
    @property
    def task_config(self) -> TaskConfig:
        return self.config.task_config

    @property
    def sampler_config(self) -> SamplerConfig:
        return self.config.sampler_config

    # ------------------------------------------------------------------ validation
    def _check_dataset(self, ds: xr.Dataset, expected: tuple, what: str, needs_grid: bool = True):
        names = set(ds.data_vars)
        missing = [v for v in expected if v not in names]
        extra = sorted(names - set(expected))
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unexpected {extra}")
            raise DataMismatchError(
                f"{what} do not match the model's task ({'; '.join(parts)}); the task expects "
                f"{list(expected)}: select the task's variables or use a checkpoint trained on them")
        want = tuple(self.task_config.pressure_levels)
        for name in expected:
            if "level" in ds[name].dims:
                got = _levels_of(ds[name])
                if got != want:
                    raise DataMismatchError(
                        f"{what} variable {name!r} has pressure levels {got}, the model's task needs {want} "
                        "(in this order): select them with ds.sel(level=[...])")
            elif variable_info(name).atmospheric:
                raise DataMismatchError(f"{what} variable {name!r} has no 'level' dimension")
        for dim in ("lat", "lon") if needs_grid else ():
            if dim not in ds.dims:
                raise DataMismatchError(f"{what} lack the {dim!r} dimension")

    def _check_grid(self, lat: np.ndarray, lon: np.ndarray):
        """A converted checkpoint records its grid; data on any other grid are refused."""
        if self.config.grid is None:
            return
        from mindgencast.data.validation import DataValidationError, check_grid

        try:
            check_grid(xr.Dataset(coords={"lat": lat, "lon": lon}), self.config.grid)
        except DataValidationError as e:
            raise DataMismatchError(f"checkpoint grid mismatch: {e}") from None

    # ------------------------------------------------------------------ building
    def _build_graphs(self, lat, lon):
        arch = self.config.denoiser_architecture_config
        if self._graph_builder is not None:
            return self._graph_builder(lat, lon, arch)
        from mindgencast.graphs import graphs_for_config

        return graphs_for_config(lat, lon, arch)

    def _grid_model(self, inputs: xr.Dataset, forcings: xr.Dataset, targets: xr.Dataset) -> _GridModel:
        lat = np.asarray(inputs["lat"].values, np.float64)
        lon = np.asarray(inputs["lon"].values, np.float64)
        key = (lat.tobytes(), lon.tobytes(), num_channels(inputs), num_channels(forcings))
        if key in self._grid_models:
            return self._grid_models[key]
        self._check_grid(lat, lon)
        if np.any(np.diff(lat) <= 0):
            raise DataMismatchError("latitude must be ascending (-90 .. 90); sort the data with ds.sortby('lat')")
        graphs = self._build_graphs(lat, lon)
        n_in, n_forc, n_out = num_channels(inputs), num_channels(forcings), num_channels(targets)
        if n_out != self.num_target_channels:
            raise DataMismatchError(f"targets have {n_out} channels, the model predicts {self.num_target_channels}")
        network = DenoiserNetwork(
            self.config.denoiser_architecture_config, self.config.noise_encoder_config, graphs,
            num_input_channels=n_in + n_forc + n_out, node_output_size=n_out,
            compute_dtype=_COMPUTE_DTYPES[self.compute_dtype], attention_implementation=self.attention_implementation)
        denoiser = PreconditionedDenoiser(network, _channel_order(inputs, forcings, targets))
        if self._params is not None:
            _load_params(denoiser, self._params)
        else:
            self._params = {name: p.asnumpy() for name, p in denoiser.parameters_and_names()}
        forward = BlockwiseDenoiser(denoiser) if self.execution == "per_block" else denoiser
        model = _GridModel(denoiser=denoiser, lat=lat, lon=lon, execution=self.execution, forward=forward)
        self._grid_models[key] = model
        return model

    # ------------------------------------------------------------------ arrays
    def _conditioning(self, inputs, forcings, batch, num_lat, num_lon) -> np.ndarray:
        return np.concatenate([stack_to_nodes(inputs, batch, num_lat, num_lon),
                               stack_to_nodes(forcings, batch, num_lat, num_lon)], axis=-1)

    def _prepare(self, inputs, targets, forcings):
        task = self.task_config
        self._check_dataset(inputs, task.input_variables, "inputs")
        self._check_dataset(forcings, task.forcing_variables, "forcings", needs_grid=False)
        self._check_dataset(targets, task.target_variables, "targets")
        for name, ds in (("inputs", inputs), ("forcings", forcings), ("targets", targets)):
            for v in ds.data_vars:
                if np.issubdtype(ds[v].dtype, np.floating) and np.isnan(ds[v].values).any():
                    raise DataMismatchError(
                        f"{name} variable {v!r} contains NaN; the denoiser needs NaN-free normalised data "
                        "(mindgencast.Forecaster fills sea_surface_temperature NaNs for you)")
        model = self._grid_model(inputs, forcings, targets)
        batch = targets.sizes["batch"]
        cond = self._conditioning(inputs, forcings, batch, model.lat.size, model.lon.size)
        return model, cond

    # ------------------------------------------------------------------ weights
    def to_checkpoint(self, description: Optional[str] = None, license: str = "") -> Checkpoint:
        """The current weights (e.g. after training) and configs as a :class:`Checkpoint`,
        with DeepMind's parameter names (export with ``mg.checkpoint.export_npz`` or
        ``save_converted``)."""
        from mindgencast.checkpoint.name_mapping import mindspore_to_jax

        if self._grid_models:
            cell = next(iter(self._grid_models.values())).denoiser
            self._params = {name: p.asnumpy() for name, p in cell.parameters_and_names()}
        if self._params is None:
            raise ValueError("the model has no weights yet: call it on data (or train it) first")
        c = self.config
        return Checkpoint(params={mindspore_to_jax(k): np.asarray(v, np.float32) for k, v in self._params.items()},
                          task_config=c.task_config,
                          denoiser_architecture_config=dataclasses.replace(
                              c.denoiser_architecture_config, node_output_size=self.num_target_channels),
                          sampler_config=c.sampler_config, noise_config=c.noise_config,
                          noise_encoder_config=c.noise_encoder_config,
                          description=c.description if description is None else description,
                          license=license, grid=c.grid)

    # ------------------------------------------------------------------ public API
    def denoise(self, inputs: xr.Dataset, noisy_targets: xr.Dataset, noise_levels, forcings: xr.Dataset,
                raw: bool = False) -> xr.Dataset:
        """D(x; sigma) in normalised space, structured like ``noisy_targets``.

        Args:
          inputs: normalised inputs (batch, time=2, [level,] lat, lon; statics (lat, lon)).
          noisy_targets: x = y + sigma n, normalised target residuals (batch, time=1, ...).
          noise_levels: sigma, array [batch].
          forcings: normalised forcings at the target time.
          raw: return the network output F instead of D.
        """
        model, cond = self._prepare(inputs, noisy_targets, forcings)
        batch = noisy_targets.sizes["batch"]
        sigma = np.broadcast_to(np.asarray(noise_levels, np.float32), (batch,))
        x = stack_to_nodes(noisy_targets, batch, model.lat.size, model.lon.size)
        denoised, raw_out = model.forward(Tensor(cond), Tensor(x), Tensor(np.ascontiguousarray(sigma)))
        return nodes_to_dataset((raw_out if raw else denoised).asnumpy(), noisy_targets)

    def denoiser_fn(self, inputs: xr.Dataset, targets_template: xr.Dataset, forcings: xr.Dataset):
        """A callable ``D(x, sigma) -> x0`` on node-major arrays [nodes, batch, channels] with
        the conditioning fixed (stacked and copied to the device once)."""
        model, cond = self._prepare(inputs, targets_template, forcings)
        cond_t = Tensor(cond)
        batch = targets_template.sizes["batch"]

        def denoise(x: np.ndarray, sigma) -> np.ndarray:
            s = np.broadcast_to(np.asarray(sigma, np.float32), (batch,))
            out, _ = model.forward(cond_t, Tensor(np.asarray(x, np.float32)), Tensor(np.ascontiguousarray(s)))
            return out.asnumpy()

        return denoise

    def loss_cell(self, inputs: xr.Dataset, targets: xr.Dataset, forcings: xr.Dataset,
                  per_variable_weights=None) -> DenoisingLoss:
        """The MindSpore loss cell for this grid (used by training)."""
        model, _ = self._prepare(inputs, targets, forcings)
        return model.loss_cell(targets, per_variable_weights)

    def loss(self, inputs: xr.Dataset, targets: xr.Dataset, forcings: xr.Dataset, noise_levels=None,
             noise: Optional[xr.Dataset] = None, seed: int = 0, per_variable_weights=None) -> np.ndarray:
        """Per-example GenCast loss [batch] (lambda(sigma) = c_out^-2, area/level/variable weights).

        Args:
          inputs, targets, forcings: normalised; targets are the clean normalised residuals y.
          noise_levels: sigma [batch]; default: sampled from the training rho distribution.
          noise: unit-variance noise like ``targets``; default: spherical white noise.
          seed: seeds the sampled noise levels / noise.
        """
        model, cond = self._prepare(inputs, targets, forcings)
        batch = targets.sizes["batch"]
        rng = np.random.default_rng(seed)
        if noise_levels is None:
            from mindgencast.diffusion.schedules import training_noise_levels

            noise_levels = training_noise_levels(self.config.noise_config, rng.uniform(size=batch))
        if noise is None:
            from mindgencast.diffusion.spherical_noise import spherical_white_noise_like

            noise = spherical_white_noise_like(targets, rng)
        self._check_dataset(noise, self.task_config.target_variables, "noise")
        cell = model.loss_cell(targets, per_variable_weights)
        n_lat, n_lon = model.lat.size, model.lon.size
        out = cell(Tensor(cond), Tensor(stack_to_nodes(targets, batch, n_lat, n_lon)),
                   Tensor(stack_to_nodes(noise, batch, n_lat, n_lon)),
                   Tensor(np.broadcast_to(np.asarray(noise_levels, np.float32), (batch,)).copy()))
        return out.asnumpy()

    def sample(self, inputs: xr.Dataset, targets_template: xr.Dataset, forcings: xr.Dataset,
               noise_source=None, seed: int = 0, sampler: str = "dpmpp2s",
               num_steps: Optional[int] = None, churn_arithmetic: str = "exact",
               sampler_params: Optional[dict] = None) -> xr.Dataset:
        """Draws one sample per batch element of the normalised target residuals.

        Args:
          inputs, forcings: normalised conditioning.
          targets_template: structure of the targets (values ignored).
          noise_source: ``f(template, kind, step) -> unit noise Dataset``; default
            spherical white noise seeded by ``seed``.
          sampler: "dpmpp2s" | "heun" | "euler" | "edm_sde" | "euler_maruyama" | "ddpm" | "pc".
          num_steps: overrides the sampler config's num_noise_levels.
          churn_arithmetic: "exact" or "xla_float32" (replays DeepMind's float32 churn bit for bit).
          sampler_params: the sampler's extra parameters, e.g. {"snr": 0.16, "n_corrector_steps": 1}
            for "pc" or {"variance": "beta"} for "ddpm" (see samplers.base.run_sampler).
        """
        from mindgencast.diffusion.noise_source import SphericalNoiseSource
        from mindgencast.diffusion.samplers.base import run_sampler

        template = targets_template.fillna(0.0) * 0.0
        denoise = self.denoiser_fn(inputs, template, forcings)
        source = noise_source if noise_source is not None else SphericalNoiseSource(seed)
        batch = template.sizes["batch"]
        n_lat, n_lon = template.sizes["lat"], template.sizes["lon"]
        zeros = stack_to_nodes(template, batch, n_lat, n_lon)

        def array_noise(state, kind, step):
            return stack_to_nodes(source(template, kind, step), batch, n_lat, n_lon)

        x0 = run_sampler(sampler, denoise, self.sampler_config, zeros, array_noise, num_steps=num_steps,
                         churn_arithmetic=churn_arithmetic, sampler_params=sampler_params)
        return nodes_to_dataset(np.asarray(x0, np.float32), template)


def _channel_order(inputs: xr.Dataset, forcings: xr.Dataset, targets: xr.Dataset) -> np.ndarray:
    """Permutation from [inputs | forcings | noisy targets] (each sorted) to the reference's
    [sorted(inputs) | sorted(forcings + targets)] channel order."""
    def widths(ds):
        return {n: num_channels(ds[[n]]) for n in sorted(ds.data_vars)}

    n_in = num_channels(inputs)
    w_forc, w_tgt = widths(forcings), widths(targets)
    overlap = set(w_forc) & set(w_tgt)
    if overlap:
        raise DataMismatchError(f"variables {sorted(overlap)} are both forcings and targets")
    starts, pos = {}, n_in
    for n, w in w_forc.items():
        starts[n] = pos
        pos += w
    for n, w in w_tgt.items():
        starts[n] = pos
        pos += w
    widths_all = {**w_forc, **w_tgt}
    order = list(range(n_in))
    for n in sorted(widths_all):
        order.extend(range(starts[n], starts[n] + widths_all[n]))
    return np.asarray(order, np.int32)


def _load_params(cell, params: dict[str, np.ndarray]) -> None:
    """Sets every parameter of ``cell`` from ``params`` (MindSpore names), strictly."""
    own = dict(cell.parameters_and_names())
    missing = sorted(set(own) - set(params))
    unexpected = sorted(set(params) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            "checkpoint parameters do not match the model built from its configs: "
            + (f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''} " if missing else "")
            + (f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}" if unexpected else ""))
    for name, p in own.items():
        value = params[name]
        if tuple(value.shape) != tuple(p.shape):
            raise CheckpointError(
                f"parameter {name!r} has shape {tuple(value.shape)} in the checkpoint but the model "
                f"needs {tuple(p.shape)}: the data's variables/levels or the configs do not match the checkpoint")
        p.set_data(Tensor(np.asarray(value, np.float32)))
