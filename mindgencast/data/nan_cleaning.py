"""Filling and restoring the NaNs of sea surface temperature over land.

Reference: DeepMind graphcast ``nan_cleaning.py`` (``NaNCleaner``, as GenCast's demo
builds it: ``var_to_clean='sea_surface_temperature'``, ``fill_value=min_by_level``,
``reintroduce_nans=True`` when sampling); GenCast (Price et al., Nature 2024), Methods.

ERA5 has no sea surface temperature over land. The network sees those cells filled
with the variable's minimum (``min_by_level``, 271.35 K for SST in the fixture), and
the physical prediction is NaN again wherever ANY input frame was NaN. NaN in any
other variable is bad data, reported by name rather than passed to the network.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import xarray as xr

from mindgencast.data.normalization import NormalizationStats

__all__ = ["NAN_VARIABLES", "clean_nans", "nan_mask", "reintroduce_nans"]

NAN_VARIABLES = ("sea_surface_temperature",)  # the only variable ERA5 leaves undefined (over land)


def _check_no_other_nans(ds: xr.Dataset, allowed: tuple[str, ...]) -> None:
    bad = {
        name: int(np.isnan(ds[name].values).sum())
        for name in ds.data_vars
        if name not in allowed and np.issubdtype(ds[name].dtype, np.floating)
    }
    bad = {name: count for name, count in bad.items() if count}
    if bad:
        listed = ", ".join(f"{name!r} ({count} NaN)" for name, count in bad.items())
        raise ValueError(
            f"NaN in {listed}; only {', '.join(allowed) or 'no variable'} may contain NaN "
            "(sea surface temperature over land). Fill or drop the affected times before use"
        )


def clean_nans(
    ds: xr.Dataset, stats: NormalizationStats, variables: Iterable[str] = NAN_VARIABLES
) -> xr.Dataset:
    """Fills the NaNs of ``variables`` with their ``min_by_level`` (GenCast's NaNCleaner).

    Args:
      ds: inputs, targets or forcings in physical units, any dims; variables of
        ``variables`` that ``ds`` lacks are ignored.
      stats: gives the fill value ``min_by_level`` (per level if the variable has levels).
      variables: the variables whose NaNs are expected and filled.

    Returns:
      A copy of ``ds`` with no NaN in ``variables``; same dims and dtypes.

    Raises:
      ValueError: another variable contains NaN (names each one and its NaN count).
    """
    variables = tuple(variables)
    _check_no_other_nans(ds, variables)
    fills = {
        name: ds[name].fillna(stats.statistic("min_by_level", ds[name]))
        for name in variables
        if name in ds.data_vars
    }
    return ds.assign(fills)


def nan_mask(inputs: xr.Dataset, variable: str) -> xr.DataArray:
    """Where ``inputs[variable]`` is NaN in ANY input frame.

    Args:
      inputs: ``[batch,] time, [level,] lat, lon`` physical inputs, before cleaning.
      variable: e.g. ``"sea_surface_temperature"``.

    Returns:
      Boolean DataArray, the variable's dims without ``time``.
    """
    x = inputs[variable]
    isnan = xr.apply_ufunc(np.isnan, x)
    return isnan.any(dim="time") if "time" in x.dims else isnan


def reintroduce_nans(
    predictions: xr.Dataset, inputs: xr.Dataset, variables: Iterable[str] = NAN_VARIABLES
) -> xr.Dataset:
    """Sets ``predictions[v]`` to NaN wherever ``inputs[v]`` had NaN in any frame.

    Args:
      predictions: physical predictions ``[batch,] time, [level,] lat, lon``.
      inputs: the ORIGINAL inputs (before :func:`clean_nans`).
      variables: variables to treat; those missing from predictions or inputs are skipped.

    Returns:
      A copy of ``predictions`` with NaN restored; same dims and dtypes.
    """
    restored = {
        name: predictions[name].where(~nan_mask(inputs, name))
        for name in variables
        if name in predictions.data_vars and name in inputs.data_vars
    }
    return predictions.assign(restored)
