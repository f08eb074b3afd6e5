"""Block-by-block execution (encoder, each transformer block, decoder compiled separately)
computes the same denoiser as one graph and as PyNative, for both attention forms.

Tolerance: 1e-4 against DeepMind's output, as tests/test_denoiser_parity.py (same cells and
arithmetic; only the graph boundaries move), and 1e-5 between the MindSpore paths.
"""

import mindspore as ms
import numpy as np
import pytest
from conftest import denoise_fixture as _denoise
from conftest import load_nc, max_abs_diff

from mindgencast.model import GenCast
from mindgencast.nn.blockwise_denoiser import BlockwiseDenoiser


@pytest.mark.parametrize("implementation", ["banded", "gather"])
def test_per_block_equals_whole_graph_pynative_and_jax(
    implementation, tiny_checkpoint, reference_graph_builder, denoiser_data, fixture_dir
):
    def model(execution):
        return GenCast(
            tiny_checkpoint,
            graph_builder=reference_graph_builder,
            attention_implementation=implementation,
            execution=execution,
        )

    per_block_model = model("auto")  # the default
    per_block = _denoise(per_block_model, denoiser_data)
    grid_model = next(iter(per_block_model._grid_models.values()))
    assert grid_model.execution == "per_block" and isinstance(grid_model.forward, BlockwiseDenoiser)
    # the shared block borrows each layer's weights: they must stay each layer's own
    weights = {n: p.asnumpy().copy() for n, p in grid_model.denoiser.parameters_and_names()}
    assert max_abs_diff(_denoise(per_block_model, denoiser_data), per_block) == 0.0
    for name, p in grid_model.denoiser.parameters_and_names():
        np.testing.assert_array_equal(p.asnumpy(), weights[name], err_msg=name)
    layers = grid_model.forward.layers
    assert len(layers) >= 2 and not np.array_equal(layers[0][0].asnumpy(), layers[1][0].asnumpy())
    assert max_abs_diff(per_block, load_nc(fixture_dir / "denoiser_output.nc")) <= 1e-4
    if implementation == "gather":  # whole-graph gather is tests/test_denoiser_parity.py's; save a compile
        return
    assert max_abs_diff(per_block, _denoise(model("whole"), denoiser_data)) <= 1e-5
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        pynative = _denoise(model("whole"), denoiser_data)
    finally:
        ms.set_context(mode=ms.GRAPH_MODE)
    assert max_abs_diff(per_block, pynative) <= 1e-5


def test_unknown_execution_is_refused(tiny_checkpoint):
    with pytest.raises(ValueError, match="execution 'fast' must be one of"):
        GenCast(tiny_checkpoint, execution="fast")


def test_chunked_encoder_and_decoder_equal_the_unchunked_blocks(tiny_checkpoint, reference_graph_builder, denoiser_data,
                                                                fixture_dir):
    """Grid<->mesh edges and grid nodes in chunks (uneven: the last chunk padded), as 1 deg
    uses them: equal to the one-graph encoder/decoder (1e-5) and to DeepMind's output (1e-4)."""
    from mindgencast.nn.chunked_interaction import ChunkedDecoder, ChunkedEncoder, chunk_layout

    model = GenCast(tiny_checkpoint, graph_builder=reference_graph_builder)
    plain = _denoise(model, denoiser_data)
    grid_model = next(iter(model._grid_models.values()))
    assert not grid_model.forward.chunked  # the tiny graphs are below the chunk sizes
    net = grid_model.denoiser.network
    edges = int(net.grid2mesh_senders.shape[0]), int(net.mesh2grid_senders.shape[0])
    grid_model.forward = BlockwiseDenoiser(grid_model.denoiser, max_edges=2 * (min(edges) // 3 + 7),
                                           max_grid_nodes=300)
    assert grid_model.forward.chunked and denoiser_data["inputs"].sizes["batch"] == 2
    encoder, decoder = grid_model.forward.chunked_blocks(2)  # the blocks the fixture's two members use
    assert isinstance(encoder, ChunkedEncoder) and isinstance(decoder, ChunkedDecoder)
    assert len(encoder.edges) >= 3 and len(decoder.edges) >= 3 and encoder.grid_chunks == 5
    assert encoder.grid_chunks * encoder.grid_size > net.num_grid_nodes  # a padded last chunk
    chunked = _denoise(model, denoiser_data)
    assert max_abs_diff(chunked, plain) <= 1e-5
    assert max_abs_diff(chunked, load_nc(fixture_dir / "denoiser_output.nc")) <= 1e-4
    assert chunk_layout(10, 4) == (3, 4) and chunk_layout(8, 4) == (2, 4) and chunk_layout(3, 100) == (1, 3)


def test_a_batch_of_members_runs_in_chunks_divided_by_the_batch(tiny_checkpoint, reference_graph_builder,
                                                                  denoiser_data):
    """The fixture's two members at once use chunks half as large as one member alone (the same
    rows x members per chunk), and each member gets the output it gets alone."""
    model = GenCast(tiny_checkpoint, graph_builder=reference_graph_builder)
    both_plain = _denoise(model, denoiser_data)  # builds the grid's model
    grid_model = next(iter(model._grid_models.values()))
    net = grid_model.denoiser.network
    edges = int(net.grid2mesh_senders.shape[0]), int(net.mesh2grid_senders.shape[0])
    grid_model.forward = BlockwiseDenoiser(grid_model.denoiser, max_edges=min(edges) // 3 + 7, max_grid_nodes=160)
    assert denoiser_data["inputs"].sizes["batch"] == 2
    both = _denoise(model, denoiser_data)
    assert max_abs_diff(both, both_plain) <= 1e-5
    for member in range(2):
        one = {k: (v.isel(batch=[member]) if k != "sigma" else v[member:member + 1]) for k, v in denoiser_data.items()}
        alone = _denoise(model, one)
        assert max_abs_diff(alone, both.isel(batch=[member])) <= 1e-5
    one, pair = grid_model.forward.chunked_blocks(1), grid_model.forward.chunked_blocks(2)
    assert one[0].grid_size <= 160 and pair[0].grid_size <= 80 and one[0].grid_chunks < pair[0].grid_chunks
    assert len(pair[0].edges) > len(one[0].edges) and pair[1].grid_size < one[1].grid_size


@pytest.mark.parametrize("block_size, budget", [(None, 7 * 40), (24, 3 * 24 * 40), (24, 10)])
def test_attention_chunks_give_every_node_its_own_keys_once(block_size, budget):
    """Query-row chunks of a banded layout (mesh 3, k-hop 3): every node sits at one row of the
    concatenated chunks, with exactly the keys and bias it has unchunked; padding rows see no key."""
    from mindgencast.graphs import faces_to_edges, finest_mesh, k_hop_neighbours, permute_mesh_to_banded
    from mindgencast.graphs.attention_blocks import attention_blocks
    from mindgencast.nn.chunked_attention import attention_chunks
    from mindgencast.nn.sparse_transformer import MASKED_LOGIT

    mesh, _ = permute_mesh_to_banded(finest_mesh(3))
    neighbours, mask = k_hop_neighbours(*faces_to_edges(mesh.faces), mesh.num_vertices, 3)
    blocks = attention_blocks(neighbours, mask, block_size)
    n, (nb, bs, w) = mesh.num_vertices, blocks.mask.shape
    bias = np.where(blocks.mask, 0.0, MASKED_LOGIT).astype(np.float32)
    budget = max(budget, w)  # at least one row per sub-block
    chunks = attention_chunks(blocks.window_index, bias, n, budget)
    num_chunks, rows_per_chunk = chunks.rows.shape
    _, c, r, w_chunk = chunks.mask_bias.shape
    assert w_chunk == w and c * r == rows_per_chunk and chunks.logits_per_head() == c * r * w <= budget
    assert num_chunks * rows_per_chunk >= n and chunks.position.shape == (n,)
    assert num_chunks > 1 and (r < bs or c < nb)  # these budgets cut the layout
    flat_rows = chunks.rows.reshape(-1)
    np.testing.assert_array_equal(flat_rows[chunks.position], np.arange(n))
    keys = chunks.window_index.reshape(num_chunks * c, w)
    row_bias = chunks.mask_bias.reshape(num_chunks * c * r, w)
    expected = {(int(i), int(neighbours[i, j])) for i, j in zip(*np.nonzero(mask))}
    real_positions = set(chunks.position.tolist())
    seen = set()
    for position in range(num_chunks * c * r):
        allowed = keys[position // r][row_bias[position] == 0.0]
        if position in real_positions:
            seen |= {(int(flat_rows[position]), int(k)) for k in allowed}
        else:
            assert allowed.size == 0  # a padding row
    assert seen == expected


def test_attention_in_query_row_chunks_equals_the_unchunked_layer(tiny_checkpoint, reference_graph_builder,
                                                                 denoiser_data, fixture_dir):
    """The banded attention of each layer in chunks of query rows (a third of a block per
    chunk, the last padded): equal to the one-graph layer (1e-5) and to DeepMind's output (1e-4)."""
    model = GenCast(tiny_checkpoint, graph_builder=reference_graph_builder, attention_implementation="banded")
    plain = _denoise(model, denoiser_data)
    grid_model = next(iter(model._grid_models.values()))
    assert grid_model.forward.chunked_attention(2) is None  # the tiny mesh fits the default budget
    net = grid_model.denoiser.network
    nb, bs, w = net.attention_mask.shape
    heads = grid_model.forward.runner.attention.num_heads
    grid_model.forward = BlockwiseDenoiser(grid_model.denoiser, max_attention_logits=heads * 2 * w * (bs // 3 + 1))
    layer = grid_model.forward.chunked_attention(2)  # the fixture's two members
    assert layer is not None and layer.chunks.num_chunks >= 3
    assert layer.chunks.rows.size > int(net.mesh_node_features.shape[0])  # padding rows
    chunked = _denoise(model, denoiser_data)
    assert max_abs_diff(chunked, plain) <= 1e-5
    assert max_abs_diff(chunked, load_nc(fixture_dir / "denoiser_output.nc")) <= 1e-4
