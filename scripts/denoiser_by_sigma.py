"""Per-sigma denoising diagnostics of a checkpoint on held-out synthetic examples (docs/training_study.md).

usage: python scripts/denoiser_by_sigma.py CHECKPOINT STATS OUT.csv
"""

import sys

import mindspore as ms
import numpy as np
import pandas as pd

from mindgencast.checkpoint import load_checkpoint
from mindgencast.config.builtin import builtin_config
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.pipeline import TrainingExamples
from mindgencast.data.store import write_store
from mindgencast.data.synthetic import SyntheticWorld
from mindgencast.model import GenCast
from mindgencast.synthetic_skill import denoiser_error_by_sigma


def main():
    checkpoint, stats, out = sys.argv[1:4]
    ms.set_context(mode=ms.GRAPH_MODE)
    cfg = builtin_config("gencast_tiny")
    world = SyntheticWorld(cfg.task_config, cfg.grid.resolution, seed=0, time_step="12h")
    store = out + ".store.h5"
    write_store(store, world.generate("2000-06-09", days=20), cfg.task_config)
    examples = TrainingExamples(store, NormalizationStats.load(stats))
    sigmas = [0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0, 80.0]
    table = denoiser_error_by_sigma(
        GenCast(load_checkpoint(checkpoint)), examples, sigmas, indices=list(range(0, 32, 4))
    )
    table.to_csv(out, index=False)
    pd.set_option("display.width", 250)
    cols = ["sigma", "loss"] + [c for c in table.columns if c.startswith(("geopotential", "temperature", "2m_t"))]
    print(table[cols].to_string(float_format=lambda x: f"{x:.3g}"))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
