"""Ensemble forecasts spread over workers (msrun): rank r rolls out members r, r+N, ...

GenCast's members are independent chains (Price et al. 2024, "Autoregressive rollout"), so
an ensemble parallelises without any communication during the rollout. Member m draws its
noise from ``(seed, m, step)`` whatever worker runs it, so the file does not depend on the
number of workers. Each worker streams its members into a part file next to ``out``
(``<out>.part<r>-of-<N>.nc``, itself written atomically); after a collective check that every
worker succeeded, rank 0 assembles the parts into ``out`` (written as ``<out>.partial`` and
renamed), and every worker removes its part. On any failure no file exists under ``out``.
The parts travel through the file system: on several nodes ``out`` must be on storage every
node sees (docs/forecasting.md, "Many devices").
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Callable, Sequence

import netCDF4
import numpy as np
import xarray as xr

from mindgencast.forecast.netcdf_writer import ForecastWriter, partial_path
from mindgencast.forecast.rollout import file_layout, run_forecast, validate_rollout

__all__ = ["WorkerGroup", "msrun_workers", "member_shard", "part_path", "run_distributed_forecast"]


@dataclasses.dataclass(frozen=True)
class WorkerGroup:
    """The workers of one forecast.

    Attributes:
      rank: this worker, 0 .. size-1 (rank 0 writes the file).
      size: number of workers N.
      all_sum: collective sum of a float over the workers; every worker calls it the same
        number of times (used as a barrier that also counts failures).
    """

    rank: int
    size: int
    all_sum: Callable[[float], float]


def msrun_workers() -> WorkerGroup | None:
    """The msrun worker group of this process (MindSpore communication initialised), or
    None when not launched by msrun with more than one worker."""
    if os.environ.get("MS_ROLE") not in ("MS_WORKER", "MS_SCHED") or int(os.environ.get("MS_WORKER_NUM", "1")) <= 1:
        return None  # msrun's scheduler process runs this script too: its init() serves until the end
    import mindspore as ms
    from mindspore.communication import get_group_size, get_rank, init

    init()

    class _AllSum(ms.nn.Cell):
        def __init__(self):
            super().__init__()
            self.reduce = ms.ops.AllReduce(ms.ops.ReduceOp.SUM)  # the only reduction on CPU

        @ms.jit  # collectives run compiled, in PyNative too
        def construct(self, x):
            return self.reduce(x)

    cell = _AllSum()
    return WorkerGroup(
        get_rank(), get_group_size(), lambda value: float(cell(ms.Tensor(np.array([value], np.float32))).asnumpy()[0])
    )


def member_shard(num_members: int, rank: int, size: int) -> list[int]:
    """Members of worker ``rank`` of ``size``: rank, rank + size, ... below num_members."""
    return list(range(rank, num_members, size))


def part_path(out_path: str | os.PathLike, rank: int, size: int) -> pathlib.Path:
    """The part file of worker ``rank``: ``<out>.part<rank>-of-<size>.nc``."""
    out_path = pathlib.Path(out_path)
    return out_path.with_name(f"{out_path.name}.part{rank}-of-{size}.nc")


def _global_noise(factory, members: Sequence[int], num_members: int):
    """Maps a worker's local member index to its global member id (padding -> ids >= num_members)."""

    def make(seed, keys):
        return factory(seed, [(members[m] if m < len(members) else num_members + m, step) for m, step in keys])

    return make


def run_distributed_forecast(
    step_fn,
    inputs: xr.Dataset,
    targets_template: xr.Dataset,
    out_path: str | os.PathLike,
    *,
    workers: WorkerGroup,
    num_steps: int,
    num_members: int,
    seed: int = 0,
    noise_source_factory=None,
    ensemble_stats: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    attrs=None,
    progress: bool = True,
    **kwargs,
) -> pathlib.Path:
    """:func:`mindgencast.forecast.rollout.run_forecast` with the members spread over ``workers``.

    Every worker calls this with the same arguments. Returns ``out_path`` on every worker
    once rank 0 has written it. Raises on every worker if any worker fails (the failing one
    re-raises its own error); then neither ``out_path`` nor any part file is left.
    """
    out_path = pathlib.Path(out_path)
    rank, size = workers.rank, workers.size
    if num_members < size:
        raise ValueError(
            f"--members {num_members} is fewer than the {size} workers; every worker needs a "
            "member: raise --members or launch fewer workers"
        )
    if resume:
        raise ValueError("--resume is single-process only; rerun the distributed forecast from the start")
    if ensemble_stats and num_members < 2:
        raise ValueError("ensemble statistics (spread) need at least 2 members; raise --members")
    if out_path.exists() and not overwrite:
        raise FileExistsError(f"{out_path} exists; choose another --out or pass --overwrite")
    if noise_source_factory is None:
        from mindgencast.diffusion.noise_source import SphericalNoiseSource as noise_source_factory

    members = member_shard(num_members, rank, size)
    own = part_path(out_path, rank, size)
    error = None
    try:
        partial_path(own).unlink(missing_ok=True)  # a stale part of an earlier, failed run
        run_forecast(
            step_fn,
            inputs,
            targets_template,
            own,
            num_steps=num_steps,
            num_members=len(members),
            seed=seed,
            noise_source_factory=_global_noise(noise_source_factory, members, num_members),
            attrs=attrs,
            progress=progress and rank == 0,
            overwrite=True,
            **kwargs,
        )
    except Exception as exc:  # counted below, re-raised after every worker knows
        error = exc
    failed = workers.all_sum(float(error is not None))
    if failed:
        own.unlink(missing_ok=True)
        if error is not None:
            raise error
        raise RuntimeError(f"{int(failed)} of {size} forecast workers failed (see their logs); no output written")

    if rank == 0:
        try:
            _assemble(
                out_path, inputs, targets_template, size, num_steps, num_members, seed, ensemble_stats, attrs, kwargs
            )
        except Exception as exc:
            error = exc
    failed = workers.all_sum(float(error is not None))
    own.unlink(missing_ok=True)
    if failed:
        if error is not None:
            raise error
        raise RuntimeError(f"rank 0 could not assemble {out_path} (see its log); no output written")
    return out_path


def _assemble(
    out_path, inputs, targets_template, size, num_steps, num_members, seed, ensemble_stats, attrs, kwargs
) -> pathlib.Path:
    """Rank 0: copy every worker's part into one file, member by member, step by step."""
    layout = validate_rollout(
        inputs,
        targets_template,
        num_steps=num_steps,
        num_members=num_members,
        **{
            k: kwargs[k]
            for k in ("init_time", "num_input_frames", "input_variables", "forcing_variables", "forcings_fn")
            if k in kwargs
        },
    )
    parts = [part_path(out_path, r, size) for r in range(size)]
    missing = [str(p) for p in parts if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"part file(s) {missing} not found: on several nodes --out must be on a file system that every node sees"
        )
    template, static = file_layout(inputs, targets_template, layout)
    partial_path(out_path).unlink(missing_ok=True)
    writer = ForecastWriter.create(
        out_path,
        template=template,
        init_time=layout.init_time,
        time_step=layout.time_step,
        num_steps=num_steps,
        num_members=num_members,
        seed=seed,
        static=static,
        ensemble_stats=ensemble_stats,
        attrs=attrs,
    )
    readers = []
    try:
        readers.extend(_PartReader(part) for part in parts)
        for step in range(num_steps):
            for rank, reader in enumerate(readers):
                members = member_shard(num_members, rank, size)
                frames = reader.read_step(step, len(members), layout.target_variables)
                for local, member in enumerate(members):
                    writer.write_step(step, [member], frames.isel(member=[local]))
            writer.complete_step(step)
    except BaseException:
        writer.close()
        partial_path(out_path).unlink(missing_ok=True)
        raise
    finally:
        for reader in readers:
            reader.close()
    return writer.finalize()


class _PartReader:
    """Read-only access to a finished part file."""

    def __init__(self, path: pathlib.Path):
        self._nc = netCDF4.Dataset(path, "r")

    def read_step(self, step: int, count: int, variables) -> xr.Dataset:
        out = {}
        for name in variables:
            var = self._nc[name]
            data = np.ma.filled(var[:count, step], np.nan).astype(np.float32)
            out[name] = xr.Variable(("member", *var.dimensions[2:]), data)
        return xr.Dataset(out)

    def close(self) -> None:
        if self._nc.isopen():
            self._nc.close()
