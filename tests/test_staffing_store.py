"""A version's staffing travels with it: tables attached to plan versions in the workspace store.

Atomic (failure injected mid-write), conflict-safe, carried by hand edits and restores, round trip of a
real assignment (assign -> save -> load -> the same people in the same grids), GDAL still opens the file.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import pytest

from gridgeo import staffing as sf
from gridgeo.cli import main
from gridgeo.errors import InputError, PlanConflictError
from gridgeo.grids import grid_households
from gridgeo.plans import store
from gridgeo.plans.store import Workspace
from tests.plans_support import DEMO, count_rows, failing_after, small_district, small_plan


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws.gpkg", create_from=small_district())


_count = count_rows


def _staffing(ws: Workspace, version: str) -> tuple[sf.StaffingResult, sf.Roster, Any, pd.DataFrame]:
    """The demo roster of the small district's communities, assigned to a stored version's grids."""
    plan = ws.load(version)
    d = small_district()
    staff = pd.read_csv(DEMO / "staff.csv", dtype={"phone": str, "grid_id": str}, encoding="utf-8-sig")
    staff = staff.iloc[:40].assign(grid_id="")            # 40 people, no current grids
    path = ws.path.parent / "staff.csv"
    staff.to_csv(path, index=False)
    roster = sf.read_roster(path, plan.grids)
    households = grid_households(plan.grids, d.buildings, plan.assignments)
    return sf.assign_staff(roster, plan.grids, households), roster, plan.grids, households


def _table(rows: int = 3) -> pd.DataFrame:
    t = pd.DataFrame({"staff_id": [f"S{i}" for i in range(rows)], "grid_id": ["G1"] * rows,
                      "distance_m": [float(i) for i in range(rows)], "moved": [i % 2 == 0 for i in range(rows)]})
    t.attrs["staffing_table_version"] = 1
    return t


def test_assign_save_load_gives_the_same_people_in_the_same_grids(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    result, roster, grids, households = _staffing(ws, v1)
    table = sf.staffing_to_table(result)
    v2 = ws.save_tables(v1, {"staffing": table}, author="王网格", note="staffing assigned")
    back = ws.table(v2, "staffing")
    assert back is not None
    pd.testing.assert_frame_equal(back, table)
    assert back.attrs["staffing_table_version"] == sf.PLAN_TABLE_VERSION
    # the same pairs, counted independently from the result's members
    placed = result.members[result.members["grid_id"] != ""]
    expected = placed.groupby("staff_id")["grid_id"].apply(lambda s: tuple(sorted(s))).to_dict()
    assert sf.staffing_from_table(back) == expected and len(expected) == len(set(placed["staff_id"]))
    again = sf.evaluate(roster, grids, households, sf.staffing_from_table(back))
    pd.testing.assert_frame_equal(again.grids, result.grids)
    # the staffing version has exactly the grids and codes of its base, which has no staffing
    a, b = ws.load(v1), ws.load(v2)
    assert b.parent == v1 and list(b.grids.index) == list(a.grids.index)
    assert b.grids.geometry.geom_equals_exact(a.grids.geometry, tolerance=0).all()
    assert (b.grids["valid_from"] == a.grids["valid_from"]).all()
    pd.testing.assert_frame_equal(b.assignments, a.assignments)
    assert ws.table(v1, "staffing") is None and ws.tables(v1) == {}
    assert b.note == "staffing assigned" and b.meta["tables_changed"] == ["staffing"] and b.meta["retired"] == {}
    versions = ws.versions()
    assert versions.at[v1, "tables"] == "" and versions.at[v2, "tables"] == f"staffing {len(table)}"
    assert ws.history(v2).index.tolist() == ws.history(v1).index.tolist()


def test_a_hand_edit_of_the_grids_carries_the_staffing_and_restore_brings_back_the_old_one(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a", tables={"staffing": _table(3)})
    plan = ws.load(v1)
    v2 = ws.save(plan.evolve(grids=plan.grids.drop(plan.grids.index[0])), parent=v1, author="b", recode=False)
    pd.testing.assert_frame_equal(ws.table(v2, "staffing"), ws.table(v1, "staffing"))   # carried
    v3 = ws.save_tables(v2, {"staffing": _table(5)}, author="c")
    v4 = ws.restore(v1, author="d")
    assert len(ws.table(v3, "staffing")) == 5 and len(ws.table(v4, "staffing")) == 3
    v5 = ws.save(ws.load(v4), parent=v4, author="e", tables={"staffing": None})            # dropped on purpose
    assert ws.tables(v5) == {} and ws.versions().at[v5, "tables"] == ""
    assert ws.table(None, "staffing") is None                                              # latest = v5
    # the note names what changed when none is given
    assert ws.load(v3).note == "staffing changed (grids as v2)"


@pytest.mark.parametrize("via", ["save", "save_tables"])
def test_a_save_interrupted_while_writing_the_staffing_leaves_nothing(ws: Workspace, via: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a", tables={"staffing": _table(80)})
    counts = {t: _count(ws.path, t) for t in ("plan_versions", "plan_grids", "plan_assignments", "plan_tables",
                                               "plan_staffing")}
    monkeypatch.setattr(store, "table_rows", failing_after(store.table_rows, 40))
    with pytest.raises(OSError, match="injected"):
        if via == "save":
            ws.save(small_plan(), parent=v1, author="b", tables={"staffing": _table(100)})
        else:
            ws.save_tables(v1, {"staffing": _table(100)}, author="b")
    assert {t: _count(ws.path, t) for t in counts} == counts          # no version, grid, table or staffing row
    assert list(ws.versions().index) == [v1]
    pd.testing.assert_frame_equal(ws.table(v1, "staffing"), _table(80))
    monkeypatch.undo()
    assert ws.save_tables(v1, {"staffing": _table(100)}, author="b") == "v2"
    assert _count(ws.path, "plan_staffing") == 180


def test_a_staffing_save_on_a_stale_version_is_refused_naming_both(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    other = Workspace.open(ws.path)                          # another session saves a staffing edit first
    assert other.save_tables(v1, {"staffing": _table(2)}, author="李") == "v2"
    with pytest.raises(PlanConflictError, match=r"version v2 was saved after v1") as info:
        ws.save_tables(v1, {"staffing": _table(4)}, author="王")
    assert info.value.fields["latest"] == "v2" and info.value.fields["parent"] == "v1"
    assert list(ws.versions().index) == ["v1", "v2"] and len(ws.table("v2", "staffing")) == 2
    v3 = ws.save_tables(v1, {"staffing": _table(4)}, author="王", branch=True)   # offered as a branch
    assert ws.versions().at[v3, "branch"] == "branch-v3" and len(ws.table(v3, "staffing")) == 4
    # a grid save based on v1 is refused as well: the staffing version is newer
    with pytest.raises(PlanConflictError, match="v2"):
        ws.save(small_plan(), parent=v1, author="王")


def test_bad_table_names_and_frames_are_refused_before_anything_is_written(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    for bad in ("grids", "Staffing", "1x", "a-b", ""):
        with pytest.raises(InputError, match="attached table needs a lower-case name"):
            ws.save_tables(v1, {bad: _table()}, author="b")
    with pytest.raises(InputError, match="nothing to save"):
        ws.save_tables(v1, {}, author="b")
    with pytest.raises(InputError, match="not geometries"):
        ws.save_tables(v1, {"homes": small_district().stations}, author="b")
    assert list(ws.versions().index) == [v1]


def test_gdal_still_opens_the_workspace_with_staffing(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    ws.save_tables(v1, {"staffing": _table(3)}, author="b")
    layers = dict(pyogrio.list_layers(ws.path))
    assert {"plan_grids", "plan_tables", "plan_staffing"} <= set(layers)
    rows = pyogrio.read_dataframe(ws.path, layer="plan_staffing")
    assert rows["version_id"].tolist() == ["v2"] * 3 and rows["staff_id"].tolist() == ["S0", "S1", "S2"]
    latest = pyogrio.read_dataframe(ws.path, layer="plan_grids_latest")
    assert set(latest["version_id"]) == {"v2"} and len(latest) == len(ws.load(v1).grids)


# ----------------------------------------------------------------------------- the CLI on the demo

FULL_PHONE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace of the bundled demo with its default plan (seed 0) as v1; tests copy it."""
    from gridgeo import io
    from gridgeo.partition import partition
    from gridgeo.plans.model import PlanVersion

    path = tmp_path_factory.mktemp("demo_store") / "ws.gpkg"
    d = io.read_district(DEMO)
    ws = Workspace.open(path, create_from=d)
    r = partition(d.communities, d.buildings, d.streets, seed=0, workers=1)
    ws.save(PlanVersion(r.grids, r.assignments, r.rules, meta={"seed": 0}), parent=None, author="gridgeo")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert not FULL_PHONE.search(out) and not FULL_PHONE.search(err)     # phones never printed
    return code, out, err


def test_cli_assigns_saves_edits_and_shows_the_staffing_of_demo_versions(demo_store: Path, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    store_path = tmp_path / "ws.gpkg"
    shutil.copy(demo_store, store_path)
    s = str(store_path)
    code, out, _ = _run(capsys, "--lang", "en", "staff", "show", "--store", s)
    assert code == 0 and "version v1 has no saved staffing" in out
    code, out, err = _run(capsys, "staff", "assign", "--store", s, "--roster", str(DEMO / "staff.csv"),
                          "--author", "王网格", "--keep-current")
    lines = out.strip().splitlines()
    assert code == 0 and lines[-1] == "v2" and "人员配备已保存为版本 v2（网格同 v1）" in out
    assert lines[0].startswith("网格 ") and "求解器：最优（差距 0）" in out           # zh by default
    ws = Workspace.open(store_path)
    saved = ws.table("v2", "staffing")
    assert saved is not None and ws.load("v2").author == "王网格" and ws.load("v2").parent == "v1"
    # the same assignment computed here through the library, from the same version's grids
    plan = ws.load("v1")
    hh = grid_households(plan.grids, ws.district().buildings, plan.assignments)
    mine = sf.assign_staff(sf.read_roster(DEMO / "staff.csv", plan.grids, unknown_grid="warning"), plan.grids, hh)
    pd.testing.assert_frame_equal(saved, sf.staffing_to_table(mine))
    assert f"已分配 {saved['staff_id'].nunique()} 人" in lines[0]
    # no phone number reaches the workspace file
    phones = pd.read_csv(DEMO / "staff.csv", dtype={"phone": str}, encoding="utf-8-sig")["phone"]
    blob = store_path.read_bytes()
    assert not any(p.encode() in blob for p in phones)

    # check judges the saved staffing (roster from the district the workspace was made from)
    code, out, err = _run(capsys, "--lang", "en", "staff", "check", "--store", s)
    assert "the one saved with version v2" in err and "moved 0" in out
    short = (mine.grids["status"] == "short").sum()
    assert code == (1 if short else 0) and f"staffed {len(mine.grids) - short} " in out

    # a manual move, validated against the rule, saved as a new version
    per_grid = saved[saved["role"] == "worker"].groupby("grid_id")["staff_id"].count()
    target = str(per_grid[per_grid == 2].index[0])
    source = str(per_grid[(per_grid == 3) & (per_grid.index != target)].index[0])
    person = str(saved[(saved["grid_id"] == source) & (saved["role"] == "worker")]["staff_id"].iloc[0])
    code, out, _ = _run(capsys, "--lang", "en", "staff", "move", "--store", s, "--person", person, "--to", target,
                        "--note", "closer to home")
    assert code == 0 and out.strip().splitlines()[-1] == "v3" and f"move {person} {source} -> {target}: ok" in out
    v3 = ws.table("v3", "staffing")
    assert v3 is not None and ws.load("v3").note == "closer to home"
    assert v3.loc[v3["staff_id"] == person, "grid_id"].tolist() == [target]
    others = lambda t: t[t["staff_id"] != person].set_index("staff_id")["grid_id"].sort_index()  # noqa: E731
    pd.testing.assert_series_equal(others(v3), others(saved))
    assert bool(v3.loc[v3["staff_id"] == person, "moved"].iloc[0])
    # refused by the rule: a second leader; nothing saved
    leader = str(saved[saved["role"] == "leader"]["staff_id"].iloc[0])
    full = str(saved[(saved["role"] == "leader") & (saved["staff_id"] != leader)]["grid_id"].iloc[0])
    code, _, err = _run(capsys, "--lang", "en", "staff", "move", "--store", s, "--person", leader, "--to", full)
    assert code == 2 and "already has the rule's maximum of 1 leader" in err and ws.latest() == "v3"
    # a change based on v2 after v3 was saved: refused naming both, then saved as a branch
    code, _, err = _run(capsys, "--lang", "en", "staff", "remove", "--store", s, "--version", "v2", "--person", leader)
    assert code == 2 and "based on v2, but v3 was saved since" in err and ws.latest() == "v3"
    code, out, _ = _run(capsys, "staff", "remove", "--store", s, "--version", "v2", "--person", leader, "--branch")
    v4 = ws.table("v4", "staffing")
    assert code == 0 and out.strip().endswith("v4") and v4 is not None and leader not in set(v4["staff_id"])
    assert ws.versions().at["v4", "branch"] == "branch-v4"

    # plan list / show say which versions carry staffing; restore brings a version's staffing back
    code, out, _ = _run(capsys, "plan", "list", "--store", s)
    assert f"[staffing {len(saved)}]" in out and out.splitlines()[0].startswith(" v1") and "[" not in out.splitlines()[0]
    code, out, _ = _run(capsys, "plan", "show", "--store", s, "--version", "v3")
    assert f"staffing saved with this version: {v3['staff_id'].nunique()} people" in out
    code, out, _ = _run(capsys, "plan", "restore", "--store", s, "v2")
    assert code == 0 and out.strip().endswith("v5")
    pd.testing.assert_frame_equal(ws.table("v5", "staffing"), saved)
    code, out, _ = _run(capsys, "--lang", "en", "staff", "show", "--store", s, "--version", "v3")
    assert f"staffing of version v3: {v3['staff_id'].nunique()} people" in out and f"  {target}  " in out


def test_cli_summary_lines_follow_the_language(demo_store: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    store_path = tmp_path / "ws.gpkg"
    shutil.copy(demo_store, store_path)
    texts = {}
    for lang in ("zh", "en"):
        code, out, err = _run(capsys, "--lang", lang, "staff", "assign", "--store", str(store_path), "--no-save",
                              "--out", str(tmp_path / lang))
        texts[lang] = out
        assert code == 0 and (tmp_path / lang / "staff_assignments.csv").exists()
    assert "shortage:" in texts["en"] and "solver: optimal (gap 0)" in texts["en"] and "缺员" not in texts["en"]
    assert "缺员：" in texts["zh"] and "求解器：最优" in texts["zh"] and "shortage" not in texts["zh"]
    assert Workspace.open(store_path).latest() == "v1"                       # --no-save saved nothing
    code, _, err = _run(capsys, "--lang", "en", "staff", "assign", "--roster", str(DEMO / "staff.csv"),
                        "--grids", "nope.geojson")
    assert code == 2 and "--out" in err
