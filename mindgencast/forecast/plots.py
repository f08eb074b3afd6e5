"""Maps and point plumes of an ensemble forecast file (matplotlib, Agg backend).

Reads the CF NetCDF written by :mod:`mindgencast.forecast.netcdf_writer`
(dims member, lead_time, [level,] lat, lon). Maps show the ensemble mean, the
ensemble spread (sample standard deviation over members) and a few members at
one lead time; a plume shows every member and the ensemble mean at one point
over all lead times. Coastlines come from cartopy when it is importable; without
it the axes are plain longitude/latitude and the file's land_sea_mask = 0.5
contour stands in for the coast.

With a truth dataset (WeatherBench2 layout) the maps add the truth, drawn with the
same colour scale as the ensemble mean and the members, and difference maps
(ensemble mean - truth, member - truth) on one symmetric scale; the plume starts at
the initial time from the truth there and draws the truth over the members.
"""

from __future__ import annotations

import functools
import os
import pathlib
import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

__all__ = [
    "coastline_status",
    "load_forecast",
    "parse_lead",
    "select_field",
    "check_lead",
    "check_point",
    "truth_field",
    "check_truth",
    "plot_maps",
    "plot_plume",
]

_HOUR = np.timedelta64(1, "h")
# Display conversions: (scale, units) for quantities users read in other units.
_DISPLAY_UNITS = {
    "mean_sea_level_pressure": (0.01, "hPa"),
    "total_precipitation_12hr": (1000.0, "mm"),
    "total_precipitation_6hr": (1000.0, "mm"),
    "total_precipitation": (1000.0, "mm"),
    "specific_humidity": (1000.0, "g kg-1"),
}
_DIVERGING = ("u_component_of_wind", "v_component_of_wind", "10m_u_component_of_wind",
              "10m_v_component_of_wind", "vertical_velocity")


def load_forecast(path: str | os.PathLike) -> xr.Dataset:
    """Open a forecast file (lazily); raises FileNotFoundError / ValueError naming the problem."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"forecast file {path} does not exist")
    try:
        ds = xr.open_dataset(path, decode_timedelta=True)
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable NetCDF forecast ({e})") from None
    if "member" not in ds.dims or "lead_time" not in ds.dims:
        ds.close()
        raise ValueError(f"{path} is not a mindgencast forecast: it has no 'member' and 'lead_time' dims")
    return ds


def parse_lead(text: str) -> np.timedelta64:
    """``"72h"``, ``"3d"``, ``"72"`` (hours) -> timedelta64[ns]."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([hd]?)\s*", str(text).lower())
    if not match:
        raise ValueError(f"lead time {text!r} is not understood; write e.g. 72h or 3d")
    hours = float(match.group(1)) * (24 if match.group(2) == "d" else 1)
    return np.timedelta64(int(round(hours * 3600)), "s").astype("timedelta64[ns]")


def select_field(ds: xr.Dataset, var: str, level: int | None = None) -> xr.DataArray:
    """``var`` (at ``level`` hPa if it has levels): dims (member, lead_time, lat, lon).

    Raises ValueError naming the available variables or levels.
    """
    fields = [n for n, v in ds.data_vars.items() if "member" in v.dims]
    if var not in fields:
        raise ValueError(f"no variable {var!r} in the forecast; it has: {', '.join(fields)}")
    field = ds[var]
    if "level" in field.dims:
        levels = [int(x) for x in ds.level.values]
        if level is None:
            raise ValueError(f"{var} is on pressure levels: pass --level, one of {levels} (hPa)")
        if int(level) not in levels:
            raise ValueError(f"level {level} hPa is not in the forecast; it has {levels} (hPa)")
        field = field.sel(level=int(level))
    elif level is not None:
        raise ValueError(f"{var} is a surface variable: drop --level")
    return field.transpose("member", "lead_time", "lat", "lon")


def check_lead(ds: xr.Dataset, lead) -> np.timedelta64:
    """``lead`` (timedelta64 or text like ``"72h"``) if it is one of the file's lead times, else ValueError."""
    lead = parse_lead(lead) if isinstance(lead, str) else np.timedelta64(lead, "ns")
    if lead not in ds.lead_time.values:
        raise ValueError(f"lead time {_fmt_hours(lead)} is not in the forecast; it has "
                         f"{', '.join(_fmt_hours(t) for t in ds.lead_time.values)}")
    return lead


def check_point(ds: xr.Dataset, var: str, lat: float, lon: float, level: int | None = None) -> tuple[int, int]:
    """(lat, lon) indices of the grid point nearest (lat, lon); ValueError if out of range or
    if ``var`` is missing there (NaN for every member and lead)."""
    if not -90 <= lat <= 90:
        raise ValueError(f"latitude {lat} is outside [-90, 90]")
    i = int(np.abs(ds.lat.values - lat).argmin())
    j = int(np.abs((ds.lon.values - lon + 180) % 360 - 180).argmin())
    if np.isnan(select_field(ds, var, level).isel(lat=i, lon=j).values).all():
        raise ValueError(f"{var} is missing (NaN) at {_fmt_lat(float(ds.lat.values[i]))}, "
                         f"{_fmt_lon(float(ds.lon.values[j]))} for every member and lead time "
                         "(e.g. sea surface temperature over land); pick another --point")
    return i, j


def truth_field(truth: xr.Dataset, ds: xr.Dataset, var: str, level: int | None, times) -> xr.DataArray:
    """``var`` of the truth at ``times`` on the forecast's grid: dims (time, lat, lon).

    Args:
      truth: WeatherBench2 layout ``[time, [level,] lat, lon]`` (``latitude``/``longitude``
        and descending latitudes accepted); its grid must hold the forecast's points.
      times: datetime64 values; the ones the truth lacks are dropped.

    Raises ValueError naming a missing variable or level, or the grid mismatch.
    """
    from mindgencast.metrics.alignment import select_grid, standardise

    truth = standardise(truth)
    if "time" not in truth.dims:
        raise ValueError(f"the truth has no 'time' dim (dims {dict(truth.sizes)}); expected WeatherBench2 layout")
    if var not in truth.data_vars:
        raise ValueError(f"no variable {var!r} in the truth; it has: {', '.join(truth.data_vars)}")
    field = truth[[var]]
    if level is not None:
        if "level" not in field[var].dims or int(level) not in field["level"].values:
            raise ValueError(f"level {level} hPa of {var} is not in the truth")
        field = field.sel(level=int(level))
    field = select_grid(field, ds, True, "truth", "forecast")
    present = [t for t in np.atleast_1d(times) if t in field["time"].values]
    return field[var].sel(time=present).transpose("time", "lat", "lon")


def check_truth(truth: xr.Dataset, ds: xr.Dataset, var: str, level: int | None, lead=None, plume: bool = False):
    """ValueError unless the truth has ``var`` (at ``level``) on the forecast grid at the
    valid time of ``lead`` (maps) and at the initial time (``plume``)."""
    needed = ([ds.init_time.values] if plume else []) + (
        [ds.init_time.values + check_lead(ds, lead)] if lead is not None else [])
    found = truth_field(truth, ds, var, level, needed)["time"].values
    missing = [t for t in needed if t not in found]
    if missing:
        raise ValueError(f"the truth has no data at {', '.join(_fmt_time(t) for t in missing)} "
                         "(the initial time starts a plume; maps need the valid time)")


def plot_maps(ds: xr.Dataset, var: str, lead, *, level: int | None = None, num_members: int = 4,
              out_dir: str | os.PathLike = ".", truth: xr.Dataset | None = None) -> pathlib.Path:
    """One PNG: ensemble mean, spread and the first ``num_members`` members at ``lead``.

    ``lead`` is a timedelta64 or a string like ``"72h"``; it must be one of the
    file's lead times. With ``truth`` (see :func:`truth_field`) the PNG adds the truth
    at the valid time and difference maps (ensemble mean and members minus truth).
    Returns the path written.
    """
    field = select_field(ds, var, level)
    lead = check_lead(ds, lead)
    scale, units = _units(ds, var)
    values = field.sel(lead_time=lead).values.astype(np.float64) * scale  # [member, lat, lon]
    num_members = max(0, min(int(num_members), values.shape[0]))
    observed = None
    if truth is not None:
        valid = ds.init_time.values + lead
        at_valid = truth_field(truth, ds, var, level, [valid])
        if at_valid.sizes["time"] == 0:
            raise ValueError(f"the truth has no data at the valid time {_fmt_time(valid)} of lead {_fmt_hours(lead)}")
        observed = at_valid.values[0].astype(np.float64) * scale  # [lat, lon]
    with warnings.catch_warnings():  # all-NaN cells (sea surface temperature over land) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        spread = np.nanstd(values, axis=0, ddof=1) if values.shape[0] > 1 else np.zeros_like(mean)
    lat, lon = ds.lat.values, ds.lon.values
    lsm = ds["land_sea_mask"].values if "land_sea_mask" in ds.data_vars else None

    (cmap, vmin, vmax), limit = _map_scales(var, values[:num_members], mean, observed)
    label = f"{_short_label(ds, var)} [{units}]"
    member_cols = max(min(num_members, 4), 3) if num_members else 0  # few members: keep maps small
    member_rows = -(-num_members // 4)
    # Maps are 2:1; leave room for titles and tick labels.
    member_height = 11.5 / max(member_cols, 1) / 2 + 0.65
    top_height = 3.9 * (2 if observed is not None else 1)
    rows = [top_height] + [member_height * member_rows] * (1 if observed is None else 2) * bool(member_rows)
    fig = plt.figure(figsize=(13, sum(rows)), layout="constrained")
    panels = list(fig.subfigures(len(rows), 1, height_ratios=rows)) if len(rows) > 1 else [fig]
    top = panels[0]
    if observed is None:
        ax_mean, ax_spread = _map_axes(top, 1, 2)
    else:
        ax_truth, ax_mean, ax_error, ax_spread = _map_axes(top, 2, 2)
        _draw(ax_truth, lat, lon, observed, cmap, vmin, vmax, lsm)
        ax_truth.set_title(f"Truth, valid {_fmt_time(ds.init_time.values + lead)}")
        im = _draw(ax_error, lat, lon, mean - observed, "RdBu_r", -limit, limit, lsm)
        ax_error.set_title("Ensemble mean - truth")
        top.colorbar(im, ax=ax_error, label=f"difference [{units}]", shrink=0.8, extend="both")
    im = _draw(ax_mean, lat, lon, mean, cmap, vmin, vmax, lsm)
    ax_mean.set_title(f"Ensemble mean ({values.shape[0]} members)")
    top.colorbar(im, ax=[ax_truth, ax_mean] if observed is not None else ax_mean, label=label, shrink=0.8)
    im = _draw(ax_spread, lat, lon, spread, "magma_r", 0.0, _nice_max(spread), lsm)
    ax_spread.set_title("Ensemble spread (standard deviation)")
    top.colorbar(im, ax=ax_spread, label=f"spread [{units}]", shrink=0.8)
    if member_rows:
        axes = _map_axes(panels[1], member_rows, member_cols)
        _member_maps(panels[1], axes, ds, values, num_members, lat, lon, lsm, (cmap, vmin, vmax), label, "")
    if member_rows and observed is not None:
        axes = _map_axes(panels[2], member_rows, member_cols)
        _member_maps(panels[2], axes, ds, values - observed, num_members, lat, lon, lsm,
                     ("RdBu_r", -limit, limit), f"difference [{units}]", " - truth")
    fig.suptitle(_headline(ds, var, level, lead), fontsize=13)
    if lsm is not None and not _has_cartopy():
        fig.supxlabel(f"black line: land-sea mask = 0.5 ({coastline_status()})", x=0.99, ha="right",
                      fontsize=8, color="0.3")
    out = pathlib.Path(out_dir) / f"{_stem(var, level)}_lead{_hours(lead):03.0f}h_maps.png"
    return _save(fig, out)


def plot_plume(ds: xr.Dataset, var: str, lat: float, lon: float, *, level: int | None = None,
               out_dir: str | os.PathLike = ".", truth: xr.Dataset | None = None) -> pathlib.Path:
    """One PNG: every member and the ensemble mean at the grid point nearest (lat, lon).

    With ``truth``, every line starts at lead 0 from the truth at the initial time and
    the truth (at the times it has) is drawn over the members.
    """
    i, j = check_point(ds, var, lat, lon, level)
    scale, units = _units(ds, var)
    values = select_field(ds, var, level).isel(lat=i, lon=j).values.astype(np.float64) * scale  # [member, lead]
    hours = ds.lead_time.values / _HOUR
    grid_lat, grid_lon = float(ds.lat.values[i]), float(ds.lon.values[j])
    observed = None
    if truth is not None:
        times = ds.init_time.values + np.concatenate([[np.timedelta64(0, "ns")], ds.lead_time.values])
        observed = truth_field(truth, ds, var, level, times).isel(lat=i, lon=j)
        if ds.init_time.values not in observed["time"].values:
            raise ValueError(f"the truth has no data at the initial time {_fmt_time(ds.init_time.values)}: "
                             "a plume starts there")
        start = float(observed.sel(time=ds.init_time.values)) * scale
        values = np.concatenate([np.full((values.shape[0], 1), start), values], axis=1)
        hours = np.concatenate([[0.0], hours])

    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    if values.shape[0] > 1:
        low, high = np.nanpercentile(values, [10, 90], axis=0)
        ax.fill_between(hours, low, high, color="tab:blue", alpha=0.15, lw=0, label="10-90% of members")
    for k in range(values.shape[0]):
        ax.plot(hours, values[k], color="tab:blue", lw=0.9, alpha=0.55, label="members" if k == 0 else None)
    ax.plot(hours, np.nanmean(values, axis=0), color="black", lw=2.4, marker="o", ms=3.5,
            label="ensemble mean")
    if observed is not None:
        truth_hours = (observed["time"].values - ds.init_time.values) / _HOUR
        ax.plot(truth_hours, observed.values.astype(np.float64) * scale, color="tab:red", lw=2.4, marker="s",
                ms=4, zorder=5, label="truth")
    ax.set_xlim(0, hours[-1] + 0.5 * (hours[1] - hours[0] if hours.size > 1 else 12))
    ax.set_xticks(_lead_ticks(hours))
    valid = ds.init_time.values + ax.get_xticks() * _HOUR
    ax.set_xticklabels([f"+{h:g}h\n{_fmt_time(t, short=True)}" for h, t in zip(ax.get_xticks(), valid)],
                       fontsize=9)
    ax.set_xlabel("lead time / valid time (UTC)")
    ax.set_ylabel(f"{_short_label(ds, var)} [{units}]")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    where = (f"{_fmt_lat(grid_lat)}, {_fmt_lon(grid_lon)} "
             f"(grid point nearest {_fmt_lat(lat)}, {_fmt_lon(lon)})")
    level_text = f" at {level} hPa" if level is not None else ""
    ax.set_title(f"{_label(ds, var)}{level_text} at {where}\n"
                 f"init {_fmt_time(ds.init_time.values)}, {values.shape[0]} members", fontsize=12)
    place = f"{_fmt_lat(grid_lat)}_{_fmt_lon(grid_lon)}".replace("°", "")
    out = pathlib.Path(out_dir) / f"{_stem(var, level)}_plume_{place}.png"
    return _save(fig, out)


# -- helpers -----------------------------------------------------------------------------------


def _map_scales(var, members, mean, observed):
    """((cmap, vmin, vmax) shared by truth, mean and members; symmetric limit of the differences).

    members: ``[k, lat, lon]`` the members drawn (k may be 0); mean, observed: ``[lat, lon]``
    (observed None without truth, then the limit is None).
    """
    shown = [members, mean[None]] + ([observed[None]] if observed is not None else [])
    scale = _colour_scale(var, np.concatenate(shown))
    if observed is None:
        return scale, None
    return scale, _nice_max(np.abs(np.concatenate([(mean - observed)[None], members - observed])))


def _member_maps(panel, axes, ds, values, num_members, lat, lon, lsm, scale, label, suffix):
    cmap, vmin, vmax = scale
    for k, ax in enumerate(axes):
        if k >= num_members:
            ax.set_visible(False)
            continue
        im = _draw(ax, lat, lon, values[k], cmap, vmin, vmax, lsm, small=True)
        ax.set_title(f"Member {int(ds.member.values[k])}{suffix}", fontsize=10)
    panel.colorbar(im, ax=[a for a in axes if a.get_visible()], label=label, shrink=0.8,
                   extend="both" if suffix else "neither")


@functools.lru_cache(maxsize=1)
def coastline_status() -> str:
    """Why maps do or do not draw coastlines: ``"cartopy"`` when cartopy and its Natural
    Earth 110m coastlines are available, else a sentence saying what to install or fetch."""
    try:
        import cartopy  # noqa: F401
    except ImportError:
        return "install cartopy for coastlines: pip install 'mindgencast[maps]'"
    try:
        from cartopy.io import shapereader

        # Cached under cartopy.config["data_dir"] after the first (online) use.
        shapereader.natural_earth(resolution="110m", category="physical", name="coastline")
    except Exception as error:  # offline: urllib's URLError, or a damaged cache
        return (f"cartopy cannot load Natural Earth coastlines ({type(error).__name__}); fetch them once online "
                "or put them under cartopy.config['pre_existing_data_dir']")
    return "cartopy"


def _has_cartopy() -> bool:
    return coastline_status() == "cartopy"


def _map_axes(fig, rows, cols):
    if _has_cartopy():
        import cartopy.crs as ccrs

        axes = fig.subplots(rows, cols, squeeze=False,
                            subplot_kw={"projection": ccrs.PlateCarree(central_longitude=0)})
    else:
        axes = fig.subplots(rows, cols, squeeze=False)
    return list(axes.ravel())


def _draw(ax, lat, lon, values, cmap, vmin, vmax, lsm, small=False):
    """pcolormesh on cell edges, longitudes shown as -180..180 (Greenwich centred)."""
    order = np.argsort((lon + 180) % 360 - 180)
    lon_c = ((lon + 180) % 360 - 180)[order]
    values = values[:, order]
    lon_edges = _edges(lon_c)
    if np.isclose(lon_c[0], -180.0):
        # The 180° column is half at each edge: repeat it at +180 so no strip stays blank.
        lon_edges = np.append(lon_edges, lon_edges[-1] + (lon_edges[1] - lon_edges[0]))
        values = np.concatenate([values, values[:, :1]], axis=1)
    lat_edges = np.clip(_edges(lat), -90, 90)
    if _has_cartopy():
        import cartopy.crs as ccrs

        im = ax.pcolormesh(lon_edges, lat_edges, values, cmap=cmap, vmin=vmin, vmax=vmax,
                           transform=ccrs.PlateCarree())
        ax.coastlines(lw=0.6)
        ax.set_global()
        return im
    im = ax.pcolormesh(lon_edges, lat_edges, values, cmap=cmap, vmin=vmin, vmax=vmax)
    if lsm is not None and np.nanmin(lsm) < 0.5 < np.nanmax(lsm):
        # Repeat the first column at +360 deg so the coast closes across the date line.
        mask = lsm[:, order]
        ax.contour(np.append(lon_c, lon_c[0] + 360), lat, np.concatenate([mask, mask[:, :1]], axis=1),
                   levels=[0.5], colors="black", linewidths=0.6 if small else 0.9)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    step = 90 if small else 60
    ax.set_xticks(np.arange(-180, 181, step))
    ax.set_yticks(np.arange(-90, 91, 45 if small else 30))
    ax.set_xticklabels([_fmt_lon(x) for x in ax.get_xticks()], fontsize=7 if small else 8)
    ax.set_yticklabels([_fmt_lat(y) for y in ax.get_yticks()], fontsize=7 if small else 8)
    return im


def _edges(centres: np.ndarray) -> np.ndarray:
    centres = np.asarray(centres, dtype=np.float64)
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def _colour_scale(var, values):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "viridis", 0.0, 1.0
    if var in _DIVERGING:
        limit = float(np.percentile(np.abs(finite), 99.5)) or 1.0
        return "RdBu_r", -limit, limit
    low, high = (float(x) for x in np.percentile(finite, [0.5, 99.5]))
    if high <= low:
        high = low + 1.0
    if var.startswith("total_precipitation"):
        return "Blues", 0.0, high
    if "temperature" in var:
        return "RdYlBu_r", low, high
    if var == "specific_humidity":
        return "YlGnBu", low, high
    return "viridis", low, high


def _nice_max(values) -> float:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, 99.5)) if finite.size and np.percentile(finite, 99.5) > 0 else 1.0


def _units(ds, var):
    scale, units = _DISPLAY_UNITS.get(var, (1.0, None))
    return scale, units or ds[var].attrs.get("units", "?")


def _label(ds, var) -> str:
    return ds[var].attrs.get("long_name", var)


def _short_label(ds, var) -> str:
    """The long name when it fits a colour bar, else the variable name in words."""
    label = _label(ds, var)
    return label if len(label) <= 30 else var.replace("_", " ")


def _headline(ds, var, level, lead) -> str:
    level_text = f" at {level} hPa" if level is not None else ""
    valid = ds.init_time.values + lead
    return (f"{_label(ds, var)}{level_text}: init {_fmt_time(ds.init_time.values)}, "
            f"lead +{_fmt_hours(lead)}, valid {_fmt_time(valid)}")


def _stem(var, level) -> str:
    return var if level is None else f"{var}_{int(level)}hPa"


def _hours(delta) -> float:
    return float(np.timedelta64(delta, "ns") / _HOUR)


def _fmt_hours(delta) -> str:
    return f"{_hours(delta):g}h"


def _fmt_time(value, short=False) -> str:
    text = str(np.datetime64(value, "m")).replace("T", " ")
    return text[5:] + "Z" if short else text + " UTC"


def _fmt_lat(value: float) -> str:
    return f"{abs(value):g}°{'N' if value > 0 else 'S' if value < 0 else ''}"


def _fmt_lon(value: float) -> str:
    value = (value + 180) % 360 - 180
    if value == -180:
        return "180°"
    return f"{abs(value):g}°{'E' if 0 < value < 180 else 'W' if value < 0 else ''}"


def _lead_ticks(hours: np.ndarray) -> np.ndarray:
    span = hours[-1]
    every = 12 if span <= 72 else 24 if span <= 168 else 48
    return np.arange(0, span + 1e-9, every)


def _save(fig, out: pathlib.Path) -> pathlib.Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.png")
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return out
