"""Every result of gridgeo as export layers: staffing, cases with grid codes, hotspots, compliance, coverage, sites.

Each function takes the inputs the capability needs and the grids in use and
returns named layers (``{"grid_staffing": gdf, …}``) ready for
``export_layers``: canonical field names and codes (the writers translate them
for people), per-grid tables drawn on the grid polygons so QGIS can colour
them, phone numbers masked unless the caller asks otherwise. ``result_layers``
runs whichever the given inputs allow and says which are missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from gridgeo import cases as gcases
from gridgeo import coverage as cov
from gridgeo import sla
from gridgeo import staffing as sf
from gridgeo.cases.hotspots import Count
from gridgeo.grids import grid_households
from gridgeo.settings import DEFAULT_RULES

__all__ = ["LAYER_ORDER", "RESULT_INPUTS", "ResultLayers", "on_grids", "staffing_layers",
           "case_layers", "compliance_layers", "coverage_layers", "result_layers"]

#: Every layer an export can hold, in the order files and pickers list them.
LAYER_ORDER: tuple[str, ...] = ("grids", "assignments", "staff", "grid_staffing", "cases", "hotspots",
                                "compliance", "coverage_grids", "sites", "communities", "buildings", "streets",
                                "stations")
#: Result layer -> the input it is computed from (what a page or the CLI must ask for when it is missing).
RESULT_INPUTS: dict[str, str] = {"staff": "staff", "grid_staffing": "staff", "cases": "cases", "hotspots": "cases",
                                 "compliance": "cases", "coverage_grids": "stations", "sites": "stations"}
#: Case columns left out of exports: the citizen's free text may hold names and phone numbers.
_PRIVATE_CASE_COLUMNS = ("text", "row", "edge_m")


def on_grids(table: pd.DataFrame, grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A per-grid table (index ``grid_id``) on the grid polygons; grids missing from the table are left out."""
    ids = table.index.astype(str)
    geometry = grids.geometry.set_axis(grids.index.astype(str)).reindex(ids)
    out = gpd.GeoDataFrame(table.copy(), geometry=geometry.to_numpy(), crs=grids.crs or 4326)
    out.index = pd.Index(ids, name="grid_id")
    return out


def staffing_layers(result: sf.StaffingResult, grids: gpd.GeoDataFrame, *,
                    show_phones: bool = False) -> dict[str, pd.DataFrame]:
    """``staff``: the roster with grid codes (网格员花名册, one row per person, phones masked unless
    ``show_phones``); ``grid_staffing``: leaders, workers, households per worker and flags per grid."""
    per_grid = sf.grid_table(result).set_index("grid_id")
    return {"staff": sf.roster_frame(result, show_phones=show_phones), "grid_staffing": on_grids(per_grid, grids)}


def case_layers(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, households: pd.Series, *,
                count: Count = "matters") -> dict[str, pd.DataFrame]:
    """``cases``: every case with its grid code, community and matter (并单); ``hotspots``: rate per
    1,000 households, Gi* class and trend per grid in force.

    ``cases`` is a cases frame (``gridgeo.cases.from_layer`` or ``load_cases``);
    ``households`` is indexed by ``grid_id``.
    """
    prepared, _ = gcases.prepare_cases(cases, grids)
    current = gcases.grids_in_force(grids)
    table = gcases.hotspots(prepared, current, households.reindex(current.index.astype(str)).fillna(0), count=count)
    if "community_id" in current.columns:
        table.insert(0, "community_id", current["community_id"].astype(str).reindex(table.index).to_numpy())
    keep = [c for c in prepared.columns if c not in _PRIVATE_CASE_COLUMNS]
    return {"cases": prepared[keep], "hotspots": table}


def compliance_layers(cases: pd.DataFrame, grids: gpd.GeoDataFrame, *, as_of: str | dt.date | None = None,
                      rules: str = "jinan") -> dict[str, pd.DataFrame]:
    """``compliance``: received, on time, late, red cards and the rates per grid (办理时效), judged by the
    ``rules`` preset on the working-day calendar at the end of ``as_of`` (default: the last case's day).

    ``cases`` is a district's cases layer as ``gridgeo.io`` reads it.
    """
    frame = sla.from_layer(sla.locate_cases(cases, grids))
    day = as_of if as_of is not None else frame["created_at"].max().date()
    result = sla.check(frame, sla.load_rules(rules), sla.work_calendar(), day)
    per_grid = result.kpis("grid_id")
    per_grid = per_grid[per_grid.index.astype(str) != ""]
    per_grid.insert(0, "as_of", str(result.as_of))
    return {"compliance": on_grids(per_grid, grids)}


def coverage_layers(buildings: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *,
                    streets: gpd.GeoDataFrame | None = None, assignments: pd.DataFrame | None = None,
                    reaches: Sequence[int] = DEFAULT_RULES.walking_reach_m, sites: int = 3,
                    reach_m: int | None = None) -> dict[str, pd.DataFrame]:
    """``coverage_grids``: households within each walking reach of a station per grid (along ``streets``,
    else in straight lines); ``sites``: the ``sites`` new station sites that cover the most households not
    yet within ``reach_m`` (default: the middle reach, 500 m), with the households each gains."""
    network = cov.build_network(streets, buildings, stations) if streets is not None and len(streets) else None
    access = cov.station_access(buildings, stations, network=network)
    table = cov.grids_frame(cov.coverage_by_grid(access, buildings, grids, reaches, assignments=assignments),
                            reaches, access.kinds)
    out: dict[str, pd.DataFrame] = {"coverage_grids": on_grids(table, grids)}
    if sites > 0:
        reach = int(reach_m if reach_m is not None else sorted(reaches)[len(reaches) // 2])
        result = cov.plan_sites(access, buildings, k=sites, reach_m=reach, network=network)
        found = result.sites.copy()
        found["reach_m"] = reach
        found["method"] = result.method
        out["sites"] = found
    return out


@dataclass(frozen=True)
class ResultLayers:
    """The layers computed (in ``LAYER_ORDER``) and the inputs that were missing for the others."""

    layers: dict[str, pd.DataFrame]
    missing: tuple[str, ...] = field(default=())


def result_layers(grids: gpd.GeoDataFrame, *, buildings: gpd.GeoDataFrame | None = None,
                  assignments: pd.DataFrame | None = None, roster: sf.Roster | None = None,
                  cases: pd.DataFrame | None = None, stations: gpd.GeoDataFrame | None = None,
                  streets: gpd.GeoDataFrame | None = None, show_phones: bool = False,
                  staffing_mode: str = "assign", staffing_rules: sf.StaffingRules = sf.DEFAULT_STAFFING,
                  keep_current: bool = True, sites: int = 3, as_of: str | dt.date | None = None,
                  wanted: Sequence[str] | None = None) -> ResultLayers:
    """Compute every result layer the inputs allow (or only ``wanted``); name the missing inputs.

    Households per grid come from ``buildings`` (and the plan's ``assignments``);
    without buildings, from the grids' own ``households`` column. ``roster`` is
    assigned optimally under ``staffing_rules`` (``staffing_mode="assign"``,
    current grids kept unless ``keep_current`` is False) or checked as it stands
    (``"check"``), as the Staffing page does.
    """
    want = set(wanted) if wanted is not None else set(RESULT_INPUTS)
    layers: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    if buildings is not None:
        households = grid_households(grids, buildings, assignments)["households"]
    else:
        households = pd.to_numeric(grids.get("households", pd.Series(0, index=grids.index)), errors="coerce")
        households = households.fillna(0).astype(int)
    households.index = households.index.astype(str)

    def needed(*names: str) -> bool:
        return bool(want & set(names))

    if needed("staff", "grid_staffing"):
        if roster is None:
            missing.append("staff")
        else:
            hh = households.reindex(grids.index.astype(str)).set_axis(grids.index)
            result = (sf.check_staff(roster, grids, hh, rules=staffing_rules) if staffing_mode == "check"
                      else sf.assign_staff(roster, grids, hh, rules=staffing_rules, keep_current=keep_current))
            layers.update(staffing_layers(result, grids, show_phones=show_phones))
    if needed("cases", "hotspots", "compliance"):
        if cases is None or not len(cases):
            missing.append("cases")
        else:
            if needed("cases", "hotspots"):
                frame = cases if "located_by" in cases.columns else gcases.from_layer(cases)
                layers.update(case_layers(frame, grids, households))
            if needed("compliance"):
                layers.update(compliance_layers(cases, grids, as_of=as_of))
    if needed("coverage_grids", "sites"):
        if stations is None or not len(stations):
            missing.append("stations")
        if buildings is None:
            missing.append("buildings")
        if stations is not None and len(stations) and buildings is not None:
            layers.update(coverage_layers(buildings, stations, grids, streets=streets, assignments=assignments,
                                          sites=sites if needed("sites") else 0))
    ordered = {name: layers[name] for name in LAYER_ORDER if name in layers and name in want}
    return ResultLayers(ordered, tuple(missing))

