"""``staff``: assign grid staff optimally, check a roster's grids, or edit by hand.

Phone numbers are masked (138****1234) in every file and line this command
writes unless ``--show-phones`` is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gridgeo import io
from gridgeo import staffing as sf
from gridgeo.errors import InputError
from gridgeo.export import write_atomic
from gridgeo.grids import grid_households
from gridgeo.i18n import Lang, t
from gridgeo.tables import csv_bytes


def _inputs(args: argparse.Namespace) -> tuple[gpd.GeoDataFrame, pd.DataFrame, sf.Roster, pd.Series | None]:
    """Grids, households per grid, the checked roster and open cases per grid, from files or a district."""
    district = io.read_district(args.district) if args.district else None
    if args.grids:
        grids = io.read_grids(args.grids)
    elif district is not None and district.grids is not None:
        grids = district.grids
    elif district is not None:
        from gridgeo.partition import partition  # no grids given: the default division of the district

        print("no grids given: dividing the district with the default rules (300–500 households, seed 0)",
              file=sys.stderr)
        result = partition(district.communities, district.buildings, district.streets, seed=0)
        grids, assignments = result.grids, result.assignments
        households = grid_households(grids, district.buildings, assignments)
        return grids, households, _roster(args, grids, district), _cases(args, grids, district)
    else:
        raise InputError("no grids: give --grids FILE or --district DIR", code="err.staffing.no_grids",
                         remedy="pass --grids grids.geojson (and --buildings) or --district folder")
    if args.buildings:
        buildings = io.read_buildings(args.buildings)
    elif district is not None:
        buildings = district.buildings
    else:
        raise InputError("no buildings: give --buildings FILE (households per grid come from them)",
                         code="err.staffing.no_buildings", remedy="pass --buildings buildings.geojson")
    return grids, grid_households(grids, buildings), _roster(args, grids, district), _cases(args, grids, district)


def _roster(args: argparse.Namespace, grids: gpd.GeoDataFrame, district: io.District | None) -> sf.Roster:
    unknown = "warning" if args.command_name == "assign" else "error"
    if args.roster:
        return sf.read_roster(args.roster, grids, unknown_grid=unknown)
    if district is not None and district.staff is not None:
        return sf.roster_from_frame(district.staff, grids, path="staff", unknown_grid=unknown)
    raise InputError("no roster: give --roster FILE", code="err.staffing.no_roster",
                     remedy="pass --roster staff.csv (CSV or XLSX)")


def _cases(args: argparse.Namespace, grids: gpd.GeoDataFrame, district: io.District | None) -> pd.Series | None:
    cases = io.read_cases(args.cases) if getattr(args, "cases", None) else (district.cases if district else None)
    return sf.open_cases_per_grid(cases, grids) if cases is not None else None


def _rules(args: argparse.Namespace) -> sf.StaffingRules:
    rules = sf.preset(args.rule)
    if args.part_time_grids != rules.part_time_max_grids:
        rules = rules.evolve(part_time_max_grids=args.part_time_grids)
    return rules


def _write(result: sf.StaffingResult, out: Path, *, show_phones: bool, lang: Lang) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "staff_assignments.csv": csv_bytes(sf.assignments_table(result), lang=None),   # field names: for scripts
        "grid_staffing.csv": csv_bytes(sf.grid_table(result), lang=None),
        "staff_roster.xlsx": sf.roster_xlsx(result, show_phones=show_phones, lang=lang),
    }
    for name, data in files.items():
        write_atomic(out / name, data)
    return [out / n for n in files]


def _print_summary(result: sf.StaffingResult, lang: Lang) -> None:
    s = result.summary
    print(f"grids {s['grids']}  staffed {s['staffed_grids']} ({s['staffed_share']:.1%})  people {s['people']}  "
          f"assigned {s['assigned']}  unassigned {s['unassigned']}  moved {s['moved']}  "
          f"people per 1,000 households {s['people_per_1000_households']:.2f}")
    role = {r: t(f"staffing.role.{r}", lang) for r in ("leader", "worker", "instructor", "party_secretary")}
    if s["shortage"]:
        print("shortage: " + ", ".join(f"{role.get(r, r)} {n}" for r, n in s["shortage"].items()))
        for _, row in result.shortage.iterrows():
            print(f"  {row['grid_id']}  {role.get(row['role'], row['role'])} -{row['missing']}  "
                  f"({row['households']} households)")
    else:
        print("shortage: none")
    if s["surplus"]:
        print("surplus: " + ", ".join(f"{role.get(r, r)} {n}" for r, n in s["surplus"].items()))
    for _, row in result.surplus.iterrows():
        print(f"  unassigned {row['staff_id']}  {role.get(row['role'], row['role'])}  "
              f"{t('staffing.reason.' + row['reason'], lang)}")
    flags = {f: n for f, n in s["flags"].items() if n}
    if flags:
        print("flags: " + ", ".join(f"{t('staffing.flag.' + f, lang)} {n}" for f, n in flags.items()))
    if result.solver is not None:
        print(f"solver: {result.solver.describe()}")


def _cmd_assign(args: argparse.Namespace) -> int:
    grids, households, roster, cases = _inputs(args)
    result = sf.assign_staff(roster, grids, households, rules=_rules(args), keep_current=args.keep_current,
                             open_cases=cases)
    result = _apply_edits(args, result, roster, grids, households, cases)
    _print_summary(result, args.lang)
    paths = _write(result, Path(args.out), show_phones=args.show_phones, lang=args.lang)
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    grids, households, roster, cases = _inputs(args)
    result = sf.check_staff(roster, grids, households, rules=_rules(args), open_cases=cases)
    result = _apply_edits(args, result, roster, grids, households, cases)
    _print_summary(result, args.lang)
    if args.out:
        _write(result, Path(args.out), show_phones=args.show_phones, lang=args.lang)
    return 0 if result.summary["staffed_grids"] == result.summary["grids"] else 1


def _apply_edits(args: argparse.Namespace, result: sf.StaffingResult, roster: sf.Roster,
                 grids: gpd.GeoDataFrame, households: pd.DataFrame, cases: pd.Series | None) -> sf.StaffingResult:
    edits: list[tuple[str, str, str | None]] = []
    for value in args.move or []:
        sid, _, gid = value.partition("=")
        edits.append(("move", sid, gid))
    for value in args.assign or []:
        sid, _, gid = value.partition("=")
        edits.append(("assign", sid, gid))
    edits += [("remove", sid, None) for sid in args.remove or []]
    for action, sid, gid in edits:
        result = sf.edit_staff(result, roster, grids, households, action=action, staff_id=sid,  # type: ignore[arg-type]
                               grid_id=gid, force=args.force, open_cases=cases)
        print(f"{action} {sid}{' -> ' + gid if gid else ''}: ok", file=sys.stderr)
    return result


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``staff`` command with ``assign`` and ``check``."""
    p = sub.add_parser("staff", help="grid staff: optimal assignment, roster checks, manual changes")
    verbs = p.add_subparsers(dest="verb", required=True)
    for verb, func, helptext in (
        ("assign", _cmd_assign, "assign the roster to the grids optimally and check every grid"),
        ("check", _cmd_check, "judge the roster's own grid_id column without re-assigning (exit 1 if a grid "
                              "breaks the rule)"),
    ):
        v = verbs.add_parser(verb, help=helptext)
        v.add_argument("--grids", help="grids file (polygons with grid_id); or use --district")
        v.add_argument("--buildings", help="buildings file (households per grid)")
        v.add_argument("--roster", help="staff roster (CSV/XLSX; Chinese or English headers)")
        v.add_argument("--district", help="district folder: its grids, buildings and staff layers; without a "
                                          "grids layer the district is divided with the default rules")
        v.add_argument("--cases", help="cases file: open cases per worker")
        v.add_argument("--rule", choices=sorted(sf.PRESETS), default="default",
                       help="staffing rule: default (1 leader + 2–3 workers), pingyin (2 full-time workers), "
                            "heze (1+N+1 with an instructor)")
        v.add_argument("--part-time-grids", type=int, default=1, help="grids one part-time person may serve")
        v.add_argument("--move", action="append", metavar="STAFF_ID=GRID_ID", help="move a person (repeatable)")
        v.add_argument("--assign", action="append", metavar="STAFF_ID=GRID_ID", help="add a person to a grid")
        v.add_argument("--remove", action="append", metavar="STAFF_ID", help="take a person out of their grids")
        v.add_argument("--force", action="store_true", help="allow a change past the rule's maximum")
        v.add_argument("--show-phones", action="store_true",
                       help="write full phone numbers into the roster workbook (masked by default)")
        if verb == "assign":
            v.add_argument("--keep-current", action="store_true",
                           help="keep people in their current grid unless moving them is required")
            v.add_argument("--out", required=True, help="folder for staff_assignments.csv, grid_staffing.csv, "
                                                        "staff_roster.xlsx")
        else:
            v.add_argument("--out", help="folder for the same files as assign (optional)")
        v.set_defaults(func=func, command_name=verb)


__all__ = ["register"]

