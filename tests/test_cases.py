"""Cases: real-export-shaped files in, clean cases and an honest report out; grids, 并单, hotspots."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import Workbook
from scipy import stats

from gridgeo import cases as C
from gridgeo import crs as gcrs
from gridgeo.cases.hotspots import _trend_labels
from gridgeo.cli import main
from gridgeo.errors import InputError, SchemaError

LON0, LAT0, STEP = 116.44, 36.29, 0.002
TZ = "Asia/Shanghai"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


@pytest.fixture()
def grids() -> gpd.GeoDataFrame:
    """3 x 3 square grids of 0.002° from (116.44, 36.29)."""
    cells, ids = [], []
    for r in range(3):
        for c in range(3):
            cells.append(shapely.box(LON0 + c * STEP, LAT0 + r * STEP, LON0 + (c + 1) * STEP, LAT0 + (r + 1) * STEP))
            ids.append(f"G{r}{c}")
    return gpd.GeoDataFrame({"community_id": ["C1"] * 9}, geometry=cells, crs=4326,
                            index=pd.Index(ids, name="grid_id"))


@pytest.fixture()
def buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["书香家园1号楼", "书香家园2号楼", "明珠雅居1号楼"], "households": [300, 200, 400]},
        geometry=shapely.points([(116.4405, 36.2905), (116.4407, 36.2905), (116.4445, 36.2945)]), crs=4326,
        index=pd.Index(["B1", "B2", "B3"], name="building_id"))


HEADER_12345 = ["工单编号", "受理时间", "工单类别", "紧急程度", "办结时间", "工单状态", "诉求内容", "诉求地址", "经度", "纬度"]
ROWS_12345 = [
    ["A001", "2024-03-05 14:03", "物业管理", "一般", "2024-03-06 10:00", "已办结", "电梯坏了", "书香家园1号楼", "116.4401", "36.2901"],
    ["A002", "2024/3/5 9:03:07", "噪音扰民", "紧急", "", "办理中", "楼上装修", "", "36.2911", "116.4411"],   # swapped
    ["", "2024-03-05 10:00", "物业管理", "一般", "", "", "", "", "116.4402", "36.2902"],                        # no id
    ["A001", "2024-03-07 10:00", "物业管理", "一般", "", "", "", "", "116.4402", "36.2902"],                    # dup id
    ["A005", "昨天下午", "供水排水", "一般", "", "", "", "", "116.4402", "36.2902"],                           # bad date
    ["A006", "2024年3月5日 14时03分", "供水排水", "一般", "2024-03-01 09:00", "已办结", "", "", "116.4403", "36.2903"],
    ["A007", "45356.5", "供暖", "一般", "", "", "暖气不热", "书香家园1号楼", "", ""],                           # address exact
    ["A008", "3/5/2024 2:03 PM", "供暖", "一般", "", "", "暖气不热", "平阴县书香家园 2栋3单元201", "", ""],      # normalised
    ["A009", "2024-03-05 16:00", "供暖", "一般", "", "", "", "某某路88号", "", ""],                            # not matched
    ["A010", "2024-03-05 16:00", "供暖", "一般", "", "", "", "", "10.0", "10.0"],                             # outside China
    ["A011", "2024-03-05 16:00", "供暖", "一般", "", "", "", "", "116.50", "36.29"],                          # outside district
    ["A012", "", "供暖", "一般", "", "", "", "", "116.4403", "36.2903"],                                       # no time
    ["A013", "2024-03-05 17:00", "", "一般", "", "", "", "", "116.4455", "36.2955"],                           # no category
    ["A014", "2024-03-05 17:00", "供暖", "一般", "", "", "", "", "东经116", "36.29"],                          # bad number
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.fixture()
def export_gbk(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "12345工单.csv", HEADER_12345, ROWS_12345, "gbk")


# --- dates -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2024-03-05 14:03", "2024-03-05 14:03"),
    ("2024/3/5 9:03:07", "2024-03-05 09:03:07"),
    ("2024年3月5日 14时03分", "2024-03-05 14:03"),
    ("2024年3月5日", "2024-03-05 00:00"),
    ("45356.5", "2024-03-05 12:00"),                      # Excel serial number
    ("3/5/2024 2:03 PM", "2024-03-05 14:03"),
    ("3/5/2024 12:10:05 AM", "2024-03-05 00:10:05"),
    ("2024-03-05T14:03+00:00", "2024-03-05 22:03"),       # zone given: converted to Beijing time
    ("2024-03-05 06:03:00 UTC", "2024-03-05 14:03"),
    ("2024/03/05 下午2:03", "2024-03-05 14:03"),
    ("20240305", "2024-03-05 00:00"),
])
def test_dates_in_every_listed_form(text: str, expected: str) -> None:
    got = C.parse_datetimes(pd.Series([text]))
    assert got.iloc[0] == ts(expected)


def test_unparseable_and_impossible_dates_are_nat() -> None:
    got = C.parse_datetimes(pd.Series(["昨天", "2024-02-30", "13/45/2024 1:00 PM", ""]))
    assert got.isna().all()


# --- import -----------------------------------------------------------------------------

def test_gbk_12345_export_report_names_every_row(export_gbk: Path, grids: gpd.GeoDataFrame,
                                                buildings: gpd.GeoDataFrame) -> None:
    raw = C.read_export(export_gbk)
    assert raw.encoding == "gb18030" and raw.header_row == 1
    res = C.import_cases(raw, buildings=buildings, area=grids.union_all())
    rep = res.report
    assert rep.rows_in == 14 and rep.rows_loaded == 10
    assert rep.set_aside == {"no_id": 1, "duplicate_id": 1, "no_created_at": 1, "bad_created_at": 1}
    assert rep.rows["no_id"] == [4] and rep.rows["duplicate_id"] == [5]
    assert rep.rows["bad_created_at"] == [6] and rep.rows["no_created_at"] == [13]
    assert rep.rows["swapped"] == [3]
    assert rep.rows["closed_before_created"] == [7]
    assert rep.rows["coords_blank"] == [8, 9, 10]
    assert rep.rows["address_matched"] == [8, 9]
    assert rep.rows["address_not_matched"] == [10]
    assert rep.rows["outside_china"] == [11]
    assert rep.rows["outside_district"] == [12]
    assert rep.rows["no_category"] == [14]
    assert rep.rows["bad_coordinates"] == [15]
    assert rep.rows["unlocated"] == [10, 11, 15]
    assert rep.located_by == {"coords": 5, "address": 2, "none": 3}
    assert rep.rows_in == rep.rows_loaded + sum(rep.set_aside.values())
    cases = res.cases
    assert list(cases.index) == ["A001", "A002", "A006", "A007", "A008", "A009", "A010", "A011", "A013", "A014"]
    assert cases.loc["A001", "created_at"] == ts("2024-03-05 14:03")
    assert cases.loc["A007", "created_at"] == ts("2024-03-05 12:00")      # serial 45356.5
    assert cases.loc["A008", "created_at"] == ts("2024-03-05 14:03")      # 3/5/2024 2:03 PM
    assert bool(cases.loc["A002", "urgent"]) and not bool(cases.loc["A001", "urgent"])
    assert cases.loc["A013", "category"] == "未分类"
    a002 = cases.loc["A002", "geometry"]
    assert (a002.x, a002.y) == pytest.approx((116.4411, 36.2911))
    assert cases.loc["A007", "geometry"].equals(buildings.loc["B1", "geometry"])
    assert cases.loc["A008", "geometry"].equals(buildings.loc["B2", "geometry"])
    assert cases.loc["A009", "geometry"] is None and cases.loc["A009", "located_by"] == "none"
    assert "closed_before_created" in cases.loc["A006", "flags"]


def test_xlsx_title_row_chosen_sheet_english_headers_excel_dates(tmp_path: Path) -> None:
    wb = Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["本表由 12345 平台导出"])
    ws = wb.create_sheet("工单")
    ws.append(["2024年3月工单明细"])
    ws.append([])
    ws.append(["Ticket No", "Created", "Type", "Longitude", "Latitude", "Closed"])
    ws.append(["T1", pd.Timestamp("2024-03-05 14:03").to_pydatetime(), "Parking", 116.4401, 36.2901, None])
    ws.append(["T2", 45356.75, "Parking", 116.4402, 36.2902, "2024-03-06 08:00"])      # serial number cell
    ws.append(["T3", "3/5/2024 2:03 PM", "Noise", "116.4403", "36.2903", "2024/3/4 8:00"])
    path = tmp_path / "export.xlsx"
    wb.save(path)
    assert C.sheet_names(path) == ["说明", "工单"]
    raw = C.read_export(path, sheet="工单")
    assert raw.header_row == 3 and list(raw.rows) == [4, 5, 6]
    res = C.import_cases(raw)
    assert res.report.mapping["case_id"] == "Ticket No" and res.report.mapping["category"] == "Type"
    got = res.cases["created_at"].tolist()
    assert got == [ts("2024-03-05 14:03"), ts("2024-03-05 18:00"), ts("2024-03-05 14:03")]
    assert res.report.rows["closed_before_created"] == [6]
    with pytest.raises(InputError, match="no sheet named 'March'"):
        C.read_export(path, sheet="March")


def test_xlsx_of_cases_written_by_openpyxl_reads_through_the_shared_calamine_reader(tmp_path: Path) -> None:
    """Numeric ids keep no ".0", date cells become times, a blank row keeps the row numbers, the cells are
    the ones ``gridgeo.io`` reads from the same sheet, and a damaged workbook is named without a traceback."""
    import datetime

    from gridgeo.errors import render
    from gridgeo.io.formats import read_raw

    wb = Workbook()
    ws = wb.active
    ws.title = "3月工单"
    ws.append(["工单编号", "受理时间", "事件类型", "经度", "纬度", "办结时间", "是否紧急"])
    ws.append([202403050001, datetime.datetime(2024, 3, 5, 14, 3), "占道经营", 116.4401, 36.2901,
               datetime.datetime(2024, 3, 6, 9, 0), "否"])
    ws.append([])                                                                    # row 3: blank, skipped
    ws.append([202403050002, datetime.date(2024, 3, 5), "噪音扰民", 116.4402, 36.2902,
               datetime.datetime(2024, 3, 4, 8, 0), "是"])                          # row 4: closed before created
    ws.append([202403050003, 45356.75, "垃圾清运", 116.4403, 36.2903, None, None])   # row 5: a serial number
    path = tmp_path / "工单.xlsx"
    wb.save(path)
    raw = C.read_export(path)
    assert raw.sheet == "3月工单" and raw.header_row == 1 and list(raw.rows) == [2, 4, 5]
    assert raw.frame["工单编号"].tolist() == ["202403050001", "202403050002", "202403050003"]
    same = read_raw(path, layer_name="cases").frame                                  # the same reader
    assert same.loc[same["工单编号"] != "", "受理时间"].tolist() == raw.frame["受理时间"].tolist()
    res = C.import_cases(raw)
    assert list(res.cases.index) == ["202403050001", "202403050002", "202403050003"]
    assert res.cases["created_at"].tolist() == [ts("2024-03-05 14:03"), ts("2024-03-05 00:00"),
                                                ts("2024-03-05 18:00")]
    assert res.report.rows["closed_before_created"] == [4]
    assert res.cases["urgent"].astype(bool).tolist() == [False, True, False]
    broken = tmp_path / "坏文件.xlsx"
    broken.write_text("工单编号,受理时间\nA1,2024-03-05\n", encoding="utf-8")      # a CSV renamed .xlsx
    with pytest.raises(InputError, match="坏文件.xlsx") as err:
        C.read_export(broken)
    text = render(err.value, "zh")
    assert "坏文件.xlsx" in text and "Traceback" not in text and str(tmp_path) not in text
    with pytest.raises(InputError, match="no sheet named '4月'") as err:
        C.sheet_names(path) and C.read_export(path, sheet="4月")
    assert "3月工单" in render(err.value, "zh")


def test_message_board_export_without_coordinates(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "留言板.csv", ["留言编号", "留言时间", "留言主题", "答复时间"], [
        ["M1", "2024-03-05 14:03", "小区门口垃圾无人清运", "2024-03-08 10:00"],
        ["M2", "2024-03-06 09:00", "噪音扰民", ""],
    ], "utf-8-sig")
    res = C.load_cases(path)
    assert res.report.mapping == {"case_id": "留言编号", "created_at": "留言时间", "text": "留言主题",
                                  "closed_at": "答复时间"}
    assert (res.cases["category"] == "未分类").all()
    assert res.report.located_by == {"coords": 0, "address": 0, "none": 2}
    assert res.report.rows["unlocated"] == [2, 3]
    assert res.cases.loc["M1", "closed_at"] == ts("2024-03-08 10:00")


def test_wkt_bd09_and_lat_lon_text_columns(tmp_path: Path) -> None:
    lon, lat = np.array([116.4401, 116.4455]), np.array([36.2901, 36.2955])
    blon, blat = gcrs.wgs84_to_bd09(lon, lat)
    path = write_csv(tmp_path / "baidu.csv", ["编号", "受理时间", "坐标"], [
        ["W1", "2024-03-05 14:03", f'"POINT ({blon[0]:.8f} {blat[0]:.8f})"'],
        ["W2", "2024-03-05 15:03", f'"POINT ({blon[1]:.8f} {blat[1]:.8f})"'],
    ], "utf-8")
    res = C.load_cases(path, coords="bd09")
    got = shapely.get_coordinates(res.cases.geometry.to_numpy())
    assert got == pytest.approx(np.column_stack([lon, lat]), abs=1e-6)
    path2 = write_csv(tmp_path / "picker.csv", ["编号", "受理时间", "经纬度"], [
        ["P1", "2024-03-05 14:03", '"(36.2901, 116.4401)"']], "utf-8")
    p = C.load_cases(path2).cases.loc["P1", "geometry"]
    assert (p.x, p.y) == pytest.approx((116.4401, 36.2901))


def test_gcj02_export_is_converted_to_wgs84(tmp_path: Path) -> None:
    glon, glat = gcrs.wgs84_to_gcj02(np.array([116.4401]), np.array([36.2901]))
    path = write_csv(tmp_path / "amap.csv", ["工单编号", "受理时间", "经度", "纬度"],
                     [["G1", "2024-03-05 14:03", f"{glon[0]:.8f}", f"{glat[0]:.8f}"]], "utf-8")
    p = C.load_cases(path, coords="gcj02").cases.loc["G1", "geometry"]
    assert (p.x, p.y) == pytest.approx((116.4401, 36.2901), abs=1e-6)


def test_mapping_errors_and_profiles(tmp_path: Path, export_gbk: Path) -> None:
    raw = C.read_export(export_gbk)
    with pytest.raises(SchemaError, match=r"no column for created_at .*found columns: 工单编号"):
        C.import_cases(raw, {"case_id": "工单编号"})
    with pytest.raises(InputError, match="column\\(s\\) 受理日期 not in the file"):
        C.import_cases(raw, {"case_id": "工单编号", "created_at": "受理日期"})
    mapping = {**C.suggest_mapping(list(raw.frame.columns)), "text": ""}
    saved = C.save_profile(tmp_path, "12345-月报", mapping, coords="gcj02")
    assert saved.name == "12345-月报.json"
    prof = C.load_profile(tmp_path, "12345-月报")
    assert prof["coords"] == "gcj02" and "text" not in prof["mapping"]
    assert C.list_profiles(tmp_path) == ["12345-月报"]
    with pytest.raises(InputError, match="no mapping profile named 'x' \\(profiles: 12345-月报\\)"):
        C.load_profile(tmp_path, "x")


# --- grids at the time of the case -------------------------------------------------------

def test_version_at_time_join_edge_distance_and_outside() -> None:
    # v1 (2025): one grid A over two cells; v2 (2026-): B (west) and C (east)
    west = shapely.box(116.44, 36.29, 116.442, 36.292)
    east = shapely.box(116.442, 36.29, 116.444, 36.292)
    grids = gpd.GeoDataFrame({
        "community_id": ["C1", "C1", "C1"],
        "valid_from": pd.to_datetime(["2025-01-01", "2026-01-01", "2026-01-01"]),
        "valid_to": pd.to_datetime(["2026-01-01", None, None]),
    }, geometry=[shapely.union(west, east), west, east], crs=4326, index=pd.Index(["A", "B", "C"], name="grid_id"))
    cases = gpd.GeoDataFrame({"created_at": [ts("2025-06-01"), ts("2025-12-31 23:59"), ts("2026-01-01 00:00"),
                                             ts("2026-03-01"), ts("2026-03-01"), ts("2026-03-01")]},
                             geometry=[shapely.Point(116.443, 36.291), shapely.Point(116.441, 36.291),
                                       shapely.Point(116.441, 36.291), shapely.Point(116.443, 36.291),
                                       shapely.Point(116.46, 36.291), None],
                             crs=4326, index=pd.Index([f"K{i}" for i in range(6)], name="case_id"))
    j = C.join_grids(cases, grids)
    assert j.table["grid_id"].fillna("-").tolist() == ["A", "A", "B", "C", "-", "-"]
    assert list(j.outside) == ["K4"] and j.unlocated == 1
    # edge distance: independent route in a UTM zone, the nearer of the grid's sides
    utm = gpd.GeoSeries([shapely.Point(116.443, 36.291), east.boundary], crs=4326).to_crs(32650)
    assert j.table.loc["K3", "edge_m"] == pytest.approx(utm.iloc[0].distance(utm.iloc[1]), abs=0.1)
    assert 85 < j.table.loc["K3", "edge_m"] < 115
    unversioned = C.join_grids(cases, grids.drop(columns=["valid_from", "valid_to"]).iloc[1:])
    assert unversioned.table["grid_id"].fillna("-").tolist() == ["C", "B", "B", "C", "-", "-"]
    # a plan store dates its first version the day it is saved: older cases still fall in its grids
    saved = grids.iloc[1:].assign(valid_from=pd.to_datetime(["2026-02-01", "2026-02-01"]), valid_to=pd.NaT)
    early = C.join_grids(cases, saved)
    assert early.table["grid_id"].fillna("-").tolist() == ["C", "B", "B", "C", "-", "-"]
    later = C.join_grids(cases, pd.concat([grids.iloc[[0]].assign(valid_to=pd.Timestamp("2026-02-01")), saved]))
    assert later.table["grid_id"].fillna("-").tolist() == ["A", "A", "A", "C", "-", "-"]


# --- 并单 ---------------------------------------------------------------------------------

def _offset(lon: float, lat: float, east_m: float) -> shapely.Point:
    return shapely.Point(lon + east_m / (111_320 * np.cos(np.radians(lat))), lat)


def test_merge_rules() -> None:
    base = (116.44, 36.29)
    rows = [  # id, category, east metres, days after start, address, text
        ("a", "物业", 0, 0.0, None, None),
        ("b", "物业", 30, 1.0, None, None),        # 30 m, 1 day after a -> a
        ("c", "物业", 10, 2.9, None, None),        # 2.9 days after a -> a
        ("d", "物业", 0, 3.5, None, None),         # 3.5 days after a (0.6 after c): matter heads only -> own
        ("e", "噪音", 0, 0.5, None, None),         # other category -> own
        ("f", "物业", 70, 0.2, None, None),        # 70 m -> own
        ("g", "物业", 500, 10.0, "书香家园3号楼", "楼道灯坏了，一直没人修"),
        ("h", "供水", 900, 20.0, "书香家园3号楼", "楼道灯坏了,一直没人修!"),  # same address, near-identical text
        ("i", "供水", 900, 21.0, "书香家园3号楼", "下水道堵塞"),              # different text -> own
    ]
    cases = gpd.GeoDataFrame({
        "category": [r[1] for r in rows],
        "created_at": [ts("2024-03-01") + pd.Timedelta(days=r[3]) for r in rows],
        "address": [r[4] for r in rows], "text": [r[5] for r in rows],
    }, geometry=[_offset(*base, r[2]) for r in rows], crs=4326,
        index=pd.Index([r[0] for r in rows], name="case_id"))
    got = C.merge_cases(cases).to_dict()
    assert got == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "e", "f": "f", "g": "g", "h": "g", "i": "i"}
    wider = C.merge_cases(cases, C.MergeRules(distance_m=100, window_days=5)).to_dict()
    assert wider["d"] == "a" and wider["f"] == "a"


# --- hotspots -------------------------------------------------------------------------------

def _lattice(n: int) -> gpd.GeoDataFrame:
    cells = [shapely.box(LON0 + c * STEP, LAT0 + r * STEP, LON0 + (c + 1) * STEP, LAT0 + (r + 1) * STEP)
             for r in range(n) for c in range(n)]
    return gpd.GeoDataFrame(geometry=cells, crs=4326, index=pd.Index([f"L{i:02d}" for i in range(n * n)],
                                                                      name="grid_id"))


def _gi_star_numpy(x: np.ndarray, n_side: int) -> np.ndarray:
    """Getis & Ord (1995) Gi* with binary queen weights on an n x n lattice, self included."""
    n = len(x)
    rc = np.array([(i // n_side, i % n_side) for i in range(n)])
    w = (np.abs(rc[:, None, :] - rc[None, :, :]).max(axis=2) <= 1).astype(float)
    xbar, s = x.mean(), np.sqrt((x ** 2).mean() - x.mean() ** 2)
    wi = w.sum(axis=1)
    return (w @ x - xbar * wi) / (s * np.sqrt((n * wi - wi ** 2) / (n - 1)))


def test_gi_star_and_fdr_match_an_independent_computation() -> None:
    rng = np.random.default_rng(7)
    grids = _lattice(6)
    households = pd.Series(rng.integers(200, 600, 36), index=grids.index)
    counts = rng.poisson(20, 36)
    counts[[14, 15, 20, 21]] += 60      # a block of busy grids
    pts, created, cat = [], [], []
    for i, k in enumerate(counts):
        centre = grids.geometry.iloc[i].centroid
        for m in range(k):
            pts.append(centre)
            created.append(ts("2024-01-01") + pd.Timedelta(days=int(m * 7 % 360)))
            cat.append(f"c{i}-{m}")      # no two cases merge
    cases = gpd.GeoDataFrame({"created_at": created, "category": cat}, geometry=pts, crs=4326,
                             index=pd.Index([f"K{i}" for i in range(len(pts))], name="case_id"))
    prepared, _ = C.prepare_cases(cases, grids)
    table = C.hotspots(prepared, grids, households)
    # counts and rate against a plain groupby
    by_grid = prepared.groupby("grid_id").size().reindex(grids.index).to_numpy()
    assert (table["cases"].to_numpy() == by_grid).all() and (table["matters"].to_numpy() == counts).all()
    rate = counts / households.to_numpy() * 1000
    assert table["rate_per_1000"].to_numpy() == pytest.approx(rate, abs=0.005)
    z = _gi_star_numpy(table["rate_per_1000"].to_numpy(dtype=float), 6)
    assert table["gi_z"].to_numpy() == pytest.approx(z, abs=2e-3)
    p = 2 * stats.norm.sf(np.abs(z))
    q = stats.false_discovery_control(p, method="bh")
    assert table["p_fdr"].to_numpy() == pytest.approx(q, rel=1e-2, abs=1e-4)
    expected = np.where(q < 0.01, "99", np.where(q < 0.05, "95", np.where(q < 0.1, "90", "")))
    want = [("hot_" if zi > 0 else "cold_") + e if e else "not_significant" for zi, e in zip(z, expected)]
    assert table["hotspot"].tolist() == want
    assert table.loc["L14", "hotspot"].startswith("hot")


def test_fdr_by_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.20])
    # sorted 0.01 0.03 0.04 0.20 -> 0.04, 0.06, 0.0533, 0.20 -> monotone from the top: 0.04 0.0533 0.0533 0.20
    assert C.fdr_bh(p) == pytest.approx([0.04, 0.0533333, 0.0533333, 0.20])


def test_mann_kendall_against_brute_force() -> None:
    x = np.array([[1, 2, 2, 5, 4, 6, 8, 9], [9, 8, 8, 7, 3, 3, 2, 1], [3, 1, 4, 1, 5, 9, 2, 6]], dtype=float)
    s, z, p = C.mann_kendall(x)
    for r in range(3):
        brute = sum(np.sign(x[r, j] - x[r, i]) for i in range(8) for j in range(i + 1, 8))
        assert s[r] == brute
        _, counts = np.unique(x[r], return_counts=True)
        var = (8 * 7 * 21 - sum(c * (c - 1) * (2 * c + 5) for c in counts)) / 18
        zz = (brute - np.sign(brute)) / np.sqrt(var) if brute else 0
        assert z[r] == pytest.approx(zz) and p[r] == pytest.approx(2 * stats.norm.sf(abs(zz)))
    assert p[0] < 0.01 and z[0] > 0 and p[1] < 0.01 and z[1] < 0 and p[2] > 0.05


def test_emerging_hotspot_labels() -> None:
    hot = np.array([
        [True] * 12,                        # persistent (no trend)
        [True] * 12,                        # intensifying
        [True] * 12,                        # diminishing
        [False] * 11 + [True],              # new
        [True, False] * 6,                  # sporadic
        [False] * 12,                       # none
    ])
    mk_z = np.array([0.5, 3.0, -3.0, 0.0, 0.0, 0.0])
    mk_p = 2 * stats.norm.sf(np.abs(mk_z))
    overall = np.array(["hot_99", "hot_99", "hot_95", "not_significant", "hot_90", "not_significant"])
    got = _trend_labels(hot, mk_z, mk_p, overall, 0.9).tolist()
    assert got == ["persistent", "intensifying", "diminishing", "new", "sporadic", "none"]


def test_filters_and_channel_split(grids: gpd.GeoDataFrame) -> None:
    cases = gpd.GeoDataFrame({
        "created_at": [ts("2024-01-01 08:00"), ts("2024-01-31 23:00"), ts("2024-02-01 00:30"), ts("2024-01-15")],
        "category": ["物业", "噪音", "物业", "物业"], "channel": ["12345热线", "网格巡查", "网格巡查", "小程序"],
        "urgent": pd.array([True, False, False, False], dtype="boolean"), "status": ["closed"] * 4,
        "grid_id": ["G00", "G00", "G00", "G11"],
    }, geometry=[None] * 4, crs=4326, index=pd.Index(list("abcd"), name="case_id"))
    jan = C.filter_cases(cases, start="2024-01-01", end="2024-01-31")
    assert list(jan.index) == ["a", "b", "d"]
    assert list(C.filter_cases(cases, categories=["物业"], urgent=False).index) == ["c", "d"]
    split = C.channel_split(cases, grids.index)
    assert split.loc["G00", "patrol_share"] == pytest.approx(2 / 3) and split.loc["G11", "patrol_share"] == 0
    assert np.isnan(split.loc["G22", "patrol_share"])


# --- CLI -----------------------------------------------------------------------------------

def test_cli_import_and_hotspots(tmp_path: Path, export_gbk: Path, grids: gpd.GeoDataFrame,
                                 buildings: gpd.GeoDataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    gpath, bpath = tmp_path / "grids.geojson", tmp_path / "buildings.geojson"
    grids.to_file(gpath)
    buildings.to_file(bpath)
    out = tmp_path / "out"
    code = main(["--lang", "en", "cases", "import", str(export_gbk), "--grids", str(gpath), "--buildings",
                 str(bpath), "--out", str(out), "--map", "text=诉求内容", "--save-profile", "月报", "--profiles",
                 str(tmp_path / "profiles")])
    assert code == 1                                   # rows were set aside: listed, exit 1
    printed = capsys.readouterr().out
    assert "14 rows in, 10 calls loaded" in printed and "duplicate case id: 1" in printed
    report = json.loads((out / "import_report.json").read_text(encoding="utf-8"))
    assert report["rows_in"] == 14 and report["rows_loaded"] == 10
    assert report["set_aside"] == {"no_id": 1, "duplicate_id": 1, "no_created_at": 1, "bad_created_at": 1}
    assert report["outside_grids"] == 1 and report["outside_grid_rows"] == [12]
    table = pd.read_csv(out / "cases.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert {"case_id", "grid_id", "community_id", "located_by", "matter_id", "lon", "lat"} <= set(table.columns)
    assert table.set_index("case_id").loc["A007", "located_by"] == "address"
    assert table.set_index("case_id").loc["A001", "grid_id"] == "G00"
    assert (tmp_path / "profiles" / "月报.json").is_file()
    code = main(["cases", "hotspots", "--cases", str(out / "cases.csv"), "--grids", str(gpath), "--buildings",
                 str(bpath), "--from", "2024-03-01", "--to", "2024-03-31", "--out", str(tmp_path / "hot")])
    assert code == 0
    data = json.loads((tmp_path / "hot" / "hotspots.geojson").read_text(encoding="utf-8"))
    props = data["features"][0]["properties"]
    assert {"grid_id", "cases", "matters", "households", "rate_per_1000", "gi_z", "p_fdr", "hotspot",
            "trend"} <= set(props)
    total = sum(f["properties"]["cases"] for f in data["features"])
    assert total == (table["grid_id"] != "").sum()


def test_cli_unusable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "x.csv", ["编号", "内容"], [["1", "x"]], "utf-8")
    code = main(["--lang", "en", "cases", "import", str(path), "--grids", "g", "--buildings", "b", "--out",
                 str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "No column for the required field(s) time received (created_at)" in err and "编号, 内容" in err
    code = main(["cases", "import", str(path), "--grids", "g", "--buildings", "b", "--out", str(tmp_path)])
    assert code == 2                                   # default language: the same error in Chinese
    assert "没有与必填项“受理时间”对应的列" in capsys.readouterr().err
