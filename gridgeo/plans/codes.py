"""Stable grid codes (网格编码) and validity dates across plan versions.

A grid code is the community code plus a 3-digit serial, numbered west→east,
north→south (domain.md, CJ/T 349-2010, DB11/T 2157-2023). Codes join to cases,
staff and the provincial platform, so a revision must not renumber the city:
when a plan is revised, each new grid is matched one-to-one (Hungarian
assignment, ``scipy.optimize.linear_sum_assignment``) to the previous grids of
its community by the households they share; a new grid holding more than half
of an old grid's households keeps that code and its ``valid_from``. New grids
get the next serial never issued in their community; codes the revision drops
are retired (``valid_to`` = the revision time) and never given again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from gridgeo.plans.model import PlanVersion

__all__ = ["Coded", "stabilize", "reading_order", "parse_units", "shared_households", "TZ"]

TZ = "Asia/Shanghai"
_SERIAL = re.compile(r"^(\d+?)(\d{3})$")


@dataclass(frozen=True)
class Coded:
    """A plan's grids and assignments with stable codes, and what changed."""

    grids: gpd.GeoDataFrame
    assignments: pd.DataFrame
    #: code -> ISO time the code was retired by this revision
    retired: dict[str, str] = field(default_factory=dict)
    #: id the grid had in the input -> the code it got (only where they differ)
    renamed: dict[str, str] = field(default_factory=dict)
    #: codes given for the first time by this revision
    new: tuple[str, ...] = ()


def parse_units(text: str) -> set[int]:
    """Unit numbers of a range such as ``"1-3,5"`` (empty for the whole building)."""
    out: set[int] = set()
    for part in str(text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return out


def shared_households(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Households each (old grid, new grid) pair shares, from two assignment tables.

    A building whole on both sides shares all its households; a tower split by
    units shares the households of the units both parts hold (households spread
    evenly over a part's units); without unit ranges the smaller part counts.

    Returns
    -------
    DataFrame with ``old``, ``new``, ``shared`` (one row per pair sharing any households).
    """
    cols = ["building_id", "grid_id", "households", "unit_range"]
    o = old.reindex(columns=cols).fillna({"unit_range": ""})
    n = new.reindex(columns=cols).fillna({"unit_range": ""})
    pairs = o.merge(n, on="building_id", suffixes=("_o", "_n"))
    if pairs.empty:
        return pd.DataFrame({"old": pd.Series(dtype=str), "new": pd.Series(dtype=str),
                             "shared": pd.Series(dtype=float)})
    h_o = pairs["households_o"].to_numpy(dtype=float)
    h_n = pairs["households_n"].to_numpy(dtype=float)
    shared = np.minimum(h_o, h_n)
    both = (pairs["unit_range_o"].astype(str) != "") & (pairs["unit_range_n"].astype(str) != "")
    for i in np.flatnonzero(both.to_numpy()):
        uo = parse_units(pairs["unit_range_o"].iat[i])
        un = parse_units(pairs["unit_range_n"].iat[i])
        shared[i] = h_o[i] * len(uo & un) / len(uo) if uo else shared[i]
    out = pd.DataFrame({"old": pairs["grid_id_o"].astype(str), "new": pairs["grid_id_n"].astype(str),
                        "shared": shared})
    out = out.groupby(["old", "new"], as_index=False)["shared"].sum()
    return out[out["shared"] > 0]


def reading_order(geoms: gpd.GeoSeries) -> list[int]:
    """Positions of ``geoms`` in reading order: west→east within a row, rows north→south.

    A row is a band as tall as a typical grid (√ median area), so grids at about the
    same latitude read left to right, as CJ/T 349-2010 numbers them.
    """
    if len(geoms) == 0:
        return []
    metric = geoms.to_crs(geoms.estimate_utm_crs()) if geoms.crs is not None and geoms.crs.is_geographic \
        else geoms
    pts = shapely.get_coordinates(shapely.point_on_surface(metric.to_numpy()))
    areas = metric.area.to_numpy()
    band = math.sqrt(float(np.median(areas))) if len(areas) and float(np.median(areas)) > 0 else 1.0
    top = float(pts[:, 1].max())
    rows = np.floor((top - pts[:, 1]) / band)
    return [int(i) for i in np.lexsort((pts[:, 0], rows))]


def _serial(code: str, community: str) -> int | None:
    if code.startswith(community) and code[len(community):].isdigit():
        return int(code[len(community):])
    return None


def stabilize(grids: gpd.GeoDataFrame, assignments: pd.DataFrame, previous: PlanVersion | None, *,
              issued: Iterable[str] = (), when: pd.Timestamp | None = None, reinstate: bool = False,
              keep: bool = False) -> Coded:
    """Give the grids of a revision stable codes against ``previous`` (see the module doc).

    ``issued`` holds every code any version ever used (retired ones included), so
    no code is given twice. Without ``previous``, grids keep their ids (the engine
    and a city's own file already code them) and only missing ``valid_from``
    dates are filled. With ``reinstate`` (restoring an old version) a grid no
    previous grid matches keeps its own code when that code is free: it is the
    same ground the code was first given to. With ``keep`` (a city's own grids
    imported) every grid keeps its id; only dates and retired codes are worked
    out against ``previous``. Inputs are not modified.
    """
    now = when if when is not None else pd.Timestamp.now(tz=TZ)
    g = grids.copy()
    a = assignments.copy()
    if "valid_from" not in g.columns:
        g["valid_from"] = pd.NaT
    if "valid_to" not in g.columns:
        g["valid_to"] = pd.NaT
    vf = pd.to_datetime(g["valid_from"])
    g["valid_from"] = vf.dt.tz_localize(TZ) if vf.dt.tz is None else vf.dt.tz_convert(TZ)
    vt = pd.to_datetime(g["valid_to"])
    g["valid_to"] = vt.dt.tz_localize(TZ) if vt.dt.tz is None else vt.dt.tz_convert(TZ)
    if previous is None:
        g["valid_from"] = g["valid_from"].fillna(now)
        g["valid_to"] = pd.Series(pd.NaT, index=g.index, dtype=f"datetime64[ns, {TZ}]")
        return Coded(g, a)

    old = previous.grids
    shares = shared_households(previous.assignments, a)
    prev_rows = previous.assignments
    old_hh = prev_rows.assign(grid_id=prev_rows["grid_id"].astype(str)).groupby("grid_id")["households"] \
        .sum().astype(float)
    issued_all = set(map(str, issued)) | set(old.index.astype(str))
    mapping: dict[str, str] = {}          # new id -> code
    kept_from: dict[str, object] = {}     # new id -> valid_from of the code kept
    new_index = [str(i) for i in g.index]
    old_index = [str(i) for i in old.index]
    new_vf = dict(zip(new_index, g["valid_from"].tolist(), strict=True))
    old_vf = dict(zip(old_index, old["valid_from"].tolist(), strict=True)) if "valid_from" in old.columns else {}
    new_by: dict[str, list[str]] = {}
    for gid, cid in zip(new_index, g["community_id"].astype(str), strict=True):
        new_by.setdefault(cid, []).append(gid)
    old_by: dict[str, list[str]] = {}
    for gid, cid in zip(old_index, old["community_id"].astype(str), strict=True):
        old_by.setdefault(cid, []).append(gid)
    pos_of_old = {gid: k for k, gid in enumerate(old_index)}
    hh_of = {str(k): float(v) for k, v in old_hh.items()}
    pos_of_new = {gid: k for k, gid in enumerate(new_index)}
    share_by: dict[str, list[tuple[str, str, float]]] = {}
    old_comm = dict(zip(old_index, old["community_id"].astype(str), strict=True))
    for o, n, sh in zip(shares["old"], shares["new"], shares["shared"], strict=True):
        share_by.setdefault(old_comm.get(o, ""), []).append((o, n, float(sh)))
    for cid in sorted(set(new_by) | set(old_by)):
        new_ids = new_by.get(cid, [])
        old_ids = old_by.get(cid, [])
        if new_ids and old_ids and not keep:
            m = np.zeros((len(old_ids), len(new_ids)))
            pos_o = {k: i for i, k in enumerate(old_ids)}
            pos_n = {k: i for i, k in enumerate(new_ids)}
            for o, n, sh in share_by.get(cid, []):
                if o in pos_o and n in pos_n:
                    m[pos_o[o], pos_n[n]] = sh
            ground = np.array([hh_of.get(i, 0.0) for i in old_ids], dtype=float)
            if (ground <= 0).any():
                _empty_grid_overlap(m, old.iloc[[pos_of_old[i] for i in old_ids]],
                                    g.iloc[[pos_of_new[i] for i in new_ids]], pd.Series(ground))
            rows, cols = linear_sum_assignment(m, maximize=True)
            for r, c in zip(rows, cols, strict=True):
                if ground[r] > 0 and m[r, c] * 2 > ground[r] or ground[r] <= 0 and m[r, c] > 0.5:
                    mapping[new_ids[c]] = old_ids[r]
                    kept_from[new_ids[c]] = old_vf.get(old_ids[r], pd.NaT)
        if keep:
            for i in new_ids:
                mapping[i] = i
                if i in old_vf:
                    kept_from[i] = old_vf[i]
                elif pd.notna(new_vf[i]):
                    kept_from[i] = new_vf[i]
            continue
        fresh = [i for i in new_ids if i not in mapping]
        if reinstate:
            taken = set(mapping.values())
            for i in list(fresh):
                if i not in taken and _serial(i, cid) is not None:
                    mapping[i] = i
                    kept_from[i] = new_vf[i]
                    taken.add(i)
                    fresh.remove(i)
        if fresh:
            used = [s for s in (_serial(c, cid) for c in issued_all | set(mapping.values())) if s is not None]
            nxt = max(used, default=0) + 1
            geoms = g.geometry.to_numpy()[[pos_of_new[i] for i in fresh]]
            order = reading_order(gpd.GeoSeries(geoms, crs=g.crs))
            for pos in order:
                mapping[fresh[pos]] = f"{cid}{nxt:03d}"
                nxt += 1
    new_codes = tuple(sorted(c for n, c in mapping.items() if n not in kept_from))
    renamed = {n: c for n, c in mapping.items() if n != c}
    dates = [kept_from.get(i, pd.NaT) for i in new_index]
    g["valid_from"] = pd.Series([d if pd.notna(d) else now for d in dates], index=g.index).astype(
        f"datetime64[ns, {TZ}]")                                    # a fresh code starts now
    g.index = pd.Index([mapping.get(i, i) for i in new_index], name="grid_id")
    g["valid_to"] = pd.Series(pd.NaT, index=g.index, dtype=f"datetime64[ns, {TZ}]")
    a["grid_id"] = a["grid_id"].astype(str).map(lambda x: mapping.get(x, x))
    current = set(g.index)
    retired = {o: now.isoformat() for o in old_index if o not in current}
    return Coded(g, a, retired=retired, renamed=renamed, new=new_codes)


def _empty_grid_overlap(m: np.ndarray, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, old_hh: pd.Series) -> None:
    """Fill rows of old grids without households with the share of their area each new grid covers.

    A dedicated grid (a school) may hold no households; its ground is its area.
    """
    empty = [i for i, h in enumerate(old_hh.to_numpy()) if h <= 0]
    if not empty or new.empty:
        return
    crs = old.estimate_utm_crs() if old.crs is not None and old.crs.is_geographic else old.crs
    o = old.geometry.iloc[empty].to_crs(crs)
    n = new.geometry.to_crs(crs)
    for k, i in enumerate(empty):
        area = float(o.iloc[k].area)
        if area <= 0:
            continue
        inter = shapely.area(shapely.intersection(o.iloc[k], n.to_numpy()))
        m[i, :] = inter / area
