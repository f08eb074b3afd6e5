"""GraphCast's graphs (multimesh in natural order) against DeepMind's graphs.npz."""

import pathlib

import numpy as np
import pytest
import xarray as xr

from mindgencast.graphcast.graphs import build_graphcast_graphs

GC_DIR = pathlib.Path(__file__).parent / "data" / "graphcast_tiny"


@pytest.fixture(scope="module")
def graphs():
    ds = xr.load_dataset(GC_DIR / "inputs.nc")
    return build_graphcast_graphs(
        ds["lat"].values, ds["lon"].values, mesh_size=2, radius_query_fraction_edge_length=0.6
    )


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(GC_DIR / "graphs.npz"))


def test_multimesh_topology(graphs, ref):
    np.testing.assert_array_equal(graphs.mesh_vertices, ref["mesh_vertices"])
    np.testing.assert_array_equal(graphs.mesh_faces, ref["mesh_faces"])
    np.testing.assert_array_equal(graphs.mesh_senders, ref["mesh_senders"])
    np.testing.assert_array_equal(graphs.mesh_receivers, ref["mesh_receivers"])
    # counts by formula: sum_s 60 * 4**s directed edges, all distinct, both directions present
    assert graphs.mesh_senders.size == sum(60 * 4**s for s in range(3))
    pairs = set(zip(graphs.mesh_senders.tolist(), graphs.mesh_receivers.tolist()))
    assert len(pairs) == graphs.mesh_senders.size
    assert all((r, s) in pairs for s, r in pairs)


def test_structural_features(graphs, ref):
    np.testing.assert_allclose(graphs.mesh_node_features, ref["mesh_node_features"], atol=1e-6)
    np.testing.assert_allclose(graphs.mesh_edge_features, ref["mesh_edge_features"], atol=1e-6)
    np.testing.assert_allclose(graphs.grid_node_features, ref["grid2mesh_grid_node_features"], atol=1e-6)
    np.testing.assert_allclose(graphs.grid2mesh_edge_features, ref["grid2mesh_edge_features"], atol=1e-6)
    np.testing.assert_allclose(graphs.mesh2grid_edge_features, ref["mesh2grid_edge_features"], atol=1e-6)


def test_grid_mesh_edges(graphs, ref):
    assert graphs.query_radius == pytest.approx(float(ref["query_radius"]), rel=1e-6)
    np.testing.assert_array_equal(graphs.grid2mesh_senders, ref["grid2mesh_senders"])
    np.testing.assert_array_equal(graphs.grid2mesh_receivers, ref["grid2mesh_receivers"])
    np.testing.assert_array_equal(graphs.mesh2grid_senders, ref["mesh2grid_senders"])
    np.testing.assert_array_equal(graphs.mesh2grid_receivers, ref["mesh2grid_receivers"])


def test_bad_mesh_size_is_named():
    with pytest.raises(ValueError, match="mesh_size"):
        build_graphcast_graphs(
            np.linspace(-90, 90, 5), np.arange(0, 360, 90.0), mesh_size=-1, radius_query_fraction_edge_length=0.6
        )


def test_edge_levels(graphs, ref):
    np.testing.assert_array_equal(graphs.mesh_edge_level, ref["mesh_edge_level"])
    assert np.bincount(graphs.mesh_edge_level).tolist() == [60 * 4**s for s in range(3)]
