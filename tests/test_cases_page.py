"""The 事件热力 page through AppTest on a small district whose figures are counted by hand."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from streamlit.testing.v1 import AppTest

from gridgeo.i18n import t
from pages._ui import K
from tests.app_support import metric as _metric, page_test

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180


BLOCK = {(0, 0), (0, 1), (1, 0), (1, 1)}


def _district(folder: Path) -> pd.DataFrame:
    """One community of 5 x 5 grids of 400 households; 4 calls per grid, 20 more in each of a 2 x 2 block,
    and two repeat calls (same category, same spot, same day)."""
    folder.mkdir(parents=True, exist_ok=True)
    x0, y0, s, n = 116.44, 36.29, 0.002, 5
    gpd.GeoDataFrame({"community_id": ["370124001001"], "name": ["翠屏社区"]},
                     geometry=[shapely.box(x0, y0, x0 + n * s, y0 + n * s)], crs=4326).to_file(
        folder / "communities.geojson", driver="GeoJSON")
    cells = [(r, c) for r in range(n) for c in range(n)]
    gpd.GeoDataFrame({"grid_id": [f"370124001001{r}{c}" for r, c in cells],
                      "community_id": "370124001001"},
                     geometry=[shapely.box(x0 + c * s, y0 + r * s, x0 + (c + 1) * s, y0 + (r + 1) * s)
                               for r, c in cells], crs=4326).to_file(folder / "grids.geojson", driver="GeoJSON")
    gpd.GeoDataFrame({"building_id": [f"B{r}{c}" for r, c in cells], "households": [400] * len(cells),
                      "name": [f"翠屏小区{i + 1}号楼" for i in range(len(cells))]},
                     geometry=[shapely.Point(x0 + (c + .5) * s, y0 + (r + .5) * s) for r, c in cells],
                     crs=4326).to_file(folder / "buildings.geojson", driver="GeoJSON")
    rng = np.random.default_rng(3)
    rows = []
    for r, c in cells:
        for _ in range(24 if (r, c) in BLOCK else 4):
            k = len(rows)
            rows.append({"case_id": f"K{k:03d}", "category": f"类{k}",
                         "channel": "网格巡查" if k % 3 == 0 else "12345热线", "urgent": int(k % 10 == 0),
                         "created_at": f"2026-0{1 + k % 6}-{1 + k % 27:02d} 09:00", "status": "closed",
                         "lon": x0 + (c + .3 + .4 * rng.random()) * s, "lat": y0 + (r + .3 + .4 * rng.random()) * s})
    for src in (21, 22):
        rep = dict(rows[src])
        rep["case_id"] = f"K{len(rows):03d}"
        rep["created_at"] = rep["created_at"].replace("09:00", "15:00")
        rows.append(rep)
    table = pd.DataFrame(rows)
    table.to_csv(folder / "cases.csv", index=False, encoding="utf-8-sig")
    return table


def _page(district: Path | str, lang: str = "zh") -> AppTest:
    return page_test("cases", district, lang, timeout=TIMEOUT)


def test_cases_page_counts_calls_matters_and_hotspots(tmp_path: Path) -> None:
    table = _district(tmp_path / "d")
    at = _page(tmp_path / "d").run()
    assert not at.exception
    assert at.title[0].value == t("cases.title", "zh")
    assert _metric(at, t("cases.m_calls", "zh")) == f"{len(table):,}"
    assert _metric(at, t("cases.m_matters", "zh")) == f"{len(table) - 2:,}"
    patrol = (table["channel"] == "网格巡查").mean()
    assert _metric(at, t("cases.m_patrol", "zh")) == f"{patrol:.0%}"
    # the method is explained; the busy corner grid is a hotspot in the table
    assert any("Getis–Ord Gi\\*" in m.value or "Getis–Ord Gi*" in m.value for m in at.markdown)
    frames = [d.value for d in at.dataframe]
    hot = next(f for f in frames if t("cases.col.gi_z", "zh") in f.columns)
    top = hot.iloc[0][t("cases.col.grid_id", "zh")]
    assert (int(top[-2]), int(top[-1])) in BLOCK
    assert hot.iloc[0][t("cases.col.hotspot", "zh")].startswith("热点")
    # filter: urgent only -> an independent count
    at.radio(key="w_cases_urgent_zh").set_value("yes").run()
    assert not at.exception
    assert _metric(at, t("cases.m_calls", "zh")) == str(int((table["urgent"] == 1).sum()))


def test_cases_page_in_english(tmp_path: Path) -> None:
    _district(tmp_path / "d")
    at = _page(tmp_path / "d", "en").run()
    assert not at.exception
    assert at.title[0].value == "Case heatmap"
    assert _metric(at, "Calls") == "182"


def test_cases_page_without_district_is_an_error(tmp_path: Path) -> None:
    at = _page(tmp_path / "missing").run()
    assert not at.exception
    assert at.error and "missing" in at.error[0].value


def test_import_step_shows_the_report_and_an_unusable_mapping(tmp_path: Path) -> None:
    from tests.test_cases import HEADER_12345, ROWS_12345

    _district(tmp_path / "d")
    at = _page(tmp_path / "d").run()
    at.radio(key="w_cases_source_zh").set_value("import").run()
    assert not at.exception
    text = "\n".join([",".join(HEADER_12345)] + [",".join(r) for r in ROWS_12345]) + "\n"
    at.get("file_uploader")[0].set_value(("12345工单.csv", text.encode("gbk"), "text/csv")).run()
    assert not at.exception
    chosen = {s.label: s.value for s in at.selectbox}
    assert chosen[t("cases.field.created_at", "zh")] == "受理时间"
    assert chosen[t("cases.field.address", "zh")] == "诉求地址"
    at.button(key="cases_import").click().run()
    assert not at.exception
    assert _metric(at, t("cases.rows_in", "zh")) == "14"
    assert _metric(at, t("cases.rows_loaded", "zh")) == "10"
    assert _metric(at, t("cases.rows_aside", "zh")) == "4"
    assert _metric(at, t("cases.m_calls", "zh")) == "10"
    report = next(d.value for d in at.dataframe if t("cases.col_reason", "zh") in d.value.columns)
    row = report[report[t("cases.col_reason", "zh")] == t("cases.reason.duplicate_id", "zh")]
    assert row[t("cases.col_rows", "zh")].tolist() == ["5"]
    # an export without a time column: the error names what is missing, nothing is loaded
    bad = "工单编号,诉求内容\nA1,电梯坏了\n".encode("utf-8")
    at.get("file_uploader")[0].set_value(("bad.csv", bad, "text/csv")).run()
    at.button(key="cases_import").click().run()
    assert not at.exception
    assert at.error and t("err.cases.missing_field", "zh", names="受理时间") in at.error[0].value
    assert "created_at" not in at.error[0].value and "--map" not in at.error[0].value   # words, not codes or flags
    assert "工单编号, 诉求内容" in at.error[0].value          # names the user's own headers
