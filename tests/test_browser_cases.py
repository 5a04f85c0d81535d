"""事件热力 in Debian's chromium, offline, zh and en at 1400 px: the heat layer draws, the figures are
the demo's own, and the page's whole payload (every websocket frame the browser receives) stays under 5 MB."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gridgeo.i18n import t
from pages._ui import DEMO_PATH
from tests.browser_support import MAP_IFRAME, check_page_standard, offline_page, wait_idle, wait_maps
from tests.test_browser import _data_values

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MAX_PAYLOAD = 5_000_000


def _demo_calls() -> int:
    return sum(len(pd.read_csv(Path(DEMO_PATH) / name, dtype=str))
               for name in ("cases.csv", "cases_12345_gcj02.csv"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cases_page_draws_heat_offline_under_5_mb(server: str, browser: object, lang: str) -> None:
    blocked: list[str] = []
    page = offline_page(browser, blocked, width=1400, height=2600)
    received = [0]

    def on_ws(ws: object) -> None:
        ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))  # type: ignore[attr-defined]

    page.on("websocket", on_ws)  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{server}/cases")  # type: ignore[attr-defined]
        if lang == "en":
            page.locator('[data-testid="stSidebar"]').get_by_text("English").click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("cases.heatmap", lang)).wait_for(timeout=900_000)  # type: ignore[attr-defined]
        wait_idle(page)
        wait_maps(page, 3)          # a language switch keeps the stale maps for a while beside the new ones
        heat = page.frame_locator(MAP_IFRAME).first  # type: ignore[attr-defined]
        heat.locator("canvas.leaflet-heatmap-layer").wait_for(state="attached", timeout=120_000)
        rate = page.frame_locator(f"{MAP_IFRAME} >> nth=1")  # type: ignore[attr-defined]
        rate.locator("path.leaflet-interactive").first.wait_for(state="attached", timeout=120_000)
        assert rate.locator("path.leaflet-interactive").count() > 20          # one per grid at least
        assert t("cases.choropleth", lang) in rate.locator(".gridgeo-legend").inner_text()
        label = page.get_by_text(t("cases.m_calls", lang), exact=True)  # type: ignore[attr-defined]
        calls = page.locator('[data-testid="stMetric"]').filter(has=label)  # type: ignore[attr-defined]
        shown = int(calls.locator('[data-testid="stMetricValue"]').inner_text().replace(",", ""))
        assert shown == _demo_calls()
        hot = page.frame_locator(f"{MAP_IFRAME} >> nth=2")  # type: ignore[attr-defined]
        hot.locator("path.leaflet-interactive").first.wait_for(state="attached", timeout=120_000)
        # theme maps finished like the planner map: the layer switch folded, grid labels drawn
        assert rate.locator(".leaflet-control-layers-expanded").count() == 0
        assert rate.locator(".gridgeo-label.grid").count() > 20
        wait_idle(page)
        wait_maps(page, 3)
        report = check_page_standard(page, lang, name="cases", data_values=_data_values(), maps=3)
        assert report.problems == [], "\n".join(report.problems)
        assert all(v > 0 for v in report.labels_visible), report.labels_visible
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"cases_{lang}_failed.png"), full_page=True)  # type: ignore[attr-defined]
        raise
    assert 0 < received[0] < MAX_PAYLOAD, f"page payload {received[0] / 1e6:.2f} MB"
    assert blocked == [], f"the page asked the internet for: {blocked}"
