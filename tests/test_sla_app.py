"""The 办理时效 page (pages/compliance.py) in AppTest, on a small district whose figures are counted by hand."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gridgeo.i18n import t
from pages._ui import DEMO_PATH, K

ROOT = Path(__file__).resolve().parents[1]

# grid (community index), department, channel, created, closed, satisfied; jinan rules (5 working days)
CASES = [
    (0, "城管局", "网格巡查", "2026-11-02 09:00", "2026-11-04 10:00", "1"),   # on time
    (0, "城管局", "12345热线", "2026-11-02 09:00", "2026-11-12 10:00", "0"),  # late (deadline 11-09)
    (0, "物业公司", "12345热线", "2026-11-25 09:00", "", ""),                 # red (deadline 12-02)
    (1, "物业公司", "网格巡查", "2026-11-02 09:00", "", ""),                  # red (deadline 11-09)
    (1, "物业公司", "12345热线", "2026-11-03 09:00", "2026-11-03 17:00", ""),  # on time, not asked
    (1, "城管局", "网格巡查", "2026-10-30 09:00", "2026-11-06 09:00", "1"),   # on time (deadline 11-06)
    (1, "城管局", "12345热线", "2026-12-28 09:00", "", ""),                   # open; deadline in 2027
]
# by hand: due = 4 closed + 2 red = 6, on time 3 -> 50.0%; closed 4 of 7 -> 57.1%; satisfied 2 of 3 -> 66.7%


def make_district(folder: Path, *, with_cases: bool = True) -> Path:
    """Demo communities/buildings/streets, one grid per community (an 'existing grids' file), hand cases."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("communities.geojson", "buildings.geojson", "streets.geojson"):
        shutil.copy(Path(DEMO_PATH) / name, folder / name)
    communities = gpd.read_file(folder / "communities.geojson")
    grids = gpd.GeoDataFrame({"grid_id": communities["community_id"].astype(str) + "001",
                              "community_id": communities["community_id"].astype(str),
                              "name": communities["name"]}, geometry=communities.geometry, crs=4326)
    grids.to_file(folder / "grids.geojson", driver="GeoJSON")
    layers: dict[str, object] = {"communities": "communities.geojson", "buildings": "buildings.geojson",
                                 "streets": "streets.geojson", "grids": "grids.geojson"}
    if with_cases:
        points = communities.geometry.representative_point()
        rows = [{"case_id": f"K{i}", "category": "物业管理", "channel": ch, "urgent": "0", "created_at": a,
                 "closed_at": b, "satisfied": s, "department": d, "lon": points.iloc[c].x, "lat": points.iloc[c].y}
                for i, (c, d, ch, a, b, s) in enumerate(CASES)]
        pd.DataFrame(rows).to_csv(folder / "cases.csv", index=False, encoding="utf-8-sig")
        layers["cases"] = "cases.csv"
    (folder / "district.json").write_text(json.dumps({"name": "test", "layers": layers}, ensure_ascii=False),
                                          encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_district(tmp_path_factory.mktemp("sla_district"))


def _run(folder: Path, language: str = "zh", as_of: dt.date | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "compliance.py"), default_timeout=240)
    at.session_state[K.DISTRICT] = str(folder)
    at.session_state[K.LANG] = language
    if as_of is not None:
        at.session_state["sla_as_of"] = as_of
    return at.run()


def test_page_figures_counted_by_hand(district: Path) -> None:
    at = _run(district)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("sla.metric.received")] == "7"
    assert metrics[t("sla.metric.on_time_rate")] == "50.0%"
    assert metrics[t("sla.metric.completion_rate")] == "57.1%"
    assert metrics[t("sla.metric.satisfaction_rate")] == "66.7%"
    assert metrics[t("sla.metric.red")] == "2"
    # the as-of date defaults to the last case (2026-12-28), whose deadline falls in 2027: said so
    assert any("2027" in w.value for w in at.warning)
    assert any(c.value == t("sla.weekends_note", n=1) for c in at.caption)
    assert any(c.value == t("sla.trend_weekends", months="2026-12", n=1) for c in at.caption)
    # 三率 has no meeting column here: not available, not estimated
    assert any(c.value == t("sla.three_rate_na") for c in at.caption)
    assert at.get("download_button")


def test_page_in_english_and_a_later_as_of_date(district: Path) -> None:
    at = _run(district, "en", dt.date(2026, 11, 5))
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    # as of 11-05: received 6 (not the 12-28 case); closed by then K0, K4 (on time) -> due 2, on time 2;
    # K1 (deadline 11-09) and K3 are open, K2 not yet received, K5 closes on 11-06
    assert metrics[t("sla.metric.received", "en")] == "5"
    assert metrics[t("sla.metric.on_time_rate", "en")] == "100.0%"
    assert metrics[t("sla.metric.red", "en")] == "0"
    assert not any("2027" in w.value for w in at.warning)


def test_page_without_cases_says_where_to_put_them(tmp_path: Path) -> None:
    at = _run(make_district(tmp_path / "d", with_cases=False))
    assert not at.exception
    assert [i.value for i in at.info] == [t("sla.no_cases", upload=t("sla.cases_file"), cases_page=t("nav.cases"))]
    # the uploader it names is on this page (a user's upload has no district folder to put cases.csv in)
    assert t("sla.cases_file") in at.info[0].value
    assert any(u.label == t("sla.cases_file") for u in at.get("file_uploader"))
