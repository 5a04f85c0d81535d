"""Every result in one export: staffing, cases with grid codes, hotspots, compliance, coverage, sites.

Files are written by the CLI and read back with GDAL's ``ogrinfo`` or openpyxl;
expected figures are hand counts on the fixture (three grids of about 200 m).
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point

from gridgeo.cli import main
from gridgeo.export import export_layers
from gridgeo.export.results import result_layers
from gridgeo.i18n import t
from tests.test_export_formats import layer_summary, ogrinfo
from tests.test_sheets import CID, D, LAT, LON, _files, _layers

# cases: (grid index, x, y within the grid in D units, days to close or None)
CASES = [(0, 0.2, 0.3, 2), (0, 0.6, 0.5, None), (0, 0.3, 0.8, 40), (1, 0.5, 0.5, 1), (2, 0.4, 0.4, 3)]
ORIGINS = [(LON, LAT), (LON + D, LAT), (LON, LAT + D)]


def _cases_csv(path: Path) -> Path:
    rows = []
    for i, (g, fx, fy, days) in enumerate(CASES):
        x0, y0 = ORIGINS[g]
        created = pd.Timestamp("2025-11-03 09:00:00.250", tz="Asia/Shanghai") + pd.Timedelta(hours=i)
        closed = "" if days is None else (created + pd.Timedelta(days=days)).isoformat()
        rows.append({"case_id": f"C{i + 1}", "category": "噪音扰民", "channel": "12345热线", "urgent": 0,
                     "created_at": created.isoformat(), "closed_at": closed,
                     "status": "open" if days is None else "closed", "satisfied": 1, "department": "物业公司",
                     "lon": x0 + fx * D, "lat": y0 + fy * D})
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _stations(path: Path) -> Path:
    gpd.GeoDataFrame({"station_id": ["ST1"], "name": ["翠屏社区党群服务中心"], "kind": ["party_mass_centre"]},
                     geometry=[Point(LON - 3 * D, LAT)], crs=4326).to_file(path)   # > 500 m from every home
    return path


def _all_files(tmp_path: Path) -> dict[str, Path]:
    f = _files(tmp_path)
    f["cases"] = _cases_csv(tmp_path / "cases.csv")
    f["stations"] = _stations(tmp_path / "stations.geojson")
    # the roster with homes (lon/lat, one left blank): staffing reads rosters with a location column
    staff = pd.read_csv(f["staff"], encoding="utf-8-sig", dtype=str)
    staff["经度"] = [str(LON + 0.5 * D), str(LON + 1.5 * D), ""]
    staff["纬度"] = [str(LAT + 0.5 * D), str(LAT + 0.5 * D), ""]
    staff.to_csv(f["staff"], index=False, encoding="utf-8-sig")
    return f


def _export(f: dict[str, Path], fmt: str, out: Path, *extra: str) -> int:
    return main(["--lang", "zh", "export", "--grids", str(f["grids"]), "--assignments", str(f["assignments"]),
                 "--buildings", str(f["buildings"]), "--streets", str(f["streets"]), "--staff", str(f["staff"]),
                 "--cases", str(f["cases"]), "--stations", str(f["stations"]), "--sites", "1",
                 "--format", fmt, "--out", str(out), *extra])


def test_geopackage_of_everything_opens_in_gdal_with_the_hand_counted_figures(tmp_path: Path) -> None:
    f = _all_files(tmp_path)
    gpkg = tmp_path / "all.gpkg"
    assert _export(f, "gpkg", gpkg) == 0
    text = ogrinfo(str(gpkg), "-so", "-al")
    assert "Non-conformant" not in text                           # datetimes written as GeoPackage wants them
    layers = layer_summary(text)
    assert set(layers) == {"grids", "assignments", "staff", "grid_staffing", "cases", "hotspots", "compliance",
                           "coverage_grids", "sites"}
    for name, info in layers.items():
        assert info["description"] == t(f"export.layer.{name}", "zh"), name    # Chinese description per layer
    assert layers["cases"]["count"] == len(CASES) and layers["cases"]["geometry"] == "Point"
    assert layers["grid_staffing"]["geometry"] in ("Polygon", "Multi Polygon")
    sites = pyogrio.read_dataframe(gpkg, layer="sites")
    assert len(sites) == 1 and 0 < sites["households_gained"].iloc[0] <= _layers()[1]["households"].sum()
    # cases with grid codes: the grid is the box each case was drawn in
    cases = pyogrio.read_dataframe(gpkg, layer="cases").set_index("case_id")
    grid_ids = list(_layers()[0].index)
    assert cases["grid_id"].to_dict() == {f"C{i + 1}": grid_ids[g] for i, (g, *_r) in enumerate(CASES)}
    # staffing per grid: the roster puts a leader and a worker in grid 001, a worker in 002
    staffing = pyogrio.read_dataframe(gpkg, layer="grid_staffing").set_index("grid_id")
    assert staffing.loc[f"{CID}001", "leaders"] == 1 and staffing.loc[f"{CID}002", "leaders"] == 0
    assert "no_leader" in staffing.loc[f"{CID}002", "flags"]                   # the code stays for QGIS …
    assert t("staffing.flag.no_leader", "zh") in staffing.loc[f"{CID}002", "flags_text"]   # … words beside it
    roster = pyogrio.read_dataframe(gpkg, layer="staff")
    assert sorted(roster["phone"]) == ["137****1111", "138****1234", "139****5678"]   # masked by default
    # compliance: received cases per grid, counted by hand
    compliance = pyogrio.read_dataframe(gpkg, layer="compliance").set_index("grid_id")
    expected = pd.Series([grid_ids[g] for g, *_r in CASES]).value_counts()
    assert compliance["received"].to_dict() == expected.to_dict()
    # coverage: households per grid are the buildings' sum (the fixture's grid totals, divided in 3 buildings)
    coverage = pyogrio.read_dataframe(gpkg, layer="coverage_grids").set_index("grid_id")
    buildings = _layers()[1]
    per_grid = {g: int(buildings["households"].iloc[3 * i:3 * i + 3].sum()) for i, g in enumerate(grid_ids)}
    assert coverage["households"].to_dict() == per_grid
    assert (coverage["within_500"] == 0).all() and (coverage["within_1000"] <= coverage["households"]).all()


def test_gpkg_datetimes_are_whole_seconds_in_utc_and_read_without_warnings(tmp_path: Path) -> None:
    stamps = pd.to_datetime(["2025-11-03 09:00:00.250", "2025-11-03 17:30:59.999"]).tz_localize("Asia/Shanghai")
    frame = gpd.GeoDataFrame({"created_at": stamps}, geometry=[Point(LON, LAT), Point(LON + D, LAT)], crs=4326,
                             index=pd.Index(["C1", "C2"], name="case_id"))
    [path] = export_layers({"cases": frame}, "gpkg", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = pyogrio.read_dataframe(path, layer="cases")
    raw = subprocess.run(["ogrinfo", "-ro", "-al", "-q", str(path)], capture_output=True, text=True, check=True)
    assert "Non-conformant" not in raw.stdout + raw.stderr
    assert list(back["created_at"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S")) == \
        ["2025-11-03T01:00:00", "2025-11-03T09:31:00"]               # rounded to the second, in UTC


def test_xlsx_of_everything_has_a_sheet_per_result_in_words(tmp_path: Path) -> None:
    f = _all_files(tmp_path)
    assert _export(f, "xlsx", tmp_path / "x", "--headers", "en") == 0
    wb = load_workbook(tmp_path / "x" / "gridgeo.xlsx")
    assert wb.sheetnames == [t(f"export.sheet.{n}", "en") for n in
                             ("grids", "assignments", "staff", "grid_staffing", "cases", "hotspots", "compliance",
                              "coverage_grids", "sites")]
    ws = wb[t("export.sheet.grid_staffing", "en")]
    header = [c.value for c in ws[1]]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert "no leader" in rows[f"{CID}002"][header.index("Flags")]         # words, not no_leader
    assert ws.freeze_panes == "A2"


def test_full_phones_only_on_request_and_missing_inputs_are_named(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    f = _all_files(tmp_path)
    assert _export(f, "csv", tmp_path / "c", "--show-phones", "--layers", "staff") == 0
    roster = pd.read_csv(tmp_path / "c" / "staff.csv", encoding="utf-8-sig", dtype=str)
    assert sorted(roster["电话"]) == ["13700001111", "13812341234", "13998765678"]
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["staff.csv"]
    capsys.readouterr()
    code = main(["--lang", "en", "export", "--grids", str(f["grids"]), "--format", "csv", "--out",
                 str(tmp_path / "d")])
    assert code == 0
    err = capsys.readouterr().err
    assert all(f"give --{name} FILE" in err for name in ("staff", "cases", "stations", "buildings"))


def test_result_layers_say_which_inputs_are_missing() -> None:
    grids, buildings, _, _ = _layers()
    done = result_layers(grids, buildings=buildings)
    assert done.layers == {} and set(done.missing) == {"staff", "cases", "stations"}
