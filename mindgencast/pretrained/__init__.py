"""Checkpoints trained by this project that ship inside the package.

``gencast_tiny_wide_synthetic/``: a small GenCast (``gencast_tiny_wide``: gencast_tiny's task
and 10 deg grid with latent 128, 736,968 parameters) trained on one year (2001) of the built-in
synthetic world (seed 0, 10 deg, 12-hourly); the EMA of its weights. ``mindgencast demo``
forecasts with it unless ``--train`` is given. How it was trained and how it scores: ``mindgencast/pretrained/README.md``.
"""

from __future__ import annotations

import importlib.resources
import pathlib

__all__ = ["DEMO_CHECKPOINT", "pretrained_path"]

DEMO_CHECKPOINT = "gencast_tiny_wide_synthetic"


def pretrained_path(name: str = DEMO_CHECKPOINT) -> pathlib.Path:
    """The directory of a shipped checkpoint (loads with ``mg.load_checkpoint``)."""
    path = pathlib.Path(str(importlib.resources.files("mindgencast.pretrained") / name))
    if not (path / "model.ckpt").exists():
        raise FileNotFoundError(f"the shipped checkpoint {name!r} is missing from {path.parent}: reinstall mindgencast")
    return path
