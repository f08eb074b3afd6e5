"""DeepMind's official GenCast ``.npz`` layout (``graphcast.checkpoint.dump``).

The file is the dataclass tree of ``gencast.CheckPoint`` flattened with ':' joins:
``params:<haiku module>:<w|b>`` arrays, ``task_config:input_variables:0`` scalars,
tuples as index-keyed entries, ``None`` fields absent. Read with NumPy only and
``allow_pickle=False``.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from mindgencast.checkpoint.schema import Checkpoint, CheckpointError
from mindgencast.config import (
    ConfigError,
    DenoiserArchitectureConfig,
    NoiseConfig,
    NoiseEncoderConfig,
    SamplerConfig,
    TaskConfig,
    config_from_dict,
    config_to_dict,
)

__all__ = ["read_official_npz", "write_official_npz"]

_CONFIG_FIELDS = {
    "task_config": TaskConfig,
    "denoiser_architecture_config": DenoiserArchitectureConfig,
    "sampler_config": SamplerConfig,
    "noise_config": NoiseConfig,
    "noise_encoder_config": NoiseEncoderConfig,
}


def _scalar(value: np.ndarray):
    if value.shape != ():
        raise CheckpointError(f"expected a scalar config entry, got an array of shape {value.shape}")
    return value.item()


def _unflatten(entries: dict[str, object]) -> dict:
    """{"a:b:0": x, "a:b:1": y, "a:c": z} -> {"a": {"b": [x, y], "c": z}}."""
    tree: dict = {}
    for key, value in entries.items():
        node = tree
        parts = key.split(":")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node):
        if not isinstance(node, dict):
            return node
        if node and all(k.isdigit() for k in node):
            return [listify(node[k]) for k in sorted(node, key=int)]
        return {k: listify(v) for k, v in node.items()}

    return listify(tree)


def read_official_npz(path: str | os.PathLike):
    """Reads DeepMind's GenCast ``.npz`` into a :class:`Checkpoint`, or a GraphCast one
    (recognised by its ``model_config`` entries) into a ``GraphCastCheckpoint``.

    Raises:
      CheckpointError: file missing, truncated/not an npz, pickled objects, or
        configs that do not parse (naming the offending key).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise CheckpointError(
            f"{path!r} is not a readable GenCast .npz checkpoint ({type(e).__name__}: {e}); "
            "the file may be truncated or corrupt: download it again") from None
    params = {k: v for k, v in arrays.items() if k.startswith("params:")}
    if not params:
        raise CheckpointError(f"{path!r} holds no 'params:*' arrays: not a GenCast checkpoint")
    tree = _unflatten({k: _scalar(v) for k, v in arrays.items() if not k.startswith("params:")})
    if "model_config" in tree and "denoiser_architecture_config" not in tree:
        from mindgencast.graphcast.checkpoint import graphcast_checkpoint_from_tree

        return graphcast_checkpoint_from_tree(path, params, tree)
    missing = [f for f in _CONFIG_FIELDS if f not in tree]
    if missing:
        raise CheckpointError(f"{path!r} lacks the config(s) {missing}: not a GenCast checkpoint")
    unknown = sorted(set(tree) - set(_CONFIG_FIELDS) - {"description", "license"})
    if unknown:
        raise CheckpointError(f"{path!r} has unknown top-level entries {unknown}")
    try:
        configs = {name: config_from_dict(cls, tree[name], name) for name, cls in _CONFIG_FIELDS.items()}
    except ConfigError as e:
        raise CheckpointError(f"{path!r}: unsupported config: {e}") from None
    return Checkpoint(params=params, description=str(tree.get("description", "")),
                      license=str(tree.get("license", "")), **configs)


def _flatten(prefix: str, value, out: dict):
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}:{k}", v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(f"{prefix}:{i}", v, out)
    elif value is not None:  # checkpoint.dump drops None fields
        out[prefix] = np.asarray(value)


def write_official_npz(checkpoint: Checkpoint, path: str | os.PathLike) -> None:
    """Writes ``checkpoint`` in the official layout (atomically), loadable by
    ``graphcast.checkpoint.load(f, gencast.CheckPoint)``."""
    write_npz_tree(path, checkpoint.params, checkpoint.description, checkpoint.license,
                   {name: config_to_dict(getattr(checkpoint, name)) for name in _CONFIG_FIELDS})


def write_npz_tree(path: str | os.PathLike, params: dict, description: str, license: str, configs: dict) -> None:
    """DeepMind's ':'-flattened checkpoint file (GenCast's or GraphCast's), atomically.

    Args:
      params: the ``params:...`` keys -> arrays; configs: top-level name -> plain dict.
    """
    out: dict[str, np.ndarray] = {"description": np.asarray(description), "license": np.asarray(license)}
    out.update(params)
    for name, value in configs.items():
        _flatten(name, value, out)
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}.npz"
    try:
        np.savez(tmp, **out)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
