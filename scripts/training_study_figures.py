"""Figures of docs/training_study.md from the CSV / NetCDF outputs of the study scripts.

usage: python scripts/training_study_figures.py sigma OUT.png LABEL=FILE.csv ...
       python scripts/training_study_figures.py spectra OUT.png LABEL=FILE_spectra.nc ... [oracle=FILE]
       python scripts/training_study_figures.py loss OUT.png LABEL=history.json ...
"""

import json
import sys

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

FIELDS = (("geopotential", 500), ("temperature", 850), ("2m_temperature", None))


def _pairs(args):
    return [a.split("=", 1) for a in args]


def sigma_figure(out, pairs):
    fig = Figure(figsize=(11, 3.4), dpi=100, layout="constrained")
    axes = fig.subplots(1, 3)
    for label, path in pairs:
        t = pd.read_csv(path)
        axes[0].loglog(t["sigma"], t["loss"], marker="o", label=label)
        axes[1].semilogx(t["sigma"], t["geopotential_high"], marker="o", label=label)
        axes[2].semilogx(t["sigma"], t["2m_temperature_high"], marker="o", label=label)
    axes[0].set_title("held-out loss")
    axes[1].set_title("geopotential: noise left, k >= 8")
    axes[2].set_title("t2m: noise left, k >= 8")
    for ax in axes:
        ax.set_xlabel("sigma")
        ax.grid(True, which="both", alpha=0.3)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].set_ylabel("ideal denoiser: 0")
    axes[0].legend(fontsize=8)
    fig.savefig(out)


def spectra_figure(out, pairs):
    fig = Figure(figsize=(12, 3.6), dpi=100, layout="constrained")
    axes = fig.subplots(1, 3)
    styles = ["-", "--", ":", "-."]
    truth_drawn = False
    for (label, path), style in zip(pairs, styles * 3):
        s = xr.load_dataset(path, decode_timedelta=True)
        for ax, (name, level) in zip(axes, FIELDS):
            da = s[name] if level is None else s[name].sel(level=level)
            da = da.sel(lat_band="30-60")
            k = da["wavenumber"].values[1:]
            leads = da["lead_time"].values
            for i, colour in ((0, "tab:blue"), (len(leads) - 1, "tab:red")):
                hours = pd.Timedelta(leads[i]) / pd.Timedelta("1h")
                ax.loglog(
                    k,
                    np.maximum(da.sel(source="members").isel(lead_time=i).values[1:], 1e-12),
                    colour,
                    linestyle=style,
                    label=f"{label} +{hours:g} h",
                )
                if not truth_drawn:
                    ax.loglog(
                        k,
                        np.maximum(da.sel(source="truth").isel(lead_time=i).values[1:], 1e-12),
                        "k",
                        linestyle=style,
                        alpha=0.5,
                        label=f"truth +{hours:g} h" if ax is axes[0] else None,
                    )
            ax.set_title(f"{name}{'' if level is None else level}, |lat| 30-60")
            ax.set_xlabel("zonal wavenumber")
            ax.grid(True, which="both", alpha=0.3)
        truth_drawn = True
    axes[0].legend(fontsize=7)
    axes[0].set_ylabel("power (units^2)")
    fig.savefig(out)


def loss_figure(out, pairs):
    fig = Figure(figsize=(6, 3.6), dpi=100, layout="constrained")
    ax = fig.subplots()
    for label, path in pairs:
        h = json.load(open(path))["history"]
        loss = np.array([r["loss"] for r in h])
        window = 50
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(smooth.size) + window, smooth, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (50-step mean)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(out)


if __name__ == "__main__":
    kind, out, *rest = sys.argv[1:]
    {"sigma": sigma_figure, "spectra": spectra_figure, "loss": loss_figure}[kind](out, _pairs(rest))
