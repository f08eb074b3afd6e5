"""Rank histograms: flat when calibrated (chi-square), U-shaped when under-dispersive, ties at random."""

import numpy as np
import scipy.stats
import xarray as xr

from mindgencast.metrics import rank_histogram, region_mask


def _ensemble(rng, members, spread, shape=(400, 8, 16)):
    coords = {"lat": np.linspace(-80, 80, shape[1]), "lon": np.arange(shape[2]) * 360.0 / shape[2]}
    mu = rng.normal(size=shape)
    forecast = xr.DataArray(mu + spread * rng.normal(size=(members, *shape)), dims=["member", "sample", "lat", "lon"],
                            coords=coords)
    truth = xr.DataArray(mu + rng.normal(size=shape), dims=["sample", "lat", "lon"], coords=coords)
    return forecast, truth


def test_calibrated_ensemble_gives_a_flat_histogram():
    rng = np.random.default_rng(0)
    m = 9
    forecast, truth = _ensemble(rng, m, spread=1.0)
    counts = rank_histogram(forecast, truth, reduce_dims=("sample",)).values
    assert counts.shape == (m + 1,)
    assert counts.sum() == truth.size
    # Independent points, uniform ranks: chi-square with M degrees of freedom.
    p_value = scipy.stats.chisquare(counts).pvalue
    assert p_value > 1e-3, counts


def test_under_dispersive_ensemble_gives_a_u_shape():
    rng = np.random.default_rng(1)
    m = 9
    forecast, truth = _ensemble(rng, m, spread=0.4)
    counts = rank_histogram(forecast, truth, reduce_dims=("sample",)).values
    flat = truth.size / (m + 1)
    assert counts[0] > 2 * flat and counts[-1] > 2 * flat
    assert np.all(counts[3:-3] < flat)
    assert scipy.stats.chisquare(counts).pvalue < 1e-10


def test_ties_are_broken_uniformly_at_random():
    """Members and truth all equal (e.g. zero rain): every rank 0..M equally likely."""
    m = 4
    coords = {"lat": np.linspace(-80, 80, 20), "lon": np.arange(40) * 9.0}
    forecast = xr.DataArray(np.zeros((m, 50, 20, 40)), dims=["member", "sample", "lat", "lon"], coords=coords)
    truth = forecast.isel(member=0, drop=True)
    counts = rank_histogram(forecast, truth, rng=np.random.default_rng(5), reduce_dims=("sample",)).values
    assert scipy.stats.chisquare(counts).pvalue > 1e-3, counts
    # Same seed, same histogram: reproducible.
    again = rank_histogram(forecast, truth, rng=5, reduce_dims=("sample",)).values
    np.testing.assert_array_equal(counts, again)


def test_exact_ranks_without_ties():
    """Members 0..3 at every point; truth 1.5 has rank 2, truth -1 rank 0, truth 9 rank 4."""
    coords = {"lat": [0.0, 10.0], "lon": [0.0, 10.0, 20.0]}
    forecast = xr.DataArray(np.arange(4.0)[:, None, None] * np.ones((4, 2, 3)), dims=["member", "lat", "lon"],
                            coords=coords)
    truth = xr.DataArray([[1.5, 1.5, -1.0], [9.0, 1.5, 9.0]], dims=["lat", "lon"], coords=coords)
    np.testing.assert_array_equal(rank_histogram(forecast, truth).values, [1, 0, 3, 0, 2])


def test_weighted_and_masked_counts():
    rng = np.random.default_rng(2)
    forecast, truth = _ensemble(rng, 3, spread=1.0, shape=(5, 19, 10))
    weighted = rank_histogram(forecast, truth, weighted=True, reduce_dims=("sample",)).values
    # Area weights have mean 1, so the weighted total is still the number of points.
    np.testing.assert_allclose(weighted.sum(), truth.size)
    tropics = region_mask(truth["lat"], truth["lon"], "tropics")
    masked = rank_histogram(forecast, truth, mask=tropics, reduce_dims=("sample",)).values
    assert masked.sum() == 5 * int(tropics.sum())
