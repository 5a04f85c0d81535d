"""Assign, check and hand-edit grid staff: one result type for all three.

``assign_staff`` solves the assignment exactly (``staffing.solve``);
``check_staff`` judges the roster's own ``grid_id`` column without moving
anyone; ``edit_staff`` applies a manual assign / move / remove, validated
against the rule. Each returns a ``StaffingResult`` built by ``evaluate``, so
the per-grid table, the shortage and surplus lists and the summary agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import crs as gcrs
from gridgeo.errors import InputError, Tr
from gridgeo.i18n import STRINGS
from gridgeo.staffing.checks import district_summary, grid_staffing
from gridgeo.staffing.roster import Roster, split_grid_ids
from gridgeo.staffing.rules import DEFAULT_STAFFING, StaffingRules
from gridgeo.staffing.solve import SolverReport, people_table, solve_assignment

__all__ = ["StaffingResult", "assign_staff", "check_staff", "edit_staff", "evaluate", "MEMBER_COLUMNS",
           "REASONS"]

#: Columns of ``StaffingResult.members`` (one row per person and grid; "" grid = unassigned).
MEMBER_COLUMNS = ("staff_id", "name", "role", "employment", "phone", "community_id", "grid_id", "distance_m",
                  "moved", "previous_grid_id", "has_home", "reason")

#: Why a person has no grid.
REASONS: dict[str, str] = {
    "places_full": "every place of their role is filled (surplus)",
    "no_home": "no home location and no current grid: assign by hand",
    "role_not_in_rule": "the rule has no place for this role",
    "part_time_not_counted": "the rule counts only full-time people in this role",
    "removed": "removed by hand",
}


@dataclass(frozen=True)
class StaffingResult:
    """People placed in grids, the per-grid checks and the district figures."""

    members: pd.DataFrame           # MEMBER_COLUMNS
    grids: pd.DataFrame             # checks.grid_staffing
    summary: dict[str, Any]
    shortage: pd.DataFrame          # grid_id, community_id, role, missing, households
    surplus: pd.DataFrame           # staff_id, name, role, employment, reason
    rules: StaffingRules
    solver: SolverReport | None = None
    pairs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()    # people taken out by hand (reason "removed")

    @property
    def moved(self) -> int:
        """People no longer serving (all of) their current grids."""
        return int(self.summary.get("moved", 0))


def _households(households: pd.Series | pd.DataFrame) -> pd.Series:
    hh = households["households"] if isinstance(households, pd.DataFrame) else households
    return pd.Series(hh.to_numpy(), index=hh.index.astype(str)).fillna(0).astype(int)


def _distances(roster: Roster, grids: gpd.GeoDataFrame, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Metres from home to grid polygon (0 inside) for the given pairs; NaN without a home."""
    if not pairs:
        return {}
    metric = gcrs.metric_crs(grids)
    polys = grids.geometry.to_crs(metric)
    homes = roster.frame.geometry.to_crs(metric)
    gi = {g: i for i, g in enumerate(grids.index.astype(str))}
    si = {s: i for i, s in enumerate(roster.frame.index.astype(str))}
    a = np.asarray(homes.values, dtype=object)[[si[s] for s, _ in pairs]]
    b = np.asarray(polys.values, dtype=object)[[gi[g] for _, g in pairs]]
    missing = shapely.is_missing(a) | shapely.is_empty(a)
    d = np.full(len(pairs), np.nan)
    if (~missing).any():
        d[~missing] = shapely.distance(a[~missing], b[~missing])
    d[~np.isfinite(d)] = np.nan
    return dict(zip(pairs, d.tolist()))


def evaluate(roster: Roster, grids: gpd.GeoDataFrame, households: pd.Series | pd.DataFrame,
             pairs: dict[str, tuple[str, ...]], *, rules: StaffingRules = DEFAULT_STAFFING,
             solver: SolverReport | None = None, open_cases: pd.Series | None = None,
             removed: frozenset[str] = frozenset()) -> StaffingResult:
    """Build the result for ``pairs`` (staff_id -> grid ids): members, checks, shortage, surplus, summary."""
    hh = _households(households)
    staff = roster.frame
    people = people_table(roster, grids, rules)
    community = (grids["community_id"].astype(str) if "community_id" in grids.columns
                 else pd.Series("", index=grids.index)).to_dict()
    community = {str(k): v for k, v in community.items()}
    wanted = [(s, g) for s, gs in pairs.items() for g in gs]
    dist = _distances(roster, grids, wanted)
    rows: list[dict[str, Any]] = []
    rule_roles = set(rules.roles)
    names = staff["name"].astype(str).to_dict()
    phones = staff["phone"].astype(str).to_dict()
    previous_of = {str(k): split_grid_ids(v) for k, v in staff["grid_id"].items()}
    for sid, role, employment, has_home, counts, current in zip(
            people.index, people["role"], people["employment"], people["has_home"], people["counts"],
            people["current"]):
        gids = pairs.get(sid, ())
        previous = previous_of[sid]
        moved = bool(previous) and any(g not in gids for g in previous)
        base = {"staff_id": sid, "name": names[sid], "role": role, "employment": employment,
                "phone": phones[sid], "moved": moved, "previous_grid_id": ";".join(previous),
                "has_home": bool(has_home)}
        if gids:
            for g in gids:
                rows.append({**base, "community_id": community.get(g, ""), "grid_id": g,
                             "distance_m": round(dist.get((sid, g), np.nan), 1), "reason": ""})
        else:
            if sid in removed:
                reason = "removed"
            elif role not in rule_roles:
                reason = "role_not_in_rule"
            elif not counts:
                reason = "part_time_not_counted"
            elif not has_home and not current:
                reason = "no_home"
            else:
                reason = "places_full"
            rows.append({**base, "community_id": "", "grid_id": "", "distance_m": np.nan, "reason": reason})
    members = pd.DataFrame(rows, columns=list(MEMBER_COLUMNS))
    placed = members[members["grid_id"] != ""]
    table = grid_staffing(grids, hh, placed, rules, open_cases=open_cases)
    short_rows = []
    for gid, comm, miss, h in zip(table.index, table["community_id"], table["missing"], table["households"]):
        for part in filter(None, str(miss).split(", ")):
            role, n = part.rsplit(" ", 1)
            short_rows.append({"grid_id": gid, "community_id": comm, "role": role, "missing": int(n),
                               "households": int(h)})
    shortage = pd.DataFrame(short_rows, columns=["grid_id", "community_id", "role", "missing", "households"])
    surplus = members.loc[members["grid_id"] == "", ["staff_id", "name", "role", "employment", "reason"]]
    summary = district_summary(table, members, rules)
    return StaffingResult(members, table, summary, shortage.reset_index(drop=True),
                          surplus.reset_index(drop=True), rules, solver,
                          {s: tuple(g) for s, g in pairs.items() if g}, removed)


def assign_staff(roster: Roster, grids: gpd.GeoDataFrame, households: pd.Series | pd.DataFrame, *,
                 rules: StaffingRules = DEFAULT_STAFFING, keep_current: bool = True,
                 open_cases: pd.Series | None = None, candidates: int = 8,
                 method: Literal["highs", "flow"] = "highs") -> StaffingResult:
    """Assign the roster to ``grids`` optimally (see ``staffing.solve`` for the goals and proof).

    ``keep_current`` keeps people in a current grid that still exists unless a
    rule minimum elsewhere can only be met by moving them.
    """
    plan, _, _ = solve_assignment(roster, grids, _households(households), rules=rules,
                                  keep_current=keep_current, candidates=candidates, method=method)
    return evaluate(roster, grids, households, dict(plan.grids_of), rules=rules, solver=plan.report,
                    open_cases=open_cases)


def check_staff(roster: Roster, grids: gpd.GeoDataFrame, households: pd.Series | pd.DataFrame, *,
                rules: StaffingRules = DEFAULT_STAFFING, open_cases: pd.Series | None = None) -> StaffingResult:
    """Judge the roster's own ``grid_id`` column against the rule, moving nobody."""
    known = set(grids.index.astype(str))
    pairs = {str(s): tuple(g for g in split_grid_ids(v) if g in known)
             for s, v in roster.frame["grid_id"].items()}
    return evaluate(roster, grids, households, {s: g for s, g in pairs.items() if g}, rules=rules,
                    open_cases=open_cases)


Action = Literal["assign", "move", "remove"]


def edit_staff(result: StaffingResult, roster: Roster, grids: gpd.GeoDataFrame,
               households: pd.Series | pd.DataFrame, *, action: Action, staff_id: str,
               grid_id: str | None = None, from_grid: str | None = None, force: bool = False,
               open_cases: pd.Series | None = None) -> StaffingResult:
    """Apply one manual change and return the re-checked result.

    ``assign`` adds a grid to an unassigned person (or a second grid to a
    part-timer, up to ``part_time_max_grids``); ``move`` moves a person from
    ``from_grid`` (default: their only grid) to ``grid_id``; ``remove`` takes
    them out of ``from_grid`` (default: every grid). Refused (``InputError``):
    an unknown person or grid, a role the grid's rule has no place for, a grid
    whose places for the role are full (unless ``force``), a full-timer given a
    second grid.
    """
    rules = result.rules
    sid = str(staff_id)
    if sid not in roster.frame.index.astype(str):
        raise InputError("no such person in the roster", value=sid, feature_id=sid,
                         layer="staff", code="err.staffing.unknown_person", remedy="use a staff_id from the roster")
    pairs = {s: tuple(g) for s, g in result.pairs.items()}
    mine = list(pairs.get(sid, ()))
    removed: set[str] = set(result.removed) - {sid}
    if action == "remove":
        if from_grid is not None and from_grid not in mine:
            raise InputError("the person does not serve this grid", value=from_grid, feature_id=sid,
                             layer="staff", code="err.staffing.not_member", remedy="pick one of the person's grids",
                             grid=from_grid)
        mine = [g for g in mine if from_grid is not None and g != from_grid]
        if not mine:
            removed.add(sid)
    else:
        if grid_id is None or grid_id not in set(grids.index.astype(str)):
            raise InputError("no such grid in the grids layer", value=grid_id, feature_id=sid,
                             layer="staff", code="err.staffing.unknown_grid_edit", remedy="use a grid code of the grids layer",
                             grid=grid_id)
        role = str(roster.frame.at[sid, "role"])
        employment = str(roster.frame.at[sid, "employment"])
        kind = str(grids.at[grid_id, "kind"]) if "kind" in grids.columns else "basic"
        rule = rules.for_kind(kind).role(role)
        if rule is None or rule.max_count == 0:
            raise InputError(f"a {kind} grid has no place for the role {role}", value=role, feature_id=sid,
                             layer="staff", code="err.staffing.role_not_in_grid", remedy="choose a person of another role",
                             grid=grid_id, role=_role_text(role))
        if grid_id in mine:
            raise InputError("the person already serves this grid", value=grid_id, feature_id=sid,
                             layer="staff", code="err.staffing.already_member", remedy="pick another grid", grid=grid_id)
        if action == "move":
            if from_grid is None and len(mine) > 1:
                raise InputError("the person serves several grids: say which one they leave", value=";".join(mine),
                                 feature_id=sid, layer="staff", code="err.staffing.which_grid",
                                 remedy="give the grid they leave (from_grid)")
            leave = from_grid if from_grid is not None else (mine[0] if mine else None)
            mine = [g for g in mine if g != leave]
        limit = rules.part_time_max_grids if employment == "part_time" else 1
        if len(mine) + 1 > limit:
            raise InputError(f"a {employment.replace('_', '-')} person may serve {limit} grid(s)",
                             value=";".join([*mine, grid_id]), feature_id=sid, layer="staff", code="err.staffing.too_many_grids",
                             remedy="move the person instead of adding a grid", limit=limit)
        if rule.counts(employment) and not force:
            counted = sum(1 for s, gs in pairs.items() if grid_id in gs and s != sid
                          and str(roster.frame.at[s, "role"]) == role
                          and rule.counts(str(roster.frame.at[s, "employment"])))
            if counted >= rule.max_count:
                raise InputError(f"grid already has {counted} {role}(s), the rule's maximum", value=grid_id,
                                 feature_id=sid, layer="staff", code="err.staffing.grid_full",
                                 remedy="move someone out first, or force the change", grid=grid_id, role=_role_text(role),
                                 limit=rule.max_count)
        mine = sorted([*mine, grid_id])
    pairs[sid] = tuple(mine)
    return evaluate(roster, grids, households, pairs, rules=rules, solver=result.solver, open_cases=open_cases,
                    removed=frozenset(removed))


def _role_text(role: str) -> Tr | str:
    """A role for a message: translated when the catalogue knows it (网格长 / leader), else as written."""
    key = f"staffing.role.{role}"
    return Tr(key) if key in STRINGS else role
