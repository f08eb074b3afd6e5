"""mindgencast's converted checkpoint: a directory with MindSpore weights and YAML configs.

Layout of ``OUT_DIR``::

    model.ckpt        MindSpore checkpoint (parameter names: NAME_RULES' MindSpore side)
    config.yaml       GenCastConfig (task, architecture, sampler, noise, encoder, grid, description)
    checkpoint.yaml   format version, license, source file

Written into a temporary sibling directory and renamed, so a failed conversion leaves nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional

import mindspore as ms
import numpy as np
import yaml

from mindgencast.checkpoint.name_mapping import NAME_RULES, jax_to_mindspore, mindspore_to_jax
from mindgencast.checkpoint.schema import Checkpoint, CheckpointError
from mindgencast.config import ConfigError, GenCastConfig, load_config, save_config

__all__ = ["FORMAT_VERSION", "save_converted", "load_converted", "is_converted_dir"]

FORMAT_VERSION = 1
_WEIGHTS, _CONFIG, _META = "model.ckpt", "config.yaml", "checkpoint.yaml"


def is_converted_dir(path) -> bool:
    return os.path.isdir(path) and os.path.exists(os.path.join(path, _META))


def save_converted(checkpoint: Checkpoint, out_dir: str | os.PathLike, source: str = "",
                   name_rules: tuple = NAME_RULES, model: Optional[str] = None) -> None:
    """Writes ``checkpoint`` as a mindgencast directory (atomically; refuses to overwrite).

    ``name_rules``: the JAX -> MindSpore parameter-name table of the model; ``model``:
    recorded in checkpoint.yaml when not GenCast (e.g. ``"graphcast"``), so loading can tell."""
    out_dir = os.path.abspath(os.fspath(out_dir))
    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f"output directory {out_dir!r} exists and is not empty; choose a new one")
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".convert-", dir=parent)
    try:
        params = [{"name": jax_to_mindspore(k, name_rules), "data": ms.Tensor(np.asarray(v))}
                  for k, v in sorted(checkpoint.params.items())]
        ms.save_checkpoint(params, os.path.join(tmp, _WEIGHTS))
        save_config(checkpoint.config, os.path.join(tmp, _CONFIG))
        with open(os.path.join(tmp, _META), "w") as f:
            meta = {"format": "mindgencast", "format_version": FORMAT_VERSION}
            if model is not None:
                meta["model"] = model
            meta.update({"license": checkpoint.license, "source": source,
                         "num_parameters": checkpoint.num_parameters})
            yaml.safe_dump(meta, f, sort_keys=False)
        if os.path.isdir(out_dir):
            os.rmdir(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def read_converted(path: str, meta: dict, config_cls: type, name_rules: tuple):
    """(config, params with DeepMind's names) of a converted directory whose checkpoint.yaml
    is ``meta``: the format version, the config (as ``config_cls``) and the weights checked,
    each failure a CheckpointError naming the file."""
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path!r} has format_version {meta.get('format_version')!r}; this mindgencast "
                              f"reads version {FORMAT_VERSION}: convert the .npz again")
    try:
        config = load_config(os.path.join(path, _CONFIG), config_cls)
    except ConfigError as e:
        raise CheckpointError(f"unsupported config in {path!r}: {e}") from None
    try:
        loaded = ms.load_checkpoint(os.path.join(path, _WEIGHTS))
    except Exception as e:  # MindSpore raises ValueError/RuntimeError on corrupt files
        raise CheckpointError(f"{path!r}: {_WEIGHTS} is unreadable ({e}); convert the .npz again") from None
    return config, {mindspore_to_jax(name, name_rules): p.asnumpy() for name, p in loaded.items()}


def load_converted(path: str | os.PathLike) -> Checkpoint:
    """Reads a directory written by :func:`save_converted` back into a :class:`Checkpoint`."""
    path = os.fspath(path)
    for name in (_WEIGHTS, _CONFIG, _META):
        if not os.path.exists(os.path.join(path, name)):
            raise CheckpointError(f"{path!r} is not a mindgencast checkpoint directory: {name} is missing "
                                  "(convert DeepMind's .npz with `mindgencast convert`)")
    with open(os.path.join(path, _META)) as f:
        meta = yaml.safe_load(f) or {}
    if meta.get("model") == "graphcast":
        from mindgencast.graphcast.checkpoint import load_graphcast_converted

        return load_graphcast_converted(path, meta)
    config, params = read_converted(path, meta, GenCastConfig, NAME_RULES)
    return Checkpoint(params=params, task_config=config.task_config,
                      denoiser_architecture_config=config.denoiser_architecture_config,
                      sampler_config=config.sampler_config, noise_config=config.noise_config,
                      noise_encoder_config=config.noise_encoder_config, description=config.description,
                      license=str(meta.get("license", "")), grid=config.grid)
