"""The polish's exchange moves: a swap of two atoms where no single move can improve the plan.

A hand-made atom graph of eight 100 m squares (two rows of four), every square
100 households, bounds 350–450: each grid holds four squares (400) and a single
move would leave 300 or make 500, so only a swap keeps both grids within bounds.
Polsby–Popper is measured independently on the shapely union of each grid's squares.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from gridgeo.partition import _kernels
from gridgeo.partition.search import Graph, SearchParams, polish, split
from gridgeo.partition.units import Atoms

SIDE = 100.0
COLS, ROWS = 4, 2


@pytest.fixture(autouse=True, params=["compiled", "python"])
def search_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test on both searches: the compiled one and the pure-Python reference (numba missing)."""
    monkeypatch.setattr(_kernels, "JIT", request.param == "compiled" and _kernels.JIT)
    return str(request.param)


def _squares() -> list[shapely.Geometry]:
    # atom i = column i % 4 of row i // 4 (row 0 on top)
    return [box(c * SIDE, -(r + 1) * SIDE, (c + 1) * SIDE, -r * SIDE) for r in range(ROWS) for c in range(COLS)]


def _atoms() -> Atoms:
    sq = _squares()
    n = len(sq)
    us, vs = [], []
    for i in range(n):
        for j in range(i + 1, n):
            if shapely.length(shapely.intersection(sq[i], sq[j])) > 1.0:   # a shared side, not a corner
                us.append(i)
                vs.append(j)
    length = np.full(len(us), SIDE)
    # no streets: every shared side is off the streets; the outer edge is the community edge
    ns_perim = np.zeros(n)
    np.add.at(ns_perim, us, SIDE)
    np.add.at(ns_perim, vs, SIDE)
    return Atoms(of_piece=np.arange(n, dtype=np.int64), w=np.full(n, 100, dtype=np.int64),
                 area=np.asarray([shapely.area(s) for s in sq]), perim=np.asarray([shapely.length(s) for s in sq]),
                 ns_perim=ns_perim, u=np.asarray(us, dtype=np.int64), v=np.asarray(vs, dtype=np.int64),
                 length=length, ns=length.copy(), pen=np.zeros(len(us)), keys=[f"B:{i}" for i in range(n)])


def _pp(parts: list[np.ndarray]) -> list[float]:
    sq = _squares()
    out = []
    for part in parts:
        geom = shapely.union_all([sq[i] for i in part])
        assert geom.geom_type == "Polygon"             # contiguous
        out.append(4 * math.pi * shapely.area(geom) / shapely.length(geom) ** 2)
    return out


def test_a_swap_makes_two_l_shapes_square_when_no_single_move_fits_the_bounds() -> None:
    params = SearchParams(recom_trees=0)           # exchanges only, no re-cutting of pairs
    g = Graph(_atoms(), params)
    # row 0: 0 1 2 3 / row 1: 4 5 6 7; two L shapes of four squares each
    start = [np.asarray([0, 4, 5, 6]), np.asarray([1, 2, 3, 7])]
    pp_before = _pp(start)
    assert [round(x, 3) for x in pp_before] == [0.503, 0.503]   # 4πA/P² = 16π / 10²

    single, _ = polish(g, start, 350, 450, np.random.default_rng(0), params)
    assert sorted(map(sorted, (p.tolist() for p in single))) == [[0, 4, 5, 6], [1, 2, 3, 7]]   # stuck

    swapped, objective = polish(g, start, 350, 450, np.random.default_rng(0), params, exchange=True)
    assert sorted(sorted(p.tolist()) for p in swapped) == [[0, 1, 4, 5], [2, 3, 6, 7]]
    assert [int(g.w[p].sum()) for p in swapped] == [400, 400]  # both still within 350–450
    pp_after = _pp(swapped)
    assert [round(x, 3) for x in pp_after] == [0.785, 0.785]    # 16π / 8²: two squares
    assert min(pp_after) > max(pp_before)
    _, objective_before = polish(g, start, 350, 450, np.random.default_rng(0), params)
    assert objective < objective_before


def test_a_swap_never_breaks_a_bound_or_contiguity() -> None:
    # bounds 400–400: only weight-neutral swaps are allowed; from two rows, swapping 2 and 4 would cut
    # square 3 off its grid, and no swap makes both grids better, so the plan stays within bounds and whole
    params = SearchParams(recom_trees=0)
    g = Graph(_atoms(), params)
    start = [np.asarray([0, 1, 2, 3]), np.asarray([4, 5, 6, 7])]   # two straight rows
    parts, _ = polish(g, start, 400, 400, np.random.default_rng(1), params, exchange=True)
    assert [int(g.w[p].sum()) for p in parts] == [400, 400]
    pp = _pp(parts)                                   # raises on a non-contiguous grid
    assert min(pp) >= 4 * math.pi * 4 / 10 ** 2 - 1e-9


def test_three_grid_recuts_keep_every_grid_within_bounds_and_whole() -> None:
    # a 4 x 3 lattice of squares of uneven households (37…163), three grids of 1,200 ± 60: every re-cut of
    # three grids (recom3_share=1, recom3_below=1: around every grid) must keep each grid contiguous and within bounds
    import dataclasses

    global COLS, ROWS
    cols, rows = COLS, ROWS
    COLS, ROWS = 4, 3
    try:
        rng = np.random.default_rng(7)
        w = rng.integers(37, 164, size=12)
        base = _atoms()
        atoms = dataclasses.replace(base, w=w.astype(np.int64))
        total = int(w.sum())
        lo, hi = total / 3 - 60, total / 3 + 60
        params = SearchParams(recom3_share=1.0, recom3_below=1.0)
        g = Graph(atoms, params)
        for seed in range(6):
            start = split(g, np.arange(12), 3, lo, hi, np.random.default_rng(seed), params)
            assert start is not None
            parts, _ = polish(g, start, lo, hi, np.random.default_rng(seed), params, exchange=True)
            assert sorted(x for p in parts for x in p.tolist()) == list(range(12))
            assert all(lo <= int(w[p].sum()) <= hi for p in parts)
            _pp(parts)                                # raises on a non-contiguous grid
    finally:
        COLS, ROWS = cols, rows


def test_wider_trio_recuts_apply_only_where_no_street_runs_inside_the_community() -> None:
    """Where streets run between cells, the street term is protected; without streets, shapes get the effort."""
    from gridgeo.partition.community import _streetless
    from gridgeo.partition.engine import prepare_inputs
    from gridgeo.partition.tessellation import tessellate
    from gridgeo.settings import DEFAULT_RULES
    from tests.plans_support import small_district

    d = small_district()
    base = SearchParams()
    for streets, widened in ((d.streets, False), (None, True)):
        task = prepare_inputs(d.communities, d.buildings, streets).tasks[0]
        pc = tessellate(task.community_id, task.region, task.buildings, task.streets, rules=DEFAULT_RULES)
        on_street = float((pc.edge_len - pc.edge_ns).sum())   # shared length on a street, measured here
        assert (on_street > 1.0) is (not widened)
        got = _streetless(pc, np.arange(pc.n), base)
        kept = (base.recom3_share, base.recom3_below, base.recom3_per_grid, base.recom3_draws)
        assert base.streetless_recom3 is not None and base.streetless_recom3 != kept
        assert (got.recom3_share, got.recom3_below, got.recom3_per_grid, got.recom3_draws) == (
            base.streetless_recom3 if widened else kept)
