"""One journey in Debian's chromium with every non-local request blocked.

Proves the maps draw offline: Leaflet comes from /app/static/vendor (make
static), the district's own streets and outlines are the base layer, and no
CDN or tile server is needed. Screenshots go to /tmp/gridgeo_*.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest

from gridgeo.i18n import t
from pages._ui import DEMO_PATH
from tests.browser_support import MAP_IFRAME, offline_page

pytestmark = pytest.mark.browser


def test_planner_deep_link_partitions_the_demo(server: str, browser: object) -> None:
    # Runs first on a fresh server: a deep link must still get the frame (language
    # switch, wide layout), not Streamlit's pages/ auto-discovery (see pages/_ui.py).
    blocked: list[str] = []
    page = offline_page(browser, blocked)
    shot = "/tmp/gridgeo_planner.png"
    try:
        page.goto(f"{server}/planner")  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.title", "zh")).wait_for(timeout=90_000)  # type: ignore[attr-defined]
        sidebar = page.locator('[data-testid="stSidebar"]')  # type: ignore[attr-defined]
        assert sidebar.get_by_text("English").count() == 1
        assert sidebar.get_by_text("ui", exact=True).count() == 0
        page.get_by_role("button", name=t("planner.run", "zh")).click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.map", "zh")).wait_for(timeout=600_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME)  # type: ignore[attr-defined]
        frame.locator(".gridgeo-label").first.wait_for(state="attached", timeout=90_000)
        assert frame.locator("path.leaflet-interactive").count() > 19
        assert t("map.legend_status", "zh") in frame.locator(".gridgeo-legend").inner_text()
        page.wait_for_timeout(1500)  # type: ignore[attr-defined]
        page.screenshot(path=shot, full_page=True)  # type: ignore[attr-defined]
        # export: the downloaded grids are the plan whose count the page shows
        shown = page.locator('[data-testid="stMetric"]', has_text=t("planner.grids", "zh"))  # type: ignore[attr-defined]
        n_grids = int(shown.locator('[data-testid="stMetricValue"]').inner_text().replace(",", ""))
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
    finally:
        page.screenshot(path=shot, full_page=True)  # type: ignore[attr-defined]
    assert blocked == [], f"the page asked the internet for: {blocked}"


def test_home_map_draws_offline(server: str, browser: object) -> None:
    blocked: list[str] = []
    page = offline_page(browser, blocked)
    vendor_hits: list[int] = []
    page.on("response", lambda r: vendor_hits.append(r.status) if "/app/static/vendor/" in r.url else None)  # type: ignore[attr-defined]
    shot = "/tmp/gridgeo_home.png"
    try:
        page.goto(server)  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("home.title", "zh")).wait_for(timeout=90_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME)  # type: ignore[attr-defined]
        paths = frame.locator("path.leaflet-interactive")
        paths.first.wait_for(state="attached", timeout=90_000)
        communities = gpd.read_file(Path(DEMO_PATH) / "communities.geojson")
        labels = frame.locator(".gridgeo-label")
        assert labels.count() == len(communities)
        assert set(labels.all_inner_texts()) == set(communities["name"])
        assert paths.count() > len(communities)        # outlines plus buildings and streets
        assert frame.locator(".leaflet-control-layers-overlays label").count() >= 3
        page.wait_for_timeout(1500)  # type: ignore[attr-defined]
    finally:
        page.screenshot(path=shot, full_page=True)  # type: ignore[attr-defined]
    assert vendor_hits and all(status == 200 for status in vendor_hits)
    assert blocked == [], f"the page asked the internet for: {blocked}"
