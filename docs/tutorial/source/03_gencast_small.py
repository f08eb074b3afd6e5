# Source of docs/tutorial/{en,zh}/03_gencast_small.ipynb (python scripts/build_tutorials.py 03_gencast_small).

CELLS = [
    ("md", r"""# 3. GenCast in small

The whole GenCast pipeline on a model small enough for a laptop: the tiny GenCast
(`configs/gencast_tiny.yaml`: 10 deg grid, 3 pressure levels, mesh 2, latent 32) trained on
the **synthetic world** (`docs/synthetic_world.md`), an ERA5-format world with a known law
whose exact conditional ensemble (the *oracle*) is the best forecast any model could make.

1. make the data and train briefly;
2. **watch the sampler**: the 20 noise levels of DPM-Solver++ 2S turning noise into a field;
3. roll out an ensemble in 12-hour steps: maps, plumes and scores against the oracle.

Everything is a library call; `MINDGENCAST_FAST=1` shrinks the sizes for CI.""",
     r"""# 3. 小型 GenCast

在笔记本电脑上就能跑通的完整 GenCast 流程：小型 GenCast（`configs/gencast_tiny.yaml`：10 度网格、
3 个气压层、2 级网格、隐层宽度 32），在**合成世界**（`docs/synthetic_world.md`）上训练。合成世界
采用 ERA5 格式，其演化规律已知，它的精确条件集合（即 *oracle*）是任何模型所能做到的最好预报。

1. 生成数据并做短时间训练；
2. **观察采样器**：DPM-Solver++ 2S 的 20 个噪声水平如何把噪声变成一个场；
3. 以 12 小时为步长滚动生成集合预报：地图、羽状图（plume）以及相对 oracle 的评分。

每一步都是对库函数的调用；设置 `MINDGENCAST_FAST=1` 可在 CI 中缩小规模。"""),
    ("code", r'''
import os
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mindspore as ms
import numpy as np
import pandas as pd
from IPython.display import Image, display

from mindgencast.config.builtin import builtin_config
from mindgencast.data.store import write_store
from mindgencast.data.synthetic import SyntheticWorld
from mindgencast.demo import _oracle_forecast
from mindgencast.forecast.forecast_job import ForecastJob
from mindgencast.forecast.plots import plot_maps, plot_plume
from mindgencast.grid_stacking import nodes_to_dataset
from mindgencast.metrics import rank_histogram
from mindgencast.metrics.evaluation import evaluate
from mindgencast.training.job import run_training

FAST = os.environ.get("MINDGENCAST_FAST") == "1"
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "mindgencast").is_dir())
FIG = Path(os.environ.get("MINDGENCAST_TUTORIAL_FIGURES", ROOT / "docs" / "tutorial" / "figures"))
FIG.mkdir(parents=True, exist_ok=True)
WORK = Path(tempfile.mkdtemp(prefix="mindgencast_tutorial03_"))
ms.set_context(mode=ms.GRAPH_MODE)

TRAIN_DAYS, TRAIN_STEPS = (12, 4) if FAST else (60, 100)
STEPS, MEMBERS = (2, 3) if FAST else (6, 8)
print(f"fast mode: {FAST}")
'''),
    ("md", r"""## 3.1 Data and training

The synthetic world writes the same files real ERA5 needs: data in WeatherBench2 layout, the
four normalisation-statistics files, and a packed training store. `run_training` is what
`mindgencast train` runs: AdamW, warm-up + cosine schedule, GenCast's denoising loss
(noise levels drawn from the training distribution, loss weight `lambda(sigma) = c_out^-2`).""",
     r"""## 3.1 数据与训练

合成世界写出的文件与真实 ERA5 所需的完全相同：WeatherBench2 格式的数据、四个归一化统计文件，
以及打包好的训练库（store）。`run_training` 就是 `mindgencast train` 执行的内容：AdamW、
预热 + 余弦学习率、GenCast 的去噪损失（噪声水平从训练分布中抽取，损失权重
`lambda(sigma) = c_out^-2`）。"""),
    ("code", r'''
cfg = builtin_config("gencast_tiny")
world = SyntheticWorld(cfg.task_config, cfg.grid.resolution, seed=0, time_step="12h")
train_data = world.generate("2000-01-01", days=TRAIN_DAYS)
world.write_stats(WORK / "stats")
write_store(WORK / "store.h5", train_data, cfg.task_config)
print(f"training data: {train_data.sizes['time']} times x {len(train_data.data_vars)} variables on a "
      f"{train_data.sizes['lat']} x {train_data.sizes['lon']} grid")
history = run_training("gencast_tiny", str(WORK / "store.h5"), str(WORK / "stats"), str(WORK / "checkpoint"),
                       steps=TRAIN_STEPS, batch_size=4, learning_rate=2e-3, warmup_steps=max(1, TRAIN_STEPS // 10),
                       log_every=max(1, TRAIN_STEPS // 4))
loss = np.array([h["loss"] for h in history])
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(loss, lw=0.8, alpha=0.6, label="loss per step")
window = max(1, len(loss) // 10)
ax.plot(np.arange(window - 1, len(loss)), np.convolve(loss, np.ones(window) / window, "valid"), lw=2,
        label=f"running mean ({window} steps)")
ax.set_xlabel("training step")
ax.set_ylabel("GenCast loss")
ax.set_yscale("log")
ax.legend()
ax.set_title("Training the tiny GenCast on the synthetic world")
fig.savefig(FIG / "03_training_loss.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""## 3.2 Watching the 20 solver steps

A forecast step draws pure noise at `sigma_0 = 80` (the first churn step raises it a little) (the data are normalised residuals with
standard deviation ~1) and runs DPM-Solver++ 2S down a rho = 7 schedule of 20 noise levels
to `sigma = 0`, calling the denoiser `D(x; sigma)` twice per level. The samplers only ever see
a denoiser callable, so we can watch what they ask it: we wrap the model's `denoiser_fn` to
record every call, then run one forecast step.""",
     r"""## 3.2 观察 20 步求解器

每个预报步先在 `sigma_0 = 80` 抽取纯噪声（第一步的 churn 会把它再抬高一点）（数据是归一化后的残差，标准差约为 1），再沿 rho = 7 的
20 个噪声水平用 DPM-Solver++ 2S 一直走到 `sigma = 0`，每个噪声水平调用两次去噪器 `D(x; sigma)`。
采样器只接触一个去噪器可调用对象，因此我们可以观察它向去噪器提出的每个请求：把模型的
`denoiser_fn` 包一层来记录每一次调用，然后运行一个预报步。"""),
    ("code", r'''
truth_start = pd.Timestamp("2000-01-01") + pd.Timedelta(days=TRAIN_DAYS + 10)
init_time = truth_start + pd.Timedelta(hours=12)
truth = world.generate(truth_start, days=(STEPS + 2) / 2 + 1)
job = ForecastJob.prepare(str(WORK / "checkpoint"), str(WORK / "stats"), truth, init_time=init_time)
model = job.forecaster.model

calls = []
original_denoiser_fn = model.denoiser_fn

def recording_denoiser_fn(inputs, template, forcings):
    denoise = original_denoiser_fn(inputs, template, forcings)
    def recorded(x, sigma):
        out = denoise(x, sigma)
        calls.append((float(np.max(sigma)), nodes_to_dataset(np.asarray(x, np.float32), template),
                      nodes_to_dataset(np.asarray(out, np.float32), template)))
        return out
    return recorded

model.denoiser_fn = recording_denoiser_fn  # an instance attribute: only this model, only here
# All members in one batch, as in the rollout below (one compiled graph); we watch member 0.
one_step = job.forecaster.rollout(job.inputs, job.targets_template, None, num_steps=1, num_members=MEMBERS,
                                  init_time=job.init_time, progress=False)
del model.denoiser_fn  # back to the method
print(f"{len(calls)} denoiser calls; noise levels {calls[0][0]:.1f} -> {calls[-1][0]:.3f}")
'''),
    ("code", r'''
var = "2m_temperature"
picks = np.unique(np.linspace(0, len(calls) - 1, 6).round().astype(int))
fig, axes = plt.subplots(2, len(picks), figsize=(2.6 * len(picks), 4.2), layout="constrained")
for col, i in enumerate(picks):
    sigma, x, d = calls[i]
    for row, (field, name) in enumerate(((x, "noisy state x"), (d, "denoised D(x; sigma)"))):
        values = field[var].isel(batch=0, time=0).values
        lim = 3.0 if row == 1 else max(3.0, np.abs(values).max())
        im = axes[row, col].imshow(values, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim,
                                   extent=[0, 360, -90, 90])
        axes[row, col].set_xticks([])
        axes[row, col].set_yticks([])
        axes[row, col].set_title(f"{name}\ncall {i + 1}, sigma = {sigma:.3g}" if row == 0 else name, fontsize=8)
fig.suptitle(f"{var} (normalised residual): DPM-Solver++ 2S from noise to a forecast", fontsize=11)
fig.savefig(FIG / "03_denoising_steps.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""Early on, `x` is almost pure noise (colour scale up to `sigma`) and `D` predicts a smooth,
mean-like field; as `sigma` falls, `D` commits to details and `x` converges to it. The last
call returns the sample itself.

## 3.3 An ensemble rollout

Each member starts from its own noise and the 12-hour steps are chained: the sampled state
becomes an input of the next step. Below: maps of the ensemble mean, spread and members at
the last lead, a plume at one grid point, and scores against the truth with the world's
exact oracle ensemble as the baseline.""",
     r"""开始时 `x` 几乎是纯噪声（色标可达 `sigma`），`D` 预测出一个平滑的、接近均值的场；随着 `sigma`
减小，`D` 逐步确定细节，`x` 也收敛到它。最后一次调用返回的就是样本本身。

## 3.3 集合滚动预报

每个成员从各自的噪声出发，12 小时的预报步首尾相接：采样得到的状态成为下一步的输入。下面给出
最后一个预报时效的集合平均、离散度和各成员地图，一个格点上的羽状图，以及以合成世界的精确
oracle 集合为基准、对照真值的评分。"""),
    ("code", r'''
forecast = job.forecaster.rollout(job.inputs, job.targets_template, None, num_steps=STEPS, num_members=MEMBERS,
                                  init_time=job.init_time, progress=False)
forecast = forecast.assign_coords(init_time=np.datetime64(init_time, "ns"))
for name in forecast.data_vars:  # units and names for the plots, as the NetCDF writer adds them
    forecast[name].attrs.update(truth[name].attrs)
lead = f"{12 * STEPS}h"
maps = plot_maps(forecast, "2m_temperature", lead, num_members=3, out_dir=WORK)
shutil.copy(maps, FIG / "03_t2m_maps.png")
plume = plot_plume(forecast, "geopotential", 50.0, 10.0, level=500, out_dir=WORK)
shutil.copy(plume, FIG / "03_z500_plume.png")
print("saved 03_t2m_maps.png and 03_z500_plume.png")
'''),
    ("code", r'''
display(Image(filename=str(FIG / "03_t2m_maps.png"), width=800))
display(Image(filename=str(FIG / "03_z500_plume.png"), width=650))
'''),
    ("code", r'''
oracle = _oracle_forecast(world, truth, init_time, STEPS, MEMBERS, seed=1)
scores = evaluate(forecast, truth, baseline=[oracle], regions=("global",),
                  variables=["2m_temperature", "geopotential"])
hours = scores.lead_time.values / np.timedelta64(1, "h")
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
for ax, (var, level) in zip(axes, (("2m_temperature", None), ("geopotential", 500))):
    s = scores[var].sel(region="global")
    if level is not None:
        s = s.sel(level=level)
    ax.plot(hours, s.sel(metric="crps"), "o-", label="tiny GenCast")
    ax.plot(hours, s.sel(metric="baseline_crps"), "s--", label="oracle (best possible)")
    ax.set_title(f"{var}{'' if level is None else f' {level} hPa'}: fair CRPS (lower is better)")
    ax.set_xlabel("lead time (h)")
    ax.grid(alpha=0.3)
    ax.legend()
fig.savefig(FIG / "03_crps_vs_oracle.png", dpi=110, bbox_inches="tight")
plt.show()
table = scores.sel(region="global", metric=["crps", "baseline_crps", "spread_skill_ratio"])["2m_temperature"]
print(table.to_pandas().round(3))

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True, layout="constrained")
valid = forecast["valid_time"].values[-1]
for ax, (name, f) in zip(axes, (("tiny GenCast", forecast), ("oracle", oracle))):
    f = f["2m_temperature"].isel(lead_time=-1)
    f = f.drop_vars([c for c in f.coords if c not in f.dims])
    t = truth["2m_temperature"].sel(time=valid).drop_vars("time")
    counts = rank_histogram(f, t, weighted=True)
    ax.bar(counts["rank"], counts / counts.sum())
    ax.axhline(1 / counts.sizes["rank"], color="k", ls="--", lw=1)
    ax.set_title(f"{name}: 2 m temperature, +{12 * STEPS} h")
    ax.set_xlabel(f"rank among {MEMBERS} members")
axes[0].set_ylabel("area-weighted frequency")
fig.savefig(FIG / "03_rank_histogram.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""**What to remember.** Training teaches the denoiser `D(x; sigma)` at every noise level;
a forecast step is a sampler run of 20 levels (39 denoiser calls), and an ensemble is many
such runs from different noise. With a short training run the tiny model already gets
within reach of the oracle at short leads; the demo (`mindgencast demo`) trains longer. The
rank histograms of a single initialisation are bumpy even for the oracle (neighbouring grid
points are correlated, so one forecast is a small sample); notebook 04 pools several
initialisations and explains all these scores.""",
     r"""**要点。** 训练教会去噪器 `D(x; sigma)` 处理所有噪声水平；一个预报步是一次 20 个噪声水平的
采样（39 次去噪器调用），集合预报则是从不同噪声出发的多次这样的采样。即使只做短时间训练，
小模型在短时效上也已接近 oracle；演示程序（`mindgencast demo`）训练得更久。只有一个起报时刻时，
即使是 oracle 的秩直方图也高低不平（相邻格点彼此相关，一次预报只是一个很小的样本）；笔记 04 汇总了
多个起报时刻，并解释了所有这些评分。"""),
    ("code", r'''
shutil.rmtree(WORK, ignore_errors=True)
'''),
]
