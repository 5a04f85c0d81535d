"""A walking graph from the streets layer, with buildings, stations and candidate sites joined to it.

Streets are noded at their crossings (``shapely.union_all``); each point to
join (a building's representative point, a station, a candidate site) gets a
connector to the nearest point of the nearest street, and that street edge is
split there, so two homes on the same lane reach each other along the lane and
the connector's length counts. Dangling street ends that stop short of another
street (an undershoot of a few metres when the map was digitised) are joined
the same way. All lengths are metres in ``crs.metric_crs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from scipy import sparse

from gridgeo import crs as gcrs

__all__ = ["WalkingNetwork", "build_network", "SNAP_DANGLES_M"]

#: A street end within this distance of another street is joined to it (digitising undershoots).
SNAP_DANGLES_M = 5.0
_MIN_WEIGHT = 1e-6  # scipy csgraph drops explicit zeros; a zero-length step becomes 1 µm
_ROUND_M = 3        # street end points equal to the millimetre are one node

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class WalkingNetwork:
    """The walking graph of one district; read-only (cache it and share it, never mutate it).

    Node numbering: street nodes, then split points, then buildings, stations
    and candidate sites (``*_nodes`` give each one's node).
    """

    matrix: sparse.csr_matrix          # symmetric, metres; directed=True in dijkstra is exact
    crs: pyproj.CRS                    # the metric CRS the graph was measured in
    street_xy: FloatArray              # (n_street_nodes, 2) metres
    street_degree: IntArray            # street edges meeting at each street node
    building_ids: pd.Index
    building_nodes: IntArray
    building_connector_m: FloatArray
    station_ids: pd.Index
    station_nodes: IntArray
    candidate_ids: pd.Index
    candidate_nodes: IntArray
    candidate_xy: FloatArray           # (n_candidates, 2) metres
    dangles_joined: int                # street ends joined to a nearby street

    @property
    def n_nodes(self) -> int:
        return int(self.matrix.shape[0])

    def candidate_points(self) -> gpd.GeoSeries:
        """Candidate sites as EPSG:4326 points indexed by candidate id."""
        pts = shapely.points(self.candidate_xy)
        return gpd.GeoSeries(pts, index=self.candidate_ids, crs=self.crs).to_crs(4326)


def _lines(streets: gpd.GeoSeries) -> NDArray[np.object_]:
    geoms = np.asarray(streets.values, dtype=object)
    geoms = geoms[~shapely.is_missing(geoms)]
    parts = shapely.get_parts(geoms)
    parts = parts[shapely.get_type_id(parts) == 1]  # LineString
    return np.asarray(parts[~shapely.is_empty(parts)], dtype=object)


def _street_edges(lines: NDArray[np.object_]) -> tuple[FloatArray, IntArray, IntArray, NDArray[np.object_]]:
    """Node the lines at crossings; return node xy, edge end nodes and edge geometries."""
    noded = shapely.union_all(lines)
    edges = shapely.get_parts(noded)
    edges = edges[(shapely.get_type_id(edges) == 1) & (shapely.length(edges) > 0)]
    starts = shapely.get_coordinates(shapely.get_point(edges, 0))
    ends = shapely.get_coordinates(shapely.get_point(edges, -1))
    ends_xy = np.round(np.vstack([starts, ends]), _ROUND_M)
    node_xy, inverse = np.unique(ends_xy, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n = len(edges)
    return node_xy.astype(np.float64), inverse[:n].astype(np.int64), inverse[n:].astype(np.int64), edges


def _nearest_edges(tree: shapely.STRtree, points: NDArray[np.object_]) -> IntArray:
    """Index of the nearest edge for each point (the first one on a tie)."""
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = tree.query_nearest(points, all_matches=False)
    out = np.zeros(len(points), dtype=np.int64)
    out[pairs[0]] = pairs[1]
    return out


def _dangle_joins(tree: shapely.STRtree, node_xy: FloatArray, degree: IntArray, u: IntArray, v: IntArray,
                  snap_m: float) -> tuple[IntArray, IntArray]:
    """Street ends (degree 1) within ``snap_m`` of a street they do not touch: (node, edge) pairs."""
    dangles = np.flatnonzero(degree == 1)
    if len(dangles) == 0 or snap_m <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pts = shapely.points(node_xy[dangles])
    p_idx, e_idx = tree.query(pts, predicate="dwithin", distance=snap_m)
    node = dangles[p_idx]
    keep = (u[e_idx] != node) & (v[e_idx] != node)
    p_idx, e_idx, node = p_idx[keep], e_idx[keep], node[keep]
    if len(p_idx) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    dist = shapely.distance(pts[p_idx], tree.geometries[e_idx])
    order = np.lexsort((dist, p_idx))
    first = order[np.unique(p_idx[order], return_index=True)[1]]
    return node[first].astype(np.int64), e_idx[first].astype(np.int64)


def _coalesce(i: IntArray, j: IntArray, w: FloatArray, n: int) -> sparse.csr_matrix:
    """Symmetric CSR matrix keeping the shortest of parallel edges (coo would add them up)."""
    i2, j2, w2 = np.concatenate([i, j]), np.concatenate([j, i]), np.concatenate([w, w])
    keep = i2 != j2
    i2, j2, w2 = i2[keep], j2[keep], np.maximum(w2[keep], _MIN_WEIGHT)
    order = np.lexsort((w2, j2, i2))
    i2, j2, w2 = i2[order], j2[order], w2[order]
    first = np.ones(len(i2), dtype=bool)
    first[1:] = (i2[1:] != i2[:-1]) | (j2[1:] != j2[:-1])
    return sparse.csr_matrix((w2[first], (i2[first], j2[first])), shape=(n, n))


def _points(frame: gpd.GeoDataFrame | gpd.GeoSeries | None, metric: pyproj.CRS) -> tuple[pd.Index, FloatArray]:
    if frame is None or len(frame) == 0:
        return pd.Index([], dtype=object), np.zeros((0, 2))
    geo = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    pts = geo.representative_point().to_crs(metric)
    return frame.index, shapely.get_coordinates(pts.values).astype(np.float64)


def build_network(streets: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *,
                  candidates: gpd.GeoDataFrame | None = None, snap_dangles_m: float = SNAP_DANGLES_M,
                  metric: pyproj.CRS | None = None) -> WalkingNetwork:
    """Build the walking graph and join buildings, stations and candidate sites to it.

    Without ``candidates``, every street node (crossings and street ends) is a
    candidate site for a new station, numbered ``N00001`` ….

    Parameters
    ----------
    streets, buildings, stations, candidates
        EPSG:4326 layers indexed by their ids; buildings join by their
        representative point (inside the footprint, unlike a centroid).
    snap_dangles_m
        Street ends this close to another street are joined to it; 0 turns it off.
    metric
        The metric CRS; by default ``crs.metric_crs(buildings)``.
    """
    metric = metric or gcrs.metric_crs(buildings)
    lines = _lines(streets.geometry.to_crs(metric))
    if len(lines) == 0:
        raise ValueError("the streets layer has no lines; use straight-line distance instead")
    node_xy, u, v, edges = _street_edges(lines)
    n_street = len(node_xy)
    degree = np.bincount(np.concatenate([u, v]), minlength=n_street).astype(np.int64)
    length = shapely.length(edges)
    tree = shapely.STRtree(edges)

    b_ids, b_xy = _points(buildings, metric)
    s_ids, s_xy = _points(stations, metric)
    if candidates is None:
        c_ids = pd.Index([f"N{k + 1:05d}" for k in range(n_street)], name="candidate_id")
        c_xy = node_xy.copy()
        street_candidates = True
    else:
        c_ids, c_xy = _points(candidates, metric)
        street_candidates = False
    d_node, d_edge = _dangle_joins(tree, node_xy, degree, u, v, snap_dangles_m)

    # points to join: buildings, stations, user candidates (street-node candidates are on the graph)
    join_xy = np.vstack([b_xy, s_xy] + ([] if street_candidates else [c_xy]))
    join_pts = shapely.points(join_xy) if len(join_xy) else np.zeros(0, dtype=object)
    join_edge = _nearest_edges(tree, join_pts)
    n_b, n_s = len(b_xy), len(s_xy)
    n_c_join = 0 if street_candidates else len(c_xy)
    n_join = len(join_xy)
    n_split = n_join + len(d_node)
    split0 = n_street
    owner0 = split0 + n_split
    # owners: joined points get their own nodes; dangles are their street node
    owners = np.concatenate([owner0 + np.arange(n_join), d_node]).astype(np.int64)
    split_edge = np.concatenate([join_edge, d_edge]).astype(np.int64)
    split_geoms = np.concatenate([join_pts, shapely.points(node_xy[d_node])]) if len(d_node) else join_pts
    edge_geoms = edges[split_edge]
    along = shapely.line_locate_point(edge_geoms, split_geoms) if n_split else np.zeros(0)
    connector = shapely.distance(split_geoms, edge_geoms) if n_split else np.zeros(0)
    split_nodes = split0 + np.arange(n_split)

    # chain each edge through its split points, ordered along it: u, p1, p2, …, v
    n_e = len(edges)
    e_all = np.concatenate([np.arange(n_e), np.arange(n_e), split_edge])
    s_all = np.concatenate([np.zeros(n_e), length, along])
    node_all = np.concatenate([u, v, split_nodes])
    rank = np.concatenate([np.zeros(n_e), np.full(n_e, 2), np.ones(n_split)])  # u first, v last on ties
    order = np.lexsort((rank, s_all, e_all))
    e_s, s_s, n_s_ = e_all[order], s_all[order], node_all[order]
    same = e_s[1:] == e_s[:-1]
    chain_i, chain_j = n_s_[:-1][same], n_s_[1:][same]
    chain_w = (s_s[1:] - s_s[:-1])[same]

    n_nodes = owner0 + n_join
    matrix = _coalesce(np.concatenate([chain_i, split_nodes]), np.concatenate([chain_j, owners]),
                       np.concatenate([chain_w, connector]), n_nodes)
    b_nodes = owner0 + np.arange(n_b)
    s_nodes = owner0 + n_b + np.arange(n_s)
    c_nodes = (np.arange(n_street) if street_candidates else owner0 + n_b + n_s + np.arange(n_c_join))
    return WalkingNetwork(
        matrix=matrix, crs=metric, street_xy=node_xy, street_degree=degree,
        building_ids=b_ids, building_nodes=b_nodes.astype(np.int64),
        building_connector_m=connector[:n_b].astype(np.float64),
        station_ids=s_ids, station_nodes=s_nodes.astype(np.int64),
        candidate_ids=c_ids, candidate_nodes=np.asarray(c_nodes, dtype=np.int64), candidate_xy=c_xy,
        dangles_joined=int(len(d_node)),
    )
