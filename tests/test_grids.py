"""Buildings meet an existing grids layer: containment and households per grid."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, Polygon, box

from gridgeo.grids import fill_community_ids, grid_households, grid_table, locate_buildings

LON, LAT = 117.0, 36.0
D = 0.001  # about 90 m east-west, 110 m north-south here


def _grids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"grid_id": ["G1", "G2", "G3"]},
        geometry=[box(LON, LAT, LON + D, LAT + D), box(LON + D, LAT, LON + 2 * D, LAT + D),
                  box(LON, LAT + D, LON + D, LAT + 2 * D)],
        crs=4326).set_index("grid_id")


def _buildings() -> gpd.GeoDataFrame:
    # B1 is an L-shaped footprint whose centroid lies in its notch, outside the footprint:
    # placing by representative point keeps it where it is drawn.
    ell = Polygon([(LON + 0.1 * D, LAT + 0.1 * D), (LON + 0.9 * D, LAT + 0.1 * D), (LON + 0.9 * D, LAT + 0.2 * D),
                   (LON + 0.2 * D, LAT + 0.2 * D), (LON + 0.2 * D, LAT + 0.9 * D), (LON + 0.1 * D, LAT + 0.9 * D)])
    return gpd.GeoDataFrame(
        {"building_id": ["B1", "B2", "B3", "B4"], "households": [120, 80, 200, 50]},
        geometry=[ell, Point(LON + 1.5 * D, LAT + 0.5 * D), Point(LON + 1.6 * D, LAT + 0.4 * D),
                  Point(LON + 5 * D, LAT + 5 * D)],
        crs=4326).set_index("building_id")


def test_each_building_lands_in_the_grid_that_contains_it() -> None:
    located = locate_buildings(_buildings(), _grids())
    assert located.to_dict() == {"B1": "G1", "B2": "G2", "B3": "G2", "B4": located["B4"]}
    assert pd.isna(located["B4"])                      # outside every grid


def test_households_per_grid_by_containment_and_by_assignments() -> None:
    grids, buildings = _grids(), _buildings()
    by_location = grid_households(grids, buildings)
    assert by_location.loc["G1"].tolist() == [120, 1]
    assert by_location.loc["G2"].tolist() == [80 + 200, 2]
    assert by_location.loc["G3"].tolist() == [0, 0]   # empty grid: 0, not missing
    # a plan's own split: B3's 200 households are split 150/50 between G2 and G3
    assignments = pd.DataFrame({"building_id": ["B1", "B2", "B3", "B3"], "grid_id": ["G1", "G2", "G2", "G3"],
                                "households": [120, 80, 150, 50]})
    by_plan = grid_households(grids, buildings, assignments)
    assert by_plan["households"].to_dict() == {"G1": 120, "G2": 230, "G3": 50}
    assert by_plan["buildings"].to_dict() == {"G1": 1, "G2": 2, "G3": 1}


def test_grid_table_recounts_and_names_communities() -> None:
    grids = _grids().assign(households=[999, 999, 999], community_id=["C1", "C1", "C2"])  # a file's stale counts
    communities = gpd.GeoDataFrame({"community_id": ["C1", "C2"], "name": ["翠屏社区", "锦水社区"]},
                                   geometry=[box(LON, LAT, LON + 2 * D, LAT + D), box(LON, LAT + D, LON + D, LAT + 2 * D)],
                                   crs=4326).set_index("community_id")
    table = grid_table(grids, _buildings(), communities=communities)
    assert table["households"].to_dict() == {"G1": 120, "G2": 280, "G3": 0}
    columns = list(table.columns)
    assert columns.index("community_name") == columns.index("community_id") + 1
    assert table["community_name"].to_dict() == {"G1": "翠屏社区", "G2": "翠屏社区", "G3": "锦水社区"}


def test_missing_community_ids_come_from_the_largest_overlap() -> None:
    communities = gpd.GeoDataFrame({"community_id": ["C1", "C2"]},
                                   geometry=[box(LON, LAT, LON + 1.8 * D, LAT + 2 * D),
                                             box(LON + 1.8 * D, LAT, LON + 3 * D, LAT + 2 * D)],
                                   crs=4326).set_index("community_id")
    filled = fill_community_ids(_grids(), communities)
    # G2 spans both communities: 80% of it lies in C1
    assert filled["community_id"].to_dict() == {"G1": "C1", "G2": "C1", "G3": "C1"}
