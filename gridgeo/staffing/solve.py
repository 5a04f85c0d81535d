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
arcs at first; the result is then proved optimal over *all* person–grid pairs
by pricing: a dual of the optimal solution gives every left-out pair's
(lexicographic) reduced cost, pairs that could improve the result are added and
the problem is solved again, until none can. The HiGHS solver prices with two
duals, the LP duals of every goal and the residual-network potentials of the
integral optimum; it stops as soon as either proves the optimum, and a round
adds only pairs both call improving (else the smaller set), at most
``PRICE_PER_ROUND`` per person and per grid, the most negative first.

Two exact solvers share this model. ``method="highs"`` (default) solves one
linear program per goal with HiGHS (``highspy``), each on the optimal face of
the previous goal (variables with a nonzero reduced cost fixed), warm-started
from the previous basis; the network matrix is totally unimodular, so each
vertex is integral and the optimum exact (gap 0). ``method="flow"`` runs
networkx's network simplex on Python integers with weights that make the goal
order strict, and prices with shortest-path potentials. Both give the same
optimum; the tests compare them with brute force.
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

from gridgeo import crs as gcrs
from gridgeo.errors import InputError
from gridgeo.i18n import Lang, t
from gridgeo.staffing.roster import Roster, split_grid_ids
from gridgeo.staffing.rules import DEFAULT_STAFFING, StaffingRules

PRICE_PER_ROUND = 10   # pairs a pricing round adds at most per person and per grid (the most improving)

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
    centre_d = np.sqrt(((hxy[:, None, :] - cxy[None, :, :]) ** 2).sum(axis=2)) if len(hxy) else np.zeros((0, len(grid_ids)))
    lower = np.maximum(centre_d - radius[None, :], 0.0)
    upper = centre_d + radius[None, :]
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
        args = (members, role_places, role_grids, grid_ids, current_of, cap_of, hpos, lower, upper, dist)
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
                lower: np.ndarray, upper: np.ndarray, dist: Callable[[str, str], float], *,
                keep_current: bool, candidates: int) -> tuple[dict[tuple[str, str], int], int, int, int]:
    """Solve one role's network to proven optimality; return flows, arcs, rounds, pairs priced."""
    place_grids = [g for g, _ in places.index]
    qpos = {g: i for i, g in enumerate(place_grids)}
    arcs: set[tuple[str, str]] = set()
    homed = [s for s in members if s in hpos]
    rows = np.array([hpos[s] for s in homed], dtype=int)
    sub_lower = lower[np.ix_(rows, role_grids)] if len(rows) else np.zeros((0, len(role_grids)))
    arcs |= _seed_arcs(members, current_of, qpos, homed, place_grids, sub_lower, candidates)
    # exact integer weights (module docstring): each goal outweighs everything below it
    units = max(1, sum(cap_of[s] for s in members))
    d_max = int(math.ceil(float(upper[np.ix_(rows, role_grids)].max()))) + 1 if len(rows) else 1
    h_max = int(places["households"].max())
    w_extra = units * d_max + 1
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
                      lower: np.ndarray, upper: np.ndarray, dist: Callable[[str, str], float], *,
                      keep_current: bool, candidates: int, dists: Callable[[list[tuple[str, str]]], np.ndarray]
                      ) -> tuple[dict[tuple[str, str], int], int, int, int, list[str]]:
    """Solve one role lexicographically with HiGHS: one LP per goal, each on the optimal face of the last.

    The network's constraint matrix is totally unimodular, so every vertex HiGHS
    returns is integral. After each goal, variables with a nonzero reduced cost
    are fixed at the bound complementary slackness demands, which leaves exactly
    the optimal face for the next goal. For goals 1–4 a uniform dual is used
    where it fits (``_uniform_duals``): HiGHS's own is degenerate there. Left-out
    person–grid pairs are priced with the duals of every goal (lexicographic
    reduced cost) and with the residual-network potentials; either certificate
    with no improving pair proves the optimum.
    """
    place_grids = [g for g, _ in places.index]
    qpos = {g: i for i, g in enumerate(place_grids)}
    homed = [s for s in members if s in hpos]
    rows = np.array([hpos[s] for s in homed], dtype=int)
    sub_lower = lower[np.ix_(rows, role_grids)] if len(rows) else np.zeros((0, len(role_grids)))
    arcs: set[tuple[str, str]] = set()
    arcs |= _seed_arcs(members, current_of, qpos, homed, place_grids, sub_lower, candidates)
    ppos = {s: i for i, s in enumerate(members)}
    n_p, n_q = len(members), len(place_grids)
    lo = places["min_count"].to_numpy(dtype=float)
    hi = places["max_count"].to_numpy(dtype=float)
    stays = {(s, g) for s in members for g in current_of[s]} if keep_current else set()
    weights = _weights(members, cap_of, places, upper[np.ix_(rows, role_grids)] if len(rows) else np.zeros((0, 0)))

    def cost(sid: str, gid: str) -> int:
        return int(round(dist(sid, gid))) - (weights[0] if (sid, gid) in stays else 0)

    known_m: np.ndarray | None = None
    hrow: dict[str, int] = {}
    # columns: unassigned per person | required per place | extra per place | person→place arcs (appended)
    base_up = np.concatenate([[float(cap_of[s]) for s in members], lo, hi - lo])
    fixed_cost = [  # goals 1–5 on the first 2·n_q + n_p columns
        np.concatenate([np.zeros(n_p), -np.ones(n_q), np.zeros(n_q)]),
        np.zeros(n_p + 2 * n_q),
        np.concatenate([np.zeros(n_p), -places["households"].to_numpy(dtype=float), np.zeros(n_q)]),
        np.concatenate([np.zeros(n_p + n_q), -np.ones(n_q)]),
        np.zeros(n_p + 2 * n_q),
    ]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")   # presolve would discard the warm-start basis
    h.addVars(n_p + 2 * n_q, np.zeros(n_p + 2 * n_q), base_up)
    rows_b = np.concatenate([[float(cap_of[s]) for s in members], np.zeros(n_q)])
    # person rows: unassigned + arcs = capacity; place rows: arcs - required - extra = 0
    for i in range(n_p):
        h.addRow(rows_b[i], rows_b[i], 1, np.array([i], dtype=np.int32), np.array([1.0]))
    for j in range(n_q):
        h.addRow(0.0, 0.0, 2, np.array([n_p + j, n_p + n_q + j], dtype=np.int32), np.array([-1.0, -1.0]))
    arc_list: list[tuple[str, str]] = []
    arc_cost: list[np.ndarray] = [np.zeros(0) for _ in range(5)]
    rounds = 0
    statuses: list[str] = []
    pending = sorted(arcs)
    while True:
        rounds += 1
        if pending:  # append the new arcs as columns
            k = len(pending)
            starts = np.arange(0, 2 * k, 2, dtype=np.int32)
            index = np.empty(2 * k, dtype=np.int32)
            index[0::2] = [ppos[s] for s, _ in pending]
            index[1::2] = [n_p + qpos[g] for _, g in pending]
            h.addCols(k, np.zeros(k), np.zeros(k), np.ones(k), 2 * k, starts, index, np.ones(2 * k))
            metres = np.array([round(dist(s, g)) for s, g in pending], dtype=float)
            stay = np.array([-1.0 if (s, g) in stays else 0.0 for s, g in pending])
            zeros = np.zeros(k)
            for goal, extra in enumerate((zeros, stay, zeros, zeros, metres)):
                arc_cost[goal] = np.concatenate([arc_cost[goal], extra])
            arc_list += pending
        n_v = n_p + 2 * n_q + len(arc_list)
        lonely = np.ones(n_p, dtype=bool)         # people without any arc (no home, no current grid)
        lonely[[ppos[s] for s, _ in arc_list]] = False
        cols = np.arange(n_v, dtype=np.int32)
        low = np.zeros(n_v)
        up = np.concatenate([base_up, np.ones(len(arc_list))])
        h.changeColsBounds(n_v, cols, low, up)
        duals: list[np.ndarray] = []
        statuses = []
        for goal in range(5):
            c = np.concatenate([fixed_cost[goal], arc_cost[goal]])
            free = up > low
            if not c[free].any():            # nothing left to choose for this goal: y = 0 is dual optimal
                duals.append(np.zeros(n_p + n_q))
                continue
            h.changeColsCost(n_v, cols, c)
            h.run()                          # warm start: the previous goal's optimal basis
            status = h.modelStatusToString(h.getModelStatus())
            statuses.append(status)
            if status != "Optimal":
                raise RuntimeError(f"HiGHS failed on a staffing network: {status}")
            sol = h.getSolution()
            y = np.asarray(sol.row_dual, dtype=float)
            rc = np.asarray(sol.col_dual, dtype=float)          # c - Aᵀy
            xs = np.asarray(sol.col_value, dtype=float)
            if goal < 4:
                y, rc = _uniform_duals(y, rc, xs, c, low, up, n_p, n_q, lonely)
            duals.append(y)
            fix_low = (rc > 0.5) & free
            fix_up = (rc < -0.5) & free
            if fix_low.any() or fix_up.any():
                up = np.where(fix_low, low, up)
                low = np.where(fix_up, up, low)
                h.changeColsBounds(n_v, cols, low, up)
        x = np.asarray(h.getSolution().col_value, dtype=float)
        if not np.allclose(x, np.round(x), atol=1e-6):
            raise RuntimeError("HiGHS returned a fractional vertex on a totally unimodular network")
        if not len(homed):
            break
        # Pricing, with two dual certificates: the LP duals of every goal (lexicographic reduced cost) and
        # the shortest-path potentials of the integral optimum under the exact integer weights. Either one
        # with no improving left-out pair proves the optimum over all pairs. Both are needed: the later
        # goals' LP duals are degenerate when people keep their grids (a person fixed on their current
        # grid has a free dual), and the potentials overstate the grids with an empty required place.
        # A round adds the pairs both certificates call improving, else the smaller of the two sets.
        if known_m is None:
            known_m = np.zeros((len(homed), n_q), dtype=bool)
            hrow = {s: i for i, s in enumerate(homed)}
        fresh_arcs = arc_list[len(arc_list) - len(pending):] if pending else []
        for s_, g_ in fresh_arcs:
            if s_ in hrow:
                known_m[hrow[s_], qpos[g_]] = True
        y_p = [d[:n_p] for d in duals]
        y_q = [d[n_p:] for d in duals]
        hp = np.array([ppos[s] for s in homed], dtype=int)
        undecided = np.ones((len(homed), n_q), dtype=bool)
        improving = np.zeros((len(homed), n_q), dtype=bool)
        for goal in range(4):
            rc_pair = -(y_p[goal][hp][:, None] + y_q[goal][None, :])
            improving |= undecided & (rc_pair < -0.5)
            undecided &= np.abs(rc_pair) <= 0.5
        lp_threshold = np.where(improving, np.inf, np.where(undecided, y_p[4][hp][:, None] + y_q[4][None, :] - 0.5,
                                                            -np.inf))          # metres < threshold improves
        maybe_lp = (sub_lower < lp_threshold) & ~known_m
        new = _exact_pairs(maybe_lp, lp_threshold, homed, place_grids, dists)
        if not new:
            break                                       # the LP duals prove the optimum
        start = n_p + 2 * n_q
        pi = _residual_potentials(
            members, cap_of, places, qpos, {pair: int(round(v)) for pair, v in zip(arc_list, x[start:])},
            [int(round(v)) for v in x[:n_p]], [int(round(v)) for v in x[n_p:n_p + n_q]],
            [int(round(v)) for v in x[n_p + n_q:start]], cost, weights)
        pot_threshold = _differences([pi[("q", qpos[g])] for g in place_grids], [pi[("p", s)] for s in homed])
        new_pot = _exact_pairs((sub_lower < pot_threshold) & ~known_m, pot_threshold, homed, place_grids, dists)
        if not new_pot:
            break                                       # the potentials prove the optimum
        both = {pq: new_pot[pq] for pq in new.keys() & new_pot.keys()}
        pending = sorted(_best_pairs(both or min(new, new_pot, key=len), PRICE_PER_ROUND))
    start = n_p + 2 * n_q
    flow = {pair: int(round(v)) for pair, v in zip(arc_list, x[start:])}
    return flow, len(arc_list), rounds, len(homed) * n_q, statuses


def _uniform_duals(y: np.ndarray, rc: np.ndarray, x: np.ndarray, c: np.ndarray, low: np.ndarray, up: np.ndarray,
                   n_p: int, n_q: int, lonely: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Duals of goals 1–4 under which every person–grid pair prices at its own cost (0 unless a stay).

    Any person may serve any grid, so these goals are decided by counts and by
    which grids are filled, not by who goes where. The dual ``y_p = -t`` for
    every person and ``y_q = t`` for every place gives each arc the reduced
    cost ``c_arc``; it is optimal when some ``t`` satisfies complementary
    slackness on the other columns (e.g. ``t = 0`` when the goal is at its
    ideal, ``t = 1`` when a short roster fills only required places, ``t`` = the
    households of the last grid left short). HiGHS's own dual is degenerate
    there: it fixes arcs and makes every empty place look reachable from
    everyone. People without any arc (``lonely``) get ``y_p = 0``: their only
    column is "unassigned". Returns HiGHS's dual when no ``t`` fits (it is always valid)."""
    m = n_p + 2 * n_q
    free = (up > low) & np.concatenate([~lonely, np.ones(len(up) - n_p, dtype=bool)])
    at_low = np.abs(x - low) < 1e-6
    at_up = np.abs(x - up) < 1e-6
    arcs_c = c[m:]
    arcs_free = free[m:]
    if np.any(arcs_free & (((arcs_c > 0.5) & ~at_low[m:]) | ((arcs_c < -0.5) & ~at_up[m:]))):
        return y, rc
    sign = np.concatenate([np.ones(n_p), np.ones(2 * n_q)])   # rc = c + t on every non-arc column
    base = c[:m]
    tol = 1e-6
    cands = sorted({0.0, *(-base[free[:m]]).round(6).tolist()})
    for t in cands:
        r = base + sign * t
        bad = free[:m] & (((r > tol) & ~at_low[:m]) | ((r < -tol) & ~at_up[:m]))
        if not bad.any():
            rows = np.concatenate([np.where(lonely, 0.0, -t), np.full(n_q, t)])
            r[:n_p] = np.where(lonely, base[:n_p], r[:n_p])
            return rows, np.concatenate([r, arcs_c])
    return y, rc


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


def _weights(members: list[str], cap_of: dict[str, int], places: pd.DataFrame,
             upper: np.ndarray) -> tuple[int, int, int, int]:
    """Integer weights ``(w_stay, w_fill, w_hh, w_extra)`` that make the goal order strict (module docstring)."""
    units = max(1, sum(cap_of[s] for s in members))
    d_max = int(math.ceil(float(upper.max()))) + 1 if upper.size else 1
    h_max = int(places["households"].max())
    w_extra = units * d_max + 1
    w_hh = (units + 1) * w_extra
    w_stay = (units * (h_max + 1) + 1) * w_hh
    w_fill = (units + 1) * w_stay
    return w_stay, w_fill, w_hh, w_extra


def _residual_potentials(members: list[str], cap_of: dict[str, int], places: pd.DataFrame, qpos: dict[str, int],
                         arc_flow: dict[tuple[str, str], int], unassigned: list[int], required: list[int],
                         extra: list[int], cost: Callable[[str, str], int],
                         weights: tuple[int, int, int, int]) -> dict[object, int]:
    """Node potentials of a given optimal flow: the network of ``_solve`` with these flows, then ``_potentials``."""
    _, w_fill, w_hh, w_extra = weights
    g = nx.DiGraph()
    sink = ("t", 0)
    flow: dict[object, dict[object, int]] = {sink: {}}
    for k, sid in enumerate(members):
        g.add_edge(("p", sid), sink, capacity=cap_of[sid], weight=0)
        flow[("p", sid)] = {sink: unassigned[k]}
    for j, ((gid, _), lo, hi, hh) in enumerate(zip(places.index, places["min_count"], places["max_count"],
                                                   places["households"])):
        q = ("q", qpos[gid])
        flow.setdefault(q, {})
        g.add_node(q)
        if lo > 0:
            g.add_edge(q, sink, capacity=int(lo), weight=-(w_fill + w_hh * int(hh)))
            flow[q][sink] = required[j]
        if hi > lo:
            xn = ("x", qpos[gid])
            g.add_edge(q, xn, capacity=int(hi - lo), weight=-w_extra)
            g.add_edge(xn, sink, capacity=int(hi - lo), weight=0)
            flow[q][xn] = extra[j]
            flow[xn] = {sink: extra[j]}
    for (sid, gid), f in arc_flow.items():
        g.add_edge(("p", sid), ("q", qpos[gid]), capacity=1, weight=cost(sid, gid))
        flow[("p", sid)][("q", qpos[gid])] = f
    return _potentials(g, flow)


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
