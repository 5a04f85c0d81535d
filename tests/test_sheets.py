"""Printable grid sheets and the export/print commands, on real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from shapely.geometry import LineString, Point, box

from gridgeo.cli import main
from gridgeo.errors import InputError
from gridgeo.export import sheets
from gridgeo.export.sheets import mask_phone, select_grids, sheet_png, sheets_pdf

LON, LAT = 116.44, 36.29
D = 0.002
CID = "370124001001"


def _layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    grids = gpd.GeoDataFrame(
        {"grid_id": [f"{CID}001", f"{CID}002", "370124001002001"],
         "community_id": [CID, CID, "370124001002"], "name": ["翠屏一网格", "翠屏二网格", "锦水一网格"],
         "households": [360, 450, 310]},
        geometry=[box(LON, LAT, LON + D, LAT + D), box(LON + D, LAT, LON + 2 * D, LAT + D),
                  box(LON, LAT + D, LON + 2 * D, LAT + 2 * D)], crs=4326).set_index("grid_id")
    pts, hh = [], []
    for g, (x, y) in enumerate([(LON, LAT), (LON + D, LAT), (LON, LAT + D)]):
        for i in range(3):
            pts.append(Point(x + (i + 1) * D / 4, y + D / 2))
            hh.append(int(grids["households"].iloc[g] // 3))
    buildings = gpd.GeoDataFrame({"building_id": [f"B{i}" for i in range(len(pts))], "households": hh,
                                  "name": [f"翠屏家园{i + 1}号楼" for i in range(len(pts))]},
                                 geometry=pts, crs=4326).set_index("building_id")
    streets = gpd.GeoDataFrame({"name": ["榆山路"]}, geometry=[LineString([(LON - D, LAT + D), (LON + 3 * D, LAT + D)])],
                               crs=4326)
    staff = pd.DataFrame({"staff_id": ["S1", "S2", "S3"], "name": ["王勇敏", "刘丽超", "张伟"],
                          "role": ["leader", "worker", "worker"], "employment": ["full_time"] * 3,
                          "phone": ["13812341234", "13998765678", "13700001111"],
                          "grid_id": [f"{CID}001", f"{CID}001", f"{CID}002"]})
    return grids, buildings, streets, staff


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_mask_phone() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("138 1234 1234") == "138****1234"
    assert mask_phone("0531-8888777") == "053****8777"      # area code + 7 digits: middle four hidden
    assert mask_phone("88887777") == "****7777"
    assert mask_phone(None) == ""


def test_one_page_per_grid_of_the_community_with_code_staff_and_masked_phones() -> None:
    grids, buildings, streets, staff = _layers()
    ids = select_grids(grids, community_id=CID)
    assert ids == [f"{CID}001", f"{CID}002"]
    pages = _pdf_text(sheets_pdf(grids, buildings, ids, streets=streets, staff=staff, version="v3"))
    assert len(pages) == (grids["community_id"] == CID).sum()
    first = pages[0].replace(" ", "")
    assert f"{CID}001" in first and "王勇敏" in first and "刘丽超" in first
    assert "138****1234" in first and "13812341234" not in first
    assert "360" in first and "v3" in first
    assert "002" in first                                   # the neighbouring grid's serial on the map
    unmasked = _pdf_text(sheets_pdf(grids, buildings, ids[:1], staff=staff, mask_phones=False))[0]
    assert "13812341234" in unmasked.replace(" ", "")


def test_png_sheet_and_unknown_grid() -> None:
    grids, buildings, _, _ = _layers()
    png = sheet_png(grids, buildings, f"{CID}002", dpi=60)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(InputError, match="no grid '370124009009009'"):
        select_grids(grids, grid_id="370124009009009")


def test_no_cjk_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGEO_CJK_FONT", "/nonexistent.ttf")
    monkeypatch.setattr(sheets, "_FONT_NAMES", ("No Such Font Family",))
    monkeypatch.setattr(sheets.font_manager.fontManager, "ttflist", [])
    with pytest.raises(InputError, match="fonts-noto-cjk"):
        sheets.find_cjk_font()


def _files(tmp_path: Path) -> dict[str, Path]:
    grids, buildings, streets, staff = _layers()
    paths = {"grids": tmp_path / "grids.geojson", "buildings": tmp_path / "buildings.geojson",
             "streets": tmp_path / "streets.geojson", "staff": tmp_path / "staff.csv",
             "assignments": tmp_path / "assignments.csv"}
    grids.reset_index().to_file(paths["grids"])
    buildings.reset_index().to_file(paths["buildings"])
    streets.to_file(paths["streets"])
    staff.rename(columns={"staff_id": "工号", "name": "姓名", "role": "岗位", "employment": "专兼职",
                          "phone": "电话", "grid_id": "网格编码"}).replace(
        {"leader": "网格长", "worker": "网格员", "full_time": "专职"}).to_csv(paths["staff"], index=False,
                                                                        encoding="utf-8-sig")
    located = gpd.sjoin(buildings, grids[["geometry"]], predicate="within")
    pd.DataFrame({"building_id": located.index, "grid_id": located["grid_id"],
                  "households": located["households"]}).to_csv(paths["assignments"], index=False)
    return paths


def test_cli_export_xlsx_and_gpkg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _files(tmp_path)
    out = tmp_path / "out"
    code = main(["--lang", "zh", "export", "--grids", str(f["grids"]), "--assignments", str(f["assignments"]),
                 "--staff", str(f["staff"]), "--format", "xlsx", "--out", str(out)])
    assert code == 0
    wb = load_workbook(out / "gridgeo.xlsx")
    assert wb.sheetnames == ["网格", "楼栋-网格对照", "网格员花名册", "网格人员配备"]
    roster = list(wb["网格员花名册"].iter_rows(values_only=True))
    assert "电话" in roster[0]
    phones = [r[roster[0].index("电话")] for r in roster[1:]]
    assert phones == ["138****1234", "139****5678", "137****1111"]   # masked by default
    code = main(["--lang", "en", "export", "--grids", str(f["grids"]), "--format", "gpkg", "--coords", "bd09",
                 "--out", str(out)])
    assert code == 0 and (out / "gridgeo_bd09.gpkg").exists()
    assert capsys.readouterr().out.strip().endswith("gridgeo_bd09.gpkg")


def test_cli_print_community(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _files(tmp_path)
    pdf = tmp_path / "sheets.pdf"
    code = main(["--lang", "en", "print", "--grids", str(f["grids"]), "--buildings", str(f["buildings"]), "--streets",
                 str(f["streets"]), "--staff", str(f["staff"]), "--community", CID, "--out", str(pdf)])
    assert code == 0
    pages = _pdf_text(pdf.read_bytes())
    assert len(pages) == 2 and f"{CID}002" in pages[1]
    code = main(["--lang", "en", "print", "--grids", str(f["grids"]), "--buildings", str(f["buildings"]), "--grid", "999",
                 "--out", str(pdf)])
    assert code == 2
    assert "999" in capsys.readouterr().err


def test_cli_export_geojson_roundtrip(tmp_path: Path) -> None:
    f = _files(tmp_path)
    out = tmp_path / "gj"
    assert main(["--lang", "en", "export", "--grids", str(f["grids"]), "--format", "geojson", "--out", str(out)]) == 0
    doc = json.loads((out / "grids.geojson").read_text(encoding="utf-8"))
    assert sorted(x["properties"]["grid_id"] for x in doc["features"]) == sorted(_layers()[0].index)
