"""District key figures: checked against a hand count and a plain groupby."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

from gridgeo.errors import Problem
from gridgeo.io import District
from gridgeo.settings import Rules
from gridgeo.summary import community_table, district_figures, problem_table


def _district() -> District:
    # A: 1,200 households (k = 3 or 4), B: 550 (no k: 1 grid > 500, 2 grids < 300),
    # C: no buildings at all.
    comms = gpd.GeoDataFrame(
        {"name": ["甲社区", "乙社区", "丙社区"], "street": ["榆山街道", "榆山街道", "锦水街道"],
         "kind": ["urban", "urban", "rural"]},
        geometry=[box(116.44, 36.29, 116.45, 36.30), box(116.45, 36.29, 116.46, 36.30),
                  box(116.46, 36.29, 116.47, 36.30)],
        index=pd.Index(["370124001001", "370124001002", "370124001003"], name="community_id"), crs=4326,
    )
    hh = [300, 300, 250, 350, 200, 350]
    cid = ["370124001001"] * 4 + ["370124001002"] * 2
    buildings = gpd.GeoDataFrame(
        {"households": hh, "community_id": cid},
        geometry=[Point(116.441 + 0.001 * i, 36.295) for i in range(4)]
        + [Point(116.451 + 0.001 * i, 36.295) for i in range(2)],
        index=pd.Index([f"B{i}" for i in range(6)], name="building_id"), crs=4326,
    )
    return District(communities=comms, buildings=buildings)


def test_community_table_matches_hand_count() -> None:
    d = _district()
    table = community_table(d, Rules())
    assert list(table.index) == list(d.communities.index)
    expected_hh = d.buildings.groupby("community_id")["households"].sum()
    assert table.loc["370124001001", "households"] == expected_hh["370124001001"] == 1200
    assert table.loc["370124001002", "households"] == 550
    assert table.loc["370124001003", "households"] == 0
    assert table["buildings"].tolist() == [4, 2, 0]
    # 1,200 households: ceil(1200/500) = 3 … floor(1200/300) = 4
    assert (table.loc["370124001001", "k_min"], table.loc["370124001001", "k_max"]) == (3, 4)
    assert table["feasible"].tolist() == [True, False, False]
    assert pd.isna(table.loc["370124001002", "k_min"])


def test_community_table_follows_the_rules() -> None:
    # 550 fits once the bounds are 250–550: one grid of 550 or two of 275.
    table = community_table(_district(), Rules(min_households=250, target_households=400, max_households=550))
    assert (table.loc["370124001002", "k_min"], table.loc["370124001002", "k_max"]) == (1, 2)


def test_district_figures() -> None:
    d = _district()
    before = d.buildings.copy()
    figures = district_figures(d, Rules())
    assert figures["communities"] == 3
    assert figures["buildings"] == 6
    assert figures["households"] == sum([300, 300, 250, 350, 200, 350])
    assert figures["feasible_communities"] == 1
    assert figures["infeasible_communities"] == 2
    assert figures["streets"] is None and figures["stations"] is None
    pd.testing.assert_frame_equal(d.buildings, before)  # inputs untouched


def test_problem_table_groups_codes_and_lists_ids() -> None:
    problems = [
        Problem("building outside every community", "err.geom.outside", "warning", feature_id="B7"),
        Problem("building outside every community", "err.geom.outside", "warning", feature_id="B9"),
        Problem("units missing; assumed 100 households per entrance", "warn.units_estimated", "warning",
                ids=tuple(f"T{i}" for i in range(25))),
    ]
    table = problem_table(problems, max_ids=20).set_index("code")
    assert table.loc["err.geom.outside", "count"] == 2
    assert table.loc["err.geom.outside", "ids"] == "B7, B9"
    assert table.loc["warn.units_estimated", "n_ids"] == 25
    assert table.loc["warn.units_estimated", "ids"].endswith("…and 5 more")
    assert problem_table([]).empty


def test_grids_out_of_bounds_lists_each_community_with_its_grids() -> None:
    from gridgeo.summary import grids_out_of_bounds
    grids = pd.DataFrame({"community_id": ["C1", "C1", "C2", "C2", "C3"],
                          "households": [120, 420, 600, 90, 400],
                          "status": ["under", "within", "over", "under", "within"]},
                         index=pd.Index(["C1001", "C1002", "C2001", "C2002", "C3001"], name="grid_id"))
    comms = pd.DataFrame({"name": ["东关社区", "西关社区", "南关社区"]}, index=["C1", "C2", "C3"])
    table = grids_out_of_bounds(grids, comms)
    assert list(table.index) == ["C1", "C2"]
    assert table.loc["C2", ["name", "under", "over"]].tolist() == ["西关社区", 1, 1]
    assert table.loc["C1", "grids"] == [("C1001", "under", 120)]
    assert grids_out_of_bounds(grids[grids["status"] == "within"]).empty


def test_plan_status_never_calls_a_community_ok_while_a_grid_is_out() -> None:
    from gridgeo.summary import plan_status
    report = pd.DataFrame({"feasible": [True, True, False]}, index=["C1", "C2", "C3"])
    grids = pd.DataFrame({"community_id": ["C1", "C1", "C2", "C3"],
                          "status": ["within", "within", "over", "over"]})
    assert plan_status(report, grids).to_dict() == {"C1": "ok", "C2": "grids_out", "C3": "infeasible"}
