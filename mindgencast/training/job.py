"""Everything ``mindgencast train`` does, as one library call (validate, train, save)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Optional

import mindspore as ms
import numpy as np

from mindgencast.checkpoint import load_checkpoint, save_converted
from mindgencast.config import GridConfig, load_config
from mindgencast.config.builtin import builtin_config, builtin_config_names
from mindgencast.data.normalization import NormalizationStats
from mindgencast.model import GenCast
from mindgencast.training.trainer import TrainConfig, init_data_parallel, train

__all__ = ["run_training", "resolve_config", "parameter_checksum"]


def resolve_config(config: str):
    """A built-in config name (``gencast_tiny``) or a YAML path -> GenCastConfig."""
    if os.path.exists(config):
        return load_config(config)
    if config in builtin_config_names():
        return builtin_config(config)
    raise ValueError(f"config {config!r} is neither a file nor a built-in config ({', '.join(builtin_config_names())})")


def _store_grid(store_path) -> GridConfig:
    from mindgencast.data.store import TrainingStore

    store = TrainingStore(store_path)
    try:
        return GridConfig(resolution=360.0 / store.lon.size)
    finally:
        store.close()


def parameter_checksum(params: dict) -> str:
    """SHA-256 over the parameters (sorted by name): identical weights <=> identical checksum."""
    digest = hashlib.sha256()
    for name in sorted(params):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(params[name], np.float32).tobytes())
    return digest.hexdigest()


def run_training(config: str, store: str, stats: str, out: str, init_checkpoint: Optional[str] = None,
                 data_parallel: bool = False, graph_builder=None, log=print, **train_args) -> list[dict]:
    """Builds (or loads) the model, trains it on ``store`` and writes ``out`` (rank 0).

    Returns the loss history of this rank. ``train_args`` are :class:`TrainConfig` fields.
    """
    train_config = TrainConfig(**train_args)  # validates before any work
    if os.path.exists(out) and os.listdir(out):
        raise FileExistsError(f"output directory {out!r} exists and is not empty; choose a new one")
    if not os.path.exists(store):
        raise FileNotFoundError(f"training store {store!r} does not exist (build it with `mindgencast prepare`)")
    rank, size = init_data_parallel() if data_parallel else (0, 1)
    grid = _store_grid(store)
    if init_checkpoint:
        ckpt = load_checkpoint(init_checkpoint)
        if ckpt.grid is not None and ckpt.grid != grid:
            raise ValueError(f"checkpoint grid {ckpt.grid.resolution:g} deg differs from the store's "
                             f"{grid.resolution:g} deg grid")
        model = GenCast(ckpt, graph_builder=graph_builder)
    else:
        cfg = resolve_config(config)
        if cfg.grid is not None and cfg.grid != grid:
            raise ValueError(f"config {config!r} is for a {cfg.grid.resolution:g} deg grid but the store is on "
                             f"{grid.resolution:g} deg: use a config for the store's grid")
        ms.set_seed(train_config.seed)  # identical initial weights on every rank
        model = GenCast(dataclasses.replace(cfg, grid=grid), graph_builder=graph_builder)
    history = train(model, store, NormalizationStats.load(stats), train_config, rank=rank, num_ranks=size,
                    log=log if rank == 0 else None)
    ckpt = model.to_checkpoint(description=f"trained by mindgencast on {os.path.basename(store)} "
                                           f"({train_config.steps} steps x {size} rank(s))")
    checksum = parameter_checksum(ckpt.params)
    if size > 1:  # equal on every rank iff the gradients were all-reduced
        print(f"rank {rank}: parameter checksum {checksum}", flush=True)
    if rank == 0:
        save_converted(ckpt, out, source=os.path.basename(store))
        with open(os.path.join(out, "history.json"), "w") as f:
            json.dump({"config": dataclasses.asdict(train_config), "ranks": size, "parameter_checksum": checksum,
                       "history": history}, f)
        if log:
            window = max(1, len(history) // 5)
            first = np.mean([h["loss"] for h in history[:window]])
            last = np.mean([h["loss"] for h in history[-window:]])
            log(f"trained {len(history)} steps on {size} rank(s): mean loss of the first/last {window} steps "
                f"{first:.3f} -> {last:.3f}; wrote {out}")
    return history
