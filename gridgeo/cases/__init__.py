"""Citizen cases (事件): import real exports, meet the grids, merge repeated calls, find hotspot grids.

``read_export`` + ``import_cases`` turn a CSV/XLSX work-order export into the
clean cases frame (index ``case_id``, EPSG:4326) and an ``ImportReport``;
``join_grids`` places cases in the grid valid when they were reported;
``merge_cases`` groups repeated calls into matters (并单); ``hotspots`` gives
rates per 1,000 households, Gi* classes and trends per grid. ``prepare_cases``
runs the join and the merge in one call, as the page, CLI and SLA figures need.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridgeo.cases.dates import TZ, parse_datetimes
from gridgeo.cases.hotspots import (HOTSPOT_CLASSES, PATROL_WORDS, TRENDS, channel_split, classify, fdr_bh,
                                    filter_cases, gi_star, grid_counts, hotspots, mann_kendall, queen_weights)
from gridgeo.cases.importer import (FLAGS, SET_ASIDE, UNCATEGORISED, AddressIndex, Coords, ImportReport,
                                    ImportResult, cases_csv, empty_cases, import_cases, write_import)
from gridgeo.cases.join import GridJoin, grids_in_force, has_versions, join_grids
from gridgeo.cases.mapping import (FIELDS, REQUIRED, check_mapping, default_profiles_dir, list_profiles, load_profile,
                                   parse_map_args, save_profile, suggest_mapping)
from gridgeo.cases.merge import MergeRules, merge_cases
from gridgeo.cases.points import MetricPoints, metric_points
from gridgeo.cases.reading import RawExport, detect_header, read_export, sheet_names

__all__ = [
    "TZ", "parse_datetimes", "RawExport", "read_export", "sheet_names", "detect_header",
    "FIELDS", "REQUIRED", "default_profiles_dir", "suggest_mapping", "check_mapping", "parse_map_args", "save_profile", "load_profile",
    "list_profiles", "Coords", "UNCATEGORISED", "SET_ASIDE", "FLAGS", "ImportReport", "ImportResult",
    "AddressIndex", "import_cases", "empty_cases", "cases_csv", "write_import", "GridJoin", "join_grids", "has_versions",
    "grids_in_force",
    "MergeRules", "merge_cases", "MetricPoints", "metric_points", "HOTSPOT_CLASSES", "TRENDS", "PATROL_WORDS", "queen_weights", "gi_star",
    "fdr_bh", "classify", "mann_kendall", "grid_counts", "hotspots", "channel_split", "filter_cases",
    "prepare_cases", "load_cases", "from_layer",
]


def prepare_cases(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *,
                  rules: MergeRules = MergeRules()) -> tuple[gpd.GeoDataFrame, GridJoin]:
    """Add ``grid_id``, ``community_id``, ``edge_m`` and ``matter_id`` to a copy of ``cases``."""
    joined = join_grids(cases, grids)
    out = cases.copy()
    for col in ("grid_id", "community_id", "edge_m"):
        out[col] = joined.table[col].to_numpy()
    out["matter_id"] = merge_cases(out, rules, points=joined.points).to_numpy()
    return out, joined


def load_cases(path: str | Path, *, coords: Coords = "wgs84", sheet: str | None = None,
               mapping: dict[str, str] | None = None,
               buildings: gpd.GeoDataFrame | None = None) -> ImportResult:
    """Read and import an export (or a ``cases.csv`` written by ``write_import``) in one call."""
    return import_cases(read_export(path, sheet=sheet), mapping, coords=coords, buildings=buildings)


def from_layer(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A district's ``cases`` layer as read by ``gridgeo.io`` -> the cases frame's columns."""
    out = empty_cases()
    g = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326) if "geometry" in frame else \
        gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index), crs=4326)
    data = {c: (g[c] if c in g else pd.Series([None] * len(g), index=g.index, dtype=object))
            for c in out.columns if c not in ("geometry", "row")}
    data["row"] = pd.Series(range(2, len(g) + 2), index=g.index)
    data["category"] = g["category"].fillna(UNCATEGORISED) if "category" in g else UNCATEGORISED
    data["channel"] = g["channel"].fillna("") if "channel" in g else ""
    data["status"] = g["status"].fillna("") if "status" in g else ""
    has = ~g.geometry.isna().to_numpy()
    data["located_by"] = pd.Series(["coords" if h else "none" for h in has], index=g.index)
    data["flags"] = ""
    res = gpd.GeoDataFrame(data, geometry=g.geometry.to_numpy(), index=g.index, crs=4326)
    res.index.name = "case_id"
    return res
