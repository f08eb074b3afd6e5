"""`mindgencast plot`: map and plume PNGs are written and show data; bad names are refused."""

import re

import matplotlib.image
import numpy as np
import pytest
import xarray as xr

from mindgencast.cli.main import main
from mindgencast.forecast import run_forecast
from mindgencast.forecast.baselines import DampedPersistence
from mindgencast.forecast.plots import parse_lead


@pytest.fixture(scope="module")
def forecast_path(fixture_dir, tmp_path_factory):
    inputs = xr.load_dataset(fixture_dir / "inputs.nc", decode_timedelta=True).isel(batch=0)
    targets = xr.load_dataset(fixture_dir / "targets.nc", decode_timedelta=True).isel(batch=0)
    out = tmp_path_factory.mktemp("forecast") / "forecast.nc"
    return run_forecast(DampedPersistence(), inputs, targets, out, num_steps=3, num_members=3,
                        members_per_batch=3, init_time="2019-03-29T12", progress=False)


def _image_stats(path):
    image = matplotlib.image.imread(path)[..., :3]
    colours = np.unique((image.reshape(-1, 3) * 255).round().astype(np.uint8), axis=0)
    return image, len(colours)


def test_maps_and_plume_are_written_and_show_the_data(forecast_path, tmp_path, capsys):
    out = tmp_path / "plots"
    code = main(["plot", str(forecast_path), "--var", "temperature", "--level", "850", "--lead", "24h",
                 "--members", "2", "--point=-33.9,151.2", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out.split()
    maps, plume = out / "temperature_850hPa_lead024h_maps.png", out / "temperature_850hPa_plume_30S_150E.png"
    assert printed == [str(maps), str(plume)] and sorted(out.iterdir()) == sorted([maps, plume])
    image, colours = _image_stats(maps)
    # A coloured field, not a blank canvas: many distinct colours and a spread of intensities.
    assert image.shape[0] > 400 and image.shape[1] > 1000
    assert colours > 200 and image.std() > 0.1
    image, colours = _image_stats(plume)
    assert colours > 20 and (image < 0.5).mean() > 0.005  # dark lines drawn on white


def test_more_members_add_a_row_of_maps(forecast_path, tmp_path):
    sizes = {}
    for members in (0, 3):
        path = tmp_path / str(members)
        main(["plot", str(forecast_path), "--var", "2m_temperature", "--lead", "1d", "--members", str(members),
              "--out", str(path)])
        sizes[members] = _image_stats(path / "2m_temperature_lead024h_maps.png")[0].shape[0]
    assert sizes[3] > sizes[0] * 1.4


@pytest.mark.parametrize("argv, message", [
    (["--var", "2m_temprature", "--lead", "12h"], "no variable '2m_temprature'.*2m_temperature"),
    (["--var", "temperature", "--level", "1000", "--lead", "12h"], r"level 1000 hPa .* \[500, 700, 850\]"),
    (["--var", "temperature", "--lead", "12h"], "pass --level"),
    (["--var", "2m_temperature", "--level", "500", "--lead", "12h"], "surface variable: drop --level"),
    (["--var", "2m_temperature", "--lead", "48h"], "lead time 48h is not in the forecast; it has 12h, 24h, 36h"),
    (["--var", "2m_temperature", "--lead", "soon"], "not understood"),
    (["--var", "2m_temperature"], "nothing to plot"),
    (["--var", "2m_temperature", "--point", "north"], "is not LAT,LON"),
])
def test_bad_names_are_refused_without_output(forecast_path, tmp_path, capsys, argv, message):
    out = tmp_path / "plots"
    assert main(["plot", str(forecast_path), *argv, "--out", str(out)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()


def test_plume_where_the_variable_is_missing_is_refused_before_any_output(forecast_path, tmp_path, capsys):
    with xr.open_dataset(forecast_path, decode_timedelta=True) as ds:
        i, j = np.argwhere(np.isnan(ds["sea_surface_temperature"].values[0, 0]))[0]
        lat, lon = float(ds.lat[i]), float(ds.lon[j])
    out = tmp_path / "plots"
    code = main(["plot", str(forecast_path), "--var", "sea_surface_temperature", "--lead", "12h",
                 f"--point={lat},{lon}", "--out", str(out)])
    assert code == 2 and "missing (NaN)" in capsys.readouterr().err
    assert not out.exists(), "the maps must not be drawn when the plume request is bad"


def test_missing_or_foreign_file_is_named(fixture_dir, tmp_path, capsys):
    assert main(["plot", str(tmp_path / "none.nc"), "--var", "x", "--lead", "12h"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["plot", str(fixture_dir / "targets.nc"), "--var", "x", "--lead", "12h"]) == 2
    assert "not a mindgencast forecast" in capsys.readouterr().err


def test_parse_lead():
    hour = np.timedelta64(1, "h")
    assert [parse_lead(t) / hour for t in ("72h", "3d", "72", " 1.5d ")] == [72, 72, 72, 36]


def _truth_for(forecast_path, fixture_dir, path, offset=3.0):
    """WeatherBench2 truth: the fixture's state at the init time, then member 0 + offset at each valid time."""
    inputs = xr.load_dataset(fixture_dir / "inputs.nc", decode_timedelta=True).isel(batch=0)
    with xr.open_dataset(forecast_path, decode_timedelta=True) as ds:
        init = ds.init_time.values
        later = ds[["2m_temperature", "temperature"]].isel(member=0, drop=True).load() + offset
        later = later.swap_dims(lead_time="valid_time").drop_vars(["lead_time", "init_time"]).rename(valid_time="time")
    first = inputs[["2m_temperature", "temperature"]].isel(time=-1, drop=True).expand_dims(time=[init])
    first = first.drop_vars([c for c in first.coords if c not in ("time", "level", "lat", "lon")])
    truth = xr.concat([first.transpose(*later["temperature"].dims), later], dim="time")
    truth.to_netcdf(path)
    return truth


def test_truth_beside_the_forecast(forecast_path, fixture_dir, tmp_path, capsys):
    truth = _truth_for(forecast_path, fixture_dir, tmp_path / "truth.nc")
    sizes, red = {}, {}
    for name, extra in (("plain", []), ("truth", ["--truth", str(tmp_path / "truth.nc")])):
        out = tmp_path / name
        assert main(["plot", str(forecast_path), "--var", "temperature", "--level", "850", "--lead", "24h",
                     "--members", "2", "--point=48.8,2.3", "--out", str(out), *extra]) == 0
        sizes[name] = _image_stats(out / "temperature_850hPa_lead024h_maps.png")[0].shape[0]
        plume = matplotlib.image.imread(out / "temperature_850hPa_plume_50N_0.png")[..., :3]
        red[name] = (np.abs(plume - np.array([214, 39, 40]) / 255).max(-1) < 0.08).mean()  # tab:red truth line
    # Truth + difference maps: a second map row on top and a row of member - truth maps.
    assert sizes["truth"] > 1.6 * sizes["plain"]
    assert red["plain"] == 0 and red["truth"] > 0.002
    # Missing valid times are named before anything is drawn.
    short = tmp_path / "short.nc"
    truth.isel(time=[0, 1]).to_netcdf(short)
    out = tmp_path / "refused"
    assert main(["plot", str(forecast_path), "--var", "2m_temperature", "--lead", "36h", "--point=48.8,2.3",
                 "--truth", str(short), "--out", str(out)]) == 2
    assert "no data at 2019-03-31 00:00 UTC" in capsys.readouterr().err and not out.exists()


def test_truth_mean_and_members_share_one_colour_scale():
    from mindgencast.forecast.plots import _map_scales

    rng = np.random.default_rng(0)
    members = 280 + rng.normal(size=(2, 4, 8))
    mean = members.mean(0)
    observed = mean + 30.0  # far warmer than every member: the shared scale must reach it
    (_, vmin, vmax), limit = _map_scales("2m_temperature", members, mean, observed)
    assert vmin <= np.percentile(members, 5) and vmax >= np.percentile(observed, 95)
    # One symmetric difference scale covering mean - truth and member - truth.
    assert limit >= np.percentile(np.abs(members - observed), 99) and limit >= 29
    (_, vmin0, vmax0), none = _map_scales("2m_temperature", members, mean, None)
    assert none is None and vmax0 < np.min(observed)
