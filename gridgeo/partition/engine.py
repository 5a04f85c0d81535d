"""Check the inputs, cut the district into per-community tasks, run them, assemble the result.

Grids never cross a community boundary, so a district is many independent
problems; with ``workers > 1`` they run in worker processes. Each community
draws from its own RNG seeded by (seed, community id), so the plan does not
depend on the number of workers or the order tasks finish in.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.crs import metric_crs
from gridgeo.errors import CRSError, GeometryError, GridgeoWarning, InputError, SchemaError
from gridgeo.partition import _kernels
from gridgeo.partition.community import (FLAGS, CommunityOutput, LockedGrid, Task, solve_community)
from gridgeo.partition.result import Locked, PartitionResult
from gridgeo.partition.search import SearchParams
from gridgeo.partition.tessellation import unit_households, unit_plan
from gridgeo.settings import DEFAULT_RULES, Rules

__all__ = ["partition", "Partitioner", "prepare_inputs", "Prepared", "Progress"]

Progress = Callable[[int, int, str], None]
_CODE = "err.partition.input"
_POLY = ("Polygon", "MultiPolygon")


@dataclass
class Prepared:
    """Validated inputs cut into one task per community."""

    tasks: list[Task]
    metric_crs: pyproj.CRS
    locked_geometry: dict[str, shapely.Geometry]   # grid_id -> the caller's EPSG:4326 geometry


# ----------------------------------------------------------------------------- validation

def _ids(values: Any, limit: int = 10) -> str:
    vals = [str(v) for v in values]
    return ", ".join(vals[:limit]) + (f" …and {len(vals) - limit} more" if len(vals) > limit else "")


def _show(value: object) -> str:
    """A value as the user typed it: quotes for text, plain digits for numbers."""
    return repr(value) if isinstance(value, str) else str(value)


def _as_4326(gdf: gpd.GeoDataFrame, layer: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{layer} must be a GeoDataFrame, got {type(gdf).__name__}", code=_CODE,
                         remedy="load it with gridgeo.io or geopandas.read_file")
    if gdf.crs is None:
        raise CRSError(f"the {layer} layer has no CRS", code="crs.missing",
                       remedy="call .set_crs('EPSG:4326') if the coordinates are lon/lat degrees")
    if gdf.index.has_duplicates:
        dup = gdf.index[gdf.index.duplicated()].unique()
        raise SchemaError(f"{layer} ids must be unique; duplicated: {_ids(dup)}", code=_CODE,
                          remedy="give every feature its own id")
    return gdf if gdf.crs.equals(pyproj.CRS.from_epsg(4326)) else gdf.to_crs(4326)


def _check_communities(communities: gpd.GeoDataFrame, rules: Rules) -> gpd.GeoDataFrame:
    c = _as_4326(communities, "communities")
    if len(c) == 0:
        raise InputError("the communities layer is empty", code=_CODE, remedy="load at least one community")
    geom = c.geometry
    bad = c.index[geom.isna().to_numpy() | geom.is_empty.to_numpy()]
    if len(bad):
        raise GeometryError(f"communities without a boundary: {_ids(bad)}", code=_CODE,
                            remedy="draw their boundaries or remove them")
    wrong = c.index[~geom.geom_type.isin(_POLY).to_numpy()]
    if len(wrong):
        raise GeometryError(f"community boundaries must be polygons; not polygons: {_ids(wrong)}", code=_CODE,
                            remedy="save the boundaries as (Multi)Polygons")
    invalid = ~geom.is_valid.to_numpy()
    if invalid.any():
        fixed = geom.copy()
        repaired = shapely.make_valid(geom.to_numpy()[invalid])
        polys = np.asarray([shapely.union_all([p for p in shapely.get_parts(g)
                                               if shapely.get_type_id(p) in (3, 6)]) for g in repaired],
                           dtype=object)
        before = gpd.GeoSeries(geom.to_numpy()[invalid], crs=4326)
        after = gpd.GeoSeries(polys, crs=4326)
        m = metric_crs(c)
        change = (np.abs(after.to_crs(m).area.to_numpy() - before.to_crs(m).area.to_numpy())
                  / np.maximum(before.buffer(0).to_crs(m).area.to_numpy(), 1e-9))
        too_much = c.index[invalid][change > rules.max_repair_area_change]
        if len(too_much):
            raise GeometryError(f"invalid community boundaries that cannot be repaired safely: {_ids(too_much)}",
                                code=_CODE, remedy="fix the self-intersections in a GIS and load again")
        fixed[invalid] = polys
        warnings.warn(f"repaired invalid community boundaries: {_ids(c.index[invalid])}", GridgeoWarning,
                      stacklevel=3)
        c = c.set_geometry(fixed)
    return c


def _whole_numbers(s: pd.Series, name: str, layer: str, *, minimum: int, allow_na: bool) -> pd.Series:
    num = pd.to_numeric(s, errors="coerce")
    bad = (num.isna() & (s.notna() | (not allow_na))) | (num.notna() & ((num % 1 != 0) | (num < minimum)))
    if bad.any():
        ex = s[bad]
        raise SchemaError(f"{layer} {name} must be whole numbers ≥ {minimum}; bad at "
                          + ", ".join(f"{i} ({_show(v)})" for i, v in list(ex.items())[:10]), code=_CODE,
                          remedy=f"correct {name} for these ids")
    return num.astype("Int64")


def _check_buildings(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                     rules: Rules) -> gpd.GeoDataFrame:
    b = _as_4326(buildings, "buildings")
    if "households" not in b.columns:
        raise SchemaError("the buildings layer has no households column", code=_CODE,
                          remedy="add a households (户数) column")
    geom = b.geometry
    bad = b.index[geom.isna().to_numpy() | geom.is_empty.to_numpy()]
    if len(bad):
        raise GeometryError(f"buildings without a location: {_ids(bad)}", code=_CODE,
                            remedy="give them a footprint or point, or remove them")
    wrong = b.index[~geom.geom_type.isin(("Point", *_POLY)).to_numpy()]
    if len(wrong):
        raise GeometryError(f"buildings must be points or polygons; not so: {_ids(wrong)}", code=_CODE)
    out = pd.DataFrame(index=b.index)
    out["households"] = _whole_numbers(b["households"], "households", "buildings", minimum=0, allow_na=False)
    out["units"] = (_whole_numbers(b["units"], "units", "buildings", minimum=1, allow_na=True)
                    if "units" in b.columns else pd.array([pd.NA] * len(b), dtype="Int64"))
    comp = b["compound_id"] if "compound_id" in b.columns else pd.Series(None, index=b.index, dtype=object)
    out["compound_id"] = [None if pd.isna(v) or str(v).strip() == "" else str(v) for v in comp]
    given = b["community_id"] if "community_id" in b.columns else pd.Series(None, index=b.index, dtype=object)
    given = pd.Series([None if pd.isna(v) else str(v) for v in given], index=b.index, dtype=object)
    unknown = given.notna() & ~given.isin(communities.index.astype(str))
    if unknown.any():
        raise SchemaError(f"buildings name a community_id that is not in the communities layer: "
                          + ", ".join(f"{i} ({v})" for i, v in list(given[unknown].items())[:10]), code=_CODE,
                          remedy="correct community_id, or leave it empty to place buildings by location")
    missing = given.isna().to_numpy()
    if missing.any():
        given[missing] = _locate(b.geometry[missing], communities, rules)
    out["community_id"] = given
    return gpd.GeoDataFrame(out, geometry=b.geometry.to_numpy(), crs=4326)


def _locate(geoms: gpd.GeoSeries, communities: gpd.GeoDataFrame, rules: Rules) -> np.ndarray:
    """Community of each building by representative point; a near miss within the snap tolerance counts."""
    pts = geoms.representative_point()
    hit_b, hit_c = communities.sindex.query(pts.to_numpy(), predicate="intersects")
    found = np.full(len(pts), None, dtype=object)
    cids = communities.index.astype(str).to_numpy()
    order = np.argsort(hit_b, kind="stable")
    first = np.unique(hit_b[order], return_index=True)[1]
    found[hit_b[order][first]] = cids[hit_c[order][first]]
    lost = np.flatnonzero(found == None)  # noqa: E711
    if len(lost):
        m = metric_crs(communities)
        cm = communities.to_crs(m)
        pm = pts.iloc[lost].to_crs(m)
        nb, nc = cm.sindex.nearest(pm.to_numpy(), max_distance=rules.snap_tolerance_m, return_all=False)
        found[lost[nb]] = cids[nc]
        still = np.flatnonzero(found == None)  # noqa: E711
        if len(still):
            raise GeometryError(f"buildings outside every community: {_ids(geoms.index[still])}", code=_CODE,
                                remedy="check their coordinates, or extend the community that contains them")
    return found


def _check_streets(streets: gpd.GeoDataFrame | None) -> gpd.GeoSeries:
    if streets is None or len(streets) == 0:
        return gpd.GeoSeries([], crs=4326)
    s = _as_4326(streets.reset_index(drop=True), "streets")
    keep = s.geometry.notna().to_numpy() & s.geometry.geom_type.isin(("LineString", "MultiLineString")).to_numpy()
    return s.geometry[keep]


def _check_locked(locked: Locked | gpd.GeoDataFrame | None, communities: gpd.GeoDataFrame,
                  buildings: gpd.GeoDataFrame) -> Locked | None:
    if locked is None:
        return None
    if isinstance(locked, gpd.GeoDataFrame):
        locked = Locked(grids=locked)
    if not isinstance(locked, Locked):
        raise InputError("locked must be a gridgeo.partition.Locked or a GeoDataFrame of grids", code=_CODE,
                         remedy="use PartitionResult.lock([...grid ids]) to build it")
    if len(locked.grids) == 0:
        return None
    g = _as_4326(locked.grids, "locked grids")
    if "community_id" not in g.columns:
        raise SchemaError("locked grids need a community_id column", code=_CODE)
    cid = g["community_id"].astype(str)
    unknown = g.index[~cid.isin(communities.index.astype(str)).to_numpy()]
    if len(unknown):
        raise SchemaError(f"locked grids in unknown communities: {_ids(unknown)}", code=_CODE,
                          remedy="lock grids of the communities being divided")
    wrong = g.index[~g.geometry.geom_type.isin(_POLY).to_numpy() | g.geometry.is_empty.to_numpy()]
    if len(wrong):
        raise GeometryError(f"locked grids must be polygons: {_ids(wrong)}", code=_CODE)
    a = locked.assignments
    if a is not None:
        need = {"building_id", "grid_id", "households"}
        if not need <= set(a.columns):
            raise SchemaError(f"locked assignments need columns {sorted(need)}", code=_CODE)
        stray = a.loc[~a["grid_id"].isin(g.index), "grid_id"].unique()
        if len(stray):
            raise SchemaError(f"locked assignments name grids that are not locked: {_ids(stray)}", code=_CODE)
        gone = a.loc[~a["building_id"].isin(buildings.index), "building_id"].unique()
        if len(gone):
            raise SchemaError(f"locked grids hold buildings missing from the buildings layer: {_ids(gone)}",
                              code=_CODE, remedy="unlock these grids or restore the buildings")
        a = a.copy()
        if "unit_range" not in a.columns:
            a["unit_range"] = ""
        a["unit_range"] = a["unit_range"].fillna("").astype(str)
    return Locked(grids=g.assign(community_id=cid), assignments=a)


def _parse_range(text: str) -> list[int]:
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


# ----------------------------------------------------------------------------- tasks

def prepare_inputs(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                   streets: gpd.GeoDataFrame | None = None, *, rules: Rules = DEFAULT_RULES,
                   locked: Locked | gpd.GeoDataFrame | None = None, seed: int = 0) -> Prepared:
    """Validate the layers and cut them into one task per community, in one metric CRS.

    Raises
    ------
    InputError
        (SchemaError, GeometryError, CRSError) naming the offending ids and the fix.
    """
    if not isinstance(rules, Rules):
        raise InputError("rules must be a gridgeo.settings.Rules", code=_CODE)
    comm = _check_communities(communities, rules)
    bld = _check_buildings(buildings, comm, rules)
    st = _check_streets(streets)
    lock = _check_locked(locked, comm, bld)
    m = metric_crs(comm)
    comm_m = comm.geometry.to_crs(m)
    bld_m = bld.geometry.to_crs(m)
    st_m = st.to_crs(m).to_numpy() if len(st) else np.zeros(0, dtype=object)
    st_tree = shapely.STRtree(st_m) if len(st_m) else None
    per_unit = rules.households_per_unit_estimate
    n_units, known = unit_plan(bld["households"].to_numpy(dtype=np.int64), bld["units"].to_numpy(),
                               per_unit)
    bld = bld.assign(_n_units=n_units, _known=known)
    locked_geometry: dict[str, shapely.Geometry] = {}
    locked_by_comm: dict[str, list[LockedGrid]] = {}
    taken: dict[str, list[int]] = {}          # building -> locked unit numbers (1-based)
    taken_hh: dict[str, int] = {}
    fully: set[str] = set()
    if lock is not None:
        lg_m = lock.grids.geometry.to_crs(m)
        for gid, cid, geom4326, geom_m in zip(lock.grids.index, lock.grids["community_id"],
                                               lock.grids.geometry, lg_m, strict=True):
            comm_geom = comm_m.loc[cid]
            if shapely.area(shapely.difference(geom_m, comm_geom)) > 1.0:
                raise GeometryError(f"locked grid {gid} reaches outside community {cid}", code=_CODE,
                                    remedy="lock only grids drawn inside their community")
            if lock.assignments is not None:
                rows = lock.assignments[lock.assignments["grid_id"] == gid]
                rec = []
                for r in rows.itertuples(index=False):
                    b = str(r.building_id)
                    units = _parse_range(getattr(r, "unit_range", ""))
                    rec.append({"building_id": b, "households": int(r.households),
                                "units": getattr(r, "units", pd.NA), "unit_range": getattr(r, "unit_range", ""),
                                "estimated": bool(getattr(r, "estimated", False)),
                                "compound_id": bld.at[b, "compound_id"]})
                    if units:
                        taken.setdefault(b, []).extend(units)
                    else:
                        fully.add(b)
                    taken_hh[b] = taken_hh.get(b, 0) + int(r.households)
            else:
                inside = bld.index[(bld["community_id"] == cid).to_numpy()
                                   & shapely.contains(geom4326, bld.geometry.representative_point().to_numpy())]
                rec = []
                for b in inside:
                    if b in fully or b in taken:
                        continue
                    fully.add(b)
                    taken_hh[b] = int(bld.at[b, "households"])
                    rec.append({"building_id": b, "households": int(bld.at[b, "households"]),
                                "units": bld.at[b, "units"], "unit_range": "", "estimated": False,
                                "compound_id": bld.at[b, "compound_id"]})
            locked_geometry[gid] = geom4326
            locked_by_comm.setdefault(cid, []).append(LockedGrid(gid, geom_m, rec))
        for cid, lgs in locked_by_comm.items():
            geoms = [x.geometry for x in lgs]
            if len(geoms) > 1 and shapely.area(shapely.union_all(geoms)) < sum(map(shapely.area, geoms)) - 1.0:
                raise GeometryError(f"locked grids of community {cid} overlap", code=_CODE,
                                    remedy="lock grids from one plan only")
        for b, hh in taken_hh.items():
            total = int(bld.at[b, "households"])
            if hh > total or (b in fully and hh != total):
                raise SchemaError(f"locked grids hold {hh} households of building {b}, which has {total}",
                                  code=_CODE, remedy="re-lock from the current plan")
    tasks: list[Task] = []
    cids = comm.index.astype(str)
    for cid, geom_m in zip(cids, comm_m.to_numpy(), strict=True):
        sel = (bld["community_id"] == cid).to_numpy()
        sub = bld[sel]
        keep = ~sub.index.isin(list(fully))
        rows = sub[keep]
        frame = pd.DataFrame({
            "building_id": rows.index.astype(str), "geometry": bld_m[sel][keep].to_numpy(),
            "households": rows["households"].to_numpy(dtype=np.int64),
            "households_total": rows["households"].to_numpy(dtype=np.int64),
            "units": rows["units"].to_numpy(), "compound_id": rows["compound_id"].to_numpy(),
            "unit_subset": [None] * len(rows)})
        for i, b in enumerate(frame["building_id"]):
            if b in taken:
                n = int(rows.at[b, "_n_units"])
                left = sorted(set(range(1, n + 1)) - set(taken[b]))
                per = unit_households(int(rows.at[b, "households"]), n)
                if sum(per[u - 1] for u in taken[b]) != taken_hh[b] or max(taken[b]) > n:
                    raise SchemaError(f"locked units {_ids(sorted(taken[b]))} of building {b} do not match its "
                                      f"{n} units", code=_CODE, remedy="re-lock from the current plan")
                frame.at[i, "unit_subset"] = [u - 1 for u in left]
                frame.at[i, "households"] = int(sum(per[u - 1] for u in left))
        placed = np.asarray([v is None or len(v) > 0 for v in frame["unit_subset"]], dtype=bool)
        frame = frame.loc[placed].reset_index(drop=True)
        lgs = locked_by_comm.get(cid, [])
        region = geom_m
        if lgs:
            region = shapely.difference(geom_m, shapely.union_all([x.geometry for x in lgs]))
            region = shapely.union_all([p for p in shapely.get_parts(region) if shapely.area(p) > 1e-3]) \
                if not shapely.is_empty(region) else region
        near = (st_m[st_tree.query(geom_m, predicate="intersects")] if st_tree is not None
                else np.zeros(0, dtype=object))
        units_info = {str(b): (int(n), bool(k), int(u) if bool(k) else 0)
                      for b, n, k, u in zip(sub.index, sub["_n_units"], sub["_known"],
                                            sub["units"].fillna(0), strict=True)}
        tasks.append(Task(community_id=cid, community=geom_m, region=region, buildings=frame,
                          streets=np.asarray(near, dtype=object), locked=lgs, seed=int(seed),
                          building_units=units_info))
    return Prepared(tasks=tasks, metric_crs=m, locked_geometry=locked_geometry)


# ----------------------------------------------------------------------------- running

def _run(args: tuple[Task, Rules, SearchParams]) -> CommunityOutput:
    task, rules, params = args
    return solve_community(task, rules, params)


def _execute(tasks: list[Task], rules: Rules, params: SearchParams, workers: int,
             progress: Progress | None, executor: Executor | None = None) -> list[CommunityOutput]:
    total = len(tasks)
    outputs: list[CommunityOutput] = []
    if executor is not None:
        # any concurrent.futures.Executor (a Dask cluster: Client(address).get_executor()); each
        # community carries its own seed, so where and in which order it runs changes nothing
        order = sorted(tasks, key=lambda tk: -len(tk.buildings))
        futures = {executor.submit(_run, (task, rules, params)): task.community_id for task in order}
        for i, fut in enumerate(as_completed(futures), 1):
            outputs.append(fut.result())
            if progress is not None:
                progress(i, total, futures[fut])
        return outputs
    if workers <= 1 or total <= 1:
        for i, task in enumerate(tasks, 1):
            outputs.append(solve_community(task, rules, params))
            if progress is not None:
                progress(i, total, task.community_id)
        return outputs
    # biggest first, so the slowest community does not start last
    order = sorted(tasks, key=lambda tk: -len(tk.buildings))
    # fork: workers inherit the loaded modules and never re-run the caller's __main__ (a script
    # without an `if __name__ == "__main__"` guard would recurse under spawn/forkserver)
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    if ctx.get_start_method() == "fork":
        _kernels.warm()   # compiled kernels loaded once here, not once per worker
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=ctx) as pool:
        futures = {pool.submit(_run, (task, rules, params)): task.community_id for task in order}
        for i, fut in enumerate(as_completed(futures), 1):
            outputs.append(fut.result())
            if progress is not None:
                progress(i, total, futures[fut])
    return outputs


def _assemble(prep: Prepared, outputs: list[CommunityOutput], rules: Rules, seed: int,
              seconds_from: float) -> PartitionResult:
    outputs = sorted(outputs, key=lambda o: o.community_id)
    grid_rows = [g for o in outputs for g in o.grids]
    asg = pd.DataFrame([r for o in outputs for r in o.assignments],
                       columns=["building_id", "grid_id", "households", "units", "unit_range", "estimated"])
    asg = asg.astype({"building_id": str, "grid_id": str, "households": "int64", "estimated": bool})
    asg["units"] = pd.array(asg["units"].tolist(), dtype="Int64")
    asg["unit_range"] = asg["unit_range"].astype(str)
    asg = asg.sort_values(["grid_id", "building_id"], kind="stable").reset_index(drop=True)
    counts = asg.groupby("grid_id")["building_id"].nunique()
    ids = [g["grid_id"] for g in grid_rows]
    metric_geoms = gpd.GeoSeries([g["geometry"] for g in grid_rows], crs=prep.metric_crs)
    geoms = metric_geoms.to_crs(4326).to_numpy()
    for i, g in enumerate(grid_rows):
        if g["_locked"]:
            geoms[i] = prep.locked_geometry[g["grid_id"]]
    grids = gpd.GeoDataFrame({
        "community_id": [g["community_id"] for g in grid_rows],
        "households": np.asarray([g["households"] for g in grid_rows], dtype=np.int64),
        "buildings": counts.reindex(ids).fillna(0).astype("int64").to_numpy(),
        "polsby_popper": [g["polsby_popper"] for g in grid_rows],
        "street_share": [g["street_share"] for g in grid_rows],
        "status": [g["status"] for g in grid_rows],
        "flags": [g["flags"] for g in grid_rows],
        "area_m2": [g["area_m2"] for g in grid_rows],
        "perimeter_m": [g["perimeter_m"] for g in grid_rows],
    }, geometry=list(geoms), crs=4326, index=pd.Index(ids, name="grid_id")).sort_index()
    report = pd.DataFrame([o.report for o in outputs]).set_index("community_id")
    report = report.astype({"households": "int64", "grids": "int64", "k_min": "int64", "k_max": "int64",
                            "feasible": bool, "status": str, "nearest_k": "int64", "grid_min": "int64", "grid_max": "int64"})
    comp = pd.DataFrame([{k: v for k, v in c.items() if not k.startswith("_")} for o in outputs for c in o.compounds],
                        columns=["community_id", "compound_id", "households", "grids", "needed", "flag", "forced"])
    seconds = time.perf_counter() - seconds_from
    return PartitionResult(grids=grids, assignments=asg, report=report, compounds=comp, seconds=seconds,
                           rules=rules, seed=seed)


def partition(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
              streets: gpd.GeoDataFrame | None = None, *, rules: Rules = DEFAULT_RULES, seed: int = 0,
              locked: Locked | gpd.GeoDataFrame | None = None, progress: Progress | None = None,
              workers: int = 1, executor: Executor | None = None) -> PartitionResult:
    """Divide every community into grids of ``rules.min_households``–``rules.max_households``.

    Grids tile their community (street-block tessellation), stay one polygon,
    keep compounds whole unless a compound alone exceeds the maximum, split
    towers by unit, follow streets where a streets layer is given, and keep
    ``locked`` grids exactly. A community whose household total admits no grid
    count is divided into the nearest choice and flagged, with an explanation,
    never an exception.

    Parameters
    ----------
    communities, buildings, streets
        Layers in the data model of :mod:`gridgeo.io` (any CRS; EPSG:4326 is returned).
    locked
        A :class:`Locked` (e.g. ``previous.lock(["370124001001003"])``) or a GeoDataFrame of
        grids (then each holds the whole buildings whose representative point it contains).
    progress
        Called as ``progress(done, total, community_id)`` after each community.
    workers
        Processes to use; communities are independent, so 2 workers nearly halve the time.
    executor
        Run the communities on this ``concurrent.futures.Executor`` instead (``workers`` is
        then ignored), e.g. a Dask cluster's ``Client(address).get_executor()``. The plan is
        the same as a local run with the same seed.

    Raises
    ------
    InputError
        A layer is unusable (no CRS, duplicate ids, bad households, building outside every
        community, bad locked grids); the message names the ids and the fix.
    """
    start = time.perf_counter()
    prep = prepare_inputs(communities, buildings, streets, rules=rules, locked=locked, seed=seed)
    params = SearchParams()
    outputs = _execute(prep.tasks, rules, params, int(workers), progress, executor)
    return _assemble(prep, outputs, rules, seed, start)


class Partitioner:
    """spopt-style shell over :func:`partition`: options in ``__init__``, work in ``fit``.

    After ``fit``: ``grids_``, ``assignments_``, ``report_``, ``result_`` and ``metrics_``.
    """

    def __init__(self, rules: Rules = DEFAULT_RULES, seed: int = 0, workers: int = 1,
                 progress: Progress | None = None, executor: Executor | None = None) -> None:
        self.rules = rules
        self.seed = seed
        self.workers = workers
        self.progress = progress
        self.executor = executor

    def fit(self, communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
            streets: gpd.GeoDataFrame | None = None,
            locked: Locked | gpd.GeoDataFrame | None = None) -> Partitioner:
        """Divide the district; results land in the attributes ending in ``_``."""
        res = partition(communities, buildings, streets, rules=self.rules, seed=self.seed, locked=locked,
                        progress=self.progress, workers=self.workers, executor=self.executor)
        self.result_ = res
        self.grids_ = res.grids
        self.assignments_ = res.assignments
        self.report_ = res.report
        self.metrics_ = res.metrics()
        return self


FLAG_CODES = FLAGS
