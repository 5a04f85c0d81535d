"""Search on one connected atom graph: recursive spanning-tree bipartition, then local polish.

Bipartition (the ReCom family, DeFord–Duchin–Solomon 2021): draw a spanning tree,
cut the tree edge that leaves a·lo…a·hi households on one side and (k−a)·lo…(k−a)·hi
on the other, recurse. Both bounds hold at every cut, so every leaf is a grid
within bounds. The tree is a *maximum* spanning tree of the non-street shared
length (jittered by the seeded RNG): atoms of one block are tied by their long
shared edges and blocks hang together by street edges, so cutting a tree edge
tends to separate along streets. Among the valid tree edges the one with the
cheapest true cut (every graph edge crossing it, streets cheaper), the most
compact sides and the best balance wins.

Polish (AZP-style moves, Ricca–Simeone 2008): move a boundary atom to a
neighbouring grid when both stay within bounds, the donor stays contiguous (BFS
without the atom) and the sum of (P + γ·N)² / 4πA falls, where P is the
perimeter and N its part not on a street. On the plan a community keeps, the
polish also tries *exchanges* once single moves stall: two boundary atoms swapped
between neighbouring grids, two touching atoms moved together, and the pair of a
badly shaped grid and a neighbour re-cut along fresh spanning trees (a ReCom step
on two grids, via ``_best_cut``), then three grids around each badly shaped one
re-cut together (``_trio_cut``: two edges of one spanning tree). Single moves cannot make these when both grids
sit at a bound. Exchanges must lower the objective *and* must not raise Σ P²/A:
the objective alone would trade shape for street length there. A three-grid re-cut
also counts when it makes the worst of its three shapes better (Σ P²/A still not
rising, no compound split further) although γ's street term rises.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gridgeo.partition import _kernels
from gridgeo.partition.units import Atoms

__all__ = ["SearchParams", "Graph", "Budget", "split", "polish", "packable", "max_spanning_tree", "new_failed"]

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class SearchParams:
    """Tunables of the search; the defaults were tuned on the synthetic district."""

    trees_per_split: int = 3       # trees drawn per cut; the best valid edge over all of them wins
    max_attempts: int = 6          # rounds of trees (with more jitter) before a cut gives up
    budget: int = 300              # trees per grid count and level (all restarts) before moving on
    street_cut_factor: float = 0.5  # cost of a metre of cut along a street vs through a block
    shape_weight: float = 2.0
    balance_weight: float = 0.5
    polish_passes: int = 25
    sigma: float = 3.0             # log-normal jitter of tree strengths: fairly random trees explore
                                   # more shapes; the cut score, not the tree, keeps cuts on streets
    quality_starts: int = 8        # constructions per community; the best polished one is kept
    quality_budget: int = 60       # trees each extra construction may use (plus a few per grid)
    margin: float = 0.2            # share of (max − min) kept clear of the bounds by a side's mean grid size
    polish_pen: float = 1.0        # weight, in the polish, of the penalty for cutting a building or compound
    shake_rounds: int = 1          # loosen-reshape-tighten rounds after the polish (0: off)
    shake_slack: float = 0.3       # share of (max − min) a grid may drift outside the bounds meanwhile
    shake_price: float = 0.01      # objective per household outside the bounds while loosened
    big_k: int = 12                # above this many grids in one piece, fewer extra constructions:
    big_k_starts: int = 1          # each costs a full recursion; measured: no better shapes from more
    coarse_trees: float = 2.0      # trees per grid a plan of more than big_k grids may draw on atoms finer ones follow
    nonstreet_weight: float = 0.2  # γ: a metre of grid boundary off the streets counts 1+γ
    repair_weight: float = 1.0     # objective per household outside the real bounds (relaxed mode)
    span_weight: float = 3.0       # objective per grid a split compound touches: splits stay minimal
    recom_trees: int = 6           # trees drawn to re-cut a pair of neighbouring grids (0: off)
    recom_share: float = 0.15      # share of grids, worst shapes first, whose pairs are re-cut per round
    exchange_guard: str = "shape"  # exchanges must not worsen: "shape" (Σ P²/A), "both" (and off-street length), "none"
    exchange_starts: bool = False  # exchanges in every start's polish too (else on the kept plan only)
    recom3_share: float = 0.3      # share of grids, worst first, re-cut with two neighbours at once (0: off)
    recom3_below: float = 0.5      # ... only those of a Polsby–Popper below this
    recom3_per_grid: int = 8       # trios per bad grid in plans of more than big_k grids (worst companions first)
    recom3_worst: bool = True      # a trio re-cut improving its worst shape counts even if γ's street term rises
    recom3_draws: int = 4          # spanning trees drawn per three grids, each cut at its best two edges
    repair_starts: bool = True     # a community reached within bounds only by repair gets more starts and exchanges
    exchange_rounds: int = 2       # passes of swaps / two-atom moves once single moves stall (0: off)
    # communities with no street inside: no street-following to protect, so the three-grid re-cuts
    # (and their worst-shape acceptance) reach every grid of PP below 0.7, eight trios each, four trees per trio
    streetless_recom3: tuple[float, float, int, int] | None = (1.0, 0.7, 8, 4)   # (share, below, per grid, draws)
    objective: str = "inverse_pp"  # per grid: "inverse_pp" (P²/4πA, favours the worst) or "pp" (−4πA/P²)


_KEYS: list[NDArray[np.uint64]] = []


def _atom_keys(n: int) -> NDArray[np.uint64]:
    """Random 64-bit keys of atoms 0…n−1: the first n of one seeded draw (the same for every graph)."""
    if not _KEYS or len(_KEYS[0]) < n:
        _KEYS[:] = [np.random.default_rng(0x9E3779B9).integers(0, 2**63, size=max(n, 4096), dtype=np.uint64)]
    return _KEYS[0][:n]


class Graph:
    """Atoms plus what the search needs: cut costs, tree strengths, neighbour lists."""

    def __init__(self, atoms: Atoms, params: SearchParams, compound: IntArray | None = None) -> None:
        self.atoms = atoms
        #: compound code per atom (-1: none); the polish charges each grid a compound touches
        self.compound = compound if compound is not None else np.full(atoms.n, -1, dtype=np.int64)
        self.n = atoms.n
        self.w = atoms.w.astype(np.int64)
        street = atoms.length - atoms.ns
        self.cut = atoms.ns + params.street_cut_factor * street + atoms.pen
        self.strength = atoms.ns + 0.1 * street + atoms.pen + 1e-3
        self.local = np.full(self.n, -1, dtype=np.int64)
        # random 64-bit key per atom: a side's fingerprint is the (wrapping) sum of its keys
        self.keys = _atom_keys(self.n)
        self._nbr: list[list[tuple[int, float, float, float]]] | None = None
        self._jit: _kernels.JitGraph | None = None

    @property
    def nbr(self) -> list[list[tuple[int, float, float, float]]]:
        """Per atom, its neighbours (atom, shared length, off-street length, penalty) in edge order."""
        if self._nbr is None:
            nbr: list[list[tuple[int, float, float, float]]] = [[] for _ in range(self.n)]
            a = self.atoms
            for u, v, ln, ns, pen in zip(a.u.tolist(), a.v.tolist(), a.length.tolist(), a.ns.tolist(),
                                         a.pen.tolist(), strict=True):
                nbr[u].append((v, ln, ns, pen))
                nbr[v].append((u, ln, ns, pen))
            self._nbr = nbr
        return self._nbr

    @property
    def jit(self) -> _kernels.JitGraph:
        """The graph as flat arrays for the compiled search (``nbr`` in CSR form, compounds 0…c−1)."""
        if self._jit is None:
            a = self.atoms
            ne = len(a.u)
            src = np.concatenate([a.u, a.v]).astype(np.int64)
            dst = np.concatenate([a.v, a.u]).astype(np.int64)
            eid = np.concatenate([np.arange(ne), np.arange(ne)])
            order = np.lexsort((eid, src))          # by atom, then edge order (as ``nbr``)
            eo = eid[order]
            ptr = np.zeros(self.n + 1, dtype=np.int64)
            ptr[1:] = np.cumsum(np.bincount(src, minlength=self.n))
            has = self.compound >= 0
            codes = np.unique(self.compound[has])
            comp = np.full(self.n, -1, dtype=np.int64)
            comp[has] = np.searchsorted(codes, self.compound[has])

            def f64(x: NDArray[Any]) -> NDArray[np.float64]:
                return np.ascontiguousarray(x, dtype=np.float64)

            self._jit = _kernels.JitGraph(
                w=f64(self.w), area=f64(a.area), perim=f64(a.perim), nsp=f64(a.ns_perim), comp=comp,
                n_comp=len(codes), keys=self.keys, au=np.ascontiguousarray(a.u, dtype=np.int64),
                av=np.ascontiguousarray(a.v, dtype=np.int64), strength=f64(self.strength), cut=f64(self.cut),
                length=f64(a.length), ptr=ptr, nb=np.ascontiguousarray(dst[order]), nb_ln=f64(a.length[eo]),
                nb_ns=f64(a.ns[eo]), nb_pen=f64(a.pen[eo]), nb_e=np.ascontiguousarray(eo, dtype=np.int64),
                loc=np.full(self.n, -1, dtype=np.int64))
        return self._jit


@lru_cache(maxsize=64)
def _jit_params(p: SearchParams) -> NDArray[np.float64]:
    """``p`` as the compiled search's parameter vector (indices ``_kernels.P_*``)."""
    k = _kernels
    v = np.zeros(k.N_PARAMS)
    for i, x in ((k.P_TPS, p.trees_per_split), (k.P_ATTEMPTS, p.max_attempts), (k.P_SIGMA, p.sigma),
                 (k.P_MARGIN, p.margin), (k.P_SHAPE, p.shape_weight), (k.P_BAL, p.balance_weight),
                 (k.P_PASSES, p.polish_passes), (k.P_GAMMA, p.nonstreet_weight), (k.P_PEN, p.polish_pen),
                 (k.P_SPAN, p.span_weight), (k.P_RECOM_TREES, p.recom_trees), (k.P_RECOM_SHARE, p.recom_share),
                 (k.P_GUARD_SHAPE, p.exchange_guard in ("shape", "both")), (k.P_GUARD_NS, p.exchange_guard == "both"),
                 (k.P_R3_SHARE, p.recom3_share), (k.P_R3_BELOW, p.recom3_below), (k.P_R3_PER_GRID, p.recom3_per_grid),
                 (k.P_R3_WORST, p.recom3_worst), (k.P_R3_DRAWS, p.recom3_draws),
                 (k.P_EX_ROUNDS, p.exchange_rounds), (k.P_INVERSE, p.objective == "inverse_pp"),
                 (k.P_BIG_K, p.big_k), (k.P_REPAIR, p.repair_weight)):
        v[i] = float(x)
    return v


def _seed(rng: np.random.Generator) -> int:
    """A seed for the compiled search's own random stream, drawn from the caller's generator."""
    return int(rng.integers(0, 2**31 - 1))


def _parts_of(label: IntArray, k: int) -> list[IntArray]:
    """Atoms per label 0…k−1, each sorted (−1: in no part)."""
    idx = np.flatnonzero(label >= 0)
    lab = label[idx]
    order = idx[np.argsort(lab, kind="stable")]
    ends = np.cumsum(np.bincount(lab, minlength=k)).tolist()
    return [order[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def new_failed() -> Any:
    """An empty set of node sets known not to split, of the kind the running search reads."""
    return _kernels.new_failed() if _kernels.JIT and _kernels.warm() else set()


def _bounds_for(s: NDArray[np.float64], total: float, k: int, lo: float, hi: float) -> tuple[
        NDArray[np.int64], NDArray[np.int64]]:
    """Feasible numbers a of grids for a side holding ``s`` households (vectorised)."""
    rest = total - s
    lo_safe = max(lo, 1e-9)
    a_lo = np.maximum(np.maximum(np.ceil(s / hi - 1e-9), k - np.floor(rest / lo_safe + 1e-9)), 1.0)
    a_hi = np.minimum(np.minimum(np.floor(s / lo_safe + 1e-9), k - np.ceil(rest / hi - 1e-9)), float(k - 1))
    return a_lo.astype(np.int64), a_hi.astype(np.int64)


def _fingerprint(g: Graph, nodes: IntArray) -> int:
    return int(np.sum(g.keys[nodes], dtype=np.uint64))


_Stacked = tuple[IntArray, IntArray, NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], IntArray,
                 IntArray, IntArray]


class _NodeSet:
    """One node set's induced edges and per-node quantities, shared by every tree drawn on it.

    ``_split`` builds it once per call, so retries and the trees of one round pay
    for the edge selection, degrees and totals once.
    """

    __slots__ = ("nodes", "m", "eu", "ev", "eu_l", "ev_l", "strength", "c", "ln", "c_l", "ln_l", "q", "total", "area_all",
                 "perim_all", "keys", "fp_all", "_stacked")

    def __init__(self, g: Graph, nodes: IntArray) -> None:
        m = len(nodes)
        loc = g.local
        loc[nodes] = np.arange(m)
        a = g.atoms
        lu, lv = loc[a.u], loc[a.v]
        emask = (lu >= 0) & (lv >= 0)
        loc[nodes] = -1
        self.nodes = nodes
        self.m = m
        self.eu: IntArray = lu[emask]
        self.ev: IntArray = lv[emask]
        self.eu_l: list[int] = self.eu.tolist()
        self.ev_l: list[int] = self.ev.tolist()
        self.strength: NDArray[np.float64] = g.strength[emask]
        self.c: NDArray[np.float64] = g.cut[emask]
        self.ln: NDArray[np.float64] = a.length[emask]
        self.c_l: list[float] = self.c.tolist()
        self.ln_l: list[float] = self.ln.tolist()
        w = g.w[nodes].astype(np.float64)
        area = a.area[nodes]
        perim = a.perim[nodes]
        deg_c = np.bincount(self.eu, self.c, m) + np.bincount(self.ev, self.c, m)
        deg_l = np.bincount(self.eu, self.ln, m) + np.bincount(self.ev, self.ln, m)
        # summed over subtrees: households, area, perimeter, cut and length of incident edges
        self.q: NDArray[np.float64] = np.stack([w, area, perim, deg_c, deg_l])
        self.total = float(w.sum())
        self.area_all = float(area.sum())
        self.perim_all = float(perim.sum()) - 2 * float(self.ln.sum())
        self.keys: NDArray[np.uint64] = g.keys[nodes]
        self.fp_all = np.sum(self.keys, dtype=np.uint64)
        self._stacked: dict[int, _Stacked] = {}

    def stacked(self, nt: int) -> _Stacked:
        """``nt`` copies side by side: edges (u, v, cut, length), node quantities, each slot's tree, the
        first slot of its tree, and the first slot of its tree's prefix sums (m + 1 per tree)."""
        got = self._stacked.get(nt)
        if got is None:
            m, n_e = self.m, len(self.eu)
            off = (np.arange(nt, dtype=np.int64) * m)[:, None]
            tree_of = np.repeat(np.arange(nt, dtype=np.int64), m)
            got = ((self.eu[None, :] + off).reshape(-1), (self.ev[None, :] + off).reshape(-1),
                   np.broadcast_to(self.c, (nt, n_e)).reshape(-1), np.broadcast_to(self.ln, (nt, n_e)).reshape(-1),
                   np.broadcast_to(self.q[:, None, :], (self.q.shape[0], nt, m)).reshape(self.q.shape[0], -1),
                   tree_of, tree_of * m, tree_of * (m + 1))
            self._stacked[nt] = got
        return got


def _best_cut(g: Graph, ns: _NodeSet, k: int, lo: float, hi: float, rng: np.random.Generator,
              sigmas: list[float], p: SearchParams, failed: set[tuple[int, int]] | None = None,
              ) -> tuple[float, IntArray, IntArray, int] | None:
    """Draw one spanning tree of ``ns.nodes`` per sigma; return the best valid cut over all of them.

    Returns (score, side, rest, a): ``side`` gets ``a`` grids. The trees are
    drawn one by one (the same random stream as drawing them in separate calls);
    everything after the trees runs once on all of them stacked, tree ``t``
    owning node slots ``t·m … t·m + m − 1``. Ties go to the earlier tree.
    ``failed`` holds (fingerprint, k) of node sets already shown not to split into k
    grids; cuts producing one of them are skipped, so retries explore elsewhere.
    """
    m = ns.m
    n_e = len(ns.eu)
    orders: list[int] = []
    parents: list[int] = []
    sizes: list[int] = []
    depths: list[int] = []
    roots: list[int] = []
    small = m <= _CLIMB_MAX
    lca_c: list[float] = []
    lca_l: list[float] = []
    positions: list[int] = []
    for sigma in sigmas:
        st = ns.strength * np.exp(rng.normal(0.0, sigma, size=n_e))
        root = int(rng.integers(m))
        found = _tree(m, np.argsort(-st, kind="stable").tolist(), ns.eu_l, ns.ev_l, root)
        if found is None:
            continue
        pos_l = [0] * m                              # each node's place in its tree's preorder
        for i, x in enumerate(found[0]):
            pos_l[x] = i
        orders.extend(found[0])
        parents.extend(found[1])
        sizes.extend(found[2])
        depths.extend(found[3])
        positions.extend(pos_l)
        roots.append(root + len(roots) * m)
        if small:
            sc, sl = _lca_sums(pos_l, *found[1:], ns.eu_l, ns.ev_l, ns.c_l, ns.ln_l)
            lca_c.extend(sc)
            lca_l.extend(sl)
    nt = len(roots)
    if nt == 0:
        return None
    n = nt * m
    eu, ev, c, ln, q0, tree_of, offs, base0 = ns.stacked(nt)
    local_order = np.asarray(orders, dtype=np.int64)
    order = local_order + offs
    size_a = np.asarray(sizes, dtype=np.int64)
    if small:
        lcs = np.asarray([lca_c, lca_l])
    else:
        parent = np.asarray(parents, dtype=np.int64) + offs
        lca = _lca(parent, np.asarray(depths, dtype=np.int64), eu, ev)
        lcs = np.stack([np.bincount(lca, c, n), np.bincount(lca, ln, n)])
    q = np.concatenate([q0, lcs])
    q = q[:, order].reshape(q.shape[0], nt, m)
    # prefix sums per tree (each starts at 0, as when trees were scored one by one)
    cq = np.concatenate([np.zeros((q.shape[0], nt, 1)), np.cumsum(q, axis=2)], axis=2).reshape(q.shape[0], -1)
    base = base0 + np.asarray(positions, dtype=np.int64)   # slot of each node's subtree start in cq
    sub = cq[:, base + size_a] - cq[:, base]
    s_w = sub[0]
    total = ns.total
    a_lo, a_hi = _bounds_for(s_w, total, k, lo, hi)
    valid = a_lo <= a_hi
    valid[roots] = False
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        return None
    s = s_w[idx]
    a_star = np.clip(np.rint(k * s / max(total, 1e-9)), a_lo[idx], a_hi[idx]).astype(np.int64)
    if failed:
        fk = ns.keys[local_order].reshape(nt, m)
        cf = np.concatenate([np.zeros((nt, 1), dtype=np.uint64), np.cumsum(fk, axis=1, dtype=np.uint64)],
                            axis=1).reshape(-1)
        fp_sub = cf[base[idx] + size_a[idx]] - cf[base[idx]]
        fp_rest = ns.fp_all - fp_sub
        ok = np.asarray([(int(f), int(aa)) not in failed and (int(r), int(k - aa)) not in failed
                         for f, r, aa in zip(fp_sub, fp_rest, a_star, strict=True)], dtype=bool)
        if not ok.any():
            return None
        idx, s, a_star = idx[ok], s[ok], a_star[ok]
    if k > 2 and p.margin > 0:
        # keep both sides easy to divide further: average grid size away from the bounds, where
        # chunky atoms (compounds, towers) still leave room to reach every bound below; a tree
        # without such a cut keeps all its cuts
        mg = p.margin * (hi - lo)
        avg_s = s / a_star
        avg_r = (total - s) / np.maximum(k - a_star, 1)
        easy = (((a_star == 1) | ((avg_s >= lo + mg) & (avg_s <= hi - mg)))
                & (((k - a_star) == 1) | ((avg_r >= lo + mg) & (avg_r <= hi - mg))))
        tid = tree_of[idx]
        keep = easy | ~(np.bincount(tid[easy], minlength=nt) > 0)[tid]
        idx, s, a_star = idx[keep], s[keep], a_star[keep]
    share = total / k
    dev = np.abs(s - a_star * share) / max(share, 1e-9)
    _, s_area, s_perim, s_degc, s_degl, s_lcac, s_lcal = sub[:, idx]
    cut_cost = s_degc - 2 * s_lcac
    cut_len = s_degl - 2 * s_lcal
    area_all = ns.area_all
    p_sub = s_perim - 2 * s_lcal
    p_rest = ns.perim_all - p_sub + 2 * cut_len
    a_sub = np.maximum(s_area, 1e-9)
    a_rest = np.maximum(area_all - s_area, 1e-9)
    ipq = p_sub ** 2 / (4 * math.pi * a_sub) + p_rest ** 2 / (4 * math.pi * a_rest)
    scale = math.sqrt(max(area_all, 1e-9) / k)
    score = cut_cost / scale + p.shape_weight * ipq + p.balance_weight * dev
    best = int(np.argmin(score))
    x = int(idx[best])
    start = int(tree_of[x]) * m + positions[x]
    inside = local_order[start:start + size_a[x]]
    mask = np.zeros(m, dtype=bool)
    mask[inside] = True
    return float(score[best]), ns.nodes[mask], ns.nodes[~mask], int(a_star[best])


def _trio_cut(ns: _NodeSet, lo: float, hi: float, rng: np.random.Generator, sigma: float, p: SearchParams,
              cur: set[int]) -> list[IntArray] | None:
    """Draw one spanning tree of ``ns.nodes``; cut it at its best two edges into three parts of lo…hi households.

    Every pair of tree edges is tried; pairs whose three parts fit the bounds are
    scored as ``_best_cut`` scores a cut (cut cost per scale, shape Σ P²/4πA, balance),
    and the three grids now on these nodes (fingerprints ``cur``) are no candidate.
    Why not ``split`` with k = 3: on the real-shaped case 60% of those constructions
    rebuilt the three grids unchanged, and each cost two levels of trees.
    Returns the three parts (graph node ids), or None when no pair fits.
    """
    m, n_e = ns.m, len(ns.eu)
    st = ns.strength * np.exp(rng.normal(0.0, sigma, size=n_e))
    root = int(rng.integers(m))
    found = _tree(m, np.argsort(-st, kind="stable").tolist(), ns.eu_l, ns.ev_l, root)
    if found is None or m < 3:
        return None
    pre, parent, size, _ = found
    pos = [0] * m
    for i, x in enumerate(pre):
        pos[x] = i
    # subtree sums: households, area, the atoms' own perimeters, key fingerprints (mod 2**64)
    sw, sa, sp = (ns.q[r].tolist() for r in range(3))
    fk = [int(x) for x in ns.keys]
    for x in reversed(pre[1:]):
        y = parent[x]
        sw[y] += sw[x]
        sa[y] += sa[x]
        sp[y] += sp[x]
        fk[y] = (fk[y] + fk[x]) % 2**64
    total, share = sw[root], max(sw[root] / 3, 1e-9)
    scale = math.sqrt(max(sa[root], 1e-9) / 3)
    best: tuple[float, int, int] | None = None
    for i1 in range(1, m):
        v1 = pre[i1]
        for i2 in range(i1 + 1, m):
            v2 = pre[i2]
            nested = i2 < i1 + size[v1]
            w0, w1 = sw[v2], sw[v1] - (sw[v2] if nested else 0.0)
            w = (w0, w1, total - w0 - w1)
            if not all(lo - 1e-9 <= x <= hi + 1e-9 for x in w):
                continue
            f0, f1 = fk[v2], (fk[v1] - (fk[v2] if nested else 0)) % 2**64
            if f0 in cur and f1 in cur:
                continue           # the three grids as they are
            of = [0 if i2 <= r < i2 + size[v2] else (1 if i1 <= r < i1 + size[v1] else 2) for r in pos]
            inner = [0.0, 0.0, 0.0]
            cut = 0.0
            for a, b, ce, le in zip(ns.eu_l, ns.ev_l, ns.c_l, ns.ln_l, strict=True):
                if of[a] == of[b]:
                    inner[of[a]] += le
                else:
                    cut += ce
            a0, a1 = sa[v2], sa[v1] - (sa[v2] if nested else 0.0)
            area = (a0, a1, sa[root] - a0 - a1)
            p0, p1 = sp[v2], sp[v1] - (sp[v2] if nested else 0.0)
            per = (p0, p1, sp[root] - p0 - p1)
            ipq = sum((per[j] - 2 * inner[j]) ** 2 / (4 * math.pi * max(area[j], 1e-9)) for j in range(3))
            dev = sum(abs(x - share) for x in w) / share
            score = cut / scale + p.shape_weight * ipq + p.balance_weight * dev
            if best is None or score < best[0]:
                best = (score, i1, i2)
    if best is None:
        return None
    _, i1, i2 = best
    s1, s2 = size[pre[i1]], size[pre[i2]]
    of_a = np.asarray([0 if i2 <= r < i2 + s2 else (1 if i1 <= r < i1 + s1 else 2) for r in pos], dtype=np.int64)
    return [ns.nodes[of_a == j] for j in range(3)]


def _tree(m: int, edge_order: list[int], us: list[int], vs: list[int], root: int,
          ) -> tuple[list[int], list[int], list[int], list[int]] | None:
    """Kruskal over ``edge_order`` (strongest first), then a DFS from ``root``.

    Returns preorder, parent (the root its own parent), subtree size and depth,
    or None when the nodes are not connected. Plain lists: graphs have a few
    dozen to a few hundred nodes, where a sparse-matrix call costs more than the loop.
    """
    up = list(range(m))
    adj: list[list[int]] = [[] for _ in range(m)]
    need = m - 1
    for e in edge_order:
        if need == 0:
            break
        x = a = us[e]
        while up[a] != a:
            up[a] = up[up[a]]
            a = up[a]
        y = b = vs[e]
        while up[b] != b:
            up[b] = up[up[b]]
            b = up[b]
        if a != b:
            up[a] = b
            adj[x].append(y)
            adj[y].append(x)
            need -= 1
    if need:
        return None
    parent = [-1] * m
    parent[root] = root
    depth = [0] * m
    order: list[int] = []
    stack = [root]
    while stack:
        x = stack.pop()
        order.append(x)
        dx = depth[x] + 1
        for y in adj[x]:
            if parent[y] < 0:
                parent[y] = x
                depth[y] = dx
                stack.append(y)
    size = [1] * m
    for x in reversed(order[1:]):
        size[parent[x]] += size[x]
    return order, parent, size, depth


#: up to this many nodes, the lowest common ancestor of each edge is found by climbing the tree in plain
#: Python (a few steps per edge); above it, by binary lifting in numpy
_CLIMB_MAX = 96


def _lca_sums(pos: list[int], parent: list[int], size: list[int], depth: list[int], us: list[int],
              vs: list[int], c: list[float], ln: list[float]) -> tuple[list[float], list[float]]:
    """Per node, the sum of ``c`` and of ``ln`` over the edges (u, v) whose lowest common ancestor it is.

    ``pos`` is each node's place in the preorder. Climbs from the deeper end until its
    subtree (a preorder interval) holds the other end. Sums run in edge order, as
    ``np.bincount`` adds them.
    """
    m = len(pos)
    sc = [0.0] * m
    sl = [0.0] * m
    for a, b, ce, le in zip(us, vs, c, ln):
        if depth[a] < depth[b]:
            a, b = b, a
        pb = pos[b]
        while not pos[a] <= pb < pos[a] + size[a]:
            a = parent[a]
        sc[a] += ce
        sl[a] += le
    return sc, sl


def max_spanning_tree(m: int, eu: IntArray, ev: IntArray, strength: NDArray[np.float64],
                       root: int) -> tuple[list[int], list[int], list[int], list[int]] | None:
    """Kruskal on the strongest edges first, then a DFS from ``root``.

    Returns preorder, parent, subtree size and depth (lists; subtrees are
    contiguous in preorder), or None when the nodes are not connected.
    """
    if m == 1:
        return [root], [root], [1], [0]
    return _tree(m, np.argsort(-strength, kind="stable").tolist(), eu.tolist(), ev.tolist(), root)


def _lca(parent: IntArray, depth: IntArray, u: IntArray, v: IntArray) -> IntArray:
    """Lowest common ancestor of every (u, v) pair, by binary lifting (``parent[root] == root``).

    ``parent`` may hold several trees side by side (a forest): pairs never cross trees.
    """
    levels = max(1, int(depth.max()).bit_length())
    up = [parent]
    for _ in range(1, levels):
        up.append(up[-1][up[-1]])
    swap = depth[u] < depth[v]
    a = np.where(swap, v, u)
    b = np.where(swap, u, v)
    diff = depth[a] - depth[b]
    for j in range(levels):
        sel = ((diff >> j) & 1) == 1
        a[sel] = up[j][a[sel]]
    for j in reversed(range(levels)):
        ua, ub = up[j][a], up[j][b]
        sel = ua != ub
        a[sel] = ua[sel]
        b[sel] = ub[sel]
    return np.where(a == b, a, parent[a])


_PERMS3 = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


class Budget:
    """Trees a search may still draw, and node sets (fingerprint, k) known not to split.

    Share one across the restarts and grid counts tried on the same graph and
    bounds, so a hopeless level is given up quickly and no dead end is explored twice.
    """

    def __init__(self, trees: int) -> None:
        self.left = trees
        self.failed: Any = new_failed()   # (fingerprint, k) pairs, or their 64-bit keys when compiled


def packable(w: IntArray, k: int, lo: float, hi: float) -> bool:
    """A necessary condition for k grids of lo…hi from atoms ``w``, ignoring adjacency.

    Atoms above hi/2 cannot share a grid; the rest must fit in what they leave.
    (1,500 households as compounds of 458, 446 and 366 plus 230 loose: 4 grids
    would leave one grid with at most 230 < 300, so k = 4 fails here at once.)
    """
    total = float(w.sum())
    if not (k * lo - 1e-9 <= total <= k * hi + 1e-9) or k > len(w):
        return False
    big = w[w > hi / 2].astype(np.float64)
    if len(big) > k or (big > hi).any():
        return False
    small = total - float(big.sum())
    need = float(np.maximum(0.0, lo - big).sum()) + (k - len(big)) * lo
    room = float((hi - big).sum()) + (k - len(big)) * hi
    return need - 1e-9 <= small <= room + 1e-9


def split(g: Graph, nodes: IntArray, k: int, lo: float, hi: float, rng: np.random.Generator,
          p: SearchParams, budget: Budget | None = None) -> list[IntArray] | None:
    """Divide connected ``nodes`` into ``k`` connected parts of lo…hi households, or None."""
    if _kernels.JIT and _kernels.warm():
        if not _kernels.packable(g.jit.w[nodes], k, float(lo), float(hi)):
            return None
        budget = budget if budget is not None else Budget(p.budget)
        left = np.asarray([budget.left], dtype=np.int64)
        ok, label = _kernels.split(g.jit, _jit_params(p), np.ascontiguousarray(nodes, dtype=np.int64), k,
                                   float(lo), float(hi), left, budget.failed, _seed(rng))
        budget.left = int(left[0])
        return _parts_of(label, k) if ok else None
    if not packable(g.w[nodes], k, lo, hi):
        return None
    return _split(g, nodes, k, lo, hi, rng, p, budget if budget is not None else Budget(p.budget))


def _split(g: Graph, nodes: IntArray, k: int, lo: float, hi: float, rng: np.random.Generator,
           p: SearchParams, budget: Budget) -> list[IntArray] | None:
    if k == 1:
        return [nodes]
    ns = _NodeSet(g, nodes)
    treeable = len(ns.eu) >= ns.m - 1
    for attempt in range(p.max_attempts):
        n_trees = max(0, min(p.trees_per_split, budget.left))
        budget.left -= n_trees
        sigmas = [p.sigma + 0.5 * attempt + 0.2 * t for t in range(n_trees)]
        best = _best_cut(g, ns, k, lo, hi, rng, sigmas, p, budget.failed) if treeable and n_trees else None
        if n_trees < p.trees_per_split:
            return None   # the budget ran out during this round
        if best is None:
            continue
        _, side, rest, a = best
        left = _split(g, side, a, lo, hi, rng, p, budget)
        if left is None:
            continue
        right = _split(g, rest, k - a, lo, hi, rng, p, budget)
        if right is None:
            continue
        return left + right
    budget.failed.add((_fingerprint(g, nodes), k))
    return None


def polish(g: Graph, parts: list[IntArray], lo: float, hi: float, rng: np.random.Generator,
           p: SearchParams, *, real_lo: float | None = None, real_hi: float | None = None,
           exchange: bool = False, recombine: bool = True) -> tuple[list[IntArray], float]:
    """Improve compactness and street-following by single-atom moves that keep every constraint.

    ``lo``/``hi`` are hard; ``real_lo``/``real_hi`` (relaxed mode) add a repair term
    per household outside them, so moves also pull grids back toward the real bounds.
    ``exchange``: once single moves stall, up to ``p.exchange_rounds`` rounds of swaps,
    two-atom moves and (``recombine``) re-cuts of neighbouring pairs and trios, each kept only if
    the objective falls and Σ P²/A does not rise (``p.exchange_guard``), every grid
    stays within bounds and contiguous.

    Returns
    -------
    The parts and their objective (lower is better), to compare several starts.
    """
    if len(parts) < 2:
        return parts, 0.0
    a = g.atoms
    r_lo = lo if real_lo is None else real_lo
    r_hi = hi if real_hi is None else real_hi
    if _kernels.JIT and _kernels.warm():
        lab = np.full(g.n, -1, dtype=np.int64)
        for gi, part in enumerate(parts):
            lab[part] = gi
        obj = _kernels.polish(g.jit, _jit_params(p), lab, len(parts), float(lo), float(hi), float(r_lo),
                              float(r_hi), exchange, recombine, _seed(rng))
        return _parts_of(lab, len(parts)), obj
    label: dict[int, int] = {}
    for gi, part in enumerate(parts):
        for x in part.tolist():
            label[x] = gi
    members = [set(part.tolist()) for part in parts]
    kk = len(parts)
    w = g.w.tolist()
    ar = a.area.tolist()
    pe = a.perim.tolist()
    nsp = a.ns_perim.tolist()
    W = [0.0] * kk
    A = [0.0] * kk
    P = [0.0] * kk
    N = [0.0] * kk
    for x, gi in label.items():
        W[gi] += w[x]
        A[gi] += ar[x]
        P[gi] += pe[x]
        N[gi] += nsp[x]
    for x, gi in label.items():
        for y, ln, ns, _ in g.nbr[x]:
            if y > x and label.get(y) == gi:
                P[gi] -= 2 * ln
                N[gi] -= 2 * ns
    gamma = p.nonstreet_weight
    scale = math.sqrt(sum(A) / kk)
    four_pi = 4 * math.pi

    inverse = p.objective == "inverse_pp"

    def f(wv: float, av: float, pv: float, nv: float) -> float:
        out = max(0.0, r_lo - wv) + max(0.0, wv - r_hi)
        ipq = (pv + gamma * nv) ** 2 / (four_pi * max(av, 1e-9))
        return (ipq if inverse else -1.0 / max(ipq, 1e-9)) + p.repair_weight * out

    def connected_without(gi: int, x: int) -> bool:
        rest = members[gi]
        start = next(y for y in rest if y != x)
        seen = {start, x}
        todo = deque([start])
        while todo:
            y = todo.popleft()
            for z, _, _, _ in g.nbr[y]:
                if z not in seen and z in rest:
                    seen.add(z)
                    todo.append(z)
        return len(seen) == len(rest)

    comp = g.compound.tolist()
    cnt: dict[tuple[int, int], int] = {}
    for x, gi in label.items():
        if comp[x] >= 0:
            cnt[(comp[x], gi)] = cnt.get((comp[x], gi), 0) + 1

    def single_pass() -> bool:
        improved = False
        for x in rng.permutation(nodes).tolist():
            src = label[x]
            if len(members[src]) == 1 or W[src] - w[x] < lo - 1e-9:
                continue
            by: dict[int, list[float]] = {}
            own_l = own_ns = pen_src = 0.0
            for y, ln, ns, pen in g.nbr[x]:
                gy = label.get(y)
                if gy is None:
                    continue
                if gy == src:
                    own_l += ln
                    own_ns += ns
                    pen_src += pen
                else:
                    acc = by.setdefault(gy, [0.0, 0.0, 0.0])
                    acc[0] += ln
                    acc[1] += ns
                    acc[2] += pen
            if not by:
                continue
            pen_total = pen_src + sum(v[2] for v in by.values())
            f_src = f(W[src], A[src], P[src], N[src])
            src_new = (W[src] - w[x], A[src] - ar[x], P[src] - pe[x] + 2 * own_l, N[src] - nsp[x] + 2 * own_ns)
            f_src_new = f(*src_new)
            best_d, best_t = -1e-9, -1
            cx = comp[x]
            for t, (ln_t, ns_t, pen_t) in by.items():
                if W[t] + w[x] > hi + 1e-9:
                    continue
                t_new = (W[t] + w[x], A[t] + ar[x], P[t] + pe[x] - 2 * ln_t, N[t] + nsp[x] - 2 * ns_t)
                d_pen = p.polish_pen * ((pen_total - pen_t) - (pen_total - pen_src)) / scale
                d = f_src_new + f(*t_new) - f_src - f(W[t], A[t], P[t], N[t]) + d_pen
                if cx >= 0:  # grids the compound touches: leaves src if x was its last atom there
                    d += p.span_weight * ((0 if cnt[(cx, src)] > 1 else -1) + (0 if cnt.get((cx, t), 0) else 1))
                if d < best_d:
                    best_d, best_t = d, t
            if best_t < 0 or not connected_without(src, x):
                continue
            ln_t, ns_t, _ = by[best_t]
            W[src], A[src], P[src], N[src] = src_new
            W[best_t] += w[x]
            A[best_t] += ar[x]
            P[best_t] += pe[x] - 2 * ln_t
            N[best_t] += nsp[x] - 2 * ns_t
            members[src].discard(x)
            members[best_t].add(x)
            label[x] = best_t
            if cx >= 0:
                cnt[(cx, src)] -= 1
                cnt[(cx, best_t)] = cnt.get((cx, best_t), 0) + 1
            improved = True
        return improved

    def evaluate(moves: dict[int, int]) -> tuple[float, dict[int, list[float]]] | None:
        """Change of the objective if every atom x moves to grid moves[x]; None if a bound breaks."""
        st: dict[int, list[float]] = {}
        for x, t in moves.items():
            s = label[x]
            for gg in (s, t):
                if gg not in st:
                    st[gg] = [W[gg], A[gg], P[gg], N[gg]]
            a_s, a_t = st[s], st[t]
            a_s[0] -= w[x]
            a_s[1] -= ar[x]
            a_s[2] -= pe[x]
            a_s[3] -= nsp[x]
            a_t[0] += w[x]
            a_t[1] += ar[x]
            a_t[2] += pe[x]
            a_t[3] += nsp[x]
        for gg, v in st.items():
            if v[0] > W[gg] + 1e-9 and v[0] > hi + 1e-9 or v[0] < W[gg] - 1e-9 and v[0] < lo - 1e-9:
                return None
        d_pen = 0.0
        for x, t in moves.items():
            lx = label[x]
            for y, ln, ns, pen in g.nbr[x]:
                ly = label.get(y)
                if ly is None:
                    continue
                ny = moves.get(y, -1)
                if ny >= 0:
                    if y < x:
                        continue
                else:
                    ny = ly
                if lx == ly:
                    st[lx][2] += 2 * ln
                    st[lx][3] += 2 * ns
                if t == ny:
                    st[t][2] -= 2 * ln
                    st[t][3] -= 2 * ns
                d_pen += pen * ((t != ny) - (lx != ly))
        d = p.polish_pen * d_pen / scale
        d_shape = d_ns = 0.0
        for gg, v in st.items():
            d += f(*v) - f(W[gg], A[gg], P[gg], N[gg])
            d_shape += v[2] ** 2 / max(v[1], 1e-9) - P[gg] ** 2 / max(A[gg], 1e-9)
            d_ns += v[3] - N[gg]
        # guard: the objective trades shape for streets; these moves may only improve one without the other
        if guard_shape and d_shape > 1e-9 or guard_ns and d_ns > 1e-9:
            return None
        spans: dict[tuple[int, int], int] = {}
        for x, t in moves.items():
            cx = comp[x]
            if cx >= 0:
                spans[(cx, label[x])] = spans.get((cx, label[x]), 0) - 1
                spans[(cx, t)] = spans.get((cx, t), 0) + 1
        for key, dv in spans.items():
            old = cnt.get(key, 0)
            d += p.span_weight * ((old + dv > 0) - (old > 0))
        return d, st

    guard_shape = p.exchange_guard in ("shape", "both")
    guard_ns = p.exchange_guard == "both"

    def connected_after(moves: dict[int, int], grids: list[int]) -> bool:
        for gg in grids:
            mem = {y for y in members[gg] if moves.get(y, gg) == gg}
            mem.update(x for x, t in moves.items() if t == gg)
            if not mem:
                return False
            start = min(mem)
            seen = {start}
            todo = [start]
            while todo:
                y = todo.pop()
                for z, _, _, _ in g.nbr[y]:
                    if z not in seen and z in mem:
                        seen.add(z)
                        todo.append(z)
            if len(seen) != len(mem):
                return False
        return True

    def apply(moves: dict[int, int], st: dict[int, list[float]]) -> None:
        for gg, v in st.items():
            W[gg], A[gg], P[gg], N[gg] = v
        for x, t in moves.items():
            s = label[x]
            members[s].discard(x)
            members[t].add(x)
            label[x] = t
            cx = comp[x]
            if cx >= 0:
                cnt[(cx, s)] -= 1
                cnt[(cx, t)] = cnt.get((cx, t), 0) + 1

    def exchange_pass() -> bool:
        """Swaps of two boundary atoms between neighbouring grids, and moves of two touching atoms.

        For each pair of neighbouring grids the best few improving candidates are
        checked for contiguity; the first that passes is made.

        Single moves stall when both grids sit near a bound; a swap keeps both
        household totals close while the shapes change.
        """
        improved = False
        for ga in range(kk):
            side: dict[int, list[int]] = {}   # neighbouring grid -> atoms of ga touching it
            for x in sorted(members[ga]):
                seen_t: set[int] = set()
                for y, _, _, _ in g.nbr[x]:
                    gy = label.get(y)
                    if gy is not None and gy != ga and gy not in seen_t:
                        seen_t.add(gy)
                        side.setdefault(gy, []).append(x)
            for gb in sorted(side):
                xs = [x for x in side[gb] if label[x] == ga]
                best: tuple[float, dict[int, int], dict[int, list[float]]] | None = None
                cands: list[tuple[float, int, dict[int, int], dict[int, list[float]]]] = []
                if gb > ga:
                    ys = sorted({y for x in xs for y, _, _, _ in g.nbr[x] if label.get(y) == gb}
                                | {y for y in members[gb] if any(label.get(z) == ga for z, _, _, _ in g.nbr[y])})
                    for x in xs:
                        for y in ys:
                            lo_ok = lo - 1e-9
                            if not (lo_ok <= W[ga] - w[x] + w[y] <= hi + 1e-9
                                    and lo_ok <= W[gb] + w[x] - w[y] <= hi + 1e-9):
                                continue
                            mv = {x: gb, y: ga}
                            ev = evaluate(mv)
                            if ev is not None and ev[0] < -1e-9:
                                cands.append((ev[0], len(cands), mv, ev[1]))
                for x in xs:   # x and a neighbour of it in ga move to gb together
                    for y, _, _, _ in g.nbr[x]:
                        if label.get(y) != ga or W[ga] - w[x] - w[y] < lo - 1e-9 or W[gb] + w[x] + w[y] > hi + 1e-9:
                            continue
                        if any(label.get(z) == gb for z, _, _, _ in g.nbr[y]) and y < x:
                            continue   # the same pair is met from y
                        mv = {x: gb, y: gb}
                        ev = evaluate(mv)
                        if ev is not None and ev[0] < -1e-9:
                            cands.append((ev[0], len(cands), mv, ev[1]))
                cands.sort(key=lambda c: (c[0], c[1]))
                for _d, _i, mv, st in cands[:4]:
                    if len(members[ga]) > sum(1 for t in mv.values() if t != ga) and connected_after(mv, [ga, gb]):
                        best = (_d, mv, st)
                        break
                if best is not None:
                    apply(best[1], best[2])
                    improved = True
        return improved

    def recombine_pass() -> bool:
        """Merge a poorly shaped grid with a neighbour and re-cut the pair along a fresh spanning tree.

        The ReCom step on two grids: both sides of a tree cut are connected and
        within bounds, so whole blocks change hands at once where chains of
        single moves would break a bound or contiguity on the way. Worst grids first.
        """
        improved = False
        order = sorted(range(kk), key=lambda gi: (-f(W[gi], A[gi], P[gi], N[gi]), gi))
        n_try = max(1, math.ceil(p.recom_share * kk))
        done: set[tuple[int, int]] = set()
        for ga in order[:n_try]:
            nb = sorted({gy for x in members[ga] for y, _, _, _ in g.nbr[x]
                         if (gy := label.get(y)) is not None and gy != ga})
            for gb in nb:
                key = (min(ga, gb), max(ga, gb))
                if key in done:
                    continue
                done.add(key)
                union = np.asarray(sorted(members[ga] | members[gb]), dtype=np.int64)
                if len(union) <= 3:    # single moves and swaps already cover every cut of three atoms
                    continue
                fp = (_fingerprint(g, union), _fingerprint(g, np.asarray(sorted(members[ga]), dtype=np.int64)))
                if fp in tried:        # this pair, as it is now, was re-cut in vain before
                    continue
                best: tuple[float, dict[int, int], dict[int, list[float]]] | None = None
                ns_u = _NodeSet(g, union)   # edges and sums of the union, shared by its trees
                for ti in range(p.recom_trees if len(ns_u.eu) >= ns_u.m - 1 else 0):
                    found = _best_cut(g, ns_u, 2, lo, hi, rng, [p.sigma + 0.2 * ti], p)
                    if found is None:
                        continue
                    side = set(found[1].tolist())
                    # give the side to the grid that keeps more of its atoms (fewer moves, same objective)
                    keep_a = len(side & members[ga]) + len(members[gb] - side)
                    keep_b = len(side & members[gb]) + len(members[ga] - side)
                    to_side, to_rest = (ga, gb) if keep_a >= keep_b else (gb, ga)
                    mv = {int(x): (to_side if x in side else to_rest) for x in union.tolist()}
                    mv = {x: t for x, t in mv.items() if label[x] != t}
                    if not mv:
                        continue
                    ev = evaluate(mv)
                    if ev is not None and ev[0] < -1e-9 and (best is None or ev[0] < best[0]):
                        best = (ev[0], mv, ev[1])
                if best is not None:
                    apply(best[1], best[2])
                    improved = True
                else:
                    tried.add(fp)
        if p.recom3_share > 0:
            bad = [gi for gi in order[:max(1, math.ceil(p.recom3_share * kk))]
                   if four_pi * A[gi] / max(P[gi] ** 2, 1e-9) < p.recom3_below]
            improved = recombine3(bad) or improved
        return improved

    def span_change(moves: dict[int, int]) -> int:
        """Change in the number of (compound, grid) pairs if the moves are made."""
        spans: dict[tuple[int, int], int] = {}
        for x, t in moves.items():
            if comp[x] >= 0:
                spans[(comp[x], label[x])] = spans.get((comp[x], label[x]), 0) - 1
                spans[(comp[x], t)] = spans.get((comp[x], t), 0) + 1
        return sum(int(cnt.get(key, 0) + dv > 0) - int(cnt.get(key, 0) > 0) for key, dv in spans.items())

    def recombine3(worst: list[int]) -> bool:
        """Re-cut a bad grid together with two of its neighbours (ReCom on three grids, ``_trio_cut``).

        Where every grid sits at a bound (a community of exactly k·max households) no
        single move, swap or pair re-cut can trade households; three grids re-cut
        together can pass households round the triangle.
        """
        def around(gi: int) -> set[int]:
            return {gy for x in members[gi] for y, _, _, _ in g.nbr[x]
                    if (gy := label.get(y)) is not None and gy != gi}

        improved = False
        for ga in worst:
            nb = sorted(around(ga))
            # a neighbour gb and a third grid touching ga or gb (a chain ga–gb–gc counts)
            trios = sorted({(min(gb, gc), max(gb, gc)) for gb in nb for gc in around(gb) | set(nb)
                            if gc not in (ga, gb)})
            # the worst-shaped companions first; in a plan of many grids only a few trios per grid
            trios.sort(key=lambda t: -(f(W[t[0]], A[t[0]], P[t[0]], N[t[0]]) + f(W[t[1]], A[t[1]], P[t[1]], N[t[1]])))
            if kk > p.big_k:
                trios = trios[:p.recom3_per_grid]
            for gb, gc in trios:
                union = np.asarray(sorted(members[ga] | members[gb] | members[gc]), dtype=np.int64)
                if len(union) <= 4:
                    continue
                fp = (_fingerprint(g, union), _fingerprint(g, np.asarray(sorted(members[ga]), dtype=np.int64)),
                      _fingerprint(g, np.asarray(sorted(members[gb]), dtype=np.int64)))
                if fp in tried:
                    continue
                best: tuple[float, dict[int, int], dict[int, list[float]]] | None = None
                trio = (ga, gb, gc)
                ns_u = _NodeSet(g, union)
                cur = {_fingerprint(g, np.asarray(sorted(members[t]), dtype=np.int64)) for t in trio}
                treeable = len(ns_u.eu) >= ns_u.m - 1 and packable(g.w[union], 3, lo, hi)
                for di in range(p.recom3_draws if treeable else 0):
                    parts3 = _trio_cut(ns_u, lo, hi, rng, p.sigma + 0.2 * di, p, cur)
                    if parts3 is None:
                        continue
                    sets = [set(q.tolist()) for q in parts3]
                    # give each new part to the grid that keeps most of its atoms
                    perm = max(_PERMS3, key=lambda pm: (sum(len(sets[j] & members[trio[pm[j]]])
                                                           for j in range(3)), pm))
                    mv = {x: trio[perm[j]] for j in range(3) for x in sets[j] if label[x] != trio[perm[j]]}
                    if not mv:
                        continue
                    ev = evaluate(mv)
                    if ev is None:
                        continue
                    # the objective must fall, or (``recom3_worst``) the worst of the three shapes improve
                    gain = ev[0] < -1e-9
                    if not gain and p.recom3_worst:
                        gain = (max(v[2] ** 2 / max(v[1], 1e-9) for v in ev[1].values())
                                < max(P[q] ** 2 / max(A[q], 1e-9) for q in trio) - 1e-9
                                and span_change(mv) <= 0)
                    if gain and (best is None or ev[0] < best[0]):
                        best = (ev[0], mv, ev[1])
                if best is not None:
                    apply(best[1], best[2])
                    improved = True
                    break       # ga's neighbours changed: on to the next bad grid
                tried.add(fp)
        return improved

    tried: set[tuple[int, ...]] = set()
    nodes = np.asarray(sorted(label), dtype=np.int64)
    rounds = 0
    for _ in range(p.polish_passes):
        if single_pass():
            continue
        if not exchange or rounds >= p.exchange_rounds:
            break
        swapped = exchange_pass()
        recombined = recombine and p.recom_trees > 0 and recombine_pass()
        if not (swapped or recombined):
            break
        rounds += 1
    final = [np.asarray(sorted(mset), dtype=np.int64) for mset in members]
    spans = sum(1 for v in cnt.values() if v > 0)
    return final, sum(f(W[i], A[i], P[i], N[i]) for i in range(kk)) + p.span_weight * spans


def warm_up() -> None:
    """Run the smallest real search once, so the compiled kernels are loaded (or compiled) now."""
    n = 9
    u = np.asarray([0, 1, 3, 4, 6, 7, 0, 1, 2, 3, 4, 5], dtype=np.int64)
    v = np.asarray([1, 2, 4, 5, 7, 8, 3, 4, 5, 6, 7, 8], dtype=np.int64)
    ones = np.ones(len(u))
    atoms = Atoms(of_piece=np.arange(n), w=np.full(n, 100, dtype=np.int64), area=np.ones(n), perim=np.full(n, 4.0),
                  ns_perim=np.full(n, 4.0), u=u, v=v, length=ones, ns=ones, pen=np.zeros(len(u)),
                  keys=[str(i) for i in range(n)])
    p = SearchParams()
    g = Graph(atoms, p, compound=np.asarray([0, 0, -1, -1, 1, 1, -1, -1, -1], dtype=np.int64))
    rng = np.random.default_rng(0)
    parts = split(g, np.arange(n, dtype=np.int64), 3, 200.0, 400.0, rng, p)
    if parts is not None:
        polish(g, parts, 200.0, 400.0, rng, p, exchange=True)
