"""Distances between sample sets: the energy distance and its permutation test.

Szekely & Rizzo 2013, "Energy statistics": for samples X [n, d], Y [m, d],

    E(X, Y) = 2 mean ||x - y|| - mean ||x - x'|| - mean ||y - y'||      (V-statistic, >= 0)

which is 0 exactly when the two distributions agree (for finite first moments).
"""

from __future__ import annotations

import numpy as np

__all__ = ["energy_distance", "energy_permutation_test"]


def _mean_pairwise(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).mean())


def energy_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Energy distance between samples x [n, d] and y [m, d] (1-d inputs are treated as [n, 1])."""
    x = np.asarray(x, float).reshape(len(x), -1)
    y = np.asarray(y, float).reshape(len(y), -1)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"samples have different dimensions: {x.shape[1]} and {y.shape[1]}")
    return 2 * _mean_pairwise(x, y) - _mean_pairwise(x, x) - _mean_pairwise(y, y)


def energy_permutation_test(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, permutations: int = 200) -> float:
    """p-value of 'x and y come from the same distribution' (permutation test of the energy distance).

    Returns (1 + #{permuted >= observed}) / (1 + permutations).
    """
    x = np.asarray(x, float).reshape(len(x), -1)
    y = np.asarray(y, float).reshape(len(y), -1)
    pooled = np.concatenate([x, y])
    distances = np.sqrt(((pooled[:, None, :] - pooled[None, :, :]) ** 2).sum(-1))
    n = len(x)

    def statistic(index):
        a, b = index[:n], index[n:]
        return 2 * distances[np.ix_(a, b)].mean() - distances[np.ix_(a, a)].mean() - distances[np.ix_(b, b)].mean()

    observed = statistic(np.arange(len(pooled)))
    exceed = sum(statistic(rng.permutation(len(pooled))) >= observed for _ in range(permutations))
    return (1 + exceed) / (1 + permutations)
