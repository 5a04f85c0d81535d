"""partition.tessellation.components: the engine's union-find numbers components as scipy does."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridgeo.partition.tessellation import components


def test_components_equal_scipy_on_random_graphs() -> None:
    rng = np.random.default_rng(14)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        e = int(rng.integers(0, 2 * n))
        u, v = rng.integers(0, n, size=e), rng.integers(0, n, size=e)
        want_n, want = connected_components(coo_matrix((np.ones(e), (u, v)), shape=(n, n)), directed=False)
        got_n, got = components(n, u, v)
        assert got_n == want_n
        assert got.tolist() == want.tolist()


def test_components_of_a_path_and_an_isolated_node() -> None:
    n, labels = components(4, np.array([2, 1]), np.array([1, 0]))
    assert n == 2 and labels.tolist() == [0, 0, 0, 1]
