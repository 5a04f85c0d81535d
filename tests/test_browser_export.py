"""The Export page in Debian's chromium, offline, in Chinese and English: a GeoPackage download that GDAL opens."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from gridgeo.i18n import t
from tests.browser_support import check_page_standard, offline_page, wait_idle
from tests.test_browser import _data_values

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_export_page_downloads_a_geopackage(server: str, browser: object, lang: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    blocked: list[str] = []
    page = offline_page(browser, blocked)
    try:
        page.goto(f"{server}/export")  # type: ignore[attr-defined]
        page.get_by_role("heading", name=t("export.title", "zh")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        if lang == "en":
            page.locator('[data-testid="stSidebar"]').get_by_text("English").click()  # type: ignore[attr-defined]
            page.get_by_role("heading", name=t("export.title", "en")).wait_for(timeout=60_000)  # type: ignore[attr-defined]
        # the grids in use (the workspace's latest version on the demo): wait for the line naming their source
        source_prefix = t("export.source", lang, source="", n="").split("：")[0].split(":")[0]
        page.get_by_text(source_prefix).first.wait_for(timeout=300_000)  # type: ignore[attr-defined]
        page.get_by_role("button", name=t("export.prepare", lang)).click()  # type: ignore[attr-defined]
        button = page.get_by_role("button", name=t("export.download", lang, name="gridgeo.gpkg"))  # type: ignore[attr-defined]
        button.wait_for(timeout=120_000)
        with page.expect_download(timeout=60_000) as info:  # type: ignore[attr-defined]
            button.click()
        saved = tmp_path / "gridgeo.gpkg"
        info.value.save_as(saved)
        layers = sorted(pyogrio.list_layers(saved)[:, 0])
        assert layers == ["assignments", "grids"]
        grids = pyogrio.read_dataframe(saved, layer="grids")
        assignments = pyogrio.read_dataframe(saved, layer="assignments")
        assert len(grids) > 19
        # every household of the plan is in exactly one grid: the two layers agree
        assert grids["households"].sum() == assignments["households"].sum()
        wait_idle(page)
        report = check_page_standard(page, lang, name="export", data_values=[*_data_values(), "gridgeo.gpkg"],
                                     maps=0)
        assert report.problems == [], "\n".join(report.problems)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"export_{lang}_failed.png"), full_page=True)  # type: ignore[attr-defined]
        raise
    assert blocked == [], f"the page asked the internet for: {blocked}"
