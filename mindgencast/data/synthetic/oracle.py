"""The oracle: draws from the exact conditional law of the synthetic future.

Because the latent weather ``z`` is a linear-Gaussian (Ornstein-Uhlenbeck)
process and every *linear* variable is ``X = climate(t) + L z`` exactly, the
present state determines ``z``: it is recovered from one time slice of the
fields by least squares over the linear variables (the stacked loadings have
full column rank on any grid that resolves the waves), with a residual check
that refuses fields that do not come from this world. The future then follows
exactly::

    z(t0 + tau_j) | z(t0 + tau_{j-1}) ~ N(M(dtau) z(t0 + tau_{j-1}), Q(dtau)),
    M(dtau) = expm(G dtau),  Q(dtau) = S - M S M^T

sampled jointly over all lead times, then mapped to every field. The members
are the ideal ensemble: exchangeable with the truth, so the truth's rank among
them is uniform and their spread equals the error of their mean.

Reference: docs/synthetic_world.md ("The oracle").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.data.synthetic.climate import clock

__all__ = ["recover_latent", "sample_future"]

_MAX_POINTS = 4096  # grid points per variable used for the recovery
_RESIDUAL_TOLERANCE = 1e-3  # in units of the anomaly scale; float32 rounding gives ~1e-5


def _subsample(world):
    lat_stride = max(1, int(np.ceil(world.lat.size / 40)))
    lon_stride = max(1, int(np.ceil(world.lon.size / 80)))
    ii, jj = np.meshgrid(np.arange(0, world.lat.size, lat_stride), np.arange(0, world.lon.size, lon_stride),
                         indexing="ij")
    return ii.ravel()[:_MAX_POINTS], jj.ravel()[:_MAX_POINTS]


def _recovery_operator(world, keys):
    cache = world.__dict__.setdefault("_oracle_cache", {})
    if keys not in cache:
        ii, jj = _subsample(world)
        rows = []
        for key in keys:
            law = world.laws[key]
            rows.append(law.loadings(ii, jj) / law.recipe.anomaly_scale[ii, jj][:, None])
        A = np.concatenate(rows)
        if np.linalg.matrix_rank(A) < world.process.dim:
            raise ValueError("the linear variables of this task cannot determine the latent state on this grid")
        cache[keys] = (ii, jj, np.linalg.pinv(A), A)
    return cache[keys]


def recover_latent(world, state, init_time=None) -> np.ndarray:
    """The latent state ``z`` [D] behind the fields of ``state`` at ``init_time``.

    Args:
      world: the SyntheticWorld.
      state: an ``np.ndarray`` [D] (returned as is), or an ``xr.Dataset`` in the
        world's layout, either with a datetime64 ``time`` dim (``init_time``
        selects the slice), or one example of the example-batch layout (lead
        ``time`` with a ``datetime`` coord), or without a time dim (then
        ``init_time`` gives its clock).
      init_time: the valid time of the state.

    Raises:
      ValueError: the dataset lacks a linear variable, misses ``init_time``, or
        its fields are not explained by this world's law (relative residual > 1e-3).
    """
    if isinstance(state, np.ndarray):
        if state.shape != (world.process.dim,):
            raise ValueError(f"latent state must have shape ({world.process.dim},), got {state.shape}")
        return state.astype(float)
    if not isinstance(state, xr.Dataset):
        raise TypeError(f"state must be an xr.Dataset or a latent np.ndarray, got {type(state).__name__}")
    if init_time is None:
        if "time" in state.dims and state.sizes["time"] == 1:
            init_time = state["time"].values[0]
        else:
            raise ValueError("init_time is required unless the dataset holds exactly one time")
    t0 = np.datetime64(pd.Timestamp(init_time).to_datetime64(), "ns")
    if "batch" in state.dims:
        raise ValueError("the state has a 'batch' dim: pass one example, e.g. state.isel(batch=b)")
    if "datetime" in state.coords and "time" in state.dims and not np.issubdtype(state["time"].dtype, np.datetime64):
        # example-batch layout: time is a lead timedelta, valid times live in 'datetime'
        matches = np.flatnonzero(state["datetime"].values == t0)
        if matches.size != 1:
            raise ValueError(f"init_time {t0} is not one of the dataset's datetimes")
        state = state.isel(time=int(matches[0]))
    elif "time" in state.dims:
        times = state["time"].values
        if t0 not in times:
            raise ValueError(f"init_time {t0} is not in the dataset (times {times[0]} .. {times[-1]})")
        state = state.sel(time=t0)
    keys = tuple(k for k, law in world.laws.items() if law.recipe.kind == "linear" and k[0] in state.data_vars)
    if not keys:
        raise ValueError(
            "the oracle needs at least one linear variable in the state (temperature, geopotential, winds, "
            "2m_temperature, mean_sea_level_pressure, ...)"
        )
    ii, jj, pinv, A = _recovery_operator(world, keys)
    year_progress, day_progress = clock(np.array([t0]), world.lon)
    y = []
    for key in keys:
        law = world.laws[key]
        field = state[key[0]] if key[1] is None else state[key[0]].sel(level=key[1])
        if field.dims != ("lat", "lon"):
            raise ValueError(f"{key[0]}: expected dims (lat, lon) at one time, got {field.dims}")
        values = np.asarray(field.values, float)
        anomaly = values - law.cycles(year_progress, day_progress)[0]
        y.append(anomaly[ii, jj] / law.recipe.anomaly_scale[ii, jj])
    y = np.concatenate(y)
    z = pinv @ y
    residual = np.sqrt(np.mean((A @ z - y) ** 2))
    if not np.isfinite(residual) or residual > _RESIDUAL_TOLERANCE:
        raise ValueError(
            f"the state at {t0} is not explained by this synthetic world's law (relative residual "
            f"{residual:.2e} > {_RESIDUAL_TOLERANCE:g}): was it generated with the same SyntheticWorldConfig?"
        )
    return z


def sample_future(world, state, init_time, lead_times, num_members: int, rng=None) -> xr.Dataset:
    """``num_members`` draws of the future given the present: the ideal ensemble.

    Args:
      world: the SyntheticWorld.
      state: dataset (or latent [D]) holding the state at ``init_time``; see
        :func:`recover_latent`.
      init_time: datetime-like, the initialisation time.
      lead_times: positive timedelta-likes (``"12h"``, ``pd.Timedelta``); any
        values, not only multiples of the time step.
      num_members: ensemble size N >= 1.
      rng: ``np.random.Generator``, an int seed, or None (fresh entropy).

    Returns:
      xr.Dataset with dims (member, time, [level,] lat, lon), float32, the
      world's time-varying variables; ``time`` holds the valid times
      (``init_time + lead``) and the coord ``lead_time`` (time) the leads.
      Members are jointly drawn trajectories over the lead times.
    """
    if int(num_members) < 1:
        raise ValueError(f"num_members must be >= 1, got {num_members}")
    leads = pd.to_timedelta(list(lead_times) if not isinstance(lead_times, (str, pd.Timedelta)) else [lead_times])
    if len(leads) == 0 or (leads <= pd.Timedelta(0)).any():
        raise ValueError(f"lead_times must be positive, got {list(leads)}")
    leads = leads.sort_values().unique()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    z0 = recover_latent(world, state, init_time)
    t0 = np.datetime64(pd.Timestamp(init_time).to_datetime64(), "ns")
    z = np.broadcast_to(z0, (int(num_members), z0.size))
    previous = pd.Timedelta(0)
    path = []
    for lead in leads:
        M, C = world.transition((lead - previous) / pd.Timedelta("1D"))
        z = z @ M.T + rng.standard_normal(z.shape) @ C.T
        path.append(z)
        previous = lead
    path = np.stack(path, axis=1)  # [N, T, D]
    valid = t0 + leads.to_numpy()
    num, steps = path.shape[:2]
    flat = world.fields(path.reshape(num * steps, -1), np.tile(valid, num))
    values = {key: array.reshape(num, steps, *array.shape[1:]) for key, array in flat.items()}
    ds = world.to_dataset(values, valid, extra_dims=("member",))
    ds = ds.drop_vars([n for n in ds.data_vars if "time" not in ds[n].dims])
    ds = ds.assign_coords(member=np.arange(path.shape[0]), lead_time=("time", leads.to_numpy()))
    ds.attrs["description"] = "Oracle ensemble: exact draws from the synthetic world's conditional law."
    ds.attrs["init_time"] = str(t0)
    return ds
