"""CF-1.8 NetCDF output of an ensemble forecast, appended step by step.

Layout (CF conventions 1.8, https://cfconventions.org)::

    dimensions: member, lead_time (UNLIMITED), [level,] lat, lon
    <var>(member, lead_time, [level,] lat, lon)   float32, units/long_name/standard_name
    lead_time(lead_time)   hours, standard_name forecast_period
    valid_time(lead_time)  hours since 1970-01-01, standard_name time
    init_time              hours since 1970-01-01, standard_name forecast_reference_time
    <var>_ensemble_mean / <var>_ensemble_spread (lead_time, [level,] lat, lon)  on request
    static fields (e.g. land_sea_mask(lat, lon)) copied from the inputs

The file is written under ``<out>.partial`` and renamed to ``<out>`` only when
every step is complete, so a file under the final name is never half written.
The global attribute ``completed_steps`` records how many lead times hold every
member; a resumed run reopens the partial file and continues after them, reading
the last frames of each member back from it (float32, exactly what was fed back).
"""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
from typing import Mapping, Sequence

import netCDF4
import numpy as np
import xarray as xr

from mindgencast.config.variables import VARIABLES
from mindgencast.version import __version__

__all__ = ["ForecastWriter", "partial_path"]

_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")
_TIME_UNITS = "hours since 1970-01-01 00:00:00"
_HOUR = np.timedelta64(3600, "s")
# Free-text global attributes; every other one (checkpoint, sampler, seed, ...) must agree
# between a partial file and the run resuming it.
_FREE_TEXT = ("title", "history", "institution", "source", "references", "comment")

_COORD_ATTRS = {
    "lat": {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude", "axis": "Y"},
    "lon": {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude", "axis": "X"},
    "level": {"units": "hPa", "standard_name": "air_pressure", "long_name": "pressure level",
              "positive": "down", "axis": "Z"},
    "member": {"standard_name": "realization", "long_name": "ensemble member"},
}


def partial_path(path: str | os.PathLike) -> pathlib.Path:
    """Where an unfinished forecast for ``path`` lives: ``<path>.partial``."""
    path = pathlib.Path(path)
    return path.with_name(path.name + ".partial")


def _hours(delta: np.timedelta64) -> float:
    return float(np.timedelta64(delta, "ns") / _HOUR)


def _hours_since_epoch(time: np.datetime64) -> float:
    return _hours(np.datetime64(time, "ns") - _EPOCH)


class ForecastWriter:
    """Streams an ensemble forecast into a CF NetCDF file.

    Create with :meth:`create` (new forecast) or :meth:`resume` (continue a
    partial one). Then per step: :meth:`write_step` for each member batch,
    :meth:`complete_step` once all members are written; :meth:`finalize` renames
    the file. :meth:`read_step` reads back the frames a later step needs.
    """

    def __init__(self, path: pathlib.Path, dataset: netCDF4.Dataset, variables: Sequence[str],
                 ensemble_stats: bool):
        self.path = path
        self._nc = dataset
        self._variables = tuple(variables)
        self._ensemble_stats = ensemble_stats

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        template: xr.Dataset,
        init_time: np.datetime64,
        time_step: np.timedelta64,
        num_steps: int,
        num_members: int,
        seed: int,
        static: xr.Dataset | None = None,
        ensemble_stats: bool = False,
        attrs: Mapping[str, object] | None = None,
    ) -> "ForecastWriter":
        """Start a new forecast file at ``<path>.partial``.

        Args:
          path: final output path (``.nc``).
          template: one member at one lead time: data variables with dims
            ([level,] lat, lon) and coordinates lat, lon (and level); values unused.
          init_time: datetime64 of lead time 0.
          time_step: timedelta64 between lead times (12 h for GenCast).
          num_steps: planned lead times (recorded; the unlimited dim grows as written).
          num_members: ensemble size.
          seed: the rollout's noise seed (recorded).
          static: optional time-invariant fields with dims (lat, lon) to copy
            (e.g. land_sea_mask, used by the plots as a coastline).
          ensemble_stats: also write ``<var>_ensemble_mean`` and ``<var>_ensemble_spread``.
          attrs: extra global attributes: ``checkpoint``, ``sampler``, ``title``,
            ``institution``, ``source``, ``history`` (strings or numbers).
        """
        final = pathlib.Path(path)
        tmp = partial_path(final)
        nc = netCDF4.Dataset(tmp, "w", format="NETCDF4")
        try:
            _define(nc, template, init_time, time_step, num_steps, num_members, seed, static,
                    ensemble_stats, dict(attrs or {}))
            nc.sync()
        except BaseException:
            nc.close()
            tmp.unlink(missing_ok=True)
            raise
        return cls(final, nc, list(template.data_vars), ensemble_stats)

    @classmethod
    def resume(
        cls,
        path: str | os.PathLike,
        *,
        template: xr.Dataset,
        init_time: np.datetime64,
        time_step: np.timedelta64,
        num_steps: int,
        num_members: int,
        seed: int,
        attrs: Mapping[str, object] | None = None,
    ) -> "ForecastWriter":
        """Reopen ``<path>.partial`` left by an interrupted run, after checking
        that it describes the same forecast (init time, step, seed, members,
        variables, grid, checkpoint and sampler); raises ValueError naming the
        first mismatch, FileNotFoundError if there is nothing to resume."""
        final = pathlib.Path(path)
        tmp = partial_path(final)
        if not tmp.exists():
            raise FileNotFoundError(
                f"--resume: no partial forecast {tmp} to continue; run without --resume to start one"
            )
        try:
            nc = netCDF4.Dataset(tmp, "a")
        except OSError as e:
            raise ValueError(f"--resume: {tmp} is unreadable ({e}); delete it and start again") from None
        try:
            expected = _resume_attrs(init_time, time_step, num_members, seed, dict(attrs or {}))
            for key, value in expected.items():
                found = nc.getncattr(key) if key in nc.ncattrs() else None
                if str(found) != str(value):
                    raise ValueError(
                        f"--resume: {tmp} was written with {key}={found!r} but this run has "
                        f"{key}={value!r}; use the same settings or delete the partial file"
                    )
            _check_same_layout(nc, template, tmp)
            if nc.getncattr("completed_steps") > num_steps:
                raise ValueError(
                    f"--resume: {tmp} already holds {nc.getncattr('completed_steps')} steps, "
                    f"more than the {num_steps} requested"
                )
            nc.setncattr("planned_steps", np.int32(num_steps))
            ensemble_stats = f"{next(iter(template.data_vars))}_ensemble_mean" in nc.variables
        except BaseException:
            nc.close()
            raise
        return cls(final, nc, list(template.data_vars), ensemble_stats)

    # -- writing -----------------------------------------------------------------------------

    @property
    def completed_steps(self) -> int:
        """Number of leading lead times that hold every member."""
        return int(self._nc.getncattr("completed_steps"))

    def write_step(self, step: int, members: Sequence[int], prediction: xr.Dataset) -> None:
        """Write lead time ``step`` (0-based; lead = (step + 1) x time_step) of ``members``.

        ``prediction`` holds every output variable with dims (member, [level,] lat, lon)
        in physical units, members in the order of ``members`` (contiguous).
        """
        nc = self._nc
        lo, hi = int(members[0]), int(members[-1]) + 1
        if list(members) != list(range(lo, hi)):
            raise ValueError(f"members must be contiguous, got {list(members)}")
        step_hours = float(nc.getncattr("time_step_hours"))
        nc["lead_time"][step] = (step + 1) * step_hours
        nc["valid_time"][step] = float(nc["init_time"][...]) + (step + 1) * step_hours
        for name in self._variables:
            var = nc[name]
            data = prediction[name].transpose("member", *var.dimensions[2:]).values
            var[lo:hi, step] = data.astype(np.float32)

    def complete_step(self, step: int) -> None:
        """Mark lead time ``step`` as holding all members (and write its ensemble
        statistics); flushed to disk, so a crash after this keeps the step."""
        nc = self._nc
        if self._ensemble_stats:
            for name in self._variables:
                # One level at a time bounds memory to members x lat x lon float64.
                levels = range(nc.dimensions["level"].size) if "level" in nc[name].dimensions else [None]
                for k in levels:
                    index = (slice(None), step) if k is None else (slice(None), step, k)
                    values = np.ma.filled(nc[name][index], np.nan).astype(np.float64)
                    nc[f"{name}_ensemble_mean"][index[1:]] = values.mean(axis=0).astype(np.float32)
                    nc[f"{name}_ensemble_spread"][index[1:]] = values.std(axis=0, ddof=1).astype(np.float32)
        nc.setncattr("completed_steps", np.int32(step + 1))
        nc.sync()

    def read_step(self, step: int, members: Sequence[int], variables: Sequence[str]) -> xr.Dataset:
        """Read lead time ``step`` of ``members`` back: dims (member, [level,] lat, lon), float32."""
        lo, hi = int(members[0]), int(members[-1]) + 1
        out = {}
        for name in variables:
            var = self._nc[name]
            data = np.ma.filled(var[lo:hi, step], np.nan).astype(np.float32)
            out[name] = xr.Variable(("member", *var.dimensions[2:]), data)
        return xr.Dataset(out)

    def finalize(self) -> pathlib.Path:
        """Close and rename ``<path>.partial`` to ``<path>``; returns the final path."""
        planned = int(self._nc.getncattr("planned_steps"))
        if self.completed_steps != planned:
            raise RuntimeError(f"forecast has {self.completed_steps} of {planned} steps; not finalising")
        self._nc.close()
        os.replace(partial_path(self.path), self.path)
        return self.path

    def close(self) -> None:
        """Close without renaming (the partial file stays resumable)."""
        if self._nc.isopen():
            self._nc.close()


def _resume_attrs(init_time, time_step, num_members, seed, attrs) -> dict:
    """The global attributes that identify a forecast (checked on resume)."""
    values = {
        "init_time_iso": str(np.datetime64(init_time, "s")),
        "time_step_hours": _hours(time_step),
        "seed": int(seed),
        "members": int(num_members),
        "checkpoint": str(attrs.get("checkpoint", "")),
        "sampler": str(attrs.get("sampler", "")),
    }
    for key, value in attrs.items():
        if key not in _FREE_TEXT and key not in values and value is not None:
            values[key] = value if isinstance(value, (int, float, np.number)) else str(value)
    return values


def _check_same_layout(nc: netCDF4.Dataset, template: xr.Dataset, tmp) -> None:
    names = [n for n in template.data_vars]
    missing = [n for n in names if n not in nc.variables]
    if missing:
        raise ValueError(f"--resume: {tmp} has no variable(s) {missing}; it belongs to another forecast")
    for coord in ("lat", "lon", "level"):
        if coord in template.coords and (
            coord not in nc.variables
            or not np.array_equal(np.asarray(nc[coord][:]), np.asarray(template[coord].values))
        ):
            raise ValueError(f"--resume: {tmp} has a different {coord} coordinate than the inputs")


def _define(nc, template, init_time, time_step, num_steps, num_members, seed, static,
            ensemble_stats, attrs) -> None:
    """Create dimensions, coordinates, variables and global attributes."""
    nc.createDimension("member", num_members)
    nc.createDimension("lead_time", None)
    spatial = [d for d in ("level", "lat", "lon") if d in template.dims]
    for dim in spatial:
        nc.createDimension(dim, template.sizes[dim])
        values = np.asarray(template[dim].values)
        var = nc.createVariable(dim, "i4" if dim == "level" else "f4", (dim,))
        var[:] = values.astype(np.int32 if dim == "level" else np.float32)
        var.setncatts(_COORD_ATTRS[dim])

    member = nc.createVariable("member", "i4", ("member",))
    member[:] = np.arange(num_members, dtype=np.int32)
    member.setncatts(_COORD_ATTRS["member"])

    lead = nc.createVariable("lead_time", "f8", ("lead_time",))
    lead.setncatts({"units": "hours", "standard_name": "forecast_period", "long_name": "lead time"})
    valid = nc.createVariable("valid_time", "f8", ("lead_time",))
    valid.setncatts({"units": _TIME_UNITS, "calendar": "proleptic_gregorian",
                     "standard_name": "time", "long_name": "valid time", "axis": "T"})
    init = nc.createVariable("init_time", "f8", ())
    init.setncatts({"units": _TIME_UNITS, "calendar": "proleptic_gregorian",
                    "standard_name": "forecast_reference_time", "long_name": "initialisation time"})
    init.assignValue(_hours_since_epoch(init_time))

    for name, data in template.data_vars.items():
        dims = tuple(d for d in data.dims if d in spatial)
        if set(dims) != set(data.dims):
            raise ValueError(f"variable {name!r} has dims {data.dims}; expected a subset of {spatial}")
        dims = tuple(d for d in spatial if d in dims)  # canonical order level, lat, lon
        _create_field(nc, name, ("member", "lead_time", *dims), (1, 1, *[
            1 if d == "level" else nc.dimensions[d].size for d in dims]))
        if ensemble_stats:
            chunks = tuple(1 if d == "level" else nc.dimensions[d].size for d in dims)
            _create_field(nc, f"{name}_ensemble_mean", ("lead_time", *dims), (1, *chunks),
                          cell_methods="member: mean", base=name)
            _create_field(nc, f"{name}_ensemble_spread", ("lead_time", *dims), (1, *chunks),
                          cell_methods="member: standard_deviation", base=name,
                          comment="sample standard deviation over members (ddof=1)")

    for name, data in (static.data_vars.items() if static is not None else ()):
        var = nc.createVariable(name, "f4", ("lat", "lon"), zlib=True, complevel=1)
        var[:] = np.asarray(data.transpose("lat", "lon").values, dtype=np.float32)
        var.setncatts(_variable_attrs(name))

    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    history = f"{now}: {attrs.pop('history', 'mindgencast forecast')}"
    nc.setncatts({
        "Conventions": "CF-1.8",
        "title": attrs.pop("title", "GenCast ensemble forecast"),
        "institution": attrs.pop("institution", "unknown (produced with mindgencast)"),
        "source": attrs.pop("source", "GenCast diffusion model (Price et al., Nature 2024), mindgencast"),
        "history": history,
        "references": "Price et al., Probabilistic weather forecasting with machine learning, Nature 2024",
        "software": f"mindgencast {__version__}",
        "mindgencast_version": __version__,
        **{k: str(v) for k, v in attrs.items() if k in _FREE_TEXT and v is not None},
        **_resume_attrs(init_time, time_step, num_members, seed, attrs),
        "planned_steps": np.int32(num_steps),
        "completed_steps": np.int32(0),
    })


def _create_field(nc, name, dims, chunks, cell_methods=None, base=None, comment=None) -> None:
    var = nc.createVariable(name, "f4", dims, zlib=True, complevel=1, shuffle=True,
                            chunksizes=chunks, fill_value=np.float32(np.nan))
    atts = _variable_attrs(base or name)
    if base is not None:
        kind = "ensemble mean" if name.endswith("mean") else "ensemble spread"
        atts["long_name"] = f"{atts.get('long_name', base)} ({kind})"
        atts.pop("standard_name", None)  # a statistic is not the physical quantity itself
    atts["coordinates"] = "valid_time init_time"
    if cell_methods:
        atts["cell_methods"] = cell_methods
    if comment:
        atts["comment"] = comment
    var.setncatts(atts)


def _variable_attrs(name: str) -> dict:
    info = VARIABLES.get(name)
    if info is None:
        return {"long_name": name}
    atts = {"units": info.units, "long_name": info.long_name}
    if info.standard_name:
        atts["standard_name"] = info.standard_name
    return atts
