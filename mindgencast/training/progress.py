"""What a person watching a run sees: a progress bar and the loss-curve PNG."""

from __future__ import annotations

import math
import os
import sys
import time

__all__ = ["ProgressBar", "plot_loss_curve"]


class ProgressBar:
    """``step 120/1000 [##----] loss 0.412 lr 9.8e-04 5.1 samples/s ETA 0:02:53`` on one line
    (redrawn in place on a terminal, one line per log step otherwise)."""

    def __init__(self, total: int, first: int = 0, stream=None, width: int = 24):
        self.total, self.first, self.width = total, first, width
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.time()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, step: int, loss: float, lr: float, samples_per_s: float) -> str:
        done = step + 1
        elapsed = time.time() - self.start
        rate = (done - self.first) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else math.inf
        eta_text = "?" if not math.isfinite(eta) else time.strftime("%H:%M:%S", time.gmtime(eta))
        filled = int(self.width * done / self.total)
        line = (f"step {done}/{self.total} [{'#' * filled}{'-' * (self.width - filled)}] loss {loss:.4f} "
                f"lr {lr:.2e} {samples_per_s:.1f} samples/s ETA {eta_text}")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and done >= self.total:
            self.stream.write("\n")
        self.stream.flush()
        return line


def plot_loss_curve(rows: list[dict], path: str) -> None:
    """Training loss (and validation loss) against step, log scale; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(column):
        pts = [(int(r["step"]), float(r[column])) for r in rows if r.get(column) not in (None, "")]
        return [p[0] for p in pts], [p[1] for p in pts]

    fig, ax = plt.subplots(figsize=(7, 4))
    steps, loss = series("loss")
    ax.plot(steps, loss, lw=1, label="training loss (batch mean)")
    steps_v, val = series("val_loss")
    if steps_v:
        ax.plot(steps_v, val, "o-", lw=1.5, label="validation loss (fixed sigma and noise)")
    if loss or val:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("GenCast denoising loss")
    fig.tight_layout()
    tmp = f"{path}.tmp-{os.getpid()}.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
