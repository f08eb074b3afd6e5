"""Scorecard and curves: the drawn numbers are the scores, blue means better."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mindgencast.metrics.scorecard import curves_figure, percent_change, scorecard_figure

LEAD = pd.to_timedelta([12, 24, 36], "h")


def _scores():
    metrics = ["crps", "ensemble_mean_rmse", "ensemble_spread", "baseline_crps", "baseline_ensemble_mean_rmse",
               "baseline_ensemble_spread"]
    surface = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [2.0, 2.0, 2.0], [1.0, 0.5, 2.0],
                        [np.nan] * 3])
    levels = np.stack([surface, 2 * surface], axis=-1)
    return xr.Dataset(
        {"2m_temperature": (("metric", "region", "lead_time"), surface[:, None]),
         "geopotential": (("metric", "region", "lead_time", "level"), levels[:, None])},
        coords={"metric": metrics, "region": ["global"], "lead_time": LEAD, "level": [500, 850]},
        attrs={"baseline": "persistence", "num_init_times": 1, "ensemble_size": 4},
    )


def test_scorecard_cells_are_percent_differences_and_blue_is_better():
    scores = _scores()
    fig = scorecard_figure(scores)
    crps_axis, rmse_axis = fig.axes[:2]
    crps_cells = crps_axis.images[0].get_array()
    # 2m_temperature CRPS 1, 2, 3 against 2: -50 %, 0 %, +50 %; geopotential rows scale both: same %.
    np.testing.assert_allclose(crps_cells, [[-50, 0, 50]] * 3)
    np.testing.assert_allclose(rmse_axis.images[0].get_array()[0], [0, 100, -50])
    change = percent_change(scores, "geopotential", "crps").sel(level=850, region="global")
    np.testing.assert_allclose(change, [-50, 0, 50])
    assert [t.get_text() for t in crps_axis.get_yticklabels()] == ["2m_temperature", "geopotential 500 hPa",
                                                                   "geopotential 850 hPa"]
    image = crps_axis.images[0]
    better, worse = image.to_rgba(np.array([-50.0])), image.to_rgba(np.array([50.0]))
    assert better[0, 2] > better[0, 0] and worse[0, 0] > worse[0, 2]  # blue vs red


def test_scorecard_needs_baseline_scores():
    scores = _scores().drop_sel(metric=["baseline_crps"])
    with pytest.raises(ValueError, match=r"baseline scores for \['crps'\]"):
        scorecard_figure(scores)


def test_curves_draw_the_scores_and_skip_missing_baseline_lines():
    scores = _scores()
    fig = curves_figure(scores, "rmse")
    first = fig.axes[0]
    lines = {line.get_label(): line.get_ydata() for line in first.get_lines()}
    np.testing.assert_allclose(lines["forecast ensemble_mean_rmse"], [1, 1, 1])
    np.testing.assert_allclose(lines["baseline ensemble_mean_rmse"], [1, 0.5, 2])
    assert "baseline ensemble_spread" not in lines  # all NaN: a 1-member baseline has no spread
    np.testing.assert_allclose(first.get_lines()[0].get_xdata(), [12, 24, 36])  # hours below 2 days
    with pytest.raises(ValueError, match="spread_skill_ratio"):
        curves_figure(scores, "spread_skill")
