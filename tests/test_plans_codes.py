"""Stable grid codes: a re-plan renumbers nothing, an edit renumbers only what it changed."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from gridgeo.partition import partition
from gridgeo.plans.codes import parse_units, reading_order, shared_households, stabilize
from gridgeo.plans.model import PlanVersion
from gridgeo.plans.store import Workspace
from tests.plans_support import COMMUNITIES, small_district, small_plan

EDITED = COMMUNITIES[1]


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws.gpkg", create_from=small_district())


def _serial(code: str) -> int:
    return int(code[-3:])


def test_a_replan_with_the_same_seed_changes_no_code(ws: Workspace) -> None:
    v1 = ws.save(small_plan(seed=0), parent=None, author="a")
    d = small_district()
    again = partition(d.communities, d.buildings, d.streets, seed=0, workers=1)
    v2 = ws.save(PlanVersion(again.grids, again.assignments), parent=v1, author="b")
    old, new = ws.load(v1), ws.load(v2)
    assert list(new.grids.index) == list(old.grids.index)
    assert new.grids["valid_from"].tolist() == old.grids["valid_from"].tolist()   # dates kept too
    assert new.meta["retired"] == {}
    pd.testing.assert_frame_equal(new.assignments, old.assignments)


def _redivide_one(plan: PlanVersion, seed: int, target: int) -> PlanVersion:
    """Re-divide community EDITED with another seed and target; keep the rest as it is."""
    d = small_district()
    from gridgeo.settings import DEFAULT_RULES

    rules = DEFAULT_RULES.with_bounds(target_households=target, min_households=250)
    sub = partition(d.communities.loc[[EDITED]], d.buildings[d.buildings["community_id"] == EDITED],
                    d.streets, rules=rules, seed=seed, workers=1)
    keep = plan.grids[plan.grids["community_id"] != EDITED]
    grids = pd.concat([keep, sub.grids.reindex(columns=keep.columns)])
    rows = plan.assignments[plan.assignments["grid_id"].isin(keep.index)]
    return plan.evolve(grids=gpd.GeoDataFrame(grids, geometry="geometry", crs=4326),
                       assignments=pd.concat([rows, sub.assignments], ignore_index=True))


def _ground(assignments: pd.DataFrame) -> dict[str, dict[str, float]]:
    """grid -> building -> households, by a plain loop (splits counted by their own households)."""
    out: dict[str, dict[str, float]] = {}
    for row in assignments.itertuples():
        out.setdefault(str(row.grid_id), {})
        out[str(row.grid_id)][str(row.building_id)] = out[str(row.grid_id)].get(str(row.building_id), 0) \
            + float(row.households)
    return out


def test_editing_one_community_changes_no_code_elsewhere(ws: Workspace) -> None:
    v1 = ws.save(small_plan(seed=0), parent=None, author="a")
    old = ws.load(v1)
    edited = _redivide_one(old, seed=7, target=300)
    v2 = ws.save(edited, parent=v1, author="b", note="re-divided one community")
    new = ws.load(v2)
    outside_old = old.grids[old.grids["community_id"] != EDITED]
    outside_new = new.grids[new.grids["community_id"] != EDITED]
    assert list(outside_new.index) == list(outside_old.index)
    assert outside_new.geometry.geom_equals_exact(outside_old.geometry, tolerance=0).all()
    assert outside_new["valid_from"].tolist() == outside_old["valid_from"].tolist()

    # inside the edited community: a kept code holds more than half of that code's old households
    before, after = _ground(old.assignments), _ground(new.assignments)
    old_codes = set(old.grids.index[old.grids["community_id"] == EDITED])
    new_codes = set(new.grids.index[new.grids["community_id"] == EDITED])
    assert len(new_codes) != len(old_codes) or new_codes != old_codes   # the edit really changed the grids
    top = max(_serial(c) for c in old_codes)
    for code in new_codes:
        if code in old_codes:
            held = sum(min(h, before[code].get(b, 0)) for b, h in after[code].items())
            assert held * 2 > sum(before[code].values()), code
        else:
            assert code.startswith(EDITED) and _serial(code) > top, code   # fresh serials, never reused
    retired = set(new.meta["retired"])
    assert retired == old_codes - new_codes
    # households per grid match the assignments (recounted independently)
    sums = new.assignments.groupby("grid_id")["households"].sum()
    assert (sums.reindex(new.grids.index) == new.grids["households"]).all()


def test_retired_codes_are_never_given_again(ws: Workspace) -> None:
    v1 = ws.save(small_plan(seed=0), parent=None, author="a")
    plan = ws.load(v1)
    cid = COMMUNITIES[0]
    mine = plan.grids[plan.grids["community_id"] == cid].sort_index()
    a_code, b_code = mine.index[-2], mine.index[-1]
    # merge the last two grids of the community into one: one code survives, the other retires
    merged_geom = mine.loc[[a_code, b_code]].union_all()
    grids = plan.grids.drop(index=[b_code])
    grids.loc[a_code, "geometry"] = merged_geom
    grids.loc[a_code, "households"] = int(mine.loc[[a_code, b_code], "households"].sum())
    rows = plan.assignments.copy()
    rows.loc[rows["grid_id"] == b_code, "grid_id"] = a_code
    v2 = ws.save(plan.evolve(grids=grids, assignments=rows), parent=v1, author="b", note="merge")
    merged = ws.load(v2)
    survivor = a_code if a_code in merged.grids.index else b_code
    gone = b_code if survivor == a_code else a_code
    assert gone not in merged.grids.index and list(merged.meta["retired"]) == [gone]
    # split it back: the part that is not the survivor's ground gets a fresh serial, not the retired one
    v3 = ws.save(plan.evolve(), parent=v2, author="c", note="split again")
    split = ws.load(v3)
    fresh = set(split.grids.index) - set(merged.grids.index)
    assert len(fresh) == 1 and gone not in split.grids.index
    (code,) = fresh
    assert _serial(code) == max(_serial(c) for c in plan.grids.index if c.startswith(cid)) + 1
    assert split.grids.at[code, "valid_from"] > merged.grids.at[survivor, "valid_from"]


def test_new_grids_are_numbered_west_to_east_then_north_to_south() -> None:
    d = 0.004
    cells = {"sw": box(117, 36, 117 + d, 36 + d), "se": box(117 + d, 36, 117 + 2 * d, 36 + d),
             "nw": box(117, 36 + d, 117 + d, 36 + 2 * d), "ne": box(117 + d, 36 + d, 117 + 2 * d, 36 + 2 * d)}
    geoms = gpd.GeoSeries(list(cells.values()), index=list(cells), crs=4326)
    assert [list(cells)[i] for i in reading_order(geoms)] == ["nw", "ne", "sw", "se"]
    # a revision that turns one grid into four numbers the fresh ones in that order after the highest serial
    cid = "370000000001"
    prev_grid = gpd.GeoDataFrame({"community_id": [cid], "households": [1600]},
                                 geometry=[geoms.union_all()], index=pd.Index([f"{cid}004"], name="grid_id"),
                                 crs=4326)
    prev_rows = pd.DataFrame({"building_id": list("ABCD"), "grid_id": f"{cid}004", "households": 400,
                              "unit_range": ""})
    new_grids = gpd.GeoDataFrame({"community_id": cid, "households": 400}, geometry=geoms.to_numpy(),
                                 index=pd.Index(list(cells), name="grid_id"), crs=4326)
    new_rows = pd.DataFrame({"building_id": list("ABCD"), "grid_id": list(cells), "households": 400,
                             "unit_range": ""})
    coded = stabilize(new_grids, new_rows, PlanVersion(prev_grid, prev_rows), issued={f"{cid}009"})
    assert coded.renamed == {"nw": f"{cid}010", "ne": f"{cid}011", "sw": f"{cid}012", "se": f"{cid}013"}
    assert list(coded.retired) == [f"{cid}004"]        # split four ways: no part keeps most of it
    assert coded.assignments["grid_id"].tolist() == [f"{cid}012", f"{cid}013", f"{cid}010", f"{cid}011"]


def test_shared_households_follow_unit_ranges() -> None:
    assert parse_units("1-3,5") == {1, 2, 3, 5} and parse_units("") == set()
    old = pd.DataFrame({"building_id": ["T", "T", "X"], "grid_id": ["g1", "g2", "g1"],
                        "households": [300, 300, 50], "unit_range": ["1-3", "4-6", ""]})
    new = pd.DataFrame({"building_id": ["T", "T", "X"], "grid_id": ["n1", "n2", "n2"],
                        "households": [400, 200, 50], "unit_range": ["1-4", "5-6", ""]})
    shares = shared_households(old, new).set_index(["old", "new"])["shared"].to_dict()
    assert shares == {("g1", "n1"): 300.0, ("g2", "n1"): 100.0, ("g2", "n2"): 200.0, ("g1", "n2"): 50.0}


def test_history_gives_each_code_its_validity_dates(ws: Workspace) -> None:
    v1 = ws.save(small_plan(seed=0), parent=None, author="a")
    old = ws.load(v1)
    v2 = ws.save(_redivide_one(old, seed=7, target=300), parent=v1, author="b")
    new = ws.load(v2)
    history = ws.history()
    retired = set(new.meta["retired"])
    assert set(history.index) == set(old.grids.index) | set(new.grids.index)
    assert set(history.index[history["valid_to"].notna()]) == retired
    for code in retired:
        assert history.at[code, "last_version"] == "v1"
        assert history.at[code, "valid_to"] == pd.Timestamp(new.meta["retired"][code])
    for code in new.grids.index:
        assert pd.isna(history.at[code, "valid_to"]) and history.at[code, "last_version"] == "v2"
        assert history.at[code, "valid_from"] == new.grids.at[code, "valid_from"]
    assert ws.history("v1")["valid_to"].isna().all()
