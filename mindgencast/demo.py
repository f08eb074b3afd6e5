"""The built-in end-to-end demo: synthetic world -> statistics -> store -> training ->
ensemble forecast -> WeatherBench2-style evaluation against the truth and the oracle.

Everything runs on a small GenCast on gencast_tiny's task and 10 deg grid
(configs/gencast_tiny_wide.yaml: latent 128, the architecture mindgencast/pretrained ships) and the
built-in synthetic world (docs/synthetic_world.md), whose exact conditional ensemble (the
"oracle") is the best forecast any model could make: the scores say how close the
freshly trained GenCast gets to it, and how it compares with persistence.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Callable, Optional

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["DemoConfig", "run_demo"]


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo (the defaults take a few minutes on a 2-core CPU).

    ``train=False`` (the default) forecasts with the checkpoint shipped in
    :mod:`mindgencast.pretrained`; ``train=True`` (``mindgencast demo --train``) trains the same
    architecture (``model``) from scratch for ``train_steps`` first, with the shipped model's
    recipe (``small_noise_fraction`` of the noise levels log-uniform in [0.02, 1]), as does
    ``graphcast=True``. The initial time is ``train_days + 10.5`` days after 2000-01-01 either way (held out from the shipped model's
    2001 training year and from the demo's own training days)."""

    train_days: int = 120
    train_steps: int = 300
    batch_size: int = 4
    learning_rate: float = 1e-3
    small_noise_fraction: float = 0.5
    model: str = "gencast_tiny_wide"
    forecast_steps: int = 10
    members: int = 8
    sampler_steps: int = 20
    seed: int = 0
    graphcast: bool = False
    graphcast_train_steps: int = 0  # 0: as many as GenCast's
    train: bool = False  # False: forecast with the shipped checkpoint (mindgencast/pretrained)


    @classmethod
    def quick(cls) -> "DemoConfig":
        """Seconds instead of minutes (used by the tests)."""
        return cls(train_days=20, train_steps=10, forecast_steps=2, members=3, sampler_steps=4)

    @property
    def graphcast_steps(self) -> int:
        return self.graphcast_train_steps or self.train_steps


def _oracle_forecast(world, truth: xr.Dataset, init_time, steps: int, members: int, seed: int) -> xr.Dataset:
    """The synthetic world's exact conditional ensemble, in the forecast file layout."""
    leads = pd.to_timedelta(np.arange(1, steps + 1) * 12, unit="h")
    state = truth.sel(time=[np.datetime64(init_time)])
    sample = world.sample_future(state, init_time, leads, members, rng=np.random.default_rng(seed))
    valid = sample["time"].values
    sample = sample.swap_dims(time="lead_time").drop_vars("time")
    return sample.assign_coords(init_time=np.datetime64(pd.Timestamp(init_time), "ns"), valid_time=("lead_time", valid))


def run_demo(out_dir: str, config: DemoConfig = DemoConfig(), log: Optional[Callable[[str], None]] = print) -> dict:
    """Runs the demo into ``out_dir`` (created; must be empty or absent). Returns a summary
    dict with the paths written and headline scores.

    With ``config.graphcast`` the world is sampled every 6 hours, the tiny GraphCast is trained
    on it as well and both are scored on the same held-out forecast
    (:mod:`mindgencast.demo_graphcast`)."""
    import mindspore as ms

    from mindgencast.config.builtin import builtin_config
    from mindgencast.data.store import write_store
    from mindgencast.data.synthetic import SyntheticWorld
    from mindgencast.forecast.forecast_job import ForecastJob
    from mindgencast.forecast.plots import plot_maps
    from mindgencast.metrics.evaluation import evaluate
    from mindgencast.metrics.scorecard import curves_figure, scorecard_figure
    from mindgencast.training.job import run_training

    say = log or (lambda _: None)
    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f"demo output directory {out_dir!r} is not empty; choose a new one")
    os.makedirs(os.path.join(out_dir, "plots"), exist_ok=True)
    ms.set_context(mode=ms.GRAPH_MODE)
    path = lambda *p: os.path.join(out_dir, *p)  # noqa: E731
    start = time.time()
    cfg = builtin_config(config.model)
    task = cfg.task_config
    training = config.train or config.graphcast  # the GraphCast comparison's 6-hourly world is another law
    if not training and config.seed != 0:
        raise ValueError(f"the shipped checkpoint was trained on the seed-0 world, not seed {config.seed}: "
                         "add --train to train a GenCast on this world")
    total = 8 if config.graphcast else 6
    every = "6" if config.graphcast else "12"

    say(f"[1/{total}] synthetic world: {cfg.grid.resolution:g} deg grid, {len(task.pressure_levels)} levels"
        + (f", {config.train_days} days of {every}-hourly training data" if training else ""))
    world_task = task
    if config.graphcast:
        from mindgencast import demo_graphcast

        world_task = demo_graphcast.comparison_task(task, builtin_config("graphcast_tiny").task_config)
    world = SyntheticWorld(world_task, cfg.grid.resolution, seed=config.seed, time_step=f"{every}h")
    world.write_stats(path("stats"))
    if training:
        world_data = world.generate("2000-01-01", days=config.train_days)
        train_data = world_data.isel(time=slice(None, None, 2)) if config.graphcast else world_data
        write_store(path("store.h5"), train_data, task)
        say(f"[2/{total}] training GenCast ({config.model}) for {config.train_steps} steps (batch {config.batch_size})")
        history = run_training(config.model, path("store.h5"), path("stats"), path("checkpoint"),
                               steps=config.train_steps, batch_size=config.batch_size,
                               small_noise_fraction=config.small_noise_fraction,
                               learning_rate=config.learning_rate, warmup_steps=max(1, config.train_steps // 10),
                               seed=config.seed, log_every=max(1, config.train_steps // 6), log=say)
        checkpoint = path("checkpoint")
    else:
        from mindgencast.pretrained import pretrained_path

        checkpoint, history = str(pretrained_path()), []
        say(f"[2/{total}] the shipped checkpoint {checkpoint}: the GenCast ({config.model}) trained by this project on "
            "2001 of this world (mindgencast/pretrained/README.md); `mindgencast demo --train` trains one instead")

    truth_start = pd.Timestamp("2000-01-01") + pd.Timedelta(days=config.train_days + 10)
    init_time = truth_start + pd.Timedelta(hours=12)
    truth = world.generate(truth_start, days=(config.forecast_steps + 2) / 2 + 1)
    truth.to_netcdf(path("truth.nc"))
    say(f"[3/{total}] {config.members}-member forecast from {init_time:%Y-%m-%d %H:%M}, "
        f"{config.forecast_steps} x 12 h, DPM-Solver++ 2S with {config.sampler_steps} noise levels")
    job = ForecastJob.prepare(checkpoint, path("stats"), truth, init_time=init_time)
    job.run(path("forecast.nc"), steps=config.forecast_steps, members=config.members,
            members_per_batch=config.members, seed=config.seed, sampler_steps=config.sampler_steps,
            ensemble_stats=config.members > 1, progress=log is not None)

    say(f"[4/{total}] the oracle: the world's exact conditional ensemble (the best possible forecast)")
    oracle = _oracle_forecast(world, truth, init_time, config.forecast_steps, config.members, config.seed + 1)
    oracle.to_netcdf(path("oracle.nc"))

    say(f"[5/{total}] scoring against the truth (fair CRPS, ensemble-mean RMSE, spread/skill)")
    forecast = xr.load_dataset(path("forecast.nc"), decode_timedelta=True)
    regions = ("global",)
    scores = evaluate(forecast, truth, baseline=[oracle], regions=regions)
    scores.to_netcdf(path("scores_vs_oracle.nc"))
    persistence = evaluate(forecast, truth, baseline="persistence", regions=regions)
    persistence.to_netcdf(path("scores_vs_persistence.nc"))
    scorecard_figure(scores, region="global").savefig(path("plots", "scorecard_vs_oracle.png"))
    scorecard_figure(persistence, region="global").savefig(path("plots", "scorecard_vs_persistence.png"))
    curves_figure(scores, "crps", region="global").savefig(path("plots", "crps.png"))

    say(f"[6/{total}] maps and plumes")
    lead = f"{12 * config.forecast_steps}h"
    plot_maps(forecast, "2m_temperature", lead, num_members=min(3, config.members), out_dir=path("plots"))
    plot_maps(forecast, "geopotential", lead, level=500, num_members=min(3, config.members), out_dir=path("plots"))

    summary = {"out_dir": out_dir, "checkpoint": checkpoint,
               "train_loss_first": history[0]["loss"] if history else None,
               "train_loss_last": history[-1]["loss"] if history else None,
               "headline": _headline(scores, persistence)}
    if config.graphcast:
        summary["comparison"] = _graphcast_comparison(config, world_data, truth, init_time, forecast, path, say,
                                                      log is not None, total)
    summary["seconds"] = time.time() - start
    for line in _format_headline(summary["headline"]):
        say(line)
    for line in _format_comparison(summary.get("comparison")):
        say(line)
    say(f"done in {summary['seconds']:.0f} s; outputs in {out_dir} (forecast.nc, scores_*.nc, plots/)")
    return summary


def _graphcast_comparison(config, world_data, truth, init_time, forecast, path, say, progress, total) -> list[dict]:
    """Steps 7-8 of ``demo --graphcast``: train the tiny GraphCast, forecast, compare."""
    from mindgencast import demo_graphcast as dg

    say(f"[7/{total}] training the tiny GraphCast for {config.graphcast_steps} steps on the 6-hourly data "
        f"(batch {config.batch_size})")
    dg.train_graphcast(world_data, path, config.graphcast_steps, config.batch_size, config.learning_rate,
                       config.seed, say)
    say(f"[8/{total}] GraphCast forecast from the same initial time ({2 * config.forecast_steps} x 6 h) and the "
        "comparison at the shared 12-h leads")
    graphcast = dg.graphcast_forecast(path, truth, init_time, config.forecast_steps, progress)
    scores = dg.compare(forecast, graphcast, truth)
    scores.to_netcdf(path("scores_gencast_vs_graphcast.nc"))
    rows = dg.comparison_rows(scores)
    dg.write_rows(rows, path("gencast_vs_graphcast.csv"))
    dg.comparison_figure(rows).savefig(path("plots", "gencast_vs_graphcast.png"), dpi=110)
    return rows


def _format_comparison(rows) -> list[str]:
    if not rows:
        return []
    last = max(r["lead_hours"] for r in rows)
    lines = [f"GenCast vs GraphCast at +{last} h (global; CRPS of GraphCast's one member = its MAE):"]
    for r in rows:
        if r["lead_hours"] == last:
            name = f"{r['variable']}{r['level']}"
            lines.append(f"  {name:26s} CRPS {r['gencast_crps']:.4g} vs {r['graphcast_crps_mae']:.4g} | RMSE "
                         f"{r['gencast_ensemble_mean_rmse']:.4g} vs {r['graphcast_rmse']:.4g}")
    return lines


def _headline(vs_oracle: xr.Dataset, vs_persistence: xr.Dataset) -> dict:
    """Global CRPS of GenCast, the oracle and persistence, and GenCast's spread/skill, at the
    last lead for z500 and 2 m temperature."""
    out = {}
    for var, level in (("geopotential", 500), ("2m_temperature", None)):
        sel = dict(region="global", lead_time=vs_oracle["lead_time"].values[-1])
        if level is not None:
            sel["level"] = level
        oracle, persistence = vs_oracle[var].sel(sel), vs_persistence[var].sel(sel)
        out[f"{var}{'' if level is None else level}"] = {
            "gencast": float(oracle.sel(metric="crps")),
            "oracle": float(oracle.sel(metric="baseline_crps")),
            "persistence": float(persistence.sel(metric="baseline_crps")),
            "spread_skill": float(oracle.sel(metric="spread_skill_ratio")),
        }
    return out


def _format_headline(headline: dict) -> list[str]:
    lines = ["global CRPS at the last lead (lower is better) and GenCast's spread/skill (1 is ideal):"]
    for name, row in headline.items():
        lines.append(f"  {name:16s} GenCast {row['gencast']:.4g} | oracle {row['oracle']:.4g} | "
                     f"persistence {row['persistence']:.4g} | spread/skill {row['spread_skill']:.2f}")
    return lines
