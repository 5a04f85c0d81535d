"""Compiled (numba) kernels of the search, used when numba is importable.

``cut_kernel`` does what ``search._best_cut`` does after the random draws: one
Kruskal tree per row of ``order`` (edge indices, strongest first), its preorder,
subtree sizes and each edge's lowest common ancestor, the subtree sums along the
preorder, the valid cuts, the ``failed`` and margin filters and the score. The
random draws (jitter, roots) and the argsort stay in numpy, outside, so a seed
gives the same plan with or without numba; every float is computed in the same
order as the numpy path (sequential prefix sums, sums in edge order, no fastmath),
so the scores are bit-identical.

Without numba, ``JIT`` is False and ``search`` keeps its pure-Python path.
``GRIDGEO_NO_JIT=1`` forces that path (measurements, comparisons).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["JIT", "cut_kernel", "node_set_kernel", "single_pass_kernel", "warm"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
_CutResult = tuple[int, float, int, NDArray[np.bool_]]


def _cut_kernel(m: int, eu: IntArray, ev: IntArray, c: FloatArray, ln: FloatArray, q: FloatArray,
                order: IntArray, roots: IntArray, keys: NDArray[np.uint64], fp_all: np.uint64, k: int,
                lo: float, hi: float, total: float, area_all: float, perim_all: float, margin: float,
                shape_w: float, bal_w: float, fail_fp: NDArray[np.uint64], fail_k: IntArray,
                ) -> _CutResult:
    """Best valid tree cut over ``len(roots)`` trees.

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
    up = np.empty(m, dtype=np.int64)
    acc_u = np.empty(max(m - 1, 0), dtype=np.int64)
    acc_v = np.empty(max(m - 1, 0), dtype=np.int64)
    deg = np.zeros(m + 1, dtype=np.int64)
    adj = np.empty(2 * max(m - 1, 0), dtype=np.int64)
    fill = np.empty(m, dtype=np.int64)
    parent = np.empty(m, dtype=np.int64)
    depth = np.empty(m, dtype=np.int64)
    stack = np.empty(m, dtype=np.int64)
    lc = np.empty(m)
    ll = np.empty(m)
    for t in range(nt):
        # Kruskal, path halving, union a -> b (as search._tree); accepted edges in order
        for x in range(m):
            up[x] = x
        need = m - 1
        na = 0
        for j in range(n_e):
            if need == 0:
                break
            e = order[t, j]
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
            return -1, 0.0, 0, mask
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
        root = roots[t]
        for x in range(m):
            parent[x] = -1
        parent[root] = root
        depth[root] = 0
        top = 0
        stack[0] = root
        top = 1
        i = 0
        base = t * m
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
        # each edge's cut and length summed at its lowest common ancestor, in edge order
        for x in range(m):
            lc[x] = 0.0
            ll[x] = 0.0
        for e in range(n_e):
            a = eu[e]
            b = ev[e]
            if depth[a] < depth[b]:
                a, b = b, a
            pb = pos[base + b]
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
    n_fail = len(fail_fp)
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
        if n_fail:
            f_sub = fk[b0 + size[sl]] - fk[b0]
            f_rest = fp_all - f_sub
            bad = False
            for j in range(n_fail):
                if (fail_fp[j] == f_sub and fail_k[j] == a_st) or (fail_fp[j] == f_rest and fail_k[j] == k - a_st):
                    bad = True
                    break
            if bad:
                continue
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
    best = -1
    best_score = 0.0
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
        score = cut_cost / scale + shape_w * ipq + bal_w * dev
        if best < 0 or score < best_score:
            best = j
            best_score = score
    sl = cand[best]
    t = sl // m
    start = t * m + pos[sl]
    for i in range(start, start + size[sl]):
        mask[pre[i]] = True
    return 1, best_score, int(a_of[best]), mask


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


def _node_set(nodes: IntArray, loc: IntArray, au: IntArray, av: IntArray, strength: FloatArray, cut: FloatArray,
              length: FloatArray, w: IntArray, area: FloatArray, perim: FloatArray,
              ) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """``search._NodeSet``'s edges induced by ``nodes`` (local ids, graph order) and its per-node rows
    (households, area, perimeter, then cut and length of incident edges summed as ``np.bincount`` does,
    from the u ends, from the v ends, then added). ``loc`` is all −1 and is left so."""
    m = len(nodes)
    for i in range(m):
        loc[nodes[i]] = i
    n_all = len(au)
    sel = np.empty(n_all, dtype=np.int64)
    n_e = 0
    for e in range(n_all):
        if loc[au[e]] >= 0 and loc[av[e]] >= 0:
            sel[n_e] = e
            n_e += 1
    eu = np.empty(n_e, dtype=np.int64)
    ev = np.empty(n_e, dtype=np.int64)
    st = np.empty(n_e)
    c = np.empty(n_e)
    ln = np.empty(n_e)
    for j in range(n_e):
        e = sel[j]
        eu[j] = loc[au[e]]
        ev[j] = loc[av[e]]
        st[j] = strength[e]
        c[j] = cut[e]
        ln[j] = length[e]
    for i in range(m):
        loc[nodes[i]] = -1
    q = np.zeros((5, m))
    for i in range(m):
        x = nodes[i]
        q[0, i] = w[x]
        q[1, i] = area[x]
        q[2, i] = perim[x]
    bu_c = np.zeros(m)
    bv_c = np.zeros(m)
    bu_l = np.zeros(m)
    bv_l = np.zeros(m)
    for j in range(n_e):
        bu_c[eu[j]] += c[j]
        bu_l[eu[j]] += ln[j]
        bv_c[ev[j]] += c[j]
        bv_l[ev[j]] += ln[j]
    for i in range(m):
        q[3, i] = bu_c[i] + bv_c[i]
        q[4, i] = bu_l[i] + bv_l[i]
    return eu, ev, st, c, ln, q


def _load() -> tuple[bool, Callable[..., _CutResult], Callable[..., tuple[IntArray, IntArray, IntArray]],
                     Callable[..., tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray, FloatArray]]]:
    if os.environ.get("GRIDGEO_NO_JIT"):
        return False, _cut_kernel, _single_pass, _node_set
    try:
        import numba
    except ImportError:
        return False, _cut_kernel, _single_pass, _node_set
    njit: Any = numba.njit
    global _f
    _f = njit(cache=True, inline="always")(_f)
    return (True, njit(cache=True, nogil=True)(_cut_kernel), njit(cache=True, nogil=True)(_single_pass),
            njit(cache=True, nogil=True)(_node_set))


JIT, cut_kernel, single_pass_kernel, node_set_kernel = _load()


def warm() -> None:
    """Load (or compile) the kernels now: before forking workers, so each inherits them ready."""
    if not JIT:
        return
    i2 = np.zeros(2, dtype=np.int64)
    f2 = np.ones(2)
    cut_kernel(2, i2[:1], i2[:1] + 1, f2[:1], f2[:1], np.ones((5, 2)), np.zeros((1, 1), dtype=np.int64), i2[:1],
               np.zeros(2, dtype=np.uint64), np.uint64(0), 2, 1.0, 1.0, 2.0, 2.0, 2.0, 0.2, 2.0, 0.5,
               np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))
    single_pass_kernel(i2, i2.copy(), np.ones(1, dtype=np.int64) * 2, f2[:1].copy(), f2[:1].copy(), f2[:1].copy(),
                       f2[:1].copy(), f2, f2, f2, f2, np.asarray([0, 1, 2], dtype=np.int64), np.asarray([1, 0]),
                       f2, f2, f2, -np.ones(2, dtype=np.int64), np.zeros((0, 1), dtype=np.int64), 1.0, 2.0, 1.0, 2.0,
                       0.2, True, 1.0, 1.0, 1.0, 3.0)
    node_set_kernel(i2[:1], -np.ones(2, dtype=np.int64), i2[:1], i2[:1] + 1, f2[:1], f2[:1], f2[:1], i2, f2, f2)
