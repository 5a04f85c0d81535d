"""The compiled search (``partition._kernels``, numba) against plain references.

The tree cut is checked against every subtree of the same trees scored from scratch
(networkx for the trees), ``split`` and ``polish`` against what a plan must be (every
atom once, each grid connected, within bounds) and the polish's objective against a
recount from the atoms. The compiled and the pure-Python search draw different random
numbers, so they are compared on the quality they reach over many seeds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from gridgeo.partition import _kernels
from gridgeo.partition.search import Budget, Graph, SearchParams, polish, split
from gridgeo.partition.units import Atoms
from tests.partition_support import lattice


@pytest.fixture(autouse=True)
def _wrapping_keys() -> Iterator[None]:
    """Side fingerprints are sums of 64-bit keys that wrap around (numpy scalars warn on it)."""
    with np.errstate(over="ignore"):
        yield


def _lattice(rng: np.random.Generator, rows: int, cols: int, compounds: bool = False) -> tuple[Atoms, np.ndarray]:
    """``partition_support.lattice`` and, if asked, a compound code for about 40% of its atoms (−1: none)."""
    atoms = lattice(rng, rows, cols)
    n = atoms.n
    comp = np.where(rng.random(n) < 0.4, rng.integers(0, 15, size=n) * 7 + 1000, -1) if compounds else np.full(n, -1)
    return atoms, comp.astype(np.int64)


def test_the_search_runs_compiled() -> None:
    # numba is a requirement: without it the pure-Python search runs, about ten times slower
    assert _kernels.JIT


def _brute(atoms: Atoms, g: Graph, eu: np.ndarray, ev: np.ndarray, order: np.ndarray, roots: np.ndarray, k: int,
           lo: float, hi: float, p: SearchParams) -> dict[frozenset[int], tuple[float, int]]:
    """Every valid subtree of the trees Kruskal builds from ``order`` (strongest first), scored from scratch."""
    m = atoms.n
    total = float(atoms.w.sum())
    area_all = float(atoms.area.sum())
    cut = {(int(a), int(b)): float(c) for a, b, c in zip(atoms.u, atoms.v, g.cut, strict=True)}
    length = {(int(a), int(b)): float(x) for a, b, x in zip(atoms.u, atoms.v, atoms.length, strict=True)}
    edges = list(cut)
    scored: dict[frozenset[int], tuple[float, int]] = {}
    for t in range(len(roots)):
        tree = nx.Graph()
        tree.add_nodes_from(range(m))
        comp = nx.utils.UnionFind(range(m))
        for e in order[t]:
            a, b = int(eu[e]), int(ev[e])
            if comp[a] != comp[b]:
                comp.union(a, b)
                tree.add_edge(a, b)
        directed = nx.bfs_tree(tree, int(roots[t]))
        cands = []
        for x in range(m):
            if x == roots[t]:
                continue
            side = {x} | nx.descendants(directed, x)
            s = float(atoms.w[list(side)].sum())
            ok_a = [q for q in range(1, k) if q * lo <= s + 1e-9 and s <= q * hi + 1e-9
                    and (k - q) * lo <= total - s + 1e-9 and total - s <= (k - q) * hi + 1e-9]
            if ok_a:
                cands.append((side, s, int(min(max(round(k * s / total), ok_a[0]), ok_a[-1]))))
        if k > 2 and p.margin > 0:
            mg = p.margin * (hi - lo)

            def easy(s: float, q: int) -> bool:
                r = total - s
                return ((q == 1 or lo + mg <= s / q <= hi - mg)
                        and (k - q == 1 or lo + mg <= r / max(k - q, 1) <= hi - mg))
            if any(easy(s, q) for _, s, q in cands):
                cands = [c for c in cands if easy(c[1], c[2])]
        for side, s, q in cands:
            rest = [y for y in range(m) if y not in side]
            cross = [e for e in edges if (e[0] in side) != (e[1] in side)]
            in_s = [e for e in edges if e[0] in side and e[1] in side]
            in_r = [e for e in edges if e[0] not in side and e[1] not in side]
            p_sub = float(atoms.perim[list(side)].sum()) - 2 * sum(length[e] for e in in_s)
            p_rest = float(atoms.perim[rest].sum()) - 2 * sum(length[e] for e in in_r)
            a_sub, a_rest = float(atoms.area[list(side)].sum()), float(atoms.area[rest].sum())
            ipq = p_sub ** 2 / (4 * math.pi * a_sub) + p_rest ** 2 / (4 * math.pi * a_rest)
            share = total / k
            score = (sum(cut[e] for e in cross) / math.sqrt(area_all / k) + p.shape_weight * ipq
                     + p.balance_weight * abs(s - q * share) / share)
            key = frozenset(side)
            if key not in scored or score < scored[key][0]:
                scored[key] = (score, q)
    return scored


# 90 and 144 nodes: above _CLIMB_MAX, where lowest common ancestors come from binary lifting
@pytest.mark.parametrize("rows,cols,k", [(4, 5, 2), (6, 6, 4), (9, 10, 5), (12, 12, 8)])
def test_compiled_cut_is_the_brute_force_best_over_the_same_trees(rows: int, cols: int, k: int) -> None:
    p = SearchParams()
    for seed in range(4):
        rng = np.random.default_rng([seed, rows, cols])
        atoms, _ = _lattice(rng, rows, cols)
        g = Graph(atoms, p)
        G = g.jit
        nodes = np.arange(atoms.n, dtype=np.int64)
        eu, ev, _, c, ln, q = _kernels._node_set(G, nodes)
        # the node set's edges are the atoms' edges, with their cut costs
        assert sorted(zip(eu.tolist(), ev.tolist())) == sorted(zip(atoms.u.tolist(), atoms.v.tolist()))
        h = float(atoms.w.sum())
        lo, hi = math.floor(h / k * 0.8), math.ceil(h / k * 1.25)
        order = np.stack([rng.permutation(len(eu)) for _ in range(3)]).astype(np.int64)
        roots = rng.integers(0, atoms.n, size=3).astype(np.int64)
        status, score, a, mask = _kernels._cut_kernel(
            atoms.n, eu, ev, c, ln, q, order, roots, G.keys, np.uint64(_kernels._fp(G.keys)), k, float(lo), float(hi), h,
            float(atoms.area.sum()), float(q[2].sum() - 2 * ln.sum()), p.margin, p.shape_weight, p.balance_weight,
            _kernels.new_failed(), True)
        want = _brute(atoms, g, eu, ev, order, roots, k, lo, hi, p)
        assert (status == 1) == bool(want)
        if status != 1:
            continue
        assert score == pytest.approx(min(sc for sc, _ in want.values()), rel=1e-9, abs=1e-9)
        key = frozenset(np.flatnonzero(mask).tolist())
        assert want[key][0] == pytest.approx(score, rel=1e-9, abs=1e-9) and want[key][1] == a


def test_compiled_cut_skips_node_sets_known_to_fail() -> None:
    p = SearchParams()
    rng = np.random.default_rng(3)
    atoms, _ = _lattice(rng, 5, 6)
    G = Graph(atoms, p).jit
    nodes = np.arange(atoms.n, dtype=np.int64)
    eu, ev, _, c, ln, q = _kernels._node_set(G, nodes)
    h = float(atoms.w.sum())
    lo, hi = math.floor(h / 3 * 0.8), math.ceil(h / 3 * 1.25)
    order = np.stack([rng.permutation(len(eu)) for _ in range(3)]).astype(np.int64)
    roots = np.asarray([0, 7, 20], dtype=np.int64)
    failed = _kernels.new_failed()

    def cut() -> tuple[int, float, int, np.ndarray]:
        return _kernels._cut_kernel(atoms.n, eu, ev, c, ln, q, order, roots, G.keys, np.uint64(_kernels._fp(G.keys)), 3,
                                    float(lo), float(hi), h, float(atoms.area.sum()), float(q[2].sum() - 2 * ln.sum()),
                                    p.margin, p.shape_weight, p.balance_weight, failed, True)
    status, _, a, mask = cut()
    assert status == 1
    failed[np.uint64(_kernels._fkey(np.uint64(_kernels._fp(G.keys[mask])), a))] = True
    again = cut()
    assert again[0] != 1 or again[3].tolist() != mask.tolist()


def _check_plan(atoms: Atoms, nodes: np.ndarray, parts: list[np.ndarray], k: int, lo: float, hi: float) -> None:
    assert len(parts) == k
    assert sorted(np.concatenate(parts).tolist()) == sorted(nodes.tolist())
    gx = nx.Graph()
    gx.add_edges_from(zip(atoms.u.tolist(), atoms.v.tolist()))
    for part in parts:
        assert lo - 1e-9 <= atoms.w[part].sum() <= hi + 1e-9
        assert nx.is_connected(gx.subgraph(part.tolist()))


@pytest.mark.parametrize("rows,cols,k,subset", [(6, 6, 4, False), (10, 12, 9, False), (9, 14, 7, True)])
def test_compiled_split_gives_k_connected_grids_within_bounds(rows: int, cols: int, k: int, subset: bool) -> None:
    p = SearchParams()
    made = 0
    for seed in range(6):
        rng = np.random.default_rng([seed, rows, k])
        atoms, _ = _lattice(rng, rows, cols)
        g = Graph(atoms, p)
        nodes = np.arange(atoms.n, dtype=np.int64)
        if subset:                       # a connected node set inside a bigger graph: the last rows
            nodes = nodes[2 * cols:]
        h = float(atoms.w[nodes].sum())
        lo, hi = math.floor(h / k * 0.85), math.ceil(h / k * 1.15)
        budget = Budget(400)
        parts = split(g, nodes, k, lo, hi, np.random.default_rng(seed), p, budget)
        assert budget.left < 400                        # trees drawn are charged to the budget
        if parts is None:
            continue
        made += 1
        _check_plan(atoms, nodes, parts, k, lo, hi)
    assert made >= 4


def test_compiled_split_gives_up_where_no_division_exists() -> None:
    # a path of five atoms of 100: two grids of 250 each cannot be cut from it
    n = 5
    u = np.arange(n - 1, dtype=np.int64)
    atoms = Atoms(of_piece=np.arange(n), w=np.full(n, 100, dtype=np.int64), area=np.full(n, 100.0),
                  perim=np.full(n, 40.0), ns_perim=np.full(n, 20.0), u=u, v=u + 1, length=np.full(n - 1, 10.0),
                  ns=np.full(n - 1, 10.0), pen=np.zeros(n - 1), keys=[str(i) for i in range(n)])
    g = Graph(atoms, SearchParams())
    budget = Budget(60)
    assert split(g, np.arange(n, dtype=np.int64), 2, 240.0, 260.0, np.random.default_rng(0), SearchParams(),
                 budget) is None
    assert len(budget.failed) == 1                  # the whole set is remembered as not splitting in two


def _objective(atoms: Atoms, comp: np.ndarray, parts: list[np.ndarray], p: SearchParams) -> float:
    """The polish's objective recounted from the atoms: Σ (P + γN)² / 4πA, plus the span term."""
    label = np.full(atoms.n, -1)
    for gi, part in enumerate(parts):
        label[part] = gi
    total = 0.0
    for gi, part in enumerate(parts):
        inner = (label[atoms.u] == gi) & (label[atoms.v] == gi)
        perim = atoms.perim[part].sum() - 2 * atoms.length[inner].sum()
        ns = atoms.ns_perim[part].sum() - 2 * atoms.ns[inner].sum()
        total += (perim + p.nonstreet_weight * ns) ** 2 / (4 * math.pi * atoms.area[part].sum())
    spans = len({(int(c), int(label[x])) for x, c in enumerate(comp) if c >= 0})
    return total + p.span_weight * spans


@pytest.mark.parametrize("exchange", [False, True])
def test_compiled_polish_keeps_every_constraint_and_reports_its_objective(exchange: bool) -> None:
    p = SearchParams()
    gained = 0.0
    for seed in range(5):
        rng = np.random.default_rng([seed, 7])
        atoms, comp = _lattice(rng, 10, 12, compounds=True)
        g = Graph(atoms, p, compound=comp)
        k = 6
        h = float(atoms.w.sum())
        lo, hi = math.floor(h / k * 0.8), math.ceil(h / k * 1.25)
        nodes = np.arange(atoms.n, dtype=np.int64)
        parts = split(g, nodes, k, lo, hi, np.random.default_rng(seed), p)
        assert parts is not None
        before = _objective(atoms, comp, parts, p)
        after_parts, obj = polish(g, parts, lo, hi, np.random.default_rng(seed), p, exchange=exchange)
        _check_plan(atoms, nodes, after_parts, k, lo, hi)
        assert obj == pytest.approx(_objective(atoms, comp, after_parts, p), rel=1e-9)
        if not exchange:               # single moves are made only when they lower the objective
            assert obj <= before + 1e-9
        gained += before - obj
    assert gained > 0                  # the polish did improve plans


def test_compiled_and_python_search_reach_the_same_quality() -> None:
    """Different random numbers, same algorithm: over 8 seeds the compiled plans are as good."""
    p = SearchParams()
    got: dict[bool, list[float]] = {True: [], False: []}
    for jit in (True, False):
        old = _kernels.JIT
        _kernels.JIT = jit
        try:
            for seed in range(8):
                rng = np.random.default_rng([seed, 11])
                atoms, comp = _lattice(rng, 10, 12, compounds=True)
                g = Graph(atoms, p, compound=comp)
                h = float(atoms.w.sum())
                lo, hi = math.floor(h / 6 * 0.8), math.ceil(h / 6 * 1.25)
                r = np.random.default_rng(seed)
                parts = split(g, np.arange(atoms.n, dtype=np.int64), 6, lo, hi, r, p)
                assert parts is not None
                parts, _ = polish(g, parts, lo, hi, r, p, exchange=True)
                got[jit].append(_objective(atoms, comp, parts, p))
        finally:
            _kernels.JIT = old
    assert np.mean(got[True]) <= np.mean(got[False]) * 1.03


def test_the_python_search_takes_over_when_the_kernels_cannot_be_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    from gridgeo.errors import GridgeoWarning
    from gridgeo.partition import search

    monkeypatch.setattr(_kernels, "JIT", True)            # restored after the test
    monkeypatch.setattr(_kernels, "_WARM", {"done": False})

    def no_llvm() -> None:
        raise RuntimeError("LLVM ERROR: this machine says no")
    monkeypatch.setattr(search, "warm_up", no_llvm)
    rng = np.random.default_rng(4)
    atoms, _ = _lattice(rng, 6, 6)
    g = Graph(atoms, SearchParams())
    h = float(atoms.w.sum())
    lo, hi = math.floor(h / 4 * 0.85), math.ceil(h / 4 * 1.15)
    with pytest.warns(GridgeoWarning, match="pure-Python search runs instead"):
        parts = split(g, np.arange(atoms.n, dtype=np.int64), 4, lo, hi, rng, SearchParams())
    assert _kernels.JIT is False
    assert parts is not None
    _check_plan(atoms, np.arange(atoms.n), parts, 4, lo, hi)


def test_loading_the_kernels_leaves_scipy_linalg_and_numba_blas_working() -> None:
    """``warm`` answers numba's BLAS probe with a placeholder in a one-thread process (≈ 0.3 s
    of every CLI run); afterwards the real ``scipy.linalg`` must import and BLAS must compile."""
    import subprocess
    import sys
    code = (
        "import sys\n"
        "from gridgeo.partition import warm\n"
        "assert warm()\n"
        "assert 'scipy.linalg' not in sys.modules, 'warm imported scipy.linalg after all'\n"
        "assert 'scipy.linalg.cython_blas' not in sys.modules\n"
        "import numpy as np, numba, scipy.linalg\n"
        "from scipy.linalg import cython_blas\n"
        "assert hasattr(cython_blas, '__pyx_capi__')\n"
        "a = np.arange(12.0).reshape(3, 4)\n"
        "assert np.allclose(scipy.linalg.blas.dgemm(1.0, a, a.T), a @ a.T)\n"
        "assert np.allclose(scipy.linalg.lu_factor(a @ a.T + np.eye(3))[0].shape, (3, 3))\n"
        "dot = numba.njit(lambda x, y: np.dot(x, y))\n"
        "assert np.allclose(dot(a, a.T), a @ a.T)\n"
        "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"


def test_with_other_threads_the_blas_probe_runs_as_numba_wrote_it() -> None:
    """In a threaded host (Streamlit) another thread could import scipy.linalg meanwhile: no placeholder."""
    import sys
    import threading
    seen: list[bool] = []
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with _kernels._blas_probe_answered():
            seen.append(_kernels._BLAS_PROBE in sys.modules and
                        not hasattr(sys.modules[_kernels._BLAS_PROBE], "__pyx_capi__"))
    finally:
        stop.set()
        other.join()
    assert seen == [False]
