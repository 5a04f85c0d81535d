"""The GeoPackage workspace: versions round-trip, saves are atomic and conflict-safe, GDAL reads the file."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from gridgeo.errors import InputError, PlanConflictError, StoreError
from gridgeo.plans import store
from gridgeo.plans.store import Workspace
from tests.plans_support import count_rows, failing_after, small_district, small_partition, small_plan


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws.gpkg", create_from=small_district())


_count = count_rows


def test_a_saved_version_loads_back_the_same(ws: Workspace) -> None:
    r = small_partition()
    vid = ws.save(small_plan(), parent=None, author="王网格", note="first plan", name="初版")
    back = ws.load(vid)
    assert vid == "v1" and ws.latest() == "v1"
    assert list(back.grids.index) == list(r.grids.index)
    assert back.grids.geometry.geom_equals_exact(r.grids.geometry, tolerance=1e-12).all()
    assert back.grids["households"].tolist() == r.grids["households"].tolist()
    assert back.grids["polsby_popper"].round(12).tolist() == r.grids["polsby_popper"].round(12).tolist()
    # households per grid recomputed independently from the saved assignments
    per_grid = back.assignments.groupby("grid_id")["households"].sum()
    assert per_grid.reindex(back.grids.index).tolist() == r.grids["households"].tolist()
    pd.testing.assert_frame_equal(back.assignments, r.assignments.reset_index(drop=True), check_dtype=False)
    assert back.assignments["units"].dtype == "Int64"
    assert (back.name, back.author, back.note, back.parent) == ("初版", "王网格", "first plan", None)
    assert back.rules == r.rules and back.meta["seed"] == 0
    assert back.grids["valid_from"].notna().all() and back.grids["valid_to"].isna().all()
    assert str(back.grids["valid_from"].dt.tz) == "Asia/Shanghai"


def test_district_layers_are_kept_in_the_workspace(ws: Workspace) -> None:
    d = small_district()
    back = ws.district()
    assert list(back.buildings.index) == list(d.buildings.index)
    assert back.buildings["households"].sum() == d.buildings["households"].sum() == 8148
    assert back.buildings.geometry.geom_equals_exact(d.buildings.geometry, tolerance=1e-12).all()
    assert back.communities["name"].tolist() == d.communities["name"].tolist()
    assert back.name == "test district" and back.streets is not None and len(back.streets) == len(d.streets)


def test_gdal_opens_the_workspace_as_a_geopackage(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    ws.save(small_plan(), parent=v1, author="b")
    layers = dict(pyogrio.list_layers(ws.path))
    assert {"communities", "buildings", "plan_grids", "plan_grids_latest", "plan_versions"} <= set(layers)
    every = pyogrio.read_dataframe(ws.path, layer="plan_grids")
    latest = pyogrio.read_dataframe(ws.path, layer="plan_grids_latest")
    n = len(small_partition().grids)
    assert len(every) == 2 * n and len(latest) == n and set(latest["version_id"]) == {"v2"}
    assert latest.crs.to_epsg() == 4326
    assert latest.geometry.is_valid.all()


def test_a_save_interrupted_mid_write_leaves_earlier_versions_intact(ws: Workspace,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    before = ws.load(v1)
    grids_rows, assign_rows = _count(ws.path, "plan_grids"), _count(ws.path, "plan_assignments")
    monkeypatch.setattr(store, "assignment_rows", failing_after(store.assignment_rows, 50))
    with pytest.raises(OSError, match="injected"):
        ws.save(small_plan(), parent=v1, author="b")
    # nothing of v2 was written: no version row, no grid rows, no assignment rows
    assert list(ws.versions().index) == ["v1"]
    assert (_count(ws.path, "plan_grids"), _count(ws.path, "plan_assignments")) == (grids_rows, assign_rows)
    after = ws.load(v1)
    pd.testing.assert_frame_equal(after.assignments, before.assignments)
    assert after.grids.geometry.geom_equals_exact(before.grids.geometry, tolerance=0).all()
    assert len(pyogrio.read_dataframe(ws.path, layer="plan_grids_latest")) == len(before.grids)
    monkeypatch.undo()
    assert ws.save(small_plan(), parent=v1, author="b") == "v2"


def test_a_failure_while_writing_grids_also_rolls_back(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    monkeypatch.setattr(store, "grid_rows", failing_after(store.grid_rows, 3, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        ws.save(small_plan(), parent=v1, author="b")
    assert ws.latest() == "v1" and _count(ws.path, "plan_grids") == len(small_partition().grids)


def test_a_save_from_a_stale_parent_is_refused_naming_both_versions(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    other = Workspace.open(ws.path)              # a second session on the same file
    mine, theirs = ws.load(v1), other.load(v1)
    assert other.save(theirs, parent=v1, author="李") == "v2"
    with pytest.raises(PlanConflictError, match=r"version v2 was saved after v1") as info:
        ws.save(mine, parent=v1, author="王")
    assert info.value.fields["latest"] == "v2" and info.value.fields["parent"] == "v1"
    assert list(ws.versions().index) == ["v1", "v2"]
    # offered as a new branch instead
    v3 = ws.save(mine, parent=v1, author="王", branch=True)
    table = ws.versions()
    assert v3 == "v3" and table.at["v3", "parent"] == "v1" and table.at["v3", "branch"] == "branch-v3"
    assert table["head"].to_dict() == {"v1": False, "v2": True, "v3": True}
    # the branch continues from its own head
    assert ws.save(mine, parent=v3, author="王") == "v4"
    assert ws.versions().at["v4", "branch"] == "branch-v3"


def test_a_first_save_into_a_workspace_that_has_versions_is_a_conflict(ws: Workspace) -> None:
    ws.save(small_plan(), parent=None, author="a")
    with pytest.raises(PlanConflictError, match="v1"):
        ws.save(small_plan(), parent=None, author="b")


def test_a_second_writer_waits_for_the_first(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    holder = sqlite3.connect(ws.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")                 # another session is mid-save
    result: dict[str, object] = {}

    def save() -> None:
        try:
            result["id"] = ws.save(small_plan(), parent=v1, author="b")
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    thread = threading.Thread(target=save)
    thread.start()
    time.sleep(0.5)
    assert "id" not in result                         # still waiting for the lock
    holder.execute("COMMIT")
    holder.close()
    thread.join(timeout=30)
    assert result == {"id": "v2"}


def test_unknown_versions_missing_files_and_foreign_files_are_named(tmp_path: Path, ws: Workspace) -> None:
    with pytest.raises(StoreError, match="no plan version yet"):
        ws.load()
    ws.save(small_plan(), parent=None, author="a")
    with pytest.raises(StoreError, match=r"unknown plan version, got 'v9'.*use one of: v1"):
        ws.load("v9")
    with pytest.raises(StoreError, match="workspace not found"):
        Workspace.open(tmp_path / "nope.gpkg")
    foreign = tmp_path / "other.gpkg"
    foreign.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a gridgeo workspace"):
        Workspace.open(foreign)
    with pytest.raises(InputError, match="author"):
        ws.save(small_plan(), parent="v1", author=" ")


def test_restore_saves_an_old_version_again_on_top(ws: Workspace) -> None:
    v1 = ws.save(small_plan(), parent=None, author="a")
    plan = ws.load(v1)
    fewer = plan.grids.drop(plan.grids.index[0])
    v2 = ws.save(plan.evolve(grids=fewer), parent=v1, author="b", recode=False)
    v3 = ws.restore(v1, author="c")
    back = ws.load(v3)
    assert (v2, v3) == ("v2", "v3") and back.parent == "v2" and back.meta["restored_from"] == "v1"
    assert sorted(back.grids.index) == sorted(plan.grids.index)
