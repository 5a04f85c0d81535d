"""Key figures of a district: what the home page and ``gridgeo info`` print.

A number shown on a page belongs here, not in ``pages/``, so the CLI and the
tests see the same figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from gridgeo.errors import Problem, render
from gridgeo.i18n import Lang
from gridgeo.io import District
from gridgeo.settings import DEFAULT_RULES, Rules

__all__ = ["district_figures", "community_table", "problem_table", "grids_out_of_bounds", "plan_status"]


def community_table(district: District, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """Tabulate each community's households, buildings and feasible grid counts.

    Feasibility is arithmetic (``Rules.feasible_grid_counts``): a community with
    550 households admits no count of 300–500 grids, and the planner must say
    so before any search runs.

    Returns
    -------
    DataFrame indexed by ``community_id`` (the communities' order) with columns
    ``name street kind households buildings k_min k_max feasible``; ``k_min`` and
    ``k_max`` are nullable integers, missing when no grid count fits.
    """
    comms = district.communities
    b = district.buildings
    grouped = b.groupby("community_id", sort=False)["households"].agg(["sum", "size"])
    households = grouped["sum"].reindex(comms.index, fill_value=0).astype("int64")
    buildings = grouped["size"].reindex(comms.index, fill_value=0).astype("int64")
    ranges = [rules.feasible_grid_counts(int(h)) for h in households]
    table = pd.DataFrame(
        {
            "name": comms["name"].astype(str),
            "street": comms["street"].astype(str) if "street" in comms.columns else "",
            "kind": comms["kind"].astype(str) if "kind" in comms.columns else "urban",
            "households": households,
            "buildings": buildings,
            "k_min": pd.array([r.start if len(r) else pd.NA for r in ranges], dtype="Int64"),
            "k_max": pd.array([r.stop - 1 if len(r) else pd.NA for r in ranges], dtype="Int64"),
            "feasible": [len(r) > 0 for r in ranges],
        },
        index=comms.index,
    )
    table.index.name = comms.index.name or "community_id"
    return table


def district_figures(district: District, rules: Rules = DEFAULT_RULES) -> dict[str, Any]:
    """Return the district's key figures as plain numbers.

    Keys: ``communities buildings households feasible_communities
    infeasible_communities streets stations problems`` (``streets``/``stations``
    are None when the layer is absent, so "0" never means "not loaded").
    """
    table = community_table(district, rules)
    return {
        "communities": int(len(district.communities)),
        "buildings": int(len(district.buildings)),
        "households": int(district.buildings["households"].sum()),
        "feasible_communities": int(table["feasible"].sum()),
        "infeasible_communities": int((~table["feasible"]).sum()),
        "streets": None if district.streets is None else int(len(district.streets)),
        "stations": None if district.stations is None else int(len(district.stations)),
        "problems": len(district.problems),
    }


def problem_table(problems: Sequence[Problem], *, max_ids: int = 20, lang: Lang = "en") -> pd.DataFrame:
    """Group load problems by code: how many, which ids, one example message (in ``lang``).

    The ids are what a user searches for in their own file, so they are listed
    (the first ``max_ids``, then "…and n more" / "等 n 个").
    """
    rows: dict[str, dict[str, Any]] = {}
    for p in problems:
        row = rows.setdefault(p.code, {"code": p.code, "severity": p.severity, "count": 0,
                                       "ids": [], "message": render(p, lang)})
        row["count"] += p.count
        ids = list(p.ids) or ([str(p.feature_id)] if p.feature_id not in (None, "") else [])
        row["ids"].extend(i for i in map(str, ids) if i not in row["ids"])
    out = []
    for row in rows.values():
        ids = row["ids"]
        shown = ", ".join(ids[:max_ids])
        if len(ids) > max_ids:
            shown += f" …and {len(ids) - max_ids} more" if lang == "en" else f" 等另 {len(ids) - max_ids} 个"
        out.append({**row, "ids": shown, "n_ids": len(ids)})
    columns = ["code", "severity", "count", "n_ids", "ids", "message"]
    return pd.DataFrame(out, columns=columns)


def grids_out_of_bounds(grids: pd.DataFrame, communities: pd.DataFrame | None = None) -> pd.DataFrame:
    """List the grids whose households are outside the bounds, per community.

    ``grids`` needs ``community_id`` and ``status`` (under/within/over, as a plan
    gives them); ``communities`` (optional) gives the names.

    Returns
    -------
    DataFrame indexed by ``community_id`` (communities with at least one such grid,
    in the order they first appear), columns ``name``, ``under``, ``over`` (counts),
    ``grids`` (list of ``(grid_id, status, households)``). Empty when every grid is within.
    """
    cols = ["name", "under", "over", "grids"]
    if "status" not in grids.columns or grids.empty:
        return pd.DataFrame(columns=cols)
    out = grids[grids["status"].isin(["under", "over"])]
    rows: dict[str, dict[str, Any]] = {}
    names = (communities["name"].astype(str) if communities is not None and "name" in communities.columns
             else pd.Series(dtype=str))
    households = out["households"] if "households" in out.columns else pd.Series(pd.NA, index=out.index)
    for gid, cid, status, h in zip(out.index.astype(str), out["community_id"].astype(str), out["status"],
                                   households):
        row = rows.setdefault(cid, {"name": str(names.get(cid, cid)), "under": 0, "over": 0, "grids": []})
        row[str(status)] += 1
        row["grids"].append((gid, str(status), None if pd.isna(h) else int(h)))
    table = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    table.index.name = "community_id"
    return table


def plan_status(report: pd.DataFrame, grids: pd.DataFrame) -> pd.Series:
    """The truthful state of each community in a plan: ``ok``, ``grids_out`` or ``infeasible``.

    ``infeasible``: no grid count fits the bounds (the report's ``feasible`` is False);
    ``grids_out``: a count fits but at least one grid is still outside the bounds
    (buildings or compounds could not be divided finely enough); ``ok``: every grid
    is within. A table that ticks "feasible" for the second case tells the user the
    plan is fine when it is not.
    """
    out = grids[grids["status"].isin(["under", "over"])] if "status" in grids.columns else grids.iloc[:0]
    n_out = out.groupby("community_id").size().reindex(report.index, fill_value=0)
    feasible = report["feasible"].astype(bool)
    state = pd.Series("ok", index=report.index, name="status", dtype=object)
    state[feasible & (n_out > 0)] = "grids_out"
    state[~feasible] = "infeasible"
    return state
