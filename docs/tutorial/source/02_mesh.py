# Source of docs/tutorial/{en,zh}/02_mesh.ipynb (python scripts/build_tutorials.py 02_mesh).
# ("md", English, Chinese) or ("code", source); the code is shared by both languages.

SETUP = r'''
import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

from mindgencast.config.builtin import builtin_config
from mindgencast.config.schemas import GridConfig
from mindgencast.graphs import build_gencast_graphs
from mindgencast.graphs.attention_neighbourhood import k_hop_neighbours
from mindgencast.graphs.icosahedral_mesh import faces_to_edges, finest_mesh, mesh_hierarchy, multimesh

FAST = os.environ.get("MINDGENCAST_FAST") == "1"  # CI: smaller meshes
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "mindgencast").is_dir())
FIG = Path(os.environ.get("MINDGENCAST_TUTORIAL_FIGURES", ROOT / "docs" / "tutorial" / "figures"))
FIG.mkdir(parents=True, exist_ok=True)


def view(xyz, lat0=30.0, lon0=20.0):
    """Orthographic view of unit vectors from above (lat0, lon0): (x, y) on screen, depth > 0 = visible."""
    la, lo = np.deg2rad(lat0), np.deg2rad(lon0)
    east = np.array([-np.sin(lo), np.cos(lo), 0.0])
    north = np.array([-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)])
    out = np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    return xyz @ east, xyz @ north, xyz @ out


def arcs(xyz, senders, receivers, n=8):
    """Great-circle arcs between the endpoints, [num_edges, n, 3]."""
    t = np.linspace(0, 1, n)[None, :, None]
    a, b = xyz[senders][:, None], xyz[receivers][:, None]
    p = (1 - t) * a + t * b
    return p / np.linalg.norm(p, axis=-1, keepdims=True)


def draw_sphere(ax, title):
    ax.add_patch(plt.Circle((0, 0), 1, facecolor="#eef3f8", edgecolor="0.6", lw=0.8))
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)


def draw_edges(ax, xyz, senders, receivers, color="k", lw=0.6, **view_kw):
    x, y, d = view(arcs(xyz, senders, receivers), **view_kw)
    visible = (d > 0).all(axis=1)
    ax.add_collection(LineCollection(np.stack([x, y], -1)[visible], colors=color, linewidths=lw))


def draw_points(ax, xyz, color="k", s=6, **kw):
    view_kw = {k: kw.pop(k) for k in ("lat0", "lon0") if k in kw}
    x, y, d = view(xyz, **view_kw)
    if not matplotlib.colors.is_color_like(color):  # one colour per point
        color = np.asarray(color)[d > 0]
    ax.scatter(x[d > 0], y[d > 0], s=s, color=color, **kw)


def to_xyz(lat, lon):
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)
'''

CELLS = [
    ("md", r"""# 2. The icosahedral mesh and GenCast's graphs

GraphCast and GenCast do not run their network on the latitude-longitude grid: the grid is
crowded at the poles and sparse at the equator. They move the state onto a nearly uniform
**icosahedral mesh**, process it there, and move it back. This notebook draws every graph
involved, with the library's own builders (`mindgencast/graphs/`):

1. the icosahedron and its refinements;
2. GraphCast's **multimesh** (all refinement levels at once) and GenCast's **finest mesh**;
3. the **grid -> mesh** (encoder) and **mesh -> grid** (decoder) edges;
4. the **k-hop neighbourhood** that GenCast's sparse transformer attends over.

Set `MINDGENCAST_FAST=1` for the quick CI version (smaller meshes).""",
     r"""# 2. 二十面体网格与 GenCast 的图

GraphCast 和 GenCast 都不在经纬度网格上直接运行网络：经纬网格在两极过密、在赤道过疏。
它们先把状态搬到近乎均匀的**二十面体网格**上处理，再搬回来。本笔记用库自带的构图函数
（`mindgencast/graphs/`）把涉及的每一张图都画出来：

1. 二十面体及其逐级细分；
2. GraphCast 的**多尺度网格（multimesh）**（所有细分层级叠在一起）与 GenCast 的**最细网格**；
3. **网格 -> 网格点（编码器）**与**网格点 -> 网格（解码器）**的边，即 grid -> mesh 与 mesh -> grid；
4. GenCast 稀疏 Transformer 做注意力时使用的 **k 跳邻域**。

设置 `MINDGENCAST_FAST=1` 可运行更快的 CI 版本（网格更小）。"""),
    ("code", SETUP),
    ("md", r"""## 2.1 Refining the icosahedron

Each refinement splits every triangle into four (new vertices at the edge midpoints, pushed
out to the unit sphere). After `s` refinements the mesh has `10 * 4**s + 2` vertices,
`20 * 4**s` faces and `30 * 4**s` undirected edges; we check the formulas on the meshes the
library builds.""",
     r"""## 2.1 细分二十面体

每次细分把每个三角形一分为四（在各边中点处加新顶点，并投影回单位球面）。细分 `s` 次后，
网格有 `10 * 4**s + 2` 个顶点、`20 * 4**s` 个面、`30 * 4**s` 条无向边；下面用库构造的网格
验证这些公式。"""),
    ("code", r'''
levels = mesh_hierarchy(4 if FAST else 6)
print(f"{'s':>2} {'vertices':>9} {'faces':>7} {'edges':>7} {'edge length (km)':>17}")
for s, mesh in enumerate(levels):
    senders, receivers = faces_to_edges(mesh.faces)
    assert mesh.num_vertices == 10 * 4**s + 2 and mesh.num_faces == 20 * 4**s
    assert senders.size == 2 * 30 * 4**s  # every edge appears in both directions
    chord = np.linalg.norm(mesh.vertices[senders] - mesh.vertices[receivers], axis=1)
    km = 6371 * 2 * np.arcsin(chord / 2)
    print(f"{s:>2} {mesh.num_vertices:>9,} {mesh.num_faces:>7,} {senders.size // 2:>7,} "
          f"{km.min():>8.0f} - {km.max():.0f}")
'''),
    ("code", r'''
fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
for s, ax in enumerate(axes):
    mesh = levels[s]
    draw_sphere(ax, f"refinement {s}: {mesh.num_vertices} vertices, {mesh.num_faces} faces")
    senders, receivers = faces_to_edges(mesh.faces)
    draw_edges(ax, mesh.vertices, senders, receivers, color="tab:blue", lw=0.9)
    draw_points(ax, mesh.vertices, color="k", s=8)
fig.suptitle("The icosahedron and its first two refinements (front hemisphere)")
fig.savefig(FIG / "02_refinement.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""## 2.2 GraphCast's multimesh and GenCast's finest mesh

GraphCast keeps the **finest vertices** but the **edges of every level**: long edges from
the coarse levels carry information across the globe in a few message-passing steps.
GenCast drops them and uses only the **finest mesh**; long-range information travels through
its sparse transformer instead, whose attention reaches every node within `k` hops (section
2.4). Below, the multimesh of 3 refinements, its edges coloured by the level they come from,
and the number of edges per node.""",
     r"""## 2.2 GraphCast 的多尺度网格与 GenCast 的最细网格

GraphCast 保留**最细层的顶点**，但使用**所有层级的边**：粗层的长边让信息在少数几步消息传递中
就能跨越全球。GenCast 去掉了这些长边，只用**最细网格**；远距离的信息改由稀疏 Transformer 传递，
其注意力覆盖 `k` 跳以内的所有节点（见 2.4 节）。下图是细分 3 次的多尺度网格，边按来源层级着色，
并统计每个节点的边数。"""),
    ("code", r'''
size = 3
mm = multimesh(size)
fine = finest_mesh(size)
colors = plt.cm.viridis(np.linspace(0, 0.9, size + 1))
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1.2, 1]})
draw_sphere(ax, f"multimesh M0..M{size}: {mm.num_vertices} nodes, {len(mm.faces) * 3} edges")
start = 0
for s in range(size, -1, -1):  # fine edges first, coarse ones on top
    faces = levels[s].faces
    senders, receivers = faces_to_edges(faces)
    draw_edges(ax, mm.vertices, senders, receivers, color=colors[s], lw=0.4 + 0.5 * (size - s))
for s in range(size + 1):
    ax.plot([], [], color=colors[s], lw=2, label=f"edges of level {s}")
ax.legend(loc="upper left", bbox_to_anchor=(-0.12, 1.0), fontsize=8, frameon=True)

deg_mm = np.bincount(faces_to_edges(mm.faces)[1], minlength=mm.num_vertices) // 1
deg_fine = np.bincount(faces_to_edges(fine.faces)[1], minlength=fine.num_vertices)
bins = np.arange(0, deg_mm.max() + 2) - 0.5
ax2.hist(deg_fine, bins=bins, alpha=0.7, label="GenCast: finest mesh only")
ax2.hist(deg_mm, bins=bins, alpha=0.7, label="GraphCast: multimesh")
ax2.set_xlabel("incoming edges per node")
ax2.set_ylabel("nodes")
ax2.legend()
ax2.set_title("incoming edges per node")
fig.savefig(FIG / "02_multimesh.png", dpi=110, bbox_inches="tight")
plt.show()
print("finest mesh degrees:", np.unique(deg_fine), "| multimesh degrees:", np.unique(deg_mm))
'''),
    ("md", r"""The published GenCast models use these meshes (from `configs/`):""",
     r"""已发布的 GenCast 模型使用如下网格（取自 `configs/`）："""),
    ("code", r'''
for name in ["gencast_0p25deg", "gencast_1p0deg", "gencast_1p0deg_mini", "gencast_tiny"]:
    cfg = builtin_config(name)
    arch = cfg.denoiser_architecture_config
    s = arch.mesh_size
    km = 6371 * np.deg2rad(63.4) / 2**s  # icosahedron edge angle ~63.4 deg, halved per level
    print(f"{name:22s} grid {cfg.grid.resolution:>5g} deg  mesh {s}: {10 * 4**s + 2:>6,} nodes, "
          f"~{km:.0f} km edges, attention k-hop {arch.sparse_transformer_config.attention_k_hop}")
'''),
    ("md", r"""## 2.3 Grid -> mesh and mesh -> grid edges

- **Encoder (grid -> mesh):** each mesh node receives from every grid point within
  `0.6 x` the longest mesh edge (a radius query).
- **Decoder (mesh -> grid):** each grid point receives from the **3 corners of the mesh
  triangle that contains it**.

We build the tiny model's graphs (10 deg grid, mesh 2) with `build_gencast_graphs` and draw
both edge sets for a few nodes.""",
     r"""## 2.3 网格点 -> 网格 与 网格 -> 网格点 的边

- **编码器（grid -> mesh）：** 每个网格节点接收距离在最长网格边 `0.6 倍` 以内的所有经纬网格点（半径查询）。
- **解码器（mesh -> grid）：** 每个经纬网格点接收**包含它的那个网格三角形的 3 个顶点**。

下面用 `build_gencast_graphs` 构造小模型的图（10 度网格、2 级网格），并画出若干节点的这两类边。"""),
    ("code", r'''
grid = GridConfig(resolution=10.0)
lat, lon = np.asarray(grid.latitudes()), np.asarray(grid.longitudes())
g = build_gencast_graphs(lat, lon, mesh_size=2, radius_query_fraction_edge_length=0.6, attention_k_hop=2,
                         cache_dir=False)
grid_lat, grid_lon = np.meshgrid(lat, lon, indexing="ij")
grid_xyz = to_xyz(grid_lat.ravel(), grid_lon.ravel())
mesh_xyz = to_xyz(g.mesh_nodes_lat, g.mesh_nodes_lon)
print(f"grid nodes {g.num_grid_nodes}, mesh nodes {g.num_mesh_nodes}, "
      f"grid2mesh edges {g.grid2mesh_senders.size}, mesh2grid edges {g.mesh2grid_senders.size} (= 3 x grid nodes)")
incoming = np.bincount(g.grid2mesh_receivers, minlength=g.num_mesh_nodes)
print(f"grid points per mesh node: min {incoming.min()}, mean {incoming.mean():.1f}, max {incoming.max()}")

fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
kw = dict(lat0=25.0, lon0=10.0)
ax = axes[0]
draw_sphere(ax, "encoder: grid points within the radius of 3 mesh nodes")
draw_edges(ax, mesh_xyz, g.mesh_senders, g.mesh_receivers, color="0.75", lw=0.5, **kw)
draw_points(ax, grid_xyz, color="0.55", s=3, **kw)
x, y, d = view(mesh_xyz, **kw)
picks = np.argsort(-d)[[0, 7, 15]]
for m, c in zip(picks, ["tab:red", "tab:green", "tab:purple"]):
    sel = g.grid2mesh_receivers == m
    senders = g.grid2mesh_senders[sel]
    pts = np.concatenate([grid_xyz[senders], mesh_xyz[[m]]])
    draw_edges(ax, pts, np.arange(senders.size), np.full(senders.size, senders.size), color=c, lw=0.8, **kw)
    draw_points(ax, mesh_xyz[[m]], color=c, s=40, **kw)
ax = axes[1]
draw_sphere(ax, "decoder: each grid point reads its containing triangle")
draw_edges(ax, mesh_xyz, g.mesh_senders, g.mesh_receivers, color="0.6", lw=0.6, **kw)
draw_points(ax, grid_xyz, color="0.7", s=3, **kw)
gx, gy, gd = view(grid_xyz, **kw)
for k, gnode in enumerate(np.argsort(-gd)[:60:6]):
    sel = g.mesh2grid_receivers == gnode
    corners = g.mesh2grid_senders[sel]
    pts = np.concatenate([mesh_xyz[corners], grid_xyz[[gnode]]])
    draw_edges(ax, pts, np.arange(3), np.full(3, 3), color=plt.cm.tab10(k % 10), lw=1.0, **kw)
    draw_points(ax, grid_xyz[[gnode]], color=plt.cm.tab10(k % 10), s=25, **kw)
fig.savefig(FIG / "02_grid_mesh_edges.png", dpi=110, bbox_inches="tight")
plt.show()
'''),
    ("md", r"""## 2.4 The k-hop attention neighbourhood

GenCast's transformer lets each mesh node attend to the nodes within `k` hops on the finest
mesh: the non-zeros of `(A + I)^k`. `k_hop_neighbours` builds it hop by hop as padded lists
(never a dense N x N matrix). Below: the neighbourhoods of one node for growing `k`, and
how many keys each query has in the published configuration (`k = 16`).""",
     r"""## 2.4 k 跳注意力邻域

GenCast 的 Transformer 让每个网格节点只关注最细网格上 `k` 跳以内的节点，即 `(A + I)^k` 的非零元。
`k_hop_neighbours` 逐跳构造它，并以填充列表存储（从不生成稠密的 N x N 矩阵）。下图显示一个节点
随 `k` 增大的邻域，以及已发布配置（`k = 16`）中每个查询对应的键的数量。"""),
    ("code", r'''
mesh = finest_mesh(3)
senders, receivers = faces_to_edges(mesh.faces)
centre = int(np.argmax(mesh.vertices @ to_xyz(30.0, 20.0)))
hops = np.full(mesh.num_vertices, np.inf)
for k in range(8, -1, -1):
    nb, mask = k_hop_neighbours(senders, receivers, mesh.num_vertices, k)
    hops[nb[centre][mask[centre]]] = k
fig, ax = plt.subplots(figsize=(6, 6))
draw_sphere(ax, f"hops from one node on mesh 3 ({mesh.num_vertices} nodes)")
draw_edges(ax, mesh.vertices, senders, receivers, color="0.8", lw=0.5)
finite = np.isfinite(hops)
cmap = plt.get_cmap("plasma", 9)
draw_points(ax, mesh.vertices[finite], color=cmap(hops[finite] / 8), s=28)
draw_points(ax, mesh.vertices[~finite], color="0.7", s=6)
sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(-0.5, 8.5))
fig.colorbar(sm, ax=ax, shrink=0.7, label="hops from the centre node")
fig.savefig(FIG / "02_khop.png", dpi=110, bbox_inches="tight")
plt.show()

for size in ([3, 4] if FAST else [3, 4, 5]):
    m = finest_mesh(size)
    s_, r_ = faces_to_edges(m.faces)
    nb, mask = k_hop_neighbours(s_, r_, m.num_vertices, 16)
    keys = mask.sum(1)
    print(f"mesh {size} ({m.num_vertices:>6,} nodes), k = 16: {keys.min()}-{keys.max()} keys per query "
          f"({100 * keys.mean() / m.num_vertices:.1f}% of the mesh)")
'''),
    ("md", r"""**What to remember.** The finest mesh is almost uniform (edges vary by less than a factor
of 1.5 in length). The multimesh gives GraphCast long edges; GenCast instead attends over
`k`-hop neighbourhoods, which on mesh 4 with `k = 16` cover a large part of the globe. The
encoder reads grid points within a radius, the decoder interpolates from the containing
triangle. See `docs/graphs.md` for the exact construction and its parity with DeepMind's code.""",
     r"""**要点。** 最细网格几乎是均匀的（边长变化不到 1.5 倍）。多尺度网格为 GraphCast 提供长边；
GenCast 则在 `k` 跳邻域上做注意力，在 4 级网格、`k = 16` 时覆盖了地球的很大一部分。编码器读取
半径内的经纬网格点，解码器从包含该点的三角形插值。精确的构造方法及其与 DeepMind 代码的一致性
见 `docs/graphs.md`。"""),
]
