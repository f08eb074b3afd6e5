"""The edge MLP with its first layer split by input block equals the concatenate path.

``NormedMLP.edge_update`` computes [e, h_s[senders], h_r[receivers]] @ w + b as
e @ w_e + (h_s @ w_s)[senders] + (h_r @ w_r)[receivers] + b. Only the order of the float32
sums changes, so on O(1) inputs the layer-normed outputs agree to a few float32 ulps;
2e-5 absolute is ~100 ulps at the outputs' magnitude (a wrong block of w, a wrong index
or a missing bias gives O(1) differences, checked below).
"""

import numpy as np
import pytest
from mindspore import Tensor, nn, ops

from mindgencast.nn.interaction_network import NormedMLP, gather_nodes, split_pays_off

TOL = 2e-5


class _AllPaths(nn.Cell):
    """Concatenate path, then the split path with (senders, receivers) split as in FLAGS; one graph."""

    FLAGS = ((None, None), (True, True), (False, False), (True, False), (False, True))

    def __init__(self, mlp):
        super().__init__()
        self.mlp = mlp

    def construct(self, e, sender_nodes, receiver_nodes, senders, receivers, c):
        x = ops.concat([e, gather_nodes(sender_nodes, senders), gather_nodes(receiver_nodes, receivers)], -1)
        ref = self.mlp(x, c)
        auto = self.mlp.edge_update(e, sender_nodes, receiver_nodes, senders, receivers, c)
        both = self.mlp.edge_update(e, sender_nodes, receiver_nodes, senders, receivers, c, True, True)
        neither = self.mlp.edge_update(e, sender_nodes, receiver_nodes, senders, receivers, c, False, False)
        only_s = self.mlp.edge_update(e, sender_nodes, receiver_nodes, senders, receivers, c, True, False)
        only_r = self.mlp.edge_update(e, sender_nodes, receiver_nodes, senders, receivers, c, False, True)
        # sender and receiver inputs exchanged: must NOT match ref (the comparison is sensitive)
        swapped = self.mlp.edge_update(e, receiver_nodes, sender_nodes, receivers, senders, c, True, True)
        return ref, auto, both, neither, only_s, only_r, swapped


class _SplitUnconditioned(nn.Cell):
    def __init__(self, mlp):
        super().__init__()
        self.mlp = mlp

    def construct(self, e, sender_nodes, receiver_nodes, senders, receivers):
        return self.mlp.edge_update(e, sender_nodes, receiver_nodes, senders, receivers)


class _ConcatUnconditioned(nn.Cell):
    def __init__(self, mlp):
        super().__init__()
        self.mlp = mlp

    def construct(self, e, sender_nodes, receiver_nodes, senders, receivers):
        return self.mlp(
            ops.concat([e, gather_nodes(sender_nodes, senders), gather_nodes(receiver_nodes, receivers)], -1)
        )


def _inputs(rng, num_edges, num_senders, num_receivers, batch, latent, cond_size):
    def normal(*shape):
        return Tensor(rng.standard_normal(shape).astype(np.float32))

    return [
        normal(num_edges, batch, latent),
        normal(num_senders, batch, latent),
        normal(num_receivers, batch, latent),
        Tensor(rng.integers(0, num_senders, num_edges).astype(np.int32)),
        Tensor(rng.integers(0, num_receivers, num_edges).astype(np.int32)),
        normal(batch, cond_size),
    ]


def _randomise(mlp, rng):
    """Non-zero biases, so that adding the bias once (not once per block) is checked."""
    for p in mlp.get_parameters():
        p.set_data(Tensor(rng.standard_normal(p.shape).astype(np.float32) / np.sqrt(max(p.shape[0], 1))))


# (edges, sender nodes, receiver nodes): both sides cheaper per node, and neither
@pytest.mark.parametrize("sizes", [(300, 40, 40), (60, 90, 70)])
def test_split_equals_concat_conditioned(sizes):
    rng = np.random.default_rng(sum(sizes))
    latent, batch, cond_size = 16, 2, 8
    mlp = NormedMLP(3 * latent, latent, 1, latent, cond_size)
    _randomise(mlp, rng)
    ref, *split, swapped = (t.asnumpy() for t in _AllPaths(mlp)(*_inputs(rng, *sizes, batch, latent, cond_size)))
    assert np.abs(ref).max() > 0.5  # layer-normed outputs are O(1)
    for flags, got in zip(_AllPaths.FLAGS, split):
        assert got.shape == ref.shape
        err = float(np.abs(got - ref).max())
        assert err <= TOL, (sizes, flags, err)
    assert float(np.abs(swapped - ref).max()) > 1e-2


def test_split_equals_concat_unconditioned_deeper():
    """GraphCast's form: plain layer norm, two hidden layers, first weight wider than the output."""
    rng = np.random.default_rng(7)
    latent, hidden, batch = 12, 20, 1
    mlp = NormedMLP(3 * latent, hidden, 2, latent, None)
    _randomise(mlp, rng)
    args = _inputs(rng, 250, 30, 30, batch, latent, 1)[:5]
    ref = _ConcatUnconditioned(mlp)(*args).asnumpy()
    err = float(np.abs(_SplitUnconditioned(mlp)(*args).asnumpy() - ref).max())
    assert err <= TOL, err


def test_split_decision_follows_sizes():
    """A side is split exactly when it has fewer nodes than there are edges."""
    assert split_pays_off(2562, 3 * 65160)  # mesh senders of the 1 deg decoder
    assert split_pays_off(65160, 3 * 65160)  # its grid receivers
    assert not split_pays_off(100, 100)  # equal: no saving, keep the concatenation
    assert not split_pays_off(500, 200)
