"""The RUN directory of ``mindgencast train``: settings, metrics and resumable checkpoints.

    RUN/config.yaml          model config + training settings + fingerprints of store and stats
    RUN/metrics.csv          one row per logged step (and one per validation)
    RUN/loss.png             the loss curve (redrawn at every checkpoint)
    RUN/checkpoints/step_XXXXXXX/{model/, state.npz, state.json}   the last ``keep``

A checkpoint is written in ``checkpoints/.tmp-step_XXXXXXX-<pid>`` and renamed when complete;
``state.json`` holds the SHA-256 of ``state.npz``, so a damaged checkpoint is detected and
skipped (with a warning) in favour of the previous one. Only rank 0 writes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import warnings
from typing import Optional

import numpy as np
import yaml

from mindgencast.checkpoint import save_converted
from mindgencast.checkpoint.run_layout import CHECKPOINTS, MODEL, step_dir_name, step_dirs

__all__ = ["METRIC_COLUMNS", "RunDirectory", "RunMismatchError", "store_fingerprint", "stats_fingerprint"]

METRIC_COLUMNS = ("step", "loss", "lr", "grad_norm", "samples_per_s", "loss_scale", "val_loss")
_CONFIG, _METRICS, _STATE, _META = "config.yaml", "metrics.csv", "state.npz", "state.json"
# settings that may change between a run and its resumption (they do not change the numbers)
_CADENCE = ("log_every", "checkpoint_every", "keep", "num_workers", "validate_every")


class RunMismatchError(ValueError):
    """``--resume`` on a RUN made with other settings, store or stats."""


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_fingerprint(store) -> dict:
    """What identifies a training store without reading all of it (stores can be TBs)."""
    from mindgencast.config import config_to_dict

    return {"file": os.path.basename(str(store.path)), "bytes": os.path.getsize(store.path),
            "task_config": config_to_dict(store.task_config), "num_times": int(store.times.size),
            "first_time": str(store.times[0]), "last_time": str(store.times[-1]),
            "num_lat": int(store.lat.size), "num_lon": int(store.lon.size)}


def stats_fingerprint(directory) -> dict:
    """SHA-256 of each statistics file (they are small)."""
    names = sorted(n for n in os.listdir(directory) if n.endswith(".nc"))
    return {n: _sha256(os.path.join(directory, n)) for n in names}


def _differences(old, new, where: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _differences(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
        return out
    return [] if old == new else [f"{where}: {old!r} in the run, {new!r} now"]


class RunDirectory:
    """Reads and writes one RUN directory.

    Args:
      path: the RUN directory.
      writer: whether this process writes (rank 0); other ranks only read.
    """

    def __init__(self, path, writer: bool = True):
        self.path = os.path.abspath(os.fspath(path))
        self.writer = writer

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    # ------------------------------------------------------------------ settings
    def read_config(self) -> Optional[dict]:
        if not os.path.exists(self.file(_CONFIG)):
            return None
        with open(self.file(_CONFIG)) as f:
            return yaml.safe_load(f)

    def occupied(self) -> bool:
        """Whether the directory exists and holds anything (a new run refuses it)."""
        return os.path.isdir(self.path) and bool(os.listdir(self.path))

    def refuse_occupied(self) -> None:
        raise FileExistsError(f"output directory {self.path!r} exists and is not empty: choose a new one, "
                              "or pass --resume to continue the run in it")

    def start(self, run_config: dict, checked: bool = False) -> None:
        """A new run: refuses a non-empty directory (unless the caller ``checked`` it already,
        e.g. on every rank before rank 0 writes), writes config.yaml."""
        if not checked and self.occupied():
            self.refuse_occupied()
        if self.writer:
            os.makedirs(os.path.join(self.path, CHECKPOINTS), exist_ok=True)
            self._write_yaml(run_config)

    def check_resumable(self, run_config: dict) -> None:
        """Refuses to resume a RUN that is empty, not a run, or made with other settings/data."""
        old = self.read_config()
        if old is None:
            what = "does not exist" if not os.path.isdir(self.path) else (
                "is empty" if not os.listdir(self.path) else f"has no {_CONFIG} (not a mindgencast training run)")
            raise RunMismatchError(f"cannot --resume: {self.path!r} {what}; start a new run without --resume")
        if not isinstance(old, dict) or not {"model", "training", "data"} <= set(old):
            raise RunMismatchError(f"cannot --resume: {self.file(_CONFIG)} is not a training run's config "
                                   "(no model/training/data sections)")
        old_t = {k: v for k, v in old["training"].items() if k not in _CADENCE}
        new_t = {k: v for k, v in run_config["training"].items() if k not in _CADENCE}
        diffs = (_differences(old["model"], run_config["model"], "model")
                 + _differences(old_t, new_t, "training")
                 + _differences(old["data"], run_config["data"], "data"))
        if diffs:
            raise RunMismatchError(f"cannot --resume {self.path!r}: it was made with other settings or data: "
                                   + "; ".join(diffs[:6]) + (" ..." if len(diffs) > 6 else "")
                                   + ". Use the run's own config/store/stats, or start a new run")
        if self.writer:
            self._write_yaml(run_config)  # cadence settings may have changed

    def _write_yaml(self, run_config: dict) -> None:
        tmp = self.file(f".{_CONFIG}.tmp-{os.getpid()}")
        with open(tmp, "w") as f:
            yaml.safe_dump(run_config, f, sort_keys=False)
        os.replace(tmp, self.file(_CONFIG))

    # ------------------------------------------------------------------ metrics
    def truncate_metrics(self, step: int) -> None:
        """Keeps the rows of steps < ``step`` (a resumed run rewrites what came after)."""
        if not self.writer or not os.path.exists(self.file(_METRICS)):
            return
        with open(self.file(_METRICS), newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("step", "").isdigit() and int(r["step"]) < step]
        tmp = self.file(f".{_METRICS}.tmp-{os.getpid()}")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, METRIC_COLUMNS)
            writer.writeheader()
            writer.writerows({k: r.get(k, "") for k in METRIC_COLUMNS} for r in rows)
        os.replace(tmp, self.file(_METRICS))

    def append_metrics(self, row: dict) -> None:
        if not self.writer:
            return
        new = not os.path.exists(self.file(_METRICS))
        with open(self.file(_METRICS), "a", newline="") as f:
            writer = csv.DictWriter(f, METRIC_COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow({k: row.get(k, "") for k in METRIC_COLUMNS})

    def read_metrics(self) -> list[dict]:
        if not os.path.exists(self.file(_METRICS)):
            return []
        with open(self.file(_METRICS), newline="") as f:
            return list(csv.DictReader(f))

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, step: int, arrays: dict, meta: dict, model_checkpoint, keep: int) -> Optional[str]:
        """Writes checkpoint ``step`` (temporary name, then rename) and deletes all but the last ``keep``."""
        if not self.writer:
            return None
        root = os.path.join(self.path, CHECKPOINTS)
        os.makedirs(root, exist_ok=True)
        final = os.path.join(root, step_dir_name(step))
        tmp = os.path.join(root, f".tmp-{step_dir_name(step)}-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            os.makedirs(tmp)
            np.savez(os.path.join(tmp, _STATE), **arrays)
            from mindgencast.graphcast.checkpoint import GraphCastCheckpoint, save_graphcast_converted

            save = save_graphcast_converted if isinstance(model_checkpoint, GraphCastCheckpoint) else save_converted
            save(model_checkpoint, os.path.join(tmp, MODEL), source=os.path.basename(self.path))
            meta = dict(meta, state_sha256=_sha256(os.path.join(tmp, _STATE)))
            with open(os.path.join(tmp, _META), "w") as f:
                json.dump(meta, f, indent=1)
            if os.path.exists(final):  # a re-run of the same step after a resume
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for _, old in step_dirs(self.path)[keep:]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def latest_state(self, log=None) -> Optional[tuple[dict, dict]]:
        """(arrays, meta) of the newest intact checkpoint; damaged ones are skipped with a warning."""
        for step, path in step_dirs(self.path):
            try:
                with open(os.path.join(path, _META)) as f:
                    meta = json.load(f)
                if _sha256(os.path.join(path, _STATE)) != meta["state_sha256"]:
                    raise ValueError(f"{_STATE} does not match the checksum in {_META}")
                if not os.path.exists(os.path.join(path, MODEL, "model.ckpt")):
                    raise ValueError(f"{MODEL}/ is incomplete")
                with np.load(os.path.join(path, _STATE), allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files}
                if int(meta["step"]) != step:
                    raise ValueError(f"{_META} says step {meta['step']}")
                return arrays, meta
            except (OSError, ValueError, KeyError, EOFError) as e:
                message = f"skipping damaged checkpoint {path!r} ({type(e).__name__}: {e}); using an older one"
                warnings.warn(message, stacklevel=2)
                if log:
                    log(f"warning: {message}")
        return None
