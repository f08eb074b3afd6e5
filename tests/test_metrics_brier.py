"""Brier scores of threshold events against hand computation; climatological thresholds; skill score."""

import numpy as np
import pytest
import xarray as xr

from mindgencast.metrics import brier_score, brier_skill_score, climatological_thresholds


def _grid(values, dims=("lat", "lon")):
    values = np.asarray(values, dtype=np.float64)
    coords = {"lat": [-30.0, 30.0][: values.shape[dims.index("lat")]], "lon": np.arange(values.shape[-1]) * 90.0}
    return xr.DataArray(values, dims=list(dims), coords=coords)


def test_brier_score_by_hand():
    """Two latitudes (+-30, equal weights), two longitudes; 4 members; threshold 1.

    point (0,0): members [0, 2, 2, 2] -> p = 3/4, truth 2 -> o = 1: (1/4)^2 = 1/16
    point (0,1): members [0, 0, 0, 0] -> p = 0,   truth 5 -> o = 1: 1
    point (1,0): members [2, 2, 0, 0] -> p = 1/2, truth 0 -> o = 0: 1/4
    point (1,1): members [0, 0, 0, 0] -> p = 0,   truth 0 -> o = 0: 0
    mean = (1/16 + 1 + 1/4 + 0) / 4 = 21/64.
    """
    members = np.zeros((4, 2, 2))
    members[1:, 0, 0] = 2.0
    members[:2, 1, 0] = 2.0
    forecast = _grid(members, ("member", "lat", "lon"))
    truth = _grid([[2.0, 5.0], [0.0, 0.0]])
    assert float(brier_score(forecast, truth, 1.0)) == pytest.approx(21 / 64, abs=1e-12)
    # Fair form: minus p (1 - p) / (M - 1) = (3/16 + 0 + 1/4 + 0) / 3 per point, averaged.
    fair = 21 / 64 - (3 / 16 + 1 / 4) / 3 / 4
    assert float(brier_score(forecast, truth, 1.0, fair=True)) == pytest.approx(fair, abs=1e-12)
    # Non-exceedance of 1 is the complementary event (no ties here): the same score.
    assert float(brier_score(forecast, truth, 1.0, exceed=False)) == pytest.approx(21 / 64, abs=1e-12)


def test_quantile_thresholds_choose_the_event_direction():
    """With a quantile coordinate: q >= 0.5 scores exceedance, q < 0.5 non-exceedance."""
    rng = np.random.default_rng(0)
    coords = {"lat": np.linspace(-60, 60, 5), "lon": np.arange(8) * 45.0}
    climate = xr.DataArray(rng.normal(size=(400, 5, 8)), dims=["time", "lat", "lon"], coords=coords)
    thresholds = climatological_thresholds(climate, [0.9, 0.1])
    np.testing.assert_allclose(thresholds.sel(quantile=0.9).values, np.quantile(climate.values, 0.9, axis=0))
    forecast = xr.DataArray(rng.normal(size=(6, 5, 8)), dims=["member", "lat", "lon"], coords=coords)
    truth = xr.DataArray(rng.normal(size=(5, 8)), dims=["lat", "lon"], coords=coords)
    both = brier_score(forecast, truth, thresholds)
    high = brier_score(forecast, truth, thresholds.sel(quantile=0.9), exceed=True)
    low = brier_score(forecast, truth, thresholds.sel(quantile=0.1), exceed=False)
    np.testing.assert_allclose(both.values, [float(high), float(low)])
    # Ties decide the direction's effect (without ties an event and its complement score
    # the same): members and truth exactly at the threshold are outside either event.
    at = thresholds.sel(quantile=0.1)
    tied = brier_score(forecast * 0 + at, at, at, exceed=False)
    assert float(tied) == 0.0
    lower = brier_score(forecast * 0 + at, at - 1.0, at, exceed=False)  # truth below, members tied: p=0, o=1
    upper = brier_score(forecast * 0 + at, at - 1.0, at, exceed=True)  # neither in the event: p=0, o=0
    assert (float(lower), float(upper)) == (pytest.approx(1.0), 0.0)


def test_brier_skill_score():
    score = xr.DataArray([0.1, 0.2, 0.0])
    reference = xr.DataArray([0.2, 0.2, 0.0])
    skill = brier_skill_score(score, reference).values
    np.testing.assert_allclose(skill[:2], [0.5, 0.0])
    assert np.isnan(skill[2])
    assert float(brier_skill_score(xr.DataArray(0.05), 0.1)) == pytest.approx(0.5)


def test_bad_quantiles_are_refused():
    climate = xr.DataArray(np.zeros((3, 2, 2)), dims=["time", "lat", "lon"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        climatological_thresholds(climate, [99.99])
