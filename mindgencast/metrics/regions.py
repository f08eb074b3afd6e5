"""Geographic regions for regional scores: masks and regional area means.

The default bands follow WeatherBench2 / the GenCast paper (Price et al., 2024,
Supplement): tropics ``|lat| <= 20``, extratropics ``|lat| >= 20`` in each hemisphere.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from mindgencast.metrics.latitude_weights import LAT_DIM, LON_DIM, area_mean

__all__ = ["Region", "REGIONS", "region_mask", "regional_mean"]


@dataclasses.dataclass(frozen=True)
class Region:
    """A latitude band, optionally limited in longitude.

    Attributes:
      name: short name used as the ``region`` coordinate of scores.
      lat_min, lat_max: inclusive bounds in degrees north.
      lon_min, lon_max: inclusive bounds in degrees east within [0, 360]; when
        ``lon_min > lon_max`` the box wraps across the 0 meridian.
    """

    name: str
    lat_min: float = -90.0
    lat_max: float = 90.0
    lon_min: float = 0.0
    lon_max: float = 360.0

    def mask(self, lat, lon) -> xr.DataArray:
        """``[lat, lon]`` boolean DataArray, True inside the region."""
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.mod(np.asarray(lon, dtype=np.float64), 360.0)
        in_lat = (lat >= self.lat_min) & (lat <= self.lat_max)
        if self.lon_min <= self.lon_max:
            in_lon = (lon >= self.lon_min) & (lon <= self.lon_max)
        else:
            in_lon = (lon >= self.lon_min) | (lon <= self.lon_max)
        return xr.DataArray(
            in_lat[:, None] & in_lon[None, :], dims=[LAT_DIM, LON_DIM], coords={LAT_DIM: lat, LON_DIM: lon}
        )


REGIONS = {
    "global": Region("global"),
    "tropics": Region("tropics", -20.0, 20.0),
    "extratropics_north": Region("extratropics_north", 20.0, 90.0),
    "extratropics_south": Region("extratropics_south", -90.0, -20.0),
}


def region_mask(lat, lon, region: str | Region) -> xr.DataArray:
    """Boolean ``[lat, lon]`` mask of a region given by name (a key of ``REGIONS``) or Region."""
    if isinstance(region, str):
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}; known regions: {', '.join(REGIONS)}")
        region = REGIONS[region]
    return region.mask(lat, lon)


def regional_mean(x: xr.DataArray, region: str | Region = "global", average_dims=()) -> xr.DataArray:
    """Area-weighted mean of ``x`` over the grid points of ``region`` (dims lat, lon dropped)."""
    mask = region_mask(x[LAT_DIM].values, x[LON_DIM].values, region)
    return area_mean(x, mask=mask, average_dims=average_dims)
