"""GenCast checkpoints: DeepMind's official .npz and mindgencast's converted directories."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Optional

from mindgencast.checkpoint.mindspore_format import is_converted_dir, load_converted, save_converted
from mindgencast.checkpoint.name_mapping import NAME_RULES, jax_to_mindspore, mindspore_to_jax
from mindgencast.checkpoint.npz_format import read_official_npz, write_official_npz
from mindgencast.checkpoint.run_layout import MODEL, is_run_dir, step_dirs
from mindgencast.checkpoint.schema import Checkpoint, CheckpointError
from mindgencast.config import GridConfig

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "load_checkpoint",
    "convert_checkpoint",
    "export_npz",
    "save_converted",
    "load_converted",
    "is_converted_dir",
    "is_run_dir",
    "grid_from_filename",
    "NAME_RULES",
    "jax_to_mindspore",
    "mindspore_to_jax",
]


def load_checkpoint(path: str | os.PathLike):
    """Loads DeepMind's official ``.npz``, a converted mindgencast directory, or the latest
    complete checkpoint of a training run directory (its EMA weights where kept).

    Returns a GenCast :class:`Checkpoint` or, for a GraphCast file (recognised by its
    ``model_config`` entries / ``model: graphcast``), a
    :class:`mindgencast.graphcast.checkpoint.GraphCastCheckpoint`.
    """
    path = os.fspath(path)
    if is_run_dir(path):
        return _load_run(path)
    if os.path.isdir(path):
        return load_converted(path)
    return read_official_npz(path)


def _load_run(run: str) -> Checkpoint:
    """The newest readable checkpoint of a RUN; unreadable ones are skipped with a warning."""
    import warnings

    steps = step_dirs(run)
    if not steps:
        raise CheckpointError(f"training run {run!r} has no complete checkpoint yet (checkpoints/step_* is "
                              "empty): train longer, or lower --checkpoint-every")
    for step, path in steps:
        try:
            return load_converted(os.path.join(path, MODEL))
        except CheckpointError as e:
            warnings.warn(f"skipping checkpoint step {step} of {run!r}: {e}", stacklevel=3)
    raise CheckpointError(f"no checkpoint of training run {run!r} is readable (tried steps "
                          f"{[s for s, _ in steps]})")


def grid_from_filename(path: str) -> Optional[GridConfig]:
    """The grid a published checkpoint's file name states, else None: GenCast's ``1p0deg`` /
    ``0p25deg``, GraphCast's ``resolution 1.0`` / ``resolution 0.25``."""
    name = os.path.basename(path)
    m = re.search(r"(\d+)p(\d+)deg", name)
    if m:
        return GridConfig(resolution=float(f"{m.group(1)}.{m.group(2)}"))
    m = re.search(r"resolution[ _-]?(\d+(?:\.\d+)?)", name)
    return GridConfig(resolution=float(m.group(1))) if m else None


def convert_checkpoint(npz_path: str, out_dir: str, grid: Optional[GridConfig] = None) -> Checkpoint:
    """Converts an official ``.npz`` to a mindgencast directory, recording its grid.

    Args:
      grid: the grid the model runs on; default: read from a published model's file
        name (e.g. ``GenCast 1p0deg Mini <2019.npz``). Required otherwise.
    """
    grid = grid or grid_from_filename(npz_path)
    if grid is None:
        raise ValueError(f"cannot tell the grid of {os.path.basename(npz_path)!r} (DeepMind's .npz does not "
                         "record it): pass it, e.g. `--grid 1.0`")
    ckpt = dataclasses.replace(read_official_npz(npz_path), grid=grid)
    if not isinstance(ckpt, Checkpoint):  # GraphCast
        from mindgencast.graphcast.checkpoint import save_graphcast_converted

        save_graphcast_converted(ckpt, out_dir, source=os.path.basename(npz_path))
        return ckpt
    save_converted(ckpt, out_dir, source=os.path.basename(npz_path))
    return ckpt


def export_npz(checkpoint: Checkpoint, path: str) -> None:
    """Writes ``checkpoint`` (GenCast or GraphCast) back in DeepMind's official ``.npz`` layout."""
    if not isinstance(checkpoint, Checkpoint):
        from mindgencast.graphcast.checkpoint import write_graphcast_npz

        write_graphcast_npz(checkpoint, path)
        return
    write_official_npz(checkpoint, path)
