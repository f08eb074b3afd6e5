"""Unit-variance white noise that is isotropic on the sphere (GenCast's diffusion noise).

GenCast (Price et al. 2024, Methods "Diffusion model"; reference
``samplers_utils.spherical_white_noise_like`` and ``samplers_utils.sample``) does not add
i.i.d. noise per grid point, whose statistics would depend on the lat-lon grid, but draws
N(0, 1) real spherical-harmonic coefficients a_lm with a flat angular power spectrum
over total wavenumbers l = 0..L-1, L = nlon / 2, and synthesises them on the grid:

    f(theta, phi) = sum_{l < L} sum_{|m| <= l} sqrt(4 pi / (L (2 l + 1))) a_lm Y_lm(theta, phi)

with orthonormal real harmonics Y_lm. By the addition theorem,
sum_m Y_lm^2 = (2 l + 1) / (4 pi) at every point, so Var f = sum_l 1 / L = 1 everywhere,
and the covariance between two points depends only on their angular distance gamma:
Cov = (1 / L) sum_{l < L} P_l(cos gamma) (P_l: Legendre polynomials).

The transform is ducc0's spherical-harmonic synthesis (``ducc0.sht.synthesis_2d``).
Grids follow the reference's rules: equally spaced latitudes either including both poles
("CC" geometry, nlon = 2 (nlat - 1), e.g. 19 x 36 at 10 degrees, 721 x 1440 at 0.25 degree)
or offset half a step from them ("F1", nlon = 2 nlat); equally spaced longitudes around
the full circle. Latitudes may be ascending (GenCast) or descending.
"""

from __future__ import annotations

import dataclasses

import ducc0
import numpy as np
import xarray as xr

__all__ = ["spherical_white_noise", "spherical_white_noise_like"]

_ANGLE_ATOL_DEGREES = 1e-4


@dataclasses.dataclass(frozen=True)
class _Geometry:
    """How a lat-lon grid maps onto a ducc0 ring geometry."""

    name: str  # ducc0 geometry: "CC" (poles included) or "F1" (half a step from the poles)
    num_lat: int
    num_lon: int
    lat_ascending: bool  # ducc0's rings run north to south
    phi0: float  # longitude of the first column, radians
    num_wavenumbers: int  # L: total wavenumbers l = 0..L-1


def _geometry(lat: np.ndarray, lon: np.ndarray) -> _Geometry:
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat.ndim != 1 or lon.ndim != 1 or lat.size < 2 or lon.size < 2:
        raise ValueError(f"lat and lon must be 1-d with >= 2 values, got shapes {lat.shape} and {lon.shape}")
    lat_step = np.diff(lat)
    if not np.allclose(lat_step, lat_step[0], rtol=0, atol=_ANGLE_ATOL_DEGREES) or lat_step[0] == 0:
        raise ValueError("spherical noise needs equally spaced, strictly monotonic latitudes (an equiangular grid)")
    step = abs(lat_step[0])
    south, north = lat.min(), lat.max()
    if np.isclose(north, 90, atol=_ANGLE_ATOL_DEGREES) and np.isclose(south, -90, atol=_ANGLE_ATOL_DEGREES):
        name, expected_num_lon = "CC", 2 * (lat.size - 1)
    elif np.isclose(north, 90 - step / 2, atol=_ANGLE_ATOL_DEGREES) and np.isclose(
        south, -90 + step / 2, atol=_ANGLE_ATOL_DEGREES
    ):
        name, expected_num_lon = "F1", 2 * lat.size
    else:
        raise ValueError(
            f"latitudes {south}..{north} do not cover the globe: spherical noise needs a global grid "
            "from pole to pole (poles included, or offset by half a grid step)"
        )
    if lon.size != expected_num_lon:
        raise ValueError(
            f"unexpected number of longitudes for {lat.size} latitudes: expected {expected_num_lon}, "
            f"got {lon.size} (the grid must have the same spacing in lat and lon, as in GenCast)"
        )
    if not np.allclose(np.diff(lon), 360.0 / lon.size, rtol=0, atol=_ANGLE_ATOL_DEGREES):
        raise ValueError(
            f"longitudes must be ascending and equally spaced by 360/{lon.size} degrees around the full circle"
        )
    return _Geometry(
        name=name,
        num_lat=lat.size,
        num_lon=lon.size,
        lat_ascending=bool(lat_step[0] > 0),
        phi0=float(np.deg2rad(lon[0])),
        num_wavenumbers=lon.size // 2,
    )


def _coefficient_scales(num_wavenumbers: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient std sqrt(4 pi / (L (2l + 1))) and an m == 0 mask, in ducc0's alm order.

    ducc0 stores complex a_lm for m >= 0, m-major (m = 0: l = 0..lmax; m = 1: l = 1..lmax; ...).
    """
    lmax = num_wavenumbers - 1
    l_index = np.concatenate([np.arange(m, lmax + 1) for m in range(lmax + 1)])
    m_index = np.concatenate([np.full(lmax + 1 - m, m) for m in range(lmax + 1)])
    scales = np.sqrt(4 * np.pi / (num_wavenumbers * (2 * l_index + 1)))
    return scales, m_index == 0


def spherical_white_noise(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, num_fields: int) -> np.ndarray:
    """Independent isotropic unit-variance noise fields on a global lat-lon grid.

    Args:
      rng: numpy Generator; consumed in field order, so a seed fixes every field.
      lat: latitudes in degrees [nlat], equally spaced, pole to pole (see module docstring).
      lon: longitudes in degrees [nlon], equally spaced around the circle.
      num_fields: number of independent fields.

    Returns:
      float32 [num_fields, nlat, nlon], rows in the order of ``lat``.
    """
    geometry = _geometry(lat, lon)
    scales, is_m0 = _coefficient_scales(geometry.num_wavenumbers)
    lmax = geometry.num_wavenumbers - 1
    fields = np.empty((num_fields, geometry.num_lat, geometry.num_lon), dtype=np.float32)
    for k in range(num_fields):
        real, imag = rng.standard_normal((2, scales.size))
        # A real field needs a_l0 real; for m > 0 ducc0 synthesises 2 Re(a_lm Y_lm), so
        # Re and Im each get variance 1/2 to give every real harmonic unit variance.
        alm = np.where(is_m0, real, (real + 1j * imag) / np.sqrt(2.0)) * scales
        field = ducc0.sht.synthesis_2d(
            alm=alm[np.newaxis],
            spin=0,
            lmax=lmax,
            mmax=lmax,
            geometry=geometry.name,
            ntheta=geometry.num_lat,
            nphi=geometry.num_lon,
            phi0=geometry.phi0,
        )[0]
        fields[k] = field[::-1] if geometry.lat_ascending else field
    return fields


def spherical_white_noise_like(template: xr.Dataset, rng: np.random.Generator) -> xr.Dataset:
    """Isotropic unit-variance noise with the structure of ``template``.

    Every variable and every index of its non-(lat, lon) dims gets an independent field;
    variables are drawn in sorted name order (as the reference does under jit), each
    variable's fields in C order of its other dims.

    Args:
      template: Dataset whose variables all have 'lat' and 'lon' dims (degrees coords),
        e.g. targets [batch, time, (level,) lat, lon].
      rng: numpy Generator.

    Returns:
      Dataset with the same variables, dims, coords and (floating) dtypes as template.
    """
    if "lat" not in template.coords or "lon" not in template.coords:
        raise ValueError("template needs 'lat' and 'lon' coordinates (degrees) to draw spherical noise")
    lat, lon = template["lat"].values, template["lon"].values
    _geometry(lat, lon)  # fail on a bad grid before drawing anything
    noise = {}
    for name in sorted(template.data_vars):
        variable = template[name]
        if "lat" not in variable.dims or "lon" not in variable.dims:
            raise ValueError(f"variable {name!r} has dims {variable.dims}; spherical noise needs 'lat' and 'lon'")
        other_dims = [d for d in variable.dims if d not in ("lat", "lon")]
        other_shape = [variable.sizes[d] for d in other_dims]
        fields = spherical_white_noise(rng, lat, lon, int(np.prod(other_shape, dtype=np.int64)))
        dtype = variable.dtype if np.issubdtype(variable.dtype, np.floating) else np.float32
        drawn = xr.DataArray(fields.reshape(other_shape + [lat.size, lon.size]), dims=other_dims + ["lat", "lon"])
        noise[name] = variable.copy(data=drawn.transpose(*variable.dims).values.astype(dtype, copy=False))
    return xr.Dataset({name: noise[name] for name in template.data_vars}, attrs=template.attrs)
