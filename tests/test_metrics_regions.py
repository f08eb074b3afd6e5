"""Region masks and regional means."""

import numpy as np
import pytest
import xarray as xr

from mindgencast.metrics import REGIONS, Region, area_mean, latitude_weights, region_mask, regional_mean


def test_default_bands():
    lat, lon = np.linspace(-90, 90, 19), np.arange(0, 360, 30.0)
    tropics = region_mask(lat, lon, "tropics").values[:, 0]
    north = region_mask(lat, lon, "extratropics_north").values[:, 0]
    south = region_mask(lat, lon, "extratropics_south").values[:, 0]
    np.testing.assert_array_equal(lat[tropics], [-20, -10, 0, 10, 20])
    np.testing.assert_array_equal(lat[north], [20, 30, 40, 50, 60, 70, 80, 90])
    np.testing.assert_array_equal(lat[south], -lat[north][::-1])
    assert region_mask(lat, lon, "global").values.all()
    assert set(REGIONS) == {"global", "tropics", "extratropics_north", "extratropics_south"}


def test_regional_mean_equals_the_weighted_mean_inside_the_band():
    rng = np.random.default_rng(0)
    lat, lon = np.linspace(-90, 90, 37), np.arange(0, 360, 10.0)
    x = xr.DataArray(rng.normal(size=(2, 37, 36)), dims=["lead_time", "lat", "lon"], coords={"lat": lat, "lon": lon})
    inside = np.abs(lat) <= 20
    w = latitude_weights(lat).values[inside, None]
    direct = (x.values[:, inside] * w).sum((-1, -2)) / (w.sum() * lon.size)
    np.testing.assert_allclose(regional_mean(x, "tropics").values, direct, rtol=1e-12)
    np.testing.assert_allclose(regional_mean(x, "global").values, area_mean(x).values, rtol=1e-12)


def test_longitude_box_wrapping_the_meridian():
    box = Region("europe", 35.0, 70.0, 350.0, 40.0)
    mask = box.mask([50.0], [-20.0, -10.0, 0.0, 20.0, 40.0, 60.0]).values[0]
    np.testing.assert_array_equal(mask, [False, True, True, True, True, False])


def test_unknown_and_empty_regions_are_named():
    lat, lon = np.array([-60.0, 60.0]), np.array([0.0, 180.0])
    with pytest.raises(ValueError, match="'arctic'"):
        region_mask(lat, lon, "arctic")
    x = xr.DataArray(np.ones((2, 2)), dims=["lat", "lon"], coords={"lat": lat, "lon": lon})
    with pytest.raises(ValueError, match="no grid points"):
        regional_mean(x, "tropics")
