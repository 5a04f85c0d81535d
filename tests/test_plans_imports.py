"""Existing grids come in: a polygons layer or a 楼栋-网格对照表; every problem named, nothing half-imported."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridgeo.errors import InputError
from gridgeo.export import write_plan
from gridgeo.plans.imports import import_grids, import_table
from tests.plans_support import COMMUNITIES, small_district, small_partition


def _grids_file(tmp_path: Path, grids: gpd.GeoDataFrame) -> Path:
    path = tmp_path / "grids.geojson"
    grids.reset_index()[["grid_id", "community_id", "geometry"]].to_file(path, driver="GeoJSON")
    return path


def test_a_clean_grids_layer_becomes_a_version_with_households_recounted(tmp_path: Path) -> None:
    d, r = small_district(), small_partition()
    out = r.grids.assign(name=[f"第{i + 1}网格" for i in range(len(r.grids))], kind="basic")
    path = tmp_path / "grids.geojson"
    out.reset_index()[["grid_id", "name", "community_id", "kind", "geometry"]].to_file(path, driver="GeoJSON")
    plan = import_grids(d, path)
    assert list(plan.grids.index) == list(r.grids.index)
    assert plan.grids.at[r.grids.index[0], "name"] == "第1网格"
    # independent count: each building's representative point tested against every grid polygon
    expected: dict[str, int] = {}
    for bid, geom in d.buildings.geometry.items():
        point = geom.representative_point()
        inside = [gid for gid, poly in r.grids.geometry.items() if poly.covers(point)]
        assert len(inside) >= 1, bid
        expected[inside[0]] = expected.get(inside[0], 0) + int(d.buildings.at[bid, "households"])
    assert plan.grids["households"].to_dict() == {g: expected.get(g, 0) for g in r.grids.index}
    assert plan.grids["households"].sum() == d.buildings["households"].sum() == 8148
    assert len(plan.assignments) == len(d.buildings) and plan.meta["format"] == "grids"


def test_overlapping_grids_and_a_building_in_two_are_named(tmp_path: Path) -> None:
    d, r = small_district(), small_partition()
    g = r.grids.copy()
    first = g.index[0]
    metric = g.to_crs(g.estimate_utm_crs())
    g.loc[first, "geometry"] = gpd.GeoSeries([metric.geometry.iloc[0].buffer(60)], crs=metric.crs) \
        .to_crs(4326).iloc[0]
    with pytest.raises(InputError, match=r"nothing was imported") as info:
        import_grids(d, _grids_file(tmp_path, g))
    text = str(info.value)
    codes = {p.code for p in info.value.problems}
    assert "err.plans.import.overlap" in codes and "err.plans.import.two_grids" in codes
    assert f"({first}): overlaps grid" in text
    neighbours = [p for p in info.value.problems if p.code == "err.plans.import.two_grids"]
    assert all(first in str(p.params["grids"]) for p in neighbours)


def test_a_missing_grid_leaves_a_gap_and_buildings_in_none(tmp_path: Path) -> None:
    d, r = small_district(), small_partition()
    dropped = r.grids.index[2]
    g = r.grids.drop(index=[dropped])
    with pytest.raises(InputError) as info:
        import_grids(d, _grids_file(tmp_path, g))
    # buildings drawn inside the dropped grid (a tower split across it and a kept grid is still placed)
    inside = d.buildings.geometry.representative_point().within(r.grids.at[dropped, "geometry"])
    orphans = set(d.buildings.index[inside.to_numpy()])
    none = {p.feature_id for p in info.value.problems if p.code == "err.plans.import.no_grid"}
    assert none == orphans
    gaps = [p for p in info.value.problems if p.code == "err.plans.import.gap"]
    assert [p.feature_id for p in gaps] == [r.grids.at[dropped, "community_id"]]
    assert "m²" in gaps[0].message


def test_a_grid_crossing_a_community_boundary_and_an_unknown_community(tmp_path: Path) -> None:
    d, r = small_district(), small_partition()
    a = r.grids[r.grids["community_id"] == COMMUNITIES[0]].index[0]
    b_ = r.grids[r.grids["community_id"] == COMMUNITIES[1]].index[0]
    g = r.grids.copy()
    g.loc[a, "geometry"] = shapely.union_all([g.at[a, "geometry"], g.at[b_, "geometry"]])
    g = g.drop(index=[b_])
    g.loc[g.index[-1], "community_id"] = "999999999999"
    with pytest.raises(InputError) as info:
        import_grids(d, _grids_file(tmp_path, g))
    crossing = [p for p in info.value.problems if p.code == "err.plans.import.crosses_community"]
    assert [p.feature_id for p in crossing] == [a] and COMMUNITIES[1] in str(crossing[0].value)
    unknown = [p for p in info.value.problems if p.code == "err.plans.import.unknown_community"]
    assert [p.value for p in unknown] == ["999999999999"]


def test_a_building_grid_table_imports_with_the_plans_own_split(tmp_path: Path) -> None:
    d, r = small_district(), small_partition()
    write_plan(r.grids, r.assignments, tmp_path)
    plan = import_table(d, tmp_path / "assignments.csv", grids=r.grids)
    pd.testing.assert_frame_equal(plan.assignments, r.assignments.reset_index(drop=True), check_dtype=False)
    assert plan.grids["households"].to_dict() == r.grids["households"].to_dict()
    assert plan.grids.geometry.geom_equals_exact(r.grids.geometry, tolerance=0).all()   # polygons kept


def test_a_table_by_building_name_and_compound_builds_polygons_from_cells(tmp_path: Path) -> None:
    d, r = small_district(), small_partition()
    whole = r.assignments.groupby("building_id")["grid_id"].first()     # one grid per building
    b = d.buildings
    table = pd.DataFrame({"小区": b["compound_id"].fillna("").to_numpy(), "楼栋名称": b["name"].to_numpy(),
                          "网格编码": whole.reindex(b.index).to_numpy()})
    path = tmp_path / "对照表.xlsx"
    table.to_excel(path, index=False)
    plan = import_table(d, path)
    per_grid = b["households"].groupby(whole.reindex(b.index)).sum()
    assert plan.grids["households"].sort_index().to_dict() == per_grid.sort_index().to_dict()
    # rebuilt polygons tile each community: same area, no overlaps
    m = plan.grids.to_crs(plan.grids.estimate_utm_crs())
    comm = d.communities.to_crs(m.crs)
    for cid in COMMUNITIES:
        mine = m[m["community_id"] == cid]
        assert abs(mine.area.sum() - comm.at[cid, "geometry"].area) < 1.0
        assert abs(shapely.union_all(mine.geometry.to_numpy()).area - mine.area.sum()) < 1.0


def test_table_problems_are_named_by_row(tmp_path: Path) -> None:
    d, r = small_district(), small_partition()
    whole = r.assignments.groupby("building_id")["grid_id"].first()
    rows = pd.DataFrame({"楼栋编码": whole.index, "网格编码": whole.to_numpy()})
    other = r.grids[r.grids["community_id"] == COMMUNITIES[2]].index[0]
    rows.loc[len(rows)] = ["NOPE01", whole.iloc[0]]                       # unknown building
    rows.loc[len(rows)] = [whole.index[1], other]                         # second grid, other community
    rows.loc[3, "网格编码"] = ""                                          # blank grid
    rows = rows.drop(index=[5])                                          # a building with no row
    rows.loc[len(rows) + 10] = [whole.index[7], "370124001001999"]        # grid not in the grids layer
    path = tmp_path / "table.csv"
    rows.to_csv(path, index=False, encoding="utf-8-sig")
    with pytest.raises(InputError, match=r"building→grid table has \d+ problems; nothing was imported") as info:
        import_table(d, path, grids=r.grids)
    text = str(info.value)
    n = len(whole)
    assert f"table.csv row {n + 1} (NOPE01): names a building that is not in the buildings layer" in text
    assert f"row 5 ({whole.index[3]}): has no grid id" in text
    assert f"({whole.index[5]}): is in no grid of the table" in text
    assert f"370124001001999" in text and "names a grid that is not in the grids layer" in text
    two = [p for p in info.value.problems if p.code == "err.plans.import.two_grids"]
    assert [p.feature_id for p in two] == [whole.index[1]]
    crossing = [p for p in info.value.problems if p.code == "err.plans.import.crosses_community"]
    assert crossing == []     # the building's second row was refused as a second grid, not counted twice
    with pytest.raises(InputError, match="has no grid_id column"):
        pd.DataFrame({"楼栋编码": ["B000001"]}).to_csv(tmp_path / "bad.csv", index=False)
        import_table(d, tmp_path / "bad.csv")


def test_a_tower_split_by_units_keeps_the_tables_households_and_refuses_a_unit_in_two_grids(tmp_path: Path) -> None:
    d, r = small_district(), small_partition()
    write_plan(r.grids, r.assignments, tmp_path)
    rows = pd.read_csv(tmp_path / "assignments.csv", dtype=str, keep_default_na=False)
    tower = rows.index[rows["building_id"] == "B000002"]
    assert len(tower) == 3
    total = int(d.buildings.at["B000002", "households"])
    rows.loc[tower, "households"] = [str(total - 150), "100", "50"]        # the table's own split, same total
    rows.to_csv(tmp_path / "given.csv", index=False)
    plan = import_table(d, tmp_path / "given.csv", grids=r.grids)
    mine = plan.assignments[plan.assignments["building_id"] == "B000002"]
    assert mine["households"].tolist() == [total - 150, 100, 50]
    assert mine["unit_range"].tolist() == rows.loc[tower, "unit_range"].tolist()
    per_grid = plan.assignments.groupby("grid_id")["households"].sum()
    assert plan.grids["households"].to_dict() == per_grid.reindex(plan.grids.index).fillna(0).astype(int).to_dict()
    rows.loc[tower[-1], "unit_range"] = "3-6"                               # unit 3 is in the second row too
    rows.to_csv(tmp_path / "clash.csv", index=False)
    with pytest.raises(InputError, match=r"\(B000002\): has a unit in two grids") as info:
        import_table(d, tmp_path / "clash.csv", grids=r.grids)
    assert [p.row for p in info.value.problems] == [int(tower[1]) + 2]
