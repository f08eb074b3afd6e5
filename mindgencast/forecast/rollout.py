"""Autoregressive ensemble rollout of a one-step forecaster (GenCast, Price et al. 2024).

GenCast forecasts 15 days by sampling the state 12 h ahead conditioned on the two
latest states, feeding the sample back and repeating (paper, "Autoregressive
rollout"); each ensemble member is an independent chain with its own noise.

The model enters as a *step function* in physical units::

    step_fn(inputs, targets_template, forcings, noise_source) -> prediction

    inputs:           (batch, time=n_in, [level,] lat, lon) state and forcing
                      variables at leads -(n_in-1)*dt .. 0 relative to the
                      current state, plus static (lat, lon) variables
    targets_template: (batch, time=1, [level,] lat, lon), NaN, time = [dt]
    forcings:         (batch, time=1, [lon]) derived forcings at the target time
    noise_source:     noise_source(template, kind, step) -> unit-variance noise
    prediction:       (batch, time=1, [level,] lat, lon) every target variable

``batch`` is a batch of ensemble members. Batch element b of step k draws its
noise from ``noise_source_factory(seed, [(member_b, k), ...])``, keyed by member
and step, so member m's forecast is the same whatever ``members_per_batch``.
Memory stays flat: only the current member batch is in memory; completed steps
go to a writer and the frames the next step needs are read back from it.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np
import xarray as xr

from mindgencast.config.variables import VARIABLES
from mindgencast.data.derived_forcings import add_derived_forcings
from mindgencast.forecast.netcdf_writer import ForecastWriter, partial_path
from mindgencast.forecast.progress import RolloutProgress

__all__ = ["StepFn", "RolloutLayout", "validate_rollout", "rollout", "run_forecast", "file_layout"]

NoiseSource = Callable[[xr.Dataset, str, int], xr.Dataset]
NoiseSourceFactory = Callable[[int, Sequence[tuple[int, int]]], NoiseSource]
ForcingsFn = Callable[[np.ndarray, np.ndarray, Sequence[str]], xr.Dataset]


class StepFn(Protocol):
    def __call__(self, inputs: xr.Dataset, targets_template: xr.Dataset, forcings: xr.Dataset,
                 noise_source: NoiseSource) -> xr.Dataset: ...


@dataclasses.dataclass(frozen=True)
class RolloutLayout:
    """What a validated rollout needs to know about its data.

    Attributes:
      init_time: datetime64[ns] of lead 0 (the latest input frame).
      time_step: timedelta64[ns] between steps (targets_template's lead, 12 h for GenCast).
      input_leads: timedelta64[ns] leads of the input frames, e.g. [-12h, 0h].
      state_variables: inputs that are also targets: predicted and fed back.
      target_variables: everything the step function predicts (and the file holds).
      forcing_variables: recomputed from each valid time.
      static_variables: time-invariant inputs, passed through unchanged.
      lon: longitudes in degrees (the inputs' dtype), for the day-progress forcings.
    """

    init_time: np.datetime64
    time_step: np.timedelta64
    input_leads: np.ndarray
    state_variables: tuple[str, ...]
    target_variables: tuple[str, ...]
    forcing_variables: tuple[str, ...]
    static_variables: tuple[str, ...]
    lon: np.ndarray


def validate_rollout(
    inputs: xr.Dataset,
    targets_template: xr.Dataset,
    *,
    init_time=None,
    num_steps: int,
    num_members: int,
    members_per_batch: int = 1,
    num_input_frames: int = 2,
    input_variables: Sequence[str] | None = None,
    forcing_variables: Sequence[str] | None = None,
    forcings_fn: ForcingsFn | None = None,
) -> RolloutLayout:
    """Check everything a rollout needs, cheaply, before any model call or output.

    Args:
      inputs: initial condition, dims ([batch=1,] time=num_input_frames, [level,] lat, lon);
        a ``datetime`` coordinate (example-batch layout) supplies ``init_time``.
      targets_template: ([batch=1,] time=1, [level,] lat, lon), every target variable;
        its ``time`` coordinate is the step, e.g. 12 h.
      init_time: datetime of lead 0 (str or datetime64); required without ``datetime``.
      input_variables: the model's input variables; each must be in ``inputs``
        (forcings may be absent: they are computed).
      forcing_variables: computed per valid time; default: the catalogue's forcings
        (year/day progress ...) among the inputs.

    Raises:
      ValueError naming the problem (counts < 1, missing variable or frame, bad times).
    """
    for name, value in (("num_steps", num_steps), ("num_members", num_members),
                        ("members_per_batch", members_per_batch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    inputs, targets_template = _drop_unit_batch(inputs, "inputs"), _drop_unit_batch(targets_template,
                                                                                  "targets_template")
    for name, data in (("inputs", inputs), ("targets_template", targets_template)):
        for coord in ("lat", "lon", "time"):
            if coord not in data.coords:
                raise ValueError(f"{name} has no {coord!r} coordinate; expected dims (time, [level,] lat, lon)")
    for coord in ("lat", "lon", "level"):
        if coord in targets_template.coords and not np.array_equal(
                targets_template[coord].values, inputs[coord].values if coord in inputs.coords else None):
            raise ValueError(f"targets_template and inputs have different {coord!r} coordinates")

    step_leads = np.asarray(targets_template.time.values)
    if step_leads.size != 1 or not np.issubdtype(step_leads.dtype, np.timedelta64) or step_leads[0] <= 0:
        raise ValueError(f"targets_template must have one positive timedelta lead time, got {step_leads}")
    time_step = step_leads[0].astype("timedelta64[ns]")
    expected_leads = -time_step * np.arange(num_input_frames - 1, -1, -1)
    leads = np.asarray(inputs.time.values)
    if leads.shape != expected_leads.shape or not np.array_equal(leads.astype("timedelta64[ns]"), expected_leads):
        raise ValueError(
            f"inputs must hold the {num_input_frames} input frames at leads "
            f"{[_fmt_lead(t) for t in expected_leads]}; found {[_fmt_lead(t) for t in leads]}"
            " (a missing input frame: the initial condition needs the state at every one of them)"
        )
    init_time = _resolve_init_time(inputs, init_time)

    if forcing_variables is None:
        forcing_variables = [n for n in inputs.data_vars if getattr(VARIABLES.get(n), "kind", "") == "forcing"]
    forcing_variables = tuple(forcing_variables)
    if input_variables is not None:
        missing = [n for n in input_variables if n not in inputs.data_vars and n not in forcing_variables]
        if missing:
            raise ValueError(f"inputs are missing variable(s) {missing}; the model needs "
                             f"{sorted(input_variables)}")
    targets = tuple(targets_template.data_vars)
    if not targets:
        raise ValueError("targets_template has no variables; it must hold every target variable")
    static = tuple(n for n, v in inputs.data_vars.items() if "time" not in v.dims)
    state = tuple(n for n in inputs.data_vars if n in targets and n not in static)
    stranded = [n for n in inputs.data_vars if n not in state + static + forcing_variables]
    if stranded:
        raise ValueError(
            f"input variable(s) {stranded} are neither predicted (not in targets_template) nor "
            "derived forcings, so a rollout cannot continue them; add them to the targets or drop them"
        )
    for name in state:
        values = inputs[name].values
        for i, lead in enumerate(leads):
            if np.isnan(np.take(values, i, axis=inputs[name].dims.index("time"))).all():
                raise ValueError(f"input frame at lead {_fmt_lead(lead)} of {name!r} is all NaN "
                                 "(missing data in the initial condition)")

    last_valid = init_time + num_steps * time_step
    if np.isnat(last_valid) or last_valid < init_time:
        raise ValueError(f"{num_steps} steps of {_fmt_lead(time_step)} from {init_time} overflow the calendar")
    lon = np.asarray(inputs.lon.values)  # its own dtype: float32 lon rounds as in the reference
    forcings_fn = forcings_fn or default_forcings_fn
    probe = forcings_fn(np.array([init_time + time_step]), lon, forcing_variables)
    absent = [n for n in forcing_variables if n not in probe.data_vars]
    if absent:
        raise ValueError(f"the forcings function cannot compute {absent}")
    return RolloutLayout(init_time, time_step, expected_leads, state, targets, forcing_variables,
                         static, lon)


def rollout(
    step_fn: StepFn,
    inputs: xr.Dataset,
    targets_template: xr.Dataset,
    *,
    num_steps: int,
    num_members: int,
    seed: int = 0,
    members_per_batch: int = 1,
    init_time=None,
    num_input_frames: int = 2,
    input_variables: Sequence[str] | None = None,
    forcing_variables: Sequence[str] | None = None,
    forcings_fn: ForcingsFn | None = None,
    noise_source_factory: NoiseSourceFactory | None = None,
    writer=None,
    progress: bool = True,
    start_step: int = 0,
) -> xr.Dataset | None:
    """Roll ``num_members`` members out for ``num_steps`` steps of the step function.

    Steps run in order; within a step, members run in batches of
    ``members_per_batch`` (the last batch is padded with extra, discarded members
    so every call has the same shape). Each step is streamed to ``writer``
    (a :class:`ForecastWriter`); with ``writer=None`` an in-memory store collects
    the forecast and it is returned as a Dataset with dims
    (member, lead_time, [level,] lat, lon) and coordinates valid_time, init_time.

    ``start_step`` > 0 continues a forecast whose first ``start_step`` steps the
    writer already holds (resume). Arguments as in :func:`validate_rollout`.
    """
    layout = validate_rollout(
        inputs, targets_template, init_time=init_time, num_steps=num_steps, num_members=num_members,
        members_per_batch=members_per_batch, num_input_frames=num_input_frames,
        input_variables=input_variables, forcing_variables=forcing_variables, forcings_fn=forcings_fn)
    if not 0 <= start_step <= num_steps:
        raise ValueError(f"start_step must be in [0, {num_steps}], got {start_step}")
    inputs = _drop_unit_batch(inputs, "inputs")
    template = _drop_unit_batch(targets_template, "targets_template")
    forcings_fn = forcings_fn or default_forcings_fn
    if noise_source_factory is None:
        from mindgencast.diffusion.noise_source import SphericalNoiseSource as noise_source_factory
    store = writer if writer is not None else _MemoryStore(layout, template, num_members)

    size = min(members_per_batch, num_members)
    batches = [list(range(lo, min(lo + size, num_members))) for lo in range(0, num_members, size)]
    step_template = xr.full_like(template, np.nan, dtype=np.float32).expand_dims(batch=size)
    step_template = step_template.assign_coords(time=[layout.time_step])
    reporter = RolloutProgress(num_steps, len(batches), start_step, _hours(layout.time_step), progress)
    reporter.start()
    for step in range(start_step, num_steps):
        valid_time = layout.init_time + (step + 1) * layout.time_step
        forcings = _forcings_at(forcings_fn, layout, [valid_time], size).assign_coords(time=[layout.time_step])
        for b, members in enumerate(batches):
            padded = members + list(range(num_members, num_members + size - len(members)))
            step_inputs = _step_inputs(inputs, layout, store, forcings_fn, step, members, size)
            noise_source = noise_source_factory(seed, [(m, step) for m in padded])
            prediction = step_fn(step_inputs, step_template, forcings, noise_source)
            store.write_step(step, members, _as_members(prediction, layout, len(members)))
            reporter.update(step, b, members[0], members[-1])
        store.complete_step(step)
    reporter.finish()
    return store.to_dataset() if writer is None else None


def run_forecast(
    step_fn: StepFn,
    inputs: xr.Dataset,
    targets_template: xr.Dataset,
    out_path: str | os.PathLike,
    *,
    num_steps: int,
    num_members: int,
    seed: int = 0,
    members_per_batch: int = 1,
    init_time=None,
    num_input_frames: int = 2,
    input_variables: Sequence[str] | None = None,
    forcing_variables: Sequence[str] | None = None,
    forcings_fn: ForcingsFn | None = None,
    noise_source_factory: NoiseSourceFactory | None = None,
    resume: bool = False,
    ensemble_stats: bool = False,
    attrs: Mapping[str, object] | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> pathlib.Path:
    """Everything ``mindgencast forecast`` does after loading the model and data:
    validate, open (or resume) ``<out_path>.partial``, roll out, rename to ``out_path``.

    ``attrs`` become global attributes (``checkpoint``, ``sampler`` are checked
    on resume; ``title``, ``institution``, ``source``, ``history`` optional).
    On any error before the end, nothing exists under ``out_path``; after an
    interruption the partial file can be continued with ``resume=True`` (same
    inputs, seed, members and attrs). Returns the written path.
    """
    layout = validate_rollout(
        inputs, targets_template, init_time=init_time, num_steps=num_steps, num_members=num_members,
        members_per_batch=members_per_batch, num_input_frames=num_input_frames,
        input_variables=input_variables, forcing_variables=forcing_variables, forcings_fn=forcings_fn)
    out_path = pathlib.Path(out_path)
    if not out_path.parent.is_dir():
        raise FileNotFoundError(f"output directory {out_path.parent} does not exist; create it first")
    if ensemble_stats and num_members < 2:
        raise ValueError("ensemble statistics (spread) need at least 2 members; raise --members")
    if out_path.exists() and not overwrite:
        raise FileExistsError(f"{out_path} exists; choose another --out or pass overwrite=True (--overwrite)")
    if not resume and partial_path(out_path).exists():
        raise ValueError(f"{partial_path(out_path)} holds an interrupted forecast; pass --resume to "
                         "continue it, or delete it to start again")
    template, static = file_layout(inputs, targets_template, layout)
    writer_args = dict(template=template, init_time=layout.init_time, time_step=layout.time_step,
                       num_steps=num_steps, num_members=num_members, seed=seed, attrs=attrs)
    if resume:
        writer = ForecastWriter.resume(out_path, **writer_args)
    else:
        writer = ForecastWriter.create(out_path, static=static, ensemble_stats=ensemble_stats, **writer_args)
    try:
        rollout(step_fn, inputs, targets_template, num_steps=num_steps, num_members=num_members, seed=seed,
                members_per_batch=members_per_batch, init_time=layout.init_time,
                num_input_frames=num_input_frames, input_variables=input_variables,
                forcing_variables=layout.forcing_variables, forcings_fn=forcings_fn,
                noise_source_factory=noise_source_factory, writer=writer, progress=progress,
                start_step=writer.completed_steps)
    except BaseException:
        completed = writer.completed_steps
        writer.close()  # the partial file keeps every completed step for --resume
        if completed == 0 and not resume:
            partial_path(out_path).unlink(missing_ok=True)  # nothing to resume: leave no output
        raise
    return writer.finalize()


def file_layout(inputs: xr.Dataset, targets_template: xr.Dataset,
                layout: RolloutLayout) -> tuple[xr.Dataset, xr.Dataset]:
    """What a :class:`ForecastWriter` needs: one member at one lead ([level,] lat, lon per
    target variable) and the static (lat, lon) fields copied into the file."""
    template = _drop_unit_batch(targets_template, "targets_template").isel(time=0, drop=True)
    template = template.drop_vars([c for c in template.coords if c not in ("lat", "lon", "level")])
    static = _drop_unit_batch(inputs, "inputs")[list(layout.static_variables)]
    static = static[[n for n, v in static.data_vars.items() if set(v.dims) == {"lat", "lon"}]]
    return template, static


def default_forcings_fn(valid_times: np.ndarray, lon: np.ndarray, names: Sequence[str]) -> xr.Dataset:
    """Derived forcings (year/day progress sin/cos) at ``valid_times`` [time] datetime64
    and ``lon`` [lon] degrees: dims (time, [lon]), float32, via
    :func:`mindgencast.data.derived_forcings.add_derived_forcings`."""
    clock = xr.Dataset(coords={"time": np.asarray(valid_times, dtype="datetime64[ns]"), "lon": lon})
    return add_derived_forcings(clock, names)


# -- helpers -----------------------------------------------------------------------------------


def _hours(delta) -> float:
    return float(np.timedelta64(delta, "ns") / np.timedelta64(3600, "s"))


def _fmt_lead(delta) -> str:
    return f"{_hours(delta):+g}h"


def _drop_unit_batch(data: xr.Dataset, what: str) -> xr.Dataset:
    if "batch" not in data.dims:
        return data
    if data.sizes["batch"] != 1:
        raise ValueError(f"{what} has batch={data.sizes['batch']}; a forecast starts from one initial "
                         "condition: select one with .isel(batch=i)")
    return data.isel(batch=0, drop=True)


def _resolve_init_time(inputs: xr.Dataset, init_time) -> np.datetime64:
    if init_time is None:
        if "datetime" not in inputs.coords:
            raise ValueError("no init time: pass init_time or give inputs a 'datetime' coordinate")
        init_time = np.asarray(inputs.datetime.values).reshape(-1)[-1]
    try:
        value = np.datetime64(init_time, "ns")
    except (ValueError, TypeError):
        raise ValueError(f"init time {init_time!r} is not a date-time (e.g. 2019-03-29T12)") from None
    if np.isnat(value):
        raise ValueError("init time is NaT (not a time)")
    if "datetime" in inputs.coords:
        last = np.datetime64(np.asarray(inputs.datetime.values).reshape(-1)[-1], "ns")
        if last != value:
            raise ValueError(f"init time {value} differs from the inputs' latest datetime {last}")
    return value


def _forcings_at(forcings_fn, layout, valid_times, batch) -> xr.Dataset:
    data = forcings_fn(np.asarray(valid_times, dtype="datetime64[ns]"), layout.lon, layout.forcing_variables)
    data = data[list(layout.forcing_variables)].drop_vars("lon", errors="ignore")
    return data.assign_coords(lon=layout.lon).expand_dims(batch=batch).astype(np.float32)


def _step_inputs(inputs, layout, store, forcings_fn, step, members, size) -> xr.Dataset:
    """The input frames of ``step`` for a member batch: dims (batch=size, time, ...).

    Frame lead index j (in steps) runs over step-n+1 .. step; j <= 0 are the
    initial frames, j >= 1 the member's own forecast at step j-1.
    """
    n_in = len(layout.input_leads)
    dynamic = list(layout.state_variables) + [n for n in layout.forcing_variables if n in inputs.data_vars]
    frames = []
    for j in range(step - n_in + 1, step + 1):
        if j <= 0:
            frame = inputs[dynamic].isel(time=[n_in - 1 + j]).expand_dims(batch=size)
        else:
            state = store.read_step(j - 1, members, layout.state_variables)
            state = _pad_members(state, size).rename(member="batch").expand_dims(time=1, axis=1)
            valid = layout.init_time + j * layout.time_step
            forcing_names = [n for n in layout.forcing_variables if n in inputs.data_vars]
            forcing = _forcings_at(forcings_fn, layout, [valid], size)[forcing_names]
            frame = xr.merge([state, forcing], compat="override", join="override")
        frames.append(frame.drop_vars(["time", "datetime"], errors="ignore"))
    dynamic_part = xr.concat(frames, dim="time", coords="minimal", compat="override", join="override")
    dynamic_part = dynamic_part.assign_coords(time=layout.input_leads)
    out = xr.merge([dynamic_part, inputs[list(layout.static_variables)]], compat="override", join="override")
    out = out.assign_coords({c: inputs[c] for c in ("lat", "lon", "level") if c in inputs.coords})
    return out[[n for n in inputs.data_vars if n in out.data_vars]]


def _pad_members(state: xr.Dataset, size: int) -> xr.Dataset:
    short = size - state.sizes["member"]
    if short == 0:
        return state
    # Padding members only keep the batch shape fixed; their outputs are discarded.
    return xr.concat([state] + [state.isel(member=[-1])] * short, dim="member")


def _as_members(prediction: xr.Dataset, layout: RolloutLayout, n_members: int) -> xr.Dataset:
    missing = [n for n in layout.target_variables if n not in prediction.data_vars]
    if missing:
        raise ValueError(f"the step function did not predict {missing}")
    out = prediction[list(layout.target_variables)]
    if "time" in out.dims:
        out = out.isel(time=0, drop=True)
    return out.rename(batch="member").isel(member=slice(0, n_members)).astype(np.float32)


class _MemoryStore:
    """The writer interface held in memory (for ``rollout(writer=None)``)."""

    def __init__(self, layout: RolloutLayout, template: xr.Dataset, num_members: int):
        self._layout = layout
        self._template = template.isel(time=0, drop=True)
        self._num_members = num_members
        self._steps: list[dict[str, np.ndarray]] = []
        self.completed_steps = 0

    def write_step(self, step, members, prediction) -> None:
        while len(self._steps) <= step:
            self._steps.append({})
        for name in self._layout.target_variables:
            data = prediction[name].transpose("member", *self._template[name].dims).values
            full = self._steps[step].setdefault(
                name, np.full((self._num_members, *data.shape[1:]), np.nan, np.float32))
            full[members[0]:members[-1] + 1] = data

    def read_step(self, step, members, variables) -> xr.Dataset:
        return xr.Dataset({
            n: (("member", *self._template[n].dims), self._steps[step][n][members[0]:members[-1] + 1])
            for n in variables})

    def complete_step(self, step) -> None:
        self.completed_steps = step + 1

    def to_dataset(self) -> xr.Dataset:
        leads = self._layout.time_step * np.arange(1, len(self._steps) + 1)
        data = {n: (("member", "lead_time", *self._template[n].dims),
                    np.stack([s[n] for s in self._steps], axis=1)) for n in self._layout.target_variables}
        coords = {c: self._template[c] for c in ("lat", "lon", "level") if c in self._template.coords}
        coords.update(member=np.arange(self._num_members), lead_time=leads,
                      valid_time=("lead_time", self._layout.init_time + leads),
                      init_time=self._layout.init_time)
        return xr.Dataset(data, coords=coords)
