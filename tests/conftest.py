"""Shared test setup: MindSpore runs on CPU in GRAPH_MODE, as on Ascend."""

import pathlib

import numpy as np
import pytest

DATA_DIR = pathlib.Path(__file__).parent / "data"
FIXTURE_DIR = DATA_DIR / "gencast_tiny"


def pytest_configure(config):
    try:
        import mindspore as ms
    except ImportError:  # pure-numpy tests still run
        return
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")


@pytest.fixture(scope="session")
def fixture_dir() -> pathlib.Path:
    """The gencast_tiny reference fixture (DeepMind JAX outputs), copied into tests/data."""
    return FIXTURE_DIR


@pytest.fixture(scope="session")
def reference_graph_builder(fixture_dir):
    """A graph builder returning DeepMind's own graphs (graphs.npz) for the fixture grid,
    with the k-hop neighbour lists read off its attention-mask COO indices."""
    import types

    import numpy as np

    g = np.load(fixture_dir / "graphs.npz")

    def build(lat, lon, arch):
        assert len(lat) * len(lon) == g["grid2mesh_grid_node_features"].shape[0]
        rows, cols = g["attention_mask_rows"], g["attention_mask_cols"]
        n = g["mesh_vertices"].shape[0]
        counts = np.bincount(rows, minlength=n)
        k = counts.max()
        neighbours = np.repeat(np.arange(n)[:, None], k, axis=1)
        mask = np.zeros((n, k), bool)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        for i in range(n):
            c = cols[starts[i]:starts[i] + counts[i]]
            neighbours[i, :len(c)] = c
            mask[i, :len(c)] = True
        arrays = {key: g[key] for key in g.files}
        arrays.update(attention_neighbours=neighbours, attention_neighbour_mask=mask,
                      grid_node_features=g["grid2mesh_grid_node_features"],
                      mesh_node_features=g["grid2mesh_mesh_node_features"])
        return types.SimpleNamespace(**arrays)

    return build


@pytest.fixture(scope="session")
def tiny_checkpoint(fixture_dir):
    from mindgencast.checkpoint import load_checkpoint

    return load_checkpoint(fixture_dir / "checkpoint.npz")


def load_nc(path):
    import xarray as xr

    return xr.load_dataset(path, decode_timedelta=True)


@pytest.fixture(scope="session")
def denoiser_data(fixture_dir):
    """The fixture's one denoiser call: inputs, forcings, noisy targets and noise levels."""
    return dict(
        inputs=load_nc(fixture_dir / "denoiser_inputs.nc"),
        forcings=load_nc(fixture_dir / "denoiser_forcings.nc"),
        noisy=load_nc(fixture_dir / "noisy_targets.nc"),
        sigma=np.load(fixture_dir / "noise_levels.npy"),
    )


def denoise_fixture(model, data, **kwargs):
    """``model.denoise`` on the fixture's call (``denoiser_data``, or a slice of it)."""
    return model.denoise(data["inputs"], data["noisy"], data["sigma"], data["forcings"], **kwargs)


def max_abs_diff(a, b):
    """Largest absolute difference over the data variables of ``b`` (datasets alike)."""
    return max(float(abs(a[v] - b[v]).max()) for v in b.data_vars)


@pytest.fixture(scope="session")
def synthetic_training_data(tmp_path_factory):
    """A 40-day, 12-hourly synthetic world on the tiny task's 10 deg grid: the plain
    dataset, its analytic statistics directory and a packed training store."""
    from mindgencast.config.builtin import builtin_config
    from mindgencast.data.store import write_store
    from mindgencast.data.synthetic import SyntheticWorld

    root = tmp_path_factory.mktemp("synthetic")
    task = builtin_config("gencast_tiny").task_config
    world = SyntheticWorld(task, 10.0, seed=0, time_step="12h")
    era5 = world.generate("2000-01-01", days=40)
    world.write_stats(root / "stats")
    write_store(root / "store.h5", era5, task)
    return {"world": world, "era5": era5, "stats": root / "stats", "store": root / "store.h5", "root": root}
