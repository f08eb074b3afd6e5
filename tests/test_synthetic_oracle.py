"""The oracle (ideal ensemble) of the synthetic world: exact, calibrated, and strict about its input.

Calibration is checked the way an ensemble forecast is verified: the truth
comes from ``generate`` (the generator's own random path), the members from
``sample_future`` (the analytic law). Cases are started every 24 h with a 24-h
lead, so forecast windows do not overlap; since the members are exchangeable
with the truth given the present, the truth's ranks are then independent and
uniform, and a chi-square test of the rank histogram is exact. A deliberately
under-dispersive ensemble must fail the same tests.
"""

import numpy as np
import pytest
import scipy.stats

from mindgencast.config import TaskConfig
from mindgencast.data.synthetic import SyntheticWorld

_VARIABLES = [("geopotential", 500), ("2m_temperature", None), ("sea_surface_temperature", None),
              ("specific_humidity", 850), ("total_precipitation_12hr", None)]
_MEMBERS = 9
_CASES = 250


def _task(structure_levels=(500, 850)):
    names = ("2m_temperature", "geopotential", "sea_surface_temperature", "specific_humidity")
    return TaskConfig(input_variables=names, target_variables=names + ("total_precipitation_12hr",),
                      forcing_variables=(), pressure_levels=structure_levels, input_duration="24h")


@pytest.fixture(scope="module")
def world():
    return SyntheticWorld(_task(), 10.0, seed=3, time_step="12h")


@pytest.fixture(scope="module")
def truth(world):
    return world.generate("2001-01-01", days=_CASES + 2)


@pytest.fixture(scope="module")
def verification(world, truth):
    """Per variable: truth ranks (one random point per case), ensemble-mean MSE and spread, for the oracle
    and for an under-dispersive copy (member deviations halved)."""
    rng = np.random.default_rng(0)
    out = {"oracle": {}, "shrunk": {}}
    for case in range(_CASES):
        t0 = truth.time.values[2 * case]
        ensemble = world.sample_future(truth, t0, ["24h"], _MEMBERS, rng)
        valid = truth.sel(time=ensemble.time.values)
        for name, level in _VARIABLES:
            e, y = ensemble[name].isel(time=0), valid[name].isel(time=0)
            if level is not None:
                e, y = e.sel(level=level), y.sel(level=level)
            e, y = e.values.astype(float), y.values.astype(float)
            ok = np.argwhere(np.isfinite(y))
            i, j = ok[rng.integers(len(ok))]
            for kind, members in (("oracle", e), ("shrunk", e.mean(0) + 0.5 * (e - e.mean(0)))):
                m = members[:, i, j]
                ties = int(np.sum(m == y[i, j]))  # precipitation: exact zeros tie, break at random
                rank = int(np.sum(m < y[i, j])) + int(rng.integers(0, ties + 1))
                record = out[kind].setdefault(name, {"ranks": [], "mse": [], "spread": []})
                record["ranks"].append(rank)
                finite = np.isfinite(y)
                record["mse"].append(np.mean((members.mean(0) - y)[finite] ** 2))
                record["spread"].append(np.mean(members.var(0, ddof=1)[finite]))
    return out


def _rank_p_value(ranks):
    return scipy.stats.chisquare(np.bincount(ranks, minlength=_MEMBERS + 1)).pvalue


def _spread_skill(record):
    # For an exchangeable N-member ensemble, E[(mean - truth)^2] = (N + 1) / N * E[spread^2].
    return np.sqrt(np.mean(record["mse"]) / np.mean(record["spread"]) * _MEMBERS / (_MEMBERS + 1))


def test_oracle_rank_histograms_are_flat(verification):
    for name, record in verification["oracle"].items():
        assert _rank_p_value(record["ranks"]) > 1e-3, (name, np.bincount(record["ranks"]))


def test_oracle_spread_matches_its_error(verification):
    for name, record in verification["oracle"].items():
        # 250 cases of a few effectively independent waves each: ratio known to ~4 %
        assert 0.88 < _spread_skill(record) < 1.12, name


def test_an_under_dispersive_ensemble_fails_the_same_checks(verification):
    shrunk = verification["shrunk"]["geopotential"]
    assert _rank_p_value(shrunk["ranks"]) < 1e-3
    assert _spread_skill(shrunk) > 1.5


def test_latent_state_is_recovered_from_the_fields(world, truth):
    times = truth.time.values[[0, 17, 101]]
    expected = world.latent_states(times)
    for t, z in zip(times, expected):
        recovered = world.recover_latent(truth, t)
        # float32 fields: relative rounding ~6e-8 of values up to ~20 anomaly stds
        np.testing.assert_allclose(recovered, z, atol=1e-4 * np.abs(expected).max())
    single = truth.sel(time=[times[1]])
    np.testing.assert_allclose(world.recover_latent(single), expected[1], atol=1e-4 * np.abs(expected).max())
    # one example of the example-batch layout: lead-time 'time', valid times in 'datetime'
    window = truth.isel(time=slice(16, 19))
    example = window.assign_coords(datetime=("time", window.time.values),
                                   time=window.time.values - window.time.values[1])
    np.testing.assert_allclose(world.recover_latent(example, times[1]), expected[1],
                               atol=1e-4 * np.abs(expected).max())
    with pytest.raises(ValueError, match="isel\\(batch=b\\)"):
        world.recover_latent(example.expand_dims(batch=2), times[1])


def test_oracle_output_layout_and_joint_leads(world, truth):
    t0 = truth.time.values[10]
    ens = world.sample_future(truth, t0, ["36h", "12h", "5d"], 4, rng=7)
    assert ens.sizes["member"] == 4 and ens.sizes["time"] == 3
    np.testing.assert_array_equal(ens.time.values, t0 + np.array([12, 36, 120], "timedelta64[h]"))
    assert ens.lead_time.values[0] == np.timedelta64(12, "h")
    assert ens.geopotential.dims == ("member", "time", "level", "lat", "lon")
    assert "land_sea_mask" not in ens and all(ens[v].dtype == np.float32 for v in ens.data_vars)
    land = world.statics["land_sea_mask"] > 0.5
    np.testing.assert_array_equal(np.isnan(ens.sea_surface_temperature.values[2, 1]), land)
    again = world.sample_future(truth, t0, ["12h", "36h", "5d"], 4, rng=7)
    np.testing.assert_array_equal(again.geopotential.values, ens.geopotential.values)  # leads are sorted
    # from the latent vector directly: the same draws
    direct = world.sample_future(world.latent_states([t0])[0], t0, ["12h", "36h", "5d"], 4, rng=7)
    np.testing.assert_allclose(direct.geopotential.values, ens.geopotential.values, rtol=1e-5)


def test_oracle_refuses_what_it_cannot_condition_on(world, truth):
    t0 = truth.time.values[4]
    foreign = SyntheticWorld(_task(), 10.0, seed=3, time_step="12h", structure_seed=1).generate("2001-01-01", days=3)
    with pytest.raises(ValueError, match="not explained by this synthetic world"):
        world.sample_future(foreign, t0, ["12h"], 2)
    with pytest.raises(ValueError, match="linear variable"):
        world.sample_future(truth[["specific_humidity", "sea_surface_temperature"]], t0, ["12h"], 2)
    with pytest.raises(ValueError, match="not in the dataset"):
        world.sample_future(truth, np.datetime64("1999-01-01"), ["12h"], 2)
    with pytest.raises(ValueError, match="positive"):
        world.sample_future(truth, t0, ["0h"], 2)
    with pytest.raises(ValueError, match="num_members"):
        world.sample_future(truth, t0, ["12h"], 0)
