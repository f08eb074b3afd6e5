"""Ensemble rollout of the tiny fixture GenCast on the fixture's data (issue 6)."""

import netCDF4
import numpy as np
import pytest
import xarray as xr
from conftest import load_nc

from mindgencast.data.normalization import NormalizationStats
from mindgencast.diffusion.noise_source import SphericalNoiseSource
from mindgencast.forecast.forecast_job import ForecastJob
from mindgencast.forecast.netcdf_writer import partial_path
from mindgencast.forecast.rollout import default_forcings_fn

STEPS, MEMBERS, SAMPLER_STEPS = 3, 3, 3


@pytest.fixture(scope="module")
def job(tiny_checkpoint, fixture_dir, reference_graph_builder):
    return ForecastJob.prepare(tiny_checkpoint, NormalizationStats.load(fixture_dir / "stats"),
                               load_nc(fixture_dir / "source.nc"), init_time="2019-03-29T12",
                               graph_builder=reference_graph_builder)


@pytest.fixture(scope="module")
def forecast(job, tmp_path_factory):
    out = tmp_path_factory.mktemp("fc") / "forecast.nc"
    job.run(out, steps=STEPS, members=MEMBERS, members_per_batch=MEMBERS, seed=7, sampler_steps=SAMPLER_STEPS,
            ensemble_stats=True, progress=False)
    return out


def test_file_structure_and_cf_attributes(forecast, job):
    ds = xr.open_dataset(forecast, decode_timedelta=True)
    assert ds.attrs["Conventions"] == "CF-1.8"
    assert ds.attrs["sampler"] == "dpmpp2s" and int(ds.attrs["seed"]) == 7
    assert "mindgencast" in ds.attrs["source"]
    assert ds["temperature"].dims == ("member", "lead_time", "level", "lat", "lon")
    assert ds["2m_temperature"].dims == ("member", "lead_time", "lat", "lon")
    assert ds.sizes["member"] == MEMBERS and ds.sizes["lead_time"] == STEPS
    assert ds["temperature"].attrs["units"] == "K" and ds["temperature"].attrs["standard_name"] == "air_temperature"
    assert ds["lat"].attrs["units"] == "degrees_north" and ds["level"].attrs["units"] == "hPa"
    assert (ds["lead_time"].values == np.array([12, 24, 36], "timedelta64[h]")).all()
    assert ds["valid_time"].values[0] == np.datetime64("2019-03-30T00:00")
    assert ds["init_time"].values == np.datetime64("2019-03-29T12:00")
    assert "temperature_ensemble_mean" in ds and "temperature_ensemble_spread" in ds
    with netCDF4.Dataset(forecast) as nc:  # plain netCDF4 reads it too
        assert nc["temperature"].shape == (MEMBERS, STEPS, 3, 19, 36)


def test_step_one_of_member_zero_equals_forecaster_sample(forecast, job):
    first = job.forecaster.sample(job.inputs.expand_dims(batch=1), job.targets_template.expand_dims(batch=1), default_forcings_fn(
        np.array([np.datetime64("2019-03-30T00:00")]), job.inputs["lon"].values,
        list(job.forecaster.model.task_config.forcing_variables)).expand_dims(batch=1).assign_coords(
        time=job.targets_template["time"].values), noise_source=SphericalNoiseSource(7, [(0, 0)]),
        num_steps=SAMPLER_STEPS)
    ds = xr.open_dataset(forecast, decode_timedelta=True)
    for v in ("temperature", "2m_temperature", "sea_surface_temperature", "total_precipitation_12hr"):
        got = ds[v].isel(member=0, lead_time=0).values
        want = first[v].isel(batch=0, time=0).transpose(*ds[v].dims[2:]).values
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5, err_msg=v)


def test_members_differ_and_land_sst_stays_nan(forecast, job):
    ds = xr.open_dataset(forecast, decode_timedelta=True)
    t = ds["2m_temperature"].isel(lead_time=-1)
    assert float(abs(t.isel(member=0) - t.isel(member=1)).max()) > 0.01
    land = np.isnan(job.inputs["sea_surface_temperature"]).any("time")
    assert (np.isnan(ds["sea_surface_temperature"].isel(member=2, lead_time=2)) == land).all()


def test_batching_and_resume_do_not_change_results(forecast, job, tmp_path):
    out = tmp_path / "resumed.nc"

    def failing_factory(seed, keys):
        if any(step == 2 for _, step in keys):
            raise KeyboardInterrupt("simulated interruption")
        return SphericalNoiseSource(seed, keys)

    with pytest.raises(KeyboardInterrupt):
        job.forecaster.forecast_to_file(job.inputs, job.targets_template, out, num_steps=STEPS, num_members=MEMBERS,
                                        seed=7, members_per_batch=1, sampler_steps=SAMPLER_STEPS,
                                        noise_source=failing_factory, progress=False,
                                        attrs={"checkpoint": "x", "sampler": "dpmpp2s"}, init_time=job.init_time)
    assert not out.exists() and partial_path(out).exists()
    job.forecaster.forecast_to_file(job.inputs, job.targets_template, out, num_steps=STEPS, num_members=MEMBERS,
                                    seed=7, members_per_batch=1, sampler_steps=SAMPLER_STEPS, resume=True,
                                    progress=False, attrs={"checkpoint": "x", "sampler": "dpmpp2s"}, init_time=job.init_time)
    a, b = xr.open_dataset(forecast, decode_timedelta=True), xr.open_dataset(out, decode_timedelta=True)
    for v in ("temperature", "specific_humidity", "mean_sea_level_pressure"):
        np.testing.assert_allclose(a[v].values, b[v].values, rtol=1e-6, atol=1e-6, err_msg=v)


@pytest.mark.parametrize("change, message", [
    (dict(members=0), "members"),
    (dict(steps=0), "num_steps"),
])
def test_bad_run_arguments_write_nothing(job, tmp_path, change, message):
    args = dict(steps=1, members=1, progress=False) | change
    with pytest.raises(ValueError, match=message):
        job.run(tmp_path / "f.nc", **args)
    assert list(tmp_path.iterdir()) == []


def test_bad_initial_conditions_are_named(tiny_checkpoint, fixture_dir, reference_graph_builder):
    stats = NormalizationStats.load(fixture_dir / "stats")
    source = load_nc(fixture_dir / "source.nc")
    prepare = lambda src, **kw: ForecastJob.prepare(tiny_checkpoint, stats, src, graph_builder=reference_graph_builder, **kw)  # noqa: E731
    with pytest.raises(ValueError, match="specific_humidity"):
        prepare(source.drop_vars("specific_humidity"), init_time="2019-03-29T12")
    with pytest.raises(ValueError, match="input frame 2019-03-28 12:00:00 is missing"):
        prepare(source, init_time="2019-03-29T00")  # the -12 h frame is not in the file
    with pytest.raises(ValueError, match="2030"):
        prepare(source, init_time="2030-01-01T00")
    with pytest.raises(ValueError, match="grid"):
        prepare(source.isel(lon=slice(0, 35)), init_time="2019-03-29T12")


def test_failure_before_any_step_leaves_nothing_and_outputs_are_not_overwritten(job, forecast, tmp_path):
    out = tmp_path / "f.nc"

    def broken_factory(seed, keys):
        raise RuntimeError("device lost")

    with pytest.raises(RuntimeError, match="device lost"):
        job.forecaster.forecast_to_file(job.inputs, job.targets_template, out, num_steps=1, num_members=1,
                                        noise_source=broken_factory, progress=False, init_time=job.init_time)
    assert list(tmp_path.iterdir()) == []  # no .partial left to block the next run
    for bad, message in ((dict(sampler="dpm"), "unknown sampler"), (dict(sampler_steps=0), "sampler-steps"),
                         (dict(members_per_batch=0), "members_per_batch")):
        with pytest.raises(ValueError, match=message):
            job.run(out, steps=1, members=1, progress=False, **bad)
        assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileExistsError, match="exists"):
        job.run(forecast, steps=1, members=1, progress=False)


def test_forecast_cli_end_to_end(fixture_dir, tmp_path):
    """`mindgencast convert` then `mindgencast forecast` on DeepMind's example-batch file."""
    from mindgencast.cli.main import main

    ckpt = tmp_path / "ckpt"
    assert main(["convert", str(fixture_dir / "checkpoint.npz"), str(ckpt), "--grid", "10"]) == 0
    out = tmp_path / "fc.nc"
    args = ["forecast", "--checkpoint", str(ckpt), "--stats", str(fixture_dir / "stats"),
            "--init", str(fixture_dir / "source.nc"), "--init-time", "2019-03-29T12", "--steps", "1",
            "--members", "2", "--sampler-steps", "2", "--no-progress", "--out", str(out)]
    assert main(args) == 0
    ds = xr.open_dataset(out, decode_timedelta=True)
    assert ds.sizes["member"] == 2 and ds.attrs["checkpoint"] == "ckpt" and ds.attrs["sampler_steps"] == "2"
    assert main(args) == 2  # refuses to overwrite
    assert main(args + ["--overwrite"]) == 0
    assert main(args[:-2] + ["--members", "0", "--out", str(tmp_path / "g.nc")]) == 2
    assert not (tmp_path / "g.nc").exists()
