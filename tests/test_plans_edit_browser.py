"""Browser: click a building on the planner's editing map, move it, see the counts change (zh and en).

Screenshots: tests/artifacts/planner_edit_zh.png and planner_edit_en.png. The
click-to-updated-map times are printed (the benchmark quotes them).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gridgeo import io, maps
from gridgeo.i18n import t
from gridgeo.partition import partition
from gridgeo.plans import EditSession, plan_from_partition
from pages._ui import DEMO_PATH
from tests.browser_support import MAP_IFRAME, offline_page

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _pick() -> tuple[str, float, float, int, str, int]:
    """A small building with a neighbouring grid, its point, households, first target and its households."""
    d = io.read_district(DEMO_PATH)
    plan = plan_from_partition(partition(d.communities, d.buildings, d.streets, seed=0))
    ses = EditSession(plan, d.communities, d.buildings, d.streets)
    b = d.buildings
    for bid in b.index:
        hh = int(b.loc[bid, "households"])
        if 30 <= hh < 100 and len(ses.grid_of(bid)) == 1 and ses.neighbours_of_building(bid):
            pt = b.geometry.loc[bid].representative_point()
            if ses.building_at(pt.x, pt.y) == bid:
                target = ses.neighbours_of_building(bid)[0]
                return str(bid), pt.x, pt.y, hh, target, int(plan.grids.loc[target, "households"])
    raise AssertionError("no building to click")


def _edit_frame(page: object) -> object:
    """The editing map's frame (the second map); retried while a rerun replaces the iframe."""
    deadline = time.monotonic() + 120
    while True:
        handle = page.locator(MAP_IFRAME).nth(1).element_handle(timeout=120_000)  # type: ignore[attr-defined]
        frame = handle.content_frame()
        if frame is not None:
            try:
                frame.wait_for_function("() => !!window.map", timeout=10_000)
                return frame
            except Exception:  # noqa: BLE001 - detached while waiting: look again
                pass
        if time.monotonic() > deadline:
            raise AssertionError("the editing map never became ready")
        page.wait_for_timeout(500)  # type: ignore[attr-defined]


def _in_edit_frame(page: object, js: str, timeout_s: float = 60) -> None:
    """Wait until ``js`` is true in the editing map, looking again when a rerun replaced the iframe."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = _edit_frame(page)
        try:
            frame.wait_for_function(js, timeout=max(1_000, int((deadline - time.monotonic()) * 1000)))  # type: ignore[attr-defined]
            return
        except Exception as exc:  # noqa: BLE001 - only a detached frame is retried
            if "detached" not in str(exc) or time.monotonic() > deadline:
                raise


def _click_building(page: object, lon: float, lat: float) -> None:
    frame = _edit_frame(page)
    frame.wait_for_function("() => window.map && Object.keys(window.map._layers).length > 20",  # type: ignore[attr-defined]
                            timeout=120_000)
    frame.evaluate(f"() => window.map.setView([{lat}, {lon}], 18, {{animate: false}})")  # type: ignore[attr-defined]
    page.wait_for_timeout(800)  # type: ignore[attr-defined]
    xy = frame.evaluate(f"() => {{ const p = window.map.latLngToContainerPoint([{lat}, {lon}]);"  # type: ignore[attr-defined]
                        f" return [p.x, p.y]; }}")
    frame.locator("div.leaflet-container").first.click(position={"x": xy[0], "y": xy[1]})  # type: ignore[attr-defined]


def _edits(page: object, lang: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=t("edit.page.edits", lang))  # type: ignore[attr-defined]
    return str(m.locator('[data-testid="stMetricValue"]').inner_text())


def test_click_a_building_move_it_and_see_the_counts_change(server: str, browser: object) -> None:
    bid, lon, lat, hh, target, target_hh = _pick()
    ARTIFACTS.mkdir(exist_ok=True)
    blocked: list[str] = []
    page = offline_page(browser, blocked, height=4200)   # tall: the editing map sits below the planner's
    try:
        page.goto(f"{server}/planner")  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.title", "zh")).wait_for(timeout=90_000)  # type: ignore[attr-defined]
        page.get_by_role("button", name=t("planner.run", "zh")).click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.map", "zh")).wait_for(timeout=600_000)  # type: ignore[attr-defined]
        page.get_by_text(t("edit.page.toggle", "zh")).click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("edit.page.title", "zh")).wait_for(timeout=60_000)  # type: ignore[attr-defined]
        box = page.get_by_label(t("edit.page.building_id", "zh"))  # type: ignore[attr-defined]
        box.wait_for(timeout=300_000)
        assert _edits(page, "zh") == "0"
        _click_building(page, lon, lat)
        start = time.perf_counter()
        page.wait_for_function(  # type: ignore[attr-defined]
            f"() => [...document.querySelectorAll('input')].some(i => i.value === '{bid}')", timeout=60_000)
        select_s = time.perf_counter() - start
        page.get_by_text(t("edit.page.selected", "zh", building=bid, households=hh, units=1, compound="", grids="")
                         .split("：")[0]).first.wait_for(timeout=30_000)
        page.get_by_role("button", name=t("edit.page.move", "zh"), exact=True).click()  # type: ignore[attr-defined]
        start = time.perf_counter()
        frame = _edit_frame(page)
        page.wait_for_function(  # type: ignore[attr-defined]
            "() => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')].length > 0", timeout=30_000)
        frame.wait_for_function(  # type: ignore[attr-defined]
            "() => document.querySelectorAll('path[stroke=\"#ff7f00\"]').length >= 2", timeout=60_000)
        move_s = time.perf_counter() - start
        assert _edits(page, "zh") == "1"
        table = page.locator('[data-testid="stTable"]').last  # type: ignore[attr-defined]
        table.wait_for(timeout=30_000)
        page.get_by_text(t("edit.page.no_problems", "zh")).or_(  # type: ignore[attr-defined]
            page.locator('[data-testid="stAlert"]')).first.wait_for(timeout=30_000)
        ses_hh = target_hh + hh
        rows = [[c.strip() for c in tr.locator("th, td").all_inner_texts()]
                for tr in table.locator("tbody tr").all()]
        row = next((r for r in rows if r and r[0] == target), None)
        assert row is not None and int(row[1].replace(",", "")) == ses_hh, rows   # the target gained it
        print(f"\nbrowser: click building -> selected {select_s:.2f} s; move -> map updated {move_s:.2f} s")
        # the moved building becomes a dedicated grid (专属网格): drawn apart, counted apart
        page.get_by_role("button", name=t("edit.page.dedicate", "zh")).click()  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            f"() => [...document.querySelectorAll('[data-testid=\"stMetric\"]')].some(m => m.innerText.includes("
            f"'{t('edit.page.dedicated', 'zh')}') && m.querySelector('[data-testid=\"stMetricValue\"]')"
            f".innerText.trim() === '1')", timeout=60_000)
        _in_edit_frame(page, "() => [...document.querySelectorAll('path')].some(p => p.getAttribute('fill') === "
                             f"'{maps.EXEMPT_COLOUR}' && p.getAttribute('stroke-dasharray'))")
        assert _edits(page, "zh") == "2"
        page.wait_for_timeout(800)  # type: ignore[attr-defined]
        page.screenshot(path=str(ARTIFACTS / "planner_edit_zh.png"), full_page=True)  # type: ignore[attr-defined]
        # English: the session (and its edit) survives the language switch
        page.locator('[data-testid="stSidebar"]').get_by_text("English").click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.title", "en")).wait_for(timeout=60_000)  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.map", "en")).wait_for(timeout=300_000)  # type: ignore[attr-defined]
        switch = page.get_by_label(t("edit.page.toggle", "en"))  # type: ignore[attr-defined]
        switch.wait_for(state="attached", timeout=120_000)
        page.wait_for_timeout(2000)  # type: ignore[attr-defined]
        if not switch.is_checked():   # the toggle's label changed with the language: Streamlit reset it
            page.get_by_text(t("edit.page.toggle", "en")).click()  # type: ignore[attr-defined]
        page.get_by_label(t("edit.page.building_id", "en")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        assert _edits(page, "en") == "2"
        _in_edit_frame(page, "() => document.querySelectorAll('path[stroke=\"#ff7f00\"]').length >= 2")
        page.wait_for_timeout(800)  # type: ignore[attr-defined]
        page.screenshot(path=str(ARTIFACTS / "planner_edit_en.png"), full_page=True)  # type: ignore[attr-defined]
    finally:
        page.screenshot(path="/tmp/gridgeo_planner_edit_last.png", full_page=True)  # type: ignore[attr-defined]
    assert blocked == [], f"the page asked the internet for: {blocked}"
