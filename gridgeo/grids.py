"""A grids layer meets the buildings: which grid holds each building, households per grid.

Every analysis (staffing, cases, coverage) takes a grids layer, from a computed
plan or from a file the city already has. A plan knows its building→grid
assignments (with unit splits); an imported layer does not, so buildings are
placed by containment of their representative point (never the centroid: an
L-shaped footprint's centroid can fall outside it, in the neighbouring grid).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.crs import metric_crs

__all__ = ["locate_buildings", "building_rows", "grid_households", "fill_community_ids", "grid_table"]


def locate_buildings(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.Series:
    """Return the ``grid_id`` holding each building (NaN where no grid does).

    A point on a shared edge goes to the grid listed first, so every building
    lands in at most one grid.
    """
    if buildings.empty or grids.empty:
        return pd.Series(np.nan, index=buildings.index, dtype=object, name="grid_id")
    points = gpd.GeoSeries(buildings.geometry.representative_point(), index=buildings.index, crs=buildings.crs)
    if grids.crs is not None and points.crs is not None and grids.crs != points.crs:
        points = points.to_crs(grids.crs)
    hit_points, hit_grids = grids.sindex.query(points.to_numpy(), predicate="intersects")
    order = np.lexsort((hit_grids, hit_points))          # first grid per building
    hit_points, hit_grids = hit_points[order], hit_grids[order]
    first = np.unique(hit_points, return_index=True)[1]
    out = pd.Series(np.nan, index=buildings.index, dtype=object, name="grid_id")
    out.iloc[hit_points[first]] = grids.index.to_numpy()[hit_grids[first]]
    return out


def building_rows(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                  assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """``building_id, grid_id, households`` rows: a plan's own (a split tower once per part), or
    every building placed by containment (buildings outside every grid left out)."""
    if assignments is not None:
        return assignments[["building_id", "grid_id", "households"]]
    located = locate_buildings(buildings, grids)
    return pd.DataFrame({"building_id": buildings.index, "grid_id": located.to_numpy(),
                         "households": buildings["households"].to_numpy()}).dropna(subset=["grid_id"])


def grid_households(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                    assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Households and buildings per grid, indexed like ``grids``; empty grids get 0.

    With ``assignments`` (a plan's ``building_id, grid_id, households`` rows, a
    split tower appearing once per part) the plan's own split is used; without,
    buildings are located by containment.
    """
    rows = building_rows(grids, buildings, assignments)
    grouped = rows.groupby("grid_id").agg(households=("households", "sum"),
                                          buildings=("building_id", "nunique"))
    out = grouped.reindex(grids.index).fillna(0).astype(int)
    out.index.name = grids.index.name or "grid_id"
    return out


def fill_community_ids(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``grids`` with a missing ``community_id`` filled by the community it overlaps most.

    A city's grids file often lacks the community code; every grid still belongs
    to exactly one community. Overlap is measured in metres. Grids overlapping no
    community keep NaN (the plan checks report them).
    """
    out = grids.copy()
    if "community_id" not in out.columns:
        out["community_id"] = None
    missing = out["community_id"].isna() | (out["community_id"].astype(str).str.strip() == "")
    if not missing.any() or communities.empty:
        return out
    crs = metric_crs(communities)
    todo = out.loc[missing, [out.geometry.name]].to_crs(crs)
    comm = communities[[communities.geometry.name]].to_crs(crs)
    pairs = gpd.overlay(todo.reset_index(names="_grid"), comm.reset_index(names="_community"),
                        how="intersection", keep_geom_type=True)
    if len(pairs):
        pairs["_area"] = pairs.geometry.area
        best = pairs.sort_values("_area", ascending=False).drop_duplicates("_grid").set_index("_grid")["_community"]
        out.loc[best.index, "community_id"] = best.astype(str).to_numpy()
    return out


def grid_table(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, assignments: pd.DataFrame | None = None,
               communities: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The grids with ``households`` and ``buildings`` recounted from the buildings (never trusted from a
    file) and, when ``communities`` are given, ``community_name`` after ``community_id``."""
    counted = grid_households(grids, buildings, assignments)
    out = grids.drop(columns=[c for c in counted.columns if c in grids.columns]).join(counted)
    if communities is not None and "community_id" in out.columns and "name" in communities.columns:
        names = communities["name"].astype(str)
        position = list(out.columns).index("community_id") + 1
        out.insert(position, "community_name", out["community_id"].astype(str).map(names).fillna("").to_numpy())
    return out
