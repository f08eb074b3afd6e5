"""Typed configuration: frozen dataclasses, strict YAML IO, variable catalogue."""

from mindgencast.config.io import (
    ConfigError,
    GenCastConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    load_model_config,
    model_config_from_dict,
    save_config,
)
from mindgencast.config.schemas import (
    DenoiserArchitectureConfig,
    GridConfig,
    NoiseConfig,
    NoiseEncoderConfig,
    SamplerConfig,
    SparseTransformerConfig,
    TaskConfig,
)
from mindgencast.config.task_channels import node_output_size, num_target_channels
from mindgencast.config.variables import VARIABLES, VariableInfo, is_atmospheric, variable_info

__all__ = [
    "ConfigError",
    "GenCastConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "load_model_config",
    "model_config_from_dict",
    "save_config",
    "DenoiserArchitectureConfig",
    "GridConfig",
    "NoiseConfig",
    "NoiseEncoderConfig",
    "SamplerConfig",
    "SparseTransformerConfig",
    "TaskConfig",
    "node_output_size",
    "num_target_channels",
    "VARIABLES",
    "VariableInfo",
    "is_atmospheric",
    "variable_info",
]
