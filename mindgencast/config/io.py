"""Strict conversion between config dataclasses, plain dicts and YAML files.

An unknown or misspelt key is an error that names it and lists the valid keys
(a silently ignored typo in a model config wastes a training run).
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from typing import Any, Mapping

import yaml

from mindgencast.config.schemas import (
    DenoiserArchitectureConfig,
    GridConfig,
    NoiseConfig,
    NoiseEncoderConfig,
    SamplerConfig,
    TaskConfig,
)

__all__ = [
    "ConfigError",
    "GenCastConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "load_model_config",
    "model_config_from_dict",
    "save_config",
]


class ConfigError(ValueError):
    """A configuration is malformed: unknown key, missing key or wrong type."""


@dataclasses.dataclass(frozen=True)
class GenCastConfig:
    """Everything that describes one GenCast model (what a checkpoint carries).

    Attributes:
      task_config, denoiser_architecture_config, sampler_config, noise_config,
      noise_encoder_config: as in DeepMind's ``gencast.CheckPoint``.
      grid: the lat-lon grid the model runs on (``None``: not recorded).
      description: free text.
    """

    task_config: TaskConfig
    denoiser_architecture_config: DenoiserArchitectureConfig
    sampler_config: SamplerConfig = SamplerConfig()
    noise_config: NoiseConfig = NoiseConfig()
    noise_encoder_config: NoiseEncoderConfig = NoiseEncoderConfig()
    grid: typing.Optional[GridConfig] = None
    description: str = ""

    @property
    def model_step(self) -> str:
        """Time between the input frames and to the target: GenCast steps 12 hours."""
        return "12h"


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _convert(non_none[0], value, where)
    if dataclasses.is_dataclass(tp):
        return config_from_dict(tp, value, where)
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item_type = args[0] if args else Any
        return tuple(_convert(item_type, v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int,)) and not (
            isinstance(value, float) and value.is_integer()
        ):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity", ".inf"):
            return math.inf
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def config_from_dict(cls: type, data: Mapping[str, Any], where: str = "") -> Any:
    """Builds the frozen dataclass ``cls`` from a (nested) mapping, strictly.

    Args:
      cls: a config dataclass, e.g. ``TaskConfig`` or ``GenCastConfig``.
      data: mapping of field name -> value (nested mappings for nested configs).
      where: dotted path used in error messages.

    Raises:
      ConfigError: naming any unknown key (with the valid ones), a missing
        required key or a value of the wrong type.
    """
    label = where or cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(f"{label}: expected a mapping of {cls.__name__} fields, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{label}: unknown key(s) {', '.join(map(repr, unknown))} for {cls.__name__}; "
            f"valid keys are: {', '.join(fields)}"
        )
    kwargs = {}
    for name, field in fields.items():
        sub = f"{where}.{name}" if where else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], sub)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{label}: missing required key {name!r} of {cls.__name__}")
    try:
        return cls(**kwargs)
    except ValueError as e:
        raise ConfigError(f"{label}: {e}") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict (tuples as lists) of a config dataclass; inverse of
    :func:`config_from_dict`."""

    def plain(value):
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    return plain(config)


def load_config(path: str | os.PathLike, cls: type = GenCastConfig) -> Any:
    """Reads a YAML file into ``cls`` (default :class:`GenCastConfig`), strictly."""
    with open(path) as f:
        try:
            data = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
    try:
        return config_from_dict(cls, data or {})
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def load_model_config(path: str | os.PathLike) -> Any:
    """A model config YAML of either model: :class:`GenCastConfig` (it has
    ``denoiser_architecture_config``) or GraphCast's ``GraphCastConfig`` (``model_config``)."""
    with open(path) as f:
        try:
            data = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
    return model_config_from_dict(data or {}, str(path))


def model_config_from_dict(data: dict, where: str = "model") -> Any:
    """:func:`config_from_dict` for GenCast's or GraphCast's config, told apart by their keys."""
    cls = GenCastConfig
    if isinstance(data, dict) and "model_config" in data:
        from mindgencast.graphcast.config import GraphCastConfig

        cls = GraphCastConfig
    try:
        return config_from_dict(cls, data, "")
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def save_config(config: Any, path: str | os.PathLike) -> None:
    """Writes ``config`` as YAML (atomically: temporary file, then rename)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        yaml.safe_dump(config_to_dict(config), f, sort_keys=False)
    os.replace(tmp, path)
