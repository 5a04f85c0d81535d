"""Cases meet grids: the grid (and community) each located case fell in when it was reported.

A grids layer may stack several plan versions, each grid carrying
``valid_from``/``valid_to``; a case is then joined to the grid valid at its
``created_at`` (``valid_from <= created_at < valid_to``, a blank end meaning
still in force). The earliest version also stands for the time before it: a plan
store dates its first version the day it was saved, yet last year's cases fell in
those grids. Distance to the grid's edge tells how sure the assignment is:
a case 3 m from the edge may belong to the neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import crs as gcrs
from gridgeo.cases.points import MetricPoints, metric_points

__all__ = ["GridJoin", "join_grids", "has_versions", "grids_in_force"]


@dataclass(frozen=True)
class GridJoin:
    """Per case: ``grid_id``, ``community_id``, ``edge_m`` (NaN when not in a grid); the cases outside."""

    table: pd.DataFrame        # index case_id: grid_id, community_id, edge_m
    outside: pd.Index          # located cases in no grid (valid at their time)
    unlocated: int             # cases with no point at all
    points: MetricPoints | None = None   # the cases' points in metres, for 并单 and heat cells

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
            start_all = _times(pd.Series(grids["valid_from"]) if "valid_from" in grids
                               else pd.Series(pd.NaT, index=grids.index), tz)
            if (~np.isnat(start_all)).any():   # the first version stands for the time before it
                start_all = np.where(start_all == start_all[~np.isnat(start_all)].min(),
                                     np.datetime64("NaT", "s"), start_all)
            start = start_all[hit_grid]
            end = _times(pd.Series(grids["valid_to"]) if "valid_to" in grids
                         else pd.Series(pd.NaT, index=grids.index), tz)[hit_grid]
            ok = (np.isnat(start) | (start <= t)) & (np.isnat(end) | (t < end))
            hit_case, hit_grid = hit_case[ok], hit_grid[ok]
        order = np.lexsort((hit_grid, hit_case))
        hit_case, hit_grid = hit_case[order], hit_grid[order]
        first = np.concatenate([[True], hit_case[1:] != hit_case[:-1]]) if len(hit_case) else np.zeros(0, bool)
        hit_case, hit_grid = hit_case[first], hit_grid[first]
    gid = np.full(n, None, dtype=object)
    cid = np.full(n, None, dtype=object)
    edge = np.full(n, np.nan)
    gid[hit_case] = grid_ids[hit_grid]
    cid[hit_case] = communities[hit_grid]
    points: MetricPoints | None = None
    if present.any():
        points = metric_points(cases, gcrs.metric_crs(grids) if len(grids) else None)
    if len(hit_case) and points is not None:
        edge[hit_case] = np.round(_edge_distance(points.xy[hit_case], hit_grid, grids, points.crs), 1)
    table = pd.DataFrame({"grid_id": gid, "community_id": cid, "edge_m": edge}, index=cases.index)
    outside = cases.index[present & pd.isna(gid)]
    return GridJoin(table, outside, int((~present).sum()), points)


def _edge_distance(xy: np.ndarray, grid: np.ndarray, grids: gpd.GeoDataFrame, metric: object) -> np.ndarray:
    """Distance (metres) from each point to the boundary of its grid, by the grid's boundary segments."""
    import pyproj

    bounds = shapely.boundary(grids.geometry.to_numpy())
    parts, part_grid = shapely.get_parts(bounds, return_index=True)
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    tr = pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(grids.crs or 4326),
                                     pyproj.CRS.from_user_input(metric), always_xy=True)
    mx, my = tr.transform(coords[:, 0], coords[:, 1])
    v = np.column_stack([mx, my])
    same = part_of[1:] == part_of[:-1]
    a, b = v[:-1][same], v[1:][same]
    seg_grid = part_grid[part_of[:-1][same]]
    order = np.argsort(seg_grid, kind="stable")
    a, b, seg_grid = a[order], b[order], seg_grid[order]
    seg_start = np.searchsorted(seg_grid, np.arange(len(grids) + 1))
    out = np.full(len(xy), np.nan)
    case_order = np.argsort(grid, kind="stable")
    g_sorted = grid[case_order]
    cuts = np.flatnonzero(np.diff(g_sorted)) + 1
    for lo, hi in zip(np.concatenate([[0], cuts]).tolist(), np.concatenate([cuts, [len(g_sorted)]]).tolist()):
        g = int(g_sorted[lo])
        s0, s1 = seg_start[g], seg_start[g + 1]
        if s1 == s0:
            continue
        sa, sd = a[s0:s1], b[s0:s1] - a[s0:s1]
        den = np.where((sd ** 2).sum(axis=1) > 0, (sd ** 2).sum(axis=1), 1.0)
        idx = case_order[lo:hi]
        step = max(1, 2_000_000 // (s1 - s0))
        for c0 in range(0, len(idx), step):
            p = xy[idx[c0:c0 + step]]
            rel = p[:, None, :] - sa[None, :, :]
            tt = np.clip((rel * sd[None, :, :]).sum(axis=2) / den[None, :], 0.0, 1.0)
            d = rel - tt[:, :, None] * sd[None, :, :]
            out[idx[c0:c0 + step]] = np.sqrt((d ** 2).sum(axis=2).min(axis=1))
    return out


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
