"""Loaders: every supported format reads the same data; bad input is named precisely."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from gridgeo import io
from gridgeo.errors import CRSError, GeometryError, GridgeoWarning, InputError, SchemaError

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def communities() -> gpd.GeoDataFrame:
    return io.read_communities(DATA / "communities.geojson")


@pytest.fixture(scope="module")
def expected_households() -> pd.Series:
    """Households per building, read with plain geopandas (independent of gridgeo.io)."""
    raw = gpd.read_file(DATA / "buildings.geojson")
    return raw.set_index("building_id")["households"].astype(int)


def test_communities_geojson(communities: gpd.GeoDataFrame) -> None:
    assert list(communities.index) == ["370124001001", "370124001002"]
    assert communities.index.name == "community_id"
    assert communities.crs.to_epsg() == 4326
    assert list(communities["name"]) == ["翠屏社区", "锦水社区"]


@pytest.mark.parametrize("name", ["buildings.geojson", "buildings_zh_utf8bom.csv", "buildings_zh_gbk.csv",
                                  "buildings_zh.xlsx", "buildings_wkt.csv", "buildings_cgcs2000_gk.geojson"])
def test_buildings_every_format_same_households(name: str, communities: gpd.GeoDataFrame,
                                                expected_households: pd.Series) -> None:
    b = io.read_buildings(DATA / name, communities=communities)
    assert b.index.name == "building_id"
    assert b["households"].sort_index().tolist() == expected_households.sort_index().tolist()
    # placed by location: B1xx in the west community, B2xx in the east one
    assert (b.loc[b.index.str.startswith("B1"), "community_id"] == "370124001001").all()
    assert (b.loc[b.index.str.startswith("B2"), "community_id"] == "370124001002").all()
    assert b.crs.to_epsg() == 4326


def test_projected_input_is_reprojected_to_lonlat() -> None:
    b = io.read_buildings(DATA / "buildings_cgcs2000_gk.geojson")
    ref = gpd.read_file(DATA / "buildings.geojson").set_index("building_id")
    # within a few centimetres after the round trip through CGCS2000 Gauss–Krüger
    diff = b.geometry.representative_point().to_crs(32650).distance(
        ref.geometry.representative_point().loc[b.index].to_crs(32650))
    assert float(diff.max()) < 0.05  # metres


def test_geopackage_named_layer_and_ambiguous_layer() -> None:
    c = io.read_communities(DATA / "district.gpkg")  # picks the layer named like the layer kind
    assert len(c) == 2
    b = io.read_buildings(DATA / "district.gpkg", gpkg_layer="buildings")
    assert len(b) == 10
    with pytest.raises(InputError, match=r"district.gpkg.*no layer named 'roads'.*communities, buildings"):
        io.read_streets(DATA / "district.gpkg", gpkg_layer="roads")


@pytest.mark.parametrize("name", ["communities_utf8.zip", "communities_gbk.zip"])
def test_zipped_shapefile_encodings(name: str) -> None:
    c = io.read_communities(DATA / name)
    assert sorted(c["name"]) == sorted(["翠屏社区", "锦水社区"])
    assert sorted(c["street"]) == ["榆山街道", "榆山街道"]
    assert "370124001001" in c.index  # truncated field 'community_' accepted


def test_missing_file() -> None:
    with pytest.raises(InputError, match=r"nope\.geojson: file not found\. Fix: check the path"):
        io.read_buildings(DATA / "nope.geojson")


def test_unknown_format() -> None:
    with pytest.raises(InputError, match=r"notes\.docx: unknown format|notes\.docx: unknown file format, got '\.docx'\. Fix: save it as one of: GeoJSON"):
        io.read_buildings(DATA / "notes.docx")


def test_missing_required_field_lists_accepted_headers() -> None:
    with pytest.raises(SchemaError) as err:
        io.read_buildings(DATA / "bad_missing_households.csv")
    msg = str(err.value)
    assert "bad_missing_households.csv" in msg
    assert "households" in msg and "户数" in msg
    assert "nothing was loaded" in msg


def test_bad_households_name_each_row_and_value() -> None:
    with pytest.raises(SchemaError) as err:
        io.read_buildings(DATA / "bad_households.csv")
    msg = str(err.value)
    # spreadsheet rows: header is row 1, so data row index 1 is row 3
    # the user's own header (户数) is named, not the internal field name
    assert "bad_households.csv row 3 (B101): 户数 must be a whole number ≥ 0, got '约300'" in msg
    assert "row 4 (B102)" not in msg   # 0 households: a non-residential building, accepted
    assert "row 5 (B103)" in msg and "got '-5'" in msg
    assert "Fix: enter a number such as 300" in msg
    assert err.value.problems and len(err.value.problems) == 2


def test_duplicate_ids() -> None:
    with pytest.raises(SchemaError, match=r"building_id 'B100' is used 2 times \(rows 2, 6\)"):
        io.read_buildings(DATA / "bad_duplicate_ids.csv")


def test_swapped_lonlat_is_recognised() -> None:
    with pytest.raises(CRSError, match=r"row 2 \(B100\): longitude and latitude look swapped.*Fix: swap"):
        io.read_buildings(DATA / "bad_swapped_lonlat.csv")


def test_out_of_range_coordinates() -> None:
    with pytest.raises(CRSError, match=r"row 4 \(B102\): coordinates lie outside China"):
        io.read_buildings(DATA / "bad_out_of_range.csv")


def test_no_crs_where_one_is_needed() -> None:
    with pytest.raises(CRSError, match=r"bad_no_crs.zip: declares no coordinate system.*Fix: include the .prj"):
        io.read_buildings(DATA / "bad_no_crs.zip")


def test_self_intersecting_polygon_rejected_when_repair_changes_area() -> None:
    with pytest.raises(GeometryError, match=r"\(B100\): geometry is invalid \(Self-intersection.*Fix: redraw"):
        io.read_buildings(DATA / "bad_bowtie.geojson")


def test_small_defect_repaired_and_reported(communities: gpd.GeoDataFrame) -> None:
    problems: list = []
    b = io.read_buildings(DATA / "repairable_spike.geojson", communities=communities, problems=problems)
    assert b.geometry.is_valid.all()
    repaired = [p for p in problems if p.code == "err.geom.repaired"]
    assert [p.feature_id for p in repaired] == ["B101"]
    # without a problems list the repair is a GridgeoWarning pointing at the file
    with pytest.warns(GridgeoWarning, match=r"repairable_spike.geojson \(B101\): geometry was invalid"):
        io.read_buildings(DATA / "repairable_spike.geojson")


def test_empty_geometry() -> None:
    with pytest.raises(GeometryError, match=r"\(B102\): geometry is empty"):
        io.read_buildings(DATA / "bad_empty_geometry.geojson")


def test_building_outside_every_community(communities: gpd.GeoDataFrame) -> None:
    with pytest.raises(GeometryError, match=r"\(B203\): lies outside every community.*Fix: check its coordinates"):
        io.read_buildings(DATA / "bad_building_outside.geojson", communities=communities)


def test_overlapping_communities() -> None:
    with pytest.raises(GeometryError, match=r"communities 370124001001 and 370124001002 overlap by [\d,]+ m²"):
        io.read_communities(DATA / "bad_overlapping_communities.geojson")


def test_building_in_two_overlapping_communities() -> None:
    # bypass the community check to see what buildings report on their own
    ov = gpd.read_file(DATA / "bad_overlapping_communities.geojson").set_index("community_id")
    with pytest.raises(GeometryError, match=r"\(B102\): lies in 2 overlapping communities \(370124001001, 370124001002\)"):
        io.read_buildings(DATA / "buildings.geojson", communities=ov)


def test_cases_gcj02_are_converted(tmp_path: Path) -> None:
    from gridgeo import crs

    lon, lat = 116.4455, 36.2912
    glon, glat = crs.convert_coords([lon], [lat], src="wgs84", dst="gcj02")
    csv = tmp_path / "cases.csv"
    csv.write_text(
        "工单编号,经度,纬度,类别,渠道,是否紧急,受理时间,办结时间\n"
        f"C1,{glon[0]:.8f},{glat[0]:.8f},物业管理,12345热线,是,2026-03-02 09:00,2026-03-02 17:00\n",
        encoding="utf-8")
    cases = io.read_cases(csv, coords="gcj02")
    p = cases.geometry.iloc[0]
    assert abs(p.x - lon) < 1e-6 and abs(p.y - lat) < 1e-6
    assert bool(cases["urgent"].iloc[0]) is True
    assert str(cases["created_at"].dt.tz) == "Asia/Shanghai"
    raw = io.read_cases(csv)  # read as WGS 84 the same file is several hundred metres off
    assert abs(raw.geometry.iloc[0].x - lon) > 1e-3


def test_check_file_collects_without_raising() -> None:
    checked = io.check_file("buildings", DATA / "bad_households.csv")
    assert not checked.ok and checked.frame is None
    assert [p.row for p in checked.errors] == [3, 5]


def test_failed_district_load_returns_nothing(tmp_path: Path) -> None:
    (tmp_path / "communities.geojson").write_bytes((DATA / "communities.geojson").read_bytes())
    (tmp_path / "buildings.csv").write_bytes((DATA / "bad_households.csv").read_bytes())
    with pytest.raises(SchemaError, match="buildings.csv row 3"):
        io.read_district(tmp_path)


def test_district_folder_by_names(tmp_path: Path) -> None:
    (tmp_path / "communities.geojson").write_bytes((DATA / "communities.geojson").read_bytes())
    (tmp_path / "buildings.geojson").write_bytes((DATA / "buildings.geojson").read_bytes())
    d = io.read_district(tmp_path)
    assert int(d.buildings["households"].sum()) == int(gpd.read_file(DATA / "buildings.geojson")["households"].sum())
    assert d.streets is None and d.cases is None


def test_blank_yes_no_cell_is_unknown_not_no(tmp_path: Path) -> None:
    csv = tmp_path / "cases.csv"
    csv.write_text(
        "case_id,lon,lat,category,channel,created_at,closed_at,satisfied,urgent\n"
        "C1,116.4455,36.2912,物业管理,12345热线,2026-03-02 09:00,2026-03-03 10:00,否,\n"
        "C2,116.4456,36.2913,物业管理,网格巡查,2026-03-02 09:00,,,是\n", encoding="utf-8")
    cases = io.read_cases(csv)
    assert cases.loc["C1", "satisfied"] == False  # noqa: E712 - an explicit 否
    assert pd.isna(cases.loc["C2", "satisfied"])  # open case: not yet asked
    assert cases["urgent"].tolist() == [False, True]  # blank urgent takes the default (not urgent)


def test_extra_columns_are_kept_and_geometry_columns_are_not(tmp_path: Path) -> None:
    b = io.read_buildings(DATA / "buildings_zh_utf8bom.csv")
    assert b.loc["B100", "name"] == "翠屏路0号"  # 地址 is an accepted header for name
    assert "经度" not in b.columns and "纬度" not in b.columns
    staff = tmp_path / "staff.csv"
    staff.write_text("工号,姓名,岗位,专兼职,经度,纬度,备注\nS1,张三,网格员,兼职,116.44,36.29,快递员\n",
                     encoding="utf-8")
    s = io.read_staff(staff)
    assert s.loc["S1", "备注"] == "快递员" and s.loc["S1", "role"] == "worker"
    assert s.loc["S1", "employment"] == "part_time"


def test_district_is_named_after_its_street_never_after_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "communities"
    folder.mkdir()
    for name in ("communities.geojson", "buildings.geojson"):
        (folder / name).write_bytes((DATA / name).read_bytes())
    streets = gpd.read_file(DATA / "communities.geojson")["street"]
    assert io.read_district(folder).name == streets.value_counts().index[0]
    (folder / "district.json").write_text('{"name": "平阴县城区", "layers": {"communities": "communities.geojson", '
                                          '"buildings": "buildings.geojson"}}', encoding="utf-8")
    assert io.read_district(folder).name == "平阴县城区"
