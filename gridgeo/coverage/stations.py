"""Service stations loaded with named errors: unknown kind and duplicate ids (``io``), and outside the district."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np

from gridgeo import crs as gcrs
from gridgeo import io
from gridgeo.errors import GeometryError, InputError, Problem, SchemaError, Tr, summarize
from gridgeo.io.formats import read_raw
from gridgeo.io.validate import Coords, check_layer, normalise_headers
from gridgeo.schema import STATIONS
from gridgeo.settings import DEFAULT_RULES

__all__ = ["OUTSIDE_TOLERANCE_M", "check_stations", "read_stations", "read_candidates"]

_CANDIDATE_ID = ("candidate_id", "候选点编号", "候选点编码", "id")

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


def read_candidates(path: str | Path, *, coords: Coords = "wgs84") -> gpd.GeoDataFrame:
    """Read candidate sites (points: vacant rooms, community buildings …), index ``candidate_id``.

    Only the points are required: an id column (candidate_id, 候选点编号, station_id, 编号 …)
    is used when present, else rows are numbered C001 …; ``name`` defaults to the id.
    Problems are collected and raised once, as for every layer.
    """
    raw = read_raw(path, layer_name="candidates")
    frame = raw.frame
    lower = {str(c).strip().lower(): c for c in frame.columns}
    for alias in _CANDIDATE_ID:
        if alias in lower and "station_id" not in lower:
            frame = frame.rename(columns={lower[alias]: "station_id"})
            break
    frame = normalise_headers(frame, STATIONS)
    if "station_id" not in frame.columns:
        frame = frame.assign(station_id=[f"C{k + 1:03d}" for k in range(len(frame))])
    if "name" not in frame.columns:
        frame = frame.assign(name=frame["station_id"].astype(str))
    frame = frame.assign(kind="other")
    checked, problems = check_layer(replace(raw, frame=frame), STATIONS, path, coords=coords, rules=DEFAULT_RULES)
    # checked as a stations layer, but the user uploaded candidate sites: say so in the messages
    errors = [replace(p, params={**p.params, "layer": Tr("layer.candidates")}) if "layer" in p.params else p
              for p in problems if p.severity == "error"]
    if errors:
        cls = SchemaError if errors[0].code.startswith("err.schema") else (
            GeometryError if errors[0].code.startswith("err.geom") else InputError)
        raise cls(f"candidates file has {len(errors)} problem(s); nothing was loaded\n"
                  f"{summarize(errors, str(path))}", path=path, code=errors[0].code, problems=errors,
                  layer=Tr("layer.candidates"))
    assert isinstance(checked, gpd.GeoDataFrame)
    out = checked[["name", "geometry"]].copy()
    out.index.name = "candidate_id"
    return out
