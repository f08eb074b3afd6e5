"""MindSpore Earth-style experiments: what ``main.py --mode train`` and ``--mode test`` do.

Both read an :class:`~mindgencast.config.mindearth_yaml.AppConfig` and call the library
(the synthetic world, the training store, :func:`~mindgencast.training.job.run_training`,
:class:`~mindgencast.forecast.forecast_job.ForecastJob`,
:func:`~mindgencast.metrics.evaluation.evaluate`, the plots): no second implementation.
Outputs go under ``summary.summary_dir``.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.mindearth_yaml import AppConfig

__all__ = ["run_train", "run_test", "summary_table"]


def _task(app: AppConfig):
    from mindgencast.training.job import resolve_config

    return resolve_config(app.model.config).task_config


def _synthetic_world(app: AppConfig):
    from mindgencast.data.synthetic import SyntheticWorld

    return SyntheticWorld(_task(app), app.data.grid_resolution, seed=app.data.seed, time_step="12h")


def _data_dir(app: AppConfig) -> str:
    return os.path.join(app.summary.summary_dir, "data")


def _stats_path(app: AppConfig) -> str:
    return app.data.stats_path or os.path.join(_data_dir(app), "stats")


def run_train(app: AppConfig, log: Optional[Callable[[str], None]] = print) -> list[dict]:
    """Trains the model of ``app`` into the run directory ``app.checkpoint_dir()`` (resumable; see docs/training.md).

    With ``data.source: synthetic`` the training data and statistics are generated first
    (under ``<summary_dir>/data``); with ``era5`` the ``store_path`` and ``stats_path`` are used.
    Returns the loss history.
    """
    from mindgencast.data.store import write_store
    from mindgencast.training.job import run_training

    say = log or (lambda _: None)
    store = app.data.store_path
    if app.data.source == "synthetic":
        rank = int(os.environ.get("RANK_ID", os.environ.get("MS_NODE_ID", "0")) or 0)
        store = os.path.join(_data_dir(app), "store.h5")
        if rank == 0 and not os.path.exists(store):  # msrun: rank 0 writes, the others wait below
            # (without RANK_ID every process writes its own copy; the renames are atomic)
            os.makedirs(_data_dir(app), exist_ok=True)
            world = _synthetic_world(app)
            say(
                f"synthetic world: {app.data.grid_resolution:g} deg, {app.data.train_days} days from "
                f"{app.data.start_date}"
            )
            data = world.generate(app.data.start_date, days=app.data.train_days)
            world.write_stats(_stats_path(app))
            partial = os.path.join(_data_dir(app), f"store.partial-{os.getpid()}.h5")  # then an atomic rename
            write_store(partial, data, _task(app))
            os.replace(partial, store)
        _wait_for(store)
    else:
        for name, value in (("data.store_path", app.data.store_path), ("data.stats_path", app.data.stats_path)):
            if not value:
                raise ValueError(
                    f"{name} is empty: with data.source 'era5' set it (see `mindgencast prepare` "
                    "and `mindgencast stats`), or use data.source 'synthetic'"
                )
    return run_training(
        app.model.config,
        store,
        _stats_path(app),
        app.checkpoint_dir(),
        init_checkpoint=app.model.checkpoint_path or None,
        data_parallel=app.train.distribute,
        log=say,
        **app.train_config_kwargs(),
    )


def _wait_for(path: str, seconds: float = 3600.0) -> None:
    import time

    start = time.time()
    while not os.path.exists(path):
        if time.time() - start > seconds:
            raise TimeoutError(f"{path} did not appear in {seconds:.0f} s (rank 0 writes it)")
        time.sleep(1.0)


def _test_data(app: AppConfig):
    """(truth dataset, init time, oracle forecast or None)."""
    steps, members = app.train.forecast_steps, app.train.members
    if app.data.source == "synthetic":
        from mindgencast.demo import _oracle_forecast

        world = _synthetic_world(app)
        truth_start = pd.Timestamp(app.data.start_date) + pd.Timedelta(days=app.data.train_days + 10)
        init_time = truth_start + pd.Timedelta(hours=12)
        truth = world.generate(truth_start, days=(steps + 2) / 2 + 1)
        oracle = _oracle_forecast(world, truth, init_time, steps, members, app.data.seed + 1)
        return truth, init_time, oracle
    from mindgencast.data.era5_io import open_era5

    if not app.data.test_path:
        raise ValueError(
            "data.test_path is empty: with data.source 'era5' name the ERA5 file or Zarr store to "
            "forecast from and score against"
        )
    truth = open_era5(app.data.test_path)
    init_time = pd.Timestamp(app.data.init_time) if app.data.init_time else None
    return truth, init_time, None


def run_test(app: AppConfig, log: Optional[Callable[[str], None]] = print) -> dict:
    """Forecasts an ensemble with the checkpoint and scores it; returns a summary dict.

    Writes ``forecast.nc``, ``scores.nc`` (fair CRPS, RMSE, spread/skill against the truth;
    baseline: the synthetic world's exact oracle ensemble, else persistence),
    ``scores_vs_persistence.nc`` and maps under ``<summary_dir>/test``.
    """
    from mindgencast.forecast.forecast_job import ForecastJob
    from mindgencast.forecast.plots import plot_maps
    from mindgencast.metrics.evaluation import evaluate

    say = log or (lambda _: None)
    ckpt = app.model.checkpoint_path or app.checkpoint_dir()
    if not os.path.exists(ckpt):
        raise FileNotFoundError(
            f"no checkpoint at {ckpt!r}: train first (python main.py --config_file_path ... --mode train) or set "
            "model.checkpoint_path to a DeepMind .npz or a converted checkpoint directory"
        )
    stats = _stats_path(app)
    if not os.path.exists(stats):
        raise FileNotFoundError(
            f"normalisation statistics {stats!r} not found: run --mode train first (synthetic "
            "data) or set data.stats_path"
        )
    out = os.path.join(app.summary.summary_dir, "test")
    os.makedirs(out, exist_ok=True)
    truth, init_time, oracle = _test_data(app)
    job = ForecastJob.prepare(ckpt, stats, truth, init_time=init_time)
    steps, members = app.train.forecast_steps, app.train.members
    say(
        f"{members}-member forecast from {pd.Timestamp(job.init_time):%Y-%m-%d %H:%M}, {steps} x 12 h, "
        f"{app.train.sampler_steps} noise levels"
    )
    path = job.run(
        os.path.join(out, "forecast.nc"),
        steps=steps,
        members=members,
        members_per_batch=members,
        seed=app.train.seed,
        sampler_steps=app.train.sampler_steps,
        ensemble_stats=members > 1,
        progress=log is not None,
        overwrite=True,
    )
    forecast = xr.load_dataset(path, decode_timedelta=True)
    scores = evaluate(forecast, truth, baseline=[oracle] if oracle is not None else "persistence", regions=("global",))
    _save_atomic(scores, os.path.join(out, "scores.nc"))
    persistence = evaluate(forecast, truth, baseline="persistence", regions=("global",))
    _save_atomic(persistence, os.path.join(out, "scores_vs_persistence.nc"))
    lead = f"{12 * steps}h"
    for var in app.summary.plot_variables:
        if var in forecast.data_vars:
            level = 500 if "level" in forecast[var].dims else None
            plot_maps(forecast, var, lead, level=level, num_members=min(3, members), out_dir=out)
    table = summary_table(scores, persistence, baseline_name="oracle" if oracle is not None else "persistence")
    say(table.to_string(float_format=lambda v: f"{v:.4g}"))
    return {"out_dir": out, "forecast": path, "table": table}


def _save_atomic(ds: xr.Dataset, path: str) -> None:
    ds.to_netcdf(path + ".tmp")
    os.replace(path + ".tmp", path)


def summary_table(scores: xr.Dataset, persistence: xr.Dataset, baseline_name: str = "oracle") -> pd.DataFrame:
    """Global fair CRPS at the last lead of GenCast, the baseline and persistence, and
    GenCast's spread/skill, for every variable (level 500 hPa for atmospheric ones)."""
    rows = {}
    last = scores["lead_time"].values[-1]
    for var in scores.data_vars:
        if "metric" not in scores[var].dims:  # e.g. rank-histogram counts
            continue
        sel = dict(region="global", lead_time=last)
        if "level" in scores[var].dims:
            sel["level"] = 500 if 500 in scores["level"].values else scores["level"].values[0]
        s, p = scores[var].sel(sel), persistence[var].sel(sel)
        name = f"{var}{sel['level']}" if "level" in sel else var
        rows[name] = {
            "gencast_crps": float(s.sel(metric="crps")),
            f"{baseline_name}_crps": float(s.sel(metric="baseline_crps")),
            "persistence_crps": float(p.sel(metric="baseline_crps")),
            "spread_skill": float(s.sel(metric="spread_skill_ratio")),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = f"lead {int(np.timedelta64(last, 'h').astype(int))} h"
    return table
