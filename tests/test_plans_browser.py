"""The 方案与版本 section in chromium, offline: save a version, compare two on the map (zh and en)."""

from __future__ import annotations

import pytest

from gridgeo.i18n import t
from tests.browser_support import MAP_IFRAME, offline_page

pytestmark = pytest.mark.browser


def _idle(page: object) -> None:
    """Wait until the script run is over and no stale element of the previous run is left."""
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=600_000)  # type: ignore[attr-defined]
    page.wait_for_function("document.querySelectorAll('[data-stale=\"true\"]').length === 0",  # type: ignore[attr-defined]
                           timeout=120_000)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_save_a_version_and_compare_it_on_the_map(server: str, browser: object, lang: str) -> None:
    blocked: list[str] = []
    page = offline_page(browser, blocked)
    shot = f"tests/artifacts/planner_plans_{lang}.png"
    try:
        if lang == "en":   # switch on the overview, then open the planner (its inputs start in English)
            page.goto(server)  # type: ignore[attr-defined]
            sidebar = page.locator('[data-testid="stSidebar"]')  # type: ignore[attr-defined]
            sidebar.get_by_text("English").click()
            _idle(page)
            sidebar.get_by_text(t("nav.planner", "en")).click()
        else:
            page.goto(f"{server}/planner")  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.title", lang)).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        # first run: the workspace is created with the default plan as v1
        page.get_by_role("heading", name=t("plans.section", lang)).wait_for(timeout=600_000)  # type: ignore[attr-defined]
        page.get_by_role("button", name=t("planner.run", lang), exact=True).click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("planner.map", lang)).wait_for(timeout=600_000)  # type: ignore[attr-defined]
        _idle(page)
        page.get_by_label(t("plans.author", lang)).first.fill("王网格员")  # type: ignore[attr-defined]
        page.get_by_role("button", name=t("plans.save", lang)).click()  # type: ignore[attr-defined]
        saved = page.get_by_text(t("plans.saved", lang, version="v"), exact=False)  # type: ignore[attr-defined]
        saved.first.wait_for(timeout=120_000)
        _idle(page)
        text = saved.first.inner_text()
        version = text.split()[-1].strip("v")
        assert int(version) >= 2
        page.get_by_role("tab", name=t("plans.tab_compare", lang)).click()  # type: ignore[attr-defined]
        page.get_by_text(t("plans.show_map", lang)).click()  # type: ignore[attr-defined]
        _idle(page)
        frames = page.locator(MAP_IFRAME)  # type: ignore[attr-defined]
        frames.nth(1).wait_for(timeout=120_000)
        frame = page.frame_locator(MAP_IFRAME).nth(1)  # type: ignore[attr-defined]
        frame.locator(".gridgeo-legend").wait_for(timeout=90_000)
        legend = frame.locator(".gridgeo-legend").inner_text()
        assert t("plans.legend", lang) in legend and t("plans.status.unchanged", lang) in legend
        assert frame.locator("path.leaflet-interactive").count() > 19
        page.wait_for_timeout(1500)  # type: ignore[attr-defined]
    finally:
        page.screenshot(path=shot, full_page=True)  # type: ignore[attr-defined]
    assert blocked == [], f"the page asked the internet for: {blocked}"
