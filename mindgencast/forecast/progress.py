"""Progress reporting for long ensemble rollouts (step, member batch, elapsed, ETA).

A rollout runs ``num_steps x num_batches`` units of work (one call of the step
function each). On a terminal the report is one line redrawn in place; when
stderr is a file or a pipe (batch jobs, CI logs) each unit prints a plain line,
so logs stay readable.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import TextIO

__all__ = ["RolloutProgress", "format_duration"]

_BAR_WIDTH = 24


def format_duration(seconds: float) -> str:
    """``3725.2`` -> ``"1:02:05"``; ``"--:--"`` when unknown (None or not finite)."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclasses.dataclass
class RolloutProgress:
    """Reports rollout progress on ``stream`` (stderr by default).

    Attributes:
      num_steps: rollout steps in the whole forecast.
      num_batches: member batches per step.
      start_step: first step run in this session (> 0 when resuming); the ETA
        is extrapolated from the units run in this session only.
      step_hours: hours per step, to show the lead time reached.
      enabled: False silences the report.
      stream: where to write; None means ``sys.stderr`` at call time.
    """

    num_steps: int
    num_batches: int
    start_step: int = 0
    step_hours: float = 12.0
    enabled: bool = True
    stream: TextIO | None = None
    _t0: float = dataclasses.field(default=0.0, init=False)
    _done: int = dataclasses.field(default=0, init=False)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._done = 0
        if self.start_step:
            self._emit(f"resuming at step {self.start_step + 1}/{self.num_steps}", final=True)

    def update(self, step: int, batch: int, first_member: int, last_member: int) -> None:
        """Call after step ``step`` (0-based) of member batch ``batch`` (0-based,
        members ``first_member..last_member`` inclusive) has been written."""
        self._done += 1
        total = (self.num_steps - self.start_step) * self.num_batches
        elapsed = time.monotonic() - self._t0
        eta = elapsed / self._done * (total - self._done)
        fraction = (step * self.num_batches + batch + 1) / (self.num_steps * self.num_batches)
        filled = int(round(fraction * _BAR_WIDTH))
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        lead = (step + 1) * self.step_hours
        self._emit(
            f"[{bar}] step {step + 1}/{self.num_steps} (+{lead:g}h) "
            f"members {first_member}-{last_member} (batch {batch + 1}/{self.num_batches}) "
            f"elapsed {format_duration(elapsed)} ETA {format_duration(eta)}",
            final=False,
        )

    def finish(self) -> None:
        elapsed = time.monotonic() - self._t0
        self._emit(f"done: {self._done} step calls in {format_duration(elapsed)}", final=True)

    def _emit(self, text: str, final: bool) -> None:
        if not self.enabled:
            return
        stream = self.stream if self.stream is not None else sys.stderr
        if _is_tty(stream):
            # Redraw in place; pad to wipe a longer previous line.
            stream.write("\r" + text.ljust(110) + ("\n" if final else ""))
        else:
            stream.write(text + "\n")
        stream.flush()


def _is_tty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
