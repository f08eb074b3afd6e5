"""Data as users hold it: WeatherBench2 Zarr stores, CDS GRIB files (cfgrib), and maps with
coastlines when cartopy can draw them; clear messages when an optional package is missing."""

import importlib.util
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.config.builtin import builtin_config
from mindgencast.data.era5_io import open_era5
from mindgencast.data.synthetic import SyntheticWorld

TASK = builtin_config("gencast_tiny").task_config


@pytest.fixture(scope="module")
def wb2_data():
    return SyntheticWorld(TASK, 10.0, seed=3, time_step="12h").generate("2001-01-01", days=2)


def test_weatherbench2_zarr_store_reads_like_the_dataset(tmp_path, wb2_data):
    store = tmp_path / "era5.zarr"
    wb2_data.to_zarr(store, mode="w")
    got = open_era5(store, task_config=TASK)
    want = open_era5(wb2_data, task_config=TASK)
    assert set(got.data_vars) == set(want.data_vars)
    xr.testing.assert_equal(got.load(), want.load())


def test_zarr_without_the_package_says_how_to_install_it(tmp_path, wb2_data, monkeypatch):
    store = tmp_path / "era5.zarr"
    wb2_data[["2m_temperature"]].to_zarr(store, mode="w")
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r"pip install zarr"):
        open_era5(store)


def _cds_temperature(times):
    lat = np.arange(90.0, -90.1, -30.0)  # CDS order: north to south
    lon = np.arange(0.0, 360.0, 60.0)
    values = (
        230.0
        + np.arange(times.size * 2 * lat.size * lon.size, dtype=np.float64).reshape(times.size, 2, lat.size, lon.size)
        % 50
    )
    return xr.Dataset(
        {"t": (("time", "isobaricInhPa", "latitude", "longitude"), values, {"GRIB_shortName": "t", "units": "K"})},
        coords={"time": times, "isobaricInhPa": [850.0, 500.0], "latitude": lat, "longitude": lon},
    )


def test_cds_grib_file_is_read_through_cfgrib(tmp_path):
    if importlib.util.find_spec("cfgrib") is None:  # the message is tested below either way
        pytest.fail("cfgrib is part of the test extra (pip install -e '.[test]')")
    from cfgrib.xarray_to_grib import to_grib

    times = pd.date_range("2020-01-01", periods=2, freq="12h")
    cds = _cds_temperature(times)
    path = tmp_path / "era5_pressure_levels.grib"
    to_grib(cds, str(path), grib_keys={"edition": 1, "centre": "ecmf"})
    ds = open_era5(path)
    assert list(ds.data_vars) == ["temperature"]
    assert ds["lat"].values.tolist() == sorted(cds["latitude"].values.tolist())
    assert sorted(ds["level"].values.tolist()) == [500, 850]
    np.testing.assert_array_equal(ds["time"].values, times.values)
    # GRIB packs values (here 16 bits over a 50 K range): equal to ~1e-3 K.
    want = cds["t"].sel(isobaricInhPa=500.0, latitude=30.0, longitude=120.0).values
    got = ds["temperature"].sel(level=500, lat=30.0, lon=120.0).values
    np.testing.assert_allclose(got, want, atol=2e-3)
    assert not list(tmp_path.glob("*.idx"))  # no index files left next to the data


def test_grib_without_cfgrib_says_how_to_install_it(tmp_path, monkeypatch):
    path = tmp_path / "era5.grib"
    path.write_bytes(b"GRIB")
    monkeypatch.setitem(sys.modules, "cfgrib", None)
    with pytest.raises(ImportError, match=r"mindgencast\[grib\]"):
        open_era5(path)


def test_coastlines_come_from_cartopy_when_it_can_draw_them(monkeypatch):
    from mindgencast.forecast import plots

    plots.coastline_status.cache_clear()
    status = plots.coastline_status()
    if importlib.util.find_spec("cartopy") is None:
        assert "mindgencast[maps]" in status
    else:  # installed: coastlines, or a sentence saying the Natural Earth data are missing
        assert status == "cartopy" or "Natural Earth" in status
    plots.coastline_status.cache_clear()
    monkeypatch.setitem(sys.modules, "cartopy", None)
    assert "pip install 'mindgencast[maps]'" in plots.coastline_status()
    assert not plots._has_cartopy()
    plots.coastline_status.cache_clear()
