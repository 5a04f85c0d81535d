"""What a user sees of missing values, yes/no cells and coded cells: in the page tables and in the downloads."""

from __future__ import annotations

import ast
import io as stdio
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from gridgeo import staffing as sf
from gridgeo.errors import InputError
from gridgeo.i18n import t
from gridgeo.tables import blank_missing, column_label, csv_bytes, xlsx_bytes
from pages._ui import DEMO_PATH, MISSING_CELL
from tests.app_support import page_test
from tests.test_staffing import _grids, _roster

ROOT = Path(__file__).resolve().parents[1]
SPELLED = ("None", "nan", "NaN", "NaT", "<NA>")


def _staffed() -> sf.StaffingResult:
    """Two grids; S02 (a leader kept in G2) and S03 (nowhere to go) have no home location."""
    grids = _grids([(0, 0, 300), (400, 0, 300)])
    roster = _roster([("leader", "full_time", (100, 100), ""), ("leader", "full_time", None, "G2"),
                      ("worker", "full_time", None, ""), ("worker", "full_time", (820, 100), "")], grids)
    return sf.assign_staff(roster, grids, pd.Series([300, 350], index=grids.index))


def _cells(data: bytes) -> list[list[str]]:
    return [line.split(",") for line in data.decode("utf-8-sig").splitlines()]


def test_blank_missing_turns_spelled_missing_values_into_empty_cells_and_keeps_the_rest() -> None:
    df = pd.DataFrame({"id": ["A", "B", "C", "D"], "note": ["None", "nan", "正常", None],
                       "when": [str(x) for x in pd.to_datetime(["2024-03-01", None, "2024-03-02", None])],
                       "n": [1.5, np.nan, 2.0, 3.0]})
    out = blank_missing(df)
    assert out["note"].isna().tolist() == [True, True, False, True] and out.at[2, "note"] == "正常"
    assert df["when"].tolist()[1] == "NaT"                                      # what str() makes of NaT
    assert out["when"].isna().tolist() == [False, True, False, True] and out.at[2, "when"] == df.at[2, "when"]
    assert out["n"].isna().tolist() == [False, True, False, False] and out["n"].dtype == float
    assert df["note"].tolist()[:3] == ["None", "nan", "正常"]                   # the caller's frame is untouched
    clean = pd.DataFrame({"id": ["A"], "n": [1]})
    assert blank_missing(clean) is clean


def test_staffing_downloads_leave_an_unknown_distance_empty_and_say_yes_no_and_roles_in_words() -> None:
    result = _staffed()
    roster = sf.roster_table(result)
    distance = roster.set_index(t("staffing.col.staff_id", "zh"))[t("staffing.col.distance_m", "zh")]
    assert distance.isna().to_dict() == {"S01": False, "S02": True, "S03": True, "S04": False}
    wb = load_workbook(stdio.BytesIO(sf.roster_xlsx(result)))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    col = rows[0].index(t("staffing.col.distance_m", "zh"))
    assert {r[0]: r[col] for r in rows[1:]} == {"S01": 0, "S02": None, "S03": None, "S04": 120}
    text = " ".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None)
    assert not any(w in text.split() for w in SPELLED) and "worker" not in text
    for data in (csv_bytes(sf.assignments_table(result)), csv_bytes(sf.grid_table(result))):
        cells = _cells(data)
        assert not {c for row in cells for c in row} & set(SPELLED), cells
    assign = _cells(csv_bytes(sf.assignments_table(result)))
    header = assign[0]
    by_id = {r[0]: dict(zip(header, r)) for r in assign[1:]}
    moved = column_label("moved", "zh")
    assert by_id["S02"][column_label("distance_m", "zh")] == ""            # distance unknown: empty, not "nan"
    assert {r[moved] for r in by_id.values()} == {"否"}                    # not "False" in a Chinese file
    for lang, worker in (("zh", "网格员"), ("en", t("staffing.role.worker", "en"))):   # places short, in words
        grids = _cells(csv_bytes(sf.grid_table(result), lang=lang))
        short = grids[0].index(column_label("missing", lang))
        assert [r[short] for r in grids[1:]] == [f"{worker} 2", f"{worker} 1"]
    raw = _cells(csv_bytes(sf.grid_table(result), lang=None))                 # for scripts: the codes stay
    assert [r[raw[0].index("missing")] for r in raw[1:]] == ["worker 2", "worker 1"]


def test_xlsx_writes_yes_no_in_the_language_and_missing_values_as_empty_cells() -> None:
    df = pd.DataFrame({"grid_id": ["G1", "G2"], "urgent": [True, False], "note": ["None", "ok"],
                       "share": [np.nan, 0.5]})
    for lang, yes, no in (("zh", "是", "否"), ("en", "yes", "no")):
        ws = load_workbook(stdio.BytesIO(xlsx_bytes({"s": df}, lang=lang))).worksheets[0]
        rows = list(ws.iter_rows(min_row=2, values_only=True))
        assert rows == [("G1", yes, None, None), ("G2", no, "ok", 0.5)]
    ws = load_workbook(stdio.BytesIO(xlsx_bytes({"s": df}, lang=None))).worksheets[0]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == [True, False]


def test_every_page_table_goes_through_show_table() -> None:
    """``st.dataframe`` shows a missing cell as a grey "None": pages call ``_ui.show_table`` instead."""
    offenders = []
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("dataframe", "data_editor"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == ["_ui.py:" + str(_show_table_line())], offenders


def _show_table_line() -> int:
    tree = ast.parse((ROOT / "pages" / "_ui.py").read_text(encoding="utf-8"))
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "show_table")
    return next(n.lineno for n in ast.walk(fn) if isinstance(n, ast.Attribute) and n.attr == "dataframe")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_staffing_page_shows_a_dash_for_a_person_without_a_home(lang: str) -> None:
    at = page_test("staffing", DEMO_PATH, lang, timeout=600).run()
    assert not at.exception
    column = t("staffing.col.distance_m", lang)
    people = next(df for df in at.dataframe if column in df.value)
    assert people.proto.placeholder == MISSING_CELL
    staff = pd.read_csv(Path(DEMO_PATH) / "staff.csv", dtype=str)
    homeless = set(staff.loc[staff["lon"].isna() | staff["lat"].isna(), "staff_id"])
    assert homeless                                                       # the demo has such people
    shown = people.value.set_index(t("staffing.col.staff_id", lang))[column]
    assert homeless <= set(shown.index[shown.isna()])
    for df in at.dataframe:                                                # every table of the page
        assert df.proto.placeholder == MISSING_CELL
        text = df.value.astype(object).where(df.value.notna(), "").astype(str)
        assert not text.isin(SPELLED).any().any(), df.value.columns.tolist()


# --- messages for bad files: what a user uploads by mistake -------------------------------------------------

def _render_error(fn: object, *args: object, lang: str = "zh") -> tuple[object, str]:
    from gridgeo.errors import GridgeoError, render

    with pytest.raises(GridgeoError) as err:
        fn(*args)  # type: ignore[operator]
    return err.value, render(err.value, lang)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["社区.geojson", "楼栋.csv", "楼栋.xlsx"])
def test_an_empty_file_is_called_empty_not_damaged(tmp_path: Path, name: str) -> None:
    from gridgeo import io

    path = tmp_path / name
    path.write_bytes(b"")
    err, zh = _render_error(io.read_buildings, path)
    assert err.code == "err.io.empty_file"  # type: ignore[attr-defined]
    assert zh.startswith(f"文件 {name}：") and "0 字节" in zh and "损坏" not in zh and str(tmp_path) not in zh
    _, en = _render_error(io.read_buildings, path, lang="en")
    assert "empty (0 bytes)" in en and not any("\u4e00" <= ch <= "\u9fff" for ch in en.replace(name, ""))


def test_a_geojson_in_web_mercator_without_crs_is_one_clear_problem(tmp_path: Path) -> None:
    import json

    import geopandas as gpd

    from gridgeo import io

    communities = gpd.read_file(Path(DEMO_PATH) / "communities.geojson")
    data = json.loads(communities.to_crs(3857).to_json())
    data.pop("crs", None)                                           # as many tools write it: no crs member
    path = tmp_path / "社区_3857.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    err, zh = _render_error(io.read_communities, path)
    assert [p.code for p in err.problems] == ["err.crs.web_mercator"]  # type: ignore[attr-defined]
    x = f"{communities.to_crs(3857).total_bounds[0]:.0f}"             # the numbers the user sees in QGIS
    assert f"坐标（{x}," in zh and "EPSG:3857" in zh and "EPSG:4326" in zh and "社区_3857.geojson" in zh
    assert "Web" not in zh
    assert "不在中国境内" not in zh and zh.count("\n- ") == 1
    # metres of another projection (here UTM 50N) are not called Web Mercator
    data = json.loads(communities.to_crs(32650).to_json())
    data.pop("crs", None)
    path.write_text(json.dumps(data), encoding="utf-8")
    err, zh = _render_error(io.read_communities, path)
    assert [p.code for p in err.problems] == ["err.crs.not_degrees"]  # type: ignore[attr-defined]
    assert "不是经纬度" in zh and "EPSG:3857" not in zh


def test_duplicate_ids_list_ten_places_and_the_count(tmp_path: Path) -> None:
    from gridgeo import io

    path = tmp_path / "楼栋.csv"
    rows = ["楼栋编码,社区编码,户数,经度,纬度"] + [f"B1,370124001001,10,116.44{i:02d},36.29" for i in range(30)]
    path.write_text("\n".join(rows), encoding="utf-8-sig")
    _, zh = _render_error(io.read_buildings, path)
    assert "出现了 30 次（第 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 … 行）" in zh, zh


def test_candidate_sites_errors_name_their_layer(tmp_path: Path) -> None:
    from gridgeo.coverage.stations import read_candidates

    path = tmp_path / "候选点.csv"
    path.write_text("编号,经度,纬度\nC1,116.44,36.29\nC2,,\n", encoding="utf-8-sig")
    _, zh = _render_error(read_candidates, path)
    assert zh.startswith("文件 候选点.csv（候选站点）有 1 处问题") and "（）" not in zh, zh
    path.write_text("编号,几何\nC1,\"POLYGON ((116.44 36.29, 116.45 36.29, 116.45 36.3, 116.44 36.29))\"\n",
                    encoding="utf-8-sig")
    _, zh = _render_error(read_candidates, path)
    assert "候选站点图层应为点" in zh and "服务站点" not in zh, zh


def test_maps_credit_leaflet_without_a_flag() -> None:
    from gridgeo.maps.base import base_map

    html = base_map([[36.28, 116.43], [36.31, 116.47]]).get_root().render()
    assert "attributionControl.setPrefix(" in html and '>Leaflet</a>' in html


def test_the_save_hint_names_the_button_the_planner_shows() -> None:
    for lang in ("zh", "en"):
        assert t("planner.run", lang) in t("plans.no_result", lang)


def test_a_misspelt_chinese_header_is_named_with_the_word_it_should_be(tmp_path: Path) -> None:
    from openpyxl import Workbook

    from gridgeo import io

    wb = Workbook()
    ws = wb.active
    ws.append(["楼栋编码", "社区编码", "戸数", "经度", "纬度"])                   # 戸数: a typo of 户数
    ws.append(["B1", "370124001001", 120, 116.4401, 36.2901])
    path = tmp_path / "楼栋.xlsx"
    wb.save(path)
    err, zh = _render_error(io.read_buildings, path)
    assert [p.code for p in err.problems] == ["err.schema.missing_field_typo"]  # type: ignore[attr-defined]
    assert "表头“戸数”是否就是“户数”写错了？" in zh and "把表头“戸数”改成“户数”" in zh and "？。" not in zh
    # headers that are simply other columns are not guessed at
    ws.delete_rows(1)
    ws.insert_rows(1)
    for i, name in enumerate(["楼栋编码", "社区编码", "楼层", "经度", "纬度"], start=1):
        ws.cell(row=1, column=i, value=name)
    wb.save(path)
    err, zh = _render_error(io.read_buildings, path)
    assert [p.code for p in err.problems] == ["err.schema.missing_field"], zh  # type: ignore[attr-defined]


def test_a_case_export_without_a_time_column_says_which_field_in_words(tmp_path: Path) -> None:
    from gridgeo import cases as C

    path = tmp_path / "工单.csv"
    path.write_text("工单编号,受理时问,事件类型\nA1,2024-03-05 14:03,噪音\n", encoding="utf-8-sig")
    err, zh = _render_error(C.load_cases, path)
    assert err.code == "err.cases.missing_field_typo"  # type: ignore[attr-defined]
    assert zh == ("文件 工单.csv：没有与必填项“受理时间”对应的列；表头“受理时问”是否就是“受理时间”写错了？"
                  "处理办法：请为“受理时间”指定列“受理时问”（网页上在“字段映射”中选择），或把表头改为“受理时间”。")
    path.write_text("工单编号,事件类型\nA1,噪音\n", encoding="utf-8-sig")
    err, zh = _render_error(C.load_cases, path)
    assert "没有与必填项“受理时间”对应的列" in zh and "created_at" not in zh and "--map" not in zh
    _, en = _render_error(C.load_cases, path, lang="en")
    assert "time received" in en


def test_geometry_types_and_unnamed_features_are_said_in_chinese(tmp_path: Path) -> None:
    import json

    from gridgeo import io

    square = {"type": "Polygon", "coordinates": [[[116.44, 36.29], [116.45, 36.29], [116.45, 36.30],
                                                  [116.44, 36.29]]]}
    data = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": square}]}
    path = tmp_path / "道路.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    _, zh = _render_error(io.read_streets, path)
    assert "几何类型为面（多边形），道路图层应为线" in zh and "第 1 个要素" in zh, zh
    assert "Polygon" not in zh and "feature" not in zh
    _, en = _render_error(io.read_streets, path, lang="en")
    assert "geometry is a Polygon" in en and "feature 1" in en


def test_coverage_page_forgets_a_candidates_error_once_another_file_is_uploaded(tmp_path: Path) -> None:
    from tests.test_coverage_page import _app, write_district

    at = _app(write_district(tmp_path / "river"))
    at.run()
    at.get("file_uploader")[0].set_value(("候选点.geojson", b"", "application/geo+json")).run()
    at.button(key="coverage_run").click().run()
    assert not at.exception
    assert [e.value for e in at.error if "候选点.geojson" in e.value and "0 字节" in e.value]
    good = "编号,经度,纬度\nC1,116.44,36.29\n".encode("utf-8-sig")                # not yet run: no verdict on it
    at.get("file_uploader")[0].set_value(("候选点2.csv", good, "text/csv")).run()
    assert not at.exception
    assert not [e.value for e in at.error if "候选点.geojson" in e.value], [e.value for e in at.error]


def test_english_pages_list_in_english() -> None:
    """A wrong file type lists the accepted ones as "… or .xlsx"; community names keep their own
    words but the list around them is English punctuation, not "（550）、"."""
    import re

    from pages._ui import file_types_text

    assert file_types_text(["csv", "xlsx"], "en") == ".csv or .xlsx"
    assert file_types_text(["csv", "txt", "xlsx"], "en") == ".csv, .txt or .xlsx"
    assert file_types_text(["csv", "xlsx"], "zh") == ".csv、.xlsx"
    home = page_test("home", DEMO_PATH, "en").run()
    assert not home.exception
    note = next(w.value for w in home.warning if "cannot be split" in w.value)
    assert "（" not in note and "、" not in note
    assert re.search(r"\S+社区 \\?\(\d[\d,]*\\?\)", note), note


def test_home_lists_load_notes_without_raw_codes(tmp_path: Path) -> None:
    import shutil

    import geopandas as gpd
    import shapely

    folder = tmp_path / "district"
    folder.mkdir()
    for name in ("communities.geojson", "streets.geojson"):
        shutil.copy(Path(DEMO_PATH) / name, folder / name)
    buildings = gpd.read_file(Path(DEMO_PATH) / "buildings.geojson")
    x0, y0, x1, y1 = buildings.geometry.iloc[0].bounds
    dx, dy = (x1 - x0) / 50, (y1 - y0) / 50                 # a corner whose last edge crosses the first: repaired
    buildings.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0 + dy),
                                                    (x0 + dx, y0 - dy)])
    buildings.to_file(folder / "buildings.geojson")
    at = page_test("home", folder, "zh").run()
    assert not at.exception
    notes = next(df.value for df in at.dataframe if t("home.problem_message", "zh") in df.value.columns)
    assert notes[t("home.problem_code", "zh")].tolist() == ["提示（已载入）"]
    assert not notes.astype(str).apply(lambda c: c.str.contains(r"err\.", regex=True)).any().any(), notes


def test_planner_version_table_says_flags_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    monkeypatch.setenv("GRIDGEO_WORKSPACE_DIR", str(tmp_path))     # a fresh workspace: v1 is the default plan
    at = page_test("planner", DEMO_PATH, "zh", timeout=600).run()
    assert not at.exception
    grids = next(df.value for df in at.dataframe if t("plans.col.flags", "zh") in df.value.columns)
    flags = grids[t("plans.col.flags", "zh")].dropna().astype(str)
    assert not [f for f in flags if re.search(r"[a-z]+_[a-z]+", f)], sorted(set(flags))[:5]
    assert t("flag.unit_split", "zh") in " ".join(flags)                # the demo splits big buildings by unit


def test_english_compliance_labels_have_no_chinese_terms() -> None:
    import re

    for key in ("sla.col.three_rate", "sla.three_rate_weights", "sla.three_rate_na"):
        assert not re.search(r"[\u4e00-\u9fff]", t(key, "en")), t(key, "en")
        assert "三率" in t(key, "zh")


def test_a_district_with_two_bad_files_names_both_at_once(tmp_path: Path) -> None:
    import json

    import geopandas as gpd

    from gridgeo import io

    folder = tmp_path / "district"
    folder.mkdir()
    communities = gpd.read_file(Path(DEMO_PATH) / "communities.geojson")
    data = json.loads(communities.to_crs(3857).to_json())
    data.pop("crs", None)
    (folder / "communities.geojson").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (folder / "buildings.csv").write_text("楼栋编码,社区编码,戸数,经度,纬度\nB1,370124001001,10,116.44,36.29\n",
                                          encoding="utf-8-sig")
    (folder / "streets.geojson").write_bytes(b"")
    with pytest.raises(InputError) as err:
        io.read_district(folder)
    codes = [e.code for e in (err.value, *err.value.fields["also"])]
    assert len(codes) == 3 and "err.io.empty_file" in codes
    at = page_test("home", folder, "zh").run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert len(shown) == 3, shown                                   # one box per file, all on the first visit
    assert any("communities.geojson" in e and "EPSG:3857" in e for e in shown)
    assert any("buildings.csv" in e and "“戸数”" in e for e in shown)
    assert any("streets.geojson" in e and "0 字节" in e for e in shown)


def test_compliance_page_names_every_bad_upload_at_once(tmp_path: Path) -> None:
    from tests.test_sla_app import _run, make_district

    folder = make_district(tmp_path / "d")
    at = _run(folder)
    assert not at.exception
    uploaders = {u.label: u for u in at.get("file_uploader")}
    rules = next(u for label, u in uploaders.items() if label == t("sla.rule_file", "zh"))
    holidays = next(u for label, u in uploaders.items() if label == t("sla.holiday_file", "zh"))
    rules.set_value(("规则.csv", "渠道,类别\n12345热线,*\n".encode("utf-8-sig"), "text/csv"))
    holidays.set_value(("节假日.csv", b"", "text/csv")).run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert any("规则.csv" in e and "时限" in e for e in shown), shown
    assert any("节假日.csv" in e and "0 字节" in e for e in shown), shown


def test_staffing_csv_downloads_use_the_same_headers_as_the_workbook_and_the_page() -> None:
    result = _staffed()
    ws = load_workbook(stdio.BytesIO(sf.roster_xlsx(result))).worksheets[1]           # the per-grid sheet
    sheet_header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert _cells(sf.grid_staffing_csv(result))[0] == sheet_header
    assert "人均户数" in sheet_header and "问题" in sheet_header                      # the page's words
    header = _cells(sf.staff_assignments_csv(result))[0]
    assert header[:2] == ["工号", "姓名"] and "居住地距网格（米）" in header
    assert _cells(sf.staff_assignments_csv(result, lang=None))[0][:2] == ["staff_id", "name"]   # for scripts
    en = _cells(sf.grid_staffing_csv(result, lang="en"))[0]
    assert "Households per worker" in en and not any("\u4e00" <= ch <= "\u9fff" for h in en for ch in h)
