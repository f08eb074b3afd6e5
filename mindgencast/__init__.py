"""mindgencast: DeepMind's GenCast diffusion ensemble forecaster in MindSpore.

Public API (imported lazily, so ``import mindgencast`` stays cheap)::

    import mindgencast as mg
    ckpt = mg.load_checkpoint("checkpoint.npz")
    model = mg.GenCast(ckpt)
    stats = mg.NormalizationStats.load("stats/")
    forecaster = mg.Forecaster(model, stats)

    graphcast = mg.GraphCast("graphcast.npz", "stats/")   # deterministic GraphCast (docs/graphcast.md)
    prediction = graphcast.predict(inputs, targets_template, forcings)
"""

import importlib

from mindgencast.version import __version__

# public name -> module that defines it
_LAZY = {
    "GenCast": "mindgencast.model",
    "GraphCast": "mindgencast.graphcast.model",
    "load_checkpoint": "mindgencast.checkpoint",
    "Checkpoint": "mindgencast.checkpoint",
    "Forecaster": "mindgencast.forecaster",
    "NormalizationStats": "mindgencast.data.normalization",
}
_SUBMODULES = ("config", "graphs", "nn", "diffusion", "checkpoint", "data", "metrics", "forecast", "training", "graphcast")

__all__ = ["__version__", *_LAZY, *_SUBMODULES]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"mindgencast.{name}")
    raise AttributeError(f"module 'mindgencast' has no attribute {name!r}")
