"""Shared test setup: MindSpore runs on CPU in GRAPH_MODE, as on Ascend."""

import pathlib

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
