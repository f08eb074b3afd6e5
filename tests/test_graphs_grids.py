"""GenCast's graphs on other grids and mesh sizes: invariants that hold by construction."""

import numpy as np
import pytest

from mindgencast.graphs import build_gencast_graphs, grid_positions


def _grid(resolution):
    lat = np.linspace(-90.0, 90.0, int(round(180 / resolution)) + 1)
    lon = np.arange(int(round(360 / resolution))) * resolution
    return lat, lon


@pytest.fixture(
    scope="module", params=[(5.625, 3), (5.625, 4), (1.0, 4)], ids=["5.625deg-mesh3", "5.625deg-mesh4", "1deg-mesh4"]
)
def case(request):
    resolution, mesh_size = request.param
    lat, lon = _grid(resolution)
    graphs = build_gencast_graphs(lat, lon, mesh_size, 0.6, attention_k_hop=1, cache_dir=False)
    return resolution, mesh_size, lat, lon, graphs


def test_sizes_and_dtypes(case):
    _, mesh_size, lat, lon, graphs = case
    assert graphs.num_grid_nodes == lat.size * lon.size
    assert graphs.num_mesh_nodes == 10 * 4**mesh_size + 2
    assert graphs.grid_node_features.shape == (graphs.num_grid_nodes, 3)
    for name in (
        "mesh_senders",
        "grid2mesh_senders",
        "grid2mesh_receivers",
        "mesh2grid_senders",
        "attention_neighbours",
    ):
        assert getattr(graphs, name).dtype == np.int32, name
    for name in ("mesh_edge_features", "grid2mesh_edge_features", "mesh2grid_edge_features"):
        features = getattr(graphs, name)
        assert features.dtype == np.float32 and features.shape[1] == 4
        assert features[:, 0].max() == pytest.approx(1.0, abs=1e-7)  # normalised by the longest edge
        assert np.all(np.abs(features) <= 1.0 + 1e-6)


def test_grid_node_order_is_lat_major(case):
    _, _, lat, lon, graphs = case
    g = np.arange(graphs.num_grid_nodes)
    lat_g, lon_g = np.deg2rad(lat[g // lon.size]), np.deg2rad(lon[g % lon.size])
    expected = np.stack([np.sin(lat_g), np.cos(lon_g), np.sin(lon_g)], axis=1)
    np.testing.assert_allclose(graphs.grid_node_features, expected, atol=1e-6)


def test_grid2mesh_is_exactly_the_radius_ball(case):
    _, _, lat, lon, graphs = case
    grid = grid_positions(lat, lon).astype(np.float64)
    sample = np.random.default_rng(0).choice(
        graphs.num_grid_nodes, size=min(2000, graphs.num_grid_nodes), replace=False
    )
    distances = np.linalg.norm(grid[sample, None, :] - graphs.mesh_vertices[None], axis=-1)
    expected = {(int(sample[i]), int(j)) for i, j in zip(*np.nonzero(distances <= graphs.query_radius))}
    ours = set(zip(graphs.grid2mesh_senders.tolist(), graphs.grid2mesh_receivers.tolist()))
    sampled = set(sample.tolist())
    assert {pair for pair in ours if pair[0] in sampled} == expected
    # Edge length feature = chord length / longest chord. The features use positions rebuilt
    # from float32 degrees (as the reference does): up to ~1e-6 off on the unit sphere
    # (float32 spacing of 360 deg is 3e-5 deg), hence 2e-6 / longest chord.
    grid_all = grid_positions(lat, lon).astype(np.float64)
    chords = np.linalg.norm(
        grid_all[graphs.grid2mesh_senders] - graphs.mesh_vertices[graphs.grid2mesh_receivers], axis=1
    )
    np.testing.assert_allclose(
        graphs.grid2mesh_edge_features[:, 0], chords / chords.max(), rtol=0, atol=2e-6 / chords.max()
    )
    # Every grid node sends at least once here (radius 0.6 x longest edge covers the faces).
    assert np.all(np.bincount(graphs.grid2mesh_senders, minlength=graphs.num_grid_nodes) >= 1)


def test_mesh2grid_uses_the_containing_triangle(case):
    _, _, lat, lon, graphs = case
    assert np.all(np.bincount(graphs.mesh2grid_receivers, minlength=graphs.num_grid_nodes) == 3)
    np.testing.assert_array_equal(graphs.mesh2grid_receivers, np.repeat(np.arange(graphs.num_grid_nodes), 3))
    corners = graphs.mesh2grid_senders.reshape(-1, 3)
    face_set = {tuple(f) for f in graphs.mesh_faces.tolist()}
    assert all(tuple(f) in face_set for f in corners.tolist())  # a face, corners in face order
    # The ray to the grid point passes through the triangle: it is left of (or on) each
    # counter-clockwise edge.
    point = grid_positions(lat, lon).astype(np.float64)
    a, b, c = (graphs.mesh_vertices[corners[:, i]] for i in range(3))
    for start, end in ((a, b), (b, c), (c, a)):
        assert np.all(np.sum(np.cross(start, end) * point, axis=1) > -1e-7)


def test_mesh_edges_and_features_are_symmetric(case):
    graphs = case[4]
    pairs = {(s, r): i for i, (s, r) in enumerate(zip(graphs.mesh_senders.tolist(), graphs.mesh_receivers.tolist()))}
    reverse = np.array([pairs[(r, s)] for s, r in pairs])
    # The reverse edge has the same length (column 0).
    np.testing.assert_allclose(graphs.mesh_edge_features[reverse, 0], graphs.mesh_edge_features[:, 0], atol=1e-6)


def test_fine_grids_reach_every_mesh_node():
    """With the published pairing (1 deg grid, mesh 4) every mesh node receives grid input;
    with a coarse grid (5.625 deg, mesh 4) some do not, which the reference also allows."""
    fine = build_gencast_graphs(*_grid(1.0), 4, 0.6, 1, cache_dir=False)
    assert np.all(np.bincount(fine.grid2mesh_receivers, minlength=fine.num_mesh_nodes) >= 1)
    coarse = build_gencast_graphs(*_grid(5.625), 4, 0.6, 1, cache_dir=False)
    assert np.any(np.bincount(coarse.grid2mesh_receivers, minlength=coarse.num_mesh_nodes) == 0)


def test_containing_face_matches_brute_force_on_random_points():
    from mindgencast.graphs import containing_faces, finest_mesh

    mesh = finest_mesh(3)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(2000, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    faces = containing_faces(points, mesh)
    # Brute force: the face hit by the ray from the centre (all three edge tests pass).
    v = mesh.vertices.astype(np.float64)
    a, b, c = v[mesh.faces[:, 0]], v[mesh.faces[:, 1]], v[mesh.faces[:, 2]]
    inside = np.ones((points.shape[0], mesh.num_faces), dtype=bool)
    for start, end in ((a, b), (b, c), (c, a)):
        inside &= points @ np.cross(start, end).T >= 0
    inside &= points @ (a + b + c).T > 0
    assert np.all(inside[np.arange(points.shape[0]), faces])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lat=np.array([10.0, 0.0, -10.0])), "ascending"),
        (dict(lat=np.array([-95.0, 0.0])), r"\[-90, 90\]"),
        (dict(lon=np.array([0.0, 90.0, 360.0])), "repeat"),
        (dict(mesh_size=-1), "mesh_size"),
        (dict(radius_query_fraction_edge_length=0.0), "radius_query_fraction_edge_length"),
        (dict(attention_k_hop=-2), "attention_k_hop"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    args = dict(
        lat=np.array([-90.0, 0.0, 90.0]), lon=np.array([0.0, 90.0, 180.0, 270.0]),
        mesh_size=1, radius_query_fraction_edge_length=0.6, attention_k_hop=1,
    )  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        build_gencast_graphs(**args, cache_dir=False)
