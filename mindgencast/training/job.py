"""Everything ``mindgencast train`` does, as one library call (validate, train/resume, save)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Optional

import mindspore as ms
import numpy as np
import yaml

from mindgencast.checkpoint import load_checkpoint
from mindgencast.config import GenCastConfig, GridConfig, config_to_dict, load_model_config, model_config_from_dict
from mindgencast.config.builtin import builtin_config, builtin_config_names
from mindgencast.config.io import ConfigError
from mindgencast.data.normalization import NormalizationStats
from mindgencast.model import GenCast
from mindgencast.training.run_directory import RunDirectory, stats_fingerprint, store_fingerprint
from mindgencast.training.train_config import train_config_from_dict
from mindgencast.training.trainer import init_data_parallel, train

__all__ = ["run_training", "resolve_config", "parameter_checksum", "load_run_config", "build_model"]

_RUN_SECTIONS = ("model", "training", "data")


def load_run_config(path: str) -> tuple[Optional[GenCastConfig], dict]:
    """A YAML file holding a model config (GenCast's or GraphCast's), or a run config
    (``model:`` and/or ``training:`` sections, as RUN/config.yaml): returns (model config
    or None, training settings dict)."""
    with open(path) as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
    if isinstance(data, dict) and ("training" in data or "model" in data):
        unknown = sorted(set(data) - set(_RUN_SECTIONS))
        if unknown:
            raise ConfigError(f"{path}: unknown top-level key(s) {unknown}; a run config has {list(_RUN_SECTIONS)}")
        model = model_config_from_dict(data["model"], f"{path}: model") if "model" in data else None
        training = data.get("training") or {}
        train_config_from_dict(training)  # strict key check now, naming the file
        return model, dict(training)
    return load_model_config(path), {}


def resolve_config(config: str):
    """A built-in config name (``gencast_tiny``, ``graphcast_tiny``) or a YAML path ->
    GenCastConfig or GraphCastConfig."""
    if os.path.exists(config):
        model, _ = load_run_config(config)
        if model is None:
            raise ConfigError(f"{config}: has no 'model' section")
        return model
    if config in builtin_config_names():
        return builtin_config(config)
    raise ValueError(f"config {config!r} is neither a file nor a built-in config ({', '.join(builtin_config_names())})")


def _open_store(path, what: str = "training store"):
    from mindgencast.data.store import TrainingStore

    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} {path!r} does not exist (build it with `mindgencast prepare`)")
    return TrainingStore(path)


def _task_differences(a, b) -> list[str]:
    da, db = config_to_dict(a), config_to_dict(b)
    return [f"{k}: {da[k]!r} vs {db[k]!r}" for k in da if da[k] != db.get(k)]


def parameter_checksum(params: dict) -> str:
    """SHA-256 over the parameters (sorted by name): identical weights <=> identical checksum."""
    digest = hashlib.sha256()
    for name in sorted(params):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(params[name], np.float32).tobytes())
    return digest.hexdigest()


def run_training(config: str, store: str, stats: str, out: str, init_checkpoint: Optional[str] = None,
                 data_parallel: bool = False, graph_builder=None, log=print, resume: bool = False,
                 validation_store: Optional[str] = None, progress: bool = False, **train_args) -> list[dict]:
    """Builds (or loads) the model, trains it on ``store`` and writes the RUN directory ``out``.

    Args:
      config: built-in config name, GenCastConfig YAML, or run config YAML (``model:`` /
        ``training:`` sections; ``train_args`` override its training settings).
      store, stats: training store and normalisation statistics directory.
      out: the RUN directory (new, or an existing run with ``resume=True``).
      init_checkpoint: fine-tune from DeepMind's .npz, a converted directory or a RUN
        (its latest weights); the learning-rate schedule is this run's own.
      data_parallel: under msrun (DATA_PARALLEL, gradients all-reduced).
      resume: continue ``out`` from its latest complete checkpoint.
      validation_store: held-out store for the validation loss.
      train_args: :class:`TrainConfig` fields.

    Returns:
      The loss history of this rank (this run segment).
    """
    file_training = {}
    if os.path.exists(config):
        _, file_training = load_run_config(config)
    train_config = train_config_from_dict({**file_training, **train_args})  # validates before any work
    stats_obj = NormalizationStats.load(stats) if os.path.isdir(stats) else None
    if stats_obj is None:
        raise FileNotFoundError(f"statistics directory {stats!r} does not exist (compute it with `mindgencast stats`)")
    store_obj = _open_store(store)
    grid = GridConfig(resolution=360.0 / store_obj.lon.size)
    if init_checkpoint:
        ckpt = load_checkpoint(init_checkpoint)
        if ckpt.grid is not None and ckpt.grid != grid:
            raise ValueError(f"checkpoint grid {ckpt.grid.resolution:g} deg differs from the store's "
                             f"{grid.resolution:g} deg grid")
        model_config = dataclasses.replace(ckpt.config, grid=grid)
    else:
        ckpt = None
        model_config = resolve_config(config)
        if model_config.grid is not None and model_config.grid != grid:
            raise ValueError(f"config {config!r} is for a {model_config.grid.resolution:g} deg grid but the store "
                             f"{store!r} is on {grid.resolution:g} deg: use a config for the store's grid")
        model_config = dataclasses.replace(model_config, grid=grid)
    diffs = _task_differences(store_obj.task_config, model_config.task_config)
    if diffs:
        raise ValueError(f"the store {store!r} was made for another task than the model's: "
                         + "; ".join(diffs[:4]) + ": prepare a store for this task (`mindgencast prepare`)")
    val_obj = None
    if validation_store:
        val_obj = _open_store(validation_store, "validation store")
        vdiffs = _task_differences(val_obj.task_config, model_config.task_config)
        if vdiffs or val_obj.lon.size != store_obj.lon.size or val_obj.lat.size != store_obj.lat.size:
            raise ValueError(f"the validation store {validation_store!r} was made for another task or grid than "
                             f"the training store: {'; '.join(vdiffs[:4]) or 'grid differs'}")
    from mindgencast.data.pipeline import TrainingExamples

    TrainingExamples(store_obj, stats_obj, model_step=model_config.model_step)  # stats cover every variable
    run_config = {"model": config_to_dict(model_config), "training": dataclasses.asdict(train_config),
                  "data": {"store": store_fingerprint(store_obj), "stats": stats_fingerprint(stats),
                           "init_checkpoint": os.path.basename(os.path.normpath(init_checkpoint))
                           if init_checkpoint else None}}
    rank, size = init_data_parallel() if data_parallel else (0, 1)
    train_config.micro_batch(size)  # a batch that does not split over the workers fails here
    run = RunDirectory(out, writer=rank == 0)
    resume_state = None
    if resume:
        run.check_resumable(run_config)
        resume_state = run.latest_state(log=log if rank == 0 else None)
        if resume_state is None and log and rank == 0:
            log(f"{out}: no complete checkpoint yet: starting from step 0")
        elif log and rank == 0:
            log(f"resuming {out} from step {resume_state[1]['step']}")
    elif size > 1:
        # Every rank looks before rank 0 writes config.yaml (else a slower rank would see rank
        # 0's files and refuse), and all ranks agree, so none is left waiting in a collective.
        if _sum_over_ranks(float(run.occupied())) > 0:
            run.refuse_occupied()
        run.start(run_config, checked=True)
    else:
        run.start(run_config)
    ms.set_seed(train_config.seed)  # identical initial weights on every rank
    model = build_model(ckpt if ckpt is not None else model_config, stats_obj, train_config.precision,
                        graph_builder)
    if ckpt is not None:
        model.config = model_config
    history = train(model, store_obj, stats_obj, train_config, rank=rank, num_ranks=size,
                    log=log if rank == 0 else None, run=run, validation_store=val_obj,
                    resume_state=resume_state, progress=progress)
    weights = model.to_checkpoint().params
    checksum = parameter_checksum(weights)
    if size > 1:  # equal on every rank iff the gradients were all-reduced
        print(f"rank {rank}: parameter checksum {checksum}", flush=True)
    if rank == 0:
        tmp = run.file(f".history.json.tmp-{os.getpid()}")
        with open(tmp, "w") as f:
            json.dump({"config": dataclasses.asdict(train_config), "ranks": size, "parameter_checksum": checksum,
                       "history": history}, f)
        os.replace(tmp, run.file("history.json"))
        if log and history:
            window = max(1, len(history) // 5)
            first = np.mean([h["loss"] for h in history[:window]])
            last = np.mean([h["loss"] for h in history[-window:]])
            log(f"trained {len(history)} steps on {size} rank(s): mean loss of the first/last {window} steps "
                f"{first:.3f} -> {last:.3f}; wrote {out}")
    return history


def build_model(source, stats: NormalizationStats, precision: str = "float32", graph_builder=None):
    """The model a config or checkpoint describes: :class:`GenCast`, or
    :class:`~mindgencast.graphcast.model.GraphCast` for a GraphCast config/checkpoint."""
    from mindgencast.graphcast.checkpoint import GraphCastCheckpoint
    from mindgencast.graphcast.config import GraphCastConfig

    if isinstance(source, (GraphCastConfig, GraphCastCheckpoint)):
        from mindgencast.graphcast.model import GraphCast

        return GraphCast(source, stats, compute_dtype=precision, graph_builder=graph_builder)
    return GenCast(source, graph_builder=graph_builder, compute_dtype=precision)


def _sum_over_ranks(value: float) -> float:
    """Collective sum of ``value`` over the data-parallel ranks (also a barrier)."""

    class _AllSum(ms.nn.Cell):
        def __init__(self):
            super().__init__()
            self.reduce = ms.ops.AllReduce(ms.ops.ReduceOp.SUM)  # the only reduction on CPU

        def construct(self, x):
            return self.reduce(x)

    return float(_AllSum()(ms.Tensor(np.array([value], np.float32))).asnumpy()[0])
