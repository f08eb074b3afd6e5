"""Normalisation statistics and GenCast's input / target-residual normalisation.

Reference: DeepMind graphcast ``normalization.py`` (``normalize``, ``unnormalize``,
``InputsAndResiduals``); GenCast (Price et al., Nature 2024), Methods "Training
objective" (the model predicts the 12 h residual scaled by the standard deviation of
12 h differences).

With ``mu`` = mean_by_level, ``s`` = stddev_by_level, ``s_d`` = diffs_stddev_by_level
(all per variable, per pressure level) and ``x_in[-1]`` the last input frame::

    inputs, forcings:             x_norm = (x - mu) / s
    targets that are inputs:      r_norm = (y - x_in[-1]) / s_d
    targets that are not inputs:  r_norm = (y - mu) / s      (e.g. total_precipitation_12hr)

Statistics are stored on all levels of the data they came from (37 for ERA5) and
the task's levels are picked by coordinate value; a level absent from the statistics
is an error, never a silent drop as xarray's inner join would make it. Unlike the
reference, a variable with no statistic is an error, not a logged warning.
Arithmetic happens in the data's dtype (float32 stays float32), like the reference.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import tempfile

import numpy as np
import xarray as xr

__all__ = [
    "STATISTICS",
    "NormalizationStats",
    "normalize",
    "unnormalize",
    "targets_to_normalized_residuals",
    "normalized_residuals_to_targets",
]

# Field names of NormalizationStats == file stems of the statistics directory.
STATISTICS = ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level", "min_by_level")


@dataclasses.dataclass(frozen=True)
class NormalizationStats:
    """The four per-variable, per-level statistics GenCast normalises with.

    Attributes (each an ``xr.Dataset``, one data variable per physical variable,
    dims ``(level,)`` for atmospheric variables and ``()`` for the others, in the
    variable's physical units):
      mean_by_level: mean ``mu``.
      stddev_by_level: standard deviation ``s``.
      diffs_stddev_by_level: standard deviation ``s_d`` of 12 h differences.
      min_by_level: minimum (the NaN fill value of sea_surface_temperature).
    """

    mean_by_level: xr.Dataset
    stddev_by_level: xr.Dataset
    diffs_stddev_by_level: xr.Dataset
    min_by_level: xr.Dataset

    @classmethod
    def load(cls, directory: str | os.PathLike, required=STATISTICS) -> "NormalizationStats":
        """Reads ``<directory>/{mean_by_level,stddev_by_level,diffs_stddev_by_level,min_by_level}.nc``.

        Args:
          required: the statistics that must exist; an absent other one is an empty
            Dataset (GraphCast needs no min_by_level: it has no NaN-filled variable).

        Raises:
          FileNotFoundError: naming the missing file(s).
        """
        directory = pathlib.Path(directory)
        missing = [f"{n}.nc" for n in required if not (directory / f"{n}.nc").is_file()]
        if missing:
            raise FileNotFoundError(
                f"normalisation statistics directory {directory} lacks {', '.join(missing)}; "
                "compute them with `mindgencast stats --data ERA5 --out DIR`"
            )
        return cls(**{n: xr.load_dataset(directory / f"{n}.nc") if (directory / f"{n}.nc").is_file()
                      else xr.Dataset() for n in STATISTICS})

    def save(self, directory: str | os.PathLike) -> None:
        """Writes the four ``.nc`` files into ``directory`` (created if needed).

        Each file is written under a temporary name and then renamed, so an
        interrupted save never leaves a truncated statistics file.
        """
        directory = pathlib.Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in STATISTICS:
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".nc.tmp", dir=directory)
            os.close(fd)
            try:
                getattr(self, name).to_netcdf(tmp)
                os.replace(tmp, directory / f"{name}.nc")
            except BaseException:
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise

    def statistic(self, which: str, like: xr.DataArray) -> xr.DataArray:
        """Statistic ``which`` of the variable ``like.name``, on ``like``'s levels, in its dtype.

        Args:
          which: one of :data:`STATISTICS`.
          like: a named DataArray; if it has a ``level`` dim the statistic is
            selected at its ``level`` coordinate values.

        Returns:
          ``()`` or ``(level,)`` DataArray that broadcasts against ``like``.

        Raises:
          ValueError: the variable is not in the statistics (names the file), or a
            level of ``like`` is not (names the level).
        """
        table = getattr(self, which)
        name = like.name
        if name is None:
            raise ValueError("cannot look up normalisation statistics of an unnamed DataArray")
        if name not in table.data_vars:
            raise ValueError(
                f"variable {name!r} has no entry in {which}.nc (it holds "
                f"{', '.join(sorted(map(str, table.data_vars)))}); recompute the statistics "
                "with `mindgencast stats` on data that contains it"
            )
        stat = table[name]
        if "level" in stat.dims:
            if "level" not in like.dims:
                raise ValueError(
                    f"{which}[{name!r}] is per level but the data of {name!r} has no 'level' dim {like.dims}"
                )
            stat = _select_levels(stat, like["level"].values, f"{which}[{name!r}]")
        if which in ("stddev_by_level", "diffs_stddev_by_level"):
            # a constant field (e.g. an all-zero geopotential_at_surface) has stddev 0: dividing
            # by 1 instead normalises it to 0 rather than to NaN
            stat = stat.where(stat != 0, 1.0)
        return stat.astype(like.dtype)


def _select_levels(stat: xr.DataArray, levels: np.ndarray, what: str) -> xr.DataArray:
    """``stat`` at the pressure ``levels`` (hPa), or a ValueError naming the absent ones."""
    have = stat["level"].values
    missing = [lv.item() for lv in np.asarray(levels) if not np.any(have == lv)]
    if missing:
        raise ValueError(
            f"{what} has no statistics for pressure level(s) {missing} hPa (it has {have.tolist()}); "
            "use statistics computed on these levels"
        )
    # Keep the data's own level coordinate so that xarray's alignment is exact.
    return stat.sel(level=np.asarray(levels, dtype=have.dtype)).assign_coords(level=levels)


def _map_variables(ds: xr.Dataset, fn) -> xr.Dataset:
    """``ds`` with ``fn(DataArray) -> DataArray`` applied to every data variable (order kept)."""
    return xr.Dataset({name: fn(ds[name]) for name in ds.data_vars}, attrs=ds.attrs)


def normalize(ds: xr.Dataset, stats: NormalizationStats) -> xr.Dataset:
    """``(x - mu) / s`` for every variable of ``ds`` (inputs and forcings).

    Args:
      ds: any variables, any dims (``[batch,] [time,] [level,] [lat,] [lon]``),
        physical units, no NaN expected (clean sea_surface_temperature first).
      stats: statistics covering every variable and level of ``ds``.

    Returns:
      Same structure and dtype as ``ds``, dimensionless.
    """

    def one(x):
        return (x - stats.statistic("mean_by_level", x)) / stats.statistic("stddev_by_level", x)

    return _map_variables(ds, one)


def unnormalize(ds: xr.Dataset, stats: NormalizationStats) -> xr.Dataset:
    """``x_norm * s + mu``: inverse of :func:`normalize` (same structure and dtype)."""

    def one(x):
        return x * stats.statistic("stddev_by_level", x) + stats.statistic("mean_by_level", x)

    return _map_variables(ds, one)


def _last_input_frame(inputs: xr.Dataset, name: str) -> xr.DataArray:
    """``inputs[name]`` at its last time, without a time coordinate."""
    x = inputs[name]
    if "time" not in x.dims:
        raise ValueError(f"input variable {name!r} has no 'time' dim {x.dims}; cannot form the residual")
    return x.isel(time=-1, drop=True)


def _check_single_step(targets: xr.Dataset) -> None:
    for name in targets.data_vars:
        steps = targets[name].sizes.get("time", 1)
        if steps != 1:
            raise ValueError(
                f"target {name!r} has {steps} times; residual normalisation is defined for one 12 h "
                "step (select one target time, e.g. targets.isel(time=[0]))"
            )


def targets_to_normalized_residuals(
    targets: xr.Dataset, inputs: xr.Dataset, stats: NormalizationStats
) -> xr.Dataset:
    """Targets as the normalised residuals GenCast's denoiser is trained on.

    Args:
      targets: ``[batch,] time=1, [level,] lat, lon`` physical values (NaN-free).
      inputs: the input frames ``[batch,] time, ...`` (NaN-free); its last time
        is the frame the residual is taken from.
      stats: normalisation statistics.

    Returns:
      Same structure and dtype as ``targets``: ``(y - x_in[-1]) / s_d`` for
      variables in ``inputs``, ``(y - mu) / s`` for the others.
    """
    _check_single_step(targets)

    def one(y):
        if y.name in inputs.data_vars:
            return (y - _last_input_frame(inputs, y.name)) / stats.statistic("diffs_stddev_by_level", y)
        return (y - stats.statistic("mean_by_level", y)) / stats.statistic("stddev_by_level", y)

    return _map_variables(targets, one)


def normalized_residuals_to_targets(
    residuals: xr.Dataset, inputs: xr.Dataset, stats: NormalizationStats
) -> xr.Dataset:
    """Inverse of :func:`targets_to_normalized_residuals`: physical predictions.

    Args:
      residuals: ``[batch,] time=1, [level,] lat, lon`` normalised residuals
        (e.g. a denoised sample).
      inputs: the NaN-free input frames the residuals were taken from.
      stats: normalisation statistics.

    Returns:
      ``r * s_d + x_in[-1]`` for variables in ``inputs``, ``r * s + mu`` for the
      others; same structure and dtype as ``residuals``.
    """
    _check_single_step(residuals)

    def one(r):
        if r.name in inputs.data_vars:
            return r * stats.statistic("diffs_stddev_by_level", r) + _last_input_frame(inputs, r.name)
        return r * stats.statistic("stddev_by_level", r) + stats.statistic("mean_by_level", r)

    return _map_variables(residuals, one)
