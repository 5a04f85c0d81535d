"""Per-grid staffing checks and the district summary, for any grid → people table.

The same functions judge an automatic assignment, a hand-edited one, and a
roster's own ``grid_id`` column (``staff check``), so the numbers always agree.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.grids import locate_buildings
from gridgeo.staffing.rules import StaffingRules

__all__ = ["FLAGS", "STATUS_ORDER", "grid_staffing", "district_summary", "open_cases_per_grid"]

#: Grid flag -> meaning (README and i18n ``staffing.flag.<code>`` say the same).
FLAGS: dict[str, str] = {
    "no_leader": "no grid leader (网格长)",
    "too_many_leaders": "more leaders than the rule allows",
    "too_few_workers": "fewer grid workers than the rule's minimum",
    "too_many_workers": "more grid workers than the rule's maximum",
    "too_few_instructors": "no grid instructor where the rule needs one (Heze 1+N+1)",
    "too_many_instructors": "more instructors than the rule allows",
    "over_household_ratio": "more households per worker than the maximum (default 200)",
    "living_too_far": "a member lives farther from the grid than the maximum (default 2 km)",
}

#: Map status, worst first: short (a role below its minimum), over (above a maximum),
#: warning (ratio or distance), ok.
STATUS_ORDER: tuple[str, ...] = ("short", "over", "warning", "ok")


def _flag(role: str, kind: str) -> str:
    if role == "leader":
        return "no_leader" if kind == "few" else "too_many_leaders"
    return f"too_{kind if kind == 'many' else 'few'}_{role}s"


def open_cases_per_grid(cases: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.Series:
    """Count open cases (no ``closed_at``, status not closed) in each grid; 0 where none."""
    closed = cases["closed_at"].notna() if "closed_at" in cases.columns else pd.Series(False, index=cases.index)
    if "status" in cases.columns:
        closed |= cases["status"].astype(str).str.lower().isin(["closed", "办结", "已办结", "结案", "done"])
    located = locate_buildings(cases[~closed.to_numpy()], grids)
    counts = located.dropna().value_counts()
    return counts.reindex(grids.index.astype(str), fill_value=0).astype(int).rename("open_cases")


def grid_staffing(grids: gpd.GeoDataFrame, households: pd.Series, members: pd.DataFrame,
                  rules: StaffingRules, *, open_cases: pd.Series | None = None) -> pd.DataFrame:
    """One row per grid: who serves it, the ratios, and the rule's flags.

    ``members``: one row per (person, grid): staff_id, grid_id, role, employment,
    distance_m (NaN when the home is unknown). Part-timers a rule does not count
    are listed but fill no place. Returns a frame indexed by ``grid_id`` with
    community_id, kind, households, leaders, workers (counted), workers_full,
    workers_part, one ``n_<role>`` per other rule role, households_per_worker,
    open_cases and open_cases_per_worker (when cases are given),
    max_distance_m, missing (places short, e.g. ``worker 1``), flags, status.
    """
    ids = [str(g) for g in grids.index]
    kinds = [str(k) for k in grids["kind"]] if "kind" in grids.columns else ["basic"] * len(ids)
    community = [str(c) for c in grids["community_id"]] if "community_id" in grids.columns else [""] * len(ids)
    hh = [int(v) for v in households.reindex(ids).fillna(0).astype(int)] if ids else []
    # counts per (grid, role, counted?) and per (grid, role, employment), in one pass each
    kind_of = dict(zip(ids, kinds))
    counted_flags = [
        bool((r := rules.for_kind(kind_of.get(g, "basic")).role(role)) is not None and r.counts(e))
        for g, role, e in zip(members["grid_id"], members["role"], members["employment"])]
    # bool dtype even when empty: an empty object column would select columns, not rows
    m = members.assign(_counted=pd.Series(counted_flags, index=members.index, dtype=bool))
    counted = m[m["_counted"]].groupby(["grid_id", "role"]).size().to_dict()
    listed = m.groupby(["grid_id", "role"]).size().to_dict()
    workers_m = m[m["role"].isin(rules.worker_roles)]
    part = {g: int(n) for g, n in (workers_m["employment"] == "part_time").groupby(workers_m["grid_id"]).sum().items()}
    total = workers_m.groupby("grid_id").size().to_dict()
    people_n = m.groupby("grid_id")["staff_id"].nunique().to_dict()
    far_of = pd.to_numeric(m["distance_m"], errors="coerce").groupby(m["grid_id"]).max().to_dict()
    other_roles = [r for r in rules.roles if r not in ("leader", *rules.worker_roles)]
    rows: list[dict[str, Any]] = []
    for gid, kind, comm, h in zip(ids, kinds, community, hh):
        rule = rules.for_kind(kind)
        have = {r.role: int(counted.get((gid, r.role), 0)) for r in rule.roles}
        workers = sum(int(counted.get((gid, r), 0)) for r in rules.worker_roles)
        flags: list[str] = []
        missing: list[str] = []
        status = "ok"
        for r in rule.roles:
            n = have[r.role]
            if n < r.min_count:
                flags.append(_flag(r.role, "few"))
                missing.append(f"{r.role} {r.min_count - n}")
                status = "short"
            elif n > r.max_count:
                flags.append(_flag(r.role, "many"))
                status = "over" if status == "ok" else status
        per_worker = h / workers if workers else (math.inf if h > 0 else 0.0)
        if per_worker > rules.max_households_per_worker:
            flags.append("over_household_ratio")
        far = float(far_of.get(gid, math.nan))
        if not math.isnan(far) and far > rules.max_distance_m:
            flags.append("living_too_far")
        if status == "ok" and flags:
            status = "warning"
        row: dict[str, Any] = {
            "grid_id": gid, "community_id": comm, "kind": kind, "households": int(h),
            "leaders": have.get("leader", int(listed.get((gid, "leader"), 0))),
            "workers": int(workers),
            "workers_full": int(total.get(gid, 0)) - int(part.get(gid, 0)),
            "workers_part": int(part.get(gid, 0)),
        }
        for name in other_roles:
            row[f"n_{name}"] = have.get(name, int(listed.get((gid, name), 0)))
        row["people"] = int(people_n.get(gid, 0))
        row["households_per_worker"] = round(per_worker, 1) if math.isfinite(per_worker) else math.nan
        if open_cases is not None:
            oc = int(open_cases.get(gid, 0))
            row["open_cases"] = oc
            row["open_cases_per_worker"] = round(oc / workers, 2) if workers else math.nan
        row["max_distance_m"] = round(far) if not math.isnan(far) else math.nan
        row["missing"] = ", ".join(missing)
        row["flags"] = ";".join(flags)
        row["status"] = status
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        out = pd.DataFrame(columns=["grid_id", "households", "leaders", "workers", "flags", "status"])
    return out.set_index("grid_id")


def district_summary(table: pd.DataFrame, assignments: pd.DataFrame, rules: StaffingRules, *,
                     grids: gpd.GeoDataFrame | None = None) -> dict[str, Any]:
    """District figures: staffed share, shortage and surplus by role, people per 1,000 households.

    ``table`` is ``grid_staffing``; ``assignments`` one row per person and grid
    (unassigned people have grid_id ""), with ``moved`` when known.
    """
    grids_n = len(table)
    staffed = int((table["status"].isin(["ok", "warning"])).sum()) if grids_n else 0
    shortage: dict[str, int] = {}
    for miss in table["missing"] if grids_n else []:
        for part in filter(None, str(miss).split(", ")):
            role, n = part.rsplit(" ", 1)
            shortage[role] = shortage.get(role, 0) + int(n)
    people = assignments.drop_duplicates("staff_id")
    assigned_ids = set(assignments.loc[assignments["grid_id"].astype(str) != "", "staff_id"])
    unassigned = people[~people["staff_id"].isin(assigned_ids)]
    reasons = unassigned["reason"] if "reason" in unassigned.columns else pd.Series("places_full", index=unassigned.index)
    surplus = unassigned.loc[reasons == "places_full", "role"].value_counts().astype(int).to_dict()
    by_reason = {str(k): int(v) for k, v in reasons[reasons != ""].value_counts().sort_index().items()}
    households = int(table["households"].sum()) if grids_n else 0
    moved = int(people["moved"].astype(bool).sum()) if "moved" in people.columns else 0
    return {
        "grids": grids_n,
        "staffed_grids": staffed,
        "staffed_share": staffed / grids_n if grids_n else 0.0,
        "people": int(len(people)),
        "assigned": len(assigned_ids),
        "unassigned": int(len(unassigned)),
        "moved": moved,
        "shortage": {k: int(v) for k, v in sorted(shortage.items())},
        "surplus": {str(k): int(v) for k, v in sorted(surplus.items())},
        "unassigned_by_reason": by_reason,
        "households": households,
        "people_per_1000_households": round(1000 * len(assigned_ids) / households, 2) if households else 0.0,
        "flags": {f: int(table["flags"].str.split(";").map(lambda xs, f=f: f in xs).sum()) for f in FLAGS}
        if grids_n else {},
    }
