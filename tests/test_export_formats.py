"""Every export opens where users open it: GDAL (QGIS, ArcGIS), web maps (RFC 7946), Excel.

Vector files are checked with GDAL's own command-line tool ``ogrinfo`` (installed
by ``make test``), not with the library that wrote them.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook
from shapely.geometry import Point, Polygon

from gridgeo.crs import wgs84_to_gcj02
from gridgeo.export import SHP_FIELDS, csv_bytes, export_layers, geojson_bytes, xlsx_bytes

LON, LAT = 116.44, 36.29
D = 0.002
NAMES = ["翠屏一网格", "翠屏二网格", "锦水三网格"]


def _grids() -> gpd.GeoDataFrame:
    # clockwise rings on purpose: the GeoJSON writer must turn them counter-clockwise
    cells = [Polygon([(LON + i * D, LAT), (LON + i * D, LAT + D), (LON + (i + 1) * D, LAT + D),
                      (LON + (i + 1) * D, LAT)]) for i in range(3)]
    # a vertex with many decimals: the GeoJSON keeps 7
    cells[0] = Polygon([(LON, LAT), (LON, LAT + D), (LON + D, LAT + D), (LON + D + 1.23456789e-5, LAT)])
    return gpd.GeoDataFrame({
        "grid_id": ["370124001001001", "370124001001002", "370124001002001"],
        "community_id": ["370124001001", "370124001001", "370124001002"],
        "name": NAMES, "kind": ["basic", "basic", "dedicated"], "households": [412, 387, 0],
        "polsby_popper": [0.71, 0.66, 0.78], "street_share": [0.8, 0.9, 1.0],
        "flags": ["", "unit_split", ""],
        "valid_from": pd.to_datetime(["2025-01-01"] * 3).tz_localize("Asia/Shanghai"),
        "locked": [False, True, False],
    }, geometry=cells, crs=4326).set_index("grid_id")


def _assignments() -> pd.DataFrame:
    return pd.DataFrame({"building_id": ["B1", "B2", "B3", "B3", "B4"],
                         "grid_id": ["370124001001001", "370124001001001", "370124001001001",
                                     "370124001001002", "370124001001002"],
                         "households": [200, 112, 100, 100, 287], "units": [2, 1, 1, 1, 3],
                         "unit_range": ["", "", "1-1", "2-2", ""], "estimated": [False] * 5})


def _staff() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"staff_id": ["S1", "S2"], "name": ["王勇敏", "刘丽超"], "role": ["leader", "worker"],
                             "grid_id": ["370124001001001", "370124001001001"],
                             "phone": ["138****1234", "139****5678"]},
                            geometry=[Point(LON + 0.0005, LAT + 0.0005), Point(LON + 0.001, LAT + 0.001)],
                            crs=4326).set_index("staff_id")


def ogrinfo(target: str, *args: str, layer: str | None = None) -> str:
    """Run GDAL's ogrinfo read-only and return what it printed (warnings included)."""
    cmd = ["ogrinfo", "-ro", *args, target, *([layer] if layer else [])]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


def layer_summary(text: str) -> dict[str, dict[str, object]]:
    """Parse ``ogrinfo -so -al`` into {layer: {geometry, count, fields, description, epsg}}."""
    layers: dict[str, dict[str, object]] = {}
    for block in text.split("Layer name: ")[1:]:
        name = block.splitlines()[0].strip()
        fields = re.findall(r"^(\S[^:\n]*): (?:String|Integer|Integer64|Real|Date|DateTime|Time)\b", block, re.M)
        layers[name] = {
            "geometry": (re.search(r"^Geometry: (.+)$", block, re.M) or [None, None])[1],
            "count": int(re.search(r"^Feature Count: (\d+)$", block, re.M)[1]),  # type: ignore[index]
            "fields": fields,
            "description": (re.search(r"^\s*DESCRIPTION=(.+)$", block, re.M) or [None, None])[1],
            "epsg4326": 'ID["EPSG",4326]' in block,
        }
    return layers


def test_geopackage_holds_every_layer_with_descriptions(tmp_path: Path) -> None:
    grids, assignments, staff = _grids(), _assignments(), _staff()
    [path] = export_layers({"grids": grids, "assignments": assignments, "staff": staff}, "gpkg", tmp_path)
    assert path.name == "gridgeo.gpkg"
    text = ogrinfo(str(path), "-so", "-al")
    assert "may only be partially supported" not in text      # GeoPackage 1.2: old GDAL reads it cleanly
    layers = layer_summary(text)
    assert set(layers) == {"grids", "assignments", "staff"}
    assert layers["grids"]["count"] == len(grids) and layers["grids"]["geometry"] == "Polygon"
    assert layers["grids"]["epsg4326"]
    assert layers["assignments"]["count"] == len(assignments) and layers["assignments"]["geometry"] == "None"
    assert layers["staff"]["count"] == len(staff) and layers["staff"]["geometry"] == "Point"
    assert {"grid_id", "community_id", "households", "valid_from", "kind"} <= set(layers["grids"]["fields"])  # type: ignore[operator]
    assert layers["grids"]["description"].startswith("网格")  # type: ignore[union-attr]
    # a Chinese value survives the round trip, read by GDAL
    row = ogrinfo(str(path), "-al", "-q", "-where", "grid_id = '370124001001002'", layer="grids")
    assert "name (String) = 翠屏二网格" in row
    assert "households (Integer64) = 387" in row or "households (Integer) = 387" in row
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_geojson_follows_rfc_7946(tmp_path: Path) -> None:
    grids = _grids()
    [path] = export_layers({"grids": grids}, "geojson", tmp_path)
    raw = path.read_text(encoding="utf-8")
    doc = json.loads(raw)
    assert "crs" not in doc
    assert "翠屏一网格" in raw                                # readable Chinese, not \u escapes
    for feature in doc["features"]:
        ring = np.array(feature["geometry"]["coordinates"][0])
        assert shapely.is_ccw(shapely.linearrings(ring))     # exterior counter-clockwise
    numbers = re.findall(r"-?\d+\.(\d+)", json.dumps([f["geometry"] for f in doc["features"]]))
    assert numbers and max(len(d) for d in numbers) <= 7
    first = np.array(doc["features"][0]["geometry"]["coordinates"][0])
    assert np.isclose(first[:, 0].max(), round(LON + D + 1.23456789e-5, 7), atol=1e-12)
    layers = layer_summary(ogrinfo(str(path), "-so", "-al"))
    [only] = layers.values()
    assert only["count"] == 3 and only["geometry"] == "Polygon"


def test_gcj02_export_is_shifted_and_says_so(tmp_path: Path) -> None:
    grids = _grids()
    [path] = export_layers({"grids": grids}, "geojson", tmp_path, coords="gcj02")
    assert path.name == "grids_gcj02.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["gridgeo"]["coords"] == "gcj02"
    x, y = wgs84_to_gcj02(np.array([LON + D]), np.array([LAT + D]))
    ring = np.array(doc["features"][1]["geometry"]["coordinates"][0])
    assert np.min(np.hypot(ring[:, 0] - x[0], ring[:, 1] - y[0])) < 2e-7
    assert abs(ring[:, 0].min() - LON) > 1e-4                 # really moved (hundreds of metres)


def test_zipped_shapefile_cuts_names_and_declares_encoding(tmp_path: Path) -> None:
    grids = _grids()
    [path] = export_layers({"grids": grids}, "shp", tmp_path)
    assert path.name == "grids.shp.zip"
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {"grids.shp", "grids.shx", "grids.dbf", "grids.prj", "grids.cpg", "grids_fields.txt"} <= names
        assert zf.read("grids.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
        note = zf.read("grids_fields.txt").decode("utf-8")
    layers = layer_summary(ogrinfo(f"/vsizip/{path}", "-so", "-al"))
    fields = layers["grids"]["fields"]
    assert all(len(f) <= 10 for f in fields)                  # type: ignore[union-attr]
    assert SHP_FIELDS["community_id"] in fields and SHP_FIELDS["polsby_popper"] in fields  # type: ignore[operator]
    assert f"{SHP_FIELDS['community_id']}\tcommunity_id" in note
    row = ogrinfo(f"/vsizip/{path}", "-al", "-q", "-where", "grid_id = '370124001002001'")
    assert "锦水三网格" in row


def test_gbk_shapefile_for_old_arcgis(tmp_path: Path) -> None:
    [path] = export_layers({"grids": _grids()}, "shp", tmp_path, shp_encoding="GBK")
    with zipfile.ZipFile(path) as zf:
        assert zf.read("grids.cpg").decode().strip().upper() == "GBK"
        dbf = zf.read("grids.dbf")
    assert "翠屏一网格".encode("gbk") in dbf                   # the bytes on disk really are GBK
    assert "翠屏一网格" in ogrinfo(f"/vsizip/{path}", "-al", "-q")  # and GDAL decodes them by the .cpg


def test_csv_has_bom_and_chinese_headers(tmp_path: Path) -> None:
    data = csv_bytes(_assignments())
    assert data.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(pd.io.common.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert list(frame.columns[:3]) == ["楼栋编码", "网格编码", "户数"]
    english = pd.read_csv(pd.io.common.BytesIO(csv_bytes(_assignments(), lang=None)), encoding="utf-8-sig")
    assert list(english.columns[:3]) == ["building_id", "grid_id", "households"]
    assert english["households"].sum() == _assignments()["households"].sum()


def test_xlsx_is_ready_for_excel(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(xlsx_bytes({"网格": _grids(), "楼栋-网格对照": _assignments()}))
    wb = load_workbook(path)
    assert wb.sheetnames == ["网格", "楼栋-网格对照"]
    ws = wb["网格"]
    assert ws.freeze_panes == "A2"
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["网格编码", "社区编码", "名称"]
    assert ws["A2"].value == "370124001001001" and ws["A2"].data_type == "s"   # a code, not 3.70124E+14
    assert ws.column_dimensions["A"].width >= len("370124001001001")
    households = [row[headers.index("户数")] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert households == [412, 387, 0]
    english = load_workbook(pd.io.common.BytesIO(xlsx_bytes({"grids": _grids()}, lang="en")))
    assert [c.value for c in english["grids"][1]][:2] == ["Grid code", "Community code"]


def test_point_layers_keep_lon_lat_in_tables(tmp_path: Path) -> None:
    written = export_layers({"staff": _staff()}, "csv", tmp_path, headers="en")
    frame = pd.read_csv(written[0], encoding="utf-8-sig")
    assert np.allclose(frame["Longitude"], _staff().geometry.x) and np.allclose(frame["Latitude"], _staff().geometry.y)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot export to the format 'kml'"):
        export_layers({"grids": _grids()}, "kml", tmp_path)


def test_geojson_bytes_matches_input_geometry() -> None:
    grids = _grids()
    doc = json.loads(geojson_bytes(grids))
    back = gpd.GeoDataFrame.from_features(doc["features"], crs=4326).set_index("grid_id")
    assert list(back.index) == list(grids.index)
    assert shapely.hausdorff_distance(back.geometry.to_numpy(), grids.geometry.to_numpy()).max() < 1e-7
    assert list(back["valid_from"].str[:10]) == ["2025-01-01"] * 3
