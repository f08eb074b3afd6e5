"""Where a training run (RUN directory) keeps its checkpoints, for readers of its weights.

    RUN/checkpoints/step_0001000/model/   a mindgencast checkpoint directory (EMA weights
                                         where the run keeps an EMA) -- what forecasts load
    RUN/checkpoints/step_0001000/state.npz, state.json   everything to continue training

A step directory is written under a temporary name and renamed when complete, so every
``step_*`` directory is complete unless the disk corrupted it afterwards; readers try the
newest first and fall back to older ones with a warning.
"""

from __future__ import annotations

import os
import re

__all__ = ["CHECKPOINTS", "MODEL", "is_run_dir", "step_dirs", "step_dir_name"]

CHECKPOINTS, MODEL = "checkpoints", "model"
_STEP = re.compile(r"step_(\d{7,})\Z")


def step_dir_name(step: int) -> str:
    return f"step_{step:07d}"


def is_run_dir(path) -> bool:
    """A directory written by ``mindgencast train`` (has ``checkpoints/``)."""
    return os.path.isdir(os.path.join(os.fspath(path), CHECKPOINTS))


def step_dirs(run) -> list[tuple[int, str]]:
    """(step, path) of every renamed (complete) checkpoint of ``run``, newest first."""
    root = os.path.join(os.fspath(run), CHECKPOINTS)
    if not os.path.isdir(root):
        return []
    found = [(int(m.group(1)), os.path.join(root, name)) for name in os.listdir(root)
             if (m := _STEP.match(name)) and os.path.isdir(os.path.join(root, name))]
    return sorted(found, reverse=True)
