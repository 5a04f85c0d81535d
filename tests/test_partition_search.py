"""partition.search helpers against plain references: spanning trees (networkx), LCA (a walk up the
tree), and the best tree cut (every subtree scored from scratch by brute force)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from gridgeo.partition.search import Graph, SearchParams, _best_cut, _lca, _NodeSet, _tree, max_spanning_tree
from tests.partition_support import lattice as _lattice


def _random_connected(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    """A random tree on m nodes plus up to m extra edges, no duplicates, no loops."""
    edges = {(int(rng.integers(i)), i) for i in range(1, m)}
    for _ in range(int(rng.integers(0, m + 1))):
        a, b = sorted(int(x) for x in rng.integers(0, m, size=2))
        if a != b:
            edges.add((a, b))
    e = np.asarray(sorted(edges), dtype=np.int64).reshape(-1, 2)
    return e[:, 0], e[:, 1]


def _descendants(parent: list[int], root: int, x: int) -> set[int]:
    """Nodes whose walk up to the root passes through x (x included)."""
    out = set()
    for y in range(len(parent)):
        z = y
        while True:
            if z == x:
                out.add(y)
                break
            if z == root:
                break
            z = parent[z]
    return out


def test_tree_is_the_maximum_spanning_tree_of_networkx_with_a_true_preorder() -> None:
    rng = np.random.default_rng(7)
    for _ in range(150):
        m = int(rng.integers(1, 40))
        u, v = _random_connected(rng, m)
        st = rng.random(len(u))
        root = int(rng.integers(m))
        found = max_spanning_tree(m, u, v, st, root)
        assert found is not None
        order, parent, size, depth = found
        gx = nx.Graph()
        gx.add_nodes_from(range(m))
        gx.add_weighted_edges_from(zip(u.tolist(), v.tolist(), st.tolist()))
        want = nx.maximum_spanning_tree(gx)
        got = {(min(x, parent[x]), max(x, parent[x])) for x in range(m) if x != root}
        assert got == {(min(a, b), max(a, b)) for a, b in want.edges()}   # distinct weights: unique tree
        weight = {(min(a, b), max(a, b)): w for a, b, w in zip(u.tolist(), v.tolist(), st.tolist(), strict=True)}
        assert sum(weight[e] for e in got) == pytest.approx(want.size(weight="weight"))
        assert parent[root] == root and sorted(order) == list(range(m)) and order[0] == root
        pos = {x: i for i, x in enumerate(order)}
        lengths = nx.single_source_shortest_path_length(want, root)
        for x in range(m):
            assert depth[x] == lengths[x]
            # subtrees are contiguous in preorder, and size counts them
            assert set(order[pos[x]:pos[x] + size[x]]) == _descendants(parent, root, x)


def test_tree_of_disconnected_nodes_is_none() -> None:
    assert _tree(4, [0, 1], [0, 2], [1, 3], 0) is None
    assert max_spanning_tree(3, np.array([0]), np.array([1]), np.array([1.0]), 0) is None


def _walk_lca(parent: list[int], depth: list[int], a: int, b: int) -> int:
    while depth[a] > depth[b]:
        a = parent[a]
    while depth[b] > depth[a]:
        b = parent[b]
    while a != b:
        a, b = parent[a], parent[b]
    return a


def test_lca_equals_a_walk_up_the_tree_on_random_forests() -> None:
    rng = np.random.default_rng(11)
    for _ in range(100):
        parent: list[int] = []
        depth: list[int] = []
        pairs: list[tuple[int, int]] = []
        for _t in range(int(rng.integers(1, 4))):          # several trees side by side, as _best_cut stacks them
            m = int(rng.integers(1, 80))
            off = len(parent)
            root = int(rng.integers(m))
            rest = [x for x in rng.permutation(m).tolist() if x != root]
            par = [0] * m
            dep = [0] * m
            par[root] = root
            placed = [root]
            for x in rest:                                   # attach to any node already placed: deep and bushy trees
                p = placed[int(rng.integers(len(placed)))] if rng.random() < 0.5 else placed[-1]
                par[x], dep[x] = p, dep[p] + 1
                placed.append(x)
            parent += [p + off for p in par]
            depth += dep
            pairs += [(int(a) + off, int(b) + off) for a, b in rng.integers(0, m, size=(int(rng.integers(1, 60)), 2))]
        u = np.asarray([a for a, _ in pairs], dtype=np.int64)
        v = np.asarray([b for _, b in pairs], dtype=np.int64)
        got = _lca(np.asarray(parent, dtype=np.int64), np.asarray(depth, dtype=np.int64), u, v)
        assert got.tolist() == [_walk_lca(parent, depth, a, b) for a, b in pairs]


# ----------------------------------------------------------------------------- best cut vs brute force

def _brute_best(g: Graph, nodes: np.ndarray, k: int, lo: float, hi: float, rng: np.random.Generator,
                sigmas: list[float], p: SearchParams) -> dict[frozenset[int], tuple[float, int]]:
    """The same trees (same random draws, networkx), every valid subtree scored from scratch.

    Returns each candidate side with its score and grid count (the lowest score over trees).
    """
    a = g.atoms
    inside = set(nodes.tolist())
    idx_e = [e for e in range(len(a.u)) if int(a.u[e]) in inside and int(a.v[e]) in inside]
    total = float(g.w[nodes].sum())
    area_all = float(a.area[nodes].sum())
    scored: dict[frozenset[int], tuple[float, int]] = {}
    for sigma in sigmas:
        st = g.strength[idx_e] * np.exp(rng.normal(0.0, sigma, size=len(idx_e)))
        root = int(nodes[int(rng.integers(len(nodes)))])
        gx = nx.Graph()
        gx.add_nodes_from(nodes.tolist())
        gx.add_weighted_edges_from((int(a.u[e]), int(a.v[e]), float(s)) for e, s in zip(idx_e, st, strict=True))
        tree = nx.maximum_spanning_tree(gx)
        directed = nx.bfs_tree(tree, root)
        cands = []
        for x in nodes.tolist():
            if x == root:
                continue
            side = {x} | nx.descendants(directed, x)
            s = float(g.w[list(side)].sum())
            ok_a = [q for q in range(1, k) if q * lo <= s + 1e-9 and s <= q * hi + 1e-9
                    and (k - q) * lo <= total - s + 1e-9 and total - s <= (k - q) * hi + 1e-9]
            if not ok_a:
                continue
            a_star = int(min(max(round(k * s / total), ok_a[0]), ok_a[-1]))
            cands.append((x, side, s, a_star))
        if k > 2 and p.margin > 0:
            mg = p.margin * (hi - lo)

            def easy(s: float, q: int) -> bool:
                r = total - s
                return ((q == 1 or lo + mg <= s / q <= hi - mg)
                        and (k - q == 1 or lo + mg <= r / max(k - q, 1) <= hi - mg))
            if any(easy(s, q) for _, _, s, q in cands):
                cands = [c for c in cands if easy(c[2], c[3])]
        for x, side, s, q in sorted(cands, key=lambda c: c[0]):
            cross = [e for e in idx_e if (int(a.u[e]) in side) != (int(a.v[e]) in side)]
            within_s = [e for e in idx_e if int(a.u[e]) in side and int(a.v[e]) in side]
            within_r = [e for e in idx_e if int(a.u[e]) not in side and int(a.v[e]) not in side]
            rest = [y for y in nodes.tolist() if y not in side]
            cut_cost = float(sum(g.cut[e] for e in cross))
            p_sub = float(a.perim[list(side)].sum()) - 2 * float(sum(a.length[e] for e in within_s))
            p_rest = float(a.perim[rest].sum()) - 2 * float(sum(a.length[e] for e in within_r))
            a_sub, a_rest = float(a.area[list(side)].sum()), float(a.area[rest].sum())
            ipq = p_sub ** 2 / (4 * math.pi * a_sub) + p_rest ** 2 / (4 * math.pi * a_rest)
            share = total / k
            score = (cut_cost / math.sqrt(area_all / k) + p.shape_weight * ipq
                     + p.balance_weight * abs(s - q * share) / share)
            key = frozenset(side)
            if key not in scored or score < scored[key][0]:
                scored[key] = (score, q)
    return scored


@pytest.mark.parametrize("rows,cols,k,subset", [(4, 5, 2, False), (6, 6, 4, False), (7, 8, 6, True),
                                                (3, 9, 3, True)])
def test_best_cut_is_the_brute_force_best_over_the_same_trees(rows: int, cols: int, k: int, subset: bool) -> None:
    p = SearchParams()
    for seed in range(6):
        rng = np.random.default_rng([seed, rows, cols])
        atoms = _lattice(rng, rows, cols)
        g = Graph(atoms, p)
        nodes = np.arange(atoms.n, dtype=np.int64)
        if subset:                      # a connected node set inside a bigger graph: the last rows
            nodes = nodes[cols:]
        h = float(g.w[nodes].sum())
        lo, hi = math.floor(h / k * 0.8), math.ceil(h / k * 1.25)
        sigmas = [3.0, 3.2, 3.4]
        got = _best_cut(g, _NodeSet(g, nodes), k, lo, hi, np.random.default_rng(seed), sigmas, p)
        want = _brute_best(g, nodes, k, lo, hi, np.random.default_rng(seed), sigmas, p)
        assert (got is None) == (not want)
        if got is None:
            continue
        score, side, rest, a = got
        assert score == pytest.approx(min(sc for sc, _ in want.values()), rel=1e-9, abs=1e-9)
        # the chosen side is a valid subtree of one of the trees, scored alike from scratch (ties between
        # trees may cut the same line from either side)
        key = frozenset(side.tolist())
        assert want[key][0] == pytest.approx(score, rel=1e-9, abs=1e-9) and want[key][1] == a
        assert sorted(side.tolist() + rest.tolist()) == nodes.tolist()


def test_best_cut_skips_node_sets_known_to_fail() -> None:
    p = SearchParams()
    rng = np.random.default_rng(3)
    g = Graph(_lattice(rng, 5, 6), p)
    nodes = np.arange(g.n, dtype=np.int64)
    h = float(g.w.sum())
    lo, hi = math.floor(h / 3 * 0.8), math.ceil(h / 3 * 1.25)
    first = _best_cut(g, _NodeSet(g, nodes), 3, lo, hi, np.random.default_rng(0), [3.0, 3.2, 3.4], p)
    assert first is not None
    _, side, _, a = first
    failed = {(int(np.sum(g.keys[side], dtype=np.uint64)), a)}
    again = _best_cut(g, _NodeSet(g, nodes), 3, lo, hi, np.random.default_rng(0), [3.0, 3.2, 3.4], p, failed)
    assert again is None or set(again[1].tolist()) != set(side.tolist())
