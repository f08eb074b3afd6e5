"""Area weights of a latitude/longitude grid and the area-weighted mean.

A grid cell centred on latitude ``phi`` spans ``[phi_lo, phi_hi]`` with bounds half-way
to its neighbours; its area on the unit sphere is proportional to
``sin(phi_hi) - sin(phi_lo)``. A point exactly on a pole owns a half cell
(``[90 - d/2, 90]``), whose weight is ``1 - cos(d/2) = 2 sin^2(d/4)``. This is the
weighting of WeatherBench2 (Rasp et al., 2024, Sec. 4) and of GenCast's loss
(Price et al., 2024, Supplement A.3; graphcast ``losses.normalized_latitude_weights``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["latitude_weights", "cell_weights", "area_mean"]

LAT_DIM = "lat"
LON_DIM = "lon"


def latitude_weights(lat) -> xr.DataArray:
    """Cell-area weights of a latitude axis, normalised to mean 1.

    Args:
      lat: ``[num_lat]`` cell-centre latitudes in degrees, strictly monotonic, within
        [-90, 90] (a DataArray or anything array-like). Spacing may be irregular: each
        cell extends half-way to its neighbours and the outermost cells end at
        ``lat[0] - d0/2`` / ``lat[-1] + d1/2``, clipped to the poles.

    Returns:
      ``[num_lat]`` DataArray over dim ``lat`` (with ``lat`` as coordinate), dimensionless,
      ``mean == 1``, symmetric for a grid symmetric about the equator.
    """
    values = np.asarray(lat, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"latitude must be a non-empty 1-D array, got shape {values.shape}")
    if np.any(np.abs(values) > 90.0):
        raise ValueError(f"latitudes must lie in [-90, 90] degrees, got range [{values.min()}, {values.max()}]")
    if values.size == 1:
        weights = np.ones(1)
    else:
        step = np.diff(values)
        if not (np.all(step > 0) or np.all(step < 0)):
            raise ValueError("latitudes must be strictly increasing or strictly decreasing")
        order = np.argsort(values)
        ascending = values[order]
        mid = 0.5 * (ascending[1:] + ascending[:-1])
        lower = np.concatenate([[ascending[0] - (mid[0] - ascending[0])], mid])
        upper = np.concatenate([mid, [ascending[-1] + (ascending[-1] - mid[-1])]])
        # A pole point's cell stops at the pole: a half cell.
        lower, upper = np.clip(lower, -90.0, 90.0), np.clip(upper, -90.0, 90.0)
        weights = np.empty_like(values)
        weights[order] = np.sin(np.deg2rad(upper)) - np.sin(np.deg2rad(lower))
    weights = weights / weights.mean()
    return xr.DataArray(weights, dims=[LAT_DIM], coords={LAT_DIM: values}, name="latitude_weights")


def cell_weights(x: xr.DataArray, mask: xr.DataArray | None = None, area: bool = True) -> xr.DataArray:
    """Weights of the ``[lat, lon]`` grid of ``x``: area (mean 1) or 1 per point, times a mask.

    Args:
      x: DataArray with dims ``lat`` and ``lon``; its coordinates label the result.
      mask: optional region mask with dims ``lat`` (and ``lon``) of the same sizes as
        ``x``, 1/True inside; extra dims (e.g. ``region``) carry through. Matched by
        position, not coordinate value, so -180..180 and 0..360 longitudes agree.
      area: cell-area weights (True) or one per grid point (False).

    Returns:
      ``[lat, lon]`` (plus the mask's extra dims) float64 weights.
    """
    missing = [d for d in (LAT_DIM, LON_DIM) if d not in x.dims]
    if missing:
        raise ValueError(f"needs dims 'lat' and 'lon'; missing {missing} in dims {x.dims}")
    lat, lon = x[LAT_DIM], x[LON_DIM]
    weights = latitude_weights(lat) if area else xr.ones_like(lat, dtype=np.float64)
    weights = weights.assign_coords({LAT_DIM: lat.values}).broadcast_like(lon).transpose(LAT_DIM, LON_DIM)
    if mask is None:
        return weights
    if LON_DIM not in mask.dims:
        mask = mask.expand_dims({LON_DIM: lon.size})
    if LAT_DIM not in mask.dims or (mask.sizes[LAT_DIM], mask.sizes[LON_DIM]) != (lat.size, lon.size):
        raise ValueError(f"region mask sizes {dict(mask.sizes)} do not match the grid (lat={lat.size}, lon={lon.size})")
    mask = mask.drop_vars([LAT_DIM, LON_DIM], errors="ignore").assign_coords({LAT_DIM: lat.values, LON_DIM: lon.values})
    weights = weights * mask.astype(np.float64)
    empty = weights.sum([LAT_DIM, LON_DIM]) == 0
    if bool(empty.any()):
        labels = [str(v) for v in empty.where(empty, drop=True).coords.get("region", xr.DataArray([])).values]
        named = f" ({', '.join(labels)})" if labels else ""
        span = f"lat {lat.values.min()}..{lat.values.max()}"
        raise ValueError(f"region mask{named} selects no grid points of this grid ({span})")
    return weights


def area_mean(x: xr.DataArray, mask: xr.DataArray | None = None, average_dims=()) -> xr.DataArray:
    """Area-weighted mean of ``x`` over ``lat`` and ``lon`` (and optionally more dims).

    Args:
      x: DataArray with dims ``lat`` and ``lon`` among others.
      mask: optional ``[lat, lon]`` region mask (see :func:`cell_weights`); a mask with
        an extra dim such as ``region`` gives one mean per region.
      average_dims: further dims (e.g. ``("init_time",)``) averaged with equal weight.

    Returns:
      ``x`` without ``lat``, ``lon`` and ``average_dims`` (plus the mask's extra dims);
      same units as ``x``.
    """
    weights = cell_weights(x, mask)
    mean = x.weighted(weights).mean(dim=[LAT_DIM, LON_DIM])
    dims = [d for d in average_dims if d in mean.dims]
    return mean.mean(dim=dims) if dims else mean
