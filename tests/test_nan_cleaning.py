"""NaN cleaning: SST filled with min_by_level, NaN put back where any input frame had one,
NaN elsewhere rejected by name."""

import numpy as np
import pytest
import xarray as xr
from conftest import load_nc

from mindgencast.data.nan_cleaning import clean_nans, nan_mask, reintroduce_nans
from mindgencast.data.normalization import NormalizationStats


@pytest.fixture(scope="module")
def stats(fixture_dir):
    return NormalizationStats.load(fixture_dir / "stats")


@pytest.fixture(scope="module")
def inputs(fixture_dir):
    return load_nc(fixture_dir / "inputs.nc")


def test_fill_value_is_min_by_level(stats, inputs):
    sst = inputs["sea_surface_temperature"]
    clean = clean_nans(inputs, stats)
    filled = clean["sea_surface_temperature"].values[np.isnan(sst.values)]
    assert filled.size == 980  # the fixture's SST NaN count (README)
    np.testing.assert_array_equal(filled, np.float32(271.35))
    kept = ~np.isnan(sst.values)
    np.testing.assert_array_equal(clean["sea_surface_temperature"].values[kept], sst.values[kept])
    assert clean["sea_surface_temperature"].dtype == np.float32
    xr.testing.assert_identical(clean["temperature"], inputs["temperature"])
    assert int(np.isnan(inputs["sea_surface_temperature"].values).sum()) == 980  # input untouched


def test_mask_is_any_frame(inputs):
    sst = inputs["sea_surface_temperature"].copy()
    lat, lon = np.argwhere(~np.isnan(sst.values[0]).any(axis=0))[0]  # an ocean cell
    sst[0, 0, lat, lon] = np.nan  # NaN in the first frame only
    mask = nan_mask(inputs.assign(sea_surface_temperature=sst), "sea_surface_temperature")
    assert mask.dims == ("batch", "lat", "lon")
    assert bool(mask[0, lat, lon]) and not bool(nan_mask(inputs, "sea_surface_temperature")[0, lat, lon])
    np.testing.assert_array_equal(mask.values[1], np.isnan(sst.values[1]).any(axis=0))


def test_reintroduce_matches_reference_sample(stats, inputs, fixture_dir):
    sample = load_nc(fixture_dir / "sample_deterministic.nc")
    filled = clean_nans(sample, stats)
    restored = reintroduce_nans(filled, inputs)
    for name in sample.data_vars:
        np.testing.assert_array_equal(np.isnan(restored[name].values), np.isnan(sample[name].values), err_msg=name)
    assert int(np.isnan(restored["sea_surface_temperature"].values).sum()) == 490


def test_nan_elsewhere_is_named(stats, inputs):
    t = inputs["temperature"].copy()
    t[0, 0, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match=r"'temperature' \(1 NaN\)"):
        clean_nans(inputs.assign(temperature=t), stats)
    # A variable allowed to hold NaN can be chosen; then SST NaN is the error.
    with pytest.raises(ValueError, match="'sea_surface_temperature'"):
        clean_nans(inputs, stats, variables=())
