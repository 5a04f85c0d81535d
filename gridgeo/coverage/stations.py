"""Service stations loaded with named errors: unknown kind and duplicate ids (``io``), and outside the district."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from gridgeo import crs as gcrs
from gridgeo import io
from gridgeo.errors import GeometryError, Problem, summarize

__all__ = ["OUTSIDE_TOLERANCE_M", "check_stations", "read_stations"]

#: A station this close outside the district still counts (a centre across the boundary road).
OUTSIDE_TOLERANCE_M = 100.0


def check_stations(stations: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *,
                   tolerance_m: float = OUTSIDE_TOLERANCE_M) -> list[Problem]:
    """Return one problem per station farther than ``tolerance_m`` outside every community."""
    if stations.empty or communities.empty:
        return []
    metric = gcrs.metric_crs(communities)
    area = communities.to_crs(metric).geometry.union_all()
    pts = stations.geometry.to_crs(metric)
    dist = pts.distance(area).to_numpy()
    problems = []
    for pos in np.flatnonzero(dist > tolerance_m):
        sid = str(stations.index[pos])
        p = stations.geometry.iloc[pos]
        problems.append(Problem(
            f"lies {dist[pos]:,.0f} m outside the district", "err.coverage.station_outside", "error",
            None, sid, f"lon={p.x:.6f}, lat={p.y:.6f}",
            "check the station's coordinates (and their coordinate system), or remove it from the file",
            (sid,), params={"distance": round(float(dist[pos]))}))
    return problems


def read_stations(path: str | Path, communities: gpd.GeoDataFrame, *, tolerance_m: float = OUTSIDE_TOLERANCE_M,
                  **kw: object) -> gpd.GeoDataFrame:
    """Read a stations file and check it against the district; raise one error naming every problem.

    Unknown kinds and repeated ids are reported by ``io.read_stations``;
    stations outside the district by ``check_stations``.
    """
    stations = io.read_stations(path, **kw)
    problems = check_stations(stations, communities, tolerance_m=tolerance_m)
    if problems:
        n = len(problems)
        raise GeometryError(f"stations file has {n} station{'s' if n > 1 else ''} outside the district; "
                            f"nothing was loaded\n{summarize(problems, str(path))}", path=path,
                            code="err.coverage.station_outside", problems=problems,
                            distance=problems[0].params["distance"])
    return stations
