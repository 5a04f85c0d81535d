"""Divide one community: feasibility arithmetic, search with escalation, grids and their report.

Runs in a worker process when ``workers > 1``: input and output are plain
picklable data in the district's metric CRS.

Escalation, tried in order until every grid is within bounds:
level 0 (compounds ≤ max and buildings ≤ max whole), level 1 (buildings split by
unit), level 2 (compounds ≤ max split too). When no level reaches the bounds, or
the household total admits no grid count, the nearest plan is made with relaxed
bounds and flagged, never hidden.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgeo.i18n import LANGS, t
from gridgeo.partition.feasibility import (even_split, explain_infeasible, fewest_grids, k_order, nearest_choice,
                                          outside)
from gridgeo.partition.search import (Budget, Graph, SearchParams, max_spanning_tree, new_failed, packable, polish,
                                     split)
from gridgeo.partition.tessellation import CommunityPieces, components, robust_union, tessellate, unit_households
from gridgeo.partition.units import Atoms, make_atoms
from gridgeo.settings import Rules

__all__ = ["Task", "LockedGrid", "CommunityOutput", "solve_community", "solve_pieces", "solve_cells",
           "nearest_choice", "FLAGS", "status_of"]

IntArray = NDArray[np.int64]

#: Flag codes a grid or community may carry, with what they mean.
FLAGS: dict[str, str] = {
    "infeasible_community": "no grid count puts every grid within bounds (e.g. 550 households)",
    "bounds_not_met": "a count exists, but the indivisible pieces (units, unsplittable buildings) cannot be "
                      "grouped within bounds; the explanation names them",
    "search_gave_up": "a count exists and the pieces do not rule it out, but the search found no plan within "
                      "bounds (explanation: \"gave up after N s\")",
    "unit_split": "holds some units (单元) of a building split between grids",
    "estimated_units": "a split building had no unit count; units were estimated",
    "compound_over_max": "holds part of a compound that alone exceeds the maximum",
    "compound_split": "holds part of a compound ≤ max split to reach the bounds",
    "compound_not_contiguous": "holds part of a compound whose buildings do not touch, so no one grid holds it",
    "multipart": "spans separate parts of the community that cannot form grids alone",
    "oversized_unit": "holds one unit (or unsplittable building) above the maximum",
    "locked": "kept exactly as locked by the planner",
    "empty_community": "the community has no households",
}


@dataclass
class LockedGrid:
    """A grid kept as is: metric geometry for measuring, and its assignment rows."""

    grid_id: str
    geometry: shapely.Geometry
    rows: list[dict[str, Any]]


@dataclass
class Task:
    """Everything needed to divide one community, in the district's metric CRS."""

    community_id: str
    community: shapely.Geometry
    region: shapely.Geometry
    buildings: pd.DataFrame
    streets: NDArray[np.object_]
    locked: list[LockedGrid]
    seed: int
    building_units: dict[str, tuple[int, bool, int]] = field(default_factory=dict)
    # building id -> (units it may be split into, unit count known, the given unit count or 0)


@dataclass
class CommunityOutput:
    """Grids (metric geometry), assignment rows and the report row of one community."""

    community_id: str
    grids: list[dict[str, Any]]
    assignments: list[dict[str, Any]]
    report: dict[str, Any]
    compounds: list[dict[str, Any]]


# ----------------------------------------------------------------------------- solving

@dataclass
class _Solved:
    parts: list[IntArray]        # piece indices per grid
    level: int
    relaxed: bool
    k: int
    reason: str = ""             # why relaxed: "infeasible" (arithmetic), "atoms" (pieces block), "gave_up"
    seconds: float = 0.0         # search time of this component
    blocking: list[tuple[str, int]] = field(default_factory=list)  # (piece key, households) when "atoms"


def _relaxed_bounds(h: int, k: int, delta: float, rules: Rules, max_atom: int) -> tuple[float, float]:
    share = h / k
    if math.isinf(delta):
        return 0.0, float(h)
    lo = math.floor(min(rules.min_households, share) * (1 - delta))
    hi = math.ceil(max(rules.max_households, share, max_atom) * (1 + delta))
    return float(max(lo, 0)), float(hi)


_BIG_SCALE = 1.0


def _trees(params: SearchParams, k: int) -> int:
    """Trees one construction of k grids may draw: every cut needs a few, so the budget grows with k."""
    return params.budget + 4 * params.trees_per_split * k


def solve_cells(pieces: CommunityPieces, cells: IntArray, rules: Rules, rng: np.random.Generator,
                params: SearchParams | None = None) -> list[IntArray]:
    """Divide some cells of one community into grids, as the engine divides a whole community.

    Parameters
    ----------
    pieces
        The community's cells (``tessellation.tessellate``): street blocks cut around buildings,
        or single units of a tower split by units.
    cells
        Indices into ``pieces`` of the cells to divide; they must form one connected piece
        (split a disconnected set with ``scipy.sparse.csgraph.connected_components`` first).
    rules
        Household bounds; the grid count is the one the engine would choose for the cells'
        households (``feasibility.k_order``).
    rng, params
        Random generator (seed it for a reproducible answer) and search parameters
        (default ``SearchParams()``).

    Returns
    -------
    One array of cell indices (into ``pieces``) per grid. Every cell is in exactly one
    grid and each grid is connected. When no division meets the bounds, the nearest one
    with relaxed bounds is returned (the engine's fallback), so the list is never empty
    for non-empty ``cells``. Used to re-divide the unlocked grids of a community by hand
    (``gridgeo.plans.EditSession.redivide``).
    """
    return _solve_component(pieces, np.asarray(cells, dtype=np.int64), rules, rng,
                            params if params is not None else SearchParams()).parts


def _solve_component(pieces: CommunityPieces, idx: IntArray, rules: Rules, rng: np.random.Generator,
                     params: SearchParams) -> _Solved:
    start = time.perf_counter()
    h = int(pieces.households[idx].sum())
    ks = k_order(h, rules)
    lo, hi = float(rules.min_households), float(rules.max_households)
    graphs: dict[int, Graph] = {}
    params = _streetless(pieces, idx, params)

    def graph(level: int) -> Graph:
        """A level's atoms and graph, built when first needed: most communities need level 0 only."""
        if level not in graphs:
            atoms = make_atoms(pieces, idx, level, rules)
            graphs[level] = Graph(atoms, params, compound_of(pieces, idx, atoms))
        return graphs[level]

    big = bool(ks) and ks[0] > params.big_k
    for level, atoms, last in _stages(graph, hi, big) if ks else []:
        g = graphs[level]
        failed = new_failed()   # dead ends of this graph and bounds, any k
        # many grids from chunky atoms: try one count briefly, then move on to finer atoms (a
        # failed level costs a full recursion per attempt, and finer atoms rarely fail)
        for k in ks[:1] if big and not last else ks[:3]:
            if not packable(g.w, k, lo, hi):
                continue
            budget = Budget(_trees(params, k) if last or not big
                            else int(params.coarse_trees * params.trees_per_split * k))
            budget.failed = failed
            for _ in range(3):
                if budget.left <= 0:
                    break
                parts = split(g, np.arange(atoms.n), k, lo, hi, rng, params, budget)
                if parts is not None:
                    ex = params.exchange_starts and params.exchange_rounds > 0 and k <= params.big_k
                    best = polish(g, parts, lo, hi, rng, params, exchange=ex)
                    starts = params.quality_starts if k <= params.big_k else params.big_k_starts
                    for _ in range(starts - 1):  # a few more starts: keep the best
                        more = split(g, np.arange(atoms.n), k, lo, hi, rng, params,
                                     Budget(params.quality_budget + 2 * params.trees_per_split * k))
                        if more is not None:
                            cand = polish(g, more, lo, hi, rng, params, exchange=ex)
                            if cand[1] < best[1]:
                                best = cand
                    best = _shake(g, best, lo, hi, rng, params)
                    if params.exchange_rounds > 0:   # swaps and pair moves on the kept plan only
                        best = polish(g, best[0], lo, hi, rng, params, exchange=True)
                    return _Solved(_to_pieces(atoms.of_piece, best[0], idx), level, False, k,
                                   seconds=time.perf_counter() - start)
        for k in ks[:2] if last or not big else []:
            repaired = _repair(g, k, h, rules, rng, params)
            if repaired is not None:
                return _Solved(_to_pieces(atoms.of_piece, repaired, idx), level, False, k,
                               seconds=time.perf_counter() - start)
    # no plan within bounds: say truly why, then make the nearest plan with relaxed bounds
    finest = graph(2).atoms
    reason, blocking = "infeasible", []
    if ks:
        over = finest.w > hi
        if not over.any() and any(packable(finest.w, k, lo, hi) for k in ks):
            reason = "gave_up"
        else:
            reason = "atoms"
            sel = np.flatnonzero(over) if over.any() else np.flatnonzero(finest.w > hi / 2)
            sel = sel[np.argsort(-finest.w[sel], kind="stable")]
            blocking = [(finest.keys[i], int(finest.w[i])) for i in sel]
    k = ks[0] if ks else nearest_choice(h, rules)
    for level in (0, 1, 2):
        for delta in (0.02, 0.1, 0.25, 0.5, 1.0, math.inf):
            g = graph(level)
            kk = min(k, g.n)
            rlo, rhi = _relaxed_bounds(h, kk, delta, rules, int(g.w.max(initial=0)))
            parts = split(g, np.arange(g.n), kk, rlo, rhi, rng, params, Budget(_trees(params, kk)))
            if parts is not None:
                parts, _ = polish(g, parts, rlo, rhi, rng, params, real_lo=lo, real_hi=hi)
                return _Solved(_to_pieces(g.atoms.of_piece, parts, idx), level, True, kk, reason,
                               time.perf_counter() - start, blocking)
    g = graph(0)   # last resort, never fails: peel subtrees of a spanning tree
    parts = _peel(g, min(k, g.n))
    return _Solved(_to_pieces(g.atoms.of_piece, parts, idx), 0, True, len(parts), reason,
                   time.perf_counter() - start, blocking)


def _streetless(pieces: CommunityPieces, idx: IntArray, params: SearchParams) -> SearchParams:
    """``params`` with the wider three-grid re-cuts where no street runs between the component's cells.

    The trio re-cuts may accept a better worst shape at the cost of the street term;
    where there is no street to follow that costs nothing, so they reach more grids
    (measured on the real-shaped case: PP mean +0.008, solver time +15%).
    """
    if params.streetless_recom3 is None or len(idx) < 2:
        return params
    inside = np.zeros(pieces.n, dtype=bool)
    inside[idx] = True
    both = inside[pieces.edge_u] & inside[pieces.edge_v]
    if float((pieces.edge_len[both] - pieces.edge_ns[both]).sum()) > 1.0:
        return params
    share, below, per_grid, draws = params.streetless_recom3
    return replace(params, recom3_share=share, recom3_below=below, recom3_per_grid=per_grid, recom3_draws=draws)


def _k_range(ks: range) -> str:
    """"9–14", or "3" when only one grid count fits (never "3–3")."""
    return f"{ks.start}" if len(ks) == 1 else f"{ks.start}–{ks.stop - 1}"


def _stages(graph: Callable[[int], Graph], hi: float, peek: bool) -> Iterator[tuple[int, Atoms, bool]]:
    """Levels to try, in order: atoms unlike the previous level's and none above ``hi``; and whether each is last.

    Levels are built as the iteration reaches them. Knowing that a level is the last
    one needs the later levels built, so ``last`` is worked out only when ``peek`` (a
    community of many grids, whose search depends on it); otherwise it is True.
    """
    def usable() -> Iterator[tuple[int, Atoms]]:
        prev = -1
        for level in (0, 1, 2):
            atoms = graph(level).atoms
            if atoms.n == prev:
                continue
            prev = atoms.n
            if atoms.w.max(initial=0) <= hi:
                yield level, atoms

    it = usable()
    cur = next(it, None)
    while cur is not None:
        nxt = next(it, None) if peek else None
        yield cur[0], cur[1], nxt is None
        cur = nxt if peek else next(it, None)


def _shake(g: Graph, best: tuple[list[IntArray], float], lo: float, hi: float, rng: np.random.Generator,
           params: SearchParams) -> tuple[list[IntArray], float]:
    """Escape the polish's local optimum: loosen the bounds, reshape, pull back within them, re-polish.

    Single moves within hard bounds stall when neighbouring grids sit near the
    bounds; letting sizes drift by ``shake_slack`` (at a small price per household
    outside) lets shapes improve, then a strong price brings every grid back. The
    result is kept only if every grid is within bounds and the objective is lower.
    """
    if params.shake_rounds <= 0 or len(best[0]) < 2:
        return best
    slack = params.shake_slack * (hi - lo)
    for _ in range(params.shake_rounds):
        soft = replace(params, repair_weight=params.shake_price)
        parts, _ = polish(g, best[0], lo - slack, hi + slack, rng, soft, real_lo=lo, real_hi=hi)
        hard = replace(params, repair_weight=100.0)
        parts, _ = polish(g, parts, max(lo - slack, 0.0), hi + slack, rng, hard, real_lo=lo, real_hi=hi)
        if not all(lo <= g.w[q].sum() <= hi for q in parts):
            continue
        cand = polish(g, parts, lo, hi, rng, params)
        if cand[1] < best[1] - 1e-9:
            best = cand
    return best


def _peel(g: Graph, k: int) -> list[IntArray]:
    """Cut a spanning tree of a connected graph into at most k connected parts of about H/k.

    Walking up from the leaves, a subtree whose pending households reach H/k is cut
    off; what is left is still connected. It cannot fail, so it is the last resort.
    """
    if k <= 1 or g.n <= 1:
        return [np.arange(g.n, dtype=np.int64)]
    found = max_spanning_tree(g.n, g.atoms.u, g.atoms.v, g.strength, 0)
    if found is None:   # not connected (should not happen): one grid per component is still honest
        return [np.arange(g.n, dtype=np.int64)]
    order, parent, _, _ = found
    target = float(g.w.sum()) / k
    pending = g.w.astype(np.float64).copy()
    cut = np.zeros(g.n, dtype=bool)
    made = 1
    for x in reversed(order[1:]):
        if made < k and pending[x] >= target:
            cut[x] = True
            made += 1
        else:
            pending[parent[x]] += pending[x]
    label = np.zeros(g.n, dtype=np.int64)
    nxt = 1
    for x in order[1:]:
        if cut[x]:
            label[x] = nxt
            nxt += 1
        else:
            label[x] = label[parent[x]]
    return [np.flatnonzero(label == i).astype(np.int64) for i in range(nxt)]


def compound_of(pieces: CommunityPieces, idx: IntArray, atoms: Atoms) -> IntArray:
    """Code of the compound each atom belongs to (-1 for none), for the polish's span cost.

    An atom's compound is its first piece's (in ``idx`` order); codes number the
    compounds in order of their first atom.
    """
    n = atoms.n
    first = atoms.first
    if first is None or len(first) != n:
        first = np.full(n, len(idx), dtype=np.int64)
        np.minimum.at(first, atoms.of_piece, np.arange(len(idx)))
    codes = pieces.codes()
    comp1 = codes.compound[idx[first]] + 1                           # 0: none
    first_atom = np.full(len(codes.compound_names) + 1, n, dtype=np.int64)
    np.minimum.at(first_atom, comp1, np.arange(n))
    first_atom[0] = 0                                                 # (no compound: masked below)
    is_new = (first_atom[comp1] == np.arange(n)) & (comp1 > 0)       # an atom opening its compound
    code = np.cumsum(is_new) - 1
    return np.where(comp1 > 0, code[first_atom[comp1]], -1)


def _repair(g: Graph, k: int, h: int, rules: Rules, rng: np.random.Generator,
            params: SearchParams) -> list[IntArray] | None:
    """Reach the bounds from a slightly relaxed plan by moving atoms, before splitting more.

    Tree cuts rarely hit exact fits (two grids of exactly 300 from 1 + 1 + 298
    households); moves driven by the households outside the bounds often do.
    """
    lo, hi = float(rules.min_households), float(rules.max_households)
    for delta in (0.1, 0.25):
        rlo, rhi = _relaxed_bounds(h, k, delta, rules, int(g.w.max(initial=0)))
        best: tuple[list[IntArray], float] | None = None
        # once one relaxed start comes back within bounds, a few more starts (as a construction
        # within bounds gets) and the exchange moves on the kept plan
        starts = params.quality_starts if k <= params.big_k else params.big_k_starts
        for _ in range(starts if params.repair_starts else 1):
            parts = split(g, np.arange(g.n), k, rlo, rhi, rng, params,
                          Budget(params.quality_budget + 2 * params.trees_per_split * k))
            if parts is None:
                if best is None:
                    break
                continue
            parts, _ = polish(g, parts, rlo, rhi, rng, params, real_lo=lo, real_hi=hi)
            if all(lo <= g.w[p].sum() <= hi for p in parts):
                cand = polish(g, parts, lo, hi, rng, params)
                if best is None or cand[1] < best[1] - 1e-9:
                    best = cand
            elif best is None:
                break
        if best is not None:
            if params.repair_starts and params.exchange_rounds > 0:
                best = polish(g, best[0], lo, hi, rng, params, exchange=True)
            return best[0]
    return None


def _to_pieces(of_piece: IntArray, parts: list[IntArray], idx: IntArray) -> list[IntArray]:
    label = np.full(int(of_piece.max()) + 1 if len(of_piece) else 0, -1, dtype=np.int64)
    for gi, part in enumerate(parts):
        label[part] = gi
    lab = label[of_piece]
    return [idx[lab == gi] for gi in range(len(parts))]


def _merge_small_parts(pieces: CommunityPieces, rules: Rules) -> int:
    """Join parts that cannot hold a grid on their own to their nearest part; return joins made."""
    joins = 0
    while True:
        ncomp, lab = pieces.components()
        if ncomp <= 1:
            return joins
        hh = np.bincount(lab, weights=pieces.households, minlength=ncomp)
        bad = [c for c in range(ncomp) if len(rules.feasible_grid_counts(int(hh[c]))) == 0]
        if not bad:
            return joins
        c = min(bad, key=lambda q: (hh[q], q))
        mine = np.flatnonzero(lab == c)
        others = np.flatnonzero(lab != c)
        tree = shapely.STRtree(pieces.geom[others])
        (src, dst), dist = tree.query_nearest(pieces.geom[mine], return_distance=True, all_matches=False)
        best = int(np.argmin(dist))
        pieces.add_virtual_edge(int(mine[src[best]]), int(others[dst[best]]))
        joins += 1


def solve_pieces(task: Task, pieces: CommunityPieces, rules: Rules, params: SearchParams | None = None,
                 rng: np.random.Generator | None = None) -> tuple[list[_Solved], int]:
    """The search alone, on a community's prebuilt pieces (its ``tessellate`` cells and adjacency).

    Joins parts too small for a grid (``pieces`` gains virtual edges), then divides
    each connected part; returns the plan of each part and the number of joins.
    This is what the benchmark times as gridgeo's solver: the same input the
    baselines get prebuilt (``build_units``), atoms, search and polish included,
    grid polygons and report excluded.
    """
    params = params or SearchParams()
    if rng is None:
        rng = np.random.default_rng([task.seed, zlib.crc32(task.community_id.encode())])
    joins = _merge_small_parts(pieces, rules)
    _, lab = pieces.components()
    return [_solve_component(pieces, np.flatnonzero(lab == c), rules, rng, params) for c in np.unique(lab)], joins


def solve_community(task: Task, rules: Rules, params: SearchParams | None = None) -> CommunityOutput:
    """Divide one community (see module docstring) and describe the result."""
    params = params or SearchParams()
    rng = np.random.default_rng([task.seed, zlib.crc32(task.community_id.encode())])
    locked_hh = sum(int(r["households"]) for lg in task.locked for r in lg.rows)
    grids: list[dict[str, Any]] = []
    assignments: list[dict[str, Any]] = []
    solved: list[_Solved] = []
    pieces: CommunityPieces | None = None
    joins = 0
    if not shapely.is_empty(task.region) and shapely.area(task.region) > 1e-6:
        pieces = tessellate(task.community_id, task.region, task.buildings, task.streets, rules=rules)
        solved, joins = solve_pieces(task, pieces, rules, params, rng)
    h_rest = int(pieces.households.sum()) if pieces is not None else 0
    feasible = len(rules.feasible_grid_counts(h_rest)) > 0 if pieces is not None else True
    new = _grid_rows(task, pieces, solved, rules) if pieces is not None else []
    grids.extend(new)
    grids.extend(_locked_rows(task, rules))
    _number(task, grids)
    assignments = _assignment_rows(task, pieces, solved, grids, rules)
    compounds = _compound_rows(task, assignments, rules)
    _flag(task, grids, assignments, compounds, feasible, pieces, solved, rules)
    report = _report(task, grids, compounds, h_rest, locked_hh, feasible, joins, solved, rules)
    return CommunityOutput(task.community_id, grids, assignments, report, compounds)


# ----------------------------------------------------------------------------- grids

_OUTPUT_GRID_M = 1e-6


def _grid_rows(task: Task, pieces: CommunityPieces, solved: list[_Solved], rules: Rules) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    ext = pieces.perim.copy()
    np.subtract.at(ext, pieces.edge_u, pieces.edge_len)
    np.subtract.at(ext, pieces.edge_v, pieces.edge_len)
    ext = np.maximum(ext, 0.0)
    label = np.full(pieces.n, -1, dtype=np.int64)
    all_parts = [(s, part) for s in solved for part in s.parts]
    for gi, (_, part) in enumerate(all_parts):
        label[part] = gi
    street_len = np.zeros(len(all_parts))
    np.add.at(street_len, label, ext)  # community edge (and locked-grid edge) counts as a street
    lu, lv = label[pieces.edge_u], label[pieces.edge_v]
    cut = (lu != lv) & ~pieces.virtual
    on_street = pieces.edge_len - pieces.edge_ns
    np.add.at(street_len, lu[cut], on_street[cut])
    np.add.at(street_len, lv[cut], on_street[cut])
    for gi, (s, part) in enumerate(all_parts):
        # snap to 1 µm: sub-micron slivers along edges would turn into self-intersections after a
        # round trip through EPSG:4326; shared edges snap alike, so grids still tile
        geom = shapely.set_precision(robust_union(pieces.geom[part]), _OUTPUT_GRID_M)
        area, perim = float(shapely.area(geom)), float(shapely.length(geom))
        rows.append({
            "grid_id": None, "community_id": task.community_id,
            "households": int(pieces.households[part].sum()),
            "polsby_popper": 4 * math.pi * area / perim ** 2 if perim > 0 else 0.0,
            "street_share": min(1.0, street_len[gi] / perim) if perim > 0 else 0.0,
            "area_m2": area, "perimeter_m": perim, "geometry": geom, "_pieces": part,
            "_relaxed": s.relaxed, "_level": s.level, "_flags": set(), "_locked": False})
    return rows


def _locked_rows(task: Task, rules: Rules) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not task.locked:
        return rows
    lines = [task.community.boundary, *task.streets] if len(task.streets) else [task.community.boundary]
    along = shapely.buffer(shapely.union_all(lines), 0.05)
    for lg in task.locked:
        area, perim = float(shapely.area(lg.geometry)), float(shapely.length(lg.geometry))
        on = float(shapely.length(shapely.intersection(shapely.boundary(lg.geometry), along)))
        rows.append({
            "grid_id": lg.grid_id, "community_id": task.community_id,
            "households": int(sum(int(r["households"]) for r in lg.rows)),
            "polsby_popper": 4 * math.pi * area / perim ** 2 if perim > 0 else 0.0,
            "street_share": min(1.0, on / perim) if perim > 0 else 0.0,
            "area_m2": area, "perimeter_m": perim, "geometry": lg.geometry, "_pieces": None,
            "_relaxed": False, "_level": 0, "_flags": {"locked"}, "_locked": True})
    return rows


def _number(task: Task, grids: list[dict[str, Any]]) -> None:
    """Give new grids serials in reading order (west→east within a row, rows north→south).

    Locked grids keep their ids; new ones take the lowest free serials.
    """
    cid = task.community_id
    used = {int(g["grid_id"][len(cid):]) for g in grids if g["_locked"]
            and str(g["grid_id"]).startswith(cid) and str(g["grid_id"])[len(cid):].isdigit()}
    new = [g for g in grids if not g["_locked"]]
    if not new:
        return
    pts = shapely.get_coordinates(shapely.point_on_surface([g["geometry"] for g in new]))
    band = math.sqrt(float(np.median([g["area_m2"] for g in new]))) or 1.0
    top = float(shapely.bounds(task.community)[3])
    rows = np.floor((top - pts[:, 1]) / band)
    order = np.lexsort((pts[:, 0], rows))
    serial = 0
    for i in order:
        serial += 1
        while serial in used:
            serial += 1
        new[i]["grid_id"] = f"{cid}{serial:03d}"


# ----------------------------------------------------------------------------- assignments

def unit_ranges(units: Iterable[int]) -> str:
    """Compress unit numbers as assignments write them: [1, 2, 3, 5] -> "1-3,5"."""
    runs: list[list[int]] = []
    for u in sorted(units):
        if runs and u == runs[-1][1] + 1:
            runs[-1][1] = u
        else:
            runs.append([u, u])
    return ",".join(f"{a}-{b}" if b != a else f"{a}" for a, b in runs)


def _assignment_rows(task: Task, pieces: CommunityPieces | None, solved: list[_Solved],
                     grids: list[dict[str, Any]], rules: Rules) -> list[dict[str, Any]]:
    raw: list[dict[str, Any]] = []
    for g in grids:
        if g["_locked"]:
            lg = next(x for x in task.locked if x.grid_id == g["grid_id"])
            raw.extend(dict(r, grid_id=g["grid_id"], _locked_row=True) for r in lg.rows)
            continue
        part = g["_pieces"]
        blds = pieces.building[part]  # type: ignore[union-attr]
        for b in pd.unique(blds[blds != None]):  # noqa: E711
            sel = part[blds == b]
            units = [int(u) for u in pieces.unit[sel] if u > 0]  # type: ignore[union-attr]
            raw.append({"building_id": b, "grid_id": g["grid_id"],
                        "households": int(pieces.households[sel].sum()),  # type: ignore[union-attr]
                        "_units": units or None})
    n_grids: dict[str, int] = {}
    for r in raw:
        n_grids[r["building_id"]] = n_grids.get(r["building_id"], 0) + 1
    out = []
    for r in raw:
        b = r["building_id"]
        if r.get("_locked_row"):
            out.append({k: r[k] for k in ("building_id", "grid_id", "households", "units", "unit_range",
                                          "estimated")})
            continue
        _, known, given = task.building_units.get(b, (1, False, 0))
        whole = n_grids[b] == 1
        if whole:
            units_val: object = given if known else pd.NA
            rng_s = ""
            est = False
        else:
            us = r["_units"] or []
            units_val = len(us) if us else pd.NA
            rng_s = unit_ranges(us) if us else ""
            est = not known
        out.append({"building_id": b, "grid_id": r["grid_id"], "households": int(r["households"]),
                    "units": units_val, "unit_range": rng_s, "estimated": bool(est)})
    return out


def _compound_rows(task: Task, assignments: list[dict[str, Any]], rules: Rules) -> list[dict[str, Any]]:
    comp = task.buildings.set_index("building_id")["compound_id"] if len(task.buildings) else pd.Series(dtype=object)
    comp_of = {b: c for b, c in comp.items() if not pd.isna(c)}
    for lg in task.locked:
        for r in lg.rows:
            if r.get("compound_id") is not None and not pd.isna(r.get("compound_id")):
                comp_of.setdefault(r["building_id"], r["compound_id"])
    hh: dict[str, int] = {}
    grids: dict[str, set[str]] = {}
    for r in assignments:
        c = comp_of.get(r["building_id"])
        if c is None:
            continue
        hh[c] = hh.get(c, 0) + int(r["households"])
        grids.setdefault(c, set()).add(r["grid_id"])
    items: dict[str, list[int]] = {}
    totals = dict(zip(task.buildings["building_id"], task.buildings["households_total"], strict=True))
    for lg in task.locked:
        for r in lg.rows:
            totals[r["building_id"]] = totals.get(r["building_id"], 0) + int(r["households"])
    for b, c in comp_of.items():
        n_split, _, _ = task.building_units.get(b, (1, False, 0))
        total = int(totals.get(b, 0))
        if total > rules.max_households and n_split > 1:
            items.setdefault(c, []).extend(unit_households(total, n_split).tolist())
        else:
            items.setdefault(c, []).append(total)
    return [{"community_id": task.community_id, "compound_id": c, "households": hh[c], "grids": len(grids[c]),
             "needed": fewest_grids(items.get(c, [hh[c]]), rules.max_households), "_grid_ids": grids[c]}
            for c in sorted(hh)]


def _flag(task: Task, grids: list[dict[str, Any]], assignments: list[dict[str, Any]],
          compounds: list[dict[str, Any]], feasible: bool, pieces: CommunityPieces | None,
          solved: list[_Solved], rules: Rules) -> None:
    by_id = {g["grid_id"]: g for g in grids}
    for r in assignments:
        g = by_id[r["grid_id"]]
        if r["unit_range"]:
            g["_flags"].add("unit_split")
            if r["estimated"]:
                g["_flags"].add("estimated_units")
    forced = any(sv.level == 2 for sv in solved)
    for c in compounds:
        c["forced"] = False
        c["flag"] = ""
        if c["grids"] <= 1:
            continue
        if c["households"] > rules.max_households:
            code = "compound_over_max"
        elif pieces is not None and not _contiguous(pieces, c["compound_id"]):
            code = "compound_not_contiguous"
        else:
            code = "compound_split"
            # forced: no plan kept it whole, or part of it sits in a grid the planner locked
            c["forced"] = forced or any(by_id[gid]["_locked"] for gid in c["_grid_ids"])
        c["flag"] = code
        for gid in c["_grid_ids"]:
            by_id[gid]["_flags"].add(code)
    for g in grids:
        if g["_locked"]:
            continue
        if pieces is not None and len(pieces.virtual) and pieces.virtual.any():
            _, lab = _real_components(pieces)
            if len(np.unique(lab[g["_pieces"]])) > 1:
                g["_flags"].add("multipart")
        if g["_relaxed"] and feasible:
            g["_flags"].add(_failure_flag(solved))
        if not feasible:
            g["_flags"].add("infeasible_community")
        if g["households"] == 0 and pieces is not None and int(pieces.households.sum()) == 0:
            g["_flags"].add("empty_community")
        if pieces is not None and g["households"] > rules.max_households:
            part = g["_pieces"]
            if _has_oversized(pieces, part, rules):
                g["_flags"].add("oversized_unit")
    for g in grids:
        lo, hi = rules.min_households, rules.max_households
        g["status"] = "under" if g["households"] < lo else "over" if g["households"] > hi else "within"
        if (feasible and not g["_locked"] and g["status"] != "within"
                and not g["_flags"] & {"bounds_not_met", "search_gave_up"}):
            g["_flags"].add(_failure_flag(solved))   # honest, whatever path made the grid
        order = [f for f in FLAGS if f in g["_flags"]]
        g["flags"] = ";".join(order)


def _failure_flag(solved: list[_Solved]) -> str:
    """The flag of a feasible community whose plan misses the bounds: pieces block, or the search gave up."""
    return "bounds_not_met" if any(sv.reason == "atoms" for sv in solved) else "search_gave_up"


def status_of(feasible: bool, households: int, flags: set[str], all_within: bool) -> str:
    """One word for a community's outcome: ok only when every grid is within bounds.

    ``infeasible`` (no grid count fits; nearest choice made and explained),
    ``bounds_not_met`` (the pieces cannot be grouped within bounds), ``search_gave_up``,
    ``locked_out_of_bounds`` (a grid the planner locked is outside the bounds), ``empty``.
    """
    if households == 0:
        return "empty"
    if not feasible:
        return "infeasible"
    for word in ("bounds_not_met", "search_gave_up"):
        if word in flags:
            return word
    return "ok" if all_within else "locked_out_of_bounds"


def _contiguous(pieces: CommunityPieces, compound: str) -> bool:
    """Whether a compound's cells (outside locked grids) form one piece of ground."""
    mine = np.flatnonzero(pieces.compound == compound)
    if len(mine) <= 1:
        return True
    inside = np.zeros(pieces.n, dtype=bool)
    inside[mine] = True
    keep = inside[pieces.edge_u] & inside[pieces.edge_v] & ~pieces.virtual
    local = np.full(pieces.n, -1, dtype=np.int64)
    local[mine] = np.arange(len(mine))
    return components(len(mine), local[pieces.edge_u[keep]], local[pieces.edge_v[keep]])[0] == 1


def _real_components(pieces: CommunityPieces) -> tuple[int, IntArray]:
    keep = ~pieces.virtual
    return components(pieces.n, pieces.edge_u[keep], pieces.edge_v[keep])


def _has_oversized(pieces: CommunityPieces, part: IntArray, rules: Rules) -> bool:
    """Whether the grid holds a unit, or a building that cannot be split, above the maximum."""
    sel = part[pieces.households[part] > rules.max_households]
    return len(sel) > 0


# ----------------------------------------------------------------------------- report

def _report(task: Task, grids: list[dict[str, Any]], compounds: list[dict[str, Any]], h_rest: int,
            locked_hh: int, feasible: bool, joins: int, solved: list[_Solved], rules: Rules) -> dict[str, Any]:
    hh_new = [g["households"] for g in grids if not g["_locked"]]
    ks = rules.feasible_grid_counts(h_rest)
    k_min = -(-h_rest // rules.max_households)
    k_max = h_rest // rules.min_households
    flags: set[str] = set()
    for g in grids:
        flags |= g["_flags"]
    if not feasible:
        flags.add("infeasible_community")
    n_new = len(hh_new)
    texts = {}
    for lang in LANGS:
        if h_rest == 0 and not task.locked:
            parts = [t("partition.explain_empty", lang)]
        elif not feasible:
            out = sum(max(0, rules.min_households - h) + max(0, h - rules.max_households) for h in hh_new)
            sizes = ("、" if lang == "zh" else ", ").join(str(h) for h in sorted(hh_new, reverse=True))
            parts = [explain_infeasible(h_rest, rules, lang)]
            if sorted(hh_new) != sorted(even_split(h_rest, max(n_new, 1))):  # else the text above says it
                parts.append(t("partition.plan_made", lang, grids=n_new, sizes=sizes, out=out))
        elif "bounds_not_met" in flags:
            n_out = sum(1 for h in hh_new if not rules.min_households <= h <= rules.max_households)
            blocking = [b for sv in solved for b in sv.blocking]
            shown = ", ".join(f"{_piece_name(key)} ({hh})" for key, hh in blocking[:5])
            if len(blocking) > 5:
                shown += f" …(+{len(blocking) - 5})"
            parts = [t("partition.explain_pieces_block", lang, households=h_rest, k_range=_k_range(ks),
                       k_max=ks.stop - 1, min=rules.min_households, max=rules.max_households, n_out=n_out,
                       pieces=shown, half=rules.max_households // 2)]
        elif "search_gave_up" in flags:
            n_out = sum(1 for h in hh_new if not rules.min_households <= h <= rules.max_households)
            secs = sum(sv.seconds for sv in solved)
            parts = [t("partition.explain_gave_up", lang, households=h_rest, k_range=_k_range(ks),
                       k_max=ks.stop - 1, min=rules.min_households, max=rules.max_households, n_out=n_out,
                       seconds=f"{secs:.1f}")]
        else:
            parts = [t("partition.explain_feasible", lang, households=h_rest, k_range=_k_range(ks),
                       k_max=ks.stop - 1, grids=n_new, lo=min(hh_new, default=0), hi=max(hh_new, default=0))]
        over = [c["compound_id"] for c in compounds if c.get("flag") == "compound_over_max"]
        forced = [c["compound_id"] for c in compounds if c.get("flag") == "compound_split"]
        apart = [c["compound_id"] for c in compounds if c.get("flag") == "compound_not_contiguous"]
        if over:
            parts.append(t("partition.note_compound_over", lang, ids=_ids(over), max=rules.max_households))
        if forced:
            parts.append(t("partition.note_compound_forced", lang, ids=_ids(forced)))
        if apart:
            parts.append(t("partition.note_compound_apart", lang, ids=_ids(apart)))
        if "estimated_units" in flags:
            parts.append(t("partition.note_estimated", lang, per=rules.households_per_unit_estimate))
        if "unit_split" in flags and any(s.level >= 1 for s in solved):
            parts.append(t("partition.note_unit_forced", lang))
        if joins:
            parts.append(t("partition.note_multipart", lang, n=joins))
        if "oversized_unit" in flags:
            parts.append(t("partition.note_oversized", lang, max=rules.max_households))
        if task.locked:
            parts.append(t("partition.note_locked", lang, n=len(task.locked), households=locked_hh))
        texts[lang] = (" " if lang == "en" else "").join(parts)
    lo_b, hi_b = rules.min_households, rules.max_households
    all_within = all(lo_b <= g["households"] <= hi_b for g in grids)
    status = status_of(feasible, h_rest + locked_hh, flags, all_within)
    return {
        "community_id": task.community_id, "households": h_rest + locked_hh, "grids": len(grids),
        "k_min": k_min, "k_max": k_max, "feasible": feasible, "status": status,
        "nearest_k": (n_new if feasible else nearest_choice(h_rest, rules)) if h_rest or not task.locked else 0,
        "grid_min": min((g["households"] for g in grids), default=0),
        "grid_max": max((g["households"] for g in grids), default=0),
        "flags": ";".join(f for f in FLAGS if f in flags),
        "explanation_zh": texts["zh"], "explanation_en": texts["en"],
    }


def _piece_name(key: str) -> str:
    """A piece key as a planner reads it: building B12 unit 3, building B12, compound XQ1."""
    kind, _, rest = key.partition(":")
    rest = rest.split("~")[0]
    if kind == "U":
        b, _, u = rest.partition("#")
        return f"{b}#{u}"
    return rest


def _ids(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f" …(+{len(ids) - limit})" if len(ids) > limit else "")
