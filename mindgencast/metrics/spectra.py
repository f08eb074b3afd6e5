"""Zonal wavenumber power spectra of ensemble members and of the truth.

GenCast (Price et al., 2024, Supplement A.5 / Fig. on spectra) compares the power of the
members' fields with the truth's per spatial scale: a sampler or an undertrained denoiser
that leaves noise in the members shows up as excess power at high wavenumbers (grid-scale
noise), an over-smoothing model as a deficit. Here the spectrum of a ``[..., lat, lon]``
field along each latitude circle is

    X_k = (1 / N) sum_n x_n exp(-2 pi i k n / N),   k = 0 .. N // 2
    P_k = c_k |X_k|^2,   c_k = 2 for 0 < k < N / 2, else 1      (one-sided)

so that sum_k P_k = (1 / N) sum_n x_n^2 (Parseval: the power is the row's mean square, in
units^2) and a pure cosine A cos(k0 lambda) puts A^2 / 2 at k = k0 and nothing elsewhere.
Rows are averaged over a latitude band (both hemispheres) with cell-area weights
(:func:`~mindgencast.metrics.latitude_weights.latitude_weights`), then over members and
initialisations. ``wavenumber_bands`` groups wavenumbers in octaves for ratio tables.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mindgencast.metrics.alignment import (
    ENSEMBLE_DIM,
    INIT_DIM,
    LEAD_DIM,
    forecast_variables,
    select_truth,
    split_init_times,
    standardise,
)
from mindgencast.metrics.latitude_weights import LAT_DIM, LON_DIM, latitude_weights

__all__ = ["LATITUDE_BANDS", "zonal_power_spectrum", "wavenumber_bands", "band_power", "ensemble_spectra"]

WAVENUMBER_DIM = "wavenumber"
BAND_DIM = "lat_band"
SOURCE_DIM = "source"
# |latitude| ranges in degrees (both hemispheres), GenCast-style mid-latitude band included.
LATITUDE_BANDS = {"0-30": (0.0, 30.0), "30-60": (30.0, 60.0), "60-90": (60.0, 90.0)}


def zonal_power_spectrum(field: xr.DataArray, lat_bands: dict | None = None) -> xr.DataArray:
    """One-sided zonal power spectrum, area-weighted over latitude bands.

    Args:
      field: ``[..., lat, lon]`` values (any units); lon must be equally spaced and cover 360 deg.
      lat_bands: name -> (min |lat|, max |lat|) in degrees (inclusive); default
        :data:`LATITUDE_BANDS`. ``None``-valued entries are not allowed; an empty band is an error.

    Returns:
      ``[..., lat_band, wavenumber]`` power in units^2; ``wavenumber`` = 0 .. num_lon // 2.
      Summed over wavenumber it equals the band's area-weighted mean of x^2.
    """
    if LAT_DIM not in field.dims or LON_DIM not in field.dims:
        raise ValueError(f"the field needs dims {LAT_DIM!r} and {LON_DIM!r}, got {field.dims}")
    lat_bands = LATITUDE_BANDS if lat_bands is None else lat_bands
    num_lon = field.sizes[LON_DIM]
    values = field.transpose(..., LAT_DIM, LON_DIM).values.astype(np.float64)
    coefficients = np.fft.rfft(values, axis=-1) / num_lon
    power = np.abs(coefficients) ** 2
    power[..., 1 : (num_lon + 1) // 2] *= 2.0  # the negative wavenumbers' half; not at 0 or Nyquist
    other_dims = [d for d in field.dims if d not in (LAT_DIM, LON_DIM)]
    per_row = xr.DataArray(
        power,
        dims=[*other_dims, LAT_DIM, WAVENUMBER_DIM],
        coords={
            **{d: field[d] for d in other_dims if d in field.coords},
            LAT_DIM: field[LAT_DIM].values,
            WAVENUMBER_DIM: np.arange(power.shape[-1]),
        },
    )
    weights = latitude_weights(field[LAT_DIM].values)
    abs_lat = np.abs(field[LAT_DIM].values)
    bands = []
    for name, (low, high) in lat_bands.items():
        rows = (abs_lat >= low) & (abs_lat <= high)
        if not rows.any():
            raise ValueError(f"latitude band {name!r} ({low}..{high} deg) holds no grid latitude; widen it")
        w = weights.where(xr.DataArray(rows, dims=[LAT_DIM], coords={LAT_DIM: weights[LAT_DIM]}), 0.0)
        bands.append(per_row.weighted(w).mean(LAT_DIM))
    out = xr.concat(bands, dim=BAND_DIM).assign_coords({BAND_DIM: list(lat_bands)})
    return out.transpose(*other_dims, BAND_DIM, WAVENUMBER_DIM)


def wavenumber_bands(max_wavenumber: int) -> list[tuple[int, int]]:
    """Octave bands (1-1, 2-3, 4-7, 8-15, ...) up to ``max_wavenumber`` (the mean, k = 0, is left out)."""
    bands, low = [], 1
    while low <= max_wavenumber:
        bands.append((low, min(2 * low - 1, max_wavenumber)))
        low *= 2
    return bands


def band_power(spectrum: xr.DataArray, bands: list[tuple[int, int]] | None = None) -> xr.DataArray:
    """Power summed over wavenumber bands: ``[..., wavenumber]`` -> ``[..., wavenumber_band]``.

    The band coordinate is labelled ``"lo-hi"``; default bands :func:`wavenumber_bands`.
    """
    top = int(spectrum[WAVENUMBER_DIM].values.max())
    bands = wavenumber_bands(top) if bands is None else bands
    parts = [spectrum.sel({WAVENUMBER_DIM: slice(lo, hi)}).sum(WAVENUMBER_DIM) for lo, hi in bands]
    labels = [f"{lo}-{hi}" for lo, hi in bands]
    return xr.concat(parts, dim="wavenumber_band").assign_coords(wavenumber_band=labels)


def ensemble_spectra(
    forecast, truth: xr.Dataset, variables=None, lat_bands: dict | None = None, regrid_subset: bool = False
) -> xr.Dataset:
    """Zonal spectra of the members and of the truth, averaged over members and init times.

    Args:
      forecast: forecast dataset(s) ``[member, lead_time, [level,] lat, lon]`` with
        ``init_time`` (one or a list, as for :func:`~mindgencast.metrics.evaluate`).
      truth: ``[time, [level,] lat, lon]`` WeatherBench2-layout truth.
      variables: names to analyse (default: every forecast variable).
      lat_bands: see :func:`zonal_power_spectrum`.

    Returns:
      Dataset with one variable per forecast variable, dims
      ``(source, lead_time, [level,] lat_band, wavenumber)``, ``source`` in
      ``("members", "truth")``, units^2; attrs record the number of init times and members.
    """
    forecasts = forecast if isinstance(forecast, (list, tuple)) else [forecast]
    parts = [p for i, ds in enumerate(forecasts) for p in split_init_times(standardise(ds), name=f"forecast #{i + 1}")]
    names = forecast_variables(parts[0]) if variables is None else list(variables)
    out = {}
    for name in names:
        member_sum = truth_sum = None
        for part in parts:
            fields = part[names]
            target = select_truth(fields, truth, regrid_subset)[name]
            members = zonal_power_spectrum(part[name], lat_bands).mean(ENSEMBLE_DIM)
            observed = zonal_power_spectrum(target, lat_bands)
            members = members.drop_vars([INIT_DIM, "valid_time"], errors="ignore")
            observed = observed.drop_vars([INIT_DIM, "valid_time", "time"], errors="ignore")
            member_sum = members if member_sum is None else member_sum + members
            truth_sum = observed if truth_sum is None else truth_sum + observed
        both = xr.concat([member_sum / len(parts), truth_sum / len(parts)], dim=SOURCE_DIM)
        out[name] = both.assign_coords({SOURCE_DIM: ["members", "truth"]}).transpose(SOURCE_DIM, LEAD_DIM, ...)
    members = parts[0].sizes[ENSEMBLE_DIM] if ENSEMBLE_DIM in parts[0].dims else 1
    attrs = {
        "num_init_times": len(parts),
        "num_members": members,
        "description": "one-sided zonal power spectra (units^2), area-weighted over latitude bands, "
        "averaged over members and init times (mindgencast.metrics.spectra)",
    }
    return xr.Dataset(out, attrs=attrs)
