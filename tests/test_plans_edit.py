"""Hand editing of a plan version: invariants after every edit, refusals, rebalance, undo/redo.

Expected numbers come from the buildings layer and plain groupbys, never from the session.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo import io
from gridgeo.crs import metric_crs
from gridgeo.errors import InputError
from gridgeo.partition import partition
from gridgeo.partition.tessellation import unit_households
from gridgeo.plans import EditSession, PlanVersion, plan_from_partition


@pytest.fixture(scope="module")
def demo() -> tuple[io.District, PlanVersion, EditSession]:
    d = io.read_district("data/demo")
    res = partition(d.communities, d.buildings, d.streets)
    plan = plan_from_partition(res).evolve(version_id="v1")
    return d, plan, EditSession(plan, d.communities, d.buildings, d.streets)


@pytest.fixture()
def ses(demo: tuple[io.District, PlanVersion, EditSession]) -> Iterator[EditSession]:
    yield copy.deepcopy(demo[2])


def _invariants(d: io.District, plan: PlanVersion) -> None:
    """Grids tile their communities, are one piece, and hold exactly the buildings' households."""
    g, a = plan.grids, plan.assignments
    m = metric_crs(d.communities)
    gm = g.to_crs(m)
    cm = d.communities.to_crs(m)
    for cid, grp in gm.groupby("community_id"):
        union = shapely.union_all(grp.geometry.to_numpy())
        comm = cm.geometry.loc[cid]
        assert shapely.area(shapely.symmetric_difference(union, comm)) < 1.0, cid   # tiles: no gap
        assert abs(grp.area.sum() - shapely.area(union)) < 1.0, cid                  # no overlap
    # every grid one polygon (multipart only where the engine already flagged it)
    single = gm.geometry.geom_type == "Polygon"
    assert (single | g["flags"].str.contains("multipart")).all(), list(g.index[~single])
    # households: each building's rows add up to the buildings layer; grids equal their rows
    per_b = a.groupby("building_id")["households"].sum()
    bh = d.buildings["households"].astype(int)
    assert per_b.reindex(bh.index).fillna(-1).astype(int).equals(bh)
    per_g = a.groupby("grid_id")["households"].sum().reindex(g.index).fillna(0).astype(int)
    assert per_g.equals(g["households"].astype(int))
    assert set(a["grid_id"]) <= set(g.index)


def _movable(ses: EditSession, d: io.District, *, units: int = 1) -> tuple[str, str, str]:
    """A whole building with a neighbouring grid whose move leaves its grid non-empty."""
    b = d.buildings
    for bid in b.index[(b["units"].fillna(1) >= units).to_numpy()]:
        own = ses.grid_of(bid)
        if len(own) != 1:
            continue
        nbs = ses.neighbours_of_building(bid)
        if nbs and int(b.loc[bid, "households"]) < 150:
            return str(bid), own[0], nbs[0]
    raise AssertionError("no movable building in the demo")


def test_session_reproduces_the_loaded_plan(demo: tuple[io.District, PlanVersion, EditSession]) -> None:
    d, plan, ses = demo
    same = ses.to_plan()
    assert same.parent == "v1" and same.version_id is None
    pd.testing.assert_series_equal(same.grids["households"].sort_index().astype(int),
                                   plan.grids["households"].sort_index().astype(int))
    a0 = plan.assignments.sort_values(["building_id", "grid_id"]).reset_index(drop=True)
    a1 = same.assignments.sort_values(["building_id", "grid_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a0[["building_id", "grid_id", "households", "unit_range"]],
                                  a1[["building_id", "grid_id", "households", "unit_range"]])
    _invariants(d, same)


def test_move_building_changes_counts_and_keeps_invariants(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    bid, src, dst = _movable(ses, d)
    hh = int(d.buildings.loc[bid, "households"])
    before = plan.grids["households"]
    check = ses.move(dst, building=bid)
    assert set(check.touched) >= {src, dst}
    assert int(check.table.loc[dst, "households"]) == int(before[dst]) + hh
    assert int(check.table.loc[src, "households"]) == int(before[src]) - hh
    new = ses.to_plan(author="王", note="move")
    assert new.meta["edits"][-1]["op"] == "move" and new.author == "王"
    rows = new.assignments[new.assignments["building_id"] == bid]
    assert rows["grid_id"].tolist() == [dst]
    _invariants(d, new)


def test_move_across_a_community_boundary_is_refused(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    bid = str(d.buildings.index[0])
    own = plan.grids.loc[ses.grid_of(bid)[0], "community_id"]
    other = str(plan.grids.index[plan.grids["community_id"] != own][0])
    with pytest.raises(InputError, match="never cross a community boundary") as err:
        ses.move(other, building=bid)
    assert err.value.code == "err.edit.cross_community"
    assert not ses.can_undo            # nothing changed


def test_move_to_a_grid_that_does_not_border_is_refused(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    bid, src, _ = _movable(ses, d)
    cid = plan.grids.loc[src, "community_id"]
    near = set(ses.neighbours_of_building(bid)) | {src}
    far = [g for g in plan.grids.index[plan.grids["community_id"] == cid] if g not in near]
    assert far, "the test needs a community of at least 3 grids"
    with pytest.raises(InputError, match="does not border"):
        ses.move(far[0], building=bid)


def test_unit_range_move_splits_the_tower_by_units(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    b = d.buildings
    cands = b.index[(b["units"].fillna(0) >= 3).to_numpy()]
    for bid in cands:
        if len(ses.grid_of(bid)) == 1 and ses.neighbours_of_building(bid):
            break
    else:
        raise AssertionError("no whole 3+-unit building with a neighbour")
    n, total = int(b.loc[bid, "units"]), int(b.loc[bid, "households"])
    dst = ses.neighbours_of_building(bid)[0]
    src = ses.grid_of(bid)[0]
    ses.move(dst, building=bid, units="1-2")
    new = ses.to_plan()
    rows = new.assignments[new.assignments["building_id"] == bid].set_index("grid_id")
    per = unit_households(total, n)
    assert rows.loc[dst, "unit_range"] == "1-2"
    assert int(rows.loc[dst, "households"]) == int(per[0] + per[1])
    assert rows.loc[src, "unit_range"] == (f"3-{n}" if n > 3 else "3")
    assert int(rows["households"].sum()) == total
    assert "unit_split" in new.grids.loc[dst, "flags"]
    _invariants(d, new)
    with pytest.raises(InputError, match="has units 1-"):
        ses.move(dst, building=bid, units=f"{n}-{n + 2}")


def test_merge_then_split_returns_to_bounds(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    g = plan.grids
    ok = g[(g["households"] >= 300) & (g["households"] <= 500)]
    for a in ok.index:
        nbs = [x for x in ses.grid_neighbours(a) if x in ok.index]
        if nbs:
            b = nbs[0]
            break
    total = int(g.loc[a, "households"] + g.loc[b, "households"])
    check = ses.merge(a, b)
    assert b not in check.table.index
    assert int(check.table.loc[a, "households"]) == total
    assert check.table.loc[a, "status"] == ("over" if total > 500 else "within")
    if total > 500:
        assert any(p.code == "edit.over" and p.feature_id == a for p in check.problems)
    merged = ses.to_plan()
    assert b in merged.meta["retired_grids"]
    _invariants(d, merged)
    check = ses.split(a)
    new_ids = [x for x in check.touched if x not in g.index]
    assert len(new_ids) == 1 and new_ids[0] != b            # a retired code is never reused
    halves = check.table.loc[[a, new_ids[0]], "households"]
    assert int(halves.sum()) == total
    assert ((halves >= 300) & (halves <= 500)).all(), halves.tolist()
    _invariants(d, ses.to_plan())


def test_rebalance_returns_neighbours_to_bounds_with_the_moved_building_pinned(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    g = plan.grids
    b = d.buildings
    # a move that pushes a grid over the maximum
    for bid in b.index:
        own = ses.grid_of(bid)
        if len(own) != 1 or g.loc[own[0], "households"] - b.loc[bid, "households"] < 300:
            continue
        over = [x for x in ses.neighbours_of_building(bid)
                if g.loc[x, "households"] + b.loc[bid, "households"] > 500 and not g.loc[x, "locked"]]
        if over:
            dst = over[0]
            break
    else:
        raise AssertionError("no over-filling move found")
    check = ses.move(dst, building=bid)
    assert check.table.loc[dst, "status"] == "over"
    moved = set(check.touched)
    check = ses.rebalance()
    assert ses.grid_of(bid) == [dst]                        # pinned: stays where the planner put it
    assert check.table.loc[dst, "status"] == "within"
    region = set(check.touched)
    assert (check.table.loc[sorted(region), "status"] == "within").all()
    allowed = moved | {n for x in moved for n in ses.grid_neighbours(x)}   # touched + their neighbours
    assert region <= allowed
    unchanged = [x for x in g.index if x not in region | moved]
    new = ses.to_plan()
    assert (new.grids.loc[unchanged, "households"] == g.loc[unchanged, "households"]).all()
    _invariants(d, new)


def test_undo_redo_round_trip(demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    bid, src, dst = _movable(ses, d)
    a0 = ses.assignments()
    ses.move(dst, building=bid)
    a1 = ses.assignments()
    g1 = ses.to_plan().grids
    ses.undo()
    pd.testing.assert_frame_equal(ses.assignments(), a0)
    assert ses.grid_of(bid) == [src] and ses.can_redo
    ses.redo()
    pd.testing.assert_frame_equal(ses.assignments(), a1)
    assert ses.to_plan().grids.geometry.geom_equals(g1.geometry).all()
    assert not ses.can_redo


def test_dedicated_grid_is_exempt_from_the_bounds(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    bid, src, _ = _movable(ses, d)
    hh = int(d.buildings.loc[bid, "households"])
    check = ses.dedicate(building=bid, name="第一小学")
    new_id = next(x for x in check.touched if x not in plan.grids.index)
    row = check.table.loc[new_id]
    assert row["kind"] == "dedicated" and row["status"] == "exempt" and int(row["households"]) == hh
    assert new_id not in check.out_of_bounds
    assert not any(p.feature_id == new_id for p in check.problems)
    new = ses.to_plan()
    assert new.grids.loc[new_id, "name"] == "第一小学"
    assert new.grids.loc[new_id, "community_id"] == plan.grids.loc[src, "community_id"]
    _invariants(d, new)


def test_locked_grids_refuse_edits_and_survive_redivision(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    bid, src, dst = _movable(ses, d)
    ses.set_locked([dst])
    with pytest.raises(InputError, match="locked"):
        ses.move(dst, building=bid)
    cid = plan.grids.loc[dst, "community_id"]
    ses.redivide(cid)
    new = ses.to_plan()
    assert new.grids.loc[dst, "locked"]
    assert new.grids.loc[dst, "geometry"].equals_exact(plan.grids.loc[dst, "geometry"], 1e-9) or \
        shapely.area(shapely.symmetric_difference(new.grids.loc[dst, "geometry"],
                                                  plan.grids.loc[dst, "geometry"])) < 1e-12
    keep = plan.assignments[plan.assignments["grid_id"] == dst].sort_values("building_id")
    got = new.assignments[new.assignments["grid_id"] == dst].sort_values("building_id")
    assert keep["building_id"].tolist() == got["building_id"].tolist()
    others = new.grids[new.grids["community_id"] != cid]
    base = plan.grids.loc[others.index]
    assert (others["households"] == base["households"]).all()   # no other community changed
    _invariants(d, new)
    ses.set_locked([dst], False)
    assert not ses.to_plan().grids.loc[dst, "locked"]


def test_move_that_breaks_a_grid_names_it(
        demo: tuple[io.District, PlanVersion, EditSession], ses: EditSession) -> None:
    d, plan, _ = demo
    # find a building whose removal cuts its grid in two: a cut vertex of the grid's cell graph
    for bid in d.buildings.index:
        own = ses.grid_of(bid)
        if len(own) != 1:
            continue
        for dst in ses.neighbours_of_building(bid):
            trial = copy.deepcopy(ses)
            try:
                check = trial.move(dst, building=bid)
            except InputError:
                continue
            if own[0] in check.not_contiguous:
                geom = trial.to_plan().grids.loc[own[0], "geometry"]
                assert geom.geom_type == "MultiPolygon"            # independently: in pieces
                assert any(p.code == "edit.not_contiguous" and p.feature_id == own[0] for p in check.problems)
                return
    raise AssertionError("no contiguity-breaking move in the demo")


def test_parse_units_rejects_garbage() -> None:
    from gridgeo.plans import parse_units
    assert parse_units("1-3,5") == [1, 2, 3, 5]
    with pytest.raises(InputError, match="unit range"):
        parse_units("3-1")
    with pytest.raises(InputError, match="unit range"):
        parse_units("一到三")


def test_solve_cells_divides_a_communitys_cells_into_connected_grids_within_bounds() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from gridgeo.partition import solve_cells
    from gridgeo.partition.engine import prepare_inputs
    from gridgeo.partition.tessellation import tessellate
    from gridgeo.settings import DEFAULT_RULES
    from tests.plans_support import small_district

    d = small_district()
    prep = prepare_inputs(d.communities, d.buildings, d.streets)
    task = prep.tasks[0]
    pc = tessellate(task.community_id, task.region, task.buildings, task.streets, rules=DEFAULT_RULES)
    cells = np.arange(pc.n)
    adj = coo_matrix((np.ones(len(pc.edge_u)), (pc.edge_u, pc.edge_v)), shape=(pc.n, pc.n))
    assert connected_components(adj, directed=False)[0] == 1          # one piece, as documented
    parts = solve_cells(pc, cells, DEFAULT_RULES, np.random.default_rng(0))
    assert len(parts) >= 2
    assert sorted(np.concatenate(parts).tolist()) == cells.tolist()   # each cell in exactly one grid
    households = [int(pc.households[p].sum()) for p in parts]
    assert sum(households) == int(d.buildings.loc[d.buildings["community_id"] == task.community_id,
                                                  "households"].sum())
    lo, hi = DEFAULT_RULES.min_households, DEFAULT_RULES.max_households
    assert all(lo <= h <= hi for h in households), households
    for part in parts:                                                 # each grid is one connected piece
        sub = adj.tocsr()[part][:, part]
        assert connected_components(sub, directed=False)[0] == 1
    again = solve_cells(pc, cells, DEFAULT_RULES, np.random.default_rng(0))
    assert [p.tolist() for p in again] == [p.tolist() for p in parts]  # seeded: reproducible
