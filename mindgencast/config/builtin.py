"""The model configs that ship with mindgencast (``configs/*.yaml``).

An installed wheel carries them as the package ``mindgencast.configs``; an
editable (development) install reads the repository's ``configs/`` folder.
"""

from __future__ import annotations

import importlib.resources
import pathlib

from mindgencast.config.io import load_model_config

__all__ = ["builtin_config_names", "builtin_config", "builtin_config_dir"]


def builtin_config_dir():
    """The folder (a Traversable) holding the shipped ``*.yaml`` configs."""
    try:
        return importlib.resources.files("mindgencast.configs")
    except ModuleNotFoundError:
        return pathlib.Path(__file__).resolve().parents[2] / "configs"


def builtin_config_names() -> list[str]:
    """Names of the shipped configs, e.g. ``["gencast_0p25deg", ..., "graphcast_tiny"]``."""
    return sorted(p.name[: -len(".yaml")] for p in builtin_config_dir().iterdir() if p.name.endswith(".yaml"))


def builtin_config(name: str):
    """Loads a shipped config by name: ``"gencast_tiny"`` -> GenCastConfig, ``"graphcast_tiny"``
    -> GraphCastConfig (told apart by the file's keys)."""
    names = builtin_config_names()
    if name not in names:
        raise ValueError(f"no built-in config {name!r}; available: {', '.join(names)}")
    with importlib.resources.as_file(builtin_config_dir() / f"{name}.yaml") as path:
        return load_model_config(path)
