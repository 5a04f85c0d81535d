"""The planner's hand-editing panel through AppTest: move a building, see the counts, undo, save."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import pages._edit_ui as edit_ui
from gridgeo import io
from gridgeo.i18n import t
from gridgeo.plans import Workspace
from pages._edit_ui import EK
from pages._ui import DEMO_PATH, K
from tests.app_support import metric as _metric

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300


def _open_editor(lang: str = "zh") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "planner.py"), default_timeout=TIMEOUT)
    at.session_state[K.DISTRICT] = DEMO_PATH
    at.session_state[K.LANG] = lang
    at.run()
    at.button(key="planner_run").click().run()
    assert not at.exception
    at.toggle(key=EK.ON).set_value(True).run()
    assert not at.exception
    return at


def test_move_on_the_page_changes_the_counts_and_saves_a_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edit_ui, "WORKSPACE", tmp_path / "ws.gpkg")
    at = _open_editor()
    ses = next(iter(at.session_state[EK.SESSIONS].values()))
    plan = ses.plan
    d = io.read_district(DEMO_PATH)
    b = d.buildings
    bid = next(x for x in b.index if len(ses.grid_of(x)) == 1 and ses.neighbours_of_building(x)
               and int(b.loc[x, "households"]) < 100)
    hh = int(b.loc[bid, "households"])
    assert _metric(at, t("edit.page.edits", "zh")) == "0"
    at.text_input(key=EK.BUILDING).set_value(bid).run()
    assert not at.exception
    target = at.selectbox(key=EK.TARGET).value
    assert target in ses.neighbours_of_building(bid)
    at.button(key="edit_move").click().run()
    assert not at.exception
    assert _metric(at, t("edit.page.edits", "zh")) == "1"
    table = next(tb.value for tb in at.table if t("edit.col.parts", "zh") in tb.value.columns)
    assert int(table.loc[target, t("edit.col.households", "zh")]) == int(plan.grids.loc[target, "households"]) + hh
    # undo brings the count back; redo re-applies
    at.button(key="edit_undo").click().run()
    assert _metric(at, t("edit.page.edits", "zh")) == "0"
    at.button(key="edit_redo").click().run()
    assert _metric(at, t("edit.page.edits", "zh")) == "1"
    # saving needs an author, then writes an engine version and the edit as its child
    at.button(key="edit_save").click().run()
    assert any(w.value == t("edit.page.need_author", "zh") for w in at.warning)
    at.text_input(key=EK.AUTHOR).set_value("张三").run()
    at.button(key="edit_save").click().run()
    assert not at.exception
    assert any("v2" in s.value for s in at.success), [s.value for s in at.success]
    ws = Workspace.open(tmp_path / "ws.gpkg")
    saved = ws.load("v2")
    assert saved.parent == "v1" and saved.author == "张三"
    assert saved.assignments.loc[saved.assignments["building_id"] == bid, "grid_id"].tolist() == [target]


def test_bad_unit_range_shows_the_error_in_english() -> None:
    at = _open_editor("en")
    ses = next(iter(at.session_state[EK.SESSIONS].values()))
    b = io.read_district(DEMO_PATH).buildings
    bid = next(x for x in b.index[(b["units"].fillna(0) >= 2).to_numpy()]
               if len(ses.grid_of(x)) == 1 and ses.neighbours_of_building(x))
    n = int(b.loc[bid, "units"])
    at.text_input(key=EK.BUILDING).set_value(bid).run()
    at.session_state[f"{EK.SCOPE}_en"] = "units"   # the radio's labels are translated; set its value directly
    at.run()
    at.text_input(key=EK.UNITS).set_value(f"{n}-{n + 3}").run()
    at.button(key="edit_move").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert f"building {bid} has units 1-{n}" in errors
    assert _metric(at, t("edit.page.edits", "en")) == "0"
