"""Scores a checkpoint on held-out inits of the demo's synthetic world (docs/training_study.md).

usage: python scripts/synthetic_skill.py CHECKPOINT STATS OUT_PREFIX [--steps 10] [--members 8]
       [--inits 8] [--sampler-steps 20] [--churn S]
Writes OUT_PREFIX.csv (skill table), OUT_PREFIX_criteria.csv, OUT_PREFIX_spectra.nc.
"""

import argparse
import dataclasses
import time

import mindspore as ms
import pandas as pd

from mindgencast.checkpoint import load_checkpoint
from mindgencast.config.builtin import builtin_config
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.synthetic import SyntheticWorld
from mindgencast.forecaster import Forecaster
from mindgencast.metrics.spectra import ensemble_spectra
from mindgencast.model import GenCast
from mindgencast.synthetic_skill import criteria_met, ensemble_forecasts, held_out_truth, oracle_forecasts, skill_table


def main():
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("stats")
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--members", type=int, default=8)
    p.add_argument("--inits", type=int, default=8)
    p.add_argument("--sampler-steps", type=int, default=None)
    p.add_argument("--churn", type=float, default=None, help="override stochastic_churn_rate")
    p.add_argument("--s-noise", type=float, default=None, help="override noise_level_inflation_factor")
    a = p.parse_args()
    ms.set_context(mode=ms.GRAPH_MODE)
    start = time.time()
    cfg = builtin_config("gencast_tiny")
    world = SyntheticWorld(cfg.task_config, cfg.grid.resolution, seed=0, time_step="12h")
    held = held_out_truth(world, num_inits=a.inits)
    ckpt = load_checkpoint(a.checkpoint)
    sampler = ckpt.sampler_config
    if a.churn is not None:
        sampler = dataclasses.replace(sampler, stochastic_churn_rate=a.churn)
    if a.s_noise is not None:
        sampler = dataclasses.replace(sampler, noise_level_inflation_factor=a.s_noise)
    forecaster = Forecaster(GenCast(ckpt, sampler_config=sampler), NormalizationStats.load(a.stats))
    forecasts = ensemble_forecasts(forecaster, held, members=a.members, steps=a.steps, sampler_steps=a.sampler_steps)
    oracle = oracle_forecasts(world, held, members=a.members, steps=a.steps)
    table = skill_table(forecasts, held, oracle)
    table.to_csv(a.out + ".csv", index=False)
    criteria_met(table).to_csv(a.out + "_criteria.csv", index=False)
    ensemble_spectra(forecasts, held.truth).to_netcdf(a.out + "_spectra.nc")
    ensemble_spectra(oracle, held.truth).to_netcdf(a.out + "_oracle_spectra.nc")
    pd.set_option("display.width", 250)
    cols = [
        "variable",
        "lead_h",
        "crps",
        "crps_oracle",
        "crps_persistence",
        "crps_climatology",
        "rmse",
        "rmse_persistence",
        "spread_skill",
        "spread_skill_oracle",
        "worst_power_factor",
    ]
    print(table[cols].to_string(float_format=lambda x: f"{x:.4g}"))
    print(criteria_met(table).drop(columns=["variable", "lead_h"]).all().to_string())
    print(f"{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
