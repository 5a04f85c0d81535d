"""One journey in Debian's chromium with every non-local request blocked.

Proves the maps draw offline: Leaflet comes from /app/static/vendor (make
static), the district's own streets and outlines are the base layer, and no
CDN or tile server is needed. Screenshots go to /tmp/gridgeo_*.png.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import geopandas as gpd
import pytest

from gridgeo.i18n import t
from pages._ui import DEMO_PATH

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    log = open(f"/tmp/gridgeo_streamlit_{port}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _offline_page(browser: object, blocked: list[str]) -> object:
    context = browser.new_context(viewport={"width": 1400, "height": 2400}, locale="zh-CN")  # type: ignore[attr-defined]

    def route(r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about") or parsed.hostname in LOCAL_HOSTS:
            r.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            r.abort()  # type: ignore[attr-defined]

    context.route("**/*", route)
    return context.new_page()


def test_planner_deep_link_partitions_the_demo(server: str, browser: object) -> None:
    # Runs first on a fresh server: a deep link must still get the frame (language
    # switch, wide layout), not Streamlit's pages/ auto-discovery (see pages/_ui.py).
    blocked: list[str] = []
    page = _offline_page(browser, blocked)
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
    page = _offline_page(browser, blocked)
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
