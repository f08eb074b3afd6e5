"""The disk cache of built graphs: hits are identical, corrupt files are rebuilt."""

import dataclasses
import pathlib

import numpy as np
import pytest

from mindgencast.graphs import build_gencast_graphs, builder

_LAT = np.linspace(-90.0, 90.0, 9)
_LON = np.arange(16) * 22.5


def _build(cache_dir):
    return build_gencast_graphs(
        _LAT, _LON, mesh_size=1, radius_query_fraction_edge_length=0.6, attention_k_hop=2, cache_dir=cache_dir
    )


def _assert_identical(a, b):
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, field.name
            np.testing.assert_array_equal(x, y, err_msg=field.name)
        else:
            assert x == y, field.name


def _no_build(*args, **kwargs):
    raise AssertionError("graphs were rebuilt although the cache holds them")


def test_cache_hit_returns_identical_arrays_without_building(tmp_path, monkeypatch):
    built = _build(tmp_path)
    fresh = _build(False)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"
    monkeypatch.setattr(builder, "_build", _no_build)
    loaded = _build(tmp_path)
    _assert_identical(loaded, built)
    _assert_identical(loaded, fresh)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_cache_file_is_rebuilt(tmp_path, damage):
    built = _build(tmp_path)
    (path,) = tmp_path.iterdir()
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a zip" * 100, "empty": b""}[damage])
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = _build(tmp_path)
    _assert_identical(rebuilt, built)
    _assert_identical(_build(tmp_path), built)  # the file was rewritten and is valid again


def test_file_for_other_arguments_is_not_trusted(tmp_path):
    built = _build(tmp_path)
    (path,) = tmp_path.iterdir()
    other = build_gencast_graphs(_LAT, _LON, 1, 0.6, attention_k_hop=1, cache_dir=tmp_path)
    other_path = next(p for p in tmp_path.iterdir() if p != path)
    other_path.write_bytes(path.read_bytes())  # the k=2 graphs under the k=1 name
    with pytest.warns(UserWarning, match="key mismatch"):
        again = build_gencast_graphs(_LAT, _LON, 1, 0.6, attention_k_hop=1, cache_dir=tmp_path)
    _assert_identical(again, other)
    assert built.attention_max_k != other.attention_max_k


def test_cache_can_be_disabled_and_defaults_to_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MINDGENCAST_CACHE", str(tmp_path / "root"))
    _build(False)
    assert not (tmp_path / "root").exists()
    _build(None)
    assert len(list((tmp_path / "root" / "graphs").glob("*.npz"))) == 1
    assert not list((tmp_path / "root" / "graphs").glob("*.tmp"))


def test_unwritable_cache_dir_still_returns_graphs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="could not write"):
        graphs = _build(pathlib.Path(blocker) / "graphs")
    assert graphs.num_mesh_nodes == 42
