"""Evaluate any version the same way; compare two versions (added, retired, changed, moved)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from gridgeo.plans.diff import diff
from gridgeo.plans.evaluate import evaluate
from tests.plans_support import small_district, small_partition, small_plan


def test_the_per_grid_table_is_recomputed_from_the_assignments() -> None:
    d, r = small_district(), small_partition()
    ev = evaluate(small_plan(), d)
    t = ev.grids
    expected = r.assignments.groupby("grid_id")["households"].sum()
    assert t["households"].to_dict() == expected.reindex(t.index).to_dict()
    lo, hi = r.rules.min_households, r.rules.max_households
    within = [lo <= h <= hi for h in expected.reindex(t.index)]
    assert t["in_bounds"].tolist() == within
    # Polsby–Popper by hand for the first grid, in its UTM zone
    g = r.grids.iloc[[0]].to_crs(r.grids.estimate_utm_crs())
    a, p = float(g.area.iloc[0]), float(g.length.iloc[0])
    assert math.isclose(t["polsby_popper"].iloc[0], 4 * math.pi * a / p**2, rel_tol=1e-3)
    assert np.allclose(t["polsby_popper"], r.grids["polsby_popper"], atol=0.01)
    # the engine's grids follow streets or the community edge at least as much as it reported
    assert (t["street_share"] >= r.grids["street_share"] - 0.05).all()
    assert ev.metrics["households"] == 8148 and ev.metrics["n_grids"] == len(r.grids)
    assert ev.metrics["unassigned_buildings"] == 0
    assert t.loc[t["community_id"] == "370124001001", "community"].iloc[0] == "翠屏社区"


def test_dedicated_grids_are_exempt_and_broken_grids_flagged() -> None:
    d, r = small_district(), small_partition()
    plan = small_plan()
    grids = plan.grids.copy()
    first, second = grids.index[0], grids.index[1]
    grids["kind"] = "basic"
    grids.loc[first, "kind"] = "dedicated"
    far = box(116.0, 36.0, 116.001, 36.001)          # a detached piece: no longer one polygon
    grids.loc[second, "geometry"] = shapely.union_all([grids.at[second, "geometry"], far])
    rows = plan.assignments.copy()
    rows = rows[rows["grid_id"] != first]             # the dedicated grid holds no households now
    ev = evaluate(plan.evolve(grids=grids, assignments=rows), d)
    assert ev.grids.at[first, "status"] == "exempt" and bool(ev.grids.at[first, "in_bounds"])
    assert "empty" not in ev.grids.at[first, "flags"]
    assert not ev.grids.at[second, "contiguous"]
    assert "not_contiguous" in ev.grids.at[second, "flags"] and "crosses_community" in ev.grids.at[second, "flags"]
    assert ev.metrics["n_dedicated"] == 1 and ev.metrics["unassigned_buildings"] == \
        len(set(plan.assignments["building_id"]) - set(rows["building_id"]))


def test_a_diff_names_the_moved_building_and_the_grids_it_touched() -> None:
    plan = small_plan()
    a = plan.evolve(version_id="v1")
    rows = plan.assignments.copy()
    whole = rows[rows["unit_range"] == ""]
    src_grid = whole["grid_id"].iloc[0]
    bid = whole["building_id"].iloc[0]
    dst_grid = next(g for g in plan.grids.index if g != src_grid)
    rows.loc[rows["building_id"] == bid, "grid_id"] = dst_grid
    gone = plan.grids.index[-1]
    grids = plan.grids.drop(index=[gone])
    grids.loc["370124001003099"] = plan.grids.loc[gone]
    rows.loc[rows["grid_id"] == gone, "grid_id"] = "370124001003099"
    b = plan.evolve(grids=grids, assignments=rows, version_id="v2")
    result = diff(a, b)
    hh = int(whole["households"].iloc[0])
    moved = result.moved[result.moved["building_id"] == bid]
    assert moved[["from_grid", "to_grid", "households"]].values.tolist() == [[src_grid, dst_grid, hh]]
    s = result.summary()
    n_gone = int((plan.assignments["grid_id"] == gone).sum())
    assert (s["added"], s["retired"]) == (1, 1)
    assert result.grids.at[src_grid, "status"] == "changed" and result.grids.at[dst_grid, "status"] == "changed"
    assert result.grids.at[src_grid, "delta"] == -hh and result.grids.at[dst_grid, "delta"] == hh
    assert s["unchanged"] == len(plan.grids) - 3 and s["changed"] == 2
    # buildings of the renumbered grid moved too: every household accounted for
    assert s["buildings_moved"] == 1 + len(set(plan.assignments.loc[plan.assignments["grid_id"] == gone,
                                                                      "building_id"]))
    assert n_gone > 0
    assert s["households_moved"] == hh + int(plan.grids.at[gone, "households"])


def test_a_diff_of_a_version_with_itself_is_empty() -> None:
    plan = small_plan()
    result = diff(plan, plan)
    assert result.moved.empty and set(result.grids["status"]) == {"unchanged"}
    assert pd.Series(result.grids["delta"]).eq(0).all()


def test_the_comparison_map_colours_grids_by_status_and_shows_moved_buildings() -> None:
    from gridgeo.maps import DIFF_COLOURS, diff_layers, diff_map

    d = small_district()
    plan = small_plan()
    rows = plan.assignments.copy()
    whole = rows[rows["unit_range"] == ""]
    bid, src = whole["building_id"].iloc[0], whole["grid_id"].iloc[0]
    dst = next(g for g in plan.grids.index if g != src)
    rows.loc[rows["building_id"] == bid, "grid_id"] = dst
    gone = plan.grids.index[-1]
    grids = plan.grids.drop(index=[gone])
    result = diff(plan.evolve(version_id="v1"), plan.evolve(grids=grids, assignments=rows, version_id="v2"))
    layers = diff_layers(result, d.communities, d.buildings, d.streets, lang="zh")
    fills = {f["properties"]["grid_id"]: f["properties"]["fill"] for f in layers.grids["features"]}
    assert fills[src] == fills[dst] == DIFF_COLOURS["changed"]
    assert [f["properties"]["grid_id"] for f in layers.retired["features"]] == [gone]
    moved_ids = {f["properties"]["building_id"] for f in layers.moved["features"]}
    assert bid in moved_ids
    html = diff_map(layers).get_root().render()
    for label in ("停用的网格", "调整网格的楼栋", "网格（v1 → v2）"):
        assert label in html or json.dumps(label)[1:-1] in html, label
    assert "cdn.jsdelivr" not in html and "/app/static/vendor/" in html
    assert '"collapsed": true' in html and '"collapsed": false' not in html       # ends like every theme map
    assert "overlaps(r, taken[i])" in html                                         # labels decluttered
