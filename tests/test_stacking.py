"""Per-example stacking: the reference's channel order and node index, exact round trip."""

import numpy as np
import pytest
import xarray as xr
from conftest import load_nc

from mindgencast.data.stacking import stack_dataset, stacked_channels, unstack_to_dataset
from mindgencast.grid_stacking import stack_to_nodes


@pytest.fixture(scope="module")
def inputs(fixture_dir):
    return load_nc(fixture_dir / "inputs.nc")


def test_layout_by_hand():
    # Two variables given in unsorted order; "b" has (time=2, level=3) -> 6 channels, time-major.
    a = xr.DataArray(np.arange(6, dtype=np.float32).reshape(2, 3), dims=("lat", "lon"))
    b = xr.DataArray(np.arange(2 * 3 * 2 * 3, dtype=np.float32).reshape(2, 3, 2, 3),
                     dims=("time", "level", "lat", "lon"))
    year = xr.DataArray(np.array([10.0, 20.0], np.float32), dims=("time",))
    stacked = stack_dataset(xr.Dataset({"b": b, "year": year, "a": a}))
    assert stacked.shape == (6, 1 + 6 + 2)
    lat, lon = 1, 2
    node = lat * 3 + lon
    assert stacked[node, 0] == a.values[lat, lon]
    np.testing.assert_array_equal(stacked[node, 1:7], b.values[:, :, lat, lon].ravel())  # (t0,l0), (t0,l1), ...
    np.testing.assert_array_equal(stacked[:, 7:], np.tile([10.0, 20.0], (6, 1)))  # broadcast over the grid


def test_matches_model_stacking_on_fixture(inputs):
    batched = stack_to_nodes(inputs, 2, 19, 36)
    for b in range(2):
        np.testing.assert_array_equal(stack_dataset(inputs.isel(batch=b)), batched[:, b], strict=True)


def test_round_trip_exact(inputs, fixture_dir):
    for ds in (inputs.isel(batch=1), load_nc(fixture_dir / "forcings.nc").isel(batch=0)):
        stacked = stack_dataset(ds, 19, 36)
        assert stacked.shape == (19 * 36, stacked_channels(ds))
        back = unstack_to_dataset(stacked, ds, 19, 36)
        assert list(back.data_vars) == list(ds.data_vars)
        for name in ds.data_vars:
            assert back[name].dims == ds[name].dims
            np.testing.assert_array_equal(back[name].values, ds[name].values, err_msg=name)


def test_shape_errors(inputs):
    one = inputs.isel(batch=0)
    with pytest.raises(ValueError, match="batch"):
        stack_dataset(inputs)
    with pytest.raises(ValueError, match="channels"):
        unstack_to_dataset(np.zeros((684, 3), np.float32), one)
    with pytest.raises(ValueError, match="num_lat"):
        stack_dataset(one[["year_progress_sin"]])
