"""Normalisation: parity with DeepMind GenCast's wrapped values (fixture), round trips,
level selection by coordinate, clear errors."""

import numpy as np
import pytest
import xarray as xr
from conftest import load_nc

from mindgencast.data.nan_cleaning import clean_nans, reintroduce_nans
from mindgencast.data.normalization import (
    NormalizationStats,
    normalize,
    normalized_residuals_to_targets,
    targets_to_normalized_residuals,
    unnormalize,
)


@pytest.fixture(scope="module")
def stats(fixture_dir):
    return NormalizationStats.load(fixture_dir / "stats")


@pytest.fixture(scope="module")
def physical(fixture_dir):
    return tuple(load_nc(fixture_dir / f"{n}.nc") for n in ("inputs", "targets", "forcings"))


def _assert_matches(actual: xr.Dataset, expected: xr.Dataset, rtol: float = 0.0, atol: float = 0.0):
    assert sorted(actual.data_vars) == sorted(expected.data_vars)
    for name in expected.data_vars:
        a, e = actual[name], expected[name]
        assert a.dtype == np.float32, name
        assert set(a.dims) == set(e.dims), name
        np.testing.assert_allclose(a.transpose(*e.dims).values, e.values, rtol=rtol, atol=atol, err_msg=name)


def test_inputs_and_forcings_match_reference(stats, physical, fixture_dir):
    inputs, _, forcings = physical
    # Same float32 operations in the same order as graphcast.normalization: bit-identical.
    _assert_matches(normalize(clean_nans(inputs, stats), stats), load_nc(fixture_dir / "denoiser_inputs.nc"))
    _assert_matches(normalize(forcings, stats), load_nc(fixture_dir / "denoiser_forcings.nc"))


def test_target_residuals_match_reference(stats, physical, fixture_dir):
    inputs, targets, _ = physical
    residuals = targets_to_normalized_residuals(clean_nans(targets, stats), clean_nans(inputs, stats), stats)
    _assert_matches(residuals, load_nc(fixture_dir / "loss_targets.nc"))
    # noisy_targets = loss_targets + noise_levels[b] * N(0, 1): the implied noise has unit spread.
    noise = load_nc(fixture_dir / "noisy_targets.nc") - residuals
    sigma = np.load(fixture_dir / "noise_levels.npy")
    for b, s in enumerate(sigma):
        draws = np.concatenate([noise[n].isel(batch=b).values.ravel() for n in noise.data_vars])
        assert abs(draws.std() / s - 1) < 0.05


def test_residuals_map_back_to_reference_targets(stats, physical, fixture_dir):
    inputs, targets, _ = physical
    back = normalized_residuals_to_targets(load_nc(fixture_dir / "loss_targets.nc"), clean_nans(inputs, stats), stats)
    back = reintroduce_nans(back, inputs)
    for name in targets.data_vars:
        got, want = back[name].transpose(*targets[name].dims).values, targets[name].values
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
        # float32 rounding of x_in[-1] + r * s_d: one or two ulp of the variable's magnitude.
        scale = np.nanmax(np.abs(want))
        np.testing.assert_allclose(got, want, rtol=0, atol=2.4e-7 * scale, err_msg=name)
    assert int(np.isnan(back["sea_surface_temperature"].values).sum()) == 490


def test_round_trips_on_any_subset(stats, physical):
    inputs, targets, forcings = physical
    inputs = clean_nans(inputs, stats)
    subset = inputs[["temperature", "year_progress_sin", "land_sea_mask"]]
    back = unnormalize(normalize(subset, stats), stats)
    _assert_matches(back, subset, rtol=1e-6)
    part = clean_nans(targets, stats)[["total_precipitation_12hr", "geopotential"]]
    again = normalized_residuals_to_targets(targets_to_normalized_residuals(part, inputs, stats), inputs, stats)
    _assert_matches(again, part, rtol=1e-6, atol=1e-9)


def test_levels_selected_by_coordinate(stats, physical):
    inputs = physical[0][["temperature"]]
    picked = normalize(inputs.sel(level=[850, 500]), stats)
    # The statistics are on 37 levels: 850 hPa must use the 850 hPa statistics, whatever the order.
    mu = stats.mean_by_level["temperature"].sel(level=850).item()
    s = stats.stddev_by_level["temperature"].sel(level=850).item()
    np.testing.assert_allclose(picked["temperature"].sel(level=850).values,
                               (inputs["temperature"].sel(level=850).values - mu) / s, rtol=1e-5)
    assert picked["temperature"].dtype == np.float32


def test_missing_level_and_variable_are_named(stats, physical):
    inputs = physical[0][["temperature"]]
    odd = inputs.assign_coords(level=[500, 700, 830])
    with pytest.raises(ValueError, match=r"\[830\] hPa"):
        normalize(odd, stats)
    unknown = xr.Dataset({"cloud_cover": (("lat",), np.ones(3, np.float32))})
    with pytest.raises(ValueError, match="'cloud_cover'.*mean_by_level.nc"):
        normalize(unknown, stats)
    with pytest.raises(ValueError, match="one 12 h"):
        targets_to_normalized_residuals(physical[0][["temperature"]], physical[0], stats)


def test_save_load_round_trip(stats, tmp_path):
    stats.save(tmp_path / "copy")
    again = NormalizationStats.load(tmp_path / "copy")
    for table in ("mean_by_level", "stddev_by_level", "diffs_stddev_by_level", "min_by_level"):
        xr.testing.assert_identical(getattr(again, table), getattr(stats, table))
    assert not [p for p in (tmp_path / "copy").iterdir() if p.suffix != ".nc"]
    (tmp_path / "copy" / "stddev_by_level.nc").unlink()
    with pytest.raises(FileNotFoundError, match="stddev_by_level.nc"):
        NormalizationStats.load(tmp_path / "copy")
