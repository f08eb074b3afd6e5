"""Zonal power spectra (mindgencast.metrics.spectra) against analytic fields, and `evaluate --spectra`."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.cli.main import main
from mindgencast.metrics.latitude_weights import latitude_weights
from mindgencast.metrics.spectra import band_power, ensemble_spectra, wavenumber_bands, zonal_power_spectrum

LAT = np.linspace(-85, 85, 18)
LON = np.arange(0, 360, 10.0)


def _field(values, **extra_dims):
    dims = [*extra_dims, "lat", "lon"]
    return xr.DataArray(values, dims=dims, coords={"lat": LAT, "lon": LON, **extra_dims})


@pytest.mark.parametrize("k0", [0, 1, 7, 17, 18])
def test_cosine_puts_all_power_at_its_wavenumber(k0):
    amplitude = 3.0
    phase = np.deg2rad(LON) * k0 + 0.4 * (k0 not in (0, 18))  # k = 0 and Nyquist: only phase 0 is a pure wave
    values = np.broadcast_to(amplitude * np.cos(phase), (LAT.size, LON.size))
    power = zonal_power_spectrum(_field(values))
    expected = np.zeros(LON.size // 2 + 1)
    expected[k0] = amplitude**2 * (1.0 if k0 in (0, 18) else 0.5)  # the mean square of the wave
    for band in power["lat_band"].values:
        np.testing.assert_allclose(power.sel(lat_band=band).values, expected, atol=1e-12)


def test_parseval_and_area_weighting():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, LAT.size, LON.size)) * np.linspace(1, 3, LAT.size)[:, None]
    field = _field(values, time=[0, 1])
    bands = {"all": (0.0, 90.0), "mid": (30.0, 60.0)}
    power = zonal_power_spectrum(field, bands)
    assert power.dims == ("time", "lat_band", "wavenumber")
    weights = latitude_weights(LAT)
    for name, (low, high) in bands.items():
        rows = (np.abs(LAT) >= low) & (np.abs(LAT) <= high)
        w = weights.values * rows
        mean_square = ((values**2).mean(-1) * w).sum(-1) / w.sum()  # area-weighted mean of x^2
        np.testing.assert_allclose(power.sel(lat_band=name).sum("wavenumber").values, mean_square, rtol=1e-12)
    # octave bands partition wavenumbers 1..18 and their powers add up
    assert wavenumber_bands(18) == [(1, 1), (2, 3), (4, 7), (8, 15), (16, 18)]
    summed = band_power(power).sum("wavenumber_band") + power.sel(wavenumber=0)
    np.testing.assert_allclose(summed.values, power.sum("wavenumber").values, rtol=1e-12)


def test_empty_band_is_named():
    with pytest.raises(ValueError, match="'polar'.*widen"):
        zonal_power_spectrum(_field(np.zeros((LAT.size, LON.size))), {"polar": (88.0, 90.0)})


def _files(folder, noise_scale):
    rng = np.random.default_rng(1)
    times = pd.date_range("2020-01-01", periods=8, freq="12h")
    truth = xr.Dataset(
        {
            "2m_temperature": (
                ("time", "lat", "lon"),
                280 + 5 * np.cos(np.deg2rad(LON)[None, None] * 3 + rng.uniform(0, 6, size=(times.size, LAT.size, 1))),
            )
        },
        coords={"time": times, "lat": LAT, "lon": LON},
    )
    truth.to_netcdf(folder / "truth.nc")
    paths = []
    for i, init in enumerate(times[:2]):
        leads = pd.to_timedelta([12, 24], "h")
        at = truth["2m_temperature"].sel(time=init + leads).values
        members = at[None] + noise_scale * rng.normal(size=(4, *at.shape))
        fc = xr.Dataset(
            {"2m_temperature": (("member", "lead_time", "lat", "lon"), members)},
            coords={
                "member": np.arange(4),
                "lead_time": leads,
                "lat": LAT,
                "lon": LON,
                "init_time": init.to_datetime64(),
                "valid_time": ("lead_time", (init + leads).values),
            },
        )
        paths.append(folder / f"fc{i}.nc")
        fc.to_netcdf(paths[-1])
    return truth, paths


def test_members_equal_to_truth_have_its_spectrum_and_noise_adds_flat_power(tmp_path):
    truth, paths = _files(tmp_path, noise_scale=0.0)
    forecasts = [xr.load_dataset(p, decode_timedelta=True) for p in paths]
    spectra = ensemble_spectra(forecasts, truth)
    da = spectra["2m_temperature"]
    assert da.dims == ("source", "lead_time", "lat_band", "wavenumber")
    np.testing.assert_allclose(da.sel(source="members").values, da.sel(source="truth").values, rtol=1e-12)
    # White noise of variance s^2 adds 2 s^2 / N at each 0 < k < N / 2 (s^2 / N at 0 and N / 2); the
    # truth only has power at k = 0 and 3, so elsewhere the members' excess is the noise alone.
    noisy = [
        f.assign(
            **{
                "2m_temperature": f["2m_temperature"]
                + 0.5 * np.random.default_rng(i).normal(size=f["2m_temperature"].shape)
            }
        )
        for i, f in enumerate(forecasts)
    ]
    excess = ensemble_spectra(noisy, truth)["2m_temperature"].sel(source="members") - da.sel(source="truth")
    quiet = [k for k in range(19) if k not in (0, 3)]
    np.testing.assert_allclose(excess.sel(wavenumber=quiet).sum("wavenumber").values, 0.25 * 33 / 36, rtol=0.1)


def test_evaluate_writes_spectra_and_plot(tmp_path):
    _, paths = _files(tmp_path, noise_scale=0.5)
    out, plots, spectra_path = tmp_path / "s.nc", tmp_path / "plots", tmp_path / "spectra.nc"
    argv = [
        "evaluate",
        "--forecast",
        *map(str, paths),
        "--truth",
        str(tmp_path / "truth.nc"),
        "--out",
        str(out),
        "--regions",
        "global",
        "--plots",
        str(plots),
        "--spectra",
        str(spectra_path),
    ]
    assert main(argv) == 0
    written = xr.load_dataset(spectra_path, decode_timedelta=True)
    expected = ensemble_spectra(
        [xr.load_dataset(p, decode_timedelta=True) for p in paths], xr.load_dataset(tmp_path / "truth.nc")
    )
    np.testing.assert_allclose(written["2m_temperature"].values, expected["2m_temperature"].values, rtol=1e-12)
    assert written.attrs["num_init_times"] == 2
    assert (plots / "spectra.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
