"""Ensemble forecasting: autoregressive rollout, CF NetCDF output, progress, plots.

``initial_state`` cuts the input frames at an init time; ``rollout`` /
``run_forecast`` drive any one-step forecaster given as a step function;
``ForecastWriter`` streams CF-1.8 NetCDF; ``mindgencast.forecast.plots``
(imported on demand, it needs matplotlib) draws maps and plumes.
"""

from mindgencast.forecast.initial_state import InitialState, initial_state
from mindgencast.forecast.netcdf_writer import ForecastWriter, partial_path
from mindgencast.forecast.progress import RolloutProgress
from mindgencast.forecast.rollout import RolloutLayout, StepFn, rollout, run_forecast, validate_rollout

__all__ = [
    "InitialState",
    "initial_state",
    "ForecastWriter",
    "partial_path",
    "RolloutProgress",
    "RolloutLayout",
    "StepFn",
    "rollout",
    "run_forecast",
    "validate_rollout",
]
