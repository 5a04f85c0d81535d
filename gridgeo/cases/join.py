"""Cases meet grids: the grid (and community) each located case fell in when it was reported.

A grids layer may stack several plan versions, each grid carrying
``valid_from``/``valid_to``; a case is then joined to the grid valid at its
``created_at`` (``valid_from <= created_at < valid_to``, a blank end meaning
still in force). Distance to the grid's edge tells how sure the assignment is:
a case 3 m from the edge may belong to the neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import crs as gcrs

__all__ = ["GridJoin", "join_grids", "has_versions", "grids_in_force"]


@dataclass(frozen=True)
class GridJoin:
    """Per case: ``grid_id``, ``community_id``, ``edge_m`` (NaN when not in a grid); the cases outside."""

    table: pd.DataFrame        # index case_id: grid_id, community_id, edge_m
    outside: pd.Index          # located cases in no grid (valid at their time)
    unlocated: int             # cases with no point at all

    @property
    def n_outside(self) -> int:
        return len(self.outside)


def _times(values: pd.Series, tz: str) -> np.ndarray:
    s = pd.to_datetime(values, errors="coerce")
    if getattr(s.dt, "tz", None) is None:
        s = s.dt.tz_localize(tz)
    return np.asarray(s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[s]"))


def has_versions(grids: gpd.GeoDataFrame) -> bool:
    """True when the layer dates its grids (some ``valid_from``/``valid_to`` filled)."""
    return any(c in grids and pd.Series(grids[c]).notna().any() for c in ("valid_from", "valid_to"))


def join_grids(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> GridJoin:
    """Place every located case in the grid valid at its ``created_at``.

    ``grids`` is indexed by ``grid_id`` (ids may repeat across versions) with
    an optional ``community_id``. Among several grids valid at once, the one
    listed first wins, as in ``grids.locate_buildings``.
    """
    n = len(cases)
    pts = cases.geometry.to_numpy()
    present = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    grid_ids = np.asarray(grids.index.astype(str), dtype=object)
    communities = (grids["community_id"].astype(object).to_numpy() if "community_id" in grids
                   else np.full(len(grids), None, dtype=object))
    hit_case = np.empty(0, dtype="int64")
    hit_grid = np.empty(0, dtype="int64")
    if present.any() and len(grids):
        q_case, hit_grid = grids.sindex.query(pts[present], predicate="intersects")
        hit_case = np.flatnonzero(present)[q_case]
        if has_versions(grids):
            tz = "Asia/Shanghai"
            t = _times(pd.Series(cases["created_at"]), tz)[hit_case]
            start = _times(pd.Series(grids["valid_from"]) if "valid_from" in grids
                           else pd.Series(pd.NaT, index=grids.index), tz)[hit_grid]
            end = _times(pd.Series(grids["valid_to"]) if "valid_to" in grids
                         else pd.Series(pd.NaT, index=grids.index), tz)[hit_grid]
            ok = (np.isnat(start) | (start <= t)) & (np.isnat(end) | (t < end))
            hit_case, hit_grid = hit_case[ok], hit_grid[ok]
        order = np.lexsort((hit_grid, hit_case))
        hit_case, hit_grid = hit_case[order], hit_grid[order]
        first = np.unique(hit_case, return_index=True)[1]
        hit_case, hit_grid = hit_case[first], hit_grid[first]
    gid = np.full(n, None, dtype=object)
    cid = np.full(n, None, dtype=object)
    edge = np.full(n, np.nan)
    gid[hit_case] = grid_ids[hit_grid]
    cid[hit_case] = communities[hit_grid]
    if len(hit_case):
        metric = gcrs.metric_crs(grids)
        rings = gpd.GeoSeries(grids.geometry.boundary.to_numpy(), crs=grids.crs).to_crs(metric).to_numpy()
        case_m = gpd.GeoSeries(pts[hit_case], crs=cases.crs or 4326).to_crs(metric).to_numpy()
        edge[hit_case] = np.round(shapely.distance(case_m, rings[hit_grid]), 1)
    table = pd.DataFrame({"grid_id": gid, "community_id": cid, "edge_m": edge}, index=cases.index)
    outside = cases.index[present & pd.isna(gid)]
    return GridJoin(table, outside, int((~present).sum()))


def grids_in_force(grids: gpd.GeoDataFrame, at: object = None) -> gpd.GeoDataFrame:
    """The grids valid at ``at`` (default: those not retired); all grids when the layer has no dates."""
    if not has_versions(grids):
        return grids
    tz = "Asia/Shanghai"
    end = _times(pd.Series(grids["valid_to"]) if "valid_to" in grids else pd.Series(pd.NaT, index=grids.index), tz)
    if at is None:
        return grids[np.isnat(end)]
    start = _times(pd.Series(grids["valid_from"]) if "valid_from" in grids
                   else pd.Series(pd.NaT, index=grids.index), tz)
    when = _times(pd.Series([pd.Timestamp(str(at))]), tz)[0]
    return grids[(np.isnat(start) | (start <= when)) & (np.isnat(end) | (when < end))]
