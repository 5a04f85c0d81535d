"""The three-grid re-cut (``_trio_cut``): one spanning tree cut at its best two edges.

Both the compiled kernel and the pure-Python reference are checked against every
pair of edges of the same tree (networkx builds the tree), each pair's three parts
scored from scratch: the bounds, the score, and that the three grids as they are
never come back.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import networkx as nx
import numpy as np
import pytest

from gridgeo.partition import _kernels
from gridgeo.partition import search
from gridgeo.partition.search import Graph, SearchParams
from gridgeo.partition.units import Atoms
from tests.partition_support import lattice


@pytest.fixture(autouse=True)
def _wrapping_keys() -> Iterator[None]:
    with np.errstate(over="ignore"):
        yield


def _tree_of(m: int, eu: np.ndarray, ev: np.ndarray, order: np.ndarray) -> nx.Graph:
    """Kruskal over ``order``, strongest edge first, as the search builds its trees."""
    tree = nx.Graph()
    tree.add_nodes_from(range(m))
    comp = nx.utils.UnionFind(range(m))
    for e in order:
        a, b = int(eu[e]), int(ev[e])
        if comp[a] != comp[b]:
            comp.union(a, b)
            tree.add_edge(a, b)
    return tree


def _candidates(atoms: Atoms, g: Graph, tree: nx.Graph, lo: float, hi: float, p: SearchParams,
                current: set[frozenset[int]]) -> dict[frozenset[frozenset[int]], float]:
    """Every way to remove two tree edges whose three parts hold lo…hi households, scored from scratch."""
    total = float(atoms.w.sum())
    share = total / 3
    scale = math.sqrt(float(atoms.area.sum()) / 3)
    edges = list(zip(atoms.u.tolist(), atoms.v.tolist(), g.cut.tolist(), atoms.length.tolist(), strict=True))
    out: dict[frozenset[frozenset[int]], float] = {}
    for e1, e2 in itertools.combinations(list(tree.edges), 2):
        cut_tree = tree.copy()
        cut_tree.remove_edges_from([e1, e2])
        parts = [frozenset(c) for c in nx.connected_components(cut_tree)]
        w = [float(atoms.w[list(q)].sum()) for q in parts]
        if not all(lo - 1e-9 <= x <= hi + 1e-9 for x in w) or set(parts) == current:
            continue
        of = {x: j for j, q in enumerate(parts) for x in q}
        ipq = 0.0
        for j, q in enumerate(parts):
            inner = sum(ln for a, b, _, ln in edges if of[a] == j and of[b] == j)
            per = float(atoms.perim[list(q)].sum()) - 2 * inner
            ipq += per ** 2 / (4 * math.pi * float(atoms.area[list(q)].sum()))
        cut = sum(c for a, b, c, _ in edges if of[a] != of[b])
        dev = sum(abs(x - share) for x in w) / share
        out[frozenset(parts)] = cut / scale + p.shape_weight * ipq + p.balance_weight * dev
    return out


def _case(seed: int, rows: int, cols: int) -> tuple[Atoms, Graph, float, float]:
    rng = np.random.default_rng([seed, rows, cols, 3])
    atoms = lattice(rng, rows, cols)
    h = float(atoms.w.sum())
    return atoms, Graph(atoms, SearchParams()), math.floor(h / 3 * 0.6), math.ceil(h / 3 * 1.5)


def _current(tree_cands: dict[frozenset[frozenset[int]], float], seed: int) -> set[frozenset[int]]:
    """One valid division to play the three grids now on the atoms (so it must not come back)."""
    if not tree_cands:
        return set()
    keys = sorted(tree_cands, key=lambda k: tree_cands[k])
    return set(keys[seed % len(keys)])


@pytest.mark.parametrize("rows,cols", [(3, 4), (4, 5), (5, 6)])
def test_compiled_trio_cut_is_the_best_pair_of_tree_edges(rows: int, cols: int) -> None:
    p = SearchParams()
    found = 0
    for seed in range(6):
        atoms, g, lo, hi = _case(seed, rows, cols)
        G = g.jit
        nodes = np.arange(atoms.n, dtype=np.int64)
        eu, ev, _, c, ln, q = _kernels._node_set(G, nodes)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(eu)).astype(np.int64)
        root = int(rng.integers(atoms.n))
        tree = _tree_of(atoms.n, eu, ev, order)
        current = _current(_candidates(atoms, g, tree, lo, hi, p, set()), seed)
        cur = np.asarray([np.sum(G.keys[sorted(s)], dtype=np.uint64) for s in current] or [0, 0, 0], dtype=np.uint64)
        want = _candidates(atoms, g, tree, lo, hi, p, current)
        score, part = _kernels._trio_cut(atoms.n, eu, ev, c, ln, q, order, root, G.keys, cur, float(lo), float(hi),
                                         p.shape_weight, p.balance_weight)
        assert (score < math.inf) == bool(want)
        if not want:
            assert (part == -1).all()
            continue
        found += 1
        got = frozenset(frozenset(np.flatnonzero(part == j).tolist()) for j in range(3))
        assert got != frozenset(current)
        assert score == pytest.approx(min(want.values()), rel=1e-9, abs=1e-9)
        assert want[got] == pytest.approx(score, rel=1e-9, abs=1e-9)
    assert found >= 3     # the cases are not all without a valid cut


@pytest.mark.parametrize("rows,cols", [(3, 4), (4, 5)])
def test_python_trio_cut_is_the_best_pair_of_the_tree_it_draws(rows: int, cols: int) -> None:
    p = SearchParams()
    found = 0
    for seed in range(6):
        atoms, g, lo, hi = _case(seed, rows, cols)
        nodes = np.arange(atoms.n, dtype=np.int64)
        ns = search._NodeSet(g, nodes)
        # the tree _trio_cut draws: the same generator, the same draws
        twin = np.random.default_rng(seed)
        st = ns.strength * np.exp(twin.normal(0.0, p.sigma, size=len(ns.eu)))
        twin.integers(atoms.n)
        tree = _tree_of(atoms.n, ns.eu, ns.ev, np.argsort(-st, kind="stable"))
        current = _current(_candidates(atoms, g, tree, lo, hi, p, set()), seed + 1)
        cur = {int(np.sum(g.keys[sorted(s)], dtype=np.uint64)) for s in current}
        want = _candidates(atoms, g, tree, lo, hi, p, current)
        parts = search._trio_cut(ns, float(lo), float(hi), np.random.default_rng(seed), p.sigma, p, cur)
        assert (parts is not None) == bool(want)
        if parts is None:
            continue
        found += 1
        got = frozenset(frozenset(x.tolist()) for x in parts)
        assert got in want and got != frozenset(current)
        assert want[got] == pytest.approx(min(want.values()), rel=1e-9, abs=1e-9)
    assert found >= 3
