"""Writing evaluation scores: NetCDF and a tidy CSV, atomically.

Each file is written under a temporary name in its destination folder and moved into
place with ``os.replace`` only after every file has been written, so a failure leaves
no half-written or mismatched outputs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["scores_to_dataframe", "atomic_outputs", "write_scores"]


def scores_to_dataframe(scores: xr.Dataset) -> pd.DataFrame:
    """Tidy table of an :func:`evaluate` result.

    Returns:
      One row per score, columns ``variable, level, region, lead_time_hours, metric,
      value`` (with several baselines also ``baseline``, after ``lead_time_hours``:
      the baseline of ``baseline_*`` and skill-score rows, empty for the forecast's own
      metrics); ``level`` is empty for surface variables; rank histograms appear as
      metrics ``rank_histogram_<k>`` (count of truth rank k).
    """
    rows = []
    several = "baseline" in scores.dims
    for name, da in scores.data_vars.items():
        if name.endswith("_rank_histogram"):
            variable = name[: -len("_rank_histogram")]
            da = da.rename({"rank": "metric"}).assign_coords(metric=[f"rank_histogram_{k}" for k in da["rank"].values])
        else:
            variable = name
        frame = da.to_dataframe(name="value").reset_index()
        frame.insert(0, "variable", variable)
        if "level" not in frame:
            frame["level"] = np.nan
        frame["lead_time_hours"] = frame.pop("lead_time") / pd.Timedelta(hours=1)
        if several:
            if "baseline" not in frame:
                frame["baseline"] = ""
            # The forecast's own metrics repeat along ``baseline``: one row each.
            own = ~frame["metric"].str.startswith(("baseline_", "brier_skill_score"))
            frame.loc[own, "baseline"] = ""
            frame = frame.drop_duplicates(["level", "region", "lead_time_hours", "metric", "baseline"])
        rows.append(frame[["variable", "level", "region", "lead_time_hours", *(["baseline"] if several else []),
                           "metric", "value"]])
    table = pd.concat(rows, ignore_index=True)
    table["level"] = table["level"].astype("Int64")
    return table


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_outputs(paths):
    """Yields one temporary path per destination; moves them into place if the block succeeds.

    On any exception the temporaries are removed and no destination is touched.
    """
    temps = []
    try:
        for path in paths:
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
            os.close(handle)
            temps.append(temp)
        yield temps
        # mkstemp makes private (0600) files; give outputs the usual permissions.
        mode = 0o666 & ~_current_umask()
        for temp, path in zip(temps, paths):
            os.chmod(temp, mode)
            os.replace(temp, path)
        temps = []
    finally:
        for temp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temp)


def write_scores(scores: xr.Dataset, netcdf_path: str, csv_path: str | None = None) -> None:
    """Writes ``scores`` to NetCDF (and the tidy table to CSV), atomically."""
    paths = [netcdf_path] + ([csv_path] if csv_path else [])
    with atomic_outputs(paths) as temps:
        scores.to_netcdf(temps[0])
        if csv_path:
            scores_to_dataframe(scores).to_csv(temps[1], index=False)
