"""Hand redrawing of a plan version: move, merge, split, re-divide, lock, dedicate, rebalance.

An :class:`EditSession` tessellates the district once (the engine's street-block
cells, one per building or per unit of a split tower), places every cell in a
grid of the loaded version, and then edits by relabelling cells. Each edit is
validated at once (households and bounds, contiguity, compounds split) and only
the touched grids' polygons are rebuilt, as unions of their cells, so grids
still tile their community and follow streets. Undo and redo keep snapshots;
:meth:`EditSession.to_plan` returns the new, unsaved version (parent = the
loaded one) for the store to save.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from gridgeo.errors import InputError, Problem
from gridgeo.i18n import Lang, t
from gridgeo.partition import solve_cells
from gridgeo.partition.community import compound_of, unit_ranges
from gridgeo.partition.engine import prepare_inputs
from gridgeo.partition.search import Budget, Graph, SearchParams, polish, split
from gridgeo.partition.tessellation import CommunityPieces, robust_union, tessellate
from gridgeo.partition.units import make_atoms
from gridgeo.plans.model import ASSIGNMENT_COLUMNS, GRID_COLUMNS, PlanVersion

__all__ = ["EditSession", "EditCheck", "parse_units", "plan_from_partition", "TZ"]

IntArray = NDArray[np.int64]
TZ = "Asia/Shanghai"
_PRECISION_M = 1e-6            # grid polygons snapped like the engine's (shared edges stay shared)
_MISMATCH_M2 = 1.0             # a stored polygon this far from its cells was not drawn by the engine
_OUTSIDE_WEIGHT = 1e6          # rebalance objective per household outside the bounds
_COMPOUND_WEIGHT = 2_000.0     # ... per extra grid a compound spans
_BUILDING_WEIGHT = 5_000.0     # ... per extra grid a building spans
_MANAGED_FLAGS = ("unit_split", "estimated_units", "compound_over_max", "compound_split", "locked")


def parse_units(text: str | None) -> list[int]:
    """Unit numbers of a range such as ``"1-3"`` or ``"1-2,5"`` (1-based); ``[]`` for none.

    Raises
    ------
    InputError
        The text is not a list of numbers and ranges.
    """
    if text is None or str(text).strip() == "":
        return []
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        lo, _, hi = part.partition("-")
        if not lo.strip().isdigit() or (hi and not hi.strip().isdigit()):
            raise InputError("a unit range must look like 1-3 or 1-2,5", value=text, code="err.edit.bad_range",
                             remedy="write the first and last unit (单元) number joined by a dash")
        a, b = int(lo), int(hi or lo)
        if a < 1 or b < a:
            raise InputError("a unit range must run from unit 1 upward, low to high", value=text,
                             code="err.edit.bad_range", remedy="write the first and last unit number, e.g. 1-3")
        out.extend(range(a, b + 1))
    return sorted(set(out))


def plan_from_partition(result: Any, *, name: str = "", author: str = "") -> PlanVersion:
    """Wrap an engine result (``gridgeo.partition.PartitionResult``) as an unsaved version."""
    g = result.grids.copy()
    now = pd.Timestamp.now(tz=TZ)
    for col, value in (("name", ""), ("kind", "basic"), ("locked", False), ("valid_from", now),
                       ("valid_to", pd.NaT)):
        if col not in g.columns:
            g[col] = value
    g["locked"] = g["flags"].fillna("").str.contains("locked") | g["locked"].astype(bool)
    return PlanVersion(grids=g, assignments=result.assignments.copy(), rules=result.rules, name=name,
                       author=author, meta={"seed": int(result.seed), "source": "partition"})


@dataclass(frozen=True)
class EditCheck:
    """Live validation after an edit.

    Attributes
    ----------
    table
        One row per grid (index ``grid_id``): ``community_id``, ``kind``, ``households``,
        ``buildings``, ``status`` (within/under/over, or exempt for a dedicated grid),
        ``parts`` (1 when contiguous), ``locked``, ``touched`` (changed by the last edit).
    problems
        Grids out of bounds or broken into pieces, compounds split, as :class:`Problem`
        with an i18n ``code`` and ``params``.
    touched
        Grid ids the last edit changed (highlight them).
    """

    table: pd.DataFrame
    problems: tuple[Problem, ...]
    touched: tuple[str, ...]

    @property
    def n_grids(self) -> int:
        return len(self.table)

    @property
    def within(self) -> int:
        """Basic grids within the bounds (dedicated grids are exempt and not counted)."""
        return int((self.table["status"] == "within").sum())

    @property
    def dedicated(self) -> int:
        """Dedicated grids (专属网格): exempt from the bounds, counted apart."""
        return int((self.table["kind"] == "dedicated").sum())

    @property
    def out_of_bounds(self) -> list[str]:
        return [str(g) for g in self.table.index[self.table["status"].isin(["under", "over"])]]

    @property
    def not_contiguous(self) -> list[str]:
        return [str(p.feature_id) for p in self.problems if p.code == "edit.not_contiguous"]

    def lines(self, lang: Lang = "zh") -> list[str]:
        """Human-readable summary: the touched grids, then every problem."""
        out = [t("edit.summary", lang, grids=self.n_grids, within=self.within,
                 out=len(self.out_of_bounds),
                 dedicated=self.dedicated)]
        for gid in self.touched:
            if gid not in self.table.index:
                out.append(t("edit.retired", lang, grid=gid))
                continue
            r = self.table.loc[gid]
            out.append(t("edit.grid_line", lang, grid=gid, households=int(r["households"]),
                         buildings=int(r["buildings"]), status=t(f"edit.status.{r['status']}", lang)))
        out.extend(t(p.code, lang, **dict(p.params)) for p in self.problems)
        return out


@dataclass
class _State:
    label: IntArray
    grids: gpd.GeoDataFrame
    geom_m: dict[str, shapely.Geometry]
    pinned: set[int]
    since_rebalance: set[str]
    rebuilt: set[str]
    log: list[dict[str, Any]]
    retired: list[str]
    touched: tuple[str, ...]


@dataclass
class _Pieces:
    """Every cell of the district, in one metric CRS, with a CSR adjacency."""

    geom: NDArray[np.object_]
    households: IntArray
    building: NDArray[np.object_]
    unit: IntArray
    units_known: NDArray[np.bool_]
    compound: NDArray[np.object_]
    community: NDArray[np.object_]
    adj: csr_matrix
    per_community: dict[str, tuple[CommunityPieces, int]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.geom)

    def neighbours(self, idx: IntArray) -> IntArray:
        if len(idx) == 0:
            return np.zeros(0, np.int64)
        rows = self.adj[idx]
        return np.unique(np.asarray(rows.indices, dtype=np.int64))


class EditSession:
    """Edit one plan version by hand, with live validation, undo and redo.

    Parameters
    ----------
    plan
        The loaded version (``grids`` with ``GRID_COLUMNS``, ``assignments``).
    communities, buildings, streets
        The district layers the plan was made on (any CRS).
    seed
        Seed of the engine when a grid is split or a community re-divided.
    issued
        Every grid code the workspace ever gave (``Workspace.issued_codes()``): new grids
        never reuse one.
    """

    def __init__(self, plan: PlanVersion, communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                 streets: gpd.GeoDataFrame | None = None, *, seed: int = 0, issued: Iterable[str] = ()) -> None:
        self.plan = plan
        self._issued = {str(c) for c in issued}
        self.rules = plan.rules
        self.seed = seed
        self.params = SearchParams()
        prep = prepare_inputs(communities, buildings, streets, rules=self.rules)
        self.metric_crs: pyproj.CRS = prep.metric_crs
        self._to4326 = pyproj.Transformer.from_crs(self.metric_crs, 4326, always_xy=True)
        self._p = self._tessellate(prep)
        self._bld_units: dict[str, tuple[int, bool, int]] = {}
        foot_ids: list[str] = []
        foot: list[Any] = []
        for task in prep.tasks:
            self._bld_units.update(task.building_units)
            foot_ids.extend(str(b) for b in task.buildings["building_id"])
            foot.extend(task.buildings["geometry"].tolist())
        self._foot_ids = np.asarray(foot_ids, dtype=object)
        self._foot_tree = shapely.STRtree(np.asarray(foot, dtype=object))
        self._cell_tree = shapely.STRtree(self._p.geom)
        self._to_metric = pyproj.Transformer.from_crs(4326, self.metric_crs, always_xy=True)
        self._compounds: dict[str, list[str]] = {}
        for b, c in zip(self._p.building, self._p.compound, strict=True):
            if b is not None and c is not None and b not in self._compounds.setdefault(str(c), []):
                self._compounds[str(c)].append(str(b))
        grids = self._normalise_grids(plan.grids)
        self._codes: list[str] = [str(g) for g in grids.index]
        self._code_of: dict[str, int] = {g: i for i, g in enumerate(self._codes)}
        label = self._initial_labels(grids, plan.assignments)
        geom_m = dict(zip(grids.index.astype(str), gpd.GeoSeries(grids.geometry, crs=4326)
                          .to_crs(self.metric_crs).to_numpy(), strict=True))
        self._mismatch = self._find_mismatch(grids, label, geom_m)
        self._baseline_parts = {g: self._parts(np.flatnonzero(label == self._code_of[g]))
                                for g in grids.index.astype(str)}
        cp = pd.DataFrame({"c": self._p.compound, "g": label}).dropna().drop_duplicates()
        self._baseline_span: dict[str, int] = {str(k): int(v) for k, v in cp.groupby("c")["g"].size().items()}
        self._state = _State(label=label, grids=grids, geom_m=geom_m, pinned=set(), since_rebalance=set(),
                             rebuilt=set(), log=[], retired=list(plan.meta.get("retired_grids", [])), touched=())
        self._undo: list[_State] = []
        self._redo: list[_State] = []
        self._revision = 0

    # ------------------------------------------------------------------ setup

    def _tessellate(self, prep: Any) -> _Pieces:
        geoms: list[Any] = []
        hh: list[IntArray] = []
        bld: list[Any] = []
        unit: list[IntArray] = []
        known: list[Any] = []
        comp: list[Any] = []
        comm: list[Any] = []
        eu: list[IntArray] = []
        ev: list[IntArray] = []
        per: dict[str, tuple[CommunityPieces, int]] = {}
        offset = 0
        for task in prep.tasks:
            if shapely.is_empty(task.region):
                continue
            pc = tessellate(task.community_id, task.region, task.buildings, task.streets, rules=self.rules)
            per[task.community_id] = (pc, offset)
            geoms.extend(pc.geom.tolist())
            hh.append(pc.households)
            bld.extend(pc.building.tolist())
            unit.append(pc.unit)
            known.extend(pc.units_known.tolist())
            comp.extend(pc.compound.tolist())
            comm.extend([task.community_id] * pc.n)
            eu.append(pc.edge_u + offset)
            ev.append(pc.edge_v + offset)
            offset += pc.n
        n = offset
        u = np.concatenate(eu) if eu else np.zeros(0, np.int64)
        v = np.concatenate(ev) if ev else np.zeros(0, np.int64)
        adj = csr_matrix((np.ones(2 * len(u)), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
        return _Pieces(geom=np.asarray(geoms, dtype=object), households=np.concatenate(hh).astype(np.int64),
                       building=np.asarray(bld, dtype=object), unit=np.concatenate(unit).astype(np.int64),
                       units_known=np.asarray(known, dtype=bool), compound=np.asarray(comp, dtype=object),
                       community=np.asarray(comm, dtype=object), adj=adj, per_community=per)

    @staticmethod
    def _normalise_grids(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        g = grids.copy()
        g.index = g.index.astype(str)
        g.index.name = "grid_id"
        defaults: dict[str, Any] = {"name": "", "kind": "basic", "households": 0, "buildings": 0, "flags": "",
                                    "locked": False, "valid_from": pd.NaT, "valid_to": pd.NaT}
        for col in GRID_COLUMNS:
            if col not in g.columns:
                g[col] = defaults.get(col, "")
        g["community_id"] = g["community_id"].astype(str)
        g["kind"] = g["kind"].fillna("basic").astype(str)
        g["locked"] = g["locked"].fillna(False).astype(bool)
        g["flags"] = g["flags"].fillna("").astype(str)
        g["name"] = g["name"].fillna("").astype(str)
        return g

    def _initial_labels(self, grids: gpd.GeoDataFrame, assignments: pd.DataFrame) -> IntArray:
        p = self._p
        label = np.full(p.n, -1, dtype=np.int64)
        by_bld: dict[str, list[tuple[int, list[int]]]] = {}
        for r in assignments.itertuples(index=False):
            gid = str(r.grid_id)
            if gid not in self._code_of:
                continue
            rng = str(getattr(r, "unit_range", "") or "")
            units = parse_units(rng) if rng and rng != "nan" else []
            by_bld.setdefault(str(r.building_id), []).append((self._code_of[gid], units))
        for i in range(p.n):
            b = p.building[i]
            if b is None or str(b) not in by_bld:
                continue
            rows = by_bld[str(b)]
            code = rows[0][0]
            for g, units in rows:
                if not units or int(p.unit[i]) in units:
                    code = g
                    if units:
                        break
            label[i] = code
        # cells without an assignment (empty blocks, buildings the plan missed): the grid of the
        # same community holding the cell's representative point, else the one it overlaps most
        todo = np.flatnonzero(label < 0)
        if len(todo):
            gm = gpd.GeoSeries(grids.geometry, crs=4326).to_crs(self.metric_crs).to_numpy()
            gcomm = grids["community_id"].to_numpy()
            tree = shapely.STRtree(gm)
            pts = shapely.point_on_surface(p.geom[todo])
            hit_p, hit_g = tree.query(pts, predicate="intersects")
            for a, g in zip(hit_p, hit_g, strict=True):
                i = todo[a]
                if label[i] < 0 and gcomm[g] == p.community[i]:
                    label[i] = self._code_of[str(grids.index[g])]
            for _ in range(50):  # still none: take a labelled neighbour's grid
                left = np.flatnonzero(label < 0)
                if not len(left):
                    break
                for j in left:
                    nb = p.adj[j].indices
                    got = label[nb][label[nb] >= 0]
                    if len(got):
                        label[j] = int(np.bincount(got).argmax())
        left = np.flatnonzero(label < 0)
        if len(left):
            raise InputError(f"{len(left)} cells of the district fall in no grid of this plan",
                             code="err.edit.uncovered", value=int(len(left)),
                             remedy="import grids that cover every community, or re-plan it")
        return label

    def _find_mismatch(self, grids: gpd.GeoDataFrame, label: IntArray,
                       geom_m: dict[str, shapely.Geometry]) -> set[str]:
        """Communities whose stored polygons are not unions of the cells (an imported plan)."""
        out: set[str] = set()
        for gid, cid in zip(grids.index.astype(str), grids["community_id"], strict=True):
            if cid in out:
                continue
            cells = self._union(np.flatnonzero(label == self._code_of[gid]))
            stored = geom_m[gid]
            if shapely.is_empty(cells) or shapely.area(shapely.symmetric_difference(cells, stored)) > _MISMATCH_M2:
                out.add(str(cid))
        return out

    # ------------------------------------------------------------------ helpers

    def _union(self, idx: IntArray) -> shapely.Geometry:
        if len(idx) == 0:
            return shapely.Polygon()
        return shapely.set_precision(robust_union(self._p.geom[idx]), _PRECISION_M)

    def _to_4326(self, geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, lambda xy: np.column_stack(self._to4326.transform(xy[:, 0], xy[:, 1])))

    def _parts(self, idx: IntArray) -> int:
        if len(idx) <= 1:
            return len(idx)
        sub = self._p.adj[idx][:, idx]
        return int(connected_components(sub, directed=False)[0])

    def _idx(self, gid: str, label: IntArray | None = None) -> IntArray:
        lab = self._state.label if label is None else label
        return np.flatnonzero(lab == self._code_of[gid])

    def _grid(self, gid: str) -> pd.Series:
        g = self._state.grids
        if str(gid) not in g.index:
            raise InputError(f"grid {gid} is not in this plan", feature_id=gid, code="err.edit.unknown_grid",
                             grid=gid, remedy="pick a grid id of the loaded version")
        return g.loc[str(gid)]

    def _require_unlocked(self, gid: str) -> None:
        if bool(self._grid(gid)["locked"]):
            raise InputError(f"grid {gid} is locked", feature_id=gid, code="err.edit.locked", grid=gid,
                             remedy="unlock it first")

    def _new_id(self, cid: str) -> str:
        used = [int(c[len(cid):]) for c in [*self._codes, *self._state.retired, *self._issued]
                if c.startswith(cid) and c[len(cid):].isdigit()]
        gid = f"{cid}{(max(used, default=0) + 1):03d}"
        self._code_of[gid] = len(self._codes)
        self._codes.append(gid)
        return gid

    def grid_neighbours(self, gid: str) -> list[str]:
        """Grids sharing a boundary with ``gid`` (same community), sorted."""
        lab = self._state.label
        nb = self._p.neighbours(self._idx(gid))
        codes = set(lab[nb].tolist()) - {self._code_of[gid]}
        return sorted(self._codes[c] for c in codes)

    def _select(self, building: str | None, compound: str | None, units: str | Sequence[int] | None) -> IntArray:
        p = self._p
        if compound is not None:
            if str(compound) not in self._compounds:
                raise InputError(f"compound {compound} is not in the district", feature_id=compound,
                                 code="err.edit.unknown_compound", compound=compound,
                                 remedy="pick a compound_id of the buildings layer")
            return np.flatnonzero(np.isin(p.building, self._compounds[str(compound)]))
        if building is None:
            raise InputError("name a building or a compound", code="err.edit.nothing_selected",
                             remedy="give --building ID or --compound ID")
        idx = np.flatnonzero(p.building == str(building))
        if len(idx) == 0:
            raise InputError(f"building {building} is not in the district", feature_id=building,
                             code="err.edit.unknown_building", building=building,
                             remedy="pick a building_id of the buildings layer")
        wanted = parse_units(units) if isinstance(units, str) or units is None else sorted(set(units))
        if wanted:
            have = sorted(int(u) for u in p.unit[idx] if u > 0)
            n = len(have)
            if not have or set(wanted) - set(have):
                raise InputError(f"building {building} has units 1-{max(n, 1)}; cannot take units "
                                 f"{unit_ranges(wanted)}", feature_id=building, value=unit_ranges(wanted),
                                 code="err.edit.bad_units", building=building, n=max(n, 1),
                                 remedy=f"pick units between 1 and {max(n, 1)}")
            idx = idx[np.isin(p.unit[idx], wanted)]
        return idx

    # ------------------------------------------------------------------ state

    def _snapshot(self) -> _State:
        s = self._state
        return _State(label=s.label.copy(), grids=s.grids.copy(), geom_m=dict(s.geom_m), pinned=set(s.pinned),
                      since_rebalance=set(s.since_rebalance), rebuilt=set(s.rebuilt), log=list(s.log),
                      retired=list(s.retired), touched=s.touched)

    def _commit(self, before: _State, label: IntArray, touched: set[str], entry: dict[str, Any], *,
                retire: Iterable[str] = (), new: dict[str, dict[str, Any]] | None = None) -> EditCheck:
        """Install a new labelling: rebuild the touched grids' polygons and counts, push undo."""
        s = self._state
        s.label = label
        grids = s.grids
        for gid in retire:
            grids = grids.drop(index=gid)
            s.geom_m.pop(gid, None)
            s.retired.append(gid)
        now = pd.Timestamp.now(tz=TZ)
        for gid, attrs in (new or {}).items():
            row = {"community_id": attrs["community_id"], "name": attrs.get("name", ""),
                   "kind": attrs.get("kind", "basic"), "households": 0, "buildings": 0, "flags": "",
                   "locked": False, "valid_from": now, "valid_to": pd.NaT}
            add = gpd.GeoDataFrame([row], index=pd.Index([gid], name="grid_id"),
                                   geometry=[shapely.Polygon()], crs=4326)
            grids = pd.concat([grids, add])
        # a community whose stored polygons are not cell unions is redrawn from cells as a whole,
        # so its grids still tile it after the edit
        comms = {str(grids.at[g, "community_id"]) for g in touched if g in grids.index}
        for cid in comms & self._mismatch - s.rebuilt:
            touched |= set(grids.index[grids["community_id"] == cid])
            s.rebuilt.add(cid)
        geoms = grids.geometry.copy()
        for gid in touched:
            if gid not in grids.index:
                continue
            m = self._union(self._idx(gid))
            s.geom_m[gid] = m
            geoms.loc[gid] = self._to_4326(m)
        grids = grids.set_geometry(geoms)
        s.grids = grids
        s.touched = tuple(sorted(g for g in touched | set(retire)))
        s.log.append(entry)
        self._undo.append(before)
        self._redo.clear()
        self._revision += 1
        return self.check()

    # ------------------------------------------------------------------ edits

    def move(self, to: str, *, building: str | None = None, compound: str | None = None,
             units: str | Sequence[int] | None = None) -> EditCheck:
        """Move a building, a compound or some units of a tower to a neighbouring grid.

        Raises
        ------
        InputError
            Unknown ids, a target across a community boundary, not a neighbour, a locked grid,
            a move that would empty its grid (merge instead), bad units.
        """
        to = str(to)
        target = self._grid(to)
        idx = self._select(building, compound, units)
        what = str(compound if compound is not None else building)
        p, s = self._p, self._state
        comm = set(p.community[idx].tolist())
        if comm != {target["community_id"]}:
            src = sorted(comm)[0]
            raise InputError(f"{what} is in community {src}; grid {to} is in community "
                             f"{target['community_id']}, and grids never cross a community boundary",
                             feature_id=what, code="err.edit.cross_community", building=what, grid=to,
                             community=src, target_community=target["community_id"],
                             remedy="pick a grid of the same community")
        code = self._code_of[to]
        idx = idx[s.label[idx] != code]
        if len(idx) == 0:
            raise InputError(f"{what} is already in grid {to}", feature_id=what, code="err.edit.already_there",
                             building=what, grid=to, remedy="pick another grid")
        sources = sorted({self._codes[c] for c in s.label[idx].tolist()})
        for g in [to, *sources]:
            self._require_unlocked(g)
        nb = self._p.neighbours(idx)
        if code not in set(s.label[nb].tolist()):
            near = sorted({self._codes[c] for c in s.label[nb].tolist()} - set(sources))
            raise InputError(f"grid {to} does not border {what}; neighbouring grids: {', '.join(near) or '-'}",
                             feature_id=what, code="err.edit.not_neighbour", building=what, grid=to,
                             neighbours=", ".join(near) or "-", remedy="pick one of its neighbouring grids")
        label = s.label.copy()
        label[idx] = code
        for g in sources:
            rest = np.flatnonzero(label == self._code_of[g])
            if p.households[rest].sum() == 0 and not (p.building[rest] != None).any():  # noqa: E711
                raise InputError(f"moving {what} would leave grid {g} empty", feature_id=g,
                                 code="err.edit.empties_grid", grid=g, building=what,
                                 remedy=f"merge grid {g} into {to} instead")
        before = self._snapshot()
        touched = {to, *sources} | self._reattach_orphans(label, sources)
        s.pinned |= set(idx.tolist())
        s.since_rebalance |= touched
        entry = {"op": "move", "building": building, "compound": compound,
                 "units": unit_ranges(units) if units is not None and not isinstance(units, str) else units,
                 "from": sources, "to": to, "households": int(p.households[idx].sum())}
        return self._commit(before, label, touched, entry)

    def _reattach_orphans(self, label: IntArray, grids: Iterable[str]) -> set[str]:
        """Give empty cells cut off from their grid to the neighbour they share most with."""
        p = self._p
        changed: set[str] = set()
        for g in grids:
            idx = np.flatnonzero(label == self._code_of[g])
            if len(idx) <= 1:
                continue
            n, lab = connected_components(p.adj[idx][:, idx], directed=False)
            if n <= 1:
                continue
            hh = np.bincount(lab, weights=p.households[idx], minlength=n)
            has_b = np.bincount(lab, weights=(p.building[idx] != None).astype(float), minlength=n)  # noqa: E711
            main = int(np.argmax(hh + has_b * 1e-3))
            for c in range(n):
                if c == main or hh[c] > 0 or has_b[c] > 0:
                    continue
                cells = idx[lab == c]
                nb = p.neighbours(cells)
                other = label[nb][label[nb] != self._code_of[g]]
                if len(other):
                    dest = int(np.bincount(other).argmax())
                    label[cells] = dest
                    changed |= {g, self._codes[dest]}
        return changed

    def merge(self, a: str, b: str) -> EditCheck:
        """Merge grid ``b`` into neighbouring grid ``a`` (``a`` keeps its id; ``b`` is retired)."""
        a, b = str(a), str(b)
        ga, gb = self._grid(a), self._grid(b)
        if a == b:
            raise InputError("cannot merge a grid with itself", feature_id=a, code="err.edit.same_grid", grid=a,
                             remedy="pick two different grids")
        if ga["community_id"] != gb["community_id"]:
            raise InputError(f"grids {a} and {b} are in different communities", feature_id=b,
                             code="err.edit.merge_communities", grid=a, other=b,
                             remedy="merge grids of one community only")
        self._require_unlocked(a)
        self._require_unlocked(b)
        if b not in self.grid_neighbours(a):
            raise InputError(f"grids {a} and {b} do not share a boundary", feature_id=b,
                             code="err.edit.merge_not_neighbours", grid=a, other=b,
                             remedy="merge neighbouring grids only")
        before = self._snapshot()
        label = self._state.label.copy()
        label[label == self._code_of[b]] = self._code_of[a]
        entry = {"op": "merge", "grid": a, "other": b}
        self._state.since_rebalance.discard(b)
        return self._commit(before, label, {a}, entry, retire=[b])

    def _divide(self, cid: str, idx: IntArray, k: int, rng: np.random.Generator) -> list[IntArray]:
        """Cut the connected cells ``idx`` of community ``cid`` into ``k`` grids with the engine."""
        pc, off = self._p.per_community[cid]
        local = idx - off
        lo, hi = float(self.rules.min_households), float(self.rules.max_households)
        h = int(pc.households[local].sum())
        bounds = [(lo, hi)] + [(math.floor(min(lo, h / k) * (1 - d)), math.ceil(max(hi, h / k) * (1 + d)))
                               for d in (0.1, 0.25, 0.5, 1.0)] + [(0.0, float(h))]
        for blo, bhi in bounds:
            for level in (0, 1, 2):
                atoms = make_atoms(pc, local, level, self.rules)
                if atoms.n < k:
                    continue
                g = Graph(atoms, self.params, compound_of(pc, local, atoms))
                for _ in range(3):
                    parts = split(g, np.arange(atoms.n), k, blo, bhi, rng, self.params, Budget(self.params.budget))
                    if parts is not None:
                        parts, _ = polish(g, parts, blo, bhi, rng, self.params, real_lo=lo, real_hi=hi)
                        lab = np.full(atoms.n, -1, dtype=np.int64)
                        for gi, part in enumerate(parts):
                            lab[part] = gi
                        return [local[lab[atoms.of_piece] == gi] + off for gi in range(k)]
        raise InputError(f"cannot divide these {len(idx)} cells into {k} grids", code="err.edit.cannot_split",
                         value=k, remedy="it holds fewer buildings than grids wanted")

    def split(self, gid: str) -> EditCheck:
        """Split a grid in two with the engine (k = 2 on its cells); the larger part keeps the id."""
        gid = str(gid)
        row = self._grid(gid)
        self._require_unlocked(gid)
        idx = self._idx(gid)
        if self._parts(idx) > 1:
            raise InputError(f"grid {gid} is in pieces; move its stray buildings first", feature_id=gid,
                             code="err.edit.split_pieces", grid=gid, remedy="make it one piece, then split")
        rng = np.random.default_rng([self.seed, zlib.crc32(gid.encode())])
        parts = self._divide(str(row["community_id"]), idx, 2, rng)
        parts.sort(key=lambda q: -int(self._p.households[q].sum()))
        before = self._snapshot()
        new = self._new_id(str(row["community_id"]))
        label = self._state.label.copy()
        label[parts[1]] = self._code_of[new]
        self._state.since_rebalance |= {gid, new}
        entry = {"op": "split", "grid": gid, "new": new}
        return self._commit(before, label, {gid, new}, entry,
                            new={new: {"community_id": row["community_id"], "kind": row["kind"]}})

    def redivide(self, community_id: str) -> EditCheck:
        """Re-divide the unlocked basic grids of one community with the engine; locked ones stay.

        Grid ids are kept where a new grid holds most of an old one's households.
        """
        cid = str(community_id)
        s, p = self._state, self._p
        mine = s.grids[s.grids["community_id"] == cid]
        if len(mine) == 0:
            raise InputError(f"community {cid} has no grids in this plan", feature_id=cid,
                             code="err.edit.unknown_community", community=cid, remedy="pick a community id")
        free = [str(g) for g in mine.index[~mine["locked"].to_numpy() & (mine["kind"] != "dedicated").to_numpy()]]
        if not free:
            raise InputError(f"every grid of community {cid} is locked or dedicated", feature_id=cid,
                             code="err.edit.nothing_free", community=cid, remedy="unlock some grids first")
        idx = np.flatnonzero(np.isin(s.label, [self._code_of[g] for g in free]))
        pc, off = p.per_community[cid]
        rng = np.random.default_rng([self.seed, zlib.crc32(cid.encode())])
        sub = p.adj[idx][:, idx]
        n, comp = connected_components(sub, directed=False)
        parts: list[IntArray] = []
        for c in range(n):
            cells = idx[comp == c]
            parts.extend(part + off for part in solve_cells(pc, cells - off, self.rules, rng, self.params))
        before = self._snapshot()
        label = s.label.copy()
        old_of = {g: set(self._idx(g).tolist()) for g in free}
        ranked = sorted(((int(p.households[list(old_of[g] & set(part.tolist()))].sum()), i, g)
                         for i, part in enumerate(parts) for g in free), reverse=True)
        given: dict[int, str] = {}
        for hh, i, g in ranked:
            if hh > 0 and i not in given and g not in given.values():
                given[i] = g
        new: dict[str, dict[str, Any]] = {}
        for i in range(len(parts)):
            if i not in given:
                given[i] = self._new_id(cid)
                new[given[i]] = {"community_id": cid}
        for i, part in enumerate(parts):
            label[part] = self._code_of[given[i]]
        retire = [g for g in free if g not in given.values()]
        entry = {"op": "redivide", "community": cid, "grids": len(parts)}
        s.since_rebalance -= set(retire)
        return self._commit(before, label, set(given.values()), entry, retire=retire, new=new)

    def set_locked(self, grid_ids: Iterable[str], locked: bool = True) -> EditCheck:
        """Lock grids (kept exactly by moves, rebalance and re-division) or unlock them."""
        ids = [str(g) for g in grid_ids]
        for g in ids:
            self._grid(g)
        before = self._snapshot()
        grids = self._state.grids.copy()
        grids.loc[ids, "locked"] = bool(locked)
        self._state.grids = grids
        entry = {"op": "lock" if locked else "unlock", "grids": ids}
        return self._commit(before, self._state.label.copy(), set(ids), entry)

    def dedicate(self, *, building: str | None = None, compound: str | None = None, name: str = "") -> EditCheck:
        """Make a building or compound a dedicated grid (专属网格), exempt from the household bounds."""
        idx = self._select(building, compound, None)
        what = str(compound if compound is not None else building)
        s, p = self._state, self._p
        cid = str(p.community[idx[0]])
        sources = sorted({self._codes[c] for c in s.label[idx].tolist()})
        for g in sources:
            self._require_unlocked(g)
        before = self._snapshot()
        label = s.label.copy()
        if len(sources) == 1 and set(self._idx(sources[0]).tolist()) == set(idx.tolist()) | set(
                i for i in self._idx(sources[0]).tolist() if p.building[i] is None):
            gid = sources[0]           # the grid holds only this: it simply becomes dedicated
            grids = s.grids.copy()
            grids.loc[gid, "kind"] = "dedicated"
            if name:
                grids.loc[gid, "name"] = name
            s.grids = grids
            return self._commit(before, label, {gid}, {"op": "dedicate", "building": building,
                                                       "compound": compound, "grid": gid})
        gid = self._new_id(cid)
        label[idx] = self._code_of[gid]
        touched = {gid, *sources} | self._reattach_orphans(label, sources)
        for g in sources:
            rest = np.flatnonzero(label == self._code_of[g])
            if not (p.building[rest] != None).any():  # noqa: E711
                label[rest] = self._code_of[gid]   # nothing else left: its ground joins the new grid
        retire = [g for g in sources if not (label == self._code_of[g]).any()]
        s.pinned |= set(idx.tolist())
        s.since_rebalance |= touched - set(retire)
        entry = {"op": "dedicate", "building": building, "compound": compound, "grid": gid}
        return self._commit(before, label, touched - set(retire), entry, retire=retire,
                            new={gid: {"community_id": cid, "kind": "dedicated", "name": name or what}})

    def pin(self, *, building: str | None = None, compound: str | None = None,
            units: str | Sequence[int] | None = None) -> list[str]:
        """Keep a building (or compound, or units) where it is during :meth:`rebalance`; return its grids.

        Hand moves pin what they move; this pins what an earlier session moved.
        """
        idx = self._select(building, compound, units)
        self._state.pinned |= set(idx.tolist())
        return sorted({self._codes[c] for c in self._state.label[idx].tolist()})

    def rebalance(self, grids: Iterable[str] | None = None) -> EditCheck:
        """Bring the touched grids and their unlocked neighbours back within bounds.

        Only those grids change; the buildings moved by hand stay where the planner
        put them (pinned). A local search moves boundary buildings (or units of a
        split tower) between them, keeping every grid in one piece and compounds
        whole where it can, until no grid is out of bounds or no move helps.
        """
        s, p = self._state, self._p
        seeds = set(str(g) for g in grids) if grids is not None else set(s.since_rebalance)
        seeds &= set(s.grids.index)
        free = s.grids.index[~s.grids["locked"].to_numpy() & (s.grids["kind"] != "dedicated").to_numpy()]
        free_set = set(str(g) for g in free)
        region = {g for g in seeds if g in free_set}
        for g in list(seeds):
            region |= set(self.grid_neighbours(g)) & free_set
        before = self._snapshot()
        label = s.label.copy()
        moved = self._local_search(label, region, s.pinned)
        touched = {self._codes[c] for c in moved}
        s.since_rebalance = set()
        entry = {"op": "rebalance", "grids": sorted(region), "moves": len(moved)}
        return self._commit(before, label, touched, entry)

    def _local_search(self, label: IntArray, region: set[str], pinned: set[int]) -> set[int]:
        p = self._p
        lo, hi, target = self.rules.min_households, self.rules.max_households, self.rules.target_households
        codes = {self._code_of[g] for g in region}
        if len(codes) < 2:
            return set()
        cells = np.flatnonzero(np.isin(label, list(codes)))
        hh = {c: int(p.households[label == c].sum()) for c in codes}

        def cost(h: int) -> float:
            out = max(0, lo - h) + max(0, h - hi)
            return _OUTSIDE_WEIGHT * out + float(h - target) ** 2

        def key(i: int) -> tuple[Any, int]:
            b = p.building[i]
            return (b if b is not None else f"#{i}", int(p.unit[i]))

        touched: set[int] = set()
        for _ in range(400):
            if all(lo <= hh[c] <= hi for c in codes):
                break
            groups: dict[tuple[Any, int, int], list[int]] = {}
            for i in cells:
                if int(i) in pinned:
                    continue
                b, u = key(int(i))
                groups.setdefault((b, u if u > 0 else 0, int(label[i])), []).append(int(i))
            comp_grids: dict[Any, dict[int, int]] = {}
            bld_grids: dict[Any, dict[int, int]] = {}
            for i in cells:
                c = int(label[i])
                if p.compound[i] is not None:
                    d = comp_grids.setdefault(p.compound[i], {})
                    d[c] = d.get(c, 0) + 1
                if p.building[i] is not None:
                    d = bld_grids.setdefault(p.building[i], {})
                    d[c] = d.get(c, 0) + 1
            cands: list[tuple[float, int, list[int]]] = []
            for (_, _, src), members in groups.items():
                arr = np.asarray(members, dtype=np.int64)
                w = int(p.households[arr].sum())
                if w == 0:
                    continue
                nb = p.neighbours(arr)
                dests = set(label[nb].tolist()) & codes - {src}
                for dst in dests:
                    delta = cost(hh[src] - w) + cost(hh[dst] + w) - cost(hh[src]) - cost(hh[dst])
                    i0 = members[0]
                    for tbl, weight, item in ((comp_grids, _COMPOUND_WEIGHT, p.compound[i0]),
                                              (bld_grids, _BUILDING_WEIGHT, p.building[i0])):
                        if item is None:
                            continue
                        d = tbl[item]
                        delta += weight * ((0 if d.get(dst, 0) else 1) - (1 if d[src] == len(members) else 0))
                    if delta < -1e-9:
                        cands.append((delta, dst, members))
            cands.sort(key=lambda x: (x[0], x[2][0]))
            done = False
            for delta, dst, members in cands:
                src = int(label[members[0]])
                rest = np.flatnonzero(label == src)
                rest = rest[~np.isin(rest, members)]
                if len(rest) == 0 or self._parts(rest) > 1:
                    continue
                label[members] = dst
                w = int(p.households[members].sum())
                hh[src] -= w
                hh[dst] += w
                touched |= {src, dst}
                done = True
                break
            if not done:
                break
        return touched

    # ------------------------------------------------------------------ undo/redo, results

    def undo(self) -> EditCheck:
        """Go back one edit (no-op at the start)."""
        if self._undo:
            self._redo.append(self._state)
            self._state = self._undo.pop()
            self._revision += 1
        return self.check()

    def redo(self) -> EditCheck:
        """Re-apply the edit last undone (no-op when none)."""
        if self._redo:
            self._undo.append(self._state)
            self._state = self._redo.pop()
            self._revision += 1
        return self.check()

    @property
    def revision(self) -> int:
        """A number that changes with every edit, undo, redo and save: key caches of maps and checks by it."""
        return self._revision

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def log(self) -> list[dict[str, Any]]:
        """The edits made so far (oldest first), as saved in the version's ``meta["edits"]``."""
        return list(self._state.log)

    @property
    def touched(self) -> tuple[str, ...]:
        return self._state.touched

    def grid_of(self, building: str) -> list[str]:
        """Grid(s) holding a building (several when a tower is split by units)."""
        idx = self._select(str(building), None, None)
        return sorted({self._codes[c] for c in self._state.label[idx].tolist()})

    def grid_households(self) -> pd.Series:
        """Households per grid, recounted from the cells."""
        s = self._state
        hh = np.bincount(s.label, weights=self._p.households, minlength=len(self._codes)).astype(np.int64)
        return pd.Series(hh[[self._code_of[g] for g in s.grids.index]], index=s.grids.index, name="households")

    def check(self) -> EditCheck:
        """Validate the current plan: bounds, contiguity of touched grids, compounds split."""
        s, p = self._state, self._p
        g = s.grids
        hh = self.grid_households()
        pairs = pd.DataFrame({"b": p.building, "g": s.label})
        pairs = pairs[pairs["b"].notna()].drop_duplicates()
        nb = pairs.groupby("g")["b"].size()
        bcount = pd.Series([int(nb.get(self._code_of[x], 0)) for x in g.index], index=g.index)
        lo, hi = self.rules.min_households, self.rules.max_households
        dedicated = (g["kind"] == "dedicated").to_numpy()
        status = np.where(dedicated, "exempt", np.where(hh < lo, "under", np.where(hh > hi, "over", "within")))
        parts = pd.Series([self._parts(self._idx(x)) if x in s.touched else self._baseline_parts.get(x, 1)
                           for x in g.index], index=g.index)
        table = pd.DataFrame({"community_id": g["community_id"], "name": g["name"], "kind": g["kind"],
                              "households": hh, "buildings": bcount, "status": status, "parts": parts,
                              "locked": g["locked"], "touched": g.index.isin(s.touched)}, index=g.index)
        problems: list[Problem] = []
        for gid in g.index:
            st = status[g.index.get_loc(gid)]
            if st in ("under", "over") and gid in s.touched:
                # the code spelled out (not f"edit.{st}"), so the catalogue check sees which codes exist
                bounds_code = "edit.under" if st == "under" else "edit.over"
                problems.append(Problem(f"grid {gid} holds {int(hh[gid])} households, outside {lo}-{hi}",
                                        code=bounds_code, severity="warning", feature_id=gid,
                                        params={"grid": gid, "households": int(hh[gid]), "min": lo, "max": hi}))
            if gid in s.touched and int(parts[gid]) > max(1, self._baseline_parts.get(gid, 1)):
                problems.append(Problem(f"grid {gid} is no longer one piece ({int(parts[gid])} parts)",
                                        code="edit.not_contiguous", feature_id=gid,
                                        params={"grid": gid, "parts": int(parts[gid])}))
        touched_comp = {c for c in p.compound[np.isin(s.label, [self._code_of[x] for x in s.touched
                                                               if x in self._code_of])] if c is not None}
        if touched_comp:
            cp = pd.DataFrame({"c": p.compound, "g": s.label})
            cp = cp[cp["c"].isin(touched_comp)].drop_duplicates()
            span = cp.groupby("c")["g"].apply(lambda x: sorted(self._codes[int(v)] for v in x))
            for c, gs in span.items():
                if len(gs) > max(1, self._baseline_span.get(str(c), 1)):
                    problems.append(Problem(f"compound {c} is split over grids {', '.join(gs)}",
                                            code="edit.compound_split", severity="warning", feature_id=c,
                                            params={"compound": c, "grids": ", ".join(gs)}))
        return EditCheck(table=table, problems=tuple(problems), touched=s.touched)

    def assignments(self) -> pd.DataFrame:
        """Building→grid rows (``ASSIGNMENT_COLUMNS``) recounted from the cells."""
        p, s = self._p, self._state
        has = np.flatnonzero(p.building != None)  # noqa: E711
        groups: dict[tuple[str, int], list[Any]] = {}      # (building, grid code) -> [households, units]
        for b, code, hh, u in zip(p.building[has].tolist(), s.label[has].tolist(), p.households[has].tolist(),
                                  p.unit[has].tolist(), strict=True):
            g = groups.setdefault((str(b), int(code)), [0, []])
            g[0] += int(hh)
            if u > 0:
                g[1].append(int(u))
        n_grids: dict[str, int] = {}
        for b, _ in groups:
            n_grids[b] = n_grids.get(b, 0) + 1
        rows = []
        for (b, code), (hh_sum, us) in sorted(groups.items()):
            n, known, given = self._bld_units.get(b, (1, False, 0))
            if n_grids[b] == 1:
                units: Any = given if known else pd.NA
                rng, est = "", False
            else:
                units, rng, est = (len(us) if us else pd.NA), unit_ranges(us), not known
            rows.append({"building_id": b, "grid_id": self._codes[code], "households": hh_sum, "units": units,
                         "unit_range": rng, "estimated": bool(est)})
        out = pd.DataFrame(rows, columns=list(ASSIGNMENT_COLUMNS))
        out = out.astype({"building_id": str, "grid_id": str, "households": "int64", "estimated": bool})
        out["units"] = pd.array(out["units"].tolist(), dtype="Int64")
        return out.sort_values(["grid_id", "building_id"], kind="stable").reset_index(drop=True)

    def grids(self, assignments: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
        """The current grids (``GRID_COLUMNS`` + geometry) with households, buildings and flags recounted."""
        s = self._state
        asg = self.assignments() if assignments is None else assignments
        g = s.grids.copy()
        g["households"] = self.grid_households().astype("int64")
        g["buildings"] = asg.groupby("grid_id")["building_id"].nunique().reindex(g.index).fillna(0).astype("int64")
        flags: dict[str, set[str]] = {x: {f for f in str(v).split(";") if f and f not in _MANAGED_FLAGS}
                                      for x, v in g["flags"].items()}
        for r in asg.itertuples(index=False):
            if r.unit_range:
                flags[r.grid_id].add("unit_split")
                if r.estimated:
                    flags[r.grid_id].add("estimated_units")
        cp = pd.DataFrame({"c": self._p.compound, "g": s.label, "h": self._p.households})
        cp = cp[cp["c"].notna()]
        total = cp.groupby("c")["h"].sum()
        for c, grp in cp.groupby("c"):
            gs = {self._codes[int(v)] for v in grp["g"].unique()}
            if len(gs) > 1:
                code = "compound_over_max" if total[c] > self.rules.max_households else "compound_split"
                for x in gs:
                    flags[x].add(code)
        for x in g.index[g["locked"].to_numpy()]:
            flags[x].add("locked")
        from gridgeo.partition import FLAGS
        order = [*FLAGS, *sorted({f for v in flags.values() for f in v} - set(FLAGS))]
        g["flags"] = [";".join(f for f in order if f in flags[x]) for x in g.index]
        return g.sort_index()

    def to_plan(self, *, author: str = "", note: str = "", name: str = "") -> PlanVersion:
        """The edited plan as a new, unsaved version whose parent is the loaded one."""
        meta = {k: v for k, v in self.plan.meta.items() if k not in ("edits", "retired_grids")}
        meta["edits"] = self.log
        meta["retired_grids"] = list(self._state.retired)
        asg = self.assignments()
        return self.plan.evolve(grids=self.grids(asg), assignments=asg, version_id=None,
                                parent=self.plan.version_id, author=author or self.plan.author,
                                note=note, name=name or self.plan.name, created_at=None, meta=meta)

    def mark_saved(self, version_id: str) -> None:
        """Record that the store saved :meth:`to_plan` as ``version_id``: later saves are its children.

        The edit log starts afresh (the saved version keeps its own); undo stops at the save.
        """
        saved = self.to_plan()
        self.plan = saved.evolve(version_id=version_id, meta={**saved.meta, "edits": []})
        self._state.log = []
        self._undo.clear()
        self._redo.clear()
        self._revision += 1

    # ------------------------------------------------------------------ for maps

    def neighbours_of_building(self, building: str) -> list[str]:
        """Grids a building could move to: grids bordering it, of its community, other than its own."""
        idx = self._select(str(building), None, None)
        s = self._state
        own = set(s.label[idx].tolist())
        nb = self._p.neighbours(idx)
        return sorted(self._codes[c] for c in set(s.label[nb].tolist()) - own)

    def _metric_point(self, lon: float, lat: float) -> shapely.Point:
        x, y = self._to_metric.transform(lon, lat)
        return shapely.Point(x, y)

    def building_at(self, lon: float, lat: float, *, tolerance_m: float = 5.0) -> str | None:
        """The building whose footprint is at (or within ``tolerance_m`` of) a clicked point."""
        pt = self._metric_point(lon, lat)
        hit, dist = self._foot_tree.query_nearest(pt, max_distance=tolerance_m, return_distance=True)
        if len(hit) == 0:
            return None
        return str(self._foot_ids[int(hit[int(np.argmin(dist))])])

    def grid_at(self, lon: float, lat: float) -> str | None:
        """The grid holding a clicked point (None outside every community)."""
        hit = self._cell_tree.query(self._metric_point(lon, lat), predicate="intersects")
        if len(hit) == 0:
            return None
        return self._codes[int(self._state.label[int(hit[0])])]

    def building_info(self, building: str) -> dict[str, Any]:
        """Households, units, compound, community and grid(s) of a building, for the selection panel."""
        idx = self._select(str(building), None, None)
        p = self._p
        units = sorted(int(u) for u in p.unit[idx] if u > 0)
        return {"building_id": str(building), "households": int(p.households[idx].sum()),
                "units": len(units) if units else 1, "compound_id": p.compound[idx[0]],
                "community_id": str(p.community[idx[0]]), "grids": self.grid_of(str(building))}

    def current_grids(self, check: EditCheck | None = None) -> gpd.GeoDataFrame:
        """Grids as they stand (geometry, kind, locked) with live households and status, for the map."""
        s = self._state
        check_status = (check or self.check()).table
        g = s.grids[["community_id", "name", "kind", "locked", "geometry"]].copy()
        g["households"] = check_status["households"]
        g["buildings"] = check_status["buildings"]
        g["status"] = check_status["status"]
        g["touched"] = g.index.isin(s.touched)
        return g
