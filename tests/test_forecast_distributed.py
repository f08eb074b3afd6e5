"""Ensemble members spread over workers: one file equal to the single-process forecast (issue 10).

The threaded tests drive :func:`run_distributed_forecast` with the damped-persistence stand-in
and an in-process collective (a barrier), so assembly and failure handling are checked cheaply;
the msrun test runs the real ``forecast`` command with the tiny GenCast on 2 CPU workers.
"""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import xarray as xr

from mindgencast.forecast import run_forecast
from mindgencast.forecast.baselines import DampedPersistence
from mindgencast.forecast.distributed import WorkerGroup, member_shard, part_path, run_distributed_forecast

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INIT_TIME = "2019-03-29T12:00"


@pytest.fixture(scope="module")
def initial(fixture_dir):
    def load(name):
        return xr.load_dataset(fixture_dir / f"{name}.nc", decode_timedelta=True).isel(batch=0)

    return load("inputs"), load("targets")


# HDF5 (netCDF4) is not thread-safe: a worker thread runs only while it holds this baton,
# and hands it over while it waits in the collective.
_BATON = threading.Lock()


def _thread_groups(size):
    """``size`` WorkerGroups whose all_sum is a barrier over threads."""
    values = [0.0] * size
    barrier = threading.Barrier(size)

    def make(rank):
        def all_sum(value):
            values[rank] = value
            _BATON.release()
            barrier.wait()
            total = sum(values)
            barrier.wait()  # nobody overwrites values before everyone has summed
            _BATON.acquire()
            return total

        return WorkerGroup(rank, size, all_sum)

    return [make(r) for r in range(size)]


def _run_workers(size, out, initial, step_fns=None, **kwargs):
    """Runs every rank in its own thread; returns each rank's result or exception."""
    inputs, targets = initial
    results = [None] * size
    args = dict(
        num_steps=2,
        num_members=5,
        seed=7,
        init_time=INIT_TIME,
        progress=False,
        ensemble_stats=True,
        attrs={"checkpoint": "stand-in", "sampler": "damped"},
    )
    args.update(kwargs)

    def work(group):
        step_fn = step_fns[group.rank] if step_fns else DampedPersistence()
        with _BATON:
            try:
                results[group.rank] = run_distributed_forecast(step_fn, inputs, targets, out, workers=group, **args)
            except Exception as exc:
                results[group.rank] = exc

    threads = [threading.Thread(target=work, args=(g,)) for g in _thread_groups(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _assert_same_file(a_path, b_path):
    with xr.open_dataset(a_path, decode_timedelta=True) as a, xr.open_dataset(b_path, decode_timedelta=True) as b:
        assert sorted(a.data_vars) == sorted(b.data_vars)
        for name in a.data_vars:
            np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
        for coord in ("member", "lead_time", "valid_time", "lat", "lon", "level"):
            np.testing.assert_array_equal(a[coord].values, b[coord].values)
        differing = {k for k in set(a.attrs) | set(b.attrs) if str(a.attrs.get(k)) != str(b.attrs.get(k))}
        assert differing <= {"history"}, differing  # history holds the creation time


def test_member_shards_cover_every_member_once():
    for members, size in ((8, 2), (5, 3), (3, 3)):
        shards = [member_shard(members, r, size) for r in range(size)]
        assert sorted(m for s in shards for m in s) == list(range(members))
        assert [s[0] for s in shards] == list(range(size))  # rank r starts at member r


def test_workers_write_the_single_process_file(initial, tmp_path):
    size = 3  # 5 members: shards of 2, 2 and 1
    inputs, targets = initial
    single = run_forecast(
        DampedPersistence(),
        inputs,
        targets,
        tmp_path / "single.nc",
        num_steps=2,
        num_members=5,
        seed=7,
        init_time=INIT_TIME,
        progress=False,
        ensemble_stats=True,
        attrs={"checkpoint": "stand-in", "sampler": "damped"},
    )
    out = tmp_path / "dist.nc"
    results = _run_workers(size, out, initial)
    assert results == [out] * size
    _assert_same_file(single, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist.nc", "single.nc"], "part files must be removed"


def test_a_failing_worker_leaves_no_output(initial, tmp_path):
    class Failing:
        def __call__(self, *args):
            raise RuntimeError("worker 1 crashed")

    out = tmp_path / "dist.nc"
    results = _run_workers(2, out, initial, step_fns=[DampedPersistence(), Failing()])
    assert isinstance(results[1], RuntimeError) and "worker 1 crashed" in str(results[1])
    assert isinstance(results[0], RuntimeError) and "1 of 2 forecast workers failed" in str(results[0])
    assert list(tmp_path.iterdir()) == [], "no final, partial or part file may be left"


def test_bad_worker_counts_and_resume_are_refused(initial, tmp_path):
    inputs, targets = initial
    two = WorkerGroup(0, 2, lambda value: pytest.fail("validation must come before any collective"))
    with pytest.raises(ValueError, match="fewer than the 2 workers"):
        run_distributed_forecast(
            DampedPersistence(),
            inputs,
            targets,
            tmp_path / "f.nc",
            workers=two,
            num_steps=1,
            num_members=1,
            init_time=INIT_TIME,
        )
    with pytest.raises(ValueError, match="single-process only"):
        run_distributed_forecast(
            DampedPersistence(),
            inputs,
            targets,
            tmp_path / "f.nc",
            workers=two,
            num_steps=1,
            num_members=2,
            init_time=INIT_TIME,
            resume=True,
        )
    assert list(tmp_path.iterdir()) == []
    assert part_path(tmp_path / "f.nc", 1, 2).name == "f.nc.part1-of-2.nc"


def test_msrun_two_workers_equal_the_single_process_forecast(tiny_checkpoint, fixture_dir, tmp_path):
    """The tiny GenCast under msrun (2 CPU workers, 2 members each) against the same forecast in one
    process with the same members per batch: bit for bit (member m's noise is keyed by (seed, m, step))."""
    from mindgencast.data.normalization import NormalizationStats
    from mindgencast.forecast.forecast_job import ForecastJob

    common = [
        "--checkpoint",
        str(fixture_dir / "checkpoint.npz"),
        "--stats",
        str(fixture_dir / "stats"),
        "--init",
        str(fixture_dir / "source.nc"),
        "--init-time",
        "2019-03-29T12",
        "--steps",
        "1",
        "--members",
        "4",
        "--sampler-steps",
        "2",
        "--seed",
        "3",
        "--no-progress",
    ]
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), PYTHONPATH=REPO)
    out, logs = tmp_path / "dist.nc", tmp_path / "logs"
    cmd = [
        os.path.join(bindir, "msrun"),
        "--worker_num=2",
        "--local_worker_num=2",
        "--master_addr=127.0.0.1",
        "--master_port=8743",
        "--join=True",
        f"--log_dir={logs}",
        os.path.join(REPO, "scripts", "forecast.py"),
        *common,
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    job = ForecastJob.prepare(
        fixture_dir / "checkpoint.npz",
        NormalizationStats.load(fixture_dir / "stats"),
        fixture_dir / "source.nc",
        init_time="2019-03-29T12",
    )
    single = job.run(
        tmp_path / "single.nc", steps=1, members=4, members_per_batch=2, seed=3, sampler_steps=2, progress=False
    )
    returncode = proc.wait(timeout=300)
    worker_logs = "".join((logs / f"worker_{r}.log").read_text()[-1500:] for r in (0, 1))
    assert returncode == 0, worker_logs
    assert "wrote" in (logs / "worker_0.log").read_text()
    _assert_same_file(single, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist.nc", "logs", "single.nc"]
