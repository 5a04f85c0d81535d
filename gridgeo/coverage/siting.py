"""Where the next station should go (maximal covering location problem), and what losing one costs.

The MCLP is solved exactly with HiGHS through ``scipy.optimize.milp``: choose
``k`` sites among candidates to cover the most households that no station of
the kind reaches today. Households are whole numbers, so HiGHS is run with a
zero relative gap and "optimal" means proven optimal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import dijkstra

from gridgeo import crs as gcrs
from gridgeo.coverage.measure import ANY, Method, StationAccess
from gridgeo.coverage.network import WalkingNetwork

__all__ = ["SitingResult", "plan_sites", "solve_mclp", "RemovalImpact", "removal_impact", "cover_matrix"]

_CHUNK = 128  # sources per Dijkstra call: bounds memory to 128 x nodes floats


def cover_matrix(network: WalkingNetwork, source_nodes: np.ndarray, target_nodes: np.ndarray,
                 reach_m: float) -> sparse.csr_matrix:
    """Boolean (sources x targets) matrix: target within ``reach_m`` walking metres of source."""
    rows, cols = [], []
    for start in range(0, len(source_nodes), _CHUNK):
        chunk = source_nodes[start:start + _CHUNK]
        dist = dijkstra(network.matrix, directed=True, indices=chunk, limit=reach_m)
        dist = np.atleast_2d(dist)[:, target_nodes]
        r, c = np.nonzero(dist <= reach_m)
        rows.append(r + start)
        cols.append(c)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, c)),
                             shape=(len(source_nodes), len(target_nodes)))


def _straight_cover(source_xy: np.ndarray, target_xy: np.ndarray, reach_m: float) -> sparse.csr_matrix:
    tree = shapely.STRtree(shapely.points(target_xy)) if len(target_xy) else None
    if tree is None or len(source_xy) == 0:
        return sparse.csr_matrix((len(source_xy), len(target_xy)), dtype=bool)
    s, t = tree.query(shapely.points(source_xy), predicate="dwithin", distance=reach_m)
    return sparse.csr_matrix((np.ones(len(s), dtype=bool), (s, t)), shape=(len(source_xy), len(target_xy)))


@dataclass(frozen=True)
class MCLPSolution:
    """The chosen columns in the order of their marginal gain, and the solver's verdict."""

    chosen: list[int]
    gains: list[int]
    objective: int
    status: str            # "optimal", "time_limit", "nothing_to_cover", "infeasible"
    optimal: bool
    mip_gap: float


def solve_mclp(cover: sparse.csr_matrix, weights: np.ndarray, k: int, *,
               time_limit_s: float = 60.0) -> MCLPSolution:
    """Choose at most ``k`` columns of ``cover`` (demand x candidate) covering the most weight.

    max sum w_i y_i  s.t.  y_i <= sum_j a_ij x_j,  sum_j x_j <= k,  x binary, 0 <= y <= 1.
    """
    cover = sparse.csr_matrix(cover, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    n, m = cover.shape
    useful = np.flatnonzero(np.asarray(cover.sum(axis=0)).ravel() > 0)
    reachable = np.flatnonzero((np.asarray(cover.sum(axis=1)).ravel() > 0) & (weights > 0))
    if k <= 0 or len(useful) == 0 or len(reachable) == 0:
        return MCLPSolution([], [], 0, "nothing_to_cover", True, 0.0)
    a = cover[reachable][:, useful].tocsr()
    w = weights[reachable]
    nd, mc = a.shape
    c = np.concatenate([np.zeros(mc), -w])
    rows = sparse.vstack([
        sparse.hstack([-a, sparse.identity(nd, format="csr")]),
        sparse.hstack([sparse.csr_matrix(np.ones((1, mc))), sparse.csr_matrix((1, nd))]),
    ]).tocsr()
    ub = np.concatenate([np.zeros(nd), [min(k, mc)]])
    res = milp(c, integrality=np.concatenate([np.ones(mc), np.zeros(nd)]), bounds=Bounds(0, 1),
               constraints=LinearConstraint(rows, -np.inf, ub),
               options={"mip_rel_gap": 0.0, "time_limit": float(time_limit_s), "presolve": True})
    if res.x is None:
        return MCLPSolution([], [], 0, "infeasible" if res.status == 2 else "time_limit", False, float("nan"))
    x = res.x[:mc] > 0.5
    picked = list(np.flatnonzero(x))
    # order the chosen sites by marginal gain: the first one alone covers most, and so on
    covered = np.zeros(nd, dtype=bool)
    order: list[int] = []
    gains: list[int] = []
    cols = a.tocsc()
    remaining = set(picked)
    while remaining:
        best, best_gain = -1, -1.0
        for j in sorted(remaining):
            idx = cols.indices[cols.indptr[j]:cols.indptr[j + 1]]
            g = float(w[idx][~covered[idx]].sum())
            if g > best_gain:
                best, best_gain = int(j), g
        idx = cols.indices[cols.indptr[best]:cols.indptr[best + 1]]
        covered[idx] = True
        order.append(best)
        gains.append(int(round(best_gain)))
        remaining.discard(best)
    keep = [(j, g) for j, g in zip(order, gains) if g > 0]
    objective = int(round(float(w[covered].sum())))
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    optimal = res.status == 0
    return MCLPSolution([int(useful[j]) for j, _ in keep], [g for _, g in keep], objective,
                        "optimal" if optimal else "time_limit", optimal, gap)


@dataclass(frozen=True)
class SitingResult:
    """Proposed new sites, in order, and the households each one adds."""

    sites: gpd.GeoDataFrame          # index candidate_id: rank, households_gained, buildings_gained; 4326
    newly_covered: pd.Series         # building_id -> rank of the first proposed site reaching it
    households_gained: int
    uncovered_households: int        # households beyond reach before the new sites
    total_households: int
    status: str
    optimal: bool
    mip_gap: float
    seconds: float
    k: int
    reach_m: int
    kind: str
    method: Method
    candidates: int


def plan_sites(access: StationAccess, buildings: gpd.GeoDataFrame, *, k: int, reach_m: int,
               kind: str = ANY, network: WalkingNetwork | None = None,
               candidates: gpd.GeoDataFrame | None = None, time_limit_s: float = 60.0) -> SitingResult:
    """Choose ``k`` new station sites covering the most households not yet within ``reach_m`` of ``kind``.

    Candidates: with ``network``, its candidates (street nodes, or the layer it
    was built with); without, ``candidates`` or else every building (a station
    on a ground floor), measured in straight lines.
    """
    t0 = time.perf_counter()
    if (network is None) != (access.method == "straight_line"):
        raise ValueError(f"access was measured as {access.method}: pass the network it was measured on "
                         "(walking) or none (straight-line)")
    d = access.metres(kind).reindex(buildings.index).to_numpy(dtype=np.float64)
    hh = buildings["households"].to_numpy(dtype=np.int64)
    demand = np.flatnonzero(~(np.isfinite(d) & (d <= reach_m)) & (hh > 0))
    if network is not None:
        if candidates is not None and not network.candidate_ids.equals(candidates.index):
            raise ValueError("build the network with these candidates (build_network(candidates=...))")
        cand_ids = network.candidate_ids
        cand_pts = network.candidate_points()
        cover = cover_matrix(network, network.candidate_nodes, network.building_nodes[demand], reach_m).T
        method: Method = "walking"
    else:
        metric = gcrs.metric_crs(buildings)
        b_xy = shapely.get_coordinates(buildings.geometry.representative_point().to_crs(metric).values)
        source = candidates if candidates is not None else buildings
        cand_ids = source.index
        cand_pts = gpd.GeoSeries(source.geometry.representative_point().values, index=source.index, crs=4326)
        c_xy = shapely.get_coordinates(cand_pts.to_crs(metric).values)
        cover = _straight_cover(c_xy, b_xy[demand], reach_m).T
        method = "straight_line"
    sol = solve_mclp(cover.tocsr(), hh[demand], k, time_limit_s=time_limit_s)
    ranks = np.arange(1, len(sol.chosen) + 1)
    cov_csc = sparse.csc_matrix(cover)
    newly = pd.Series(dtype="int64", name="rank")
    gained_b: list[int] = []
    first_rank = np.zeros(len(demand), dtype=np.int64)
    for rank, j in zip(ranks, sol.chosen):
        idx = cov_csc.indices[cov_csc.indptr[j]:cov_csc.indptr[j + 1]]
        new = idx[first_rank[idx] == 0]
        first_rank[new] = rank
        gained_b.append(len(new))
    hit = first_rank > 0
    newly = pd.Series(first_rank[hit], index=buildings.index[demand[hit]], name="rank")
    chosen_ids = cand_ids[sol.chosen] if sol.chosen else cand_ids[:0]
    sites = gpd.GeoDataFrame(
        {"rank": ranks.astype(np.int64), "households_gained": np.asarray(sol.gains, dtype=np.int64),
         "buildings_gained": np.asarray(gained_b, dtype=np.int64)},
        geometry=cand_pts.reindex(chosen_ids).values, index=pd.Index(chosen_ids, name="candidate_id"), crs=4326)
    return SitingResult(
        sites=sites, newly_covered=newly, households_gained=sol.objective,
        uncovered_households=int(hh[demand].sum()), total_households=int(hh.sum()), status=sol.status,
        optimal=sol.optimal, mip_gap=sol.mip_gap, seconds=time.perf_counter() - t0, k=k, reach_m=reach_m,
        kind=kind, method=method, candidates=len(cand_ids))


@dataclass(frozen=True)
class RemovalImpact:
    """What closing each station would cost: households it alone keeps within reach."""

    table: pd.DataFrame   # index station_id: name, kind, households_covered, households_lost, buildings_lost
    sole: pd.Series       # building_id -> the one station reaching it (those lost if it closed)
    reach_m: int
    kind: str
    method: Method


def removal_impact(buildings: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *, reach_m: int,
                   kind: str = ANY, network: WalkingNetwork | None = None) -> RemovalImpact:
    """For every station of ``kind``, the households that only it reaches within ``reach_m``.

    Closing the station leaves exactly those households beyond reach of the
    kind (the others still have another station within reach).
    """
    mask = np.ones(len(stations), bool) if kind == ANY else (stations["kind"].astype(str) == kind).to_numpy()
    hh = buildings["households"].to_numpy(dtype=np.int64)
    if network is not None:
        cover = cover_matrix(network, network.station_nodes[mask], network.building_nodes, reach_m)
        method: Method = "walking"
    else:
        metric = gcrs.metric_crs(buildings)
        b_xy = shapely.get_coordinates(buildings.geometry.representative_point().to_crs(metric).values)
        s_xy = shapely.get_coordinates(stations.geometry.to_crs(metric).values)[mask]
        cover = _straight_cover(s_xy, b_xy, reach_m)
        method = "straight_line"
    cover = sparse.csr_matrix(cover, dtype=np.int64)
    count = np.asarray(cover.sum(axis=0)).ravel()
    only = (count == 1).astype(np.int64)
    sub = stations[mask]
    lost = cover @ (hh * only)
    table = pd.DataFrame({
        "name": sub["name"].to_numpy() if "name" in sub.columns else None,
        "kind": sub["kind"].astype(str).to_numpy(),
        "households_covered": cover @ hh,
        "households_lost": lost,
        "buildings_lost": cover @ only,
    }, index=sub.index)
    table.index.name = "station_id"
    sole_b = np.flatnonzero(count == 1)
    owner = np.asarray(cover[:, sole_b].argmax(axis=0)).ravel()
    sole = pd.Series(np.asarray(sub.index, dtype=object)[owner], index=buildings.index[sole_b],
                     name="station_id")
    return RemovalImpact(table=table.sort_values(["households_lost", "households_covered"], ascending=False),
                         sole=sole, reach_m=reach_m, kind=kind, method=method)
