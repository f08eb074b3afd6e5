"""Channel counts derived from a TaskConfig (never written back into it)."""

from __future__ import annotations

from mindgencast.config.schemas import DenoiserArchitectureConfig, TaskConfig
from mindgencast.config.variables import is_atmospheric

__all__ = ["num_target_channels", "node_output_size"]


def num_target_channels(task: TaskConfig) -> int:
    """Output channels of the denoiser: one per surface target, one per level
    per atmospheric target (GenCast's ``node_output_size``)."""
    levels = len(task.pressure_levels)
    return sum(levels if is_atmospheric(v) else 1 for v in task.target_variables)


def node_output_size(task: TaskConfig, arch: DenoiserArchitectureConfig) -> int:
    """The architecture's stored ``node_output_size``, checked against the task,
    or derived from the task when the config leaves it unset."""
    derived = num_target_channels(task)
    if arch.node_output_size is not None and arch.node_output_size != derived:
        raise ValueError(
            f"denoiser_architecture_config.node_output_size={arch.node_output_size} does not match "
            f"the task's {derived} target channels ({len(task.target_variables)} variables on "
            f"{len(task.pressure_levels)} levels); fix the config or the task"
        )
    return derived
