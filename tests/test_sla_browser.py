"""The 办理时效 page in Debian's chromium, zh and en, every non-local request blocked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridgeo.i18n import t
from tests import browser_support
from tests.browser_support import MAP_IFRAME, check_page_standard, offline_page, wait_idle, wait_maps
from tests.test_browser import _data_values
from tests.test_sla_app import make_district

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def sla_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the hand-counted district (GRIDGEO_DEMO points the app at it)."""
    folder = make_district(tmp_path_factory.mktemp("sla_browser"))
    before = os.environ.get("GRIDGEO_DEMO")
    os.environ["GRIDGEO_DEMO"] = str(folder)
    try:
        yield from browser_support.server_fixture()
    finally:
        if before is None:
            os.environ.pop("GRIDGEO_DEMO", None)
        else:
            os.environ["GRIDGEO_DEMO"] = before


def _sla_values() -> list[str]:
    """The hand-made district's own values: its name ("test"), the case ids (K0 …), the demo's names."""
    return ["test", *(f"K{i}" for i in range(20)), *_data_values()]


def test_compliance_page_zh_and_en(sla_server: str, browser: object) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    blocked: list[str] = []
    page = offline_page(browser, blocked)
    try:
        page.goto(f"{sla_server}/compliance")  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("sla.title", "zh")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME)  # type: ignore[attr-defined]
        frame.locator("path.leaflet-interactive").first.wait_for(state="attached", timeout=90_000)
        assert frame.locator("path.leaflet-interactive").count() >= 19      # one grid per community
        assert t("sla.map.legend", "zh") in frame.locator(".gridgeo-legend").inner_text()
        metric = page.locator('[data-testid="stMetric"]', has_text=t("sla.metric.on_time_rate", "zh"))  # type: ignore[attr-defined]
        assert metric.locator('[data-testid="stMetricValue"]').inner_text() == "50.0%"
        assert page.get_by_text("2027", exact=False).count() >= 1  # type: ignore[attr-defined]
        assert frame.locator(".leaflet-control-layers-expanded").count() == 0   # the layer switch is folded
        wait_idle(page)
        report = check_page_standard(page, "zh", name="compliance", data_values=_sla_values())
        assert report.problems == [], "\n".join(report.problems)

        page.locator('[data-testid="stSidebar"]').get_by_text("English").click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("sla.title", "en")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("sla.rank_title", "en")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        iframes = page.locator(MAP_IFRAME)  # type: ignore[attr-defined]
        for _ in range(60):                  # the zh map's iframe lingers until the rerun replaces it
            if iframes.count() == 1:
                break
            page.wait_for_timeout(500)  # type: ignore[attr-defined]
        frame = iframes.last.content_frame
        frame.locator("path.leaflet-interactive").first.wait_for(state="attached", timeout=90_000)
        metric = page.locator('[data-testid="stMetric"]', has_text=t("sla.metric.on_time_rate", "en"))  # type: ignore[attr-defined]
        assert metric.locator('[data-testid="stMetricValue"]').inner_text() == "50.0%"
        assert t("sla.map.legend", "en") in frame.locator(".gridgeo-legend").inner_text()
        wait_idle(page)
        wait_maps(page, 1)
        report = check_page_standard(page, "en", name="compliance", data_values=_sla_values())
        assert report.problems == [], "\n".join(report.problems)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "compliance_failed.png"), full_page=True)  # type: ignore[attr-defined]
        raise
    finally:
        page.close()  # type: ignore[attr-defined]
    assert blocked == [], f"the page asked the internet for: {blocked}"
