"""The staffing solver's optimality certificate, checked on its own: residual-network potentials over every pair.

``solve._face_potentials`` takes an integral flow of one role's network (people →
places → sink, with listed person–place arcs and, for people with a home, every
other pair as a left-out arc of cost 0), cancels the negative cycles it meets and
returns the flow with potentials. These tests check, independently of the
solver: the flow is feasible, its cost equals networkx's min-cost flow on the
whole network, every residual arc (left-out pairs included) has a reduced cost
>= 0 under the potentials, and complementary slackness holds column by column.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from gridgeo.staffing import solve


def _instance(seed: int) -> dict[str, np.ndarray]:
    """A random network: people (capacity 1 or 2, some with a home), places with required and extra slots."""
    rng = np.random.default_rng(seed)
    n_p, n_q = int(rng.integers(3, 8)), int(rng.integers(2, 5))
    cap = rng.choice([1, 1, 2], n_p).astype(np.int64)
    lo = rng.integers(0, 3, n_q).astype(np.int64)
    ext = rng.integers(0, 2, n_q).astype(np.int64)
    place_cost = -(10_000 + 10 * rng.integers(1, 50, n_q)).astype(np.int64)   # fill first, big grids first
    homed = rng.random(n_p) < 0.7
    pairs = [(p, q) for p in range(n_p) for q in range(n_q) if rng.random() < 0.3 or (not homed[p] and q == p % n_q)]
    arc_p = np.array([p for p, _ in pairs], dtype=np.int64)
    arc_q = np.array([q for _, q in pairs], dtype=np.int64)
    arc_cost = np.where(rng.random(len(pairs)) < 0.3, -100, 0).astype(np.int64)   # "stays"
    dense = np.flatnonzero(homed).astype(np.int64)
    listed = np.zeros((len(dense), n_q), dtype=bool)
    row = {int(p): k for k, p in enumerate(dense)}
    for p, q in pairs:
        if p in row:
            listed[row[p], q] = True
    return dict(cap=cap, lo=lo, ext=ext, place_cost=place_cost, extra_cost=np.int64(-1), arc_p=arc_p,
                arc_q=arc_q, arc_cost=arc_cost, dense=dense, listed=listed)


def _run(net: dict[str, np.ndarray], unassigned: np.ndarray, required: np.ndarray, extra: np.ndarray,
         arc_x: np.ndarray) -> solve.FaceFlow:
    return solve._face_potentials(net["cap"], unassigned, net["lo"], net["ext"], required, extra, net["place_cost"],
                                  int(net["extra_cost"]), net["arc_p"], net["arc_q"], net["arc_cost"], arc_x,
                                  net["dense"], net["listed"])


def _all_arcs(net: dict[str, np.ndarray], face: solve.FaceFlow) -> dict[tuple[int, int], tuple[int, int]]:
    """Every person–place pair of the whole network: (cost, flow). Listed, new and left-out pairs alike."""
    out = {(int(p), int(q)): (int(c), int(x)) for p, q, c, x in zip(net["arc_p"], net["arc_q"], net["arc_cost"],
                                                                    face.arc_x)}
    for (p, q), x in zip(face.new_arcs, face.new_x):
        assert (p, q) not in out and p in net["dense"]
        out[(p, q)] = (0, x)
    for p, q in itertools.product(net["dense"].tolist(), range(len(net["lo"]))):
        out.setdefault((p, q), (0, 0))
    return out


def _networkx_cost(net: dict[str, np.ndarray]) -> int:
    """The optimum of the whole network, by networkx's network simplex (an independent solver)."""
    g = nx.DiGraph()
    n_p = len(net["cap"])
    g.add_node("t", demand=int(net["cap"].sum()))
    for p in range(n_p):
        g.add_node(("p", p), demand=-int(net["cap"][p]))
        g.add_edge(("p", p), "t", capacity=int(net["cap"][p]), weight=0)
    for q, (lo, ext, pc) in enumerate(zip(net["lo"], net["ext"], net["place_cost"])):
        g.add_edge(("q", q), "t", capacity=int(lo), weight=int(pc))
        g.add_edge(("q", q), ("x", q), capacity=int(ext), weight=int(net["extra_cost"]))
        g.add_edge(("x", q), "t", capacity=int(ext), weight=0)
    listed = {(int(p), int(q)): int(c) for p, q, c in zip(net["arc_p"], net["arc_q"], net["arc_cost"])}
    for p, q in itertools.product(net["dense"].tolist(), range(len(net["lo"]))):
        listed.setdefault((p, q), 0)
    for (p, q), c in listed.items():
        g.add_edge(("p", p), ("q", q), capacity=1, weight=c)
    return int(nx.min_cost_flow_cost(g))


def _check(net: dict[str, np.ndarray], face: solve.FaceFlow) -> None:
    cap, lo, ext = net["cap"], net["lo"], net["ext"]
    n_p = len(cap)
    arcs = _all_arcs(net, face)
    pot = [int(v) for v in face.potentials]
    t, person, place = 0, (lambda p: 1 + p), (lambda q: 1 + n_p + q)
    # a feasible integral flow
    for p in range(n_p):
        assert face.unassigned[p] + sum(x for (pp, _), (_, x) in arcs.items() if pp == p) == cap[p]
    for q in range(len(lo)):
        assert 0 <= face.required[q] <= lo[q] and 0 <= face.extra[q] <= ext[q]
        assert sum(x for (_, qq), (_, x) in arcs.items() if qq == q) == face.required[q] + face.extra[q]
    # as cheap as the whole network allows
    cost = sum(c * x for c, x in arcs.values()) + int((net["place_cost"] * face.required).sum()) \
        + int(net["extra_cost"]) * int(face.extra.sum())
    assert cost == _networkx_cost(net)
    # complementary slackness, column by column: reduced cost > 0 -> at 0, < 0 -> full, between -> rc == 0
    columns = [(0, pot[person(p)] - pot[t], int(face.unassigned[p]), int(cap[p])) for p in range(n_p)]
    columns += [(0, int(pc) + pot[place(q)] - pot[t], int(r), int(u))
                for q, (pc, r, u) in enumerate(zip(net["place_cost"], face.required, lo))]
    columns += [(0, int(net["extra_cost"]) + pot[place(q)] - pot[t], int(e), int(u))
                for q, (e, u) in enumerate(zip(face.extra, ext))]
    columns += [(0, c + pot[person(p)] - pot[place(q)], x, 1) for (p, q), (c, x) in arcs.items()]
    for _, rc, x, u in columns:
        if rc > 0:
            assert x == 0
        elif rc < 0:
            assert x == u
        else:
            assert 0 <= x <= u


@pytest.mark.parametrize("seed", range(25))
def test_potentials_prove_the_flow_optimal_over_every_pair_from_an_empty_flow(seed: int) -> None:
    net = _instance(seed)
    n_p, n_q = len(net["cap"]), len(net["lo"])
    before = {k: v.copy() for k, v in net.items()}
    face = _run(net, net["cap"].copy(), np.zeros(n_q, np.int64), np.zeros(n_q, np.int64),
                np.zeros(len(net["arc_p"]), np.int64))
    _check(net, face)
    assert all(np.array_equal(before[k], net[k]) for k in net)          # the inputs are not changed
    assert (face.cycles > 0) == (_networkx_cost(net) < 0)                # the empty flow costs 0
    assert face.potentials.dtype == np.int64


def test_a_flow_optimal_on_its_own_arcs_gets_the_left_out_pair_it_needs() -> None:
    # one person with a home, listed only to place 0, where they fill an extra slot; place 1 has an empty
    # required slot. The left-out pair (0, 1) is better: required before extra. One cycle moves them.
    net = dict(cap=np.array([1]), lo=np.array([0, 1]), ext=np.array([1, 0]), place_cost=np.array([-1000, -1000]),
               extra_cost=np.int64(-1), arc_p=np.array([0]), arc_q=np.array([0]), arc_cost=np.array([0]),
               dense=np.array([0]), listed=np.array([[True, False]]))
    face = _run(net, np.array([0]), np.array([0, 0]), np.array([1, 0]), np.array([1]))
    assert face.cycles == 1 and face.new_arcs == [(0, 1)] and face.new_x == [1]
    assert face.arc_x.tolist() == [0] and face.required.tolist() == [0, 1] and face.extra.tolist() == [0, 0]
    _check(net, face)


def test_an_optimal_flow_is_left_as_it_is_with_potentials_that_price_every_left_out_pair() -> None:
    net = _instance(3)
    n_q = len(net["lo"])
    first = _run(net, net["cap"].copy(), np.zeros(n_q, np.int64), np.zeros(n_q, np.int64),
                 np.zeros(len(net["arc_p"]), np.int64))
    # the first run's result, its new pairs listed: a second run has nothing to cancel
    k = len(net["arc_p"])
    listed = net["listed"].copy()
    row = {int(p): i for i, p in enumerate(net["dense"])}
    for p, _ in first.new_arcs:
        assert p in row
    for p, q in first.new_arcs:
        listed[row[p], q] = True
    net2 = dict(net, arc_p=np.concatenate([net["arc_p"], [p for p, _ in first.new_arcs]]).astype(np.int64),
                arc_q=np.concatenate([net["arc_q"], [q for _, q in first.new_arcs]]).astype(np.int64),
                arc_cost=np.concatenate([net["arc_cost"], np.zeros(len(first.new_arcs), np.int64)]),
                listed=listed)
    again = _run(net2, first.unassigned, first.required, first.extra,
                 np.concatenate([first.arc_x, first.new_x]).astype(np.int64))
    assert again.cycles == 0 and again.new_arcs == []
    assert np.array_equal(again.arc_x[:k], first.arc_x) and np.array_equal(again.required, first.required)
    _check(net2, again)


@pytest.mark.parametrize("seed", range(5))
def test_costs_too_big_for_int64_are_exact_python_integers(seed: int) -> None:
    net = _instance(seed)
    net = dict(net, place_cost=np.array([int(v) * 10 ** 17 for v in net["place_cost"]], dtype=object))  # ~1e21
    n_q = len(net["lo"])
    face = _run(net, net["cap"].copy(), np.zeros(n_q, np.int64), np.zeros(n_q, np.int64),
                np.zeros(len(net["arc_p"]), np.int64))
    assert face.potentials.dtype == object
    _check(net, face)


def test_weights_keep_the_goal_order_strict() -> None:
    units, stays, h_max = 7, 9, 545
    w_fill, w_stay, w_hh, w_extra = solve._face_weights(units, stays, h_max)
    assert w_extra * units < w_hh                                              # one household > all extras
    assert w_hh * units * h_max + w_extra * units < w_stay                     # one stay > households + extras
    assert w_stay * max(units, stays) + w_hh * units * h_max + w_extra * units < w_fill


@pytest.mark.parametrize("seed", range(3))
def test_highs_and_flow_agree_on_a_mid_sized_roster_with_current_grids_kept(seed: int) -> None:
    """Too big for brute force: 16 grids, 70 people, crowded current grids (moves required), few seed arcs."""
    import pandas as pd

    from gridgeo import staffing as sf
    from tests.test_staffing import _grids, _key, _metres, _roster

    rng = np.random.default_rng(100 + seed)
    grids = _grids([(float(400 * (i % 4)), float(400 * (i // 4)), 300.0) for i in range(16)],
                   kinds=["dedicated" if i % 5 == 0 else "basic" for i in range(16)])
    hh = pd.Series(rng.integers(150, 550, 16), index=grids.index)
    crowded = list(grids.index[:5])
    people = []
    for i in range(70):
        role = "leader" if i < 20 else "worker"
        emp = "part_time" if rng.random() < 0.2 else "full_time"
        home = None if rng.random() < 0.05 else (float(rng.uniform(-300, 1900)), float(rng.uniform(-300, 1900)))
        cur = str(rng.choice(crowded)) if rng.random() < 0.6 else str(rng.choice(list(grids.index) + ["", "GONE"]))
        people.append((role, emp, home, cur))
    roster = _roster(people, grids)
    rules = sf.PRESETS["default"].evolve(part_time_max_grids=2)
    keys = {}
    for method in ("highs", "flow"):
        result = sf.assign_staff(roster, grids, hh, rules=rules, keep_current=True, candidates=2,
                                 method=method)  # type: ignore[arg-type]
        assert result.solver is not None and result.solver.status == "optimal" and result.solver.gap == 0
        keys[method] = _key(result.pairs, roster, grids, hh, rules, _metres(roster, grids), True)
        assert keys[method] == result.solver.objective
    assert keys["highs"] == keys["flow"]
    assert keys["highs"] is not None and keys["highs"][1] > 0          # some people had to move


def test_distance_lower_bounds_never_exceed_the_exact_metres() -> None:
    """Pricing skips a pair whose lower bound is already too far: the bound must never pass the real distance."""
    import shapely

    rng = np.random.default_rng(7)
    polys = []
    for _ in range(30):                          # irregular polygons (star-shaped), some far, some overlapping
        cx, cy = rng.uniform(0, 5_000, 2)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radii = rng.uniform(50, 600, 9)
        polys.append(shapely.Polygon(np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)]))
    polys_a = np.array(polys, dtype=object)
    homes = rng.uniform(-1_000, 6_000, (200, 2))
    pts = shapely.points(homes)
    circles = shapely.minimum_bounding_circle(polys_a)
    bounds = solve._LowerBounds(homes, shapely.get_coordinates(shapely.centroid(circles)),
                                shapely.minimum_bounding_radius(polys_a))
    rows, cols = np.arange(0, 200, 3), np.arange(30)[::-1]
    got = bounds(rows, cols)
    exact = shapely.distance(pts[rows][:, None], polys_a[cols][None, :])
    assert got.shape == (len(rows), len(cols))
    assert (got <= exact + 1e-6).all() and (got >= 0).all()
    inside = shapely.contains(polys_a[cols][None, :], pts[rows][:, None])
    assert inside.any() and (got[inside] == 0).all()
    assert (got > 0).mean() > 0.5                               # and it is a real bound, not 0 everywhere
    assert bounds(np.arange(0), cols).shape == (0, 30)
