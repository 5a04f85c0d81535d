"""The Export page (导出) through AppTest: a city's own grids file in, XLSX/GeoPackage and grid sheets out."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from gridgeo.i18n import t
from pages._ui import K

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180


def _district(folder: Path, *, grids: bool = True, bad_grids: bool = False) -> gpd.GeoDataFrame:
    """Two communities with buildings, and the grids the city already drew (3 grids)."""
    folder.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame({"community_id": ["370124001001", "370124001002"], "name": ["翠屏社区", "锦水社区"]},
                     geometry=[box(116.440, 36.290, 116.446, 36.294), box(116.446, 36.290, 116.450, 36.294)],
                     crs=4326).to_file(folder / "communities.geojson")
    households = [180, 220, 150, 260, 310, 240]
    xs = [116.4405, 116.4415, 116.4435, 116.4445, 116.4465, 116.4480]
    buildings = gpd.GeoDataFrame({"building_id": [f"B{i}" for i in range(6)], "households": households,
                                  "name": [f"{i + 1}号楼" for i in range(6)]},
                                 geometry=[box(x, 36.2915, x + 0.0004, 36.2919) for x in xs], crs=4326)
    buildings.to_file(folder / "buildings.geojson")
    if grids:
        g = gpd.GeoDataFrame({"网格编码" if not bad_grids else "编号x": ["370124001001001", "370124001001002",
                                                                      "370124001002001"],
                              "网格名称": ["翠屏一网格", "翠屏二网格", "锦水一网格"]},
                             geometry=[box(116.440, 36.290, 116.443, 36.294), box(116.443, 36.290, 116.446, 36.294),
                                       box(116.446, 36.290, 116.450, 36.294)], crs=4326)
        g.to_file(folder / "grids.geojson")
    return buildings


def _page(district: Path, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "export.py"), default_timeout=TIMEOUT)
    at.session_state[K.DISTRICT] = str(district)
    at.session_state[K.LANG] = lang
    return at.run()


def _expected_households(buildings: gpd.GeoDataFrame) -> dict[str, int]:
    # independent route: the grids split the x axis at 116.443 and 116.446
    def grid_of(x: float) -> str:
        return "370124001001001" if x < 116.443 else "370124001001002" if x < 116.446 else "370124001002001"
    out: dict[str, int] = {}
    for geom, h in zip(buildings.geometry, buildings["households"]):
        gid = grid_of(geom.bounds[0])
        out[gid] = out.get(gid, 0) + int(h)
    return out


def test_existing_grids_export_to_xlsx_with_recounted_households(tmp_path: Path) -> None:
    buildings = _district(tmp_path / "d")
    at = _page(tmp_path / "d")
    assert not at.exception
    assert any(t("app.grids_source.file", "zh") in i.value for i in at.info)
    at.selectbox(key="export_format_zh").set_value("xlsx").run()
    at.button(key="export_prepare").click().run()
    assert not at.exception
    name, _, data = at.session_state["export_file"]
    assert name == "gridgeo_xlsx.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        wb = load_workbook(io.BytesIO(zf.read("gridgeo.xlsx")))
    rows = list(wb["网格"].iter_rows(values_only=True))
    header = rows[0]
    counted = {r[header.index("网格编码")]: r[header.index("户数")] for r in rows[1:]}
    assert counted == _expected_households(buildings)
    assert {r[header.index("社区名称")] for r in rows[1:]} == {"翠屏社区", "锦水社区"}


def test_geopackage_in_gcj02_and_grid_sheets(tmp_path: Path) -> None:
    _district(tmp_path / "d")
    at = _page(tmp_path / "d")
    at.multiselect(key="export_layers_zh").set_value(["grids", "buildings", "communities"]).run()
    at.selectbox(key="export_coords_zh").set_value("gcj02").run()
    at.button(key="export_prepare").click().run()
    assert not at.exception
    name, _, data = at.session_state["export_file"]
    assert name == "gridgeo_gcj02.gpkg"
    path = tmp_path / name
    path.write_bytes(data)
    assert sorted(pyogrio.list_layers(path)[:, 0]) == ["buildings", "communities", "grids"]
    assert pyogrio.read_info(path, layer="grids")["dataset_metadata"]["gridgeo_coords"] == "gcj02"
    at.selectbox(key="export_sheet_community").set_value("370124001001").run()
    at.button(key="export_sheets_make").click().run()
    assert not at.exception
    community, pages, pdf = at.session_state["export_sheets"]
    assert community == "370124001001" and pages == 2
    text = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(text) == 2 and "370124001001002" in text[1]


def test_a_bad_grids_file_is_named(tmp_path: Path) -> None:
    _district(tmp_path / "d", bad_grids=True)
    at = _page(tmp_path / "d")
    assert not at.exception
    assert at.error and "grids.geojson" in at.error[0].value and "grid_id" in at.error[0].value


def _results_inputs(folder: Path) -> None:
    """Staff (one leader with a full phone number), two cases and a station beside the three grids."""
    pd.DataFrame({"staff_id": ["S1", "S2"], "name": ["王勇敏", "刘丽超"], "role": ["leader", "worker"],
                  "employment": ["full_time", "full_time"], "phone": ["13812341234", "13998765678"],
                  "lon": [116.4412, 116.4447], "lat": [36.2921, 36.2921],
                  "grid_id": ["370124001001001", "370124001001002"]}).to_csv(folder / "staff.csv", index=False,
                                                                             encoding="utf-8-sig")
    pd.DataFrame({"case_id": ["C1", "C2"], "category": ["噪音扰民", "垃圾堆放"], "channel": ["12345热线"] * 2,
                  "urgent": [0, 0], "created_at": ["2025-11-03T09:00+08:00", "2025-11-04T10:00+08:00"],
                  "closed_at": ["2025-11-04T09:00+08:00", ""], "status": ["closed", "open"], "satisfied": [1, ""],
                  "department": ["物业公司"] * 2, "lon": [116.4417, 116.4480], "lat": [36.2917, 36.2917]}) \
        .to_csv(folder / "cases.csv", index=False, encoding="utf-8-sig")
    gpd.GeoDataFrame({"station_id": ["ST1"], "name": ["翠屏社区党群服务中心"], "kind": ["party_mass_centre"]},
                     geometry=[box(116.4420, 36.2920, 116.4421, 36.2921).centroid], crs=4326) \
        .to_file(folder / "stations.geojson")


def test_every_result_in_one_geopackage_with_masked_phones(tmp_path: Path) -> None:
    _district(tmp_path / "d")
    at = _page(tmp_path / "d")
    assert any(t("export.input.staff", "zh") in m.value for m in at.markdown)   # missing inputs are named
    _results_inputs(tmp_path / "d")
    at = _page(tmp_path / "d")
    assert not at.exception
    assert not any(t("export.inputs_missing", "zh") in m.value for m in at.markdown)
    offered = at.multiselect(key="export_layers_zh").options
    assert {t(f"export.layer_name.{n}", "zh") for n in ("staff", "grid_staffing", "cases", "hotspots",
                                                       "compliance", "coverage_grids", "sites")} <= set(offered)
    at.button(key="export_prepare").click().run()
    assert not at.exception
    name, _, data = at.session_state["export_file"]
    path = tmp_path / name
    path.write_bytes(data)
    layers = set(pyogrio.list_layers(path)[:, 0])
    assert {"grids", "staff", "grid_staffing", "cases", "hotspots", "compliance", "coverage_grids"} <= layers
    staff = pyogrio.read_dataframe(path, layer="staff")
    assert sorted(staff["phone"]) == ["138****1234", "139****5678"]            # masked unless asked
    cases = pyogrio.read_dataframe(path, layer="cases").set_index("case_id")
    assert cases["grid_id"].to_dict() == {"C1": "370124001001001", "C2": "370124001002001"}
    per_grid = pyogrio.read_dataframe(path, layer="grid_staffing").set_index("grid_id")
    assert per_grid.loc["370124001001001", "leaders"] == 1 and "no_leader" in per_grid.loc["370124001001002", "flags"]


def test_a_store_version_exports_the_staffing_saved_with_it(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The staff layer of a version with saved staffing is that staffing, not a fresh assignment."""
    from gridgeo.plans.store import Workspace
    from pages._ui import DEMO_PATH
    from pages._plans_ui import workspace_path

    monkeypatch.setenv("GRIDGEO_WORKSPACE_DIR", str(tmp_path))
    at = _page(Path(DEMO_PATH))                       # the first visit creates the workspace (v1 = default plan)
    assert not at.exception
    ws = Workspace.open(workspace_path(DEMO_PATH))
    staff = pd.read_csv(Path(DEMO_PATH) / "staff.csv", dtype=str, keep_default_na=False)
    placed = staff[staff["grid_id"] != ""]
    # a staffing no optimiser would make: every leader of the first two grids swapped with the other's
    g1, g2 = sorted(set(placed["grid_id"]))[:2]
    swap = {g1: g2, g2: g1}
    table = pd.DataFrame({"staff_id": placed["staff_id"], "role": placed["role"],
                          "grid_id": [swap.get(g, g) if r == "leader" else g
                                      for g, r in zip(placed["grid_id"], placed["role"])]})
    table.attrs["staffing_table_version"] = 1
    assert ws.save_tables("v1", {"staffing": table}, author="测试") == "v2"
    at = _page(Path(DEMO_PATH))
    assert not at.exception
    at.multiselect(key="export_layers_zh").set_value(["staff"]).run()
    at.button(key="export_prepare").click().run()
    assert not at.exception
    name, _, data = at.session_state["export_file"]
    path = tmp_path / name
    path.write_bytes(data)
    exported = pyogrio.read_dataframe(path, layer="staff", read_geometry=False).set_index("staff_id")
    expected = table.set_index("staff_id")["grid_id"]
    assert exported.loc[expected.index, "grid_id"].tolist() == expected.tolist()
    leaders = table[table["role"] == "leader"]
    assert set(exported.loc[leaders[leaders["grid_id"] == g2]["staff_id"], "grid_id"]) == {g2}
