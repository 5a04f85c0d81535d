"""The Staffing page (网格人员) through AppTest and in a real browser (zh and en, offline)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gridgeo.i18n import t
from pages._ui import DEMO_PATH, K
from tests.app_support import metric as _metric, page_test
from tests.browser_support import (MAP_IFRAME, check_page_standard, map_drawn, map_frames, offline_page, wait_idle,
                                   wait_maps)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # the demo is partitioned and staffed on a shared 2-core machine
FULL_PHONE = re.compile(r"1[3-9]\d{9}")
ARTIFACTS = ROOT / "tests" / "artifacts"


def _page(district: Path | str, lang: str = "zh") -> AppTest:
    return page_test("staffing", district, lang, timeout=TIMEOUT)


def _all_text(at: AppTest) -> str:
    parts = [str(df.value.to_csv()) for df in at.dataframe]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    return "\n".join(parts)


def _demo_grid_count() -> int:
    """Grids of the demo's current plan (the workspace version the page uses; created on first use)."""
    from gridgeo.plans.store import Workspace
    from pages._plans_ui import workspace_path

    return len(Workspace.open(workspace_path(DEMO_PATH)).load().grids)


def _expected_shortage(staff: pd.DataFrame, n_grids: int) -> int:
    """One leader per grid; a leader with neither a home location nor a current grid is not placed automatically."""
    leaders = staff[staff["role"] == "leader"]
    placeable = int((leaders["lon"].notna() & leaders["lat"].notna() | leaders["grid_id"].notna()).sum())
    return max(0, n_grids - placeable)


def test_staffing_page_on_the_demo() -> None:
    at = _page(DEMO_PATH).run()
    assert not at.exception
    staff = pd.read_csv(Path(DEMO_PATH) / "staff.csv", dtype=str)
    n_grids = _demo_grid_count()
    grid_table = next(df.value for df in at.dataframe if t("staffing.col.households_per_worker", "zh") in df.value)
    assert len(grid_table) == n_grids
    # 116 leaders for the grids; the roster's current grids are kept, and the people counted as moved are
    # exactly those the person table shows in a grid other than their roster's
    assert (staff["role"] == "leader").sum() == 116
    assert _metric(at, t("staffing.m.shortage", "zh")) == str(_expected_shortage(staff, n_grids))
    people = next(df.value for df in at.dataframe if t("staffing.col.staff_id", "zh") in df.value)
    on_file = staff.dropna(subset=["grid_id"]).set_index("staff_id")["grid_id"]
    shown = people.drop_duplicates(t("staffing.col.staff_id", "zh")).set_index(t("staffing.col.staff_id", "zh"))
    elsewhere = [s for s, g in on_file.items() if s in shown.index and shown.at[s, t("staffing.col.grid_id", "zh")] != g]
    assert _metric(at, t("staffing.m.moved", "zh")) == str(len(elsewhere))
    assert len(elsewhere) <= 3                  # the roster is the plan's own: at most a few moves are needed
    kept = staff.dropna(subset=["grid_id"])
    assigned = int(_metric(at, t("staffing.m.assigned", "zh")).split(" / ")[0].replace(",", ""))
    assert len(kept) <= assigned <= len(staff) - (staff["role"] == "instructor").sum()
    assert any("求解：最优，最优性差距 0" in c.value and "HiGHS" in c.value for c in at.caption)   # in Chinese
    text = _all_text(at)
    assert not FULL_PHONE.search(text)                              # masked by default
    assert staff["phone"].str[:3].iloc[0] + "****" + staff["phone"].str[-4:].iloc[0] in text
    # filters: one community's grids only
    community = sorted(set(grid_table[t("staffing.col.community_id", "zh")]))[0]
    at.selectbox(key="w_staffing_community_zh").set_value(community).run()
    grid_table = next(df.value for df in at.dataframe if t("staffing.col.households_per_worker", "zh") in df.value)
    assert set(grid_table[t("staffing.col.community_id", "zh")]) == {community}
    # the explicit unmask switch shows full numbers, for this session only
    at.toggle(key="w_staffing_unmask_zh").set_value(True).run()
    assert not at.exception
    assert FULL_PHONE.search(_all_text(at))
    # a manual move beyond the rule is refused with the rule's reason
    first_leader = staff.loc[staff["role"] == "leader", "staff_id"].iloc[0]
    at.selectbox(key="staffing_edit_sid").set_value(first_leader)
    at.selectbox(key="staffing_edit_action_zh").set_value("assign")
    at.button(key="staffing_edit_apply").click().run()
    refused = [e.value for e in at.error]
    assert any("已达规则上限" in e or "最多负责" in e or "此人已在网格" in e for e in refused), refused
    # an edit that was refused is "not done", not "data could not be loaded"; the person is named
    # with their kind, not as a bare "（S0001）" aside, and the message does not repeat its value
    assert refused[-1].startswith(f"**{t('app.action_error_title', 'zh')}**\n\n人员 {first_leader}：")
    assert t("app.error_title", "zh") not in refused[-1] and f"（{first_leader}）" not in refused[-1]
    assert "读到的值为" not in refused[-1]


def test_staffing_page_names_a_bad_roster(tmp_path: Path) -> None:
    folder = tmp_path / "district"
    folder.mkdir()
    for name in ("communities.geojson", "buildings.geojson", "streets.geojson"):
        shutil.copy(Path(DEMO_PATH) / name, folder / name)
    roster = pd.read_csv(Path(DEMO_PATH) / "staff.csv", dtype=str, keep_default_na=False).head(20)
    roster.loc[5, "phone"] = roster.loc[2, "phone"]
    roster.to_csv(folder / "staff.csv", index=False)
    at = _page(folder, "en").run()
    assert not at.exception
    assert at.error and "is used by 2 people: S0003, S0006" in at.error[0].value
    assert "(staff) has 1 problem(s)" in at.error[0].value
    assert not FULL_PHONE.search(at.error[0].value)
    zh = _page(folder).run()
    assert not zh.exception
    assert zh.error and "被 2 人使用：S0003, S0006" in zh.error[0].value and not FULL_PHONE.search(zh.error[0].value)
    (folder / "staff.csv").unlink()
    at = _page(folder, "en").run()
    assert not at.exception
    assert at.info and "No staff roster" in at.info[0].value


def test_staffing_page_saves_the_staffing_with_the_store_version(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from gridgeo import staffing as sf
    from gridgeo.plans.store import Workspace
    from pages._plans_ui import workspace_path

    monkeypatch.setenv("GRIDGEO_WORKSPACE_DIR", str(tmp_path))   # a fresh workspace, made from the demo (v1)
    # zh: AppTest formats a widget's value outside the script run, where t() falls back to zh
    at = _page(DEMO_PATH).run()
    assert not at.exception
    ws = Workspace.open(workspace_path(DEMO_PATH))
    assert list(ws.versions().index) == ["v1"]
    assert any(t("staffing.store_none", "zh", version="v1") in c.value for c in at.caption)
    assert at.radio(key="w_staffing_mode_zh").options == [t("staffing.mode.assign", "zh"), t("staffing.mode.check", "zh")]
    grid_table = next(df.value for df in at.dataframe if t("staffing.col.households_per_worker", "zh") in df.value)
    leaders_shown = dict(zip(grid_table[t("staffing.col.grid_id", "zh")], grid_table[t("staffing.col.leaders", "zh")]))
    at.text_input(key="staffing_author").input("王网格")
    at.button(key="staffing_save").click().run()
    assert not at.exception and not at.error
    assert any(t("staffing.saved_as", "zh", version="v2", base="v1") in x.value for x in at.success)
    saved = ws.table("v2", "staffing")
    assert saved is not None and ws.load("v2").author == "王网格" and ws.load("v2").parent == "v1"
    # what was saved is what the page showed: leaders per grid counted from the saved rows
    counted = saved[saved["role"] == "leader"].groupby("grid_id").size()
    assert {g: int(counted.get(g, 0)) for g in leaders_shown} == {g: int(n) for g, n in leaders_shown.items()}
    assert "phone" not in saved.columns
    # the page now shows v2 with its saved staffing
    assert any(t("staffing.store_saved", "zh", version="v2", n=saved["staff_id"].nunique()) in c.value
               for c in at.caption)
    assert at.radio(key="w_staffing_mode_zh").value == "saved"
    assert _metric(at, t("staffing.m.moved", "zh")) == "0"
    # a manual move is validated and saved as a new version
    workers = saved[saved["role"] == "worker"].groupby("grid_id")["staff_id"].agg(list)
    target = str(workers[workers.map(len) == 2].index[0])
    person = str(workers[(workers.map(len) == 3) & (workers.index != target)].iloc[0][0])
    at.selectbox(key="staffing_edit_sid").set_value(person)
    at.selectbox(key="staffing_edit_action_zh").set_value("move")
    at.selectbox(key="staffing_edit_gid").set_value(target)
    at.button(key="staffing_edit_apply").click().run()
    assert not at.exception and not at.error
    v3 = ws.table("v3", "staffing")
    assert v3 is not None and v3.loc[v3["staff_id"] == person, "grid_id"].tolist() == [target]
    assert ws.load("v3").note == f"staff move {person} -> {target}" and ws.load("v3").parent == "v2"
    # someone else saves meanwhile: the page's save is refused naming both versions, then saved as a branch
    other = ws.save_tables("v3", {"staffing": v3}, author="李")
    assert other == "v4"
    at.button(key="staffing_save").click().run()
    assert not at.exception
    assert any("本方案基于 v3，但其后已有人保存了 v4" in e.value for e in at.error)
    assert ws.latest() == "v4"
    at.button(key="staffing_save_branch").click().run()
    assert not at.exception and ws.latest() == "v5" and ws.versions().at["v5", "branch"] == "branch-v5"
    assert sf.staffing_from_table(ws.table("v5", "staffing")) == sf.staffing_from_table(ws.table("v4", "staffing"))
    text = _all_text(at)
    assert not FULL_PHONE.search(text)


@pytest.mark.browser
@pytest.mark.parametrize("language", ["zh", "en"])
def test_staffing_page_in_the_browser(server: str, browser: object, language: str) -> None:
    blocked: list[str] = []
    page = offline_page(browser, blocked)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{server}/staffing")  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("staffing.title", "zh")).wait_for(timeout=300_000)  # type: ignore[attr-defined]
        if language == "en":
            page.locator('[data-testid="stSidebar"]').get_by_text("English").click()  # type: ignore[attr-defined]
            page.get_by_role("heading", name=t("staffing.title", "en")).wait_for(timeout=300_000)  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("staffing.map", language)).wait_for(timeout=600_000)  # type: ignore[attr-defined]
        wait_idle(page)
        wait_maps(page, 1)          # a language switch keeps the stale map for a while beside the new one
        frame = page.frame_locator(MAP_IFRAME)  # type: ignore[attr-defined]
        frame.locator(".gridgeo-label.grid").first.wait_for(state="attached", timeout=120_000)
        labels = frame.locator(".gridgeo-label.grid").all_text_contents()   # hidden ones too (declutter)
        n_grids = _demo_grid_count()
        assert len(labels) == n_grids and all(re.fullmatch(r"\d{3}\d\+\d", x) for x in labels)   # serial, then crew
        # the grid polygons are drawn on a canvas (maps use prefer_canvas): it must carry ink
        drawn = [map_drawn(f) for f in map_frames(page)]
        assert drawn and all(d["canvases"] >= 1 and d["inked"] > 0 for d in drawn), drawn
        legends = " ".join(frame.locator(".gridgeo-legend").all_inner_texts())
        assert t("staffing.legend", language) in legends and t("map.stations", language) in legends
        shortage = page.locator('[data-testid="stMetric"]', has_text=t("staffing.m.shortage", language))  # type: ignore[attr-defined]
        staff = pd.read_csv(Path(DEMO_PATH) / "staff.csv", dtype=str)
        assert shortage.locator('[data-testid="stMetricValue"]').inner_text() == str(_expected_shortage(staff, n_grids))
        body = page.locator("body").inner_text()  # type: ignore[attr-defined]
        assert not FULL_PHONE.search(body)
        assert frame.locator(".leaflet-control-layers-expanded").count() == 0   # the layer switch is folded
        wait_idle(page)
        wait_maps(page, 1)
        from tests.test_browser import _data_values
        staff_values = [*staff["staff_id"], *staff["name"].fillna(""), *_data_values()]
        report = check_page_standard(page, language, name="staffing", data_values=staff_values)
        assert report.problems == [], "\n".join(report.problems)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"staffing_{language}_failed.png"), full_page=True)  # type: ignore[attr-defined]
        raise
    assert blocked == [], f"the page asked the internet for: {blocked}"


def test_a_short_roster_lists_ten_empty_places_and_keeps_the_rest_one_click_away(tmp_path: Path) -> None:
    """Two people for the demo's grids: hundreds of empty places, not hundreds of warning lines."""
    roster = tmp_path / "花名册.csv"
    roster.write_text("工号,姓名,岗位,专兼职,电话,经度,纬度,网格编码\n"
                      "S1,张三,网格长,专职,13800000001,116.4410,36.2920,\n"
                      "S2,李四,网格员,专职,13800000002,116.4470,36.2920,\n", encoding="utf-8-sig")
    at = _page(DEMO_PATH)
    at.session_state[K.ROSTER_FILE] = {"path": str(roster), "name": "花名册.csv", "district": str(DEMO_PATH)}
    at.run()
    assert not at.exception
    n_grids = _demo_grid_count()
    # default rule: 1 leader and at least 2 workers per grid; 1 leader and 1 worker on the roster
    empty = (n_grids - 1) + (2 * n_grids - 1)
    box = next(w.value for w in at.warning if w.value.startswith(t("staffing.shortage_where", "zh")))
    assert len([line for line in box.splitlines() if line.startswith("- ")]) == 10
    lists = [e for e in at.expander if e.label.startswith(t("staffing.shortage_all", "zh", n=0).split("（")[0])]
    assert len(lists) == 1
    rows = [line for m in lists[0].markdown for line in m.value.splitlines() if line.startswith("- ")]
    assert lists[0].label == t("staffing.shortage_all", "zh", n=len(rows))
    assert t("staffing.shortage_more", "zh", n=len(rows) - 10) in box
    assert sum(int(line.split("−")[1].split("（")[0]) for line in rows) == empty
