"""Assign people to grids exactly: a min-cost flow with a lexicographic objective.

Network: each person (supply 1, or ``part_time_max_grids`` for part-timers)
sends flow to at most one place per grid of their role, or to "unassigned";
each grid-role node passes up to ``min`` units through its *required* arc and
up to ``max - min`` through its *extra* arc. The goals are strictly ordered
(lexicographic):

1. fill as many required places (rule minimums) as the roster allows;
2. move as few people as possible from their current grid (stability);
3. put the shortfall where it hurts least: required places left empty are in
   the grids with the fewest households;
4. fill as many extra places (up to the rule maximum) as possible;
5. minimise the total home-to-grid distance (metres, to the grid polygon).

Only the nearest grids of each person (and nearest people of each grid) are
arcs at first; the result is then proved optimal over *all* person–grid pairs.

``method="highs"`` (default) works in two phases per role. Phase 1 solves goals
1–4 with one linear program per goal (HiGHS, ``highspy``), each on the optimal
face of the previous goal, warm-started; the network matrix is totally
unimodular, so the vertex is integral. Goals 1–4 do not depend on distance, so
every left-out pair is an arc of cost 0 in them: ``_face_potentials`` runs
exact integer shortest paths in the residual network over every pair (all
left-out pairs of a person relaxed at once), cancels any negative cycle it
meets (the left-out pairs on it become arcs) and ends with potentials that are
an exact optimal dual of goals 1–4 for the whole problem. Their reduced costs
fix every column, left-out pairs included, to the optimal face of goals 1–4
(complementary slackness). Phase 2 minimises the metres on that face: the LP's
duals price the left-out pairs of the face (a distance lower bound first, exact
metres for the candidates), improving pairs are added, at most
``PRICE_PER_ROUND`` per person and per grid, the most negative first, until
none improves. The potentials and the last LP duals together prove the
lexicographic optimum over every pair (gap 0). (HiGHS's own duals of goals 1–4
are degenerate when people keep their grids and flag most pairs; the exact
potentials do not.)

``method="flow"`` runs networkx's network simplex on Python integers with
weights that make the goal order strict, and prices with shortest-path
potentials. Both give the same optimum; the tests compare them with brute force.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import highspy
from scipy.spatial.distance import cdist

from gridgeo import crs as gcrs
from gridgeo.errors import InputError
from gridgeo.i18n import Lang, t
from gridgeo.staffing.roster import Roster, split_grid_ids
from gridgeo.staffing.rules import DEFAULT_STAFFING, StaffingRules

PRICE_PER_ROUND = 10   # pairs a pricing round adds at most per person and per grid (the most improving)
_INF = math.inf

__all__ = ["SolverReport", "Plan", "solve_assignment", "home_distances", "objective_key"]


@dataclass(frozen=True)
class SolverReport:
    """How the assignment was solved and how sure we are it is optimal."""

    method: str
    status: str              # "optimal" (proved) | "infeasible" (never for this model)
    gap: float               # relative optimality gap; 0.0 when proved optimal
    objective: tuple[int, int, int, int, int]  # the lexicographic key, see ``objective_key``
    seconds: float
    arcs: int                # person–grid arcs in the final network
    pairs_priced: int        # person–grid pairs checked by pricing
    rounds: int              # solve → price rounds

    def describe(self, lang: Lang = "en") -> str:
        """One line such as ``optimal (gap 0), network simplex, 2 rounds, 3,120 arcs, 0.4 s``, in ``lang``."""
        if lang == "zh":
            kind = "highs" if self.method.startswith("lexicographic LP") else \
                "flow" if self.method.startswith("min-cost flow") else ""
            return t("staffing.solver_describe", "zh", status=self.status_text("zh"), gap=f"{self.gap:g}",
                     method=t(f"staffing.solver_method.{kind}", "zh") if kind else self.method,
                     rounds=self.rounds, arcs=f"{self.arcs:,}", pairs=f"{self.pairs_priced:,}",
                     seconds=f"{self.seconds:.2f}")
        return (f"{self.status} (gap {self.gap:g}), {self.method}, {self.rounds} round"
                f"{'s' if self.rounds != 1 else ''}, {self.arcs:,} arcs of {self.pairs_priced:,} pairs priced, "
                f"{self.seconds:.2f} s")

    def status_text(self, lang: Lang = "en") -> str:
        """The solver's status for a page: "最优" / "optimal"; a status we do not know, as HiGHS gave it."""
        return t("staffing.solver_status.optimal", lang) if self.status == "optimal" else self.status


@dataclass(frozen=True)
class Plan:
    """The raw solution: which grids each person serves (grid ids in solver order)."""

    grids_of: dict[str, tuple[str, ...]]
    distance_m: dict[tuple[str, str], float]
    report: SolverReport
    eligible: frozenset[str] = field(default_factory=frozenset)


def home_distances(homes: gpd.GeoSeries, grids: gpd.GeoDataFrame) -> np.ndarray:
    """Return the metres from each home to each grid polygon (0 inside), shape (homes, grids).

    Measured in the grids' UTM zone (``crs.metric_crs``); a missing home gives NaN.
    """
    metric = gcrs.metric_crs(grids)
    polys = np.asarray(grids.geometry.to_crs(metric).values, dtype=object)
    pts = np.asarray(homes.to_crs(metric).values, dtype=object)
    out = shapely.distance(pts[:, None], polys[None, :]).astype(float)
    return np.asarray(out, dtype=float)


def objective_key(grids_of: dict[str, tuple[str, ...]], *, people: pd.DataFrame, places: pd.DataFrame,
                  distance_m: dict[tuple[str, str], float]) -> tuple[int, int, int, int, int]:
    """The lexicographic key the solver minimises, for any assignment (brute force uses it too).

    ``(empty required places, current places left (people moved), households of
    grids with an empty required place (once per empty place), -extra places
    filled, total metres rounded per person and grid)``. ``people``: index
    staff_id, columns role, counts, current (grid ids that still exist).
    ``places``: index (grid_id, role), columns min_count, max_count, households.
    """
    role_of = people["role"].to_dict()
    counts = people["counts"].to_dict()
    filled: dict[tuple[str, str], int] = {}
    metres = 0
    for sid, gids in grids_of.items():
        for g in gids:
            if counts.get(sid, False):
                filled[(g, role_of[sid])] = filled.get((g, role_of[sid]), 0) + 1
            metres += int(round(distance_m.get((sid, g), 0.0)))
    left = sum(1 for sid, cur in people["current"].items() for g in cur if g not in grids_of.get(sid, ()))
    empty = empty_hh = extras = 0
    for (g, role), lo, hi, hh in zip(places.index, places["min_count"], places["max_count"], places["households"]):
        n = filled.get((g, role), 0)
        short = max(0, int(lo) - n)
        empty += short
        empty_hh += short * int(hh)
        extras += max(0, min(n, int(hi)) - int(lo))
    return (empty, left, empty_hh, -extras, metres)


def _places(grids: gpd.GeoDataFrame, households: pd.Series, rules: StaffingRules) -> pd.DataFrame:
    kinds = grids["kind"].astype(str) if "kind" in grids.columns else pd.Series("basic", index=grids.index)
    rows = []
    for gid, kind in zip(map(str, grids.index), kinds):
        for r in rules.for_kind(kind).roles:
            if r.max_count > 0:
                rows.append((gid, r.role, r.min_count, r.max_count, int(households.get(gid, 0))))
    return pd.DataFrame(rows, columns=["grid_id", "role", "min_count", "max_count", "households"]
                        ).set_index(["grid_id", "role"])


def people_table(roster: Roster, grids: gpd.GeoDataFrame, rules: StaffingRules) -> pd.DataFrame:
    """Per person: role, employment, whether the rule counts them, current grids that still exist, capacity."""
    staff = roster.frame
    known = set(map(str, grids.index))
    roles_rules = {r.role: r for r in (*rules.basic.roles, *rules.dedicated.roles)}
    out = pd.DataFrame(index=staff.index.astype(str))
    out["role"] = staff["role"].astype(str).to_numpy()
    out["employment"] = staff["employment"].astype(str).to_numpy()
    out["current"] = [tuple(g for g in split_grid_ids(v) if g in known) for v in staff["grid_id"]]
    out["had_grid"] = [bool(split_grid_ids(v)) for v in staff["grid_id"]]
    out["has_home"] = staff["has_home"].astype(bool).to_numpy()
    out["counts"] = [r in roles_rules and roles_rules[r].counts(e) for r, e in zip(out["role"], out["employment"])]
    out["capacity"] = [rules.part_time_max_grids if e == "part_time" else 1 for e in out["employment"]]
    return out


def solve_assignment(roster: Roster, grids: gpd.GeoDataFrame, households: pd.Series, *,
                     rules: StaffingRules = DEFAULT_STAFFING, keep_current: bool = True,
                     candidates: int = 8, method: Literal["highs", "flow"] = "highs"
                     ) -> tuple[Plan, pd.DataFrame, pd.DataFrame]:
    """Solve the assignment; return the plan, the people table and the places table."""
    t0 = time.perf_counter()
    if grids.empty:
        raise InputError("the grids layer has no grids", code="err.staffing.no_grids",
                         remedy="load a grids layer or partition the district first")
    people = people_table(roster, grids, rules)
    places = _places(grids, households, rules)
    grid_ids = [str(g) for g in grids.index]
    gpos = {g: i for i, g in enumerate(grid_ids)}
    elig = people[people["counts"]]
    # --- geometry: a lower bound for every pair (minimum bounding circle), exact distances on arcs
    metric = gcrs.metric_crs(grids)
    polys = np.asarray(grids.geometry.to_crs(metric).values, dtype=object)
    centres = shapely.centroid(shapely.minimum_bounding_circle(polys))
    radius = shapely.minimum_bounding_radius(polys)
    cxy = shapely.get_coordinates(centres)
    staff_m = roster.frame.geometry.to_crs(metric)
    home = elig.index[elig["has_home"].to_numpy()]
    hpts = np.asarray(staff_m.loc[home].values, dtype=object)
    hxy = shapely.get_coordinates(hpts) if len(hpts) else np.zeros((0, 2))
    # every distance is at most the farthest home–centre distance plus the largest radius
    both = np.vstack([hxy, cxy])
    d_max = float(np.hypot(*(both.max(axis=0) - both.min(axis=0))) + radius.max())
    lower = _LowerBounds(hxy, cxy, radius)
    hpos = {s: i for i, s in enumerate(home)}
    exact: dict[tuple[str, str], float] = {}

    def dist(sid: str, gid: str) -> float:
        key = (sid, gid)
        if key not in exact:
            exact[key] = float(shapely.distance(hpts[hpos[sid]], polys[gpos[gid]])) if sid in hpos else 0.0
        return exact[key]

    def dists(pairs: list[tuple[str, str]]) -> np.ndarray:
        todo = [pq for pq in pairs if pq not in exact]
        if todo:
            a = np.array([hpos[s] for s, _ in todo], dtype=int)
            b = np.array([gpos[g] for _, g in todo], dtype=int)
            for pq, d in zip(todo, shapely.distance(hpts[a], polys[b]).tolist()):
                exact[pq] = float(d)
        return np.array([exact[pq] for pq in pairs], dtype=float)

    # --- one independent network per role: a leader never takes a worker's place
    role_of = {str(s): str(r) for s, r in elig["role"].items()}
    current_of = {str(s): tuple(c) for s, c in elig["current"].items()}
    cap_of = {str(s): int(c) for s, c in elig["capacity"].items()}
    grids_of: dict[str, tuple[str, ...]] = {}
    statuses: set[str] = set()
    arcs_total = priced_total = rounds_max = 0
    for role in sorted(set(role_of.values())):
        role_places = places[places.index.get_level_values("role") == role]
        if role_places.empty:
            continue
        members = [s for s in elig.index if role_of[s] == role]
        role_grids = np.array([gpos[g] for g, _ in role_places.index], dtype=int)
        args = (members, role_places, role_grids, grid_ids, current_of, cap_of, hpos, lower, d_max, dist)
        if method == "highs":
            flow, arcs, rounds, priced, messages = _solve_role_highs(*args, keep_current=keep_current,
                                                                     candidates=candidates, dists=dists)
            statuses.update(messages)
        else:
            flow, arcs, rounds, priced = _solve_role(*args, keep_current=keep_current, candidates=candidates)
        for (sid, gid), f in flow.items():
            if f > 0:
                grids_of[sid] = tuple(sorted((*grids_of.get(sid, ()), gid)))
        arcs_total += arcs
        priced_total += priced
        rounds_max = max(rounds_max, rounds)
    key = objective_key(grids_of, people=people[people["counts"]], places=places, distance_m=exact)
    if method == "highs":
        text = ("lexicographic LP per role and goal (HiGHS simplex, warm-started; totally unimodular, "
                "so integral), every pair priced")
        status = "optimal" if all(m == "Optimal" for m in statuses) else "; ".join(sorted(statuses))
    else:
        text = "min-cost flow per role (networkx network simplex, exact integers), every pair priced"
        status = "optimal"
    report = SolverReport(
        method=text, status=status, gap=0.0, objective=key, seconds=time.perf_counter() - t0,
        arcs=arcs_total, pairs_priced=priced_total, rounds=rounds_max)
    return Plan(grids_of, exact, report, frozenset(elig.index)), people, places


class _LowerBounds:
    """Lower bounds of home-to-grid metres: the distance to the grid's minimum bounding circle (0 inside)."""

    def __init__(self, homes: np.ndarray, centres: np.ndarray, radius: np.ndarray) -> None:
        self.homes, self.centres, self.radius = homes, centres, radius

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The bounds for these homes (rows) and grids (cols), shape (rows, cols)."""
        if not len(rows):
            return np.zeros((0, len(cols)))
        out: np.ndarray = cdist(self.homes[rows], self.centres[cols])
        out -= self.radius[cols][None, :]
        np.maximum(out, 0.0, out=out)
        return out


def _seed_arcs(members: list[str], current_of: dict[str, tuple[str, ...]], qpos: dict[str, int],
               homed: list[str], place_grids: list[str], sub_lower: np.ndarray,
               candidates: int) -> set[tuple[str, str]]:
    """The first person–grid arcs of a role: everyone's current grids, each person's ``candidates``
    nearest grids and each grid's ``candidates`` nearest people (pricing adds the rest)."""
    arcs: set[tuple[str, str]] = set()
    for s in members:
        arcs.update((s, g) for g in current_of[s] if g in qpos)
    if len(homed):
        n_grids = sub_lower.shape[1]
        k = min(candidates, n_grids)
        near = np.argpartition(sub_lower, k - 1, axis=1)[:, :k]
        arcs.update((homed[i], place_grids[j]) for i in range(len(homed)) for j in near[i])
        k = min(candidates, len(homed))
        near = np.argpartition(sub_lower, k - 1, axis=0)[:k, :]
        arcs.update((homed[i], place_grids[j]) for j in range(n_grids) for i in near[:, j])
    return arcs


def _solve_role(members: list[str], places: pd.DataFrame, role_grids: np.ndarray, grid_ids: list[str],
                current_of: dict[str, tuple[str, ...]], cap_of: dict[str, int], hpos: dict[str, int],
                lower: _LowerBounds, d_max: float, dist: Callable[[str, str], float], *,
                keep_current: bool, candidates: int) -> tuple[dict[tuple[str, str], int], int, int, int]:
    """Solve one role's network to proven optimality; return flows, arcs, rounds, pairs priced."""
    place_grids = [g for g, _ in places.index]
    qpos = {g: i for i, g in enumerate(place_grids)}
    arcs: set[tuple[str, str]] = set()
    homed = [s for s in members if s in hpos]
    rows = np.array([hpos[s] for s in homed], dtype=int)
    sub_lower = lower(rows, role_grids)
    arcs |= _seed_arcs(members, current_of, qpos, homed, place_grids, sub_lower, candidates)
    # exact integer weights (module docstring): each goal outweighs everything below it
    units = max(1, sum(cap_of[s] for s in members))
    d_top = int(math.ceil(d_max)) + 1
    h_max = int(places["households"].max())
    w_extra = units * d_top + 1
    w_hh = (units + 1) * w_extra
    w_stay = (units * (h_max + 1) + 1) * w_hh
    w_fill = (units + 1) * w_stay
    stays = {(s, g) for s in members for g in current_of[s]} if keep_current else set()

    def cost(sid: str, gid: str) -> int:
        return int(round(dist(sid, gid))) - (w_stay if (sid, gid) in stays else 0)

    rounds = 0
    while True:
        rounds += 1
        flow, pi = _solve(members, cap_of, places, qpos, arcs, cost, w_fill, w_hh, w_extra)
        if not len(homed):
            break
        # pricing: a left-out pair (p, g) improves the flow iff its cost < pi[g] - pi[p]
        threshold = _differences([pi[("q", qpos[g])] for g in place_grids], [pi[("p", s)] for s in homed])
        new = set()
        for i, j in np.argwhere(sub_lower < threshold):
            pair = (homed[int(i)], place_grids[int(j)])
            if pair not in arcs and int(round(dist(*pair))) < threshold[i, j]:
                new.add(pair)
        if not new:
            break
        arcs |= new
    return flow, len(arcs), rounds, len(homed) * len(role_grids)


def _solve_role_highs(members: list[str], places: pd.DataFrame, role_grids: np.ndarray, grid_ids: list[str],
                      current_of: dict[str, tuple[str, ...]], cap_of: dict[str, int], hpos: dict[str, int],
                      lower: _LowerBounds, d_max: float, dist: Callable[[str, str], float], *,
                      keep_current: bool, candidates: int, dists: Callable[[list[tuple[str, str]]], np.ndarray]
                      ) -> tuple[dict[tuple[str, str], int], int, int, int, list[str]]:
    """Solve one role with HiGHS in two phases, each proved over every person–grid pair (module docstring).

    Phase 1: goals 1–4, one LP per goal on the seed arcs, then
    ``_face_potentials`` over every pair (negative cycles cancelled, their
    left-out pairs added as columns) and every column fixed to the optimal face
    by the potentials' reduced costs. Phase 2: goal 5 on that face, left-out
    pairs of the face priced with the LP duals until none improves.
    """
    place_grids = [g for g, _ in places.index]
    qpos = {g: i for i, g in enumerate(place_grids)}
    homed = [s for s in members if s in hpos]
    rows = np.array([hpos[s] for s in homed], dtype=int)
    sub_lower = lower(rows, role_grids)
    ppos = {s: i for i, s in enumerate(members)}
    hrow = {s: i for i, s in enumerate(homed)}
    hp = np.array([ppos[s] for s in homed], dtype=int)
    n_p, n_q = len(members), len(place_grids)
    lo = places["min_count"].to_numpy(dtype=np.int64)
    hi = places["max_count"].to_numpy(dtype=np.int64)
    hh = places["households"].to_numpy(dtype=np.int64)
    cap = np.array([cap_of[s] for s in members], dtype=np.int64)
    stays = {(s, g) for s in members for g in current_of[s] if g in qpos} if keep_current else set()
    w_fill, w_stay, w_hh, w_extra = _face_weights(int(cap.sum()), len(stays), int(hh.max()))
    place_cost = _ints([-(w_fill + w_hh * int(v)) for v in hh])
    # columns: unassigned per person | required per place | extra per place | person→place arcs (appended)
    start = n_p + 2 * n_q
    base_up = np.concatenate([cap, lo, hi - lo]).astype(float)
    goal_cost = [  # goals 1–4 on the first columns; goal 5 (metres) is 0 there
        np.concatenate([np.zeros(n_p), -np.ones(n_q), np.zeros(n_q)]),
        np.zeros(start),
        np.concatenate([np.zeros(n_p), -hh.astype(float), np.zeros(n_q)]),
        np.concatenate([np.zeros(n_p + n_q), -np.ones(n_q)]),
    ]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")   # presolve would discard the warm-start basis
    h.addVars(start, np.zeros(start), base_up)
    # person rows: unassigned + arcs = capacity; place rows: arcs - required - extra = 0
    for i in range(n_p):
        h.addRow(float(cap[i]), float(cap[i]), 1, np.array([i], dtype=np.int32), np.array([1.0]))
    for j in range(n_q):
        h.addRow(0.0, 0.0, 2, np.array([n_p + j, n_p + n_q + j], dtype=np.int32), np.array([-1.0, -1.0]))
    arc_list: list[tuple[str, str]] = []
    arc_p = np.zeros(0, dtype=np.int64)
    arc_q = np.zeros(0, dtype=np.int64)
    arc_stay = np.zeros(0, dtype=bool)
    arc_m = np.zeros(0)
    listed = np.zeros((len(homed), n_q), dtype=bool)      # homed pairs that are columns already
    low = np.zeros(start)
    up = base_up.copy()
    rounds = 0
    statuses: list[str] = []

    def add_columns(pairs: list[tuple[str, str]], cost_metres: bool) -> None:
        """Append person→place columns (bounds 0–1; cost the metres in phase 2, else 0)."""
        nonlocal arc_p, arc_q, arc_stay, arc_m, low, up
        k = len(pairs)
        if not k:
            return
        new_p = np.array([ppos[s] for s, _ in pairs], dtype=np.int64)
        new_q = np.array([qpos[g] for _, g in pairs], dtype=np.int64)
        index = np.empty(2 * k, dtype=np.int32)
        index[0::2] = new_p
        index[1::2] = n_p + new_q
        m_new = np.zeros(k)
        at_home = [i for i, pq in enumerate(pairs) if pq[0] in hpos]
        if at_home:
            m_new[at_home] = np.round(dists([pairs[i] for i in at_home]))
        h.addCols(k, m_new if cost_metres else np.zeros(k), np.zeros(k), np.ones(k), 2 * k,
                  np.arange(0, 2 * k, 2, dtype=np.int32), index, np.ones(2 * k))
        arc_list.extend(pairs)
        arc_p = np.concatenate([arc_p, new_p])
        arc_q = np.concatenate([arc_q, new_q])
        arc_stay = np.concatenate([arc_stay, [pq in stays for pq in pairs]])
        arc_m = np.concatenate([arc_m, m_new])
        low = np.concatenate([low, np.zeros(k)])
        up = np.concatenate([up, np.ones(k)])
        for s, g in pairs:
            if s in hrow:
                listed[hrow[s], qpos[g]] = True

    def run() -> np.ndarray:
        h.run()                          # warm start: the previous basis
        status = h.modelStatusToString(h.getModelStatus())
        statuses.append(status)
        if status != "Optimal":
            raise RuntimeError(f"HiGHS failed on a staffing network: {status}")
        return np.asarray(h.getSolution().col_value, dtype=float)

    # phase 1: goals 1–4 lexicographically on the seed arcs
    add_columns(sorted(_seed_arcs(members, current_of, qpos, homed, place_grids, sub_lower, candidates)), False)
    rounds += 1
    n_v = start + len(arc_list)
    cols = np.arange(n_v, dtype=np.int32)
    h.changeColsBounds(n_v, cols, low, up)
    x = np.zeros(n_v)
    solved = False
    for goal in range(4):
        c = np.concatenate([goal_cost[goal], -arc_stay.astype(float) if goal == 1 else np.zeros(len(arc_list))])
        if not c[up > low].any():       # nothing left to choose for this goal
            continue
        h.changeColsCost(n_v, cols, c)
        x = run()
        solved = True
        rc = np.asarray(h.getSolution().col_dual, dtype=float)
        fix_low = (rc > 0.5) & (up > low)
        fix_up = (rc < -0.5) & (up > low)
        if fix_low.any() or fix_up.any():
            up = np.where(fix_low, low, up)
            low = np.where(fix_up, up, low)
            h.changeColsBounds(n_v, cols, low, up)
    if not solved:                      # no goal had anything to choose: solve for a vertex anyway
        h.changeColsCost(n_v, cols, np.zeros(n_v))
        x = run()
    xi = np.round(x).astype(np.int64)
    if not np.allclose(x, xi, atol=1e-6):
        raise RuntimeError("HiGHS returned a fractional vertex on a totally unimodular network")
    # ... proved (or made) optimal over every pair by the full residual network's potentials
    arc_cost = _ints([-w_stay if s else 0 for s in arc_stay.tolist()])
    face = _face_potentials(cap, xi[:n_p], lo, hi - lo, xi[n_p:n_p + n_q], xi[n_p + n_q:start], place_cost,
                            -w_extra, arc_p, arc_q, arc_cost, xi[start:], hp, listed)
    add_columns([(members[p], place_grids[q]) for p, q in face.new_arcs], True)
    pi = face.potentials
    d_t, d_p, d_q = pi[0], pi[1:1 + n_p], pi[1 + n_p:]
    # the optimal face of goals 1–4 over all pairs: fix every column whose reduced cost is not 0
    n_v = start + len(arc_list)
    cols = np.arange(n_v, dtype=np.int32)
    arc_cost = _ints([-w_stay if s else 0 for s in arc_stay.tolist()])
    rc_i = np.concatenate([d_p - d_t, place_cost + d_q - d_t, -w_extra + d_q - d_t,
                           arc_cost + d_p[arc_p] - d_q[arc_q]])
    up = np.concatenate([base_up, np.ones(len(arc_list))])
    low = np.zeros(n_v)
    up = np.where(np.asarray(rc_i > 0, dtype=bool), low, up)
    low = np.where(np.asarray(rc_i < 0, dtype=bool), up, low)
    h.changeColsBounds(n_v, cols, low, up)
    h.changeColsCost(n_v, cols, np.concatenate([np.zeros(start), arc_m]))
    # phase 2: goal 5 (metres) on that face, left-out pairs of the face priced with the LP duals
    face_free = np.asarray(d_p[hp][:, None] == d_q[None, :], dtype=bool) if len(homed) else listed
    while True:
        rounds += 1
        x = run()
        if not len(homed):
            break
        # a left-out pair of the face (reduced cost 0 in goals 1–4: equal potentials, for it costs 0 there)
        # improves goal 5 iff its metres < y_person + y_place
        y = np.asarray(h.getSolution().row_dual, dtype=float)
        open_ = face_free & ~listed
        threshold = np.where(open_, y[hp][:, None] + y[n_p:][None, :] - 0.5, -np.inf)
        new = _exact_pairs(open_ & (sub_lower < threshold), threshold, homed, place_grids, dists)
        if not new:
            break                                       # no pair of any kind improves: proved optimal
        add_columns(sorted(_best_pairs(new, PRICE_PER_ROUND)), True)
    xi = np.round(x).astype(np.int64)
    if not np.allclose(x, xi, atol=1e-6):
        raise RuntimeError("HiGHS returned a fractional vertex on a totally unimodular network")
    flow = {pair: int(v) for pair, v in zip(arc_list, xi[start:])}
    return flow, len(arc_list), rounds, len(homed) * n_q, statuses


def _face_weights(units: int, stays: int, h_max: int) -> tuple[int, int, int, int]:
    """Integer weights ``(w_fill, w_stay, w_hh, w_extra)`` that make goals 1–4 strictly lexicographic.

    Each goal's weight exceeds everything the goals below it can change: at most
    ``units`` extra places, ``units · h_max`` households of required places,
    ``max(units, stays)`` current places kept."""
    w_extra = 1
    w_hh = units + 1
    w_stay = (units * (h_max + 1) + 1) * w_hh
    w_fill = (max(units, stays) + 1) * w_stay
    return w_fill, w_stay, w_hh, w_extra


@dataclass
class FaceFlow:
    """An integral flow of one role's network made optimal for goals 1–4 over every pair, with its proof.

    ``potentials`` (node 0 the sink, then people, then places) give every
    residual arc, left-out pairs included, a reduced cost ``cost + pot[u] -
    pot[v] >= 0``: an exact optimal dual of goals 1–4. ``new_arcs`` are the
    left-out pairs that cancelled negative cycles put flow on (``new_x``, their
    flows); ``cycles`` counts the cycles cancelled."""

    potentials: np.ndarray
    unassigned: np.ndarray
    required: np.ndarray
    extra: np.ndarray
    arc_x: np.ndarray
    new_arcs: list[tuple[int, int]]
    new_x: list[int]
    cycles: int


def _face_potentials(cap: np.ndarray, unassigned: np.ndarray, lo: np.ndarray, ext: np.ndarray,
                     required: np.ndarray, extra: np.ndarray, place_cost: np.ndarray, extra_cost: int,
                     arc_p: np.ndarray, arc_q: np.ndarray, arc_cost: np.ndarray, arc_x: np.ndarray,
                     dense: np.ndarray, listed: np.ndarray) -> FaceFlow:
    """Make a flow optimal for goals 1–4 over every person–place pair and return it with exact potentials.

    The network of one role (module docstring) with integer costs: node 0 is the
    sink, nodes ``1 … n_p`` the people, then the places. Its arcs and when they
    are residual (flow below capacity forward, above 0 backward):

    - person → sink "unassigned" (cost 0, capacity ``cap``, flow ``unassigned``);
    - place → sink "required" (``place_cost``, capacity ``lo``, flow ``required``)
      and "extra" (``extra_cost``, capacity ``ext``, flow ``extra``);
    - the listed person → place arcs (``arc_p``, ``arc_q``, ``arc_cost``, 0/1 flow ``arc_x``);
    - every other pair of a person in ``dense`` and any place (``listed[k, q]`` is
      False for ``dense[k]``): cost 0, capacity 1, flow 0. These are the left-out pairs.

    Label-correcting shortest paths from a virtual root (0 to every node), all
    left-out pairs of a person relaxed at once. A cycle of parent pointers made
    by strict improvements has negative cost (Tarjan); each one met is cancelled
    (one unit around it) and the labels go on from where they were. When no arc
    can be relaxed any more, the labels are feasible potentials, which proves
    the flow optimal. Integers are exact: int64 when the costs allow it, Python
    integers otherwise. The inputs are not changed.
    """
    n_p, n_q = len(cap), len(lo)
    n = 1 + n_p + n_q
    q0 = 1 + n_p
    big = max([1, int(np.abs(place_cost).max()) if n_q else 0, abs(int(extra_cost)),
               int(np.abs(arc_cost).max()) if len(arc_cost) else 0])
    dtype: type = np.int64 if (n + 1) * big < 2 ** 62 else object
    un = [int(v) for v in unassigned]
    req = [int(v) for v in required]
    ex = [int(v) for v in extra]
    lo_ = [int(v) for v in lo]
    ext_ = [int(v) for v in ext]
    cap_ = [int(v) for v in cap]
    pcost = [int(v) for v in place_cost]
    ecost = int(extra_cost)
    arcs = [(p, q) for p, q in zip(arc_p.tolist(), arc_q.tolist())]
    acost = [int(v) for v in arc_cost]
    ax = [int(v) for v in arc_x]
    arc_of = {pq: i for i, pq in enumerate(arcs)}
    row_of = np.full(n_p, -1, dtype=np.int64)
    row_of[dense] = np.arange(len(dense))
    # pairs of a ``dense`` person at cost 0 and flow 0, listed or not, are relaxed together (vectorised);
    # ``blocked`` marks the others, which go through ``fwd`` (flow 0) and ``bwd`` (flow 1)
    blocked = listed.copy()
    fwd: list[dict[int, int]] = [{} for _ in range(n_p)]   # pairs with flow 0 and a cost: place -> cost
    bwd: list[dict[int, int]] = [{} for _ in range(n_q)]   # pairs with flow 1, reversed: person -> cost
    for (p, q), c, f in zip(arcs, acost, ax):
        if f:
            bwd[q][p] = -c
        elif c == 0 and row_of[p] >= 0:
            blocked[row_of[p], q] = False
        else:
            fwd[p][q] = c
    d: np.ndarray = np.zeros(n, dtype=dtype)
    parent = [-1] * n
    weight = [0] * n                       # cost of the arc parent → node
    queue = deque(range(n))
    queued = [True] * n
    places_all = np.arange(q0, n)
    cycles = 0

    def lower(v: int, value: int, u: int, w: int) -> None:
        if value < d[v]:
            d[v] = value
            parent[v] = u
            weight[v] = w
            if not queued[v]:
                queued[v] = True
                queue.append(v)

    def lower_many(nodes: np.ndarray, values: np.ndarray, u: int, w: list[int]) -> None:
        better = np.asarray(values < d[nodes], dtype=bool)
        if not better.any():
            return
        for v, value, wi, b in zip(nodes.tolist(), values.tolist(), w, better.tolist()):
            if b:
                d[v] = value
                parent[v] = u
                weight[v] = wi
                if not queued[v]:
                    queued[v] = True
                    queue.append(v)

    def from_sink(du: int) -> None:
        used = [1 + p for p in range(n_p) if un[p] > 0]
        if used:
            lower_many(np.array(used), np.full(len(used), du, dtype=dtype), 0, [0] * len(used))
        back = [(q0 + q, min(-pcost[q] if req[q] > 0 else _INF, -ecost if ex[q] > 0 else _INF))
                for q in range(n_q) if req[q] > 0 or ex[q] > 0]
        if back:
            w = [int(c) for _, c in back]
            lower_many(np.array([v for v, _ in back]), du + np.array(w, dtype=dtype), 0, w)

    def cancel(cycle: list[int]) -> None:
        for v in cycle:
            u, w = parent[v], weight[v]
            if u == 0 and v < q0:
                un[v - 1] -= 1
            elif v == 0 and u < q0:
                un[u - 1] += 1
            elif v == 0:
                q = u - q0
                if w == pcost[q] and req[q] < lo_[q]:
                    req[q] += 1
                else:
                    ex[q] += 1
            elif u == 0:
                q = v - q0
                if w == -pcost[q] and req[q] > 0:
                    req[q] -= 1
                else:
                    ex[q] -= 1
            elif u < q0:                     # person → place: one more on the pair
                p, q = u - 1, v - q0
                if (p, q) not in arc_of:     # a left-out pair: it becomes an arc
                    arc_of[(p, q)] = len(arcs)
                    arcs.append((p, q))
                    acost.append(0)
                    ax.append(0)
                ax[arc_of[(p, q)]] = 1
                fwd[p].pop(q, None)
                if row_of[p] >= 0:
                    blocked[row_of[p], q] = True
                bwd[q][p] = -acost[arc_of[(p, q)]]
            else:                            # place → person: one less on the pair
                p, q = v - 1, u - q0
                ax[arc_of[(p, q)]] = 0
                c = -bwd[q].pop(p)
                if c == 0 and row_of[p] >= 0:
                    blocked[row_of[p], q] = False
                else:
                    fwd[p][q] = c
        for v in cycle:
            parent[v] = -1
            if not queued[v]:
                queued[v] = True
                queue.append(v)

    pops = 0
    while queue:
        u = queue.popleft()
        queued[u] = False
        pops += 1
        du = d[u]
        if u == 0:                                   # sink → people with unassigned flow, → places in use
            from_sink(du)
        elif u < q0:                                 # a person
            p = u - 1
            if un[p] < cap_[p]:
                lower(0, du, u, 0)
            for q, c in fwd[p].items():
                lower(q0 + q, du + c, u, c)
            k = row_of[p]
            if k >= 0:                               # every unblocked pair of this person, cost 0
                better = np.asarray(d[q0:] > du, dtype=bool) & ~blocked[k]
                if better.any():
                    nodes = places_all[better]
                    lower_many(nodes, np.full(len(nodes), du, dtype=dtype), u, [0] * len(nodes))
        else:                                        # a place
            q = u - q0
            if req[q] < lo_[q]:
                lower(0, du + pcost[q], u, pcost[q])
            if ex[q] < ext_[q]:
                lower(0, du + ecost, u, ecost)
            for p, c in bwd[q].items():
                lower(1 + p, du + c, u, c)
        if pops % n == 0:
            cycle = _parent_cycle(parent)
            if cycle is not None:
                if sum(weight[v] for v in cycle) >= 0:
                    raise RuntimeError("a parent cycle of non-negative cost in a staffing residual network")
                cancel(cycle)
                cycles += 1
                pops = 0
            elif pops > n * (n + 1):
                raise RuntimeError("shortest paths did not settle in a staffing residual network")
    k0 = len(arc_p)
    return FaceFlow(d, np.array(un, dtype=np.int64), np.array(req, dtype=np.int64), np.array(ex, dtype=np.int64),
                    np.array(ax[:k0], dtype=np.int64), arcs[k0:], ax[k0:], cycles)


def _ints(values: list[int]) -> np.ndarray:
    """Exact integers as an array: int64 when they fit with room for sums, else Python integers (object)."""
    fits = all(abs(v) < 2 ** 52 for v in values)
    return np.array(values, dtype=np.int64 if fits else object)


def _parent_cycle(parent: list[int]) -> list[int] | None:
    """A cycle of the parent pointers (as its nodes), or None."""
    state = [0] * len(parent)                  # 0 unseen, 1 on the current walk, 2 done
    for s in range(len(parent)):
        path = []
        v = s
        while v >= 0 and state[v] == 0:
            state[v] = 1
            path.append(v)
            v = parent[v]
        if v >= 0 and state[v] == 1:
            return path[path.index(v):]
        for w in path:
            state[w] = 2
    return None


def _exact_pairs(maybe: np.ndarray, threshold: np.ndarray, homed: list[str], place_grids: list[str],
                 dists: Callable[[list[tuple[str, str]]], np.ndarray]
                 ) -> dict[tuple[str, str], tuple[float, float]]:
    """The pairs of ``maybe`` (by their distance's lower bound) whose rounded metres are below ``threshold``,
    each with (metres - threshold, metres): the reduced cost, more negative for a better pair."""
    ii, jj = np.nonzero(maybe)
    if not len(ii):
        return {}
    pairs = [(homed[i], place_grids[j]) for i, j in zip(ii.tolist(), jj.tolist())]
    metres = np.round(dists(pairs))
    slack = metres - threshold[ii, jj]
    return {pq: (sl, m) for pq, sl, m in zip(pairs, slack.tolist(), metres.tolist()) if sl < 0}


def _best_pairs(found: dict[tuple[str, str], tuple[float, float]], per: int) -> set[tuple[str, str]]:
    """The most improving pairs: at most ``per`` for each person and for each grid, best reduced cost first.

    The best pair overall is always kept, so a pricing round adds at least one pair (deterministic order)."""
    taken: set[tuple[str, str]] = set()
    n_person: dict[str, int] = {}
    n_grid: dict[str, int] = {}
    for pq in sorted(found, key=lambda pq: (found[pq], pq)):
        s, g = pq
        if n_person.get(s, 0) < per and n_grid.get(g, 0) < per:
            taken.add(pq)
            n_person[s] = n_person.get(s, 0) + 1
            n_grid[g] = n_grid.get(g, 0) + 1
    return taken


def _differences(pi_q: list[int], pi_p: list[int]) -> np.ndarray:
    """``pi_q[j] - pi_p[i]`` for every pair, exact where it matters, clipped to ±2**40.

    Potentials are huge integers (the goal weights); each is split as
    ``hi * 2**40 + lo`` so the difference is computed exactly in int64 whenever
    it is smaller than 2**40 m, and is known to be beyond any distance otherwise.
    """
    shift = 40
    lim = 1 << shift
    mask = lim - 1
    hq = np.array([v >> shift for v in pi_q], dtype=np.int64)
    lq = np.array([v & mask for v in pi_q], dtype=np.int64)
    hp = np.array([v >> shift for v in pi_p], dtype=np.int64)
    lp = np.array([v & mask for v in pi_p], dtype=np.int64)
    hd = hq[None, :] - hp[:, None]
    small = np.abs(hd) <= 1
    exact = np.where(small, hd, 0) * lim + (lq[None, :] - lp[:, None])
    out = np.where(small, np.clip(exact, -lim, lim), np.where(hd > 0, lim, -lim))
    return out.astype(np.float64)


def _solve(members: list[str], cap_of: dict[str, int], places: pd.DataFrame, qpos: dict[str, int],
           arcs: set[tuple[str, str]], cost: Callable[[str, str], int], w_fill: int, w_hh: int, w_extra: int
           ) -> tuple[dict[tuple[str, str], int], dict[object, int]]:
    """One network-simplex solve; return flow on person→grid arcs and node potentials."""
    g = nx.DiGraph()
    sink = ("t", 0)
    total = 0
    for sid in members:
        c = cap_of[sid]
        g.add_node(("p", sid), demand=-c)
        g.add_edge(("p", sid), sink, capacity=c, weight=0)
        total += c
    g.add_node(sink, demand=total)
    for (gid, _), lo, hi, hh in zip(places.index, places["min_count"], places["max_count"], places["households"]):
        q = ("q", qpos[gid])
        g.add_node(q, demand=0)
        if lo > 0:
            g.add_edge(q, sink, capacity=int(lo), weight=-(w_fill + w_hh * int(hh)))
        if hi > lo:
            x = ("x", qpos[gid])
            g.add_edge(q, x, capacity=int(hi - lo), weight=-w_extra)
            g.add_edge(x, sink, capacity=int(hi - lo), weight=0)
    for sid, gid in arcs:
        g.add_edge(("p", sid), ("q", qpos[gid]), capacity=1, weight=cost(sid, gid))
    _, flow_dict = nx.network_simplex(g)
    flow = {(sid, gid): int(flow_dict[("p", sid)].get(("q", qpos[gid]), 0)) for sid, gid in arcs}
    return flow, _potentials(g, flow_dict)


def _potentials(g: nx.DiGraph, flow: dict[object, dict[object, int]], root: object = None) -> dict[object, int]:
    """Shortest-path distances in the residual network from a virtual root (Bellman–Ford, queue).

    The virtual root reaches every node at cost 0; with ``root`` it reaches ``root`` at cost 0 and every
    other node at a cost beyond any path, so nodes reachable from ``root`` get their distance from it
    (tighter pricing: a pair's threshold is then a real detour through ``root``)."""
    nodes = list(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    adj: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for u, v, data in g.edges(data=True):
        f = flow[u][v]
        w = int(data["weight"])
        if f < data["capacity"]:
            adj[index[u]].append((index[v], w))
        if f > 0:
            adj[index[v]].append((index[u], -w))
    dist = [0] * len(nodes)
    if root is not None:
        beyond = 1 + sum(abs(int(w)) for _, _, w in g.edges(data="weight"))
        dist = [beyond] * len(nodes)
        dist[index[root]] = 0
    queue = deque(range(len(nodes)))
    queued = [True] * len(nodes)
    relaxed = [0] * len(nodes)
    while queue:
        u = queue.popleft()
        queued[u] = False
        du = dist[u]
        for v, w in adj[u]:
            if du + w < dist[v]:
                dist[v] = du + w
                relaxed[v] += 1
                if relaxed[v] > len(nodes):
                    raise RuntimeError("negative cycle in a staffing residual network: the flow is not optimal")
                if not queued[v]:
                    queued[v] = True
                    queue.append(v)
    return {n: dist[i] for n, i in index.items()}
