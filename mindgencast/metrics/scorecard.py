"""Scorecard and lead-time curves of evaluation scores (PNG, matplotlib Agg).

The scorecard follows GenCast's Fig. 2 (Price et al., 2024): one cell per
variable/level (rows) and lead time (columns), coloured by the percentage difference
``100 (score - baseline) / baseline`` of CRPS and ensemble-mean RMSE; blue means the
forecast is better (lower), red worse. Curves show CRPS, RMSE (with spread) and
spread/skill against lead time, one panel per variable/level.

Figures are built with ``matplotlib.figure.Figure`` (Agg canvas), so no global pyplot
state or display is touched.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from mindgencast.config.variables import VARIABLES

__all__ = ["percent_change", "scorecard_figure", "curves_figure", "CURVE_PLOTS"]

_BASELINE_COLOURS = ("0.45", "tab:orange", "tab:green", "tab:purple", "tab:brown")
# file stem -> (title, forecast metrics drawn solid/dotted, y label)
CURVE_PLOTS = {
    "crps": ("CRPS", ("crps",), "CRPS"),
    "rmse": ("Ensemble-mean RMSE (solid) and spread (dotted)", ("ensemble_mean_rmse", "ensemble_spread"), "RMSE"),
    "spread_skill": ("Spread/skill ratio (WB2, no (M+1)/M factor)", ("spread_skill_ratio",), "spread / RMSE"),
}


def percent_change(scores: xr.Dataset, variable: str, metric: str) -> xr.DataArray:
    """``100 (metric - baseline_metric) / baseline_metric`` of one variable (negative = better)."""
    da = scores[variable]
    return 100.0 * (da.sel(metric=metric) - da.sel(metric=f"baseline_{metric}")) / da.sel(metric=f"baseline_{metric}")


def _score_variables(scores: xr.Dataset):
    return [v for v in scores.data_vars if not v.endswith("_rank_histogram")]


def _rows(scores: xr.Dataset, variable: str):
    """(label, selection) per level of a variable."""
    da = scores[variable]
    if "level" not in da.dims:
        return [(variable, {})]
    return [(f"{variable} {int(lev)} hPa", {"level": lev}) for lev in da["level"].values]


def _lead_axis(lead_time) -> tuple[np.ndarray, str]:
    hours = pd.to_timedelta(np.asarray(lead_time)) / pd.Timedelta(hours=1)
    hours = np.asarray(hours, dtype=np.float64)
    return (hours / 24.0, "lead time (days)") if hours.max() >= 48 else (hours, "lead time (hours)")


def _lead_labels(lead_time) -> list[str]:
    values, unit = _lead_axis(lead_time)
    suffix = "d" if "days" in unit else "h"
    return [f"{v:g}{suffix}" for v in values]


def scorecard_figure(scores: xr.Dataset, region: str = "global", metrics=("crps", "ensemble_mean_rmse")) -> Figure:
    """Heat map of % difference to the baseline: rows variable/level, columns lead time.

    Args:
      scores: result of :func:`mindgencast.metrics.evaluation.evaluate` with a baseline.
      region: which region to show.
      metrics: metrics with a ``baseline_<metric>`` counterpart, one panel each.

    Raises:
      ValueError if ``scores`` has no baseline scores for ``metrics``.
    """
    variables = _score_variables(scores)
    if not variables:
        raise ValueError("no scores to plot")
    available = scores[variables[0]]["metric"].values
    missing = [m for m in metrics if m not in available or f"baseline_{m}" not in available]
    if missing:
        raise ValueError(f"the scorecard needs forecast and baseline scores for {missing}; evaluate with a baseline")
    rows = [(label, v, sel) for v in variables for label, sel in _rows(scores, v)]
    lead = scores["lead_time"].values
    tables = []
    for m in metrics:
        table = np.array([percent_change(scores, v, m).sel(region=region, **sel).values for _, v, sel in rows])
        tables.append(table.reshape(len(rows), lead.size))
    finite = np.concatenate([np.abs(t[np.isfinite(t)]) for t in tables])
    limit = float(np.clip(np.max(finite, initial=0.0), 5.0, 50.0))
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)

    cell = 0.55 if lead.size <= 12 else 0.32  # inches per lead-time column
    label_width = 0.08 * max(len(r[0]) for r in rows)
    width = max(6.0, label_width + len(metrics) * (lead.size * cell + 0.6))
    height = 2.4 + len(rows) * 0.32
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
    annotate = lead.size <= 24 and len(rows) <= 60
    for ax, m, table in zip(axes, metrics, tables):
        image = ax.imshow(table, cmap="RdBu_r", norm=norm, aspect="auto", interpolation="nearest")
        ax.set_title(f"{m} vs baseline (%)", fontsize=10)
        ax.set_xticks(range(lead.size), _lead_labels(lead), fontsize=8, rotation=90 if lead.size > 12 else 0)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
        ax.set_xlabel(_lead_axis(lead)[1].replace(" (days)", "").replace(" (hours)", ""), fontsize=9)
        ax.set_xticks(np.arange(lead.size + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(len(rows) + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", linewidth=1.0)
        ax.tick_params(which="minor", length=0)
        if annotate:
            for (i, j), value in np.ndenumerate(table):
                if np.isfinite(value):
                    dark = abs(value) > 0.6 * limit
                    ax.text(j, i, f"{value:+.0f}" if abs(value) >= 10 else f"{value:+.1f}", ha="center", va="center",
                            fontsize=7.5, color="white" if dark else "black")
    colorbar = fig.colorbar(image, ax=list(axes), location="bottom", shrink=0.5, aspect=40, extend="both")
    colorbar.set_label("% difference to baseline  (blue: forecast better, red: worse)", fontsize=9)
    fig.suptitle(
        f"Scorecard, region: {region}; baseline: {scores.attrs.get('baseline', '?')}; "
        f"{scores.attrs.get('num_init_times', '?')} init times, {scores.attrs.get('ensemble_size', '?')} members",
        fontsize=10,
    )
    return fig


def curves_figure(scores: xr.Dataset, plot: str, region: str = "global", columns: int = 4) -> Figure:
    """Lead-time curves of one of :data:`CURVE_PLOTS` (``"crps"``, ``"rmse"``, ``"spread_skill"``).

    One panel per variable/level; the forecast solid (blue), the baseline dashed (grey)
    when present; spread dotted in the RMSE plot; a reference line at 1 for spread/skill.
    """
    if plot not in CURVE_PLOTS:
        raise ValueError(f"unknown plot {plot!r}; choose from {list(CURVE_PLOTS)}")
    title, metric_names, ylabel = CURVE_PLOTS[plot]
    variables = _score_variables(scores)
    rows = [(label, v, sel) for v in variables for label, sel in _rows(scores, v)]
    available = scores[variables[0]]["metric"].values
    metric_names = [m for m in metric_names if m in available]
    if not metric_names:
        raise ValueError(f"the scores hold none of {CURVE_PLOTS[plot][1]} needed for the {plot} plot")
    columns = max(1, min(columns, len(rows)))
    n_rows = math.ceil(len(rows) / columns)
    fig = Figure(figsize=(3.6 * columns, 2.7 * n_rows + 0.6), dpi=100, layout="constrained")
    axes = fig.subplots(n_rows, columns, squeeze=False).ravel()
    x, xlabel = _lead_axis(scores["lead_time"].values)
    styles = {0: "-", 1: ":"}
    for ax, (label, v, sel) in zip(axes, rows):
        da = scores[v].sel(region=region, **sel)
        # Several baselines: forecast metrics repeat along ``baseline``; one colour per baseline.
        names = [str(b) for b in da["baseline"].values] if "baseline" in da.dims else [None]
        forecast = da.isel(baseline=0) if "baseline" in da.dims else da
        for k, m in enumerate(metric_names):
            ax.plot(x, forecast.sel(metric=m).values, styles[k], color="tab:blue", marker=".", label=f"forecast {m}")
            for name, colour in zip(names, _BASELINE_COLOURS):
                reference = da if name is None else da.sel(baseline=name)
                if f"baseline_{m}" in available and np.isfinite(reference.sel(metric=f"baseline_{m}").values).any():
                    ax.plot(x, reference.sel(metric=f"baseline_{m}").values, "--" if k == 0 else ":", color=colour,
                            marker=".", label=f"{name or 'baseline'} {m}")
        if plot == "spread_skill":
            ax.axhline(1.0, color="k", linewidth=0.8, alpha=0.6)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        info = VARIABLES.get(v)
        units = f" ({info.units})" if info is not None and plot != "spread_skill" else ""
        ax.set_ylabel(ylabel + units, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(rows):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)), fontsize=8)
    fig.suptitle(f"{title}; region: {region}", fontsize=10)
    return fig
