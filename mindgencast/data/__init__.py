"""ERA5 data: reading, validation, extraction of model inputs, derived forcings.

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
]
