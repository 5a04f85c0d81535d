"""Each page in Debian's chromium with every non-local request blocked, in Chinese and English at 1400 px.

Proves the maps draw offline (Leaflet from /app/static/vendor, no CDN, no tiles) and
applies the page standard of issue 15 (``tests.browser_support.check_page_standard``):
no English words on the Chinese page outside data values and the documented
allow-list, no control or label overlapping a map label, the map drawn. Screenshots
go to tests/artifacts/<page>_<lang>.png (git-ignored): look at them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridgeo import io
from gridgeo.i18n import t
from pages._ui import DEMO_PATH
from tests.browser_support import (MAP_IFRAME, check_page_standard, english_words_outside_allowlist,
                                   offline_page, set_language, wait_idle)

pytestmark = pytest.mark.browser


def _data_values() -> list[str]:
    """What the demo's own files put on the pages: names, codes, the district's name."""
    d = io.read_district(DEMO_PATH)
    values = [d.name, *d.communities["name"], *d.communities.index, *d.communities["street"]]
    if d.stations is not None:
        values += list(d.stations["name"])
    return [str(v) for v in values]


def test_planner_deep_link_partitions_the_demo(server: str, browser: object) -> None:
    # Runs first on a fresh server: a deep link must still get the frame (language
    # switch, wide layout), not Streamlit's pages/ auto-discovery (see pages/_ui.py).
    blocked: list[str] = []
    page = offline_page(browser, blocked, height=1600)
    try:
        page.goto(f"{server}/planner")  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.title", "zh")).wait_for(timeout=300_000)  # type: ignore[attr-defined]
        sidebar = page.locator('[data-testid="stSidebar"]')  # type: ignore[attr-defined]
        # the sidebar may draw after the page's heading: wait for the switch, then count
        sidebar.get_by_text("English").first.wait_for(timeout=60_000)
        assert sidebar.get_by_text("English").count() == 1
        assert sidebar.get_by_text("ui", exact=True).count() == 0
        page.get_by_role("button", name=t("planner.run", "zh")).click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.map", "zh")).wait_for(timeout=600_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME)  # type: ignore[attr-defined]
        frame.locator(".gridgeo-label").first.wait_for(state="attached", timeout=300_000)
        assert frame.locator(".leaflet-overlay-pane canvas").count() >= 1        # vector layers on a canvas
        assert frame.locator(".gridgeo-legend", has_text=t("map.legend_status", "zh")).count() == 1
        # every grid gets a label; community names are labelled too
        shown = page.locator('[data-testid="stMetric"]', has_text=t("planner.grids", "zh"))  # type: ignore[attr-defined]
        # the planner's own figure comes first (the versions section below repeats the label)
        n_grids = int(shown.first.locator('[data-testid="stMetricValue"]').inner_text().replace(",", ""))
        assert frame.locator(".gridgeo-label.grid").count() == n_grids
        wait_idle(page)
        report = check_page_standard(page, "zh", name="planner", data_values=_data_values())
        assert report.problems == [], "\n".join(report.problems)
        assert report.labels_visible[0] >= 19                   # names and grid labels readable at the first view
        # export: the downloaded grids are the plan whose count the page shows
        with page.expect_download(timeout=60_000) as info:  # type: ignore[attr-defined]
            page.get_by_role("button", name=t("planner.download_grids", "zh")).click()  # type: ignore[attr-defined]
        data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
        assert info.value.suggested_filename == "grids.geojson"
        assert len(data["features"]) == n_grids > 19
        point = data["features"][0]["geometry"]["coordinates"]
        while isinstance(point[0], list):                   # Polygon or MultiPolygon: first vertex
            point = point[0]
        lon, lat = point
        assert 73 < lon < 136 and 3 < lat < 54
        # the same plan in English
        set_language(page, "en")
        page.get_by_role("heading", name=t("planner.map", "en")).wait_for(timeout=300_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME).last  # type: ignore[attr-defined]
        frame.locator(".gridgeo-legend", has_text=t("map.legend_status", "en")).wait_for(timeout=300_000)
        report = check_page_standard(page, "en", name="planner", data_values=_data_values())
        assert report.problems == [], "\n".join(report.problems)
    finally:
        page.screenshot(path="tests/artifacts/planner_last.png", full_page=True)  # type: ignore[attr-defined]
    assert blocked == [], f"the page asked the internet for: {blocked}"


def test_home_meets_the_page_standard_offline(server: str, browser: object) -> None:
    blocked: list[str] = []
    page = offline_page(browser, blocked, height=1600)
    vendor_hits: list[int] = []
    page.on("response", lambda r: vendor_hits.append(r.status) if "/app/static/vendor/" in r.url else None)  # type: ignore[attr-defined]
    try:
        page.goto(server)  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("home.title", "zh")).wait_for(timeout=300_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME)  # type: ignore[attr-defined]
        frame.locator(".gridgeo-label").first.wait_for(state="attached", timeout=300_000)
        d = io.read_district(DEMO_PATH)
        labels = frame.locator(".gridgeo-label")
        # one label per community part (the demo has a two-piece community)
        parts = sum(len(getattr(g, "geoms", [g])) for g in d.communities.geometry)
        assert labels.count() == parts
        assert set(labels.all_text_contents()) == set(d.communities["name"])
        assert frame.locator(".leaflet-control-layers-overlays label").count() >= 3
        assert frame.locator(".leaflet-control-layers-expanded").count() == 0     # the layer switch is collapsed
        scale = frame.locator(".leaflet-control-scale").inner_text()
        assert ("m" in scale or "km" in scale) and "ft" not in scale and "mi" not in scale
        wait_idle(page)
        report = check_page_standard(page, "zh", name="home", data_values=_data_values())
        assert report.problems == [], "\n".join(report.problems)
        set_language(page, "en")
        page.get_by_role("heading", name=t("home.title", "en")).wait_for(timeout=300_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME).last  # type: ignore[attr-defined]
        frame.locator(".gridgeo-legend", has_text=t("map.legend_households", "en")).wait_for(timeout=300_000)
        report = check_page_standard(page, "en", name="home", data_values=_data_values())
        assert report.problems == [], "\n".join(report.problems)
    finally:
        page.screenshot(path="tests/artifacts/home_last.png", full_page=True)  # type: ignore[attr-defined]
    assert vendor_hits and all(status == 200 for status in vendor_hits)
    assert blocked == [], f"the page asked the internet for: {blocked}"


def test_english_word_check_uses_data_values_and_the_allow_list() -> None:
    text = "当前辖区：平阴县 · Leaflet | © OpenStreetMap · 下载网格（grids.geojson）· Upload · 翠屏 Tower A"
    assert english_words_outside_allowlist(text) == ["Tower", "Upload"]     # single letters are not words
    assert english_words_outside_allowlist(text, data_values=["翠屏 Tower A"]) == ["Upload"]
