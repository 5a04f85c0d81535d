"""Coverage results as tables (per building, per grid) and proposed sites as GeoJSON.

CSV and XLSX are written by the shared ``gridgeo.tables``; GeoJSON is RFC 7946
(EPSG:4326 lon/lat, no ``crs`` member).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridgeo.coverage.measure import ANY, StationAccess, reach_columns
from gridgeo.coverage.siting import SitingResult

__all__ = ["buildings_frame", "grids_frame", "sites_geojson"]


def buildings_frame(access: StationAccess, grid_of: pd.Series | None = None) -> pd.DataFrame:
    """Per building: households, grid, nearest station id and metres per kind and of any kind, method."""
    t = access.table
    out = pd.DataFrame({"households": t["households"]}, index=t.index)
    out.index.name = "building_id"
    if grid_of is not None:
        out["grid_id"] = grid_of.reindex(t.index).to_numpy()
    for kind in (*access.kinds, ANY):
        out[f"nearest_{kind}"] = t[f"nearest_{kind}"]
        out[f"metres_{kind}"] = t[f"metres_{kind}"].round(1)
    out["method"] = access.method
    return out


def grids_frame(table: pd.DataFrame, reaches: Sequence[int], kinds: Sequence[str]) -> pd.DataFrame:
    """A coverage table in file order: id, households, ``within_<r>`` …, per kind, shares, the rest."""
    first = ["households", *[f"within_{r}" for r in reaches]]
    rest = [c for c in reach_columns(reaches, kinds) if c not in first]
    shares = [f"share_{r}" for r in reaches]
    tail = [c for c in table.columns if c not in {*first, *rest, *shares}]
    out = table[first + rest + shares + tail].copy()
    out[shares] = out[shares].round(4)
    return out


def sites_geojson(result: SitingResult) -> bytes:
    """Proposed sites as GeoJSON points: candidate_id, rank, households_gained, buildings_gained, reach_m …"""
    s = result.sites.reset_index()
    s["reach_m"] = np.int64(result.reach_m)
    s["kind"] = result.kind
    s["method"] = result.method
    s["status"] = result.status
    text: str = s.to_json(ensure_ascii=False, drop_id=True, to_wgs84=False)
    return text.encode("utf-8")
