"""Grid staff: roster checks, rule presets, exact assignment (vs brute force), stability, edits, masking."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook

from gridgeo import staffing as sf
from gridgeo.cli import main
from gridgeo.errors import InputError, SchemaError, render

UTM = 32650                      # the demo area (116.4° E) lies in UTM zone 50N
X0, Y0 = 465_000.0, 4_016_000.0  # about (116.61, 36.29)
FULL_PHONE = re.compile(r"1[3-9]\d{9}")


def _grids(specs: list[tuple[float, float, float]], kinds: list[str] | None = None) -> gpd.GeoDataFrame:
    """Square grids (x, y, side in metres from X0/Y0), ids G1, G2 …, in EPSG:4326."""
    polys = [shapely.box(X0 + x, Y0 + y, X0 + x + s, Y0 + y + s) for x, y, s in specs]
    g = gpd.GeoDataFrame({"community_id": "370124001001", "kind": kinds or ["basic"] * len(specs)},
                         geometry=polys, crs=UTM, index=pd.Index([f"G{i + 1}" for i in range(len(specs))],
                                                                 name="grid_id"))
    return g.to_crs(4326)


def _roster(people: list[tuple[str, str, tuple[float, float] | None, str]],
            grids: gpd.GeoDataFrame | None = None) -> sf.Roster:
    """People as (role, employment, home (x, y) in metres or None, current grid_id)."""
    pts = [shapely.Point(X0 + h[0], Y0 + h[1]) if h is not None else None for _, _, h, _ in people]
    frame = gpd.GeoDataFrame({
        "name": [f"人员{i}" for i in range(len(people))], "role": [p[0] for p in people],
        "employment": [p[1] for p in people], "phone": [f"1380000{i:04d}" for i in range(len(people))],
        "grid_id": [p[3] for p in people]}, geometry=gpd.GeoSeries(pts, crs=UTM).to_crs(4326).values, crs=4326,
        index=pd.Index([f"S{i + 1:02d}" for i in range(len(people))], name="staff_id"))
    return sf.roster_from_frame(frame, grids, unknown_grid="warning")


def _metres(roster: sf.Roster, grids: gpd.GeoDataFrame) -> dict[tuple[str, str], int]:
    """Independent distances: shapely in UTM 50N, rounded per pair."""
    homes = roster.frame.geometry.to_crs(UTM)
    polys = grids.geometry.to_crs(UTM)
    return {(s, g): int(round(h.distance(p))) if h is not None else 0
            for s, h in homes.items() for g, p in polys.items()}


def _key(pairs: dict[str, tuple[str, ...]], roster: sf.Roster, grids: gpd.GeoDataFrame, hh: pd.Series,
         rules: sf.StaffingRules, metres: dict[tuple[str, str], int], keep_current: bool
         ) -> tuple[int, int, int, int, int] | None:
    """The goals in order, computed by hand; None if the assignment breaks a maximum."""
    filled: dict[tuple[str, str], int] = {}
    left = total = 0
    f = roster.frame
    for s, gs in pairs.items():
        rule_of = {g: rules.for_kind(grids.at[g, "kind"]).role(f.at[s, "role"]) for g in gs}
        for g in gs:
            r = rule_of[g]
            if r is None:
                return None
            if r.part_time_counts or f.at[s, "employment"] != "part_time":
                filled[(g, r.role)] = filled.get((g, r.role), 0) + 1
            total += metres[(s, g)]
    if keep_current:
        for s, cur in f["grid_id"].items():
            left += sum(1 for g in sf.split_grid_ids(cur) if g in grids.index and g not in pairs.get(s, ()))
    empty = empty_hh = extras = 0
    for g in grids.index:
        for r in rules.for_kind(grids.at[g, "kind"]).roles:
            n = filled.get((g, r.role), 0)
            if n > r.max_count:
                return None
            empty += max(0, r.min_count - n)
            empty_hh += max(0, r.min_count - n) * int(hh[g])
            extras += max(0, n - r.min_count)
    return (empty, left, empty_hh, -extras, total)


def _brute_force(roster: sf.Roster, grids: gpd.GeoDataFrame, hh: pd.Series, rules: sf.StaffingRules,
                 keep_current: bool) -> tuple[int, int, int, int, int]:
    """Enumerate every assignment (each person: nobody, one grid, or up to the part-time limit)."""
    f = roster.frame
    metres = _metres(roster, grids)
    options = []
    for s in f.index:
        counted = any(r.role == f.at[s, "role"] and r.counts(f.at[s, "employment"])
                      for r in (*rules.basic.roles, *rules.dedicated.roles))
        homes = [g for g in grids.index if f.at[s, "has_home"]]
        homes += [g for g in sf.split_grid_ids(f.at[s, "grid_id"]) if g in grids.index and g not in homes]
        limit = rules.part_time_max_grids if f.at[s, "employment"] == "part_time" else 1
        mine: list[tuple[str, ...]] = [()]
        if counted:
            for k in range(1, limit + 1):
                mine += list(itertools.combinations(sorted(homes), k))
        options.append(mine)
    best = None
    for combo in itertools.product(*options):
        key = _key({s: c for s, c in zip(f.index, combo) if c}, roster, grids, hh, rules, metres, keep_current)
        if key is not None and (best is None or key < best):
            best = key
    assert best is not None
    return best


def _random_instance(seed: int, part_time: float = 0.3) -> tuple[sf.Roster, gpd.GeoDataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    n_grids = int(rng.integers(2, 4))
    grids = _grids([(float(i * 400 + rng.integers(0, 100)), float(rng.integers(0, 300)), 300.0)
                    for i in range(n_grids)], kinds=[str(k) for k in rng.choice(["basic", "dedicated"], n_grids,
                                                                                  p=[.7, .3])])
    hh = pd.Series(rng.integers(100, 600, n_grids), index=grids.index)
    people = []
    for _ in range(int(rng.integers(4, 7))):
        role = str(rng.choice(["leader", "worker", "worker", "instructor"]))
        emp = "part_time" if rng.random() < part_time else "full_time"
        home = None if rng.random() < 0.1 else (float(rng.uniform(-500, 1500)), float(rng.uniform(-500, 800)))
        cur = str(rng.choice(list(grids.index) + ["", "", "GONE"]))
        people.append((role, emp, home, cur))
    return _roster(people, grids), grids, hh


@pytest.mark.parametrize("seed", range(14))
@pytest.mark.parametrize("rule", ["default", "pingyin", "heze", "part_time_2"])
def test_assignment_is_optimal_against_brute_force(seed: int, rule: str) -> None:
    roster, grids, hh = _random_instance(seed)
    rules = sf.PRESETS["default"].evolve(part_time_max_grids=2) if rule == "part_time_2" else sf.PRESETS[rule]
    keep = seed % 2 == 0
    best = _brute_force(roster, grids, hh, rules, keep)
    metres = _metres(roster, grids)
    for method in ("highs", "flow"):
        # candidates=1: most pairs start outside the network, so pricing has to find them
        result = sf.assign_staff(roster, grids, hh, rules=rules, keep_current=keep, candidates=1,
                                 method=method)  # type: ignore[arg-type]
        assert result.solver is not None and result.solver.status == "optimal" and result.solver.gap == 0
        got = _key(result.pairs, roster, grids, hh, rules, metres, keep)
        assert got == best, (method, got, best)


def test_shortage_goes_to_the_grid_with_fewest_households() -> None:
    grids = _grids([(0, 0, 300), (400, 0, 300), (800, 0, 300)])
    hh = pd.Series([500, 120, 350], index=grids.index)
    leaders = [("leader", "full_time", (150, 150), ""), ("leader", "full_time", (550, 150), "")]
    workers = [("worker", "full_time", (100 + 300 * i, 100), "") for i in range(6)]
    roster = _roster(leaders + workers, grids)
    result = sf.assign_staff(roster, grids, hh)
    assert result.shortage[["grid_id", "role", "missing"]].values.tolist() == [["G2", "leader", 1]]
    assert result.grids.loc["G2", "flags"].split(";")[0] == "no_leader"
    assert result.summary["shortage"] == {"leader": 1}
    assert result.grids["leaders"].tolist() == [1, 0, 1]       # the leader living in G2 goes where it hurts more


def test_surplus_lists_the_people_farthest_away() -> None:
    grids = _grids([(0, 0, 300), (400, 0, 300)])
    hh = pd.Series([400, 400], index=grids.index)
    people = [("leader", "full_time", (100, 100), ""), ("leader", "full_time", (500, 100), ""),
              ("leader", "full_time", (5_000, 5_000), ""), ("leader", "part_time", (9_000, 0), "")]
    people += [("worker", "full_time", (50 * i, 50), "") for i in range(6)]
    people += [("worker", "full_time", (3_000, 3_000), "")]
    roster = _roster(people, grids)
    result = sf.assign_staff(roster, grids, hh)
    surplus = result.surplus.set_index("staff_id")
    assert sorted(surplus.index) == ["S03", "S04", "S11"]
    assert set(surplus["reason"]) == {"places_full"}
    assert result.summary["surplus"] == {"leader": 2, "worker": 1}
    assert result.grids["workers"].tolist() == [3, 3]            # 2–3 workers: extras fill up to 3


def test_presets_pingyin_and_heze() -> None:
    grids = _grids([(0, 0, 300), (400, 0, 300)])
    hh = pd.Series([400, 400], index=grids.index)
    people = [("leader", "full_time", (100, 100), ""), ("leader", "full_time", (500, 100), ""),
              ("worker", "full_time", (100, 100), ""), ("worker", "full_time", (120, 100), ""),
              ("worker", "full_time", (140, 100), ""), ("worker", "part_time", (500, 100), ""),
              ("instructor", "part_time", (300, 100), "")]
    roster = _roster(people, grids)
    pingyin = sf.assign_staff(roster, grids, hh, rules=sf.preset("pingyin"))
    reasons = pingyin.surplus.set_index("staff_id")["reason"].to_dict()
    assert reasons == {"S06": "part_time_not_counted", "S07": "role_not_in_rule"}
    assert pingyin.grids["workers"].tolist() == [2, 1]             # 3 full-timers, 2 per grid at most
    assert pingyin.shortage[["grid_id", "role", "missing"]].values.tolist() == [["G2", "worker", 1]]
    heze = sf.assign_staff(roster, grids, hh, rules=sf.preset("heze"))
    assert heze.grids["n_instructor"].sum() == 1
    assert heze.shortage[heze.shortage["role"] == "instructor"]["missing"].sum() == 1
    assert "too_few_instructors" in ";".join(heze.grids["flags"])
    assert heze.surplus.empty
    with pytest.raises(InputError, match="unknown staffing rule 'xian'"):
        sf.preset("xian")


def test_dedicated_grids_follow_their_own_rule() -> None:
    grids = _grids([(0, 0, 300), (400, 0, 300)], kinds=["basic", "dedicated"])
    hh = pd.Series([400, 200], index=grids.index)
    people = [("leader", "full_time", (100, 100), ""), ("leader", "full_time", (500, 100), "")]
    people += [("worker", "full_time", (450 + 10 * i, 100), "") for i in range(5)]
    result = sf.assign_staff(_roster(people, grids), grids, hh)
    assert result.grids["workers"].tolist() == [3, 2]              # dedicated: 1–2 workers
    assert result.grids.loc["G2", "status"] in ("ok", "warning")


def test_keep_current_moves_only_when_required() -> None:
    grids = _grids([(0, 0, 300), (400, 0, 300)])
    hh = pd.Series([400, 400], index=grids.index)
    # both leaders sit in G1 (one too many); the one living nearer G2 must move, nobody else
    people = [("leader", "full_time", (100, 100), "G1"), ("leader", "full_time", (300, 100), "G1")]
    people += [("worker", "full_time", (600 + i, 100), "G1") for i in range(3)]  # live by G2, placed in G1
    people += [("worker", "full_time", (100, 100 + i), "") for i in range(2)]
    roster = _roster(people, grids)
    kept = sf.assign_staff(roster, grids, hh, keep_current=True)
    moved = kept.members[kept.members["moved"]].drop_duplicates("staff_id")["staff_id"].tolist()
    assert moved == ["S02"]
    assert kept.summary["moved"] == 1
    fresh = sf.assign_staff(roster, grids, hh, keep_current=False)
    assert fresh.summary["moved"] > 1                              # distance alone moves the workers too
    assert fresh.solver is not None and kept.solver is not None
    assert fresh.solver.objective[4] < kept.solver.objective[4]


@pytest.fixture(scope="module")
def demo() -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """The default plan of the bundled demo, its households per grid and its buildings."""
    from gridgeo import io
    from gridgeo.grids import grid_households
    from gridgeo.partition import partition

    d = io.read_district("data/demo")
    plan = partition(d.communities, d.buildings, d.streets, seed=0, workers=1)
    return plan.grids, grid_households(plan.grids, d.buildings, plan.assignments), d.buildings


def test_demo_assignment_and_rerun_after_a_plan_edit_moves_only_touched_grids(demo, tmp_path: Path) -> None:
    grids, hh, _ = demo
    current = sf.read_roster("data/demo/staff.csv", grids)  # every current grid_id is a grid of the default plan
    assert len(current.frame) == 371 and (current.frame["grid_id"] != "").sum() >= 0.9 * 371
    checked = sf.check_staff(current, grids, hh)
    kept = sf.assign_staff(current, grids, hh, keep_current=True)
    assert kept.summary["staffed_grids"] >= checked.summary["staffed_grids"]
    on_file = current.frame["grid_id"][current.frame["grid_id"] != ""]
    # everyone stays where the roster has them, unless the move fills a required place: counted by hand, the
    # person's grid keeps its required number of that role without them and the new grid had fewer on file
    need = {"leader": 1, "worker": 2}
    role = current.frame["role"]
    count = pd.Series(list(zip(on_file, role[on_file.index], strict=True))).value_counts().to_dict()
    moved = [s for s, g in on_file.items() if g not in kept.pairs.get(s, ())]
    assert kept.summary["moved"] == len(moved)
    for s in moved:
        (new_grid,) = kept.pairs[s]
        r = role[s]
        assert count.get((on_file[s], r), 0) - 1 >= need[r] > count.get((new_grid, r), 0), s
    roster = sf.roster_from_frame(current.frame.assign(grid_id=""), grids)   # a fresh assignment from here on
    first = sf.assign_staff(roster, grids, hh)
    placed = first.members[first.members["grid_id"] != ""]
    by_hand = placed.groupby("grid_id")["role"].value_counts().unstack(fill_value=0)
    assert (by_hand["leader"].reindex(grids.index, fill_value=0) == first.grids["leaders"]).all()
    leaders = roster.frame[roster.frame["role"] == "leader"]
    homed = int((leaders.geometry.notna() & ~leaders.geometry.is_empty).sum())  # no home: not placed automatically
    assert first.summary["shortage"] == {"leader": len(grids) - homed}        # one leader per grid
    # the roster now carries the assignment; merge two grids of one community (a small plan edit)
    again = roster.frame.copy()
    again["grid_id"] = [";".join(first.pairs.get(s, ())) for s in again.index]
    community = grids.groupby("community_id").size().idxmax()
    a, b = grids[grids["community_id"] == community].index[:2]
    edited = grids.drop(index=[b]).copy()
    edited.loc[a, "geometry"] = shapely.union_all([grids.at[a, "geometry"], grids.at[b, "geometry"]])
    edited_hh = hh.drop(index=[b]).copy()
    edited_hh.loc[a, "households"] = int(hh.loc[[a, b], "households"].sum())
    roster2 = sf.roster_from_frame(again, edited, unknown_grid="warning")
    second = sf.assign_staff(roster2, edited, edited_hh, keep_current=True)
    moved = set(second.members.loc[second.members["moved"], "staff_id"])
    touched = {s for s, gs in first.pairs.items() if a in gs or b in gs}
    assert moved and moved <= touched
    # and with no edit at all, nobody moves
    same = sf.assign_staff(sf.roster_from_frame(again, grids), grids, hh, keep_current=True)
    assert same.summary["moved"] == 0
    assert same.pairs == first.pairs


def test_check_mode_judges_the_rosters_own_grids(demo) -> None:
    grids, hh, _ = demo
    ids = list(grids.index[:3])
    people = pd.read_csv("data/demo/staff.csv", dtype=str).head(7).copy()
    people["grid_id"] = [ids[0], ids[0], ids[0], ids[0], ids[1], ids[1], ""]
    homes = [shapely.Point(float(x), float(y)) if isinstance(x, str) else None
             for x, y in zip(people["lon"], people["lat"])]
    frame = gpd.GeoDataFrame(people.set_index("staff_id").drop(columns=["lon", "lat"]), geometry=homes, crs=4326)
    roster = sf.roster_from_frame(frame, grids)
    result = sf.check_staff(roster, grids, hh)
    roles = people.set_index("staff_id")["role"]
    g0 = result.grids.loc[ids[0]]
    assert g0["leaders"] == int((roles.iloc[:4] == "leader").sum())
    assert g0["workers"] == int((roles.iloc[:4] == "worker").sum())
    assert result.summary["assigned"] == 6
    assert result.grids.loc[ids[2], "flags"].startswith("no_leader;too_few_workers")
    assert result.summary["moved"] == 0


def test_a_roster_file_without_coordinates_loads_with_everyone_flagged_and_keeps_current_grids(
        demo, tmp_path: Path) -> None:
    """No lon/lat columns at all: people are kept, flagged without a home, and assigned by their grid_id."""
    grids, hh, _ = demo
    ids = [str(g) for g in grids.index[:8]]
    people = pd.read_csv("data/demo/staff.csv", dtype=str).head(8).drop(columns=["lon", "lat"])
    people["grid_id"] = ids                                        # one person per grid: no place overflows
    people.to_csv(tmp_path / "花名册.csv", index=False)
    roster = sf.read_roster(tmp_path / "花名册.csv", grids)
    assert list(roster.frame.index) == list(people["staff_id"])
    assert sorted(p.feature_id for p in roster.problems if p.code == "err.staffing.no_home") == sorted(people["staff_id"])
    result = sf.assign_staff(roster, grids, hh, keep_current=True)
    placed = result.members.set_index("staff_id")["grid_id"]
    assert placed.loc[people["staff_id"]].tolist() == people["grid_id"].tolist()


def test_check_of_a_roster_whose_grid_codes_match_no_grid_reports_every_grid_unstaffed(demo) -> None:
    grids, hh, _ = demo
    people = pd.read_csv("data/demo/staff.csv", dtype=str).head(5).copy()
    people["grid_id"] = "999"                                      # codes of another city's grids
    homes = [shapely.Point(float(x), float(y)) for x, y in zip(people["lon"], people["lat"])]
    frame = gpd.GeoDataFrame(people.set_index("staff_id").drop(columns=["lon", "lat"]), geometry=homes, crs=4326)
    roster = sf.roster_from_frame(frame, grids, unknown_grid="warning")
    result = sf.check_staff(roster, grids, hh)
    assert result.summary["assigned"] == 0
    assert len(result.grids) == len(grids) and (result.grids["leaders"] == 0).all()
    assert result.grids["flags"].str.startswith("no_leader").all()


def test_bad_roster_names_every_row(tmp_path: Path) -> None:
    grids = _grids([(0, 0, 300)])
    path = tmp_path / "花名册.csv"
    path.write_text(
        "工号,姓名,岗位,专兼职,电话,经度,纬度,网格编码\n"
        "A1,张三,网格长,专职,13812341234,116.61,36.29,G1\n"
        "A2,李四,保安,专职,13900000001,116.61,36.29,\n"          # row 3: unknown role
        "A3,王五,网格员,临时,13900000002,116.61,36.29,\n"        # row 4: unknown employment
        "A3,赵六,网格员,兼职,13900000003,116.61,36.29,\n"        # row 5: duplicate id
        "A5,钱七,网格员,兼职,13812341234,116.61,36.29,\n"        # row 6: duplicate phone of row 2
        "A6,孙八,网格员,专职,13900000006,36.29,116.61,\n"        # row 7: swapped
        "A7,周九,网格员,专职,13900000007,16.0,60.0,\n"           # row 8: outside China
        "A8,吴十,网格员,专职,13900000008,116.61,36.29,G9\n"      # row 9: no such grid
        "A9,郑一,网格员,专职,13900000009,,,G1\n",                # row 10: no home: kept, warned
        encoding="utf-8-sig")
    with pytest.raises(SchemaError) as info:
        sf.read_roster(path, grids)
    text = render(info.value, "en")                   # what the CLI/page shows, in English
    assert "花名册.csv (staff) has 7 problem(s)" in text
    assert "row 3 (A2): 岗位 is not a known value, got '保安'" in text        # the user's own header
    assert "row 4 (A3): 专兼职 is not a known value, got '临时'" in text
    assert "工号 'A3' is used 2 times (rows 4, 5)" in text
    assert "row 6 (A5): Phone 138****1234 is used by 2 people: A1, A5 (rows 2, 6)" in text
    assert "row 7 (A6): longitude and latitude look swapped" in text
    assert "row 8 (A7): coordinates lie outside China" in text
    assert "row 9 (A8): Grid code G9 is not in the grids layer" in text
    zh = render(info.value, "zh")
    assert "第 3 行（A2）：“岗位”的值无法识别，读到的值为“保安”" in zh
    assert "第 6 行（A5）：电话号码 138****1234 被 2 人使用：A1, A5（第 2, 6 行）" in zh
    assert "第 9 行（A8）：网格编码 G9 不在网格图层中" in zh
    assert all("13812341234" not in s for s in (text, zh, str(info.value)))
    assert "保安" not in str(info.value).splitlines()[-1]    # no stray value glued to the last line
    # fixed, the same file loads; the person without a home is kept and flagged
    good = tmp_path / "ok.csv"
    good.write_text("工号,姓名,岗位,专兼职,电话,经度,纬度,网格编码\n"
                    "A1,张三,网格长,专职,13812341234,116.61,36.29,G1\n"
                    "A9,郑一,网格员,专职,13900000009,,,G1\n", encoding="utf-8")
    roster = sf.read_roster(good, grids)
    assert roster.frame["has_home"].tolist() == [True, False]
    assert [(p.code, p.feature_id, p.row) for p in roster.problems] == [("err.staffing.no_home", "A9", 3)]
    result = sf.assign_staff(roster, grids, pd.Series([300], index=grids.index), keep_current=False)
    assert result.pairs["A9"] == ("G1",)                          # no home: still goes to the current grid


def test_manual_edits_are_validated_against_the_rule() -> None:
    grids = _grids([(0, 0, 300), (400, 0, 300)])
    hh = pd.Series([400, 400], index=grids.index)
    people = [("leader", "full_time", (100, 100), ""), ("leader", "full_time", (500, 100), "")]
    people += [("worker", "full_time", (100 + 50 * i, 100), "") for i in range(5)]
    people += [("worker", "part_time", (300, 100), "")]
    roster = _roster(people, grids)
    rules = sf.DEFAULT_STAFFING.evolve(part_time_max_grids=2)
    result = sf.assign_staff(roster, grids, hh, rules=rules)
    assert result.grids["workers"].sum() == 6
    with pytest.raises(InputError, match="grid already has 1 leader"):
        sf.edit_staff(result, roster, grids, hh, action="move", staff_id="S01", grid_id="G2")
    forced = sf.edit_staff(result, roster, grids, hh, action="move", staff_id="S01", grid_id="G2", force=True)
    assert forced.grids["leaders"].tolist() == [0, 2]
    assert forced.grids.loc["G2", "flags"].startswith("too_many_leaders")
    assert forced.grids.loc["G1", "flags"].startswith("no_leader")
    with pytest.raises(InputError, match="already serves this grid|may serve 1 grid"):
        sf.edit_staff(result, roster, grids, hh, action="assign", staff_id="S03",
                      grid_id=result.pairs["S03"][0])
    with pytest.raises(InputError, match="no such grid"):
        sf.edit_staff(result, roster, grids, hh, action="move", staff_id="S03", grid_id="G7")
    removed = sf.edit_staff(result, roster, grids, hh, action="remove", staff_id="S01")
    assert removed.surplus.set_index("staff_id").at["S01", "reason"] == "removed"
    assert removed.grids["leaders"].tolist() == [0, 1]
    back = sf.edit_staff(removed, roster, grids, hh, action="assign", staff_id="S01", grid_id="G1")
    assert back.grids["leaders"].tolist() == [1, 1] and "S01" not in set(back.surplus["staff_id"])
    # saved with a plan and read back: the same staffing
    table = sf.staffing_to_table(back)
    assert list(table.columns) == list(sf.PLAN_TABLE_COLUMNS)
    again = sf.evaluate(roster, grids, hh, sf.staffing_from_table(table), rules=rules)
    assert again.pairs == back.pairs
    pd.testing.assert_frame_equal(again.grids, back.grids)


def test_phones_are_masked_in_every_output(tmp_path: Path) -> None:
    assert sf.mask_phone("13812341234") == "138****1234"
    assert sf.mask_phone("138-1234-1234") == "138****1234"
    assert sf.mask_phone("0531-88886666") == "053*****6666"
    assert sf.mask_phone("") == "" and sf.mask_phone(None) == ""
    grids = _grids([(0, 0, 300)])
    roster = _roster([("leader", "full_time", (100, 100), ""), ("worker", "full_time", (120, 100), "")], grids)
    hh = pd.Series([300], index=grids.index)
    result = sf.assign_staff(roster, grids, hh)
    phones = list(roster.frame["phone"])
    masked = sf.roster_table(result)
    assert masked["联系电话"].tolist() == [sf.mask_phone(p) for p in phones]
    wb = load_workbook(__import__("io").BytesIO(sf.roster_xlsx(result)))
    cells = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row)
    assert "工号" in cells and "网格编码" in cells and "138****0000" in cells
    assert not FULL_PHONE.search(cells)
    from gridgeo.tables import csv_bytes
    for data in (csv_bytes(sf.assignments_table(result)), csv_bytes(sf.grid_table(result))):
        assert not FULL_PHONE.search(data.decode("utf-8-sig"))
    shown = sf.roster_table(result, show_phones=True)
    assert shown["联系电话"].tolist() == phones                   # unmasking is an explicit choice


def test_cli_assign_and_check(demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grids, hh, buildings = demo
    grids_path = tmp_path / "grids.geojson"
    grids[["community_id", "geometry"]].to_file(grids_path)
    out = tmp_path / "out"
    code = main(["--lang", "en", "staff", "assign", "--grids", str(grids_path), "--buildings",
                 "data/demo/buildings.geojson", "--roster", "data/demo/staff.csv", "--rule", "pingyin", "--out", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "solver: optimal (gap 0)" in stdout
    assert not FULL_PHONE.search(stdout)
    a = pd.read_csv(out / "staff_assignments.csv", dtype={"grid_id": str}, encoding="utf-8-sig")
    assert list(a.columns[:7]) == ["staff_id", "name", "role", "employment", "grid_id", "distance_m", "moved"]
    assert a["staff_id"].nunique() == 371
    g = pd.read_csv(out / "grid_staffing.csv", dtype={"grid_id": str}, encoding="utf-8-sig")
    assert list(g.columns[:6]) == ["grid_id", "leaders", "workers", "households", "households_per_worker", "flags"]
    assert len(g) == len(grids) and g["workers"].max() == 2        # pingyin: exactly 2 full-time workers
    counted = a[(a["role"] == "worker") & (a["employment"] == "full_time")].dropna(subset=["grid_id"])
    assert (counted.groupby("grid_id").size().reindex(g["grid_id"], fill_value=0).to_numpy()
            == g["workers"].to_numpy()).all()
    wb = load_workbook(out / "staff_roster.xlsx")
    assert not FULL_PHONE.search(" ".join(str(c.value) for ws in wb for r in ws.iter_rows() for c in r))
    # check: the roster as assigned, written back with its grid codes
    roster = pd.read_csv("data/demo/staff.csv", dtype=str, keep_default_na=False)
    per = a.dropna(subset=["grid_id"]).groupby("staff_id")["grid_id"].agg(";".join)
    roster["grid_id"] = roster["staff_id"].map(per).fillna("")
    roster.to_csv(tmp_path / "roster.csv", index=False)
    code = main(["--lang", "en", "staff", "check", "--grids", str(grids_path), "--buildings",
                 "data/demo/buildings.geojson", "--roster", str(tmp_path / "roster.csv"), "--rule", "pingyin",
                 "--move", f"{counted['staff_id'].iloc[0]}={grids.index[-1]}", "--force"])
    stdout = capsys.readouterr().out
    assert code == 1 and "shortage:" in stdout and not FULL_PHONE.search(stdout)
    code = main(["staff", "assign", "--grids", str(grids_path), "--buildings", "data/demo/buildings.geojson",
                 "--roster", str(tmp_path / "nope.csv"), "--out", str(out)])
    assert code == 2


def test_cli_reads_a_district_folder_with_its_own_grids(demo, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    grids, hh, _ = demo
    folder = tmp_path / "district"
    folder.mkdir()
    for name in ("communities.geojson", "buildings.geojson", "staff.csv"):
        shutil.copy(Path("data/demo") / name, folder / name)
    grids[["community_id", "geometry"]].reset_index().to_file(folder / "grids.geojson")
    code = main(["--lang", "zh", "staff", "assign", "--district", str(folder), "--rule", "heze",
                 "--out", str(tmp_path / "out")])
    stdout = capsys.readouterr().out
    assert code == 0 and "网格指导员" in stdout and "求解器：最优（差距 0）" in stdout and "缺员" in stdout
    g = pd.read_csv(tmp_path / "out" / "grid_staffing.csv", dtype={"grid_id": str}, encoding="utf-8-sig")
    assert len(g) == len(grids)
    assert g["n_instructor"].sum() == 6                     # the demo's 6 instructors, one grid each
    assert (g["flags"].fillna("").str.contains("too_few_instructors")).sum() == len(grids) - 6


def test_open_cases_per_worker_counts_only_open_cases_in_each_grid() -> None:
    grids = _grids([(0, 0, 300), (400, 0, 300)])
    hh = pd.Series([400, 300], index=grids.index)
    pts = gpd.GeoSeries([shapely.Point(X0 + x, Y0 + 100) for x in (50, 100, 150, 500, 550, 2000)],
                        crs=UTM).to_crs(4326)
    closed = pd.to_datetime([None, "2026-01-02", None, None, None, None]).tz_localize("Asia/Shanghai")
    cases = gpd.GeoDataFrame({"closed_at": closed, "status": ["open", "closed", "closed", "", "", ""]},
                             geometry=pts.values, crs=4326, index=pd.Index([f"C{i}" for i in range(6)],
                                                                          name="case_id"))
    open_cases = sf.open_cases_per_grid(cases, grids)
    assert open_cases.to_dict() == {"G1": 1, "G2": 2}          # C1 closed_at, C2 status closed, C5 outside
    people = [("leader", "full_time", (100, 100), ""), ("leader", "full_time", (500, 100), "")]
    people += [("worker", "full_time", (100 + 400 * (i % 2), 120), "") for i in range(4)]
    result = sf.assign_staff(_roster(people, grids), grids, hh, open_cases=open_cases)
    assert result.grids["open_cases"].tolist() == [1, 2]
    assert result.grids["open_cases_per_worker"].tolist() == [0.5, 1.0]
    assert result.grids["households_per_worker"].tolist() == [200.0, 150.0]


def test_staffing_map_colours_grids_by_status_and_labels_them() -> None:
    from gridgeo import maps

    grids = _grids([(0, 0, 300), (400, 0, 300)])
    hh = pd.Series([400, 300], index=grids.index)
    people = [("leader", "full_time", (100, 100), "")]
    people += [("worker", "full_time", (100 + 400 * (i % 2), 120), "") for i in range(4)]
    result = sf.assign_staff(_roster(people, grids), grids, hh)
    layers = maps.staffing_layers(grids, result.grids, lang="en")
    fills = {f["properties"]["grid_id"]: f["properties"]["fill"] for f in layers.grids["features"]}
    assert result.grids["status"].tolist() == ["ok", "short"]        # one leader for two grids
    assert fills == {"G1": maps.STAFFING_COLOURS["ok"], "G2": maps.STAFFING_COLOURS["short"]}
    assert sorted(row[2] for row in layers.grid_labels) == ["<b>G1</b><br>1+2", "<b>G2</b><br>0+2"]
    html = maps.staffing_map(layers).get_root().render()
    assert "no leader" in html and "/app/static/vendor/leaflet" in html
