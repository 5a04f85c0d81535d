"""The Coverage page in Debian's chromium, offline, in Chinese and English (screenshots in tests/artifacts/)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from gridgeo import coverage as cov
from gridgeo import io
from gridgeo.i18n import t
from pages._ui import DEMO_PATH
from tests.browser_support import MAP_IFRAME, check_page_standard, offline_page, wait_idle, wait_maps
from tests.test_browser import _data_values

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def test_coverage_page_draws_offline_in_both_languages(server: str, browser: object) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    district = io.read_district(DEMO_PATH)
    assert district.stations is not None and district.streets is not None
    network = cov.build_network(district.streets, district.buildings, district.stations)
    total = cov.coverage_of_district(cov.station_access(district.buildings, district.stations, network=network),
                                     (300,))
    share_300 = f"{total['within_300'] / total['households']:.1%}"
    n_stations = len(gpd.read_file(Path(DEMO_PATH) / "stations.geojson"))
    blocked: list[str] = []
    page = offline_page(browser, blocked)
    try:
        page.goto(f"{server}/coverage")  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("coverage.title", "zh")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("coverage.map", "zh")).wait_for(timeout=600_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME)  # type: ignore[attr-defined]
        frame.locator(".gridgeo-label.grid").first.wait_for(state="attached", timeout=120_000)
        assert frame.locator(".gg-station-icon").count() == n_stations   # markers (the legend draws 3 more)
        assert frame.locator(".gridgeo-label.grid").count() > 19
        assert frame.locator(".leaflet-control-layers-expanded").count() == 0   # the layer switch is folded
        legend = frame.locator(".gridgeo-legend").all_inner_texts()
        assert any(t("map.station.party_mass_centre", "zh") in text for text in legend)
        assert any("300 米内户数占比" in text for text in legend)
        metric = page.locator('[data-testid="stMetric"]',  # type: ignore[attr-defined]
                              has_text=t("coverage.district_share", "zh", reach=300, method="步行"))
        assert metric.locator('[data-testid="stMetricValue"]').inner_text() == share_300
        wait_idle(page)
        report = check_page_standard(page, "zh", name="coverage", data_values=_data_values())
        assert report.problems == [], "\n".join(report.problems)

        page.locator('[data-testid="stSidebar"]').get_by_text("English").click()  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("coverage.title", "en")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        page.get_by_role("heading", name="Coverage map").wait_for(timeout=600_000)  # type: ignore[attr-defined]
        frame = page.frame_locator(MAP_IFRAME).last  # type: ignore[attr-defined]  # the zh one may linger, hidden
        # the map is redrawn in English: wait for its legend rather than for the old map's labels
        frame.locator(".gridgeo-legend", has_text="Party-mass service centre").wait_for(timeout=120_000)
        assert frame.locator(".gridgeo-legend", has_text="Households within 300 m (walking distance)").count() == 1
        metric = page.locator('[data-testid="stMetric"]',  # type: ignore[attr-defined]
                              has_text="Within 300 m · walking")
        assert metric.locator('[data-testid="stMetricValue"]').inner_text() == share_300
        wait_idle(page)
        wait_maps(page, 1)
        report = check_page_standard(page, "en", name="coverage", data_values=_data_values())
        assert report.problems == [], "\n".join(report.problems)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "coverage_failed.png"), full_page=True)  # type: ignore[attr-defined]
        raise
    assert blocked == [], f"the page asked the internet for: {blocked}"
