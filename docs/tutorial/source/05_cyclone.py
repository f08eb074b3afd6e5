# Source of docs/tutorial/{en,zh}/05_cyclone.ipynb (python scripts/build_tutorials.py 05_cyclone).

CELLS = [
    ("md", r"""# 5. A tropical cyclone through an ensemble

One of GenCast's showcases is the cyclone: where will it go? A single forecast gives one
track; an ensemble gives many, and from them the **probability that the storm passes near
each place** (GenCast paper, Fig. 4). Here we make a tropical-cyclone-like vortex ourselves
(`mindgencast.data.synthetic.vortex`: Holland pressure profile, cyclonic winds, steering
flow with member-by-member perturbations), write an ensemble of its pressure and wind
fields in the forecast-file layout, **track** the pressure minimum in each member
(`mindgencast.metrics.cyclone_tracks`) and draw the **track spaghetti** and the **strike
probability**. A real forecast file is tracked the same way.""",
     r"""# 5. 集合预报中的热带气旋

GenCast 的一个重要展示是气旋：它会往哪里走？单个预报只给出一条路径；集合预报给出许多条，并由此
得到**风暴经过每个地点附近的概率**（GenCast 论文图 4）。这里我们自己构造一个类似热带气旋的涡旋
（`mindgencast.data.synthetic.vortex`：Holland 气压廓线、气旋式环流风场、带有逐成员扰动的引导气流），
把它的气压场和风场集合写成预报文件的格式，在每个成员中**追踪**气压最低点
（`mindgencast.metrics.cyclone_tracks`），并画出**路径“意大利面”图**和**侵袭概率**。真实的预报文件也用
同样的方法追踪。"""),
    ("code", r'''
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from mindgencast.data.synthetic.vortex import VortexConfig, vortex_dataset, vortex_tracks
from mindgencast.metrics.cyclone_tracks import great_circle_km, strike_probability, track_ensemble

FAST = os.environ.get("MINDGENCAST_FAST") == "1"
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "mindgencast").is_dir())
FIG = Path(os.environ.get("MINDGENCAST_TUTORIAL_FIGURES", ROOT / "docs" / "tutorial" / "figures"))
FIG.mkdir(parents=True, exist_ok=True)

MEMBERS, STEPS = (10, 10) if FAST else (30, 10)  # 10 x 12 h = 5 days
lat, lon = np.arange(0.0, 45.01, 0.5), np.arange(105.0, 165.01, 0.5)
config = VortexConfig()
start = (14.0, 150.0)
truth_track = vortex_tracks(*start, STEPS, 1, config, rng=2024)  # what "really" happens
member_tracks = vortex_tracks(*start, STEPS, MEMBERS, config, rng=7)
ensemble = vortex_dataset(member_tracks, lat, lon, "2020-09-01T00", config)
# Weak, smooth pressure noise so the tracker has to find the centre among other lows.
rng = np.random.default_rng(0)
noise = rng.standard_normal(ensemble["mean_sea_level_pressure"].shape)
for axis in (-1, -2):
    noise = sum(np.roll(noise, k, axis=axis) for k in range(-3, 4)) / 7
ensemble["mean_sea_level_pressure"] += 150.0 * noise
print(ensemble)
'''),
    ("code", r'''
member = ensemble.isel(member=0, lead_time=4)
fig, ax = plt.subplots(figsize=(8, 5.6))
im = ax.contourf(lon, lat, member["mean_sea_level_pressure"] / 100, levels=np.arange(955, 1016, 4), cmap="viridis")
fig.colorbar(im, ax=ax, label="mean sea level pressure [hPa]")
skip = 6
ax.quiver(lon[::skip], lat[::skip], member["10m_u_component_of_wind"][::skip, ::skip],
          member["10m_v_component_of_wind"][::skip, ::skip], color="w", scale=700, width=0.0025)
ax.set_xlabel("longitude [deg E]")
ax.set_ylabel("latitude [deg N]")
ax.set_aspect("equal")
speed = np.hypot(member["10m_u_component_of_wind"], member["10m_v_component_of_wind"])
ax.set_title(f"Member 0 at +48 h: central pressure {float(member['mean_sea_level_pressure'].min()) / 100:.0f} hPa, "
             f"max wind {float(speed.max()):.0f} m/s", fontsize=10)
fig.savefig(FIG / "05_vortex.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""## 5.1 Tracking and the spaghetti plot

The tracker follows each member's pressure minimum from its previous position (within
600 km), with a sub-grid quadratic refinement. The tracks start together and fan out: the
steering flow of each member drifts by a few m/s, so after five days the members are
hundreds of kilometres apart.""",
     r"""## 5.1 追踪与“意大利面”图

追踪器从上一时刻的位置出发（600 km 范围内）寻找每个成员的气压最低点，并用二次拟合做亚网格
精修。各条路径从同一点出发后逐渐散开：每个成员的引导气流有几米每秒的偏差，五天后成员之间
相距数百公里。"""),
    ("code", r'''
tracks = track_ensemble(ensemble["mean_sea_level_pressure"], *start)
found_error = great_circle_km(tracks[..., 0], tracks[..., 1], member_tracks[..., 0], member_tracks[..., 1])
print(f"tracker vs the true member centres: median {np.median(found_error):.0f} km, max {found_error.max():.0f} km "
      f"(grid spacing 55 km)")
mean_track = np.stack([tracks[..., 0].mean(0), np.rad2deg(np.arctan2(np.sin(np.deg2rad(tracks[..., 1])).mean(0),
                                                                     np.cos(np.deg2rad(tracks[..., 1])).mean(0)))
                       % 360], -1)
fig, ax = plt.subplots(figsize=(8, 5.6))
for k, track in enumerate(tracks):
    ax.plot(track[:, 1], track[:, 0], color="tab:blue", lw=0.8, alpha=0.5, label="members" if k == 0 else None)
ax.plot(mean_track[:, 1], mean_track[:, 0], "o-", color="tab:orange", lw=2.5, ms=4, label="ensemble mean")
ax.plot(truth_track[0, :, 1], truth_track[0, :, 0], "s-", color="k", lw=2, ms=4, label="truth")
ax.plot(*start[::-1], "r*", ms=14, label="start")
ax.set_xlim(lon[0], lon[-1])
ax.set_ylim(lat[0], lat[-1])
ax.set_aspect("equal")
ax.grid(alpha=0.3)
ax.set_xlabel("longitude [deg E]")
ax.set_ylabel("latitude [deg N]")
ax.legend(loc="lower left")
ax.set_title(f"Track spaghetti: {MEMBERS} members, 12-hourly positions for 5 days")
fig.savefig(FIG / "05_track_spaghetti.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""## 5.2 Track error and spread

As for any other variable, a good ensemble's spread (here: the mean distance of the members
from the ensemble-mean track) should match the error of its mean. One storm is a small
sample, so we repeat the experiment for many storms (each with its own truth) and average.""",
     r"""## 5.2 路径误差与离散度

与其他变量一样，好的集合的离散度（这里是成员到集合平均路径的平均距离）应当与集合平均的误差相当。
一个风暴样本太少，所以我们对许多风暴（各有自己的真值）重复实验并取平均。"""),
    ("code", r'''
storms = 10 if FAST else 60
errors, spreads = [], []
for s in range(storms):
    truth_s = vortex_tracks(*start, STEPS, 1, config, rng=10_000 + s)[0]
    members_s = vortex_tracks(*start, STEPS, MEMBERS, config, rng=s)
    mean_s = members_s.mean(0)  # no date-line crossing in this domain
    errors.append(great_circle_km(mean_s[:, 0], mean_s[:, 1], truth_s[:, 0], truth_s[:, 1]))
    spreads.append(great_circle_km(members_s[..., 0], members_s[..., 1], mean_s[:, 0], mean_s[:, 1]).mean(0))
hours = np.arange(STEPS + 1) * 12
fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(hours, np.mean(errors, 0), "o-", label="error of the ensemble-mean track")
ax.plot(hours, np.mean(spreads, 0) * np.sqrt((MEMBERS + 1) / MEMBERS), "s--",
        label="spread x sqrt((M+1)/M)")
ax.set_xlabel("lead time (h)")
ax.set_ylabel("km")
ax.grid(alpha=0.3)
ax.legend()
ax.set_title(f"Track error and spread over {storms} storms")
fig.savefig(FIG / "05_track_error_spread.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""## 5.3 Strike probability

For each place, the fraction of members whose centre passes within 300 km during the five
days. This is what a forecaster issues; the single truth track then either falls inside a
high-probability region or not, and over many storms a reliable ensemble is right as often
as it says (notebook 04's reliability diagram, applied to strikes).""",
     r"""## 5.3 侵袭概率

对每个地点，计算五天内中心经过其 300 km 以内的成员所占比例。这就是预报员发布的信息；唯一的真实
路径要么落在高概率区域内，要么不在；在许多风暴上，一个可靠的集合预报说对的频率应与它给出的
概率一致（即把笔记 04 的可靠性图用于侵袭事件）。"""),
    ("code", r'''
probability = strike_probability(tracks, lat, lon, radius_km=300.0)
struck = strike_probability(truth_track, lat, lon, radius_km=300.0)
fig, ax = plt.subplots(figsize=(8, 5.6))
im = ax.pcolormesh(lon, lat, probability, cmap="Reds", vmin=0, vmax=1, shading="nearest")
fig.colorbar(im, ax=ax, label="strike probability (within 300 km, 5 days)")
ax.contour(lon, lat, struck, levels=[0.5], colors="k", linewidths=1.2, linestyles="--")
ax.plot(truth_track[0, :, 1], truth_track[0, :, 0], "k-", lw=1.5)
ax.plot([], [], "k--", label="area the truth struck")
ax.set_xlim(lon[0], lon[-1])
ax.set_ylim(lat[0], lat[-1])
ax.set_aspect("equal")
ax.set_xlabel("longitude [deg E]")
ax.set_ylabel("latitude [deg N]")
ax.legend(loc="lower left")
ax.set_title("Strike probability from the ensemble, and the truth")
fig.savefig(FIG / "05_strike_probability.png", dpi=110, bbox_inches="tight")
plt.show()
inside = probability.values[struck.values > 0.5]
print(f"mean forecast probability over the area the truth struck: {inside.mean():.2f}; "
      f"elsewhere: {probability.values[struck.values < 0.5].mean():.3f}")
'''),
    ("md", r"""**What to remember.** A cyclone forecast is an ensemble of tracks; its spread grows
with lead time and, when the ensemble is good, matches the error of its mean track. Strike
probabilities turn the spaghetti into the map a forecaster issues. The same tracker runs on
a GenCast forecast file (`mean_sea_level_pressure`, dims member, lead_time, lat, lon); at
1 deg it needs a strong storm to find, which is why the paper uses the 0.25 deg model.""",
     r"""**要点。** 气旋预报是一组路径的集合；其离散度随预报时效增长，好的集合的离散度与集合平均
路径的误差相当。侵袭概率把“意大利面”图变成预报员发布的地图。同样的追踪器也可用于 GenCast 的
预报文件（`mean_sea_level_pressure`，维度为 member、lead_time、lat、lon）；在 1 度分辨率下只有较强的
风暴才能被找到，这也是论文使用 0.25 度模型的原因。"""),
]
