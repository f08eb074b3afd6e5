"""Input checks shared by the ensemble metrics."""

from __future__ import annotations

import xarray as xr

from mindgencast.metrics.latitude_weights import LAT_DIM, LON_DIM


def ensemble_size(forecast: xr.DataArray, truth: xr.DataArray, ensemble_dim: str) -> int:
    """Number of members M; checks that only the forecast has the ensemble dim and both have lat/lon."""
    if ensemble_dim not in forecast.dims:
        raise ValueError(f"forecast has no ensemble dim {ensemble_dim!r} (dims {forecast.dims}); pass ensemble_dim=")
    if ensemble_dim in truth.dims:
        raise ValueError(f"truth must not have the ensemble dim {ensemble_dim!r} (dims {truth.dims})")
    for name, x in (("forecast", forecast), ("truth", truth)):
        if LAT_DIM not in x.dims or LON_DIM not in x.dims:
            raise ValueError(f"{name} needs dims 'lat' and 'lon', got {x.dims}")
    return forecast.sizes[ensemble_dim]
