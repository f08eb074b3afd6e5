"""Training GenCast's denoiser on a packed store: resumable, data parallel, EMA, validation.

GenCast (Price et al. 2024, Methods "Training"): each example is (two input frames,
forcings, the 12-h-ahead target as a normalised residual y); a noise level
sigma ~ rho inverse CDF (NoiseConfig) and spherical white noise n are drawn per example,
and lambda(sigma) ||D(y + sigma n; sigma) - y||^2_W is minimised with AdamW, a warm-up +
cosine learning-rate schedule and global-norm gradient clipping.

Data parallel: launch under ``msrun`` (see docs/training.md); rank r reads its own slice of
every global batch (:mod:`mindgencast.training.example_stream`) through a
``mindspore.dataset.GeneratorDataset`` and gradients are averaged across ranks by
``nn.DistributedGradReducer``. Only rank 0 writes the RUN directory.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Optional

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn

from mindgencast.data.normalization import NormalizationStats
from mindgencast.training.example_stream import ExampleStream, rank_positions
from mindgencast.training.memory import apply_recompute
from mindgencast.training.train_config import TrainConfig, learning_rates
from mindgencast.training.train_step import ApplyGradients, EMAUpdate, GradientSum, LossGradients, ReduceGradients

__all__ = ["TrainConfig", "init_data_parallel", "learning_rates", "train", "Trainer"]


def init_data_parallel() -> tuple[int, int]:
    """Initialises MindSpore communication for DATA_PARALLEL (under msrun); returns (rank, size)."""
    from mindspore.communication import get_group_size, get_rank, init

    init()
    rank, size = get_rank(), get_group_size()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True,
                                 device_num=size)
    return rank, size


def _node_major(array: np.ndarray) -> Tensor:
    """[batch, nodes, channels] -> Tensor [nodes, batch, channels]."""
    return Tensor(np.ascontiguousarray(np.swapaxes(array, 0, 1)))


def _dataset(stream: ExampleStream, positions: list[int], micro_batch: int, workers: int):
    import mindspore.dataset as msds

    dataset = msds.GeneratorDataset(stream, ["inputs", "targets", "forcings", "noise", "sigma"],
                                    sampler=positions, num_parallel_workers=workers)
    return dataset.batch(micro_batch, drop_remainder=True)


@dataclasses.dataclass
class _Step:
    """Host-side state that a checkpoint carries besides the arrays."""

    step: int = 0
    loss_scale: float = 1.0
    good_steps: int = 0


class Trainer:
    """Owns the cells of one training run and the state a checkpoint saves.

    Args:
      loss_cell: ``f(conditioning, targets, noise, sigma) -> loss [batch]`` (DenoisingLoss
        or any cell with its call interface, e.g. GraphCast's loss).
      config: the training settings.
      num_ranks: data-parallel ranks.
    """

    def __init__(self, loss_cell: nn.Cell, config: TrainConfig, num_ranks: int = 1):
        self.config, self.num_ranks = config, num_ranks
        self.micro_batch = config.micro_batch(num_ranks)
        self.loss_cell = loss_cell
        self.weights = list(loss_cell.trainable_params())
        self.rates = learning_rates(config)
        self.optimizer = nn.AdamWeightDecay(self.weights, learning_rate=self.rates, weight_decay=config.weight_decay)
        self.gradients = LossGradients(loss_cell, self.weights)
        self.gradient_sum = GradientSum()
        self.reduce = ReduceGradients(self.weights, config.grad_accumulation)
        self.apply = ApplyGradients(self.optimizer, config.max_grad_norm)
        self.ema = EMAUpdate(self.weights) if config.ema_decay > 0 else None
        scaled = config.precision == "float16"
        self.state = _Step(loss_scale=config.initial_loss_scale if scaled else 1.0)
        for cell in (self.gradients, self.reduce, self.apply):
            cell.set_train()

    # ------------------------------------------------------------------ one step
    def step(self, micro_batches) -> dict:
        """One optimiser step over ``grad_accumulation`` micro batches of
        (inputs, targets, forcings, noise, sigma) NumPy arrays, batch-major."""
        scale = Tensor(np.float32(self.state.loss_scale))
        total, losses = None, []
        for inputs, targets, forcings, noise, sigma in micro_batches:
            conditioning = _node_major(np.concatenate([inputs, forcings], axis=-1))
            loss, grads = self.gradients(conditioning, _node_major(targets), _node_major(noise),
                                         Tensor(np.asarray(sigma, np.float32)), scale)
            losses.append(loss)
            total = grads if total is None else self.gradient_sum(ms.mutable(total), ms.mutable(grads))
        grads, norm = self.reduce(ms.mutable(total))  # mutable: one compile, not one per step
        grad_norm = float(norm.asnumpy())
        loss = float(np.mean([v.asnumpy() for v in losses]))
        lr = self.rates[self.state.step]
        scaled = self.config.precision == "float16"
        if math.isfinite(grad_norm):
            self.apply(ms.mutable(grads), norm)
            if self.ema is not None:
                t = self.state.step
                self.ema(Tensor(np.float32(min(self.config.ema_decay, (1 + t) / (10 + t)))))
            self.state.good_steps += 1
            if scaled and self.state.good_steps >= self.config.loss_scale_window:
                self.state.loss_scale, self.state.good_steps = self.state.loss_scale * 2, 0
        elif scaled:  # float16 overflow: this step makes no update; halve the scale
            self.state.loss_scale, self.state.good_steps = max(1.0, self.state.loss_scale / 2), 0
        else:
            raise FloatingPointError(f"gradient norm became {grad_norm} at step {self.state.step} (loss {loss}); "
                                     "lower the learning rate")
        if not math.isfinite(loss) and not scaled:
            raise FloatingPointError(f"loss became {loss} at step {self.state.step}; lower the learning rate")
        self.state.step += 1
        return {"step": self.state.step - 1, "loss": loss, "lr": lr, "grad_norm": grad_norm,
                "loss_scale": self.state.loss_scale}

    def validation_loss(self, batches) -> float:
        """Mean loss (no update) over batches of the validation stream."""
        losses = []
        for inputs, targets, forcings, noise, sigma in batches:
            conditioning = _node_major(np.concatenate([inputs, forcings], axis=-1))
            out = self.loss_cell(conditioning, _node_major(targets), _node_major(noise),
                                 Tensor(np.asarray(sigma, np.float32)))
            losses.append(out.asnumpy())
        return float(np.mean(np.concatenate(losses)))

    # ------------------------------------------------------------------ state
    def state_arrays(self) -> dict:
        """Everything to continue: weights, EMA, Adam moments, the optimiser's step."""
        out = {f"param/{w.name}": w.asnumpy() for w in self.weights}
        for m, w in zip(self.optimizer.moments1, self.weights):
            out[f"adam_m/{w.name}"] = m.asnumpy()
        for v, w in zip(self.optimizer.moments2, self.weights):
            out[f"adam_v/{w.name}"] = v.asnumpy()
        if self.ema is not None:
            for e, w in zip(self.ema.ema, self.weights):
                out[f"ema/{w.name}"] = e.asnumpy()
        out["global_step"] = self.optimizer.global_step.asnumpy()
        return out

    def state_meta(self) -> dict:
        c = self.config
        return {"step": self.state.step, "position": self.state.step * c.batch_size,
                "loss_scale": self.state.loss_scale, "good_steps": self.state.good_steps,
                "rng": {"generator": "numpy PCG64", "seed": c.seed,
                        "shuffle": f"epoch permutation from PCG64([seed, 0, epoch]); next epoch "
                                   f"{self.state.step * c.batch_size // max(1, self._num_examples)}",
                        "noise_levels_and_noise": "PCG64([seed, 1, position]) per example",
                        "next_position": self.state.step * c.batch_size}}

    def restore(self, arrays: dict, meta: dict) -> None:
        """Inverse of :meth:`state_arrays` / :meth:`state_meta`; names are checked."""
        def put(prefix, params):
            for p, w in zip(params, self.weights):
                key = f"{prefix}/{w.name}"
                if key not in arrays:
                    raise ValueError(f"checkpoint lacks {key!r}: it was written by another model")
                if tuple(arrays[key].shape) != tuple(p.shape):
                    raise ValueError(f"checkpoint {key!r} has shape {arrays[key].shape}, the model {p.shape}")
                p.set_data(Tensor(arrays[key], p.dtype))
        put("param", self.weights)
        put("adam_m", self.optimizer.moments1)
        put("adam_v", self.optimizer.moments2)
        if self.ema is not None:
            put("ema", self.ema.ema)
        self.optimizer.global_step.set_data(Tensor(arrays["global_step"], ms.int32))
        self.state = _Step(step=int(meta["step"]), loss_scale=float(meta["loss_scale"]),
                           good_steps=int(meta["good_steps"]))

    _num_examples = 1

    def averaged_weights(self) -> Optional[dict]:
        """name -> EMA array (None without EMA)."""
        if self.ema is None:
            return None
        return {w.name: e.asnumpy() for e, w in zip(self.ema.ema, self.weights)}


def train(model, store, stats: NormalizationStats, config: TrainConfig, rank: int = 0,
          num_ranks: int = 1, log: Optional[Callable[[str], None]] = print, *, run=None, validation_store=None,
          resume_state: Optional[tuple] = None, loss_cell: Optional[nn.Cell] = None, progress: bool = False,
          on_checkpoint: Optional[Callable] = None) -> list[dict]:
    """Trains ``model`` in place on the examples of a training store.

    Args:
      model: a :class:`GenCast` or a GraphCast (from a config, or a checkpoint to fine-tune);
        its task must match the store's; its compute dtype must be ``config.precision``.
        GraphCast reads examples 6 h apart and draws no noise (its loss ignores noise/sigma).
      store: path of a store written by ``mindgencast prepare`` (or a TrainingStore).
      stats: normalisation statistics.
      config: the training settings.
      rank, num_ranks: this process's data-parallel rank and the number of ranks
        (from :func:`init_data_parallel`; 1 = single process).
      log: called with one line per ``log_every`` steps (None: silent).
      run: a :class:`~mindgencast.training.run_directory.RunDirectory` for metrics and
        checkpoints (None: nothing is written).
      validation_store: a held-out store scored every ``validate_every`` steps.
      resume_state: ``(arrays, meta)`` of a checkpoint to continue from.
      loss_cell: overrides ``model.loss_cell(...)`` (same call interface as DenoisingLoss).
      progress: draw a progress bar on stderr.
      on_checkpoint: ``f(trainer, step) -> Checkpoint`` of the weights to publish in
        ``model/`` (default: ``model.to_checkpoint()`` with the EMA weights where kept).

    Returns:
      History of this run segment: one dict per step with ``step``, ``loss`` (this rank's
      batch mean), ``lr``, ``grad_norm``, ``seconds``.
    """
    from mindgencast.data.pipeline import TrainingExamples
    from mindgencast.training.progress import ProgressBar, plot_loss_curve

    if model.compute_dtype != config.precision:
        raise ValueError(f"the model computes in {model.compute_dtype} but TrainConfig.precision is "
                         f"{config.precision!r}: build the model with compute_dtype={config.precision!r}")
    micro = config.micro_batch(num_ranks)
    examples = TrainingExamples(store, stats, model_step=model.config.model_step)
    if loss_cell is None:
        inputs0, targets0, forcings0 = examples.normalized_example(0)
        loss_cell = model.loss_cell(*[d.expand_dims({"batch": 1}) for d in (inputs0, targets0, forcings0)])
    network = getattr(getattr(loss_cell, "denoiser", None), "network", getattr(loss_cell, "network", None))
    if network is not None and (config.recompute_encoder or config.recompute_decoder
                                or config.recompute_processor_every):
        apply_recompute(network, config.recompute_encoder, config.recompute_decoder,
                        config.recompute_processor_every)
    trainer = Trainer(loss_cell, config, num_ranks)
    trainer._num_examples = len(examples)
    if resume_state is not None:
        trainer.restore(*resume_state)
    start_step = trainer.state.step
    noise_config = getattr(model.config, "noise_config", None)  # None: deterministic (GraphCast)
    total_positions = config.steps * config.batch_size
    stream = ExampleStream(examples, noise_config, config.seed, length=total_positions,
                           small_noise=(config.small_noise_fraction, config.small_noise_max))
    positions = rank_positions(start_step, config.steps, config.batch_size, num_ranks, rank,
                               config.grad_accumulation)
    validation = None
    if validation_store is not None:
        val_examples = TrainingExamples(validation_store, stats, model_step=model.config.model_step)
        count = min(config.validation_examples, len(val_examples))
        count -= count % max(1, micro)
        if count < 1:
            raise ValueError(f"validation store has {len(val_examples)} examples: fewer than one micro batch ({micro})")
        val_stream = ExampleStream(val_examples, noise_config, config.validation_seed, shuffle=False,
                                   fixed_noise_levels=True, length=count)
        validation = (val_stream, list(range(count)))
    validate_every = config.validate_every or config.checkpoint_every
    writer = run is not None and rank == 0
    if run is not None:
        run.truncate_metrics(start_step)
    bar = ProgressBar(config.steps, start_step) if progress and rank == 0 else None
    history, start, window_start, window_steps = [], time.time(), time.time(), 0
    iterator = _dataset(stream, positions, micro, config.num_workers).create_tuple_iterator(
        output_numpy=True, num_epochs=1) if positions else iter(())

    def publish(step: int):
        if on_checkpoint is not None:
            ckpt = on_checkpoint(trainer, step)
        else:
            ckpt = _published_checkpoint(model, trainer, step, config)
        run.save_checkpoint(step, trainer.state_arrays(), trainer.state_meta(), ckpt, config.keep)
        plot_loss_curve(run.read_metrics(), run.file("loss.png"))

    while trainer.state.step < config.steps:
        batches = [next(iterator) for _ in range(config.grad_accumulation)]
        row = trainer.step(batches)
        step = row["step"]
        window_steps += 1
        row["seconds"] = time.time() - start
        history.append(dict(row))
        last = step == config.steps - 1
        if step % config.log_every == 0 or last:
            now = time.time()
            row["samples_per_s"] = window_steps * config.batch_size / max(now - window_start, 1e-9)
            window_start, window_steps = now, 0
            if writer:
                run.append_metrics({k: _fmt(v) for k, v in row.items()})
            if bar is not None:
                bar.update(step, row["loss"], row["lr"], row["samples_per_s"])
            elif log:
                log(f"step {step:5d}/{config.steps}  loss {row['loss']:9.4f}  lr {row['lr']:.2e}  "
                    f"grad norm {row['grad_norm']:.3g}  {row['samples_per_s']:.1f} samples/s")
        done = step + 1
        if validation is not None and (done % validate_every == 0 or last):
            val_stream, val_positions = validation
            batches = _dataset(val_stream, val_positions, micro, 1).create_tuple_iterator(
                output_numpy=True, num_epochs=1)
            val_loss = trainer.validation_loss(batches)
            history[-1]["val_loss"] = val_loss
            if writer:
                run.append_metrics({"step": step, "val_loss": _fmt(val_loss)})
            if log and rank == 0:
                log(f"step {step:5d}  validation loss {val_loss:.4f}")
        if writer and (done % config.checkpoint_every == 0 or last):
            publish(done)
    return history


def _fmt(value):
    return f"{value:.9g}" if isinstance(value, float) else value


def _published_checkpoint(model, trainer: Trainer, step: int, config: TrainConfig):
    """The model's weights for forecasting (EMA where kept), as a Checkpoint."""
    averaged = trainer.averaged_weights()
    if averaged is None:
        return model.to_checkpoint(description=f"mindgencast training run, step {step}")
    raw = {w.name: w.asnumpy() for w in trainer.weights}
    try:
        for w in trainer.weights:
            w.set_data(Tensor(averaged[w.name]))
        return model.to_checkpoint(description=f"mindgencast training run, step {step} "
                                               f"(EMA of the weights, decay {config.ema_decay:g})")
    finally:
        for w in trainer.weights:
            w.set_data(Tensor(raw[w.name]))
