"""Block-by-block execution (encoder, each transformer block, decoder compiled separately)
computes the same denoiser as one graph and as PyNative, for both attention forms.

Tolerance: 1e-4 against DeepMind's output, as tests/test_denoiser_parity.py (same cells and
arithmetic; only the graph boundaries move), and 1e-5 between the MindSpore paths.
"""

import mindspore as ms
import numpy as np
import pytest
from conftest import load_nc

from mindgencast.model import GenCast
from mindgencast.nn.blockwise_denoiser import BlockwiseDenoiser


@pytest.fixture(scope="module")
def data(fixture_dir):
    return dict(
        inputs=load_nc(fixture_dir / "denoiser_inputs.nc"),
        forcings=load_nc(fixture_dir / "denoiser_forcings.nc"),
        noisy=load_nc(fixture_dir / "noisy_targets.nc"),
        sigma=np.load(fixture_dir / "noise_levels.npy"),
    )


def _max_abs(a, b):
    return max(float(abs(a[v] - b[v]).max()) for v in b.data_vars)


def _denoise(model, data):
    return model.denoise(data["inputs"], data["noisy"], data["sigma"], data["forcings"])


@pytest.mark.parametrize("implementation", ["banded", "gather"])
def test_per_block_equals_whole_graph_pynative_and_jax(
    implementation, tiny_checkpoint, reference_graph_builder, data, fixture_dir
):
    def model(execution):
        return GenCast(
            tiny_checkpoint,
            graph_builder=reference_graph_builder,
            attention_implementation=implementation,
            execution=execution,
        )

    per_block_model = model("auto")  # the default
    per_block = _denoise(per_block_model, data)
    grid_model = next(iter(per_block_model._grid_models.values()))
    assert grid_model.execution == "per_block" and isinstance(grid_model.forward, BlockwiseDenoiser)
    # the shared block borrows each layer's weights: they must stay each layer's own
    weights = {n: p.asnumpy().copy() for n, p in grid_model.denoiser.parameters_and_names()}
    assert _max_abs(_denoise(per_block_model, data), per_block) == 0.0
    for name, p in grid_model.denoiser.parameters_and_names():
        np.testing.assert_array_equal(p.asnumpy(), weights[name], err_msg=name)
    layers = grid_model.forward.layers
    assert len(layers) >= 2 and not np.array_equal(layers[0][0].asnumpy(), layers[1][0].asnumpy())
    assert _max_abs(per_block, load_nc(fixture_dir / "denoiser_output.nc")) <= 1e-4
    if implementation == "gather":  # whole-graph gather is tests/test_denoiser_parity.py's; save a compile
        return
    assert _max_abs(per_block, _denoise(model("whole"), data)) <= 1e-5
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        pynative = _denoise(model("whole"), data)
    finally:
        ms.set_context(mode=ms.GRAPH_MODE)
    assert _max_abs(per_block, pynative) <= 1e-5


def test_unknown_execution_is_refused(tiny_checkpoint):
    with pytest.raises(ValueError, match="execution 'fast' must be one of"):
        GenCast(tiny_checkpoint, execution="fast")
