"""Autoregressive ensemble rollout: initial state, forcings, feedback, batching, resume, validation.

Driven by the damped-persistence baseline (a cheap stand-in for GenCast with the
same step-function contract) on the gencast_tiny fixture's initial conditions.
"""

import numpy as np
import pytest
import xarray as xr

from mindgencast.config.builtin import builtin_config
from mindgencast.diffusion.noise_source import SphericalNoiseSource
from mindgencast.forecast import partial_path, rollout, run_forecast
from mindgencast.forecast.baselines import DampedPersistence
from mindgencast.forecast.initial_state import initial_state

# Datetime of the fixture's first source frame + 12 h (lead 0 = the second input frame).
INIT_TIMES = ("2019-03-29T12:00", "2020-07-15T18:00")
FORCINGS = ("year_progress_sin", "year_progress_cos", "day_progress_sin", "day_progress_cos")


def _load(fixture_dir, name, batch=0):
    return xr.load_dataset(fixture_dir / f"{name}.nc", decode_timedelta=True).isel(batch=batch)


@pytest.fixture(scope="module")
def initial(fixture_dir):
    return _load(fixture_dir, "inputs"), _load(fixture_dir, "targets")


class _Recorder:
    """Wraps a step function, keeping what it was called with; optionally fails at a step."""

    def __init__(self, fail_at_call=None):
        self.calls = []
        self.fail_at_call = fail_at_call
        self.step_fn = DampedPersistence()

    def __call__(self, inputs, targets_template, forcings, noise_source):
        if self.fail_at_call is not None and len(self.calls) == self.fail_at_call:
            raise RuntimeError("simulated crash")
        self.calls.append((inputs, targets_template, forcings, noise_source))
        return self.step_fn(inputs, targets_template, forcings, noise_source)


def _roll(initial, **kwargs):
    inputs, targets = initial
    args = dict(num_steps=3, num_members=3, seed=7, members_per_batch=3, init_time=INIT_TIMES[0],
                progress=False)
    args.update(kwargs)
    step_fn = args.pop("step_fn", DampedPersistence())
    return rollout(step_fn, inputs, targets, **args)


@pytest.mark.parametrize("batch", [0, 1])
def test_forcings_of_each_step_match_the_reference_at_its_valid_time(fixture_dir, batch):
    # Golden: the fixture's forcings.nc are DeepMind's derived forcings at init + 12 h.
    inputs, targets = _load(fixture_dir, "inputs", batch), _load(fixture_dir, "targets", batch)
    reference = _load(fixture_dir, "forcings", batch)
    recorder = _Recorder()
    rollout(recorder, inputs, targets, num_steps=2, num_members=1, init_time=INIT_TIMES[batch], progress=False)
    (inputs0, template0, forcings0, _), (inputs1, _, forcings1, _) = recorder.calls
    for name in FORCINGS:
        ref = reference[name].isel(time=0).values
        np.testing.assert_array_equal(forcings0[name].isel(batch=0, time=0).values, ref)
        # Step 1's newest input frame is step 0's valid time, so it sees the same forcing.
        np.testing.assert_array_equal(inputs1[name].isel(batch=0, time=-1).values, ref)
        # Step 0 gets the user's input frames unchanged.
        np.testing.assert_array_equal(inputs0[name].isel(batch=0).values, inputs[name].values)
    # Step 1's target forcings differ from step 0's (12 h later: day progress flips sign).
    np.testing.assert_allclose(forcings1["day_progress_sin"].values, -forcings0["day_progress_sin"].values,
                               atol=1e-5)
    hour = np.timedelta64(1, "h")
    assert list(template0.time.values / hour) == [12.0]
    assert list(inputs1.time.values / hour) == [-12.0, 0.0]


def test_each_step_is_fed_the_members_own_last_two_frames(initial):
    recorder = _Recorder()
    forecast = _roll(initial, step_fn=recorder, members_per_batch=2)
    inputs, _ = initial
    assert len(recorder.calls) == 3 * 2  # 3 steps x 2 member batches (2 + 1 padded to 2)
    step2_batch0 = recorder.calls[4][0]  # step 2, members 0-1: frames are steps 0 and 1
    step1_batch1 = recorder.calls[3][0]  # step 1, member 2 (+ padding): frames are init and step 0
    for name in ("temperature", "2m_temperature", "sea_surface_temperature"):
        for frame, lead in enumerate((0, 1)):
            np.testing.assert_array_equal(step2_batch0[name].isel(time=frame).values,
                                          forecast[name].isel(member=[0, 1], lead_time=lead).values)
        np.testing.assert_array_equal(step1_batch1[name].isel(batch=0, time=0).values,
                                      inputs[name].isel(time=1).values)
        np.testing.assert_array_equal(step1_batch1[name].isel(batch=0, time=1).values,
                                      forecast[name].isel(member=2, lead_time=0).values)
    # Static fields pass through unchanged.
    np.testing.assert_array_equal(step2_batch0["land_sea_mask"].values, inputs["land_sea_mask"].values)


def test_members_differ_and_each_is_seeded_by_member_and_step(initial):
    forecast = _roll(initial, members_per_batch=1)
    t = forecast["temperature"].values
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert np.abs(t[a] - t[b]).max() > 0.1, "members must get independent noise"
    # Member 1 alone with the same (seed, member, step) keys reproduces it exactly.
    recorder = _Recorder()
    _roll(initial, step_fn=recorder, num_steps=1, num_members=3, members_per_batch=1)
    template = recorder.calls[1][1]
    expected = SphericalNoiseSource(7, [(1, 0)])(template, "init", 0)
    np.testing.assert_array_equal(recorder.calls[1][3](template, "init", 0)["temperature"].values,
                                  expected["temperature"].values)
    assert np.isfinite(t).all()


@pytest.mark.parametrize("members_per_batch", [2, 3, 5])
def test_batching_does_not_change_any_member(initial, members_per_batch):
    one_by_one = _roll(initial, members_per_batch=1)
    batched = _roll(initial, members_per_batch=members_per_batch)
    xr.testing.assert_identical(one_by_one, batched)


def test_file_output_equals_in_memory_rollout(initial, tmp_path):
    inputs, targets = initial
    path = run_forecast(DampedPersistence(), inputs, targets, tmp_path / "f.nc", num_steps=3, num_members=3,
                        seed=7, members_per_batch=2, init_time=INIT_TIMES[0], progress=False)
    in_memory = _roll(initial)
    with xr.open_dataset(path, decode_timedelta=True) as written:
        for name in in_memory.data_vars:
            np.testing.assert_array_equal(written[name].values, in_memory[name].values)
        np.testing.assert_array_equal(written.valid_time.values, in_memory.valid_time.values)


def test_resume_after_a_crash_gives_the_uninterrupted_forecast(initial, tmp_path):
    inputs, targets = initial
    args = dict(num_steps=3, num_members=3, seed=7, members_per_batch=2, init_time=INIT_TIMES[0],
                progress=False, attrs={"checkpoint": "ckpt.npz", "sampler": "dpmpp2s", "sampler_steps": "20"})
    reference = run_forecast(DampedPersistence(), inputs, targets, tmp_path / "ref.nc", **args)
    out = tmp_path / "f.nc"
    # Two member batches per step; call 4 is step 2, batch 0: steps 0 and 1 are complete.
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_forecast(_Recorder(fail_at_call=4), inputs, targets, out, **args)
    assert not out.exists(), "a crashed run must not leave a file under the final name"
    with xr.open_dataset(partial_path(out), decode_timedelta=True) as partial:
        assert partial.attrs["completed_steps"] == 2
    # Resuming with another seed is refused: it would splice two different forecasts.
    with pytest.raises(ValueError, match="seed"):
        run_forecast(DampedPersistence(), inputs, targets, out, resume=True, **{**args, "seed": 8})
    with pytest.raises(ValueError, match="sampler_steps='20' but this run has sampler_steps='10'"):
        run_forecast(DampedPersistence(), inputs, targets, out, resume=True,
                     **{**args, "attrs": {**args["attrs"], "sampler_steps": "10"}})
    # Starting over without --resume is refused too, naming the way out.
    with pytest.raises(ValueError, match="--resume"):
        run_forecast(DampedPersistence(), inputs, targets, out, **args)
    recorder = _Recorder()
    run_forecast(recorder, inputs, targets, out, resume=True, **args)
    assert len(recorder.calls) == 2, "resume must redo only step 2 (two member batches)"
    assert not partial_path(out).exists()
    with xr.open_dataset(reference, decode_timedelta=True) as a, xr.open_dataset(out, decode_timedelta=True) as b:
        for name in a.data_vars:
            np.testing.assert_array_equal(a[name].values, b[name].values)
        assert b.attrs["completed_steps"] == 3


def _without(inputs, name):
    return inputs.drop_vars(name)


def _nan_frame(inputs):
    out = inputs.copy(deep=True)
    out["temperature"][0] = np.nan
    return out


@pytest.mark.parametrize("change, message", [
    (dict(num_members=0), "num_members must be a positive integer"),
    (dict(num_steps=0), "num_steps must be a positive integer"),
    (dict(members_per_batch=0), "members_per_batch must be a positive integer"),
    (dict(inputs=lambda x: x.isel(time=[1])), "input frames at leads"),
    (dict(inputs=_nan_frame), "lead -12h of 'temperature' is all NaN"),
    (dict(inputs=lambda x: _without(x, "temperature")), r"missing variable\(s\) \['temperature'\]"),
    (dict(init_time="2019-03-32T12"), "not a date-time"),
    (dict(init_time="2262-04-01T00", num_steps=60), "overflow"),
    (dict(init_time=None), "no init time"),
    (dict(ensemble_stats=True, num_members=1), "at least 2 members"),
])
def test_bad_requests_fail_before_any_output(initial, tmp_path, change, message):
    inputs, targets = initial
    args = dict(num_steps=2, num_members=2, seed=0, members_per_batch=1, init_time=INIT_TIMES[0],
                input_variables=list(inputs.data_vars), progress=False)
    args.update(change)
    if "inputs" in args:
        inputs = args.pop("inputs")(inputs)
    recorder = _Recorder()
    with pytest.raises(ValueError, match=message):
        run_forecast(recorder, inputs, targets, tmp_path / "f.nc", **args)
    assert recorder.calls == [] and list(tmp_path.iterdir()) == []


def test_missing_output_directory_and_resume_without_partial_are_named(initial, tmp_path):
    inputs, targets = initial
    args = dict(num_steps=1, num_members=1, init_time=INIT_TIMES[0], progress=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_forecast(DampedPersistence(), inputs, targets, tmp_path / "no" / "f.nc", **args)
    with pytest.raises(FileNotFoundError, match="no partial forecast"):
        run_forecast(DampedPersistence(), inputs, targets, tmp_path / "f.nc", resume=True, **args)
    assert list(tmp_path.iterdir()) == []


# -- initial conditions ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source(fixture_dir):
    return xr.load_dataset(fixture_dir / "source.nc", decode_timedelta=True)


@pytest.fixture(scope="module")
def task():
    return builtin_config("gencast_tiny").task_config


def _plain(source, batch=0):
    """The fixture's source in the plain WeatherBench2 layout (datetime64 time, no batch)."""
    row = source.isel(batch=batch)
    return row.assign_coords(time=row.datetime.values).drop_vars("datetime")


@pytest.mark.parametrize("layout", ["example_batch", "plain"])
@pytest.mark.parametrize("batch", [0, 1])
def test_initial_state_reproduces_the_reference_inputs(fixture_dir, source, task, layout, batch):
    # Golden: inputs.nc is DeepMind's extraction (incl. derived forcings) from source.nc.
    data = source if layout == "example_batch" else _plain(source, batch)
    state = initial_state(data, task, init_time=INIT_TIMES[batch])
    reference = _load(fixture_dir, "inputs", batch)
    assert state.init_time == np.datetime64(INIT_TIMES[batch], "ns")
    assert list(state.inputs.data_vars) == list(task.input_variables)
    for name in reference.data_vars:
        np.testing.assert_array_equal(state.inputs[name].transpose(*reference[name].dims).values,
                                      reference[name].values)
    template = state.targets_template
    assert list(template.data_vars) == list(task.target_variables)
    assert template["temperature"].dims == ("time", "level", "lat", "lon")
    assert np.isnan(template["total_precipitation_12hr"].values).all()


def test_initial_state_feeds_a_forecast(source, task, tmp_path):
    state = initial_state(_plain(source), task, init_time=INIT_TIMES[0])
    path = run_forecast(DampedPersistence(), state.inputs, state.targets_template, tmp_path / "f.nc",
                        num_steps=2, num_members=2, init_time=state.init_time,
                        input_variables=task.input_variables, progress=False)
    with xr.open_dataset(path, decode_timedelta=True) as ds:
        assert ds.sizes == {"member": 2, "lead_time": 2, "level": 3, "lat": 19, "lon": 36}
        assert ds.init_time.values == state.init_time


@pytest.mark.parametrize("init_time, change, message", [
    ("2019-04-02T00", None, "outside the data, which cover 2019-03-29 00:00:00 .. 2019-03-30 00:00:00"),
    ("2019-03-29T00", None, r"input frame\(s\) 2019-03-28 12:00:00 missing"),
    ("2019-03-29T12", lambda d: d.drop_sel(time=[np.datetime64("2019-03-29T00", "ns")]),
     r"input frame\(s\) 2019-03-29 00:00:00 missing"),
    ("2019-03-29T12", lambda d: d.drop_vars("geopotential"), "geopotential"),
    ("2019-03-29T12", lambda d: d.sel(level=[500, 850]), "700"),
    ("not-a-date", None, "not a date-time"),
])
def test_initial_state_errors_name_the_problem(source, task, init_time, change, message):
    data = _plain(source)
    data = change(data) if change else data
    with pytest.raises(ValueError, match=message):
        initial_state(data, task, init_time=init_time)


def test_initial_state_checks_the_grid_and_example_batch_frames(source, task):
    with pytest.raises(ValueError, match="grid"):
        initial_state(_plain(source), task, init_time=INIT_TIMES[0],
                      grid=(np.linspace(-90, 90, 10), np.arange(0, 360, 20.0)))
    # In the example-batch layout the first frame has no predecessor 12 h earlier.
    with pytest.raises(ValueError, match="input frame 2019-03-28 12:00:00 is missing"):
        initial_state(source, task, init_time="2019-03-29T00")


def test_progress_prints_one_plain_line_per_step_call_when_not_a_terminal(initial, capsys):
    _roll(initial, num_steps=2, num_members=3, members_per_batch=2, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 * 2 + 1 and "\r" not in "".join(lines)
    assert lines[0].startswith("[######------------------] step 1/2 (+12h) members 0-1 (batch 1/2) elapsed ")
    assert "step 2/2 (+24h) members 2-2 (batch 2/2)" in lines[3] and "ETA 00:00" in lines[3]
    assert lines[4].startswith("done: 4 step calls in ")
