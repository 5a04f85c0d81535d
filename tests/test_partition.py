"""Hand-made partition cases: towers, infeasible totals, big compounds, islands, streets, locks, errors."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridgeo.cli import main
from gridgeo.errors import CRSError, GeometryError, InputError, SchemaError, render
from gridgeo.partition import Locked, Partitioner, build_units, nearest_choice, partition
from gridgeo.settings import DEFAULT_RULES, Rules
from tests.partition_cases import (Bld, Com, check_invariants, frames, grid_of_buildings, local_box, local_line,
                                   multipart, same_result, unit_households)

CID = "370124001001"
CID2 = "370124001002"


def test_tower_of_1200_households_is_split_by_its_six_units() -> None:
    com = Com(CID, local_box(0, 0, 300, 300), [Bld("T1", 150, 150, 1200, units=6, w=60, h=16)])
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)
    rows = res.assignments
    assert rows["households"].sum() == 1200
    # units of 200 households: every grid holds whole units, never a fraction of one
    assert (rows["households"] % 200 == 0).all()
    assert rows["units"].sum() == 6
    assert not rows["estimated"].any()
    assert (res.grids["households"] >= 300).all() and (res.grids["households"] <= 500).all()
    assert "unit_split" in res.report.at[CID, "flags"]


def test_tower_without_unit_count_is_split_by_estimated_units_and_flagged() -> None:
    com = Com(CID, local_box(0, 0, 300, 300), [Bld("T1", 150, 150, 1200, units=None, w=60, h=16)])
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)
    # 1,200 / 100 per estimated unit = 12 units of 100
    assert (res.assignments["households"] % 100 == 0).all()
    assert res.assignments["estimated"].all()
    assert res.grids["flags"].str.contains("estimated_units").all()
    assert "100" in res.report.at[CID, "explanation_en"]


def test_550_households_is_flagged_with_the_nearest_choice() -> None:
    com = Com(CID, local_box(0, 0, 200, 200), grid_of_buildings("B", 40, 40, 5, 1, 30, 0, [110]))
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)
    r = res.report.loc[CID]
    assert not r["feasible"] and r["households"] == 550
    assert (r["k_min"], r["k_max"]) == (2, 1)
    assert r["nearest_k"] == 2 and r["grids"] == 2
    assert "infeasible_community" in r["flags"]
    for text in (r["explanation_en"], r["explanation_zh"]):
        for number in ("550", "500", "275", "300"):
            assert number in text
    assert res.grids["flags"].str.contains("infeasible_community").all()
    # buildings stay whole: the two grids hold 220 and 330, not 275 each
    assert sorted(res.grids["households"]) == [220, 330]
    assert set(res.grids["status"]) == {"under", "within"}
    # and the explanation states the plan actually made: 330 and 220, 300 - 220 = 80 outside
    assert "this plan has 2 grid(s) of 330, 220 households (80 outside the bounds" in r["explanation_en"]
    assert "330、220 户（共 80 户超出范围）" in r["explanation_zh"]


def test_299_households_is_one_grid_under_the_minimum_and_flagged() -> None:
    com = Com(CID, local_box(0, 0, 200, 200), [Bld("B1", 60, 60, 150), Bld("B2", 140, 140, 149)])
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)
    assert len(res.grids) == 1
    g = res.grids.iloc[0]
    assert g["households"] == 299 and g["status"] == "under"
    assert "infeasible_community" in g["flags"]
    assert res.report.at[CID, "nearest_k"] == 1
    assert "299" in res.report.at[CID, "explanation_en"] and "300" in res.report.at[CID, "explanation_en"]
    assert "this plan" not in res.report.at[CID, "explanation_en"]   # one grid of 299: nothing more to say


def test_nearest_choice_counts_households_outside_then_distance_to_target() -> None:
    rules = DEFAULT_RULES
    assert nearest_choice(550, rules) == 2     # 50 outside either way; 275 is nearer 400 than 550
    assert nearest_choice(299, rules) == 1
    assert nearest_choice(560, rules) == 2     # k=1 leaves 60 out, k=2 leaves 2×20 = 40 out
    assert nearest_choice(1040, rules) == 3    # 1040 = 3 × 346.7 is within bounds anyway


def test_compound_of_700_is_split_minimally_and_flagged() -> None:
    blds = grid_of_buildings("B", 30, 40, 7, 1, 35, 0, [100], compound="XQ1")
    com = Com(CID, local_box(0, 0, 280, 120), blds)
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)
    spans = res.assignments.groupby("grid_id")["households"].sum()
    assert len(spans) == 2                      # ⌈700 / 500⌉ = 2 grids, no more
    assert res.grids["flags"].str.contains("compound_over_max").all()
    assert "XQ1" in res.report.at[CID, "explanation_en"]
    assert res.metrics()["compounds_split_unnecessarily"] == 0


def test_compounds_within_max_stay_whole() -> None:
    # three compounds of 360 households and loose buildings: 1,320 households, 3 or 4 grids
    blds = []
    for n, x0 in enumerate((20, 150, 280)):
        blds += grid_of_buildings(f"C{n}", x0, 40, 3, 2, 35, 60, [60], compound=f"XQ{n}")
    blds += grid_of_buildings("L", 40, 200, 6, 1, 60, 0, [40])
    com = Com(CID, local_box(0, 0, 400, 260), blds)
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)
    grid_of = res.assignments.set_index("building_id")["grid_id"]
    for n in range(3):
        members = [x.bid for x in blds if x.compound == f"XQ{n}"]
        assert grid_of[members].nunique() == 1
    assert res.metrics()["compounds_split_unnecessarily"] == 0


def test_two_separate_parts_each_hold_their_own_grids() -> None:
    left, right = local_box(0, 0, 200, 200), local_box(400, 0, 600, 200)
    blds = grid_of_buildings("L", 40, 50, 4, 2, 40, 100, [50]) + grid_of_buildings("R", 440, 50, 4, 2, 40, 100, [50])
    com = Com(CID, multipart(left, right), blds)
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)
    assert len(res.grids) == 2 and (res.grids.geometry.geom_type == "Polygon").all()
    assert not res.grids["flags"].str.contains("multipart").any()


def test_a_part_too_small_for_a_grid_joins_the_nearest_grid_and_is_flagged() -> None:
    main, islet = local_box(0, 0, 300, 300), local_box(350, 0, 400, 50)
    blds = grid_of_buildings("M", 40, 40, 5, 5, 55, 55, [32]) + [Bld("I1", 375, 25, 100, w=10, h=10)]
    com = Com(CID, multipart(main, islet), blds)
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)  # 900 households: 2 or 3 grids within bounds
    multi = res.grids[res.grids.geometry.geom_type == "MultiPolygon"]
    assert len(multi) == 1 and "multipart" in multi["flags"].iloc[0]
    assert "multipart" in res.report.at[CID, "flags"]


def test_buildings_across_the_community_edge_are_assigned_and_grids_still_tile() -> None:
    blds = grid_of_buildings("B", 15, 40, 6, 3, 50, 80, [45], w=40, h=20)   # x = 15 ± 20 crosses x = 0
    blds.append(Bld("EDGE", 298, 150, 45, w=10, h=20))                     # pokes 3 m past x = 300
    com = Com(CID, local_box(0, 0, 300, 240), blds)
    c, b, _ = frames([com])
    res = partition(c, b)
    check_invariants(res, c, b)
    assert "EDGE" in set(res.assignments["building_id"])


def test_grid_boundaries_follow_a_street_between_two_halves() -> None:
    north = grid_of_buildings("N", 50, 250, 4, 2, 100, 80, [50])
    south = grid_of_buildings("S", 50, 50, 4, 2, 100, 80, [50])
    com = Com(CID, local_box(0, 0, 400, 400), north + south)
    c, b, s = frames([com], [local_line((-20, 200), (420, 200))])
    res = partition(c, b, s)
    check_invariants(res, c, b)
    assert sorted(res.grids["households"]) == [400, 400]
    # the only boundary between the two grids is the street, so all of it runs on streets or the edge
    assert np.allclose(res.grids["street_share"], 1.0)
    assert res.metrics()["street_share"] == pytest.approx(1.0)
    units = build_units(c, b, s)
    g = units.graph
    street_edges = [(u, v) for u, v, d in g.edges(data=True) if d["nonstreet_length"] < d["length"] - 1e-6]
    assert street_edges, "the street must separate cells"


def test_locked_grid_is_kept_exactly_and_the_rest_is_redivided() -> None:
    blds = grid_of_buildings("B", 25, 25, 8, 8, 50, 50, [25], units=None)
    blds.append(Bld("T1", 210, 210, 900, units=9, w=8, h=8))
    com = Com(CID, local_box(0, 0, 400, 400), blds)
    other = Com(CID2, local_box(400, 0, 700, 300), grid_of_buildings("O", 430, 30, 5, 5, 60, 60, [36]))
    c, b, _ = frames([com, other])
    first = partition(c, b, seed=1)
    check_invariants(first, c, b)
    # lock the grid holding part of the tower (a unit split) and one plain grid
    tower_grids = first.assignments.loc[first.assignments["building_id"] == "T1", "grid_id"].tolist()
    keep = [tower_grids[0]] + [g for g in first.grids.index if g.startswith(CID) and g not in tower_grids][:1]
    locked = first.lock(keep)
    second = partition(c, b, seed=7, locked=locked)
    check_invariants(second, c, b)
    for gid in keep:
        assert gid in second.grids.index
        assert shapely.equals_exact(second.grids.geometry[gid], first.grids.geometry[gid], 0.0)
        before = first.assignments[first.assignments["grid_id"] == gid].reset_index(drop=True)
        after = second.assignments[second.assignments["grid_id"] == gid].reset_index(drop=True)
        pd.testing.assert_frame_equal(before, after)
        assert "locked" in second.grids.at[gid, "flags"]
    # the rest of the tower went to the other grids, by whole units
    t1 = second.assignments[second.assignments["building_id"] == "T1"]
    assert t1["households"].sum() == 900 and (t1["households"] % 100 == 0).all()
    assert "locked" in second.report.at[CID, "flags"]


def test_locking_by_geometry_alone_keeps_the_buildings_inside() -> None:
    blds = grid_of_buildings("B", 25, 25, 6, 6, 50, 50, [30])
    com = Com(CID, local_box(0, 0, 300, 300), blds)
    c, b, _ = frames([com])
    first = partition(c, b)
    gid = first.grids.index[0]
    lock = gpd.GeoDataFrame({"community_id": [CID]}, geometry=[first.grids.geometry[gid]], crs=4326,
                            index=pd.Index([gid], name="grid_id"))
    second = partition(c, b, locked=lock, seed=3)
    check_invariants(second, c, b)
    inside = b.index[shapely.contains(first.grids.geometry[gid], b.representative_point().to_numpy())]
    held = second.assignments.loc[second.assignments["grid_id"] == gid, "building_id"]
    assert set(held) == set(inside)


def test_same_seed_same_plan_and_workers_do_not_change_it() -> None:
    coms = [Com(CID, local_box(0, 0, 300, 300), grid_of_buildings("A", 20, 20, 6, 6, 50, 50, [40, 25, 60])),
            Com(CID2, local_box(300, 0, 600, 300), grid_of_buildings("Z", 320, 20, 6, 6, 50, 50, [35, 45]))]
    c, b, _ = frames(coms)
    a = partition(c, b, seed=5)
    assert same_result(a, partition(c, b, seed=5))
    assert same_result(a, partition(c, b, seed=5, workers=2))


def test_serials_run_west_to_east_then_north_to_south() -> None:
    # four quadrants of 400 households: serials 001 NW, 002 NE, 003 SW, 004 SE
    blds = []
    for n, (x0, y0) in enumerate(((20, 220), (220, 220), (20, 20), (220, 20))):
        blds += grid_of_buildings(f"Q{n}", x0 + 20, y0 + 20, 4, 4, 40, 40, [25], compound=f"XQ{n}")
    com = Com(CID, local_box(0, 0, 400, 400), blds)
    c, b, s = frames([com], [local_line((-10, 200), (410, 200)), local_line((200, -10), (200, 410))])
    res = partition(c, b, s)
    check_invariants(res, c, b)
    grid_of = res.assignments.set_index("building_id")["grid_id"]
    assert [grid_of[f"Q{n}000"][-3:] for n in range(4)] == ["001", "002", "003", "004"]


def test_configurable_bounds_are_respected() -> None:
    rules = Rules(min_households=160, max_households=255, target_households=200)
    com = Com(CID, local_box(0, 0, 400, 400), grid_of_buildings("B", 20, 20, 8, 8, 50, 50, [15, 20, 12]))
    c, b, _ = frames([com])
    res = partition(c, b, rules=rules)
    check_invariants(res, c, b, rules)
    assert res.grids["households"].between(160, 255).all()


def test_partitioner_is_a_shell_over_partition_and_reports_progress() -> None:
    coms = [Com(CID, local_box(0, 0, 300, 300), grid_of_buildings("A", 20, 20, 6, 6, 50, 50, [30])),
            Com(CID2, local_box(300, 0, 600, 300), grid_of_buildings("Z", 320, 20, 5, 5, 50, 50, [20]))]
    c, b, _ = frames(coms)
    seen: list[tuple[int, int, str]] = []
    p = Partitioner(seed=2, progress=lambda d, t, cid: seen.append((d, t, cid))).fit(c, b)
    assert sorted(x[2] for x in seen) == [CID, CID2]
    assert [x[0] for x in seen] == [1, 2] and {x[1] for x in seen} == {2}
    assert same_result(p.result_, partition(c, b, seed=2))
    assert p.metrics_["n_grids"] == len(p.grids_)
    assert p.report_.loc[CID2, "households"] == 500


def test_metrics_are_computed_from_the_grids() -> None:
    com = Com(CID, local_box(0, 0, 400, 400), grid_of_buildings("B", 20, 20, 8, 8, 50, 50, [20]))
    c, b, _ = frames([com])
    res = partition(c, b)
    m = res.metrics()
    assert m["n_grids"] == len(res.grids)
    assert m["pp_mean"] == pytest.approx(res.grids["polsby_popper"].mean())
    assert m["pp_p10"] == pytest.approx(np.percentile(res.grids["polsby_popper"], 10))
    assert m["share_within_feasible"] == 1.0 and m["contiguous_share"] == 1.0
    assert m["seconds"] > 0


def test_build_units_graph_matches_the_cells() -> None:
    blds = grid_of_buildings("B", 20, 20, 5, 5, 55, 55, [30], compound=None)
    blds[0].compound = blds[1].compound = "XQ9"
    blds.append(Bld("T", 150, 250, 700, units=7, w=50, h=14))
    com = Com(CID, local_box(0, 0, 300, 300), blds)
    c, b, s = frames([com], [local_line((-10, 140), (310, 140))])
    u = build_units(c, b, s)
    cells = u.cells
    assert cells["households"].sum() == b["households"].sum()
    assert cells.loc[f"{CID}/C:XQ9", "households"] == 60       # the compound is one cell
    assert (cells["kind"] == "unit").sum() == 7                # the 700-household tower by unit
    assert cells.loc[cells["kind"] == "unit", "households"].tolist() == unit_households(700, 7)
    assert set(u.graph.nodes) == set(cells.index)
    assert sum(d["households"] for _, d in u.graph.nodes(data=True)) == 25 * 30 + 700
    for _, _, d in u.graph.edges(data=True):
        assert 0 <= d["nonstreet_length"] <= d["length"] + 1e-9
    m = cells.to_crs(u.metric_crs)
    assert m.area.sum() == pytest.approx(c.to_crs(u.metric_crs).area.iloc[0], rel=1e-6)


# ----------------------------------------------------------------------------- errors

def _simple() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    c, b, _ = frames([Com(CID, local_box(0, 0, 200, 200), [Bld("B1", 50, 50, 200), Bld("B2", 150, 150, 200)])])
    return c, b


def test_building_outside_every_community_names_its_id() -> None:
    c, b = _simple()
    far = gpd.GeoDataFrame({"households": pd.array([10], dtype="Int64"), "community_id": [None]},
                           geometry=[shapely.Point(116.60, 36.40)], crs=4326, index=pd.Index(["FAR9"]))
    with pytest.raises(GeometryError, match="FAR9"):
        partition(c, pd.concat([b, far]))


def test_bad_households_and_duplicate_ids_are_schema_errors() -> None:
    c, b = _simple()
    bad = b.copy()
    bad["households"] = pd.array([200, -5], dtype="Int64")
    with pytest.raises(SchemaError, match=r"B2 \(-5\)"):
        partition(c, bad)
    with pytest.raises(SchemaError, match="B1"):
        partition(c, pd.concat([b, b.iloc[:1]]))
    wrong = b.assign(community_id=["370124009999", CID])
    with pytest.raises(SchemaError, match="370124009999"):
        partition(c, wrong)


def test_missing_crs_is_a_crs_error() -> None:
    c, b = _simple()
    with pytest.raises(CRSError, match="no CRS"):
        partition(c.set_crs(None, allow_override=True), b)


def test_locked_grid_outside_its_community_is_refused() -> None:
    c, b = _simple()
    res = partition(c, b)
    lock = res.lock(res.grids.index[:1])
    moved = Locked(grids=lock.grids.set_geometry(lock.grids.translate(0.01, 0)), assignments=lock.assignments)
    with pytest.raises(GeometryError, match="outside community"):
        partition(c, b, locked=moved)
    with pytest.raises(InputError, match="unknown grid"):
        res.lock(["370124001001999"])


# ----------------------------------------------------------------------------- honest status (issue #14)

def _strip(hh: list[int], units: list[int | None]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Buildings in a row along a 40 m wide strip: their cells form a path, one neighbour each side."""
    blds = [Bld(f"S{i}", 50 + 100 * i, 20, h, units=u, w=10, h=10) for i, (h, u) in enumerate(zip(hh, units))]
    c, b, _ = frames([Com(CID, local_box(0, 0, 100 * len(hh), 40), blds)])
    return c, b


def test_a_plan_blocked_by_contiguity_is_flagged_search_gave_up_never_ok() -> None:
    # 250 | 100 | 250 in a row, each one unit (unsplittable): 600 households admit 2 grids of 300,
    # and the pieces pass every packing test, but no contiguous half holds 300–500
    c, b = _strip([250, 100, 250], [1, 1, 1])
    res = partition(c, b)
    check_invariants(res, c, b, require_within=False)
    r = res.report.loc[CID]
    assert r["feasible"] and r["status"] == "search_gave_up"
    assert "search_gave_up" in r["flags"] and "bounds_not_met" not in r["flags"]
    out = res.grids[res.grids["status"] != "within"]
    assert len(out) >= 1 and out["flags"].str.contains("search_gave_up").all()
    assert "the search gave up after" in r["explanation_en"] and "搜索" in r["explanation_zh"]


def test_pieces_that_cannot_be_grouped_are_named_in_the_explanation() -> None:
    # 618 = 458 + 160, both unsplittable: 2 grids would need 309 each; no grouping of the pieces fits
    c, b = _strip([458, 160], [1, 1])
    res = partition(c, b)
    check_invariants(res, c, b, require_within=False)
    r = res.report.loc[CID]
    assert r["feasible"] and r["status"] == "bounds_not_met"
    assert "S0 (458)" in r["explanation_en"] and "S0 (458)" in r["explanation_zh"]
    assert "S1" not in r["explanation_en"]   # 160 is not what blocks: it fits with anything


def test_status_is_ok_only_when_every_grid_is_within_bounds() -> None:
    com = Com(CID, local_box(0, 0, 300, 300), grid_of_buildings("A", 40, 60, 4, 2, 70, 150, [110]))
    bad = Com(CID2, local_box(300, 0, 600, 300), grid_of_buildings("B", 340, 60, 5, 1, 50, 0, [110]))
    c, b, _ = frames([com, bad])
    res = partition(c, b)
    assert res.report.at[CID, "status"] == "ok"
    assert res.report.at[CID2, "status"] == "infeasible"   # 550: explained nearest choice, not "ok"


# ----------------------------------------------------------------------------- non-residential buildings

def test_buildings_with_no_households_are_kept_in_cells_and_assignments() -> None:
    blds = grid_of_buildings("R", 40, 60, 4, 2, 70, 150, [110])
    blds += [Bld("SCHOOL", 150, 250, 0, w=40, h=30), Bld("SHOP", 20, 250, 0, point=True)]
    c, b, _ = frames([Com(CID, local_box(0, 0, 300, 300), blds)])
    res = partition(c, b)
    check_invariants(res, c, b)
    asg = res.assignments.set_index("building_id")
    assert asg.loc[["SCHOOL", "SHOP"], "households"].tolist() == [0, 0]
    assert res.grids["households"].sum() == 880
    # the school's cell is part of the grid that holds it: its footprint lies inside that grid
    school = b.geometry["SCHOOL"]
    assert res.grids.geometry[asg.at["SCHOOL", "grid_id"]].buffer(1e-7).contains(school)
    assert res.grids.loc[asg.loc[["SCHOOL", "SHOP"], "grid_id"], "buildings"].min() >= 1


def test_negative_or_non_numeric_households_stay_errors() -> None:
    c, b = _simple()
    with pytest.raises(SchemaError, match=r"B2 \('x'\)"):
        partition(c, b.assign(households=pd.array(["200", "x"], dtype=object)))


# ----------------------------------------------------------------------------- command line

def _write(folder: Path, c: gpd.GeoDataFrame, b: gpd.GeoDataFrame, s: gpd.GeoDataFrame | None = None) -> list[str]:
    folder.mkdir(exist_ok=True)
    c.to_file(folder / "communities.geojson")
    b.drop(columns="community_id").assign(households=b["households"].astype(int)).to_file(
        folder / "buildings.geojson")
    args = ["--communities", str(folder / "communities.geojson"), "--buildings", str(folder / "buildings.geojson")]
    if s is not None:
        s.to_file(folder / "streets.geojson")
        args += ["--streets", str(folder / "streets.geojson")]
    return args


def test_cli_prints_warnings_as_clean_lines_and_no_street_share_without_streets(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blds = grid_of_buildings("A", 40, 60, 4, 2, 70, 150, [110])
    blds.append(Bld("EDGE", 301.0, 150, 0, point=True))       # 1 m outside the community: snapped, warned
    blds.append(Bld("SCHOOL", 150, 270, 0, w=30, h=20))
    c, b, _ = frames([Com(CID, local_box(0, 0, 300, 300), blds)])
    code = main(["--lang", "en", "partition", *_write(tmp_path / "in", c, b), "--out", str(tmp_path / "out")])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    lines = cap.out.splitlines()
    # every warning of a run is printed once, in the user's language, on stderr (cli.main)
    warn = [line for line in cap.err.splitlines() if line.startswith("warning: ")]
    assert len(warn) == 1 and "just outside their community" in warn[0]
    assert "GridgeoWarning" not in cap.out + cap.err and "warnings.warn" not in cap.out + cap.err
    assert "10 buildings read, 2 with no households" in cap.out
    assert "along streets" not in cap.out
    assert next(line for line in lines if CID in line).startswith("ok ")
    asg = pd.read_csv(tmp_path / "out" / "assignments.csv", dtype={"building_id": str})
    assert set(asg.loc[asg["households"] == 0, "building_id"]) == {"EDGE", "SCHOOL"}


def test_cli_with_streets_reports_the_street_share(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, b, s = frames([Com(CID, local_box(0, 0, 300, 300), grid_of_buildings("A", 40, 60, 4, 2, 70, 150, [110]))],
                     [local_line((150, -10), (150, 310))])
    code = main(["--lang", "zh", "partition", *_write(tmp_path / "in", c, b, s), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "沿道路边界" in out


def test_cli_exits_1_with_the_report_when_a_feasible_community_misses_the_bounds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c, b = _strip([250, 100, 250], [1, 1, 1])
    b["units"] = b["units"].astype(int)
    code = main(["--lang", "en", "partition", *_write(tmp_path / "in", c, b), "--out", str(tmp_path / "out")])
    cap = capsys.readouterr()
    assert code == 1
    line = next(line for line in cap.out.splitlines() if CID in line)
    assert line.startswith("!! ") and "[search gave up]" in line and "gave up after" in line
    assert "Traceback" not in cap.err
    assert (tmp_path / "out" / "grids.geojson").exists()


def test_loader_accepts_zero_households_and_the_use_field_with_chinese_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gridgeo import io

    (tmp_path / "b.csv").write_text("楼栋编码,户数,用途,经度,纬度\nL1,120,住宅,116.44,36.29\nL2,0,学校,116.441,36.29\n"
                                    "L3,0,菜市场,116.442,36.29\nL4,0,,116.443,36.29\n", encoding="utf-8-sig")
    b = io.read_buildings(tmp_path / "b.csv")
    assert b["households"].tolist() == [120, 0, 0, 0]
    assert b["use"].tolist()[:3] == ["residential", "school", "market"] and pd.isna(b["use"].iloc[3])
    assert main(["--lang", "en", "validate", "buildings", str(tmp_path / "b.csv")]) == 0
    assert "4 buildings (3 with 0 households: non-residential)" in capsys.readouterr().out
    assert main(["validate", "buildings", str(tmp_path / "b.csv")]) == 0      # default: Chinese
    assert "4 条楼栋记录（其中 3 栋户数为 0：非住宅）" in capsys.readouterr().out
    (tmp_path / "bad.csv").write_text("楼栋编码,户数,用途,经度,纬度\nL1,-1,住宅,116.44,36.29\nL2,0,火星,116.441,36.29\n",
                                      encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        io.read_buildings(tmp_path / "bad.csv")
    # messages name the user's own column header (户数, 用途)
    assert "row 2 (L1): 户数 must be a whole number ≥ 0, got '-1'" in str(err.value)
    assert "row 3 (L2): 用途 is not a known value, got '火星'" in str(err.value)
    zh = render(err.value, "zh")
    assert "第 2 行（L1）：“户数”必须是不小于 0 的整数，读到的值为“-1”" in zh
    assert "第 3 行（L2）：“用途”的值无法识别，读到的值为“火星”" in zh
