"""GenCast against GraphCast in miniature: the paper's comparison on the demo's synthetic world.

Price et al. (2024) compare GenCast's ensemble with the deterministic GraphCast: the CRPS of
the ensemble against GraphCast's CRPS (for one member, the mean absolute error), and the
RMSE of the ensemble mean against GraphCast's RMSE. ``mindgencast demo --graphcast`` trains
the tiny GraphCast (``graphcast_tiny``: 6-h steps, no noise) on the same 6-hourly world as the
tiny GenCast (which reads every second time), forecasts from the same held-out initial time,
and scores both against the same truth at the 12-h leads they share.

Writes ``graphcast_run/``, ``stats_graphcast/``, ``store_graphcast.h5``,
``forecast_graphcast.nc``, ``scores_gencast_vs_graphcast.nc``,
``gencast_vs_graphcast.csv`` and ``plots/gencast_vs_graphcast.png``.
"""

from __future__ import annotations

import csv
import dataclasses
from typing import Callable

import numpy as np
import xarray as xr

__all__ = ["COMPARED", "comparison_task", "train_graphcast", "graphcast_forecast", "compare", "comparison_rows",
           "comparison_figure"]

# (variable, level) pairs in the table and the figure: both models forecast them.
COMPARED = (("geopotential", 500), ("temperature", 850), ("2m_temperature", None),
            ("mean_sea_level_pressure", None), ("u_component_of_wind", 850), ("specific_humidity", 700))


def comparison_task(gencast_task, graphcast_task):
    """The world's task: GenCast's variables plus GraphCast's (``total_precipitation_6hr``)."""
    extra = tuple(v for v in graphcast_task.target_variables if v not in gencast_task.target_variables)
    return dataclasses.replace(gencast_task, target_variables=gencast_task.target_variables + extra)


def train_graphcast(world_data: xr.Dataset, path: Callable[..., str], steps: int, batch_size: int,
                    learning_rate: float, seed: int, log) -> list[dict]:
    """Statistics (6-h differences, TISR computed), store and training run of ``graphcast_tiny``."""
    from mindgencast.config.builtin import builtin_config
    from mindgencast.data.stats import compute_statistics
    from mindgencast.data.store import write_store
    from mindgencast.training.job import run_training

    task = builtin_config("graphcast_tiny").task_config
    names = list(dict.fromkeys(task.input_variables + task.target_variables + task.forcing_variables))
    compute_statistics(world_data, variables=names, levels=list(task.pressure_levels),
                       difference_step="6h").save(path("stats_graphcast"))
    write_store(path("store_graphcast.h5"), world_data, task)
    return run_training("graphcast_tiny", path("store_graphcast.h5"), path("stats_graphcast"),
                        path("graphcast_run"), steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                        warmup_steps=max(1, steps // 10), seed=seed, log_every=max(1, steps // 6), log=log)


def graphcast_forecast(path: Callable[..., str], truth: xr.Dataset, init_time, gencast_steps: int,
                       progress: bool) -> xr.Dataset:
    """GraphCast's rollout (6-h steps) to GenCast's last lead, at GenCast's 12-h leads."""
    from mindgencast.forecast.forecast_job import ForecastJob

    job = ForecastJob.prepare(path("graphcast_run"), path("stats_graphcast"), truth, init_time=init_time)
    job.run(path("forecast_graphcast.nc"), steps=2 * gencast_steps, progress=progress)
    forecast = xr.load_dataset(path("forecast_graphcast.nc"), decode_timedelta=True)
    return forecast.isel(lead_time=slice(1, None, 2))


def compare(gencast: xr.Dataset, graphcast_12h: xr.Dataset, truth: xr.Dataset) -> xr.Dataset:
    """Scores of GenCast with GraphCast as the baseline (``baseline_crps`` is GraphCast's MAE)."""
    from mindgencast.metrics.evaluation import evaluate

    names = sorted({v for v, _ in COMPARED})
    return evaluate(gencast[names], truth, baseline={"graphcast": graphcast_12h[names]}, regions=("global",),
                    variables=names)


def comparison_rows(scores: xr.Dataset) -> list[dict]:
    """One row per (variable, level, lead): CRPS and RMSE of both, GenCast's spread/skill."""
    rows = []
    for var, level in COMPARED:
        da = scores[var].sel(region="global")
        if "baseline" in da.dims:
            da = da.sel(baseline="graphcast")
        if level is not None:
            da = da.sel(level=level)
        for lead in da["lead_time"].values:
            at = da.sel(lead_time=lead)
            rows.append({
                "variable": var, "level": "" if level is None else level,
                "lead_hours": int(lead / np.timedelta64(1, "h")),
                "gencast_crps": float(at.sel(metric="crps")),
                "graphcast_crps_mae": float(at.sel(metric="baseline_crps")),
                "gencast_ensemble_mean_rmse": float(at.sel(metric="ensemble_mean_rmse")),
                "graphcast_rmse": float(at.sel(metric="baseline_ensemble_mean_rmse")),
                "gencast_spread_skill": float(at.sel(metric="spread_skill_ratio")),
            })
    return rows


def write_rows(rows: list[dict], out_path: str) -> None:
    with open(out_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()} for row in rows)


def comparison_figure(rows: list[dict]):
    """CRPS (GenCast) vs MAE (GraphCast) and ensemble-mean RMSE vs RMSE against lead time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(COMPARED), figsize=(3.0 * len(COMPARED), 5.4), squeeze=False)
    for j, (var, level) in enumerate(COMPARED):
        mine = [r for r in rows if r["variable"] == var and r["level"] == ("" if level is None else level)]
        hours = [r["lead_hours"] for r in mine]
        for i, (ours, theirs, label) in enumerate((("gencast_crps", "graphcast_crps_mae", "CRPS / MAE"),
                                                   ("gencast_ensemble_mean_rmse", "graphcast_rmse", "RMSE"))):
            ax = axes[i, j]
            ax.plot(hours, [r[ours] for r in mine], "o-", color="C0", label="GenCast (ensemble)")
            ax.plot(hours, [r[theirs] for r in mine], "s--", color="C3", label="GraphCast (deterministic)")
            ax.set_title(f"{var}{'' if level is None else f' {level}'}", fontsize=8)
            ax.set_xlabel("lead (h)", fontsize=8)
            ax.set_ylabel(label, fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("GenCast vs GraphCast on the synthetic world (global; lower is better)", fontsize=10)
    fig.tight_layout()
    return fig
