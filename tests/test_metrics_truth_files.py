"""open_series: several files as one lazy series, read one block per on-disk chunk."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.metrics.truth_files import open_series, read_plan


def _series(num_times=40):
    rng = np.random.default_rng(0)
    times = pd.date_range("2000-01-01", periods=num_times, freq="6h")
    return xr.Dataset(
        {"z": (("time", "level", "lat", "lon"), rng.random((num_times, 2, 3, 4)).astype(np.float32)),
         "t2m": (("time", "lat", "lon"), rng.random((num_times, 3, 4))),
         "land_sea_mask": (("lat", "lon"), np.ones((3, 4)))},
        coords={"time": times, "level": [500, 850], "lat": [-10.0, 0.0, 10.0], "lon": [0.0, 90.0, 180.0, 270.0]},
    )


def test_read_plan_touches_each_chunk_once():
    # File 0: times 0..999 in chunks of 910; file 1: times 1000..1999, contiguous.
    starts = np.array([0, 1000, 2000])
    wanted = np.array([3, 5, 900, 911, 1500, 1501, 1503])
    assert read_plan(wanted, starts, [910, 1]) == [(0, 3, 901), (0, 911, 912), (1, 500, 502), (1, 503, 504)]


def test_files_in_any_order_read_like_one_dataset(tmp_path):
    full = _series()
    full.isel(time=slice(20, None)).to_netcdf(tmp_path / "b.nc",
                                              encoding={"z": {"zlib": True, "chunksizes": (7, 1, 3, 4)}})
    full.isel(time=slice(0, 20)).to_netcdf(tmp_path / "a.nc")
    series = open_series([tmp_path / "b.nc", tmp_path / "a.nc"])
    assert series.attrs["source_files"] == "a.nc, b.nc"
    np.testing.assert_array_equal(series["time"].values, full["time"].values)
    picks = [3, 25, 2, 39, 25, 21]  # unsorted, repeated, across files and chunks
    for v in ("z", "t2m"):
        np.testing.assert_array_equal(series[v].isel(time=picks).values, full[v].isel(time=picks).values)
        np.testing.assert_array_equal(series[v].isel(time=5).values, full[v].isel(time=5).values)
    np.testing.assert_array_equal(series["z"].isel(time=picks, level=1, lat=[2, 0]).values,
                                  full["z"].isel(time=picks, level=1, lat=[2, 0]).values)
    grid = xr.DataArray([[1, 30], [22, 4]], dims=["a", "b"])
    np.testing.assert_array_equal(series["z"].isel(time=grid).values, full["z"].isel(time=grid).values)
    np.testing.assert_array_equal(series["land_sea_mask"].values, full["land_sea_mask"].values)


def test_overlapping_or_mismatched_files_are_refused(tmp_path):
    full = _series()
    full.isel(time=slice(0, 25)).to_netcdf(tmp_path / "a.nc")
    full.isel(time=slice(20, None)).to_netcdf(tmp_path / "b.nc")
    with pytest.raises(ValueError, match="repeat or interleave times"):
        open_series([tmp_path / "a.nc", tmp_path / "b.nc"])
    full.isel(time=slice(25, None)).drop_vars("t2m").to_netcdf(tmp_path / "c.nc")
    with pytest.raises(ValueError, match="c.nc lacks variables t2m"):
        open_series([tmp_path / "a.nc", tmp_path / "c.nc"])
    with pytest.raises(FileNotFoundError, match="truth file not found"):
        open_series([tmp_path / "missing.nc"])
