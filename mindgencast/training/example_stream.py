"""The stream of (example, noise level, noise) a run consumes, as a function of position.

Position p counts examples from the start of the run over all ranks. Example p is store
example ``perm_e[p mod n]`` with ``e = p div n`` and ``perm_e`` a permutation drawn from
``PCG64(seed, 0, e)`` (a reshuffle each epoch); its noise level and noise come from
``PCG64(seed, 1, p)``. Counter-based randomness makes the stream a pure function of
(seed, position): resuming at a position continues it exactly, and N ranks taking
consecutive slices of a global batch see the same examples and noise as one process
taking all of it. Step s of a run with global batch B consumes positions
``[s B, (s + 1) B)``: accumulation step a of rank r takes
``s B + (a R + r) m + [0, m)`` with ``m = B / (R A)``.
"""

from __future__ import annotations

import numpy as np

from mindgencast.diffusion.schedules import training_noise_levels
from mindgencast.diffusion.spherical_noise import spherical_white_noise

__all__ = ["ExampleStream", "rank_positions"]


class ExampleStream:
    """Random-access source for ``mindspore.dataset.GeneratorDataset`` keyed by position.

    Args:
      examples: a :class:`~mindgencast.data.pipeline.TrainingExamples`.
      noise_config: the training noise-level distribution (None: a deterministic model
        such as GraphCast; every example gets sigma 0 and zero noise).
      seed: the run's seed.
      shuffle: reshuffle every epoch (False: positions map to examples in order, as
        validation uses).
      fixed_noise_levels: if True, example p of n gets the (p + 0.5) / n quantile of the
        training distribution (validation: fixed, stratified sigmas).
      length: positions this source serves.
      small_noise: ``(fraction, sigma_max)``: that fraction of the examples draws sigma
        log-uniformly from [training_min_noise_level, sigma_max] (TrainConfig.small_noise_*);
        None or fraction 0: GenCast's distribution only (and the same draws as without it).

    ``source[p]`` -> ``(inputs [N, C_in], targets [N, C], forcings [N, C_f], noise [N, C],
    sigma [])`` float32, N = num_lat * num_lon.
    """

    def __init__(self, examples, noise_config, seed: int, shuffle: bool = True, fixed_noise_levels: bool = False,
                 length: int = 0, small_noise=None):
        self.examples, self.noise_config, self.seed = examples, noise_config, int(seed)
        self.small_noise = small_noise if small_noise is not None and small_noise[0] > 0 else None
        self.shuffle, self.fixed_noise_levels, self.length = shuffle, fixed_noise_levels, int(length)
        self.num_examples = len(examples)
        self.lat, self.lon = examples.store.lat, examples.store.lon
        self._permutations: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.length

    def example_index(self, position: int) -> int:
        epoch, k = divmod(int(position), self.num_examples)
        if not self.shuffle:
            return k
        if epoch not in self._permutations:
            self._permutations = {epoch: np.random.default_rng([self.seed, 0, epoch]).permutation(self.num_examples)}
        return int(self._permutations[epoch][k])

    def __getitem__(self, position):
        position = int(position)
        inputs, targets, forcings = self.examples[self.example_index(position)]
        channels = targets.shape[-1]
        if self.noise_config is None:
            return inputs, targets, forcings, np.zeros(targets.shape, np.float32), np.float32(0.0)
        rng = np.random.default_rng([self.seed, 1, position])
        u = rng.uniform(size=1)
        if self.fixed_noise_levels:
            u = np.array([(position + 0.5) / max(1, self.length)])
        sigma = np.float32(training_noise_levels(self.noise_config, u)[0])
        if self.small_noise is not None and not self.fixed_noise_levels:
            fraction, sigma_max = self.small_noise
            pick, v = rng.uniform(size=2)
            if pick < fraction:
                low = np.log(self.noise_config.training_min_noise_level)
                sigma = np.float32(np.exp(low + v * (np.log(sigma_max) - low)))
        noise = spherical_white_noise(rng, self.lat, self.lon, channels).reshape(channels, -1).T
        return inputs, targets, forcings, np.ascontiguousarray(noise, np.float32), sigma


def rank_positions(start_step: int, steps: int, batch_size: int, num_ranks: int, rank: int,
                   accumulation: int) -> list[int]:
    """The positions rank ``rank`` reads, in order, for steps ``start_step .. steps - 1``."""
    micro = batch_size // (num_ranks * accumulation)
    out = []
    for s in range(start_step, steps):
        for a in range(accumulation):
            first = s * batch_size + (a * num_ranks + rank) * micro
            out.extend(range(first, first + micro))
    return out
