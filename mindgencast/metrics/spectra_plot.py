"""Figure of zonal power spectra: members (solid) vs truth (dashed) per variable and lead time.

Reads the output of :func:`mindgencast.metrics.spectra.ensemble_spectra`; one panel per
variable (at one level), log-log axes, one colour per lead time, in the style of GenCast's
spectra figure (Price et al., 2024). Excess member power at high wavenumbers is noise the
sampler left in the members; a deficit is over-smoothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

__all__ = ["spectra_figure"]


def _panel_fields(spectra: xr.Dataset, level):
    for name, da in spectra.data_vars.items():
        if "level" in da.dims:
            levels = da["level"].values
            chosen = level if level in levels else levels[len(levels) // 2]
            yield f"{name} {int(chosen)} hPa", da.sel(level=chosen)
        else:
            yield name, da


def spectra_figure(
    spectra: xr.Dataset, lat_band: str = "30-60", level: int = 500, max_leads: int = 4, columns: int = 3
) -> Figure:
    """Members' and truth's zonal spectra at up to ``max_leads`` lead times (first to last).

    Args:
      spectra: from :func:`~mindgencast.metrics.spectra.ensemble_spectra`.
      lat_band: which latitude band to draw (a ``lat_band`` coordinate value).
      level: pressure level for 3-D variables (the middle level if absent).
    """
    if lat_band not in spectra["lat_band"].values:
        raise ValueError(f"lat_band {lat_band!r} not in the spectra (have {list(spectra['lat_band'].values)})")
    panels = list(_panel_fields(spectra.sel(lat_band=lat_band), level))
    leads = spectra["lead_time"].values
    picks = np.unique(np.linspace(0, len(leads) - 1, min(max_leads, len(leads))).round().astype(int))
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(3.8 * columns, 3.0 * rows + 0.5), dpi=100, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for ax, (title, da) in zip(axes, panels):
        k = da["wavenumber"].values[1:]
        for colour, i in zip(colours, picks):
            hours = pd.Timedelta(leads[i]) / pd.Timedelta("1h")
            members = da.sel(source="members").isel(lead_time=i).values[1:]
            truth = da.sel(source="truth").isel(lead_time=i).values[1:]
            ax.loglog(k, np.maximum(members, 1e-30), color=colour, label=f"members +{hours:g} h")
            ax.loglog(k, np.maximum(truth, 1e-30), color=colour, linestyle="--", alpha=0.7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("zonal wavenumber")
        ax.set_ylabel("power (units$^2$)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, title="solid: members, dashed: truth", title_fontsize=7)
    fig.suptitle(
        f"zonal power spectra, |lat| {lat_band} deg ({spectra.attrs.get('num_init_times', '?')} inits, "
        f"{spectra.attrs.get('num_members', '?')} members)"
    )
    return fig
