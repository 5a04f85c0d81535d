"""The planner's 方案与版本 section through AppTest: first run creates the store, save, conflict, compare."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gridgeo.i18n import t
from gridgeo.plans.store import Workspace
from pages._plans_ui import PK, workspace_path
from pages._ui import K
from tests.plans_support import small_district, small_plan

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 240


@pytest.fixture()
def district_dir(tmp_path: Path) -> Path:
    d = small_district()
    folder = tmp_path / "district"
    folder.mkdir()
    d.communities.reset_index().to_file(folder / "communities.geojson", driver="GeoJSON")
    d.buildings.reset_index().to_file(folder / "buildings.geojson", driver="GeoJSON")
    assert d.streets is not None
    d.streets.to_file(folder / "streets.geojson", driver="GeoJSON")
    return folder


def _planner(district: Path, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "planner.py"), default_timeout=TIMEOUT)
    at.session_state[K.DISTRICT] = str(district)
    at.session_state[K.LANG] = lang
    return at


def _texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def test_first_run_creates_the_store_and_a_save_a_conflict_and_a_branch(district_dir: Path) -> None:
    path = workspace_path(str(district_dir))
    assert not path.exists()
    at = _planner(district_dir).run()
    assert not at.exception
    ws = Workspace.open(path)                             # created with the default plan as v1
    assert list(ws.versions().index) == ["v1"]
    v1 = ws.load("v1")
    assert int(v1.grids["households"].sum()) == 8148
    grids_metric = [m.value for m in at.metric if m.label == t("plans.metric.n_grids", "zh")]
    assert grids_metric == [f"{len(v1.grids):,}"]         # the versions tab shows v1's figures

    at.button(key="planner_run").click().run()
    assert not at.exception
    at.text_input(key=PK.AUTHOR).input("王网格员")
    at.text_area(key="plans_note").input("首次保存")
    at.button(key="FormSubmitter:plans_save_form-" + t("plans.save", "zh")).click().run()
    assert not at.exception
    assert t("plans.saved", "zh", version="v2") in _texts(at, "success")
    assert ws.versions().at["v2", "author"] == "王网格员" and ws.versions().at["v2", "parent"] == "v1"

    # someone else saves meanwhile (the CLI, another session): this session's next save is refused
    other = ws.save(small_plan(seed=0), parent="v2", author="李")
    at.button(key="FormSubmitter:plans_save_form-" + t("plans.save", "zh")).click().run()
    assert not at.exception
    errors = _texts(at, "error")
    assert "v2" in errors and other in errors and "保存冲突" in errors
    assert list(ws.versions().index) == ["v1", "v2", "v3"]
    at.button(key="plans_branch").click().run()
    assert not at.exception
    assert t("plans.saved", "zh", version="v4") in _texts(at, "success")
    table = ws.versions()
    assert table.at["v4", "parent"] == "v2" and table.at["v4", "branch"] == "branch-v4"


def test_compare_tab_summarises_the_two_latest_versions(district_dir: Path) -> None:
    path = workspace_path(str(district_dir))
    at = _planner(district_dir, lang="en").run()
    assert not at.exception
    ws = Workspace.open(path)
    plan = ws.load("v1")
    rows = plan.assignments.copy()
    whole = rows[rows["unit_range"] == ""]
    bid, src = whole["building_id"].iloc[0], whole["grid_id"].iloc[0]
    dst = next(g for g in plan.grids.index if g != src and plan.grids.at[g, "community_id"]
               == plan.grids.at[src, "community_id"])
    rows.loc[rows["building_id"] == bid, "grid_id"] = dst
    ws.save(plan.evolve(assignments=rows), parent="v1", author="test", recode=False)
    at.run()
    assert not at.exception
    assert at.selectbox(key=PK.A).value == "v1" and at.selectbox(key=PK.B).value == "v2"
    hh = int(whole["households"].iloc[0])
    summary = t("plans.diff_summary", "en", added=0, retired=0, changed=2, unchanged=len(plan.grids) - 2,
                buildings_moved=1, households_moved=hh)
    assert summary in _texts(at, "markdown")
    moved = at.dataframe[-1].value
    assert moved.values.tolist() == [[bid, src, dst, hh]]


def test_a_version_with_a_dedicated_grid_counts_it_apart_and_maps_it(district_dir: Path) -> None:
    path = workspace_path(str(district_dir))
    at = _planner(district_dir).run()
    assert not at.exception
    ws = Workspace.open(path)
    plan = ws.load("v1")
    grids = plan.grids.copy()
    ded = grids.index[0]
    grids["kind"] = ["dedicated" if g == ded else "basic" for g in grids.index]
    ws.save(plan.evolve(grids=grids), parent="v1", author="test", recode=False)
    at.run()
    at.selectbox(key=PK.VIEW).select("v2").run()
    assert not at.exception
    dedicated = [m.value for m in at.metric if m.label == t("plans.metric.n_dedicated", "zh")]
    assert dedicated == ["1"]
    table = at.dataframe[1].value                          # versions table, then the per-grid table
    row = table[table[t("plans.col.grid_id", "zh")] == ded].iloc[0]
    assert row[t("plans.col.kind", "zh")] == "专属网格" and row[t("plans.col.status", "zh")] == "不限（专属）"
    at.toggle(key="plans_show_version_map").set_value(True).run()
    assert not at.exception
