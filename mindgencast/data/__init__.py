"""ERA5 data: reading, validation, extraction, derived forcings, normalisation, NaN
cleaning, statistics, the training store and pipeline, and the synthetic world.

``docs/data.md`` describes the layouts and conventions.
"""

from mindgencast.data.derived_forcings import DERIVED_FORCINGS, add_derived_forcings, day_progress, year_progress
from mindgencast.data.era5_io import (
    coarsen_to_1deg,
    open_era5,
    select_levels,
    standardize_era5,
    subsample_grid,
    total_precipitation_12hr,
)
from mindgencast.data.extraction import example_batch, extract_inputs_targets_forcings, target_lead_times_for
from mindgencast.data.nan_cleaning import NAN_VARIABLES, clean_nans, nan_mask, reintroduce_nans
from mindgencast.data.normalization import (
    NormalizationStats,
    normalize,
    normalized_residuals_to_targets,
    targets_to_normalized_residuals,
    unnormalize,
)
from mindgencast.data.pipeline import TrainingExamples, training_dataset
from mindgencast.data.stacking import stack_dataset, unstack_to_dataset
from mindgencast.data.stats import compute_statistics
from mindgencast.data.store import TrainingStore, write_store
from mindgencast.data.validation import DataValidationError, required_variables, validate_era5

__all__ = [
    "DERIVED_FORCINGS",
    "add_derived_forcings",
    "day_progress",
    "year_progress",
    "coarsen_to_1deg",
    "open_era5",
    "select_levels",
    "standardize_era5",
    "subsample_grid",
    "total_precipitation_12hr",
    "example_batch",
    "extract_inputs_targets_forcings",
    "target_lead_times_for",
    "DataValidationError",
    "required_variables",
    "validate_era5",
    "NAN_VARIABLES",
    "clean_nans",
    "nan_mask",
    "reintroduce_nans",
    "NormalizationStats",
    "normalize",
    "unnormalize",
    "targets_to_normalized_residuals",
    "normalized_residuals_to_targets",
    "TrainingExamples",
    "training_dataset",
    "stack_dataset",
    "unstack_to_dataset",
    "compute_statistics",
    "TrainingStore",
    "write_store",
]
