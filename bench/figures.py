"""One set of plan figures for every method, so gridgeo and the spopt baselines are measured alike.

A plan is given as *cells* (polygons that tile each community, with households
and the buildings they hold) and a *label* per cell. Grids are the unions of
cells sharing a label inside one community; every figure below is computed from
those unions and the cells' own households, never from a method's own report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.settings import Rules

__all__ = ["PlanFigures", "plan_figures", "feasible_communities"]

#: A grid edge within this distance (m) of a street centreline or the community edge counts as "along" it.
#: Block edges *are* street centrelines, so only reprojection noise needs absorbing.
ALONG_TOLERANCE_M = 1.0
#: Precisions (m) tried when unioning cells; see :func:`union_cells`.
UNION_GRIDS: tuple[float | None, ...] = (None, 1e-6, 1e-3, 1e-2)
#: A part of a grid polygon smaller than this (m²) is a digitising crumb, not a second piece.
CRUMB_M2 = 1.0


@dataclass
class PlanFigures:
    """Figures of one plan; shares are in [0, 1], ``nan`` when there is nothing to count."""

    n_grids: int
    n_communities: int                 # communities with a complete plan
    missing_communities: list[str]     # communities with cells left unassigned (no plan)
    feasible_grids: int                # grids in feasible communities
    within_share: float                # of those, share with min ≤ households ≤ max
    contiguous_share: float            # grids whose cells form one polygon
    pp_mean: float                     # Polsby–Popper 4πA/P², mean over grids
    pp_p10: float                      # … 10th percentile
    street_share: float                # grid perimeter along a street or the community edge (length-weighted)
    cut_street_share: float            # interior grid boundaries (between two grids) along a street
    compounds_split_unnecessarily: int  # compounds spanning more grids than ⌈households / max⌉
    out_of_bounds: pd.DataFrame = field(repr=False)  # grids in feasible communities outside the bounds
    grids: gpd.GeoDataFrame = field(repr=False)       # one row per grid (metric CRS)

    def as_row(self) -> dict[str, Any]:
        """Return the scalar figures as a flat dict (for tables)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("out_of_bounds", "grids")}


def feasible_communities(cells: gpd.GeoDataFrame, graph: nx.Graph, rules: Rules) -> pd.Series:
    """Decide, per community, whether a plan with every grid in bounds can exist on these cells.

    Arithmetic first (some k with min·k ≤ H ≤ max·k), then the two practical
    obstacles the notes name: a cell above the maximum, and a disconnected cell
    graph, where each connected part holding households needs its own feasible
    k. The same verdict is applied to every method, independent of any engine's
    own report.

    Returns
    -------
    Boolean Series indexed by ``community_id``.
    """
    out: dict[str, bool] = {}
    for cid, grp in cells.groupby("community_id", sort=True):
        ok = bool(len(rules.feasible_grid_counts(int(grp["households"].sum()))))
        ok = ok and int(grp["households"].max()) <= rules.max_households
        if ok:
            sub = graph.subgraph(grp.index)
            for comp in nx.connected_components(sub):
                h = int(grp.loc[list(comp), "households"].sum())
                if h > 0 and not len(rules.feasible_grid_counts(h)):
                    ok = False
                    break
        out[str(cid)] = ok
    return pd.Series(out, name="feasible", dtype=bool).rename_axis("community_id")


def plan_figures(cells: gpd.GeoDataFrame, labels: pd.Series, streets: gpd.GeoDataFrame | None,
                 rules: Rules, *, metric: pyproj.CRS, buildings: pd.DataFrame | None = None,
                 feasible: pd.Series | None = None, communities: list[str] | None = None) -> PlanFigures:
    """Measure a plan given as cell labels.

    Parameters
    ----------
    cells
        Polygons tiling each community, indexed like ``labels``, with ``community_id``,
        ``households`` and ``building_ids`` (";"-joined). Any CRS.
    labels
        Region label per cell (any hashable; unique within a community); NaN = unassigned.
        A community with any unassigned cell counts as having no plan.
    streets
        Street centrelines (any CRS) or None.
    metric
        The metric CRS lengths and areas are measured in.
    buildings
        ``households`` and ``compound_id`` per ``building_id`` (the index), for the compound figure.
    feasible
        Boolean per ``community_id`` (see :func:`feasible_communities`); all True when None.
    communities
        Restrict the figures to these communities (e.g. the sample the baselines ran on).
    """
    cells = cells.to_crs(metric)
    lab = labels.reindex(cells.index)
    if communities is not None:
        keep = cells["community_id"].isin(communities)
        cells, lab = cells[keep], lab[keep]
    incomplete = sorted(set(cells.loc[lab.isna(), "community_id"].astype(str)))
    ok = ~cells["community_id"].isin(incomplete)
    cells, lab = cells[ok], lab[ok]
    frame = pd.DataFrame({"community_id": cells["community_id"].astype(str).to_numpy(),
                          "label": lab.astype(str).to_numpy()}, index=cells.index)
    frame["grid"] = frame["community_id"] + "|" + frame["label"]
    codes, grid_names = pd.factorize(frame["grid"], sort=True)
    ng = len(grid_names)
    hh = np.bincount(codes, weights=cells["households"].to_numpy(dtype=float), minlength=ng).round().astype(int)
    geoms = cells.geometry.to_numpy()
    order = np.argsort(codes, kind="stable")
    splits = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1) if ng else []
    polys = np.empty(ng, dtype=object)
    for g, members in enumerate(splits):
        part = geoms[members]
        polys[g] = part[0] if len(part) == 1 else union_cells(part)
    comm_of_grid = np.asarray([name.split("|", 1)[0] for name in grid_names], dtype=object)
    grids = gpd.GeoDataFrame({"community_id": comm_of_grid, "households": hh}, geometry=polys,
                             index=pd.Index(grid_names, name="grid"), crs=metric)

    # contiguity: one polygon once crumbs are ignored
    parts = shapely.get_parts(grids.geometry.to_numpy(), return_index=True)
    big = shapely.area(parts[0]) >= CRUMB_M2
    n_parts = np.bincount(parts[1][big], minlength=ng)
    grids["contiguous"] = n_parts == 1

    area = shapely.area(grids.geometry.to_numpy())
    perim = shapely.length(grids.geometry.to_numpy())
    grids["polsby_popper"] = np.where(perim > 0, 4 * math.pi * area / np.maximum(perim, 1e-12) ** 2, np.nan)

    # boundary along streets or the community edge
    community_parts: dict[str, int] = {}
    along, interior, interior_on = _along_lengths(cells, grids, streets, metric, community_parts)
    grids["community_parts"] = grids["community_id"].map(community_parts).fillna(1).astype(int)
    grids["perimeter_m"] = perim
    grids["along_m"] = along

    if feasible is None:
        feas = pd.Series(True, index=pd.Index(sorted(set(comm_of_grid))))
    else:
        feas = feasible.reindex(sorted(set(comm_of_grid))).fillna(False).astype(bool)
    grids["feasible_community"] = feas.reindex(grids["community_id"]).to_numpy()
    grids["within"] = grids["households"].between(rules.min_households, rules.max_households)
    fg = grids[grids["feasible_community"]]
    out_of_bounds = fg.loc[~fg["within"], ["community_id", "households"]].copy()

    split = 0
    if buildings is not None and ng:
        split = _compounds_split(cells, frame["grid"], buildings, rules)

    pp = grids["polsby_popper"].dropna().to_numpy()
    n_comm = int(frame["community_id"].nunique())
    return PlanFigures(
        n_grids=ng, n_communities=n_comm, missing_communities=incomplete,
        feasible_grids=len(fg), within_share=float(fg["within"].mean()) if len(fg) else math.nan,
        contiguous_share=float(grids["contiguous"].mean()) if ng else math.nan,
        pp_mean=float(pp.mean()) if len(pp) else math.nan,
        pp_p10=float(np.quantile(pp, 0.1)) if len(pp) else math.nan,
        street_share=float(along.sum() / perim.sum()) if ng and perim.sum() > 0 else math.nan,
        cut_street_share=float(interior_on / interior) if interior > 0 else math.nan,
        compounds_split_unnecessarily=split, out_of_bounds=out_of_bounds, grids=grids)


def _n_parts(g: shapely.Geometry) -> int:
    return int((shapely.area(shapely.get_parts(g)) >= CRUMB_M2).sum())


def union_cells(geoms: np.ndarray) -> shapely.Geometry:
    """Union cells that tile a region, closing the hairline seams a CRS round trip leaves.

    After EPSG:4326 -> UTM, neighbours no longer share vertices exactly:
    coverage_union refuses them, a plain union can leave a hairline gap, and
    snap-rounding can open a seam a plain union closes (seen on the city). So try
    a plain union and a few snap precisions and keep the result with the fewest
    parts: none of them can join cells more than 1 cm apart, so a grid that is
    really in two pieces stays in two. Checked on demo and city: "one polygon"
    then agrees with connectivity in the unit graph.
    """
    best: shapely.Geometry | None = None
    for grid in UNION_GRIDS:
        try:
            u = shapely.union_all(geoms) if grid is None else shapely.union_all(geoms, grid_size=grid)
        except shapely.errors.GEOSException:
            continue
        if best is None or _n_parts(u) < _n_parts(best):
            best = u
        if _n_parts(best) <= 1:
            break
    return best if best is not None else shapely.union_all(geoms)


def _along_lengths(cells: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                   metric: pyproj.CRS, parts: dict[str, int]) -> tuple[np.ndarray, float, float]:
    """Per grid, perimeter length along a street or its community edge; plus interior totals.

    Fills ``parts`` with the number of pieces of each community (union of its cells).

    Interior boundary = perimeter not on the community edge (each shared edge
    counted from both sides, so the ratio is unaffected).
    """
    street_lines = (np.asarray(shapely.get_parts(streets.to_crs(metric).geometry.to_numpy()), dtype=object)
                    if streets is not None and len(streets) else np.zeros(0, dtype=object))
    tree = shapely.STRtree(street_lines) if len(street_lines) else None
    along = np.zeros(len(grids))
    interior = interior_on = 0.0
    gpos = {g: i for i, g in enumerate(grids.index)}
    for cid, grp in grids.groupby("community_id", sort=False):
        comm_cells = cells.geometry[cells["community_id"].astype(str) == cid].to_numpy()
        region = union_cells(comm_cells)
        pieces = shapely.get_parts(region)
        parts[cid] = int((shapely.area(pieces) >= CRUMB_M2).sum())
        edge_zone = shapely.buffer(shapely.boundary(region), ALONG_TOLERANCE_M)
        if tree is not None:
            near = tree.query(shapely.buffer(region, ALONG_TOLERANCE_M), predicate="intersects")
            street_zone = (shapely.buffer(shapely.union_all(street_lines[near]), ALONG_TOLERANCE_M)
                           if len(near) else shapely.Polygon())
        else:
            street_zone = shapely.Polygon()
        zone = shapely.union(edge_zone, street_zone)
        shapely.prepare(zone)
        bounds = shapely.boundary(grp.geometry.to_numpy())
        on_any = shapely.length(shapely.intersection(bounds, zone))
        inner = shapely.difference(bounds, edge_zone)
        inner_len = shapely.length(inner)
        inner_on = shapely.length(shapely.intersection(inner, street_zone)) if not street_zone.is_empty \
            else np.zeros(len(grp))
        for name, v in zip(grp.index, on_any, strict=True):
            along[gpos[name]] = v
        interior += float(inner_len.sum())
        interior_on += float(inner_on.sum())
    return along, interior, interior_on


def _compounds_split(cells: gpd.GeoDataFrame, grid_of_cell: pd.Series, buildings: pd.DataFrame,
                     rules: Rules) -> int:
    """Count compounds spread over more grids than they need (⌈households / max⌉).

    Compound size comes from the building list itself, so a compound the
    tessellation happened to cut in two still counts when it would fit one grid.
    """
    pairs = [(b, g) for bids, g in zip(cells["building_ids"].fillna("").astype(str), grid_of_cell.to_numpy(),
                                       strict=True) if bids for b in bids.split(";")]
    if not pairs:
        return 0
    bg = pd.DataFrame(pairs, columns=["building_id", "grid"])
    bg["compound_id"] = buildings["compound_id"].reindex(bg["building_id"]).to_numpy()
    bg = bg.dropna(subset=["compound_id"])
    if bg.empty:
        return 0
    size = buildings.dropna(subset=["compound_id"]).groupby("compound_id")["households"].sum()
    needed = np.maximum(1, np.ceil(size / rules.max_households)).astype(int)
    spans = bg.groupby("compound_id")["grid"].nunique()
    return int((spans > needed.reindex(spans.index).fillna(1)).sum())
