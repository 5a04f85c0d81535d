"""Nearest station of each kind per building, and households within reach per grid, community, district.

Walking distances come from one multi-source Dijkstra per kind over the
walking graph (every station of the kind is a source; no per-building loop).
Without streets, straight-line distance between representative points is used
and the result says so (``method == "straight_line"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from gridgeo import crs as gcrs
from gridgeo.coverage.network import WalkingNetwork
from gridgeo.errors import InputError
from gridgeo.grids import building_rows

__all__ = ["Method", "KINDS", "StationAccess", "station_access", "coverage_table", "coverage_by_grid",
           "coverage_by_community", "coverage_of_district", "uncovered_first", "reach_columns", "parse_reaches", "for_kind"]

Method = Literal["walking", "straight_line"]
#: Station kinds in display order (schema.STATION_KINDS canonical values).
KINDS: tuple[str, ...] = ("party_mass_centre", "doorstep_station", "compound_post", "other")
ANY = "any"


@dataclass(frozen=True)
class StationAccess:
    """Per building: households, the nearest station of each kind and of any kind, and metres to it.

    ``table`` is indexed by ``building_id`` with columns ``households``,
    ``community_id``, then ``nearest_<kind>`` (station id, None when the kind
    has no reachable station) and ``metres_<kind>`` (NaN when unreachable) for
    each kind in ``kinds`` and for ``any``.
    """

    table: pd.DataFrame
    kinds: tuple[str, ...]
    method: Method

    def metres(self, kind: str = ANY) -> pd.Series:
        """Metres to the nearest station of ``kind`` (``"any"``: of any kind); NaN if none reachable."""
        return self.table[f"metres_{kind}"]


def _kinds_present(stations: gpd.GeoDataFrame) -> tuple[str, ...]:
    present = set(stations["kind"].astype(str))
    return tuple(k for k in KINDS if k in present) + tuple(sorted(present - set(KINDS)))


def _walking(network: WalkingNetwork, station_ids: pd.Index, sources_mask: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Metres and nearest station id from the stations in ``sources_mask`` to every building."""
    n_b = len(network.building_nodes)
    if not sources_mask.any():
        return np.full(n_b, np.nan), np.full(n_b, None, dtype=object)
    sources = network.station_nodes[sources_mask]
    dist, _, src = dijkstra(network.matrix, directed=True, indices=sources, min_only=True,
                            return_predecessors=True)
    d = dist[network.building_nodes]
    s = src[network.building_nodes]
    reached = np.isfinite(d) & (s >= 0)
    node_to_station = pd.Series(np.asarray(station_ids, dtype=object), index=network.station_nodes)
    ids = np.full(n_b, None, dtype=object)
    ids[reached] = node_to_station.reindex(s[reached]).to_numpy()
    return np.where(reached, d, np.nan), ids


def _straight(b_xy: np.ndarray, s_xy: np.ndarray, station_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(s_xy) == 0:
        return np.full(len(b_xy), np.nan), np.full(len(b_xy), None, dtype=object)
    tree = shapely.STRtree(shapely.points(s_xy))
    (bi, si), dist = tree.query_nearest(shapely.points(b_xy), all_matches=False, return_distance=True)
    d = np.full(len(b_xy), np.nan)
    ids = np.full(len(b_xy), None, dtype=object)
    d[bi] = dist
    ids[bi] = station_ids[si]
    return d, ids


def station_access(buildings: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *,
                   network: WalkingNetwork | None = None, kinds: Sequence[str] | None = None) -> StationAccess:
    """Find, for every building, the nearest station of each kind and of any kind.

    With ``network`` (``build_network`` over the same buildings and stations)
    distances are walked along streets, connectors included; without, they are
    straight lines between representative points in ``crs.metric_crs``.
    """
    kinds = tuple(kinds) if kinds is not None else _kinds_present(stations)
    table = pd.DataFrame({"households": buildings["households"].astype("int64").to_numpy()},
                         index=buildings.index)
    table["community_id"] = (buildings["community_id"].to_numpy() if "community_id" in buildings.columns
                             else None)
    station_kind = stations["kind"].astype(str).to_numpy()
    station_ids = np.asarray(stations.index, dtype=object)
    method: Method
    if network is not None:
        if not (network.building_ids.equals(buildings.index) and network.station_ids.equals(stations.index)):
            raise ValueError("the walking network was built for other buildings or stations")
        method = "walking"
        for kind in (*kinds, ANY):
            mask = np.ones(len(stations), bool) if kind == ANY else station_kind == kind
            d, ids = _walking(network, stations.index, mask)
            table[f"nearest_{kind}"], table[f"metres_{kind}"] = ids, d
    else:
        method = "straight_line"
        metric = gcrs.metric_crs(buildings)
        b_xy = shapely.get_coordinates(buildings.geometry.representative_point().to_crs(metric).values)
        s_xy = (shapely.get_coordinates(stations.geometry.to_crs(metric).values) if len(stations)
                else np.zeros((0, 2)))
        for kind in (*kinds, ANY):
            mask = np.ones(len(stations), bool) if kind == ANY else station_kind == kind
            d, ids = _straight(b_xy, s_xy[mask], station_ids[mask])
            table[f"nearest_{kind}"], table[f"metres_{kind}"] = ids, d
    return StationAccess(table=table, kinds=kinds, method=method)


def parse_reaches(text: str | Sequence[int]) -> tuple[int, ...]:
    """Parse ``"300,500,1000"`` (or a sequence) into sorted distinct whole metres; raise ``InputError``."""
    parts = [p.strip() for p in text.replace("，", ",").split(",")] if isinstance(text, str) else list(text)
    out: set[int] = set()
    for p in parts:
        try:
            value = int(str(p))
        except ValueError:
            value = -1
        if not 0 < value <= 5000:
            raise InputError("reaches must be whole metres between 1 and 5000", value=str(p) if p != "" else text,
                             code="err.coverage.bad_reach", remedy="write e.g. 300,500,1000")
        out.add(value)
    if not out:
        raise InputError("no reach given", value=text, code="err.coverage.bad_reach",
                         remedy="write e.g. 300,500,1000")
    return tuple(sorted(out))


def reach_columns(reaches: Sequence[int], kinds: Sequence[str]) -> list[str]:
    """Column names of a coverage table: ``within_<r>`` (any kind) then ``within_<r>_<kind>``."""
    cols = [f"within_{r}" for r in reaches]
    cols += [f"within_{r}_{k}" for r in reaches for k in kinds]
    return cols


def coverage_table(rows: pd.DataFrame, key: str, access: StationAccess, reaches: Sequence[int],
                   index: pd.Index | None = None) -> pd.DataFrame:
    """Sum households within each reach over groups of ``rows``.

    ``rows`` has ``building_id``, ``households`` (a split tower may appear once
    per part) and ``key``; returns per group ``households``, ``within_<r>``,
    ``within_<r>_<kind>`` and ``share_<r>`` (of households within ``r`` of any
    station), plus ``method``. Groups in ``index`` with no rows get 0.
    """
    metres = access.table.reindex(rows["building_id"].to_numpy())
    hh = rows["households"].to_numpy(dtype=np.int64)
    data: dict[str, np.ndarray] = {"households": hh}
    for r in reaches:
        for kind in (ANY, *access.kinds):
            name = f"within_{r}" if kind == ANY else f"within_{r}_{kind}"
            d = metres[f"metres_{kind}"].to_numpy(dtype=np.float64)
            data[name] = np.where(np.isfinite(d) & (d <= r), hh, 0)
    frame = pd.DataFrame(data)
    frame[key] = rows[key].to_numpy()
    out = frame.groupby(key, sort=True).sum()
    if index is not None:
        out = out.reindex(index, fill_value=0)
    out = out.astype("int64")
    out.index.name = key
    for r in reaches:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"share_{r}"] = np.where(out["households"] > 0, out[f"within_{r}"] / out["households"], 0.0)
    out = out[["households", *reach_columns(reaches, access.kinds), *[f"share_{r}" for r in reaches]]]
    out["method"] = access.method
    return out


def coverage_by_grid(access: StationAccess, buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame,
                     reaches: Sequence[int], *, assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Households within each reach per grid (index ``grid_id``; every grid, empty ones with 0).

    With a plan's ``assignments`` the plan's own split of towers is used;
    otherwise buildings are placed in grids by ``grids.locate_buildings``.
    """
    rows = building_rows(grids, buildings, assignments)
    out = coverage_table(rows, "grid_id", access, reaches, index=grids.index)
    out.index.name = "grid_id"
    if "community_id" in grids.columns:
        out.insert(0, "community_id", grids["community_id"].reindex(out.index).to_numpy())
    return out


def coverage_by_community(access: StationAccess, reaches: Sequence[int],
                          communities: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Households within each reach per community (index ``community_id``)."""
    t = access.table
    rows = pd.DataFrame({"building_id": t.index, "households": t["households"].to_numpy(),
                         "community_id": t["community_id"].to_numpy()}).dropna(subset=["community_id"])
    out = coverage_table(rows, "community_id", access, reaches,
                         index=communities.index if communities is not None else None)
    if communities is not None and "name" in communities.columns:
        out.insert(0, "name", communities["name"].reindex(out.index).to_numpy())
    return out


def coverage_of_district(access: StationAccess, reaches: Sequence[int]) -> pd.Series:
    """Households within each reach over the whole district (one row as a Series)."""
    t = access.table
    rows = pd.DataFrame({"building_id": t.index, "households": t["households"].to_numpy(), "district": "all"})
    return coverage_table(rows, "district", access, reaches).iloc[0]


def for_kind(table: pd.DataFrame, kind: str, reaches: Sequence[int]) -> pd.DataFrame:
    """A copy of a coverage table whose ``within_<r>`` and ``share_<r>`` count one station kind only."""
    if kind == ANY:
        return table.copy()
    out = table.copy()
    for r in reaches:
        col = f"within_{r}_{kind}"
        out[f"within_{r}"] = out[col] if col in out.columns else 0
        hh = out["households"].to_numpy()
        out[f"share_{r}"] = np.where(hh > 0, out[f"within_{r}"].to_numpy() / np.maximum(hh, 1), 0.0)
    return out


def uncovered_first(table: pd.DataFrame, reach: int) -> pd.DataFrame:
    """Order a coverage table: groups with no household within ``reach`` first, then by share, then id."""
    none = (table[f"within_{reach}"] == 0) & (table["households"] > 0)
    key = pd.DataFrame({"none": ~none, "share": table[f"share_{reach}"], "id": table.index.astype(str)},
                       index=table.index)
    order = key.sort_values(["none", "share", "id"]).index
    return table.loc[order]
