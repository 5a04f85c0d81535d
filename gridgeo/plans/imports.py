"""Bring a city's existing grids in as a plan version: a polygons layer or a 楼栋-网格对照表.

Almost every Chinese city drew its grids years ago, as polygons or as an Excel
list of buildings per grid. Either becomes a ``PlanVersion`` judged like a
computed plan. Households are always recounted from the buildings. Every problem
is collected and named (row or feature id) and nothing is returned until the
file is clean: a building in two grids or in none, a grid crossing a community
boundary, unknown building, grid or community ids, overlapping grids, ground
of a community no grid covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import io
from gridgeo.crs import metric_crs
from gridgeo.errors import InputError, Problem, Tr, summarize
from gridgeo.grids import locate_buildings
from gridgeo.io.formats import read_raw
from gridgeo.plans.codes import parse_units
from gridgeo.plans.model import PlanVersion
from gridgeo.schema import GRID_KINDS
from gridgeo.settings import DEFAULT_RULES, Rules

__all__ = ["import_grids", "import_table", "grid_polygons_from_cells", "TABLE_HEADERS", "MAX_OVERLAP_M2",
           "MAX_GAP_SHARE"]

#: Overlap between two grids tolerated as digitising noise (m²); more is reported.
MAX_OVERLAP_M2 = 10.0
#: Share of a community (and at least this many m², see MIN_GAP_M2) no grid covers before it is reported.
MAX_GAP_SHARE = 0.005
MIN_GAP_M2 = 100.0
#: Share of a grid's area allowed outside its community before it "crosses the boundary".
MAX_OUTSIDE_SHARE = 0.01

#: Accepted headers of a building → grid table (lower-cased); the export writes the first Chinese one.
TABLE_HEADERS: dict[str, tuple[str, ...]] = {
    "building_id": ("building_id", "楼栋编码", "楼栋编号", "建筑编码", "楼号编码"),
    "building_name": ("building_name", "楼栋名称", "楼栋", "楼号", "地址", "楼栋地址"),
    "compound": ("compound_id", "compound", "小区", "小区名称", "小区编码", "小区编号"),
    "grid_id": ("grid_id", "网格编码", "网格编号", "网格代码", "网格号", "网格"),
    "grid_name": ("grid_name", "网格名称"),
    "kind": ("kind", "网格类型"),
    "community_id": ("community_id", "社区编码", "社区代码", "社区编号"),
    "households": ("households", "户数", "住户数"),
    "unit_range": ("unit_range", "单元范围", "单元"),
}


def _fail(problems: Sequence[Problem], path: str | None, what: str) -> InputError:
    n = len(problems)
    head = f"{what} has {n} problem{'s' if n > 1 else ''}; nothing was imported"
    layer = Tr("layer.grids") if what == "grids file" else Tr("layer.plan_table")
    return InputError(f"{head}\n{summarize(problems, path)}", path=path, code="err.plans.import.problems",
                      problems=problems, n=n, layer=layer)


def _p(code: str, message: str, **kw: Any) -> Problem:
    params = kw.pop("params", {})
    return Problem(message=message, code=f"err.plans.import.{code}", params=params, **kw)


# ----------------------------------------------------------------------------- polygons layer

def import_grids(district: io.District, source: str | Path | gpd.GeoDataFrame, *,
                 rules: Rules = DEFAULT_RULES) -> PlanVersion:
    """Import a grids polygon layer (``grid_id``, ``name``, ``community_id``, ``kind``, ``valid_from``).

    Buildings are placed in the grid holding their representative point.
    Raises one ``InputError`` listing every problem; nothing is half-imported.
    """
    path = None if isinstance(source, gpd.GeoDataFrame) else str(source)
    grids = source.copy() if isinstance(source, gpd.GeoDataFrame) else io.read_grids(source)
    grids.index = grids.index.astype(str)
    grids.index.name = "grid_id"
    comm = district.communities
    m = metric_crs(comm)
    comm_m = comm.geometry.to_crs(m)
    grids_m = grids.geometry.to_crs(m)
    problems: list[Problem] = []

    # community of each grid: the declared one must exist and hold the grid
    declared = grids["community_id"] if "community_id" in grids.columns else pd.Series(pd.NA, index=grids.index)
    community: dict[str, str] = {}
    for gid, geom in grids_m.items():
        area = float(geom.area)
        inter = shapely.area(shapely.intersection(geom, comm_m.to_numpy()))
        shares = pd.Series(inter / area if area > 0 else inter, index=comm.index.astype(str))
        want = declared.get(gid)
        if pd.notna(want) and str(want).strip():
            want = str(want).strip()
            if want not in shares.index:
                problems.append(_p("unknown_community", "names a community that is not in the district",
                                   feature_id=gid, value=want,
                                   remedy="use a community code of the communities layer"))
                continue
        else:
            want = str(shares.idxmax()) if len(shares) and shares.max() > 0 else ""
            if not want:
                problems.append(_p("outside", "lies outside every community", feature_id=gid,
                                   remedy="check the grid's coordinates (CRS, GCJ-02/BD-09 offset)"))
                continue
        community[str(gid)] = want
        outside = 1.0 - float(shares.get(want, 0.0))
        if outside > MAX_OUTSIDE_SHARE:
            others = [c for c, s in shares.items() if c != want and s > MAX_OUTSIDE_SHARE]
            problems.append(_p("crosses_community", f"crosses the boundary of community {want}: "
                               f"{outside:.0%} of it lies outside", feature_id=gid,
                               value=", ".join(others) or None, params={"community": want, "share": outside},
                               remedy="cut the grid along the community boundary: a grid belongs to one "
                                      "community"))

    # overlaps between grids
    geoms = grids_m.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    ids = grids.index.to_numpy()
    for i, j in zip(left, right, strict=True):
        if i < j:
            area = float(shapely.area(shapely.intersection(geoms[i], geoms[j])))
            if area > MAX_OVERLAP_M2:
                problems.append(_p("overlap", f"overlaps grid {ids[j]} by {area:,.0f} m²", feature_id=ids[i],
                                   value=None, params={"other": ids[j], "area_m2": area},
                                   remedy="redraw the shared edge so the grids only touch"))

    # ground of a community no grid covers
    by_comm = pd.Series(community)
    for cid, cgeom in comm_m.items():
        mine = [geoms[k] for k, gid in enumerate(ids) if by_comm.get(gid) == str(cid)]
        covered = shapely.union_all(mine) if mine else shapely.Polygon()
        gap = float(shapely.difference(cgeom, covered).area)
        if gap > max(MIN_GAP_M2, MAX_GAP_SHARE * float(cgeom.area)):
            problems.append(_p("gap", f"{gap:,.0f} m² ({gap / float(cgeom.area):.1%}) of the community is in no "
                               "grid", feature_id=str(cid), params={"area_m2": gap},
                               remedy="extend the grids so together they cover the whole community"))

    # buildings: each in exactly one grid
    b = district.buildings
    pts = gpd.GeoSeries(b.geometry.representative_point(), index=b.index, crs=b.crs)
    hit_b, hit_g = grids.sindex.query(pts.to_numpy(), predicate="intersects")
    counts = np.bincount(hit_b, minlength=len(b))
    for k in np.flatnonzero(counts > 1):
        where = sorted(ids[hit_g[hit_b == k]].tolist())
        problems.append(_p("two_grids", f"lies in {len(where)} grids: {', '.join(where)}",
                           feature_id=str(b.index[k]), params={"grids": ", ".join(where)},
                           remedy="fix the overlapping grids so each building is in one"))
    for k in np.flatnonzero(counts == 0):
        problems.append(_p("no_grid", "lies in no grid", feature_id=str(b.index[k]),
                           remedy="extend a grid over this building"))
    if problems:
        raise _fail(problems, path, "grids file")

    located = locate_buildings(b, grids)
    assignments = _whole_assignments(b, located)
    out = _grids_frame(grids, community, assignments)
    return PlanVersion(grids=out, assignments=assignments, rules=rules,
                       meta={"source": "import", "format": "grids", "file": Path(path).name if path else ""})


def _whole_assignments(buildings: gpd.GeoDataFrame, located: pd.Series) -> pd.DataFrame:
    units = buildings["units"] if "units" in buildings.columns else pd.Series(pd.NA, index=buildings.index)
    return pd.DataFrame({
        "building_id": buildings.index.astype(str), "grid_id": located.astype(str).to_numpy(),
        "households": buildings["households"].astype("int64").to_numpy(),
        "units": pd.array(units.to_numpy(), dtype="Int64"), "unit_range": "", "estimated": False,
    })


def _grids_frame(grids: gpd.GeoDataFrame, community: dict[str, str], assignments: pd.DataFrame) -> gpd.GeoDataFrame:
    per = assignments.groupby("grid_id").agg(households=("households", "sum"),
                                             buildings=("building_id", "nunique"))
    kind = grids["kind"] if "kind" in grids.columns else pd.Series("basic", index=grids.index)
    out = gpd.GeoDataFrame({
        "community_id": [community.get(str(g), "") for g in grids.index],
        "name": grids["name"].fillna("").astype(str).to_numpy() if "name" in grids.columns else "",
        "kind": kind.fillna("basic").astype(str).to_numpy(),
        "households": per["households"].reindex(grids.index).fillna(0).astype("int64").to_numpy(),
        "buildings": per["buildings"].reindex(grids.index).fillna(0).astype("int64").to_numpy(),
        "flags": "", "locked": False,
        "valid_from": grids["valid_from"].to_numpy() if "valid_from" in grids.columns else pd.NaT,
        "valid_to": pd.NaT,
    }, geometry=grids.geometry.to_numpy(), index=grids.index, crs=4326)
    out.index.name = "grid_id"
    return out


# ----------------------------------------------------------------------------- building → grid table

def _member(values: pd.Series | pd.Index, known: pd.Index | pd.Series) -> np.ndarray:
    """``values.isin(known)`` as a boolean array, by hashing (Arrow strings' ``isin`` loops in Python)."""
    table = pd.Index(pd.unique(np.asarray(known, dtype=object)))
    return np.asarray(table.get_indexer(np.asarray(values, dtype=object)) >= 0)


def _column(frame: pd.DataFrame, field: str) -> str | None:
    wanted = {a.lower() for a in TABLE_HEADERS[field]}
    return next((c for c in frame.columns if str(c).strip().lower() in wanted), None)


def import_table(district: io.District, path: str | Path, *, grids: gpd.GeoDataFrame | None = None,
                 rules: Rules = DEFAULT_RULES) -> PlanVersion:
    """Import a 楼栋-网格对照表 (XLSX/CSV): ``building_id`` (or building name + compound) and ``grid_id``.

    Optional columns: ``grid_name``, ``kind`` (basic/dedicated), ``unit_range``
    with ``households`` for a tower split between grids. With ``grids`` (the
    city's grid polygons, or a saved version's) every grid id must be one of
    them, and their polygons are kept when the table agrees with them; otherwise
    grid polygons are built from the engine's street-block cells of the
    buildings, so they tile each community.
    """
    raw = read_raw(path, layer_name="building→grid table").frame
    frame = pd.DataFrame(raw).astype(str)
    cols = {f: _column(frame, f) for f in TABLE_HEADERS}
    if cols["grid_id"] is None or (cols["building_id"] is None and cols["building_name"] is None):
        missing = [f for f in ("building_id", "grid_id") if cols[f] is None]
        raise InputError(f"has no {' or '.join(missing)} column", path=path, code="err.plans.import.columns",
                         value=", ".join(map(str, frame.columns[:12])),
                         remedy="add columns 楼栋编码 (or 楼栋名称 + 小区) and 网格编码")
    b = district.buildings
    problems: list[Problem] = []
    by_name: dict[tuple[str, str], list[str]] = {}
    if cols["building_id"] is None and "name" in b.columns:
        compound = b["compound_id"].fillna("").astype(str) if "compound_id" in b.columns else ""
        for b_id, name, comp in zip(b.index.astype(str), b["name"].fillna("").astype(str),
                                    np.broadcast_to(np.asarray(compound, dtype=object), len(b)), strict=True):
            by_name.setdefault((name.strip(), str(comp).strip()), []).append(b_id)
    known_grids = grids.index.astype(str) if grids is not None else None
    households = b["households"].astype("int64")
    units_of = b["units"] if "units" in b.columns else pd.Series(pd.NA, index=b.index)
    n = len(frame)
    row_no = np.arange(2, n + 2)

    def text(field: str) -> pd.Series:
        c = cols[field]
        return frame[c].str.strip() if c is not None else pd.Series("", index=frame.index)

    gid = text("grid_id")
    ok = np.ones(n, dtype=bool)
    if cols["building_id"] is not None:
        bid = text("building_id")
        label = bid
        unknown = ~_member(bid, households.index.astype(str))
        for k in np.flatnonzero(unknown):
            problems.append(_p("unknown_building", "names a building that is not in the buildings layer",
                               row=int(row_no[k]), feature_id=bid.iat[k], value=bid.iat[k],
                               remedy="use a building id of the buildings layer, or remove the row"))
        ok &= ~unknown
    else:
        names, comps = text("building_name"), text("compound")
        label = (comps + " " + names).str.strip()
        found: list[str] = []
        for pos, key in enumerate(zip(names, comps, strict=True)):
            hits = by_name.get(key, [])
            found.append(hits[0] if len(hits) == 1 else "")
            if len(hits) != 1:
                ok[pos] = False
                problems.append(_p("unknown_building" if not hits else "ambiguous_building",
                                   "names no building" if not hits else f"matches {len(hits)} buildings",
                                   row=int(row_no[pos]), feature_id=label.iat[pos], value=label.iat[pos],
                                   remedy="give the 楼栋编码 column, or a unique building name + compound"))
        bid = pd.Series(found, index=frame.index)
    blank = (gid == "").to_numpy() & ok
    for k in np.flatnonzero(blank):
        problems.append(_p("blank_grid", "has no grid id", row=int(row_no[k]), feature_id=label.iat[k],
                           remedy="fill in 网格编码 for every building"))
    ok &= ~blank
    if known_grids is not None:
        stray = ~_member(gid, known_grids) & ok
        for k in np.flatnonzero(stray):
            problems.append(_p("unknown_grid", "names a grid that is not in the grids layer", row=int(row_no[k]),
                               feature_id=label.iat[k], value=gid.iat[k], remedy="use a grid code of the grids layer"))
        ok &= ~stray
    hh_text = text("households")
    table = pd.DataFrame({"row": row_no, "building_id": bid.to_numpy(), "grid_id": gid.to_numpy(),
                          "unit_range": text("unit_range").to_numpy(),
                          "households_in_table": pd.to_numeric(hh_text, errors="coerce").to_numpy()})[ok]
    grid_meta: dict[str, dict[str, str]] = {}
    for field in ("grid_name", "kind", "community_id"):
        if cols[field] is None:
            continue
        values = pd.DataFrame({"g": gid, "v": text(field)})[ok]
        values = values[values["v"] != ""].drop_duplicates("g")
        for g_, v_ in zip(values["g"], values["v"], strict=True):
            grid_meta.setdefault(str(g_), {})[field] = str(v_)
    assignments = _table_assignments(table, households, units_of, problems)
    # buildings of the district the table leaves out
    all_ids = households.index.astype(str)
    for bid in sorted(all_ids[~_member(all_ids, table["building_id"])]):
        problems.append(_p("no_grid", "is in no grid of the table", feature_id=bid,
                           remedy="add a row giving this building's grid"))
    # a grid holds buildings of one community only
    comm_of = b["community_id"].astype(str)
    with_comm = assignments.assign(c=assignments["building_id"].map(comm_of))
    spread = with_comm.groupby("grid_id")["c"].nunique()
    for grid_code in spread.index[spread > 1]:
        cs = sorted(map(str, with_comm.loc[with_comm["grid_id"] == grid_code, "c"].unique()))
        problems.append(_p("crosses_community", f"holds buildings of {len(cs)} communities",
                           feature_id=grid_code, value=", ".join(cs),
                           remedy="a grid belongs to one community: split it or move the buildings"))
    if problems:
        raise _fail(problems, str(path), "building→grid table")

    first = with_comm.drop_duplicates("grid_id")
    community = dict(zip(first["grid_id"].astype(str), first["c"].astype(str), strict=True))
    if grids is not None and _agrees(district.buildings, grids, assignments):
        polys = grids.loc[sorted(community)]
    else:
        polys = grid_polygons_from_cells(district, assignments, rules=rules)
    polys = polys.copy()
    for field, col in (("grid_name", "name"), ("kind", "kind")):
        values = {g: m[field] for g, m in grid_meta.items() if field in m}
        if values:
            polys[col] = [values.get(str(g), polys[col].get(g, "") if col in polys.columns else "")
                          for g in polys.index]
    if "kind" in polys.columns:
        polys["kind"] = polys["kind"].map(lambda k: GRID_KINDS.get(str(k).strip().lower(), "basic")
                                          if str(k).strip() else "basic")
    out = _grids_frame(polys, community, assignments)
    return PlanVersion(grids=out, assignments=assignments, rules=rules,
                       meta={"source": "import", "format": "table", "file": Path(path).name})


def _table_assignments(table: pd.DataFrame, households: pd.Series, units_of: pd.Series,
                       problems: list[Problem]) -> pd.DataFrame:
    out: list[dict[str, Any]] = []
    fast = pd.DataFrame()
    once = ~table["building_id"].duplicated(keep=False).to_numpy()
    single = table[once & (table["unit_range"] == "").to_numpy()]
    if len(single):                       # the common case, vectorised: one row, the whole building
        ids = single["building_id"]
        units = pd.array(pd.to_numeric(units_of.reindex(ids).to_numpy()), dtype="Int64")
        fast = pd.DataFrame({
            "row": single["row"].to_numpy(), "building_id": ids.to_numpy(), "grid_id": single["grid_id"].to_numpy(),
            "households": households.reindex(ids).to_numpy(dtype="int64"), "units": units, "unit_range": "",
            "estimated": False})
    rest = table[~(once & (table["unit_range"] == "").to_numpy())]
    r_row, r_grid = rest["row"].to_numpy(), rest["grid_id"].to_numpy(dtype=object)
    r_range, r_given = rest["unit_range"].to_numpy(dtype=object), rest["households_in_table"].to_numpy(dtype=float)
    parts: dict[str, list[int]] = {}
    for pos, b_id in enumerate(rest["building_id"].to_numpy(dtype=object)):
        parts.setdefault(str(b_id), []).append(pos)
    for bid, at in parts.items():      # buildings with several rows (towers split by units): a few hundred
        total = int(households[bid])
        n_units = units_of.get(bid)
        n_units = int(n_units) if pd.notna(n_units) else None
        grids_of = [str(r_grid[k]) for k in at]
        ranges = [str(r_range[k]) for k in at]
        if len(set(grids_of)) == 1 and all(r == "" for r in ranges):
            out.append({"row": int(r_row[at[0]]), "building_id": bid, "grid_id": grids_of[0],
                        "households": total, "units": n_units, "unit_range": "", "estimated": False})
            continue
        if any(r == "" for r in ranges):
            grids = sorted(set(grids_of))
            problems.append(_p("two_grids", f"is in {len(grids)} grids: {', '.join(grids)}",
                               row=int(r_row[at[1]]), feature_id=bid, params={"grids": ", ".join(grids)},
                               remedy="keep one row per building, or give 单元范围 (e.g. 1-3) for each part"))
            continue
        sets = [parse_units(r) for r in ranges]
        seen: set[int] = set()
        clash = False
        for s in sets:
            clash = clash or bool(seen & s)
            seen |= s
        if clash:
            problems.append(_p("two_grids", "has a unit in two grids", row=int(r_row[at[1]]), feature_id=bid,
                               value=", ".join(ranges),
                               remedy="give each unit (单元) to one grid only"))
            continue
        given = r_given[at]
        if not np.isnan(given).any() and int(given.sum()) == total:
            shares = [int(h) for h in given]
        else:
            n = n_units or len(seen)
            shares = [round(total * len(s) / n) for s in sets]
            shares[-1] = total - sum(shares[:-1])
        for k, s, h in zip(at, sets, shares, strict=True):
            out.append({"row": int(r_row[k]), "building_id": bid, "grid_id": str(r_grid[k]), "households": int(h),
                        "units": len(s), "unit_range": str(r_range[k]), "estimated": n_units is None})
    columns = ["row", "building_id", "grid_id", "households", "units", "unit_range", "estimated"]
    frame = pd.concat([f for f in (fast, pd.DataFrame(out, columns=columns)) if len(f)] or
                      [pd.DataFrame(out, columns=columns)], ignore_index=True)
    frame = frame.sort_values("row", kind="stable").drop(columns="row").reset_index(drop=True)
    frame["units"] = frame["units"].astype("Int64")
    frame["households"] = frame["households"].astype("int64")
    frame["estimated"] = frame["estimated"].astype(bool)
    return frame


def _agrees(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, assignments: pd.DataFrame) -> bool:
    """True when every whole building of the table lies in the polygon of its grid."""
    whole = assignments[assignments["unit_range"] == ""]
    located = locate_buildings(buildings.loc[whole["building_id"]], grids)
    return bool((located.astype(str).to_numpy() == whole["grid_id"].to_numpy()).all())


def grid_polygons_from_cells(district: io.District, assignments: pd.DataFrame, *,
                             rules: Rules = DEFAULT_RULES) -> gpd.GeoDataFrame:
    """Grid polygons from the engine's street-block cells of the buildings (index ``grid_id``).

    Each building's (or unit's) cell goes to its grid; empty blocks join the
    neighbouring grid they share most boundary with, so the grids of a
    community tile it and follow its streets.
    """
    from gridgeo.partition.engine import prepare_inputs
    from gridgeo.partition.tessellation import robust_union, tessellate

    prep = prepare_inputs(district.communities, district.buildings, district.streets, rules=rules)
    rows = assignments.assign(units_set=assignments["unit_range"].map(parse_units))
    by_building: dict[str, list[tuple[str, set[int], int]]] = {}
    for r in rows.itertuples():
        by_building.setdefault(str(r.building_id), []).append((str(r.grid_id), r.units_set, int(r.households)))
    out_ids: list[str] = []
    out_geoms: list[Any] = []
    for task in prep.tasks:
        pieces = tessellate(task.community_id, task.region, task.buildings, task.streets, rules=rules)
        owner: list[str | None] = []
        for bld, unit in zip(pieces.building, pieces.unit, strict=True):
            parts = by_building.get(str(bld)) if bld is not None else None
            if not parts:
                owner.append(None)
                continue
            hit = next((g for g, s, _ in parts if unit and unit in s), None)
            owner.append(hit or max(parts, key=lambda p: p[2])[0])
        _fill_empty(owner, pieces.edge_u, pieces.edge_v, pieces.edge_len, pieces.geom)
        frame = pd.DataFrame({"grid": owner, "k": np.arange(pieces.n)}).dropna()
        for gid, part in frame.groupby("grid"):
            out_ids.append(str(gid))
            out_geoms.append(robust_union(pieces.geom[part["k"].to_numpy()]))
    polys = gpd.GeoDataFrame({"grid_id": out_ids}, geometry=out_geoms, crs=prep.metric_crs).to_crs(4326)
    return polys.set_index("grid_id")


def _fill_empty(owner: list[str | None], u: np.ndarray, v: np.ndarray, length: np.ndarray,
                geoms: np.ndarray) -> None:
    """Give cells without a building the grid of the neighbour sharing the longest edge (repeatedly)."""
    for _ in range(len(owner)):
        todo = [i for i, o in enumerate(owner) if o is None]
        if not todo:
            return
        best: dict[int, tuple[float, str]] = {}
        for a, b_, ln in zip(u, v, length, strict=True):
            for x, y in ((a, b_), (b_, a)):
                if owner[x] is None and owner[y] is not None and ln > best.get(x, (-1.0, ""))[0]:
                    best[x] = (float(ln), str(owner[y]))
        if not best:
            break
        for i, (_, g) in best.items():
            owner[i] = g
    known = [i for i, o in enumerate(owner) if o is not None]
    for i in [i for i, o in enumerate(owner) if o is None]:
        if known:
            d = shapely.distance(geoms[i], geoms[known])
            owner[i] = owner[known[int(np.argmin(d))]]
