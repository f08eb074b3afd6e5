# Source of docs/tutorial/{en,zh}/04_verification.ipynb (python scripts/build_tutorials.py 04_verification).

CELLS = [
    ("md", r"""# 4. Verifying ensemble forecasts

How GenCast is scored (Price et al. 2024; WeatherBench 2): **fair CRPS**, **ensemble-mean
RMSE and spread/skill**, **rank histograms**, **Brier scores** and **reliability**. We first
build ensembles whose answer we know: the truth is `y = m + e` with a predictable part `m`
and an unpredictable part `e ~ N(0, 1)`, and an ensemble `m + b + s * N(0, 1)` with spread
`s` and bias `b`. The calibrated ensemble (`s = 1, b = 0`) is the best possible forecast.
Then we score a model rolled out on the synthetic world. Every score is the library's
(`mindgencast.metrics`), area-weighted on a latitude-longitude grid.""",
     r"""# 4. 集合预报的检验

GenCast 的评分方法（Price 等，2024；WeatherBench 2）：**公平 CRPS**、**集合平均 RMSE 与离散度/技巧比**、
**秩直方图**、**Brier 评分**与**可靠性**。我们先构造答案已知的集合：真值为 `y = m + e`，其中 `m` 是可预报
部分，`e ~ N(0, 1)` 是不可预报部分；集合为 `m + b + s * N(0, 1)`，离散度为 `s`、偏差为 `b`。
校准良好的集合（`s = 1, b = 0`）就是最好的预报。随后我们对一个在合成世界上滚动预报的模型打分。
所有评分均来自库（`mindgencast.metrics`），在经纬度网格上按面积加权。"""),
    ("code", r'''
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from mindgencast.config.builtin import builtin_config
from mindgencast.data.synthetic import SyntheticWorld
from mindgencast.demo import _oracle_forecast
from mindgencast.forecast.baselines import DampedPersistence
from mindgencast.forecast.initial_state import initial_state
from mindgencast.forecast.rollout import rollout
from mindgencast.metrics import (
    brier_score,
    brier_skill_score,
    crps,
    ensemble_mean_rmse,
    ensemble_spread,
    rank_histogram,
    spread_skill_ratio,
)

FAST = os.environ.get("MINDGENCAST_FAST") == "1"
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "mindgencast").is_dir())
FIG = Path(os.environ.get("MINDGENCAST_TUTORIAL_FIGURES", ROOT / "docs" / "tutorial" / "figures"))
FIG.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

CASES = 4 if FAST else 16
lat, lon = np.arange(-87.5, 90, 5.0), np.arange(0, 360, 5.0)
dims = ("case", "lat", "lon")
coords = {"case": np.arange(CASES), "lat": lat, "lon": lon}
m = xr.DataArray(rng.standard_normal((CASES, lat.size, lon.size)), coords, dims)
truth = m + xr.DataArray(rng.standard_normal(m.shape), coords, dims)


def ensemble(spread=1.0, bias=0.0, members=10):
    noise = rng.standard_normal((members, *m.shape))
    return m + bias + spread * xr.DataArray(noise, {**coords, "member": np.arange(members)}, ("member", *dims))


print(f"{CASES} cases x {lat.size} x {lon.size} grid points")
'''),
    ("md", r"""## 4.1 Fair CRPS versus MAE

For a Gaussian forecast `N(m, s^2)` of `y = m + e`, the expected CRPS is
`sqrt(2 (1 + s^2) / pi) - s / sqrt(pi)`, smallest at the true spread `s = 1`. The MAE of the
ensemble mean ignores the spread and only rewards a good mean. With few members the
standard CRPS estimator (pairs over `M^2`) is biased towards too little spread; the
**fair** estimator (`M (M - 1)` pairs), which GenCast reports, is not.""",
     r"""## 4.1 公平 CRPS 与 MAE

对 `y = m + e` 的高斯预报 `N(m, s^2)`，CRPS 的期望为 `sqrt(2 (1 + s^2) / pi) - s / sqrt(pi)`，在真实离散度
`s = 1` 处取最小。集合平均的 MAE 不考虑离散度，只奖励好的均值。成员较少时，标准 CRPS 估计
（对 `M^2` 个成员对求和）偏向于离散度过小；GenCast 报告的**公平**估计（`M (M - 1)` 个成员对）则没有这种偏差。"""),
    ("code", r'''
spreads = np.linspace(0.0, 2.5, 11)
members = 4
rows = []
for s in spreads:
    f = ensemble(spread=s, members=members)
    rows.append({"s": s,
                 "fair CRPS": float(crps(f, truth, fair=True, average_dims=("case",))),
                 "standard CRPS": float(crps(f, truth, fair=False, average_dims=("case",))),
                 "MAE of the mean": float(abs(f.mean("member") - truth).mean())})
table = pd.DataFrame(rows).set_index("s")
s_fine = np.linspace(0, 2.5, 200)
analytic = np.sqrt(2 * (1 + s_fine**2) / np.pi) - s_fine / np.sqrt(np.pi)

fig, ax = plt.subplots(figsize=(7.5, 4.2))
ax.plot(s_fine, analytic, "k-", lw=1, label="expected CRPS (formula)")
ax.plot(table.index, table["fair CRPS"], "o", label=f"fair CRPS, {members} members")
ax.plot(table.index, table["standard CRPS"], "s", mfc="none", label=f"standard CRPS, {members} members")
ax.plot(table.index, table["MAE of the mean"], "^-", alpha=0.6, label="MAE of the ensemble mean")
ax.axvline(1.0, color="0.5", ls=":")
ax.set_xlabel("ensemble spread s (truth: 1)")
ax.set_ylabel("score (lower is better)")
ax.set_title("CRPS is minimised by the right spread; MAE is not")
ax.legend(fontsize=8)
fig.savefig(FIG / "04_crps_vs_mae.png", dpi=110, bbox_inches="tight")
plt.show()
print(table.round(3).to_string())
print("argmin: fair", table["fair CRPS"].idxmin(), "| standard", table["standard CRPS"].idxmin(),
      "| MAE", table["MAE of the mean"].idxmin())
'''),
    ("md", r"""## 4.2 Spread and skill

A calibrated ensemble's spread (the mean member standard deviation) matches the RMSE of its
mean, up to the finite-ensemble factor `sqrt((M + 1) / M)`: the spread/skill ratio is about 1.
Below 1 the ensemble is over-confident, above 1 under-confident.""",
     r"""## 4.2 离散度与技巧

校准良好的集合，其离散度（成员标准差的平均）与集合平均的 RMSE 相当，只差一个有限集合因子
`sqrt((M + 1) / M)`：离散度/技巧比约为 1。小于 1 说明集合过于自信，大于 1 则说明信心不足。"""),
    ("code", r'''
for s in (0.5, 1.0, 2.0):
    f = ensemble(spread=s, members=10)
    ratio = float(spread_skill_ratio(f, truth, average_dims=("case",)))
    corrected = float(spread_skill_ratio(f, truth, corrected=True, average_dims=("case",)))
    rmse = float(ensemble_mean_rmse(f, truth, average_dims=("case",)))
    spread = float(ensemble_spread(f, average_dims=("case",)))
    print(f"s = {s:3.1f}: RMSE of the mean {rmse:.3f}, spread {spread:.3f}, spread/skill {ratio:.3f} "
          f"(with sqrt((M+1)/M): {corrected:.3f})")
'''),
    ("md", r"""## 4.3 Rank histograms

Where does the truth fall among the sorted members? For a calibrated ensemble every one of
the `M + 1` ranks is equally likely: a **flat** histogram. Too little spread puts the truth
outside the ensemble too often (**U**-shape); too much spread, in the middle (a **dome**); a
bias **slopes** it.""",
     r"""## 4.3 秩直方图

真值落在排好序的成员中的哪个位置？对于校准良好的集合，`M + 1` 个秩出现的概率相同：直方图是**平的**。
离散度太小，真值过于频繁地落在集合之外（**U** 形）；离散度太大，真值集中在中间（**穹顶形**）；
有偏差时直方图**倾斜**。"""),
    ("code", r'''
cases = {"calibrated (s=1)": dict(spread=1.0), "under-dispersive (s=0.5)": dict(spread=0.5),
         "over-dispersive (s=2)": dict(spread=2.0), "biased (b=+0.7)": dict(bias=0.7)}
fig, axes = plt.subplots(1, 4, figsize=(14, 3.2), sharey=True, layout="constrained")
for ax, (name, kw) in zip(axes, cases.items()):
    counts = rank_histogram(ensemble(members=10, **kw), truth, reduce_dims=("case",))
    freq = counts / counts.sum()
    ax.bar(counts["rank"], freq, color="tab:blue")
    ax.axhline(1 / counts.sizes["rank"], color="k", ls="--", lw=1)
    ax.set_title(name)
    ax.set_xlabel("rank of the truth among 10 members")
axes[0].set_ylabel("frequency")
fig.savefig(FIG / "04_rank_histograms_constructed.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""### From a model

Now ensembles rolled out on the **synthetic world** (`docs/synthetic_world.md`): its exact
conditional ensemble (the *oracle*, a perfect model) and **damped persistence**, the
library's cheap stochastic baseline model (`mindgencast.forecast.baselines`), both rolled
out with the same rollout code GenCast uses. (Notebook 03 draws the tiny GenCast's own rank
histogram.)""",
     r"""### 来自模型的集合

下面是在**合成世界**（`docs/synthetic_world.md`）上滚动得到的集合：它的精确条件集合（*oracle*，即完美模型），
以及**阻尼持续性**预报——库中一个廉价的随机基准模型（`mindgencast.forecast.baselines`）。两者都用与
GenCast 相同的滚动代码生成。（小型 GenCast 自己的秩直方图见笔记 03。）"""),
    ("code", r'''
task = builtin_config("gencast_tiny").task_config
world = SyntheticWorld(task, 10.0, seed=0, time_step="12h")
STEPS, MEMBERS, INITS = (4, 10, 2) if FAST else (4, 10, 6)
var, level = "geopotential", 500
hist = {"oracle (perfect model)": 0, "damped persistence": 0}
for k in range(INITS):
    start = pd.Timestamp("2001-01-01") + pd.Timedelta(days=20 * k)
    data = world.generate(start, days=STEPS / 2 + 2)
    init = start + pd.Timedelta(hours=12)
    state = initial_state(data, task, init_time=init)
    models = {
        "oracle (perfect model)": _oracle_forecast(world, data, init, STEPS, MEMBERS, seed=k),
        "damped persistence": rollout(DampedPersistence(), state.inputs, state.targets_template, num_steps=STEPS,
                                      num_members=MEMBERS, seed=k, init_time=state.init_time, progress=False,
                                      input_variables=task.input_variables,
                                      forcing_variables=task.forcing_variables),
    }
    for name, f in models.items():
        f = f[var].sel(level=level).isel(lead_time=-1)
        valid = f["valid_time"].values
        t = data[var].sel(level=level, time=valid)
        hist[name] = hist[name] + rank_histogram(f.drop_vars([c for c in f.coords if c not in f.dims]),
                                                 t.drop_vars([c for c in t.coords if c not in t.dims]),
                                                 weighted=True)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.3), sharey=True, layout="constrained")
for ax, (name, counts) in zip(axes, hist.items()):
    ax.bar(counts["rank"], counts / counts.sum(), color="tab:green")
    ax.axhline(1 / counts.sizes["rank"], color="k", ls="--", lw=1)
    ax.set_title(f"{name}: z500, +{12 * STEPS} h, {INITS} inits")
    ax.set_xlabel(f"rank among {MEMBERS} members")
axes[0].set_ylabel("area-weighted frequency")
fig.savefig(FIG / "04_rank_histograms_models.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""## 4.4 Brier scores and reliability

For an event (here: the truth above its climatological 90th percentile, `y > 1.2816 * sqrt(2)`),
the ensemble gives a probability `p` = the fraction of members above the threshold, and the
**Brier score** is the mean of `(p - o)^2`, with `o` = 1 if the event happened. The **Brier
skill score** compares it with always forecasting the climatological 10%. A **reliability
diagram** bins the forecasts by `p` and plots how often the event happened: a reliable
forecast lies on the diagonal.""",
     r"""## 4.4 Brier 评分与可靠性

对一个事件（这里是：真值超过其气候 90% 分位数，`y > 1.2816 * sqrt(2)`），集合给出的概率 `p` 是超过阈值
的成员所占比例，**Brier 评分**是 `(p - o)^2` 的平均，其中事件发生时 `o` = 1。**Brier 技巧评分**把它与始终
预报气候概率 10% 的做法相比。**可靠性图**按 `p` 对预报分组，并画出事件实际发生的频率：可靠的预报
落在对角线上。"""),
    ("code", r'''
threshold = 1.2816 * np.sqrt(2.0)  # the truth y = m + e is N(0, 2)
# Climatology as a 10-member ensemble with exactly one member above the threshold: p = 0.1 everywhere.
climatology = xr.concat([truth * 0 + 1e9] + [truth * 0 - 1e9] * 9, "member")
reference = brier_score(climatology, truth, threshold, average_dims=("case",))
fig, ax = plt.subplots(figsize=(5.5, 5.2))
ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect reliability")
observed = (truth > threshold)
for name, kw in {"calibrated (s=1)": dict(spread=1.0), "under-dispersive (s=0.5)": dict(spread=0.5),
                 "over-dispersive (s=2)": dict(spread=2.0)}.items():
    f = ensemble(members=20, **kw)
    bs = float(brier_score(f, truth, threshold, average_dims=("case",)))
    bss = float(brier_skill_score(bs, reference))
    p = (f > threshold).mean("member").values.ravel()
    o = observed.values.ravel()
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(p, bins) - 1, 0, 9)
    centre = [p[which == b].mean() for b in range(10) if (which == b).sum() > 20]
    freq = [o[which == b].mean() for b in range(10) if (which == b).sum() > 20]
    ax.plot(centre, freq, "o-", label=f"{name}: BS {bs:.4f}, BSS {bss:+.2f}")
ax.set_xlabel("forecast probability p")
ax.set_ylabel("observed frequency")
ax.set_title(f"Reliability, event y > q90 (climatology BS {float(reference):.4f})", fontsize=10)
ax.legend(fontsize=7.5, loc="upper left")
ax.set_aspect("equal")
fig.savefig(FIG / "04_reliability.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""**What to remember.** CRPS rewards both a good mean and the right spread (MAE only the
mean); use the fair estimator with small ensembles. Spread/skill near 1 and a flat rank
histogram say the spread is right on average; the shape of the histogram says how it is
wrong. Brier scores and reliability diagrams do the same for the probability of an event.
`mindgencast evaluate` computes all of them per variable, level, lead time and region
(`docs/evaluation.md`).""",
     r"""**要点。** CRPS 同时奖励好的均值和正确的离散度（MAE 只看均值）；集合较小时应使用公平估计。
离散度/技巧比接近 1、秩直方图平坦，说明离散度平均而言是对的；直方图的形状则说明错在哪里。
Brier 评分和可靠性图对事件概率做同样的检验。`mindgencast evaluate` 会按变量、气压层、预报时效和
区域计算所有这些评分（见 `docs/evaluation.md`）。"""),
]
