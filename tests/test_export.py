"""Plan exports: what QGIS, web maps and Excel read back, and the CLI that writes them."""

from __future__ import annotations

import io as stdio
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridgeo.cli import main
from gridgeo.crs import convert_geometries, wgs84_to_gcj02
from gridgeo.export import assignments_csv, grids_geojson, write_plan
from tests.partition_cases import Bld, Com, frames, grid_of_buildings, local_box

CID_A, CID_B = "370124001001", "370124001002"


def _grids() -> gpd.GeoDataFrame:
    clockwise = shapely.Polygon([(116.44, 36.29), (116.44, 36.30), (116.45, 36.30), (116.45, 36.29)])
    return gpd.GeoDataFrame(
        {"community_id": [CID_A], "households": [412], "flags": ["compound_split"]},
        geometry=[clockwise], index=pd.Index([f"{CID_A}001"], name="grid_id"), crs=4326)


def test_grids_geojson_is_rfc7946() -> None:
    data = json.loads(grids_geojson(_grids()))
    assert "crs" not in data                                   # RFC 7946: WGS 84 implied
    feature = data["features"][0]
    assert feature["properties"]["grid_id"] == f"{CID_A}001" and feature["properties"]["households"] == 412
    ring = feature["geometry"]["coordinates"][0]
    assert all(73 < lon < 136 and 3 < lat < 54 for lon, lat in ring)   # lon, lat order
    # exterior counter-clockwise (right-hand rule): positive shoelace area, although the input was clockwise
    signed = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2
    assert signed > 0


def test_grids_in_a_metric_crs_are_exported_in_lon_lat() -> None:
    data = json.loads(grids_geojson(_grids().to_crs(32650)))
    lon, lat = data["features"][0]["geometry"]["coordinates"][0][0]
    assert abs(lon - 116.44) < 0.011 and abs(lat - 36.29) < 0.011


def test_assignments_csv_has_a_bom_and_reads_back() -> None:
    assignments = pd.DataFrame({"building_id": ["翠屏1号楼"], "grid_id": [f"{CID_A}001"], "households": [412]})
    raw = assignments_csv(assignments)
    assert raw.startswith("\ufeff".encode())                  # Excel reads UTF-8 with a BOM
    back = pd.read_csv(stdio.BytesIO(raw), encoding="utf-8-sig", dtype={"grid_id": str})
    pd.testing.assert_frame_equal(back, assignments)


def test_write_plan_replaces_files_whole(tmp_path: Path) -> None:
    (tmp_path / "grids.geojson").write_text("old", encoding="utf-8")
    g, a = write_plan(_grids(), pd.DataFrame({"building_id": ["B1"], "grid_id": ["x"], "households": [1]}), tmp_path)
    assert len(gpd.read_file(g)) == 1 and len(pd.read_csv(a)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assignments.csv", "grids.geojson"]  # no temp files left


def _district(folder: Path) -> gpd.GeoDataFrame:
    """Two communities: 8 × 110 = 880 households (2–2 grids) and 550 (infeasible)."""
    coms = [Com(CID_A, local_box(0, 0, 300, 300), grid_of_buildings("A", 40, 60, 4, 2, 70, 150, [110])),
            Com(CID_B, local_box(300, 0, 600, 300), grid_of_buildings("B", 340, 60, 5, 1, 50, 0, [110]))]
    c, b, _ = frames(coms)
    folder.mkdir()
    c.to_file(folder / "communities.geojson")
    b.drop(columns="community_id").to_file(folder / "buildings.geojson")   # placed by location
    return b


def test_cli_partition_writes_the_plan_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    buildings = _district(tmp_path / "in")
    code = main(["--lang", "en", "partition", "--communities", str(tmp_path / "in" / "communities.geojson"),
                 "--buildings", str(tmp_path / "in" / "buildings.geojson"), "--seed", "3",
                 "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    grids = gpd.read_file(tmp_path / "out" / "grids.geojson")
    asg = pd.read_csv(tmp_path / "out" / "assignments.csv", dtype={"grid_id": str, "building_id": str})
    assert {"grid_id", "community_id", "households", "buildings", "polsby_popper", "flags"} <= set(grids.columns)
    assert {"building_id", "grid_id", "households", "units"} <= set(asg.columns)
    # every household once; grid totals are the sums of their buildings
    assert asg.groupby("building_id")["households"].sum().to_dict() == buildings["households"].astype(int).to_dict()
    per_grid = asg.groupby("grid_id")["households"].sum()
    assert per_grid.to_dict() == grids.set_index("grid_id")["households"].to_dict()
    feasible = grids[grids["community_id"] == CID_A]
    assert len(feasible) == 2 and feasible["households"].between(300, 500).all()
    assert (grids[grids["community_id"] == CID_B]["flags"].str.contains("infeasible_community")).all()
    # one summary line per community, the infeasible one marked and explained
    line_b = next(line for line in out.splitlines() if CID_B in line)
    assert line_b.startswith("!!") and "550" in line_b and "275" in line_b
    assert next(line for line in out.splitlines() if CID_A in line).startswith("ok")


def test_cli_partition_bad_input_exits_2_and_writes_nothing(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    _district(tmp_path / "in")
    bad = gpd.read_file(tmp_path / "in" / "buildings.geojson")
    bad.loc[3, "households"] = -5
    bad.to_file(tmp_path / "in" / "bad.geojson")
    code = main(["--lang", "en", "partition", "--communities", str(tmp_path / "in" / "communities.geojson"),
                 "--buildings", str(tmp_path / "in" / "bad.geojson"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.geojson" in err and "households" in err
    assert not (tmp_path / "out").exists()


def test_cli_partition_reads_gcj02_coordinates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A district delivered in GCJ-02 (AMap) is shifted back to WGS 84 before anything is measured."""
    buildings = _district(tmp_path / "in")
    communities = gpd.read_file(tmp_path / "in" / "communities.geojson")
    convert_geometries(communities, src="wgs84", dst="gcj02").to_file(tmp_path / "in" / "communities_gcj.geojson")
    pts = buildings.geometry.representative_point()
    lon, lat = wgs84_to_gcj02(pts.x.to_numpy(), pts.y.to_numpy())
    pd.DataFrame({"building_id": buildings.index, "households": buildings["households"].astype(int),
                  "lon": lon, "lat": lat}).to_csv(tmp_path / "in" / "gcj.csv", index=False)
    code = main(["--lang", "en", "partition", "--communities", str(tmp_path / "in" / "communities_gcj.geojson"),
                 "--buildings", str(tmp_path / "in" / "gcj.csv"), "--coords", "gcj02",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    grids = gpd.read_file(tmp_path / "out" / "grids.geojson")
    # the output is WGS 84 again: the grids tile the original (unshifted) communities, to within 1 m²
    original = communities.set_index("community_id").to_crs(32650)
    for cid, geom in original.geometry.items():
        mine = shapely.union_all(grids[grids["community_id"] == cid].to_crs(32650).geometry.to_numpy())
        assert shapely.symmetric_difference(mine, geom).area < 1.0, cid


def test_exported_files_are_readable_by_the_group(tmp_path: Path) -> None:
    import stat
    paths = write_plan(_grids(), pd.DataFrame({"building_id": ["B1"], "grid_id": ["x"], "households": [1]}), tmp_path)
    for p in paths:
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, oct(p.stat().st_mode)


def test_assignments_csv_headers_in_the_users_language_read_back_by_io(tmp_path: Path) -> None:
    from gridgeo.schema import LAYERS
    assignments = pd.DataFrame({"building_id": ["B1"], "grid_id": [f"{CID_A}001"], "households": [412],
                                "units": pd.array([3], dtype="Int64"), "unit_range": [""], "estimated": [False]})
    zh = pd.read_csv(stdio.BytesIO(assignments_csv(assignments, lang="zh")), encoding="utf-8-sig")
    assert list(zh.columns) == ["楼栋编码", "网格编码", "户数", "单元数", "单元范围", "单元数为估算"]
    en = pd.read_csv(stdio.BytesIO(assignments_csv(assignments, lang="en")), encoding="utf-8-sig")
    assert list(en.columns)[:3] == ["Building", "Grid code", "Households"]
    # the Chinese headers of the fields a buildings file carries are ones the loader accepts
    aliases = {a for f in LAYERS["buildings"].fields for a in f.aliases}
    assert {"楼栋编码", "户数", "单元数"} <= aliases
    assert assignments_csv(assignments).startswith("\ufeffbuilding_id".encode())


def test_grids_geojson_keeps_flag_codes_and_adds_their_words() -> None:
    from gridgeo.i18n import t
    props = json.loads(grids_geojson(_grids(), words="zh"))["features"][0]["properties"]
    assert props["flags"] == "compound_split"                          # the code, for filters and joins
    assert props["flags_text"] == t("flag.compound_split", "zh") != "compound_split"
    assert "flags_text" not in json.loads(grids_geojson(_grids()))["features"][0]["properties"]
