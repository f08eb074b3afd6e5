"""GraphCast's forcings at any valid time: TOA incident solar radiation and year/day progress.

GraphCast (Lam et al. 2023) takes ``toa_incident_solar_radiation`` and the clock features as
forcings of each target frame; all are functions of the valid time (and position), so a
forecast computes them instead of reading future data.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr

from mindgencast.data.derived_forcings import DERIVABLE_FROM_TIME, TISR, add_time_derived
from mindgencast.data.solar_radiation import toa_incident_solar_radiation

__all__ = ["TISR", "graphcast_forcings_fn", "add_tisr"]


def graphcast_forcings_fn(lat: np.ndarray):
    """A rollout ``forcings_fn(valid_times, lon, names) -> Dataset`` that also computes TISR.

    Args:
      lat: [num_lat] degrees of the model grid (TISR depends on latitude).

    Returns:
      f(valid_times [time] datetime64, lon [num_lon], names) -> Dataset with the named
      variables: TISR (time, lat, lon) J m-2 float32, clock features (time, [lon]).
    """
    lat = np.asarray(lat)

    def forcings(valid_times: np.ndarray, lon: np.ndarray, names: Sequence[str]) -> xr.Dataset:
        unknown = [n for n in names if n not in DERIVABLE_FROM_TIME]
        if unknown:
            raise ValueError(
                f"cannot compute forcing(s) {unknown} from the valid time; GraphCast's are "
                f"{TISR} and the year/day progress features"
            )
        times = np.asarray(valid_times, dtype="datetime64[ns]")
        clock = xr.Dataset(coords={"time": times, "lat": lat, "lon": lon})
        return add_time_derived(clock, list(names))

    return forcings


def add_tisr(frames: xr.Dataset, valid_times: np.ndarray) -> xr.Dataset:
    """``frames`` (time, ..., lat, lon) with TISR computed at ``valid_times`` [time] if absent."""
    if TISR in frames.data_vars:
        return frames
    values = toa_incident_solar_radiation(
        np.asarray(valid_times, "datetime64[ns]"), frames["lat"].values, frames["lon"].values
    )
    return frames.assign({TISR: (("time", "lat", "lon"), values)})
