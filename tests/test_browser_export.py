"""The Export page in Debian's chromium, offline, in Chinese and English: the page standard, and a GeoPackage
of every result that GDAL opens with figures that agree with each other."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from gridgeo import io
from gridgeo.i18n import t
from tests.browser_support import ALLOWED_WORDS, check_page_standard, offline_page, set_language, wait_idle

pytestmark = pytest.mark.browser

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
ALLOWED = {**ALLOWED_WORDS, "PNG": "image format (the sheet preview)", "PDF": "file format of the grid sheets",
           "QGIS": "product name (the GIS the files open in)", "ArcGIS": "product name"}
RESULTS = {"grids", "assignments", "staff", "grid_staffing", "cases", "hotspots", "compliance", "coverage_grids",
           "sites"}


def _data_values() -> list[str]:
    d = io.read_district(DEMO)
    values = [d.name, *d.communities["name"], *d.communities.index]
    return [str(v) for v in values]


def _wait_for_grids(page: object, lang: str) -> None:
    source_prefix = t("export.source", lang, source="", n="").split("：")[0].split(":")[0]
    page.get_by_text(source_prefix).first.wait_for(timeout=300_000)  # type: ignore[attr-defined]
    wait_idle(page)


def test_export_page_downloads_every_result(server: str, browser: object, tmp_path: Path) -> None:
    blocked: list[str] = []
    page = offline_page(browser, blocked, height=1600)
    page.goto(f"{server}/export")  # type: ignore[attr-defined]
    page.get_by_role("heading", name=t("export.title", "zh")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
    _wait_for_grids(page, "zh")
    report = check_page_standard(page, "zh", name="export", data_values=_data_values(), maps=0, allowed=ALLOWED)
    assert report.problems == [], "\n".join(report.problems)
    page.get_by_role("button", name=t("export.prepare", "zh")).click()  # type: ignore[attr-defined]
    button = page.get_by_role("button", name=t("export.download", "zh", name="gridgeo.gpkg"))  # type: ignore[attr-defined]
    button.wait_for(timeout=900_000)
    with page.expect_download(timeout=120_000) as info:  # type: ignore[attr-defined]
        button.click()
    saved = tmp_path / "gridgeo.gpkg"
    info.value.save_as(saved)
    assert set(pyogrio.list_layers(saved)[:, 0]) == RESULTS             # the demo has staff, cases and stations
    grids = pyogrio.read_dataframe(saved, layer="grids")
    assignments = pyogrio.read_dataframe(saved, layer="assignments", read_geometry=False)
    assert len(grids) > 19
    # every household of the plan is in exactly one grid: the two layers agree, and coverage counts the same
    assert grids["households"].sum() == assignments["households"].sum()
    coverage = pyogrio.read_dataframe(saved, layer="coverage_grids", read_geometry=False)
    assert coverage["households"].sum() == grids["households"].sum()
    # every located case of the district is in the cases layer, and the hotspot counts add up to it
    cases = pyogrio.read_dataframe(saved, layer="cases", read_geometry=False)
    hotspots = pyogrio.read_dataframe(saved, layer="hotspots", read_geometry=False)
    assert len(cases) == len(io.read_district(DEMO).cases)  # type: ignore[arg-type]
    assert hotspots["cases"].sum() == (cases["grid_id"].fillna("") != "").sum()
    staff = pyogrio.read_dataframe(saved, layer="staff", read_geometry=False)
    assert staff["phone"].str.contains(r"^\d{3}\*{4}\d{4}$").all()        # masked by default
    page.wait_for_timeout(800)  # type: ignore[attr-defined]
    report = check_page_standard(page, "zh", name="export_done", data_values=_data_values(), maps=0,
                                 allowed=ALLOWED)
    assert report.problems == [], "\n".join(report.problems)
    set_language(page, "en")
    page.get_by_role("heading", name=t("export.title", "en")).wait_for(timeout=120_000)  # type: ignore[attr-defined]
    _wait_for_grids(page, "en")
    report = check_page_standard(page, "en", name="export", data_values=_data_values(), maps=0, allowed=ALLOWED)
    assert report.problems == [], "\n".join(report.problems)
    assert blocked == [], f"the page asked the internet for: {blocked}"
