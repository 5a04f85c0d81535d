"""Judge any plan version the same way, computed, imported or hand-edited: a per-grid table and plan metrics.

Every figure is recomputed from the version's grids and assignments and the
district's layers; nothing stored in the version (e.g. a ``households`` column
from a file) is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import io
from gridgeo.crs import metric_crs
from gridgeo.plans.model import PlanVersion
from gridgeo.settings import Rules

__all__ = ["Evaluation", "evaluate", "STREET_TOLERANCE_M", "TABLE_COLUMNS"]

#: A grid edge within this distance of a street centre line (or the community edge) "follows" it.
STREET_TOLERANCE_M = 10.0
#: Share of a grid's area allowed outside its community.
MAX_OUTSIDE_SHARE = 0.01
#: Columns of ``Evaluation.grids`` (index ``grid_id``, the grid code).
TABLE_COLUMNS = ("name", "community_id", "community", "kind", "households", "buildings", "units", "status",
                 "in_bounds", "contiguous", "polsby_popper", "street_share", "area_m2", "flags")


@dataclass(frozen=True)
class Evaluation:
    """Per-grid table (``TABLE_COLUMNS``, index ``grid_id``) and plan-level metrics."""

    grids: pd.DataFrame
    metrics: dict[str, float]


def evaluate(plan: PlanVersion, district: io.District, *, rules: Rules | None = None) -> Evaluation:
    """Evaluate ``plan`` on ``district`` with ``rules`` (default: the rules the plan was made with).

    ``status`` is within/under/over the household bounds, or ``exempt`` for a
    dedicated grid (专属网格, exempt from the bounds); ``in_bounds`` is True for
    within and exempt. ``contiguous`` means one polygon. ``street_share`` is the
    share of the boundary within ``STREET_TOLERANCE_M`` of a street or the
    community edge. ``flags`` adds ``not_contiguous``, ``crosses_community``,
    ``empty`` and ``out_of_bounds`` to the flags the plan carried.

    Metrics: ``n_grids``, ``n_dedicated``, ``households``, ``share_within_feasible``
    (basic grids within bounds, among communities whose total admits a grid
    count), ``grids_out_of_bounds``, ``contiguous_share``, ``pp_mean``, ``pp_p10``,
    ``street_share`` (length-weighted), ``buildings_split`` (in more than one
    grid), ``compounds_split``, ``unassigned_buildings`` (in the district but no grid).
    """
    r = rules or plan.rules
    g = plan.grids
    a = plan.assignments
    per = a.groupby("grid_id").agg(households=("households", "sum"), buildings=("building_id", "nunique"),
                                   units=("units", lambda s: int(pd.to_numeric(s).fillna(0).sum())))
    hh = per["households"].reindex(g.index).fillna(0).astype("int64")
    kind = g["kind"].fillna("basic").astype(str) if "kind" in g.columns else pd.Series("basic", index=g.index)
    dedicated = kind == "dedicated"
    status = np.where(dedicated, "exempt", np.where(hh < r.min_households, "under",
                                                    np.where(hh > r.max_households, "over", "within")))
    m = metric_crs(district.communities)
    gm = g.geometry.to_crs(m)
    area = gm.area.to_numpy()
    perim = gm.length.to_numpy()
    pp = np.where(perim > 0, 4 * np.pi * area / np.maximum(perim, 1e-9) ** 2, 0.0)
    contiguous = (g.geometry.geom_type == "Polygon").to_numpy()
    comm_m = district.communities.geometry.to_crs(m)
    lines: list[Any] = [shapely.boundary(geom) for geom in comm_m.to_numpy()]
    if district.streets is not None and len(district.streets):
        lines.extend(district.streets.geometry.to_crs(m).to_numpy())
    zone = shapely.buffer(shapely.union_all(np.asarray(lines, dtype=object)), STREET_TOLERANCE_M)
    shapely.prepare(zone)
    bounds = shapely.boundary(gm.to_numpy())
    on_street = shapely.length(shapely.intersection(bounds, zone))
    street = np.where(perim > 0, on_street / np.maximum(perim, 1e-9), 0.0)
    cid = g["community_id"].astype(str)
    names = district.communities["name"].astype(str)
    outside = np.zeros(len(g))
    comm_geom = {str(k): v for k, v in comm_m.items()}
    for i, (c, geom) in enumerate(zip(cid, gm.to_numpy(), strict=True)):
        home = comm_geom.get(c)
        if home is not None and area[i] > 0:
            outside[i] = 1.0 - float(shapely.intersection(geom, home).area) / area[i]
    base_flags = g["flags"].fillna("").astype(str) if "flags" in g.columns else pd.Series("", index=g.index)
    flags = []
    for i, f in enumerate(base_flags):
        parts = [p for p in f.split(";") if p]
        if not contiguous[i] and "multipart" not in parts:
            parts.append("not_contiguous")
        if outside[i] > MAX_OUTSIDE_SHARE:
            parts.append("crosses_community")
        if hh.iat[i] == 0 and not dedicated.iat[i]:
            parts.append("empty")
        if status[i] in ("under", "over") and "infeasible_community" not in parts:
            parts.append("out_of_bounds")
        flags.append(";".join(dict.fromkeys(parts)))
    table = pd.DataFrame({
        "name": g["name"].fillna("").astype(str) if "name" in g.columns else "",
        "community_id": cid, "community": cid.map(names).fillna("").to_numpy(), "kind": kind,
        "households": hh, "buildings": per["buildings"].reindex(g.index).fillna(0).astype("int64"),
        "units": per["units"].reindex(g.index).fillna(0).astype("int64"), "status": status,
        "in_bounds": status != "under", "contiguous": contiguous, "polsby_popper": pp, "street_share": street,
        "area_m2": area, "flags": flags,
    }, index=g.index)
    table["in_bounds"] = np.isin(status, ["within", "exempt"])
    table.index.name = "grid_id"

    comm_hh = district.buildings["households"].groupby(district.buildings["community_id"].astype(str)).sum()
    feasible = {str(c) for c, h in comm_hh.items() if len(r.feasible_grid_counts(int(h)))}
    basic_feasible = table[(table["kind"] != "dedicated") & table["community_id"].isin(feasible)]
    spans = a.groupby("building_id")["grid_id"].nunique()
    comp = district.buildings["compound_id"] if "compound_id" in district.buildings.columns else None
    compounds_split = 0
    if comp is not None:
        c = a.assign(compound=a["building_id"].map(comp)).dropna(subset=["compound"])
        compounds_split = int((c.groupby("compound")["grid_id"].nunique() > 1).sum())
    weights = perim.sum()
    metrics: dict[str, float] = {
        "n_grids": int(len(table)), "n_dedicated": int(dedicated.sum()), "households": int(hh.sum()),
        "share_within_feasible": float(basic_feasible["status"].eq("within").mean()) if len(basic_feasible)
        else float("nan"),
        "grids_out_of_bounds": int(table["status"].isin(["under", "over"]).sum()),
        "contiguous_share": float(contiguous.mean()) if len(table) else float("nan"),
        "pp_mean": float(pp.mean()) if len(pp) else float("nan"),
        "pp_p10": float(np.percentile(pp, 10)) if len(pp) else float("nan"),
        "street_share": float(on_street.sum() / weights) if weights > 0 else float("nan"),
        "buildings_split": int((spans > 1).sum()), "compounds_split": compounds_split,
        "unassigned_buildings": int((~district.buildings.index.astype(str).isin(a["building_id"].astype(str))).sum()),
    }
    return Evaluation(table, metrics)


def as_frame(grids: pd.DataFrame, geometry: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """The per-grid table with the grids' geometry (for maps and GeoJSON downloads)."""
    return gpd.GeoDataFrame(grids, geometry=geometry.reindex(grids.index).to_numpy(), crs=4326)
