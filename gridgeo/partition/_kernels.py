"""The partition search compiled with numba: ``search.split`` and ``search.polish`` as machine code.

Every function here is plain Python over numpy arrays, compiled by ``_load`` with
``numba.njit(cache=True)`` (compiled once per machine, then loaded from
``__pycache__``). ``_split`` is ``search._split`` (spanning-tree bipartition,
recursive, with the tree budget and the failed node sets) and ``_polish`` is
``search.polish`` (single moves, swaps and two-atom moves, pair and trio re-cuts,
the span and street terms), move for move; ``search.Graph.jit`` gives the graph
as flat arrays. The random stream is numba's own, seeded from the caller's
generator per call, so a seed gives one plan, but not the plan the pure-Python
search (``search._split``/``search.polish``) gives: that one is the readable
reference, run when numba is missing or ``GRIDGEO_NO_JIT=1``.

Why compiled: on the real-shaped case (coarse graphs, 100+ grids per community)
the Python search spent most of its time in interpreter overhead (measured in
bench/README.md).
"""

from __future__ import annotations

import math
import os
import sys
import threading
import types as py_types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from gridgeo.errors import GridgeoWarning

__all__ = ["JIT", "JitGraph", "N_PARAMS", "new_failed", "packable", "polish", "split", "warm"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
_CutResult = tuple[int, float, int, NDArray[np.bool_]]
_CLIMB_MAX = 64      # above this many nodes, lowest common ancestors by binary lifting, else by climbing
Dict: Any = None     # numba.typed.Dict and numba.types, set by _load
types: Any = None


def _tree_scratch(m: int) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray, IntArray,
                                    IntArray, IntArray]:
    """``_spanning_tree``'s arrays for m nodes: up, accepted edges (u, v), degrees, adjacency, fill,
    parent, depth and the DFS stack."""
    e = max(m - 1, 0)
    return (np.empty(m, dtype=np.int64), np.empty(e, dtype=np.int64), np.empty(e, dtype=np.int64),
            np.zeros(m + 1, dtype=np.int64), np.empty(2 * e, dtype=np.int64), np.empty(m, dtype=np.int64),
            np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64))


def _spanning_tree(m: int, eu: IntArray, ev: IntArray, order: IntArray, root: int, up: IntArray, acc_u: IntArray,
                   acc_v: IntArray, deg: IntArray, adj: IntArray, fill: IntArray, parent: IntArray, depth: IntArray,
                   stack: IntArray, pre: IntArray, pos: IntArray, size: IntArray, base: int) -> bool:
    """Kruskal over ``order`` (strongest edge first), then a DFS from ``root`` (``search._tree``).

    Writes the preorder, each node's place in it and its subtree size at ``base`` in
    ``pre``/``pos``/``size``, and ``parent``/``depth``; the other arrays are scratch of
    length m (``adj`` 2(m − 1), ``deg`` m + 1). False when the nodes are not connected.
    """
    n_e = len(order)
    # Kruskal, path halving, union a -> b (as search._tree); accepted edges in order
    for x in range(m):
        up[x] = x
    need = m - 1
    na = 0
    for j in range(n_e):
        if need == 0:
            break
        e = order[j]
        x = eu[e]
        a = x
        while up[a] != a:
            up[a] = up[up[a]]
            a = up[a]
        y = ev[e]
        b = y
        while up[b] != b:
            up[b] = up[up[b]]
            b = up[b]
        if a != b:
            up[a] = b
            acc_u[na] = x
            acc_v[na] = y
            na += 1
            need -= 1
    if need:
        return False
    # adjacency lists in acceptance order
    deg[:] = 0
    for j in range(na):
        deg[acc_u[j] + 1] += 1
        deg[acc_v[j] + 1] += 1
    for x in range(m):
        deg[x + 1] += deg[x]
    for x in range(m):
        fill[x] = deg[x]
    for j in range(na):
        x = acc_u[j]
        y = acc_v[j]
        adj[fill[x]] = y
        fill[x] += 1
        adj[fill[y]] = x
        fill[y] += 1
    # DFS from the root: a stack, neighbours pushed in list order
    for x in range(m):
        parent[x] = -1
    parent[root] = root
    depth[root] = 0
    stack[0] = root
    top = 1
    i = 0
    while top > 0:
        top -= 1
        x = stack[top]
        pre[base + i] = x
        pos[base + x] = i
        i += 1
        dx = depth[x] + 1
        for j in range(deg[x], deg[x + 1]):
            y = adj[j]
            if parent[y] < 0:
                parent[y] = x
                depth[y] = dx
                stack[top] = y
                top += 1
    for x in range(m):
        size[base + x] = 1
    for i in range(m - 1, 0, -1):
        x = pre[base + i]
        size[base + parent[x]] += size[base + x]
    return True


def _cut_kernel(m: int, eu: IntArray, ev: IntArray, c: FloatArray, ln: FloatArray, q: FloatArray,
                order: IntArray, roots: IntArray, keys: NDArray[np.uint64], fp_all: Any, k: int,
                lo: float, hi: float, total: float, area_all: float, perim_all: float, margin: float,
                shape_w: float, bal_w: float, failed: Any, use_failed: bool,
                ) -> _CutResult:
    """Best valid tree cut over ``len(roots)`` trees (``search._best_cut`` after its random draws).

    ``failed`` (read when ``use_failed``) holds ``_fkey`` of node sets known not to split.
    Returns (status, score, a, side mask over the m local nodes): status -1 when the
    nodes are not connected, 0 when no cut is valid, 1 when found.
    """
    nt, n_e = order.shape
    n = nt * m
    mask = np.zeros(m, dtype=np.bool_)
    pre = np.empty(n, dtype=np.int64)        # preorder of each tree (local node ids)
    pos = np.empty(n, dtype=np.int64)        # each node's place in its tree's preorder
    size = np.empty(n, dtype=np.int64)
    n_q = q.shape[0]
    cq = np.zeros((n_q + 2, nt * (m + 1)))   # prefix sums along the preorder, 0 first, per tree
    fk = np.zeros(nt * (m + 1), dtype=np.uint64)
    up, acc_u, acc_v, deg, adj, fill, parent, depth, stack = _tree_scratch(m)
    lc = np.empty(m)
    ll = np.empty(m)
    levels = 1
    while (1 << levels) < m:
        levels += 1
    jump = np.empty((levels, m), dtype=np.int64) if m > _CLIMB_MAX else np.empty((1, 1), dtype=np.int64)
    for t in range(nt):
        base = t * m
        if not _spanning_tree(m, eu, ev, order[t], roots[t], up, acc_u, acc_v, deg, adj, fill, parent, depth,
                              stack, pre, pos, size, base):
            return -1, 0.0, 0, mask
        # each edge's cut and length summed at its lowest common ancestor, in edge order
        for x in range(m):
            lc[x] = 0.0
            ll[x] = 0.0
        if m > _CLIMB_MAX:     # binary lifting: ancestors 2^j up, so each edge climbs in log m jumps
            for x in range(m):
                jump[0, x] = parent[x]
            for j in range(1, levels):
                for x in range(m):
                    jump[j, x] = jump[j - 1, jump[j - 1, x]]
        for e in range(n_e):
            a = eu[e]
            b = ev[e]
            if depth[a] < depth[b]:
                a, b = b, a
            pb = pos[base + b]
            if m > _CLIMB_MAX:
                if not (pos[base + a] <= pb and pb < pos[base + a] + size[base + a]):
                    for j in range(levels - 1, -1, -1):
                        u = jump[j, a]
                        if not (pos[base + u] <= pb and pb < pos[base + u] + size[base + u]):
                            a = u
                    a = parent[a]
            else:
                while not (pos[base + a] <= pb and pb < pos[base + a] + size[base + a]):
                    a = parent[a]
            lc[a] += c[e]
            ll[a] += ln[e]
        # prefix sums along the preorder
        cb = t * (m + 1)
        for i in range(m):
            x = pre[base + i]
            for r in range(n_q):
                cq[r, cb + i + 1] = cq[r, cb + i] + q[r, x]
            cq[n_q, cb + i + 1] = cq[n_q, cb + i] + lc[x]
            cq[n_q + 1, cb + i + 1] = cq[n_q + 1, cb + i] + ll[x]
            fk[cb + i + 1] = fk[cb + i] + keys[x]
    # candidates: every non-root slot whose side can hold a whole number of grids
    cand = np.empty(n, dtype=np.int64)
    a_of = np.empty(n, dtype=np.int64)
    nc = 0
    lo_safe = max(lo, 1e-9)
    tot_safe = max(total, 1e-9)
    for sl in range(n):
        t = sl // m
        x = sl - t * m
        if x == roots[t]:
            continue
        b0 = t * (m + 1) + pos[sl]
        s = cq[0, b0 + size[sl]] - cq[0, b0]
        rest = total - s
        a_lo = int(max(max(math.ceil(s / hi - 1e-9), k - math.floor(rest / lo_safe + 1e-9)), 1.0))
        a_hi = int(min(min(math.floor(s / lo_safe + 1e-9), k - math.ceil(rest / hi - 1e-9)), float(k - 1)))
        if a_lo > a_hi:
            continue
        a_st = int(min(max(np.rint(k * s / tot_safe), float(a_lo)), float(a_hi)))
        cand[nc] = sl
        a_of[nc] = a_st
        nc += 1
    if nc == 0:
        return 0, 0.0, 0, mask
    keep = np.ones(nc, dtype=np.bool_)
    if k > 2 and margin > 0:
        mg = margin * (hi - lo)
        easy = np.zeros(nc, dtype=np.bool_)
        tree_easy = np.zeros(nt, dtype=np.bool_)
        for j in range(nc):
            sl = cand[j]
            b0 = (sl // m) * (m + 1) + pos[sl]
            s = cq[0, b0 + size[sl]] - cq[0, b0]
            a_st = a_of[j]
            avg_s = s / a_st
            avg_r = (total - s) / max(k - a_st, 1)
            easy[j] = ((a_st == 1 or (avg_s >= lo + mg and avg_s <= hi - mg))
                       and ((k - a_st) == 1 or (avg_r >= lo + mg and avg_r <= hi - mg)))
            if easy[j]:
                tree_easy[sl // m] = True
        for j in range(nc):
            keep[j] = easy[j] or not tree_easy[cand[j] // m]
    share = total / k
    share_safe = max(share, 1e-9)
    four_pi = 4 * math.pi
    scale = math.sqrt(max(area_all, 1e-9) / k)
    sc = np.full(nc, np.inf)
    for j in range(nc):
        if not keep[j]:
            continue
        sl = cand[j]
        b0 = (sl // m) * (m + 1) + pos[sl]
        b1 = b0 + size[sl]
        s = cq[0, b1] - cq[0, b0]
        s_area = cq[1, b1] - cq[1, b0]
        s_perim = cq[2, b1] - cq[2, b0]
        s_degc = cq[3, b1] - cq[3, b0]
        s_degl = cq[4, b1] - cq[4, b0]
        s_lcac = cq[n_q, b1] - cq[n_q, b0]
        s_lcal = cq[n_q + 1, b1] - cq[n_q + 1, b0]
        dev = abs(s - a_of[j] * share) / share_safe
        cut_cost = s_degc - 2 * s_lcac
        cut_len = s_degl - 2 * s_lcal
        p_sub = s_perim - 2 * s_lcal
        p_rest = perim_all - p_sub + 2 * cut_len
        a_sub = max(s_area, 1e-9)
        a_rest = max(area_all - s_area, 1e-9)
        ipq = p_sub * p_sub / (four_pi * a_sub) + p_rest * p_rest / (four_pi * a_rest)
        sc[j] = cut_cost / scale + shape_w * ipq + bal_w * dev
    # the best cut whose sides are not known to fail (looked up for the winners only: lookups are dear)
    check = use_failed and len(failed) > 0
    while True:
        best = -1
        best_score = np.inf
        for j in range(nc):
            if sc[j] < best_score:
                best = j
                best_score = sc[j]
        if best < 0:
            return 0, 0.0, 0, mask
        if check:
            sl = cand[best]
            b0 = (sl // m) * (m + 1) + pos[sl]
            f_sub = fk[b0 + size[sl]] - fk[b0]
            f_rest = fp_all - f_sub
            if _fkey(f_sub, a_of[best]) in failed or _fkey(f_rest, k - a_of[best]) in failed:
                sc[best] = np.inf
                continue
        break
    sl = cand[best]
    t = sl // m
    start = t * m + pos[sl]
    for i in range(start, start + size[sl]):
        mask[pre[i]] = True
    return 1, best_score, int(a_of[best]), mask


def _trio_cut(m: int, eu: IntArray, ev: IntArray, c: FloatArray, ln: FloatArray, q: FloatArray, order: IntArray,
              root: int, keys: NDArray[np.uint64], cur: NDArray[np.uint64], lo: float, hi: float, shape_w: float,
              bal_w: float) -> tuple[float, IntArray]:
    """``search._trio_cut``: the best way to cut one spanning tree into three parts of lo…hi households.

    Two tree edges removed leave three connected parts: every pair is tried, those
    whose parts fit the bounds are scored as ``_cut_kernel`` scores a cut (cut cost per
    scale, shape Σ P²/4πA, balance). ``cur`` holds the fingerprints of the three grids
    now on these nodes; cutting them out as they are is no candidate. Returns (score,
    part 0/1/2 of each node), the score infinite when no pair fits.
    """
    part = np.full(m, -1, dtype=np.int64)
    up, acc_u, acc_v, deg, adj, fill, parent, depth, stack = _tree_scratch(m)
    pre = np.empty(m, dtype=np.int64)
    pos = np.empty(m, dtype=np.int64)
    size = np.empty(m, dtype=np.int64)
    if m < 3 or not _spanning_tree(m, eu, ev, order, root, up, acc_u, acc_v, deg, adj, fill, parent, depth, stack,
                                   pre, pos, size, 0):
        return np.inf, part
    # subtree sums: households, area, the atoms' own perimeters, key fingerprints
    sw = q[0].copy()
    sa = q[1].copy()
    sp = q[2].copy()
    fk = keys.copy()
    for i in range(m - 1, 0, -1):
        x = pre[i]
        y = parent[x]
        sw[y] += sw[x]
        sa[y] += sa[x]
        sp[y] += sp[x]
        fk[y] += fk[x]
    total = sw[root]
    share = max(total / 3.0, 1e-9)
    scale = math.sqrt(max(sa[root], 1e-9) / 3.0)
    four_pi = 4 * math.pi
    zero = np.uint64(0)
    n_e = len(eu)
    best = np.inf
    b1 = -1
    b2 = -1
    inner = np.zeros(3)
    for i1 in range(1, m):
        v1 = pre[i1]
        for i2 in range(i1 + 1, m):
            v2 = pre[i2]
            nested = i2 < i1 + size[v1]
            w0 = sw[v2]
            w1 = sw[v1] - (sw[v2] if nested else 0.0)
            w2 = total - w0 - w1
            if (w0 < lo - 1e-9 or w0 > hi + 1e-9 or w1 < lo - 1e-9 or w1 > hi + 1e-9 or w2 < lo - 1e-9
                    or w2 > hi + 1e-9):
                continue
            f0 = fk[v2]
            f1 = fk[v1] - (fk[v2] if nested else zero)
            if ((f0 == cur[0] or f0 == cur[1] or f0 == cur[2])
                    and (f1 == cur[0] or f1 == cur[1] or f1 == cur[2])):
                continue           # the three grids as they are
            # part of a node at preorder place r: 0 in v2's subtree, 1 in the rest of v1's, 2 elsewhere
            inner[:] = 0.0
            cut = 0.0
            for e in range(n_e):
                ra = pos[eu[e]]
                rb = pos[ev[e]]
                pa = 0 if i2 <= ra < i2 + size[v2] else (1 if i1 <= ra < i1 + size[v1] else 2)
                pb = 0 if i2 <= rb < i2 + size[v2] else (1 if i1 <= rb < i1 + size[v1] else 2)
                if pa == pb:
                    inner[pa] += ln[e]
                else:
                    cut += c[e]
            a0 = sa[v2]
            a1 = sa[v1] - (sa[v2] if nested else 0.0)
            a2 = sa[root] - a0 - a1
            p0 = sp[v2]
            p1 = sp[v1] - (sp[v2] if nested else 0.0)
            p2 = sp[root] - p0 - p1
            p0 -= 2.0 * inner[0]
            p1 -= 2.0 * inner[1]
            p2 -= 2.0 * inner[2]
            ipq = (p0 * p0 / (four_pi * max(a0, 1e-9)) + p1 * p1 / (four_pi * max(a1, 1e-9))
                   + p2 * p2 / (four_pi * max(a2, 1e-9)))
            dev = (abs(w0 - share) + abs(w1 - share) + abs(w2 - share)) / share
            score = cut / scale + shape_w * ipq + bal_w * dev
            if score < best:
                best = score
                b1 = i1
                b2 = i2
    if b1 < 0:
        return np.inf, part
    s1 = size[pre[b1]]
    s2 = size[pre[b2]]
    for x in range(m):
        r = pos[x]
        part[x] = 0 if b2 <= r < b2 + s2 else (1 if b1 <= r < b1 + s1 else 2)
    return best, part


def _f(wv: float, av: float, pv: float, nv: float, r_lo: float, r_hi: float, gamma: float, inverse: bool,
       repair_weight: float) -> float:
    """The polish's per-grid objective, as ``search.polish``'s ``f`` computes it."""
    out = max(0.0, r_lo - wv) + max(0.0, wv - r_hi)
    sq: float = (pv + gamma * nv) ** 2.0           # pow, as CPython's float ** 2
    ipq = sq / (4 * math.pi * max(av, 1e-9))
    return (ipq if inverse else -1.0 / max(ipq, 1e-9)) + repair_weight * out


def _single_pass(perm: IntArray, label: IntArray, n_mem: IntArray, W: FloatArray, A: FloatArray, P: FloatArray,
                 N: FloatArray, w: FloatArray, ar: FloatArray, pe: FloatArray, nsp: FloatArray, ptr: IntArray,
                 nb: IntArray, nb_ln: FloatArray, nb_ns: FloatArray, nb_pen: FloatArray, comp: IntArray,
                 cnt: IntArray, lo: float, hi: float, r_lo: float, r_hi: float, gamma: float, inverse: bool,
                 repair_weight: float, polish_pen: float, scale: float, span_weight: float,
                 ) -> tuple[IntArray, IntArray, IntArray]:
    """One pass of single-atom moves of ``search.polish`` (atoms in the order ``perm``).

    Updates ``label``, ``n_mem``, W, A, P, N and ``cnt`` (atoms per compound and grid) in
    place; returns the moves made (atom, from, to) in order.
    """
    n = len(label)
    mv_x = np.empty(len(perm), dtype=np.int64)
    mv_s = np.empty(len(perm), dtype=np.int64)
    mv_t = np.empty(len(perm), dtype=np.int64)
    n_mv = 0
    deg_max = 0
    for x in range(n):
        deg_max = max(deg_max, ptr[x + 1] - ptr[x])
    by_g = np.empty(deg_max, dtype=np.int64)
    by_l = np.empty(deg_max)
    by_n = np.empty(deg_max)
    by_p = np.empty(deg_max)
    seen = np.zeros(n, dtype=np.int64)     # BFS stamps
    stamp = 0
    todo = np.empty(n, dtype=np.int64)
    for x in perm:
        src = label[x]
        if n_mem[src] == 1 or W[src] - w[x] < lo - 1e-9:
            continue
        nby = 0
        own_l = 0.0
        own_ns = 0.0
        pen_src = 0.0
        for j in range(ptr[x], ptr[x + 1]):
            gy = label[nb[j]]
            if gy < 0:
                continue
            if gy == src:
                own_l += nb_ln[j]
                own_ns += nb_ns[j]
                pen_src += nb_pen[j]
            else:
                slot = -1
                for i in range(nby):
                    if by_g[i] == gy:
                        slot = i
                        break
                if slot < 0:
                    slot = nby
                    by_g[slot] = gy
                    by_l[slot] = 0.0
                    by_n[slot] = 0.0
                    by_p[slot] = 0.0
                    nby += 1
                by_l[slot] += nb_ln[j]
                by_n[slot] += nb_ns[j]
                by_p[slot] += nb_pen[j]
        if nby == 0:
            continue
        pen_by = 0.0
        for i in range(nby):
            pen_by += by_p[i]
        pen_total = pen_src + pen_by
        f_src = _f(W[src], A[src], P[src], N[src], r_lo, r_hi, gamma, inverse, repair_weight)
        s_w = W[src] - w[x]
        s_a = A[src] - ar[x]
        s_p = P[src] - pe[x] + 2 * own_l
        s_n = N[src] - nsp[x] + 2 * own_ns
        f_src_new = _f(s_w, s_a, s_p, s_n, r_lo, r_hi, gamma, inverse, repair_weight)
        best_d = -1e-9
        best_i = -1
        cx = comp[x]
        for i in range(nby):
            t = by_g[i]
            if W[t] + w[x] > hi + 1e-9:
                continue
            f_t_new = _f(W[t] + w[x], A[t] + ar[x], P[t] + pe[x] - 2 * by_l[i], N[t] + nsp[x] - 2 * by_n[i],
                         r_lo, r_hi, gamma, inverse, repair_weight)
            d_pen = polish_pen * ((pen_total - by_p[i]) - (pen_total - pen_src)) / scale
            d = f_src_new + f_t_new - f_src - _f(W[t], A[t], P[t], N[t], r_lo, r_hi, gamma, inverse,
                                                 repair_weight) + d_pen
            if cx >= 0:
                d += span_weight * ((0 if cnt[cx, src] > 1 else -1) + (0 if cnt[cx, t] else 1))
            if d < best_d:
                best_d = d
                best_i = i
        if best_i < 0:
            continue
        # the donor stays connected without x: a search from one of its other atoms reaches them all
        start = -1
        for j in range(ptr[x], ptr[x + 1]):
            if label[nb[j]] == src:
                start = nb[j]
                break
        if start < 0:
            for y in range(n):
                if y != x and label[y] == src:
                    start = y
                    break
        stamp += 1
        seen[x] = stamp
        seen[start] = stamp
        top = 1
        todo[0] = start
        reached = 1
        while top > 0:
            top -= 1
            y = todo[top]
            for j in range(ptr[y], ptr[y + 1]):
                z = nb[j]
                if seen[z] != stamp and label[z] == src:
                    seen[z] = stamp
                    todo[top] = z
                    top += 1
                    reached += 1
        if reached != n_mem[src] - 1:
            continue
        t = by_g[best_i]
        W[src] = s_w
        A[src] = s_a
        P[src] = s_p
        N[src] = s_n
        W[t] += w[x]
        A[t] += ar[x]
        P[t] += pe[x] - 2 * by_l[best_i]
        N[t] += nsp[x] - 2 * by_n[best_i]
        n_mem[src] -= 1
        n_mem[t] += 1
        label[x] = t
        if cx >= 0:
            cnt[cx, src] -= 1
            cnt[cx, t] += 1
        mv_x[n_mv] = x
        mv_s[n_mv] = src
        mv_t[n_mv] = t
        n_mv += 1
    return mv_x[:n_mv], mv_s[:n_mv], mv_t[:n_mv]


# ----------------------------------------------------------------------------- the whole search, compiled

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_GOLD2 = np.uint64(0xC2B2AE3D27D4EB4F)


class JitGraph(NamedTuple):
    """``search.Graph`` as flat arrays for the compiled search (see ``search.Graph.jit``)."""

    w: FloatArray          # households per atom
    area: FloatArray
    perim: FloatArray
    nsp: FloatArray        # perimeter not on a street
    comp: IntArray         # compound 0…n_comp−1, −1: none
    n_comp: int
    keys: NDArray[np.uint64]
    au: IntArray           # edges
    av: IntArray
    strength: FloatArray
    cut: FloatArray
    length: FloatArray
    ptr: IntArray          # neighbours in CSR form, edge order within a row (as ``Graph.nbr``)
    nb: IntArray
    nb_ln: FloatArray
    nb_ns: FloatArray
    nb_pen: FloatArray
    nb_e: IntArray         # the edge of each neighbour entry
    loc: IntArray          # scratch, all −1 between calls


def _node_set(G: JitGraph, nodes: IntArray) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray,
                                                     FloatArray]:
    """The edges induced by ``nodes`` (local ids) and per-node rows: households, area, perimeter, and the
    cut cost and length of incident edges (inside the set). Strengths come back as logarithms (``_draw``).

    Walks the neighbour lists of the nodes only, so a small set costs little in a big graph.
    """
    m = len(nodes)
    loc = G.loc
    for i in range(m):
        loc[nodes[i]] = i
    n_e = 0
    for i in range(m):
        x = nodes[i]
        for j in range(G.ptr[x], G.ptr[x + 1]):
            if loc[G.nb[j]] > i:
                n_e += 1
    eu = np.empty(n_e, dtype=np.int64)
    ev = np.empty(n_e, dtype=np.int64)
    lst = np.empty(n_e)
    c = np.empty(n_e)
    ln = np.empty(n_e)
    q = np.zeros((5, m))
    n_e = 0
    for i in range(m):
        x = nodes[i]
        q[0, i] = G.w[x]
        q[1, i] = G.area[x]
        q[2, i] = G.perim[x]
        for j in range(G.ptr[x], G.ptr[x + 1]):
            ly = loc[G.nb[j]]
            if ly > i:
                e = G.nb_e[j]
                eu[n_e] = i
                ev[n_e] = ly
                lst[n_e] = math.log(G.strength[e])
                c[n_e] = G.cut[e]
                ln[n_e] = G.length[e]
                q[3, i] += G.cut[e]
                q[4, i] += G.length[e]
                q[3, ly] += G.cut[e]
                q[4, ly] += G.length[e]
                n_e += 1
    for i in range(m):
        loc[nodes[i]] = -1
    return eu, ev, lst, c, ln, q


# indices into the parameter vector (``search._jit_params``)
P_TPS, P_ATTEMPTS, P_SIGMA, P_MARGIN, P_SHAPE, P_BAL, P_PASSES, P_GAMMA, P_PEN, P_SPAN = range(10)
P_RECOM_TREES, P_RECOM_SHARE, P_GUARD_SHAPE, P_GUARD_NS, P_R3_SHARE, P_R3_BELOW, P_R3_PER_GRID = range(10, 17)
P_R3_WORST, P_R3_DRAWS, P_EX_ROUNDS, P_INVERSE, P_BIG_K, P_REPAIR = range(17, 23)
N_PARAMS = 23


def _fkey(fp: Any, k: int) -> Any:
    """One 64-bit key for (side fingerprint, grid count)."""
    return fp ^ (np.uint64(k) * _GOLD)


def _fp(keys: NDArray[np.uint64]) -> Any:
    """A node set's fingerprint: the wrapping sum of its atoms' keys."""
    acc = np.uint64(0)
    for x in keys:
        acc += x
    return acc


def _packable(wv: FloatArray, k: int, lo: float, hi: float) -> bool:
    """``search.packable``."""
    total = 0.0
    for x in wv:
        total += x
    if not (k * lo - 1e-9 <= total <= k * hi + 1e-9) or k > len(wv):
        return False
    n_big = 0
    big = 0.0
    need = 0.0
    room = 0.0
    for x in wv:
        if x > hi / 2:
            if x > hi:
                return False
            n_big += 1
            big += x
            need += max(0.0, lo - x)
            room += hi - x
    if n_big > k:
        return False
    small = total - big
    need += (k - n_big) * lo
    room += (k - n_big) * hi
    return need - 1e-9 <= small <= room + 1e-9


def _draw(log_strength: FloatArray, m: int, sigmas: FloatArray) -> tuple[IntArray, IntArray]:
    """One jittered maximum-spanning-tree edge order and root per sigma.

    Strength × a log-normal jitter, sorted strongest first; in logarithms (no exp, the same order).
    """
    n_e = len(log_strength)
    order = np.empty((len(sigmas), n_e), dtype=np.int64)
    roots = np.empty(len(sigmas), dtype=np.int64)
    for t in range(len(sigmas)):
        key = -(log_strength + np.random.normal(0.0, sigmas[t], n_e))
        roots[t] = np.random.randint(0, m)
        if n_e < _RADIX_MIN:
            order[t] = np.argsort(key)
        else:
            _radix_argsort(key, order[t])
    return order, roots


_RADIX_MIN = 256     # from this many edges on, a radix sort (4 passes) beats a comparison sort


def _radix_argsort(key: FloatArray, out: IntArray) -> None:
    """``out`` = the order of ``key`` ascending: keys scaled to 32 bits, least significant byte first.

    Stable, so equal scaled keys (1e-9 of the key range apart) keep their index order.
    """
    n = len(key)
    lo = key.min()
    span = key.max() - lo
    scale = 4294967295.0 / span if span > 0 else 0.0
    code = np.empty(n, dtype=np.int64)
    for i in range(n):
        code[i] = int((key[i] - lo) * scale)
    src = np.arange(n)
    dst = np.empty(n, dtype=np.int64)
    count = np.empty(257, dtype=np.int64)
    for shift in range(0, 32, 8):
        count[:] = 0
        for i in range(n):
            count[((code[src[i]] >> shift) & 255) + 1] += 1
        for b in range(256):
            count[b + 1] += count[b]
        for i in range(n):
            x = src[i]
            b = (code[x] >> shift) & 255
            dst[count[b]] = x
            count[b] += 1
        src, dst = dst, src
    out[:] = src


def _split_rec(G: JitGraph, pp: FloatArray, nodes: IntArray, k: int, lo: float, hi: float, budget: IntArray,
               failed: Any, out: IntArray, nxt: IntArray) -> bool:
    """``search._split``: cut a spanning tree where both sides hold whole numbers of grids, recurse.

    Leaves get labels ``nxt[0]``, ``nxt[0] + 1`` … in ``out`` (left side first);
    ``budget[0]`` trees may still be drawn; ``failed`` holds node sets shown not to split.
    The recursion runs on an explicit stack (numba cannot cache recursive functions
    called from several places): a frame is a node set, its grid count, its next attempt and
    where it waits (0: for a cut, 1: for its left side, 2: for its right side).
    """
    f_nodes = [nodes]
    f_k = [k]
    f_att = [0]
    f_phase = [0]
    f_a = [0]
    f_save = [0]
    f_rest = [nodes]
    res = False
    tps = int(pp[P_TPS])
    attempts = int(pp[P_ATTEMPTS])
    while len(f_k) > 0:
        top = len(f_k) - 1
        phase = f_phase[top]
        if phase == 1:           # the left side came back
            if res:
                f_phase[top] = 2
                f_nodes.append(f_rest[top])
                f_k.append(f_k[top] - f_a[top])
                f_att.append(0)
                f_phase.append(0)
                f_a.append(0)
                f_save.append(0)
                f_rest.append(f_rest[top])
                continue
            nxt[0] = f_save[top]
            f_phase[top] = 0
            continue
        if phase == 2:           # the right side came back
            if res:
                _pop(f_nodes, f_k, f_att, f_phase, f_a, f_save, f_rest)
                continue
            nxt[0] = f_save[top]
            f_phase[top] = 0
            continue
        cur = f_nodes[top]
        kk = f_k[top]
        if kk == 1:
            for x in cur:
                out[x] = nxt[0]
            nxt[0] += 1
            _pop(f_nodes, f_k, f_att, f_phase, f_a, f_save, f_rest)
            res = True
            continue
        m = len(cur)
        eu, ev, st, c, ln, q = _node_set(G, cur)
        total = q[0].sum()
        area_all = q[1].sum()
        perim_all = q[2].sum() - 2.0 * ln.sum()
        keys = G.keys[cur]
        fp_all = _fp(keys)
        treeable = len(eu) >= m - 1
        pushed = False
        out_of_budget = False
        while f_att[top] < attempts:
            attempt = f_att[top]
            f_att[top] += 1
            n_trees = max(0, min(tps, budget[0]))
            budget[0] -= n_trees
            status = 0
            a = 0
            mask = np.zeros(m, dtype=np.bool_)
            if treeable and n_trees > 0:
                sig = np.empty(n_trees)
                for t in range(n_trees):
                    sig[t] = pp[P_SIGMA] + 0.5 * attempt + 0.2 * t
                order, roots = _draw(st, m, sig)
                status, _, a, mask = _cut_kernel(m, eu, ev, c, ln, q, order, roots, keys, fp_all, kk, lo, hi, total,
                                                 area_all, perim_all, pp[P_MARGIN], pp[P_SHAPE], pp[P_BAL], failed,
                                                 True)
            if n_trees < tps:
                out_of_budget = True       # the budget ran out during this round
                break
            if status != 1:
                continue
            f_phase[top] = 1
            f_a[top] = a
            f_save[top] = nxt[0]
            f_rest[top] = cur[~mask]
            f_nodes.append(cur[mask])
            f_k.append(a)
            f_att.append(0)
            f_phase.append(0)
            f_a.append(0)
            f_save.append(0)
            f_rest.append(cur)
            pushed = True
            break
        if pushed:
            continue
        if not out_of_budget:
            failed[_fkey(fp_all, kk)] = True
        _pop(f_nodes, f_k, f_att, f_phase, f_a, f_save, f_rest)
        res = False
    return res


def _pop(f_nodes: list[IntArray], f_k: list[int], f_att: list[int], f_phase: list[int], f_a: list[int],
         f_save: list[int], f_rest: list[IntArray]) -> None:
    f_nodes.pop()
    f_k.pop()
    f_att.pop()
    f_phase.pop()
    f_a.pop()
    f_save.pop()
    f_rest.pop()


def _split(G: JitGraph, pp: FloatArray, nodes: IntArray, k: int, lo: float, hi: float, budget: IntArray,
           failed: Any, seed: int) -> tuple[bool, IntArray]:
    """``search.split`` (after its ``packable`` test): a label 0…k−1 per atom of ``nodes`` (−1 elsewhere)."""
    np.random.seed(seed)
    out = np.full(len(G.w), -1, dtype=np.int64)
    nxt = np.zeros(1, dtype=np.int64)
    ok = _split_rec(G, pp, nodes, k, lo, hi, budget, failed, out, nxt)
    return ok, out


# --- the polish

def _slot(sg: IntArray, n_sl: int, gg: int) -> int:
    for i in range(n_sl):
        if sg[i] == gg:
            return i
    return -1


def _span_delta(comp: IntArray, cnt: IntArray, label: IntArray, mx: IntArray, mt: IntArray, nm: int) -> int:
    """Change in the number of (compound, grid) pairs if atoms ``mx`` move to grids ``mt``."""
    tc = np.empty(2 * nm, dtype=np.int64)
    tg = np.empty(2 * nm, dtype=np.int64)
    n_t = 0
    for i in range(nm):
        cx = comp[mx[i]]
        if cx < 0:
            continue
        for gg in (label[mx[i]], mt[i]):
            found = False
            for j in range(n_t):
                if tc[j] == cx and tg[j] == gg:
                    found = True
                    break
            if not found:
                tc[n_t] = cx
                tg[n_t] = gg
                n_t += 1
    if n_t == 0:
        return 0
    before = 0
    for j in range(n_t):
        before += 1 if cnt[tc[j], tg[j]] > 0 else 0
    for i in range(nm):
        cx = comp[mx[i]]
        if cx >= 0:
            cnt[cx, label[mx[i]]] -= 1
            cnt[cx, mt[i]] += 1
    after = 0
    for j in range(n_t):
        after += 1 if cnt[tc[j], tg[j]] > 0 else 0
    for i in range(nm):
        cx = comp[mx[i]]
        if cx >= 0:
            cnt[cx, label[mx[i]]] += 1
            cnt[cx, mt[i]] -= 1
    return after - before


def _evaluate(G: JitGraph, pp: FloatArray, label: IntArray, W: FloatArray, A: FloatArray, P: FloatArray,
              N: FloatArray, cnt: IntArray, mx: IntArray, mt: IntArray, nm: int, mto: IntArray, sg: IntArray,
              sv: FloatArray, lo: float, hi: float, r_lo: float, r_hi: float, scale: float,
              ) -> tuple[bool, float, int]:
    """``search.polish``'s ``evaluate``: the objective's change if atoms ``mx`` move to grids ``mt``.

    Returns (allowed, change, n): the new W, A, P, N of the n grids touched are in
    ``sv[:n]`` (grids ``sg[:n]``). Not allowed when a bound breaks or the guard refuses.
    """
    n_sl = 0
    for i in range(nm):
        x = mx[i]
        s = label[x]
        t = mt[i]
        for gg in (s, t):
            if _slot(sg, n_sl, gg) < 0:
                sg[n_sl] = gg
                sv[n_sl, 0] = W[gg]
                sv[n_sl, 1] = A[gg]
                sv[n_sl, 2] = P[gg]
                sv[n_sl, 3] = N[gg]
                n_sl += 1
        i_s = _slot(sg, n_sl, s)
        i_t = _slot(sg, n_sl, t)
        sv[i_s, 0] -= G.w[x]
        sv[i_s, 1] -= G.area[x]
        sv[i_s, 2] -= G.perim[x]
        sv[i_s, 3] -= G.nsp[x]
        sv[i_t, 0] += G.w[x]
        sv[i_t, 1] += G.area[x]
        sv[i_t, 2] += G.perim[x]
        sv[i_t, 3] += G.nsp[x]
    for i in range(n_sl):
        v0 = sv[i, 0]
        gg = sg[i]
        if (v0 > W[gg] + 1e-9 and v0 > hi + 1e-9) or (v0 < W[gg] - 1e-9 and v0 < lo - 1e-9):
            return False, 0.0, n_sl
    for i in range(nm):
        mto[mx[i]] = mt[i]
    d_pen = 0.0
    for i in range(nm):
        x = mx[i]
        t = mt[i]
        lx = label[x]
        for j in range(G.ptr[x], G.ptr[x + 1]):
            y = G.nb[j]
            ly = label[y]
            if ly < 0:
                continue
            ny = mto[y]
            if ny >= 0:
                if y < x:
                    continue
            else:
                ny = ly
            ln = G.nb_ln[j]
            ns = G.nb_ns[j]
            if lx == ly:
                k_s = _slot(sg, n_sl, lx)
                sv[k_s, 2] += 2 * ln
                sv[k_s, 3] += 2 * ns
            if t == ny:
                k_t = _slot(sg, n_sl, t)
                sv[k_t, 2] -= 2 * ln
                sv[k_t, 3] -= 2 * ns
            d_pen += G.nb_pen[j] * ((1.0 if t != ny else 0.0) - (1.0 if lx != ly else 0.0))
    for i in range(nm):
        mto[mx[i]] = -1
    gamma = pp[P_GAMMA]
    inverse = pp[P_INVERSE] > 0
    rw = pp[P_REPAIR]
    d = pp[P_PEN] * d_pen / scale
    d_shape = 0.0
    d_ns = 0.0
    for i in range(n_sl):
        gg = sg[i]
        d += (_f(sv[i, 0], sv[i, 1], sv[i, 2], sv[i, 3], r_lo, r_hi, gamma, inverse, rw)
              - _f(W[gg], A[gg], P[gg], N[gg], r_lo, r_hi, gamma, inverse, rw))
        d_shape += sv[i, 2] ** 2 / max(sv[i, 1], 1e-9) - P[gg] ** 2 / max(A[gg], 1e-9)
        d_ns += sv[i, 3] - N[gg]
    if (pp[P_GUARD_SHAPE] > 0 and d_shape > 1e-9) or (pp[P_GUARD_NS] > 0 and d_ns > 1e-9):
        return False, 0.0, n_sl
    d += pp[P_SPAN] * _span_delta(G.comp, cnt, label, mx, mt, nm)
    return True, d, n_sl


def _apply(G: JitGraph, label: IntArray, n_mem: IntArray, W: FloatArray, A: FloatArray, P: FloatArray,
           N: FloatArray, cnt: IntArray, mx: IntArray, mt: IntArray, nm: int, sg: IntArray, sv: FloatArray,
           n_sl: int) -> None:
    """Make the moves ``_evaluate`` priced (its ``sg``/``sv`` hold the new grid totals)."""
    for i in range(n_sl):
        gg = sg[i]
        W[gg] = sv[i, 0]
        A[gg] = sv[i, 1]
        P[gg] = sv[i, 2]
        N[gg] = sv[i, 3]
    for i in range(nm):
        x = mx[i]
        s = label[x]
        t = mt[i]
        n_mem[s] -= 1
        n_mem[t] += 1
        label[x] = t
        cx = G.comp[x]
        if cx >= 0:
            cnt[cx, s] -= 1
            cnt[cx, t] += 1


def _connected_after(G: JitGraph, label: IntArray, n_mem: IntArray, mx: IntArray, mt: IntArray, nm: int,
                     grids: IntArray, seen: IntArray, stamp: IntArray, todo: IntArray) -> bool:
    """Whether each of ``grids`` is non-empty and connected once atoms ``mx`` move to ``mt``."""
    old = np.empty(nm, dtype=np.int64)
    for i in range(nm):
        old[i] = label[mx[i]]
        label[mx[i]] = mt[i]
    ok = True
    for gg in grids:
        size = n_mem[gg]
        for i in range(nm):
            size += (1 if mt[i] == gg else 0) - (1 if old[i] == gg else 0)
        if size <= 0:
            ok = False
            break
        start = -1
        for x in range(len(label)):
            if label[x] == gg:
                start = x
                break
        stamp[0] += 1
        st = stamp[0]
        seen[start] = st
        todo[0] = start
        top = 1
        reached = 1
        while top > 0:
            top -= 1
            y = todo[top]
            for j in range(G.ptr[y], G.ptr[y + 1]):
                z = G.nb[j]
                if seen[z] != st and label[z] == gg:
                    seen[z] = st
                    todo[top] = z
                    top += 1
                    reached += 1
        if reached != size:
            ok = False
            break
    for i in range(nm):
        label[mx[i]] = old[i]
    return ok


def _grid_adjacency(G: JitGraph, label: IntArray, kk: int) -> NDArray[np.bool_]:
    adj = np.zeros((kk, kk), dtype=np.bool_)
    for e in range(len(G.au)):
        a = label[G.au[e]]
        b = label[G.av[e]]
        if a >= 0 and b >= 0 and a != b:
            adj[a, b] = True
            adj[b, a] = True
    return adj


def _members_fp(G: JitGraph, label: IntArray, gg: int) -> Any:
    acc = np.uint64(0)
    for x in range(len(label)):
        if label[x] == gg:
            acc += G.keys[x]
    return acc


class _State(NamedTuple):
    """The polish's mutable state (arrays changed in place) and scratch space."""

    label: IntArray
    n_mem: IntArray
    W: FloatArray
    A: FloatArray
    P: FloatArray
    N: FloatArray
    cnt: IntArray
    mto: IntArray      # scratch: target of each atom being priced, −1 otherwise
    sg: IntArray       # scratch: grids touched by the priced moves
    sv: FloatArray     # ... and their new W, A, P, N
    seen: IntArray     # scratch: BFS stamps
    stamp: IntArray
    todo: IntArray


def _offer(G: JitGraph, pp: FloatArray, S: _State, x: int, tx: int, y: int, ty: int, kind: int, mx: IntArray,
           mt: IntArray, c_d: FloatArray, c_x: IntArray, c_y: IntArray, c_kind: IntArray, n_c: int, lo: float,
           hi: float, r_lo: float, r_hi: float, scale: float) -> int:
    """Price moving atoms x → tx and y → ty together; keep them as a candidate when the objective falls."""
    mx[0] = x
    mt[0] = tx
    mx[1] = y
    mt[1] = ty
    ok, d, _ = _evaluate(G, pp, S.label, S.W, S.A, S.P, S.N, S.cnt, mx, mt, 2, S.mto, S.sg, S.sv, lo, hi, r_lo, r_hi,
                         scale)
    if not (ok and d < -1e-9):
        return n_c
    c_d[n_c] = d
    c_x[n_c] = x
    c_y[n_c] = y
    c_kind[n_c] = kind
    return n_c + 1


def _make(G: JitGraph, pp: FloatArray, S: _State, mx: IntArray, mt: IntArray, nm: int, lo: float, hi: float,
          r_lo: float, r_hi: float, scale: float) -> None:
    """Make moves already priced as allowed: price them again for the new grid totals, then apply."""
    _, _, n_sl = _evaluate(G, pp, S.label, S.W, S.A, S.P, S.N, S.cnt, mx, mt, nm, S.mto, S.sg, S.sv, lo, hi, r_lo,
                           r_hi, scale)
    _apply(G, S.label, S.n_mem, S.W, S.A, S.P, S.N, S.cnt, mx, mt, nm, S.sg, S.sv, n_sl)


def _exchange_pass(G: JitGraph, pp: FloatArray, S: _State, kk: int, lo: float, hi: float, r_lo: float,
                   r_hi: float, scale: float) -> bool:
    """``polish``'s ``exchange_pass``: swaps of two boundary atoms, moves of two touching atoms."""
    label = S.label
    n = len(label)
    improved = False
    max_deg = 0
    for x in range(n):
        max_deg = max(max_deg, G.ptr[x + 1] - G.ptr[x])
    pg = np.empty(len(G.nb) + 1, dtype=np.int64)
    px = np.empty(len(G.nb) + 1, dtype=np.int64)
    mx = np.empty(2, dtype=np.int64)
    mt = np.empty(2, dtype=np.int64)
    pair = np.empty(2, dtype=np.int64)
    ys = np.empty(n, dtype=np.int64)
    for ga in range(kk):
        n_p = 0
        for x in range(n):
            if label[x] != ga:
                continue
            first = n_p
            for j in range(G.ptr[x], G.ptr[x + 1]):
                gy = label[G.nb[j]]
                if gy < 0 or gy == ga:
                    continue
                dup = False
                for i in range(first, n_p):
                    if pg[i] == gy:
                        dup = True
                        break
                if not dup:
                    pg[n_p] = gy
                    px[n_p] = x
                    n_p += 1
        if n_p == 0:
            continue
        order = np.argsort(pg[:n_p], kind="mergesort")
        i0 = 0
        while i0 < n_p:
            gb = pg[order[i0]]
            i1 = i0
            while i1 < n_p and pg[order[i1]] == gb:
                i1 += 1
            xs = np.empty(i1 - i0, dtype=np.int64)
            n_x = 0
            for i in range(i0, i1):
                x = px[order[i]]
                if label[x] == ga:
                    xs[n_x] = x
                    n_x += 1
            i0 = i1
            n_y = 0
            if gb > ga:
                for y in range(n):
                    if label[y] != gb:
                        continue
                    for j in range(G.ptr[y], G.ptr[y + 1]):
                        if label[G.nb[j]] == ga:
                            ys[n_y] = y
                            n_y += 1
                            break
            cap = n_x * n_y + n_x * max_deg + 1
            c_d = np.empty(cap)
            c_x = np.empty(cap, dtype=np.int64)
            c_y = np.empty(cap, dtype=np.int64)
            c_kind = np.empty(cap, dtype=np.int64)
            n_c = 0
            for ix in range(n_x):
                x = xs[ix]
                for iy in range(n_y):
                    y = ys[iy]
                    if not (lo - 1e-9 <= S.W[ga] - G.w[x] + G.w[y] <= hi + 1e-9
                            and lo - 1e-9 <= S.W[gb] + G.w[x] - G.w[y] <= hi + 1e-9):
                        continue
                    n_c = _offer(G, pp, S, x, gb, y, ga, 0, mx, mt, c_d, c_x, c_y, c_kind, n_c, lo, hi, r_lo, r_hi,
                                 scale)
            for ix in range(n_x):
                x = xs[ix]
                for j in range(G.ptr[x], G.ptr[x + 1]):
                    y = G.nb[j]
                    if label[y] != ga or S.W[ga] - G.w[x] - G.w[y] < lo - 1e-9 or S.W[gb] + G.w[x] + G.w[y] > hi + 1e-9:
                        continue
                    if y < x:
                        touches = False
                        for jj in range(G.ptr[y], G.ptr[y + 1]):
                            if label[G.nb[jj]] == gb:
                                touches = True
                                break
                        if touches:
                            continue       # the same pair is met from y
                    n_c = _offer(G, pp, S, x, gb, y, gb, 1, mx, mt, c_d, c_x, c_y, c_kind, n_c, lo, hi, r_lo, r_hi,
                                 scale)
            if n_c == 0:
                continue
            rank = np.argsort(c_d[:n_c], kind="mergesort")
            pair[0] = ga
            pair[1] = gb
            for r in range(min(4, n_c)):
                ci = rank[r]
                mx[0] = c_x[ci]
                mt[0] = gb
                mx[1] = c_y[ci]
                mt[1] = ga if c_kind[ci] == 0 else gb
                leaving = 1 if c_kind[ci] == 0 else 2
                if S.n_mem[ga] > leaving and _connected_after(G, label, S.n_mem, mx, mt, 2, pair, S.seen, S.stamp,
                                                              S.todo):
                    _make(G, pp, S, mx, mt, 2, lo, hi, r_lo, r_hi, scale)
                    improved = True
                    break
    return improved


def _union(label: IntArray, grids: IntArray) -> IntArray:
    n = 0
    for x in range(len(label)):
        for gg in grids:
            if label[x] == gg:
                n += 1
                break
    out = np.empty(n, dtype=np.int64)
    n = 0
    for x in range(len(label)):
        for gg in grids:
            if label[x] == gg:
                out[n] = x
                n += 1
                break
    return out


def _grid_f(pp: FloatArray, S: _State, gi: int, r_lo: float, r_hi: float) -> float:
    return _f(S.W[gi], S.A[gi], S.P[gi], S.N[gi], r_lo, r_hi, pp[P_GAMMA], pp[P_INVERSE] > 0, pp[P_REPAIR])


def _recombine_pass(G: JitGraph, pp: FloatArray, S: _State, kk: int, lo: float, hi: float, r_lo: float,
                    r_hi: float, scale: float, tried: Any, scratch_failed: Any) -> bool:
    """``polish``'s ``recombine_pass``: re-cut a badly shaped grid with each neighbour, then trios."""
    label = S.label
    improved = False
    fv = np.empty(kk)
    for gi in range(kk):
        fv[gi] = -_grid_f(pp, S, gi, r_lo, r_hi)
    order = np.argsort(fv, kind="mergesort")
    n_try = max(1, int(math.ceil(pp[P_RECOM_SHARE] * kk)))
    done = np.zeros((kk, kk), dtype=np.bool_)
    two = np.empty(2, dtype=np.int64)
    for oi in range(min(n_try, kk)):
        ga = order[oi]
        adj = _grid_adjacency(G, label, kk)
        for gb in range(kk):
            if not adj[ga, gb]:
                continue
            a_, b_ = min(ga, gb), max(ga, gb)
            if done[a_, b_]:
                continue
            done[a_, b_] = True
            two[0] = ga
            two[1] = gb
            union = _union(label, two)
            m = len(union)
            if m <= 3:
                continue
            key = _fp(G.keys[union]) ^ (_members_fp(G, label, ga) * _GOLD)
            if key in tried:
                continue
            eu, ev, st, c, ln, q = _node_set(G, union)
            total = q[0].sum()
            area_all = q[1].sum()
            perim_all = q[2].sum() - 2.0 * ln.sum()
            ukeys = G.keys[union]
            fp_u = _fp(ukeys)
            best_d = 0.0
            best_mx = np.empty(m, dtype=np.int64)
            best_mt = np.empty(m, dtype=np.int64)
            best_nm = -1
            mx = np.empty(m, dtype=np.int64)
            mt = np.empty(m, dtype=np.int64)
            n_trees = int(pp[P_RECOM_TREES]) if len(eu) >= m - 1 else 0
            sig = np.empty(1)
            for ti in range(n_trees):
                sig[0] = pp[P_SIGMA] + 0.2 * ti
                order_t, roots = _draw(st, m, sig)
                status, _, _, mask = _cut_kernel(m, eu, ev, c, ln, q, order_t, roots, ukeys, fp_u, 2, lo, hi, total,
                                                 area_all, perim_all, pp[P_MARGIN], pp[P_SHAPE], pp[P_BAL],
                                                 scratch_failed, False)
                if status != 1:
                    continue
                keep_a = 0
                keep_b = 0
                for i in range(m):
                    lx = label[union[i]]
                    if mask[i]:
                        keep_a += 1 if lx == ga else 0
                        keep_b += 1 if lx == gb else 0
                    else:
                        keep_a += 1 if lx == gb else 0
                        keep_b += 1 if lx == ga else 0
                to_side, to_rest = (ga, gb) if keep_a >= keep_b else (gb, ga)
                nm = 0
                for i in range(m):
                    t = to_side if mask[i] else to_rest
                    if label[union[i]] != t:
                        mx[nm] = union[i]
                        mt[nm] = t
                        nm += 1
                if nm == 0:
                    continue
                ok, d, _ = _evaluate(G, pp, label, S.W, S.A, S.P, S.N, S.cnt, mx, mt, nm, S.mto, S.sg, S.sv, lo, hi,
                                     r_lo, r_hi, scale)
                if ok and d < -1e-9 and (best_nm < 0 or d < best_d):
                    best_d = d
                    best_nm = nm
                    best_mx[:nm] = mx[:nm]
                    best_mt[:nm] = mt[:nm]
            if best_nm > 0:
                _make(G, pp, S, best_mx, best_mt, best_nm, lo, hi, r_lo, r_hi, scale)
                improved = True
            else:
                tried[key] = True
    if pp[P_R3_SHARE] > 0:
        n3 = max(1, int(math.ceil(pp[P_R3_SHARE] * kk)))
        bad = np.empty(min(n3, kk), dtype=np.int64)
        n_bad = 0
        for oi in range(min(n3, kk)):
            gi = order[oi]
            if 4 * math.pi * S.A[gi] / max(S.P[gi] ** 2, 1e-9) < pp[P_R3_BELOW]:
                bad[n_bad] = gi
                n_bad += 1
        improved = _recombine3(G, pp, S, kk, lo, hi, r_lo, r_hi, scale, bad[:n_bad], tried) or improved
    return improved


_PERMS3 = np.array([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]], dtype=np.int64)


def _recombine3(G: JitGraph, pp: FloatArray, S: _State, kk: int, lo: float, hi: float, r_lo: float, r_hi: float,
                scale: float, worst: IntArray, tried: Any) -> bool:
    """``polish``'s ``recombine3``: a bad grid re-cut with two neighbours (``_trio_cut`` on a few trees)."""
    label = S.label
    improved = False
    trio = np.empty(3, dtype=np.int64)
    cur = np.empty(3, dtype=np.uint64)
    sig = np.empty(1)
    for ga in worst:
        adj = _grid_adjacency(G, label, kk)
        mark = np.zeros((kk, kk), dtype=np.bool_)
        for gb in range(kk):
            if not adj[ga, gb]:
                continue
            for gc in range(kk):
                if gc == ga or gc == gb or not (adj[gb, gc] or adj[ga, gc]):
                    continue
                mark[min(gb, gc), max(gb, gc)] = True
        n_t = 0
        for i in range(kk):
            for j in range(i + 1, kk):
                n_t += 1 if mark[i, j] else 0
        t0 = np.empty(n_t, dtype=np.int64)
        t1 = np.empty(n_t, dtype=np.int64)
        key = np.empty(n_t)
        n_t = 0
        for i in range(kk):
            for j in range(i + 1, kk):
                if mark[i, j]:
                    t0[n_t] = i
                    t1[n_t] = j
                    key[n_t] = -(_grid_f(pp, S, i, r_lo, r_hi) + _grid_f(pp, S, j, r_lo, r_hi))
                    n_t += 1
        rank = np.argsort(key, kind="mergesort")
        if kk > pp[P_BIG_K]:
            rank = rank[:int(pp[P_R3_PER_GRID])]
        for ri in rank:
            gb = t0[ri]
            gc = t1[ri]
            trio[0] = ga
            trio[1] = gb
            trio[2] = gc
            union = _union(label, trio)
            m = len(union)
            if m <= 4:
                continue
            fp_u = _fp(G.keys[union])
            fp_a = _members_fp(G, label, ga)
            fp_b = _members_fp(G, label, gb)
            tkey = fp_u ^ (fp_a * _GOLD) ^ (fp_b * _GOLD2)
            if tkey in tried:
                continue
            best_d = 0.0
            best_nm = -1
            best_mx = np.empty(m, dtype=np.int64)
            best_mt = np.empty(m, dtype=np.int64)
            mx = np.empty(m, dtype=np.int64)
            mt = np.empty(m, dtype=np.int64)
            eu, ev, st, c, ln, q = _node_set(G, union)
            draws = int(pp[P_R3_DRAWS]) if len(eu) >= m - 1 and _packable(G.w[union], 3, lo, hi) else 0
            ukeys = G.keys[union]
            cur[0] = fp_a
            cur[1] = fp_b
            cur[2] = fp_u - fp_a - fp_b
            for di in range(draws):
                sig[0] = pp[P_SIGMA] + 0.2 * di
                order_t, roots = _draw(st, m, sig)
                sc, part = _trio_cut(m, eu, ev, c, ln, q, order_t[0], roots[0], ukeys, cur, lo, hi, pp[P_SHAPE],
                                     pp[P_BAL])
                if sc == np.inf:
                    continue
                ov = np.zeros((3, 3), dtype=np.int64)
                for i in range(m):
                    for j in range(3):
                        if label[union[i]] == trio[j]:
                            ov[part[i], j] += 1
                best_p = 0
                best_sc = -1
                for pi in range(6):
                    sc3 = ov[0, _PERMS3[pi, 0]] + ov[1, _PERMS3[pi, 1]] + ov[2, _PERMS3[pi, 2]]
                    if sc3 >= best_sc:
                        best_sc = sc3
                        best_p = pi
                nm = 0
                for jpart in range(3):
                    t = trio[_PERMS3[best_p, jpart]]
                    for i in range(m):
                        if part[i] == jpart and label[union[i]] != t:
                            mx[nm] = union[i]
                            mt[nm] = t
                            nm += 1
                if nm == 0:
                    continue
                ok, d, n_sl = _evaluate(G, pp, label, S.W, S.A, S.P, S.N, S.cnt, mx, mt, nm, S.mto, S.sg, S.sv, lo,
                                        hi, r_lo, r_hi, scale)
                if not ok:
                    continue
                gain = d < -1e-9
                if not gain and pp[P_R3_WORST] > 0:
                    new_max = 0.0
                    for i in range(n_sl):
                        new_max = max(new_max, S.sv[i, 2] ** 2 / max(S.sv[i, 1], 1e-9))
                    old_max = 0.0
                    for i in range(3):
                        old_max = max(old_max, S.P[trio[i]] ** 2 / max(S.A[trio[i]], 1e-9))
                    gain = new_max < old_max - 1e-9 and _span_delta(G.comp, S.cnt, label, mx, mt, nm) <= 0
                if gain and (best_nm < 0 or d < best_d):
                    best_d = d
                    best_nm = nm
                    best_mx[:nm] = mx[:nm]
                    best_mt[:nm] = mt[:nm]
            if best_nm > 0:
                _make(G, pp, S, best_mx, best_mt, best_nm, lo, hi, r_lo, r_hi, scale)
                improved = True
                break        # ga's neighbours changed: on to the next bad grid
            tried[tkey] = True
    return improved


def _polish(G: JitGraph, pp: FloatArray, label: IntArray, kk: int, lo: float, hi: float, r_lo: float,
            r_hi: float, exchange: bool, recombine: bool, seed: int) -> float:
    """``search.polish`` on labels (grid 0…kk−1 per atom, −1: not in the plan), changed in place.

    Returns the objective of the result (lower is better).
    """
    np.random.seed(seed)
    n = len(label)
    act = np.flatnonzero(label >= 0)
    W = np.zeros(kk)
    A = np.zeros(kk)
    P = np.zeros(kk)
    N = np.zeros(kk)
    n_mem = np.zeros(kk, dtype=np.int64)
    for x in act:
        gi = label[x]
        W[gi] += G.w[x]
        A[gi] += G.area[x]
        P[gi] += G.perim[x]
        N[gi] += G.nsp[x]
        n_mem[gi] += 1
    for x in act:
        gi = label[x]
        for j in range(G.ptr[x], G.ptr[x + 1]):
            y = G.nb[j]
            if y > x and label[y] == gi:
                P[gi] -= 2 * G.nb_ln[j]
                N[gi] -= 2 * G.nb_ns[j]
    cnt = np.zeros((G.n_comp, kk), dtype=np.int64)
    for x in act:
        if G.comp[x] >= 0:
            cnt[G.comp[x], label[x]] += 1
    S = _State(label, n_mem, W, A, P, N, cnt, np.full(n, -1, dtype=np.int64), np.empty(kk + 1, dtype=np.int64),
               np.empty((kk + 1, 4)), np.zeros(n, dtype=np.int64), np.zeros(1, dtype=np.int64),
               np.empty(n, dtype=np.int64))
    gamma = pp[P_GAMMA]
    inverse = pp[P_INVERSE] > 0
    rw = pp[P_REPAIR]
    scale = math.sqrt(A.sum() / kk)
    tried = Dict.empty(key_type=types.uint64, value_type=types.boolean)
    scratch_failed = Dict.empty(key_type=types.uint64, value_type=types.boolean)
    rounds = 0
    for _ in range(int(pp[P_PASSES])):
        perm = np.random.permutation(act)
        mx, _, _ = _single_pass(perm, label, n_mem, W, A, P, N, G.w, G.area, G.perim, G.nsp, G.ptr, G.nb, G.nb_ln,
                                G.nb_ns, G.nb_pen, G.comp, cnt, lo, hi, r_lo, r_hi, gamma, inverse, rw, pp[P_PEN],
                                scale, pp[P_SPAN])
        if len(mx) > 0:
            continue
        if not exchange or rounds >= pp[P_EX_ROUNDS]:
            break
        swapped = _exchange_pass(G, pp, S, kk, lo, hi, r_lo, r_hi, scale)
        recombined = False
        if recombine and pp[P_RECOM_TREES] > 0:
            recombined = _recombine_pass(G, pp, S, kk, lo, hi, r_lo, r_hi, scale, tried, scratch_failed)
        if not (swapped or recombined):
            break
        rounds += 1
    obj = 0.0
    for gi in range(kk):
        obj += _f(W[gi], A[gi], P[gi], N[gi], r_lo, r_hi, gamma, inverse, rw)
    spans = 0
    for c in range(G.n_comp):
        for gi in range(kk):
            spans += 1 if cnt[c, gi] > 0 else 0
    return float(obj + pp[P_SPAN] * spans)


def _new_failed() -> Any:
    return Dict.empty(key_type=types.uint64, value_type=types.boolean)


_COMPILED = ("_f", "_fkey", "_fp", "_packable", "_radix_argsort", "_draw", "_tree_scratch", "_spanning_tree",
             "_cut_kernel", "_trio_cut", "_node_set", "_single_pass", "_pop", "_split_rec", "_split", "_slot",
             "_span_delta", "_evaluate", "_apply", "_connected_after", "_grid_adjacency", "_members_fp", "_offer",
             "_make", "_exchange_pass", "_union", "_grid_f", "_recombine_pass", "_recombine3", "_polish",
             "_new_failed")


def _load() -> bool:
    """Compile every kernel with numba (cached on disk) when it is importable; else leave them Python."""
    if os.environ.get("GRIDGEO_NO_JIT"):
        return False
    try:
        import numba
        from numba import types as nb_types
        from numba.typed import Dict as NbDict
    except ImportError:
        return False
    g = globals()
    g["types"], g["Dict"] = nb_types, NbDict
    for name in _COMPILED:
        opts: dict[str, Any] = {"cache": True}
        if name in ("_f", "_slot", "_fkey", "_grid_f"):
            opts["inline"] = "always"
        g[name] = numba.njit(**opts)(g[name])
    return True


JIT = _load()


def new_failed() -> Any:
    """An empty set of failed (fingerprint, k) keys the compiled search can read and extend.

    Made by compiled code: numba builds a typed dict there in ≈ 4 µs, from Python in ≈ 50 µs.
    """
    return _new_failed()


def packable(w: FloatArray, k: int, lo: float, hi: float) -> bool:
    """``search.packable`` compiled (numpy's per-call cost dominates on a few dozen atoms)."""
    return bool(_packable(w, k, lo, hi))


def split(G: JitGraph, pp: FloatArray, nodes: IntArray, k: int, lo: float, hi: float, budget: IntArray,
          failed: Any, seed: int) -> tuple[bool, IntArray]:
    """The compiled ``search.split`` (see ``_split``)."""
    return _split(G, pp, nodes, k, lo, hi, budget, failed, seed)


def polish(G: JitGraph, pp: FloatArray, label: IntArray, kk: int, lo: float, hi: float, r_lo: float, r_hi: float,
           exchange: bool, recombine: bool, seed: int) -> float:
    """The compiled ``search.polish`` (see ``_polish``)."""
    return float(_polish(G, pp, label, kk, lo, hi, r_lo, r_hi, exchange, recombine, seed))


_WARM = {"done": False}
_BLAS_PROBE = "scipy.linalg.cython_blas"


@contextmanager
def _blas_probe_answered() -> Iterator[None]:
    """Spare numba's first dispatch its BLAS probe, where that is safe.

    numba's set-up imports ``scipy.linalg.cython_blas`` only to learn whether ``np.dot``
    can be compiled, which imports all of ``scipy.linalg`` (0.25–0.3 s of every CLI run;
    the kernels call no BLAS). In a process with one thread (the CLI, a worker) and no
    ``scipy.linalg`` yet, the probe finds a placeholder for the duration of the first
    dispatch; the placeholder is removed afterwards, so any later import of
    ``scipy.linalg`` (or a numba function using BLAS) gets the real module. With other
    threads running (Streamlit), one of them could import ``scipy.linalg`` meanwhile and
    meet the placeholder, so the probe runs as numba wrote it.
    """
    if (_BLAS_PROBE in sys.modules or "scipy.linalg" in sys.modules or threading.active_count() > 1
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    try:
        import scipy  # noqa: F401  (≈ 10 ms; ``import scipy.linalg.cython_blas`` returns the top package)
    except ImportError:
        yield
        return
    sys.modules[_BLAS_PROBE] = py_types.ModuleType(_BLAS_PROBE)
    try:
        yield
    finally:
        sys.modules.pop(_BLAS_PROBE, None)


def warm() -> bool:
    """Load (or compile) the kernels once per process, before the first search; whether they run.

    Called before forking workers too, so each inherits them ready. Should numba fail to
    compile them on this machine, the pure-Python search takes over (``JIT`` becomes False)
    with one warning, rather than every partition failing.
    """
    global JIT
    if not JIT or _WARM["done"]:
        return JIT
    _WARM["done"] = True
    from gridgeo.partition.search import warm_up   # the smallest real search, through the public path
    try:
        with _blas_probe_answered():
            warm_up()
    except Exception as exc:  # noqa: BLE001  (LLVM or numba errors of this machine; the Python search still works)
        JIT = False
        warnings.warn(f"gridgeo: the compiled partition search is unavailable here ({type(exc).__name__}: {exc}); "
                      "the pure-Python search runs instead, about ten times slower", GridgeoWarning, stacklevel=2)
    return JIT
