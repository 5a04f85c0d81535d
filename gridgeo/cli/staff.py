"""``staff``: assign grid staff optimally, check a roster's grids, or edit by hand.

With ``--store PATH [--version V]`` the grids are those of a plan version in the
workspace and the staffing is saved with the plan: ``staff assign`` saves the
assignment as a new version (same grids, parent = V) and prints its id on the
last line; ``staff move|add|remove --person ID`` change one person, validated
against the rule, and save a new version the same way; ``staff show`` prints the
staffing a version carries; ``staff check`` judges it. A version without saved
staffing is judged by the roster's own ``grid_id`` column.

Summary lines are in ``--lang`` (default zh). Phone numbers are masked
(138****1234) in every file and line this command writes unless
``--show-phones`` is given (which unmasks only the roster workbook).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
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
from gridgeo.plans.store import DEFAULT_WORKSPACE, Workspace
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
    """The summary lines of ``assign`` and ``check`` in ``lang`` (no names, no phone numbers)."""
    s = result.summary
    print(t("staffing.cli.summary", lang, grids=s["grids"], staffed=s["staffed_grids"],
            share=f"{s['staffed_share']:.1%}", people=s["people"], assigned=s["assigned"],
            unassigned=s["unassigned"], moved=s["moved"], per_1000=f"{s['people_per_1000_households']:.2f}"))
    role = {r: t(f"staffing.role.{r}", lang) for r in ("leader", "worker", "instructor", "party_secretary")}
    sep = "，" if lang == "zh" else ", "
    if s["shortage"]:
        print(t("staffing.cli.shortage", lang, what=sep.join(f"{role.get(r, r)} {n}" for r, n in s["shortage"].items())))
        for _, row in result.shortage.iterrows():
            print(t("staffing.cli.shortage_line", lang, grid=row["grid_id"], role=role.get(row["role"], row["role"]),
                    n=row["missing"], households=row["households"]))
    else:
        print(t("staffing.cli.shortage_none", lang))
    if s["surplus"]:
        print(t("staffing.cli.surplus", lang, what=sep.join(f"{role.get(r, r)} {n}" for r, n in s["surplus"].items())))
    for _, row in result.surplus.iterrows():
        print(t("staffing.cli.unassigned_line", lang, staff_id=row["staff_id"], role=role.get(row["role"], row["role"]),
                reason=t("staffing.reason." + row["reason"], lang)))
    flags = {f: n for f, n in s["flags"].items() if n}
    if flags:
        print(t("staffing.cli.flags", lang, what=sep.join(f"{t('staffing.flag.' + f, lang)} {n}"
                                                           for f, n in flags.items())))
    if result.solver is not None:
        r = result.solver
        print(t("staffing.cli.solver", lang, status=t(f"staffing.cli.status.{r.status}", lang), gap=f"{r.gap:g}",
                method=t("staffing.cli.method." + ("highs" if r.method.startswith("lexicographic LP") else "flow"),
                         lang), rounds=r.rounds, arcs=f"{r.arcs:,}", pairs=f"{r.pairs_priced:,}",
                seconds=f"{r.seconds:.2f}"))


_ROLE_ORDER = {"leader": 0, "worker": 1, "instructor": 2, "party_secretary": 3}


@dataclass(frozen=True)
class _Stored:
    """A plan version of the workspace with what the staffing commands need."""

    ws: Workspace
    version: str
    grids: gpd.GeoDataFrame
    households: pd.DataFrame
    saved: pd.DataFrame | None


def _stored(args: argparse.Namespace) -> _Stored:
    ws = Workspace.open(args.store)
    plan = ws.load(args.plan_version)
    assert plan.version_id is not None
    households = grid_households(plan.grids, ws.district().buildings, plan.assignments)
    return _Stored(ws, plan.version_id, plan.grids, households, ws.table(plan.version_id, "staffing"))


def _source_district(args: argparse.Namespace, ws: Workspace | None) -> io.District | None:
    """``--district``, else the folder the workspace was made from (for its staff and cases), if still there."""
    if args.district:
        return io.read_district(args.district)
    source = ws.info().get("source", "") if ws is not None else ""
    if not args.roster and source and Path(source).is_dir():
        return io.read_district(source)
    return None


def _store_roster(args: argparse.Namespace, st: _Stored, district: io.District | None) -> sf.Roster:
    """The roster with the version's saved staffing as everyone's current grids (when it has one)."""
    lang: Lang = args.lang
    if st.saved is None:
        return _roster(args, st.grids, district)
    args_warn = argparse.Namespace(**{**vars(args), "command_name": "assign"})  # the file's own grid_id is not used
    roster, missing = sf.roster_with_staffing(_roster(args_warn, st.grids, district), st.saved, st.grids)
    print(t("staffing.cli.source_saved", lang, version=st.version, n=st.saved["staff_id"].nunique()), file=sys.stderr)
    if missing:
        print(t("staffing.cli.saved_missing", lang, version=st.version, n=len(missing), people=", ".join(missing)),
              file=sys.stderr)
    return roster


def _author(args: argparse.Namespace) -> str:
    if getattr(args, "author", None):
        return str(args.author)
    try:
        return os.environ.get("GRIDGEO_AUTHOR") or getpass.getuser() or "cli"
    except (KeyError, OSError):
        return "cli"


def _save(args: argparse.Namespace, st: _Stored, result: sf.StaffingResult, note: str) -> int:
    """Save the staffing as a new version on ``st.version``; print it, the id alone last."""
    vid = st.ws.save_tables(st.version, {"staffing": sf.staffing_to_table(result)}, author=_author(args),
                            note=args.note or note, branch=bool(args.branch))
    print(t("staffing.cli.saved", args.lang, version=vid, base=st.version))
    print(vid)
    return 0


def _cmd_assign(args: argparse.Namespace) -> int:
    if args.store:
        st = _stored(args)
        district = _source_district(args, st.ws)
        roster = _store_roster(args, st, district)
        grids, households, cases = st.grids, st.households, _cases(args, st.grids, district)
    else:
        if not args.out:
            raise InputError("nowhere to put the result: give --out DIR or --store PATH", code="err.staffing.no_out",
                             remedy="pass --out folder, or --store workspace.gpkg to save it with a plan version")
        grids, households, roster, cases = _inputs(args)
    result = sf.assign_staff(roster, grids, households, rules=_rules(args), keep_current=args.keep_current,
                             open_cases=cases)
    result = _apply_edits(args, result, roster, grids, households, cases)
    _print_summary(result, args.lang)
    if args.out:
        paths = _write(result, Path(args.out), show_phones=args.show_phones, lang=args.lang)
        print(t("staffing.cli.wrote", args.lang, files=", ".join(str(p) for p in paths)), file=sys.stderr)
    if args.store and not args.no_save:
        return _save(args, st, result, f"staff assign: rule {args.rule}, {result.summary['assigned']} assigned, "
                                       f"{result.summary['moved']} moved")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    if args.store:
        st = _stored(args)
        district = _source_district(args, st.ws)
        roster = _store_roster(args, st, district)
        if st.saved is None:
            print(t("staffing.cli.source_roster", args.lang, version=st.version), file=sys.stderr)
        grids, households, cases = st.grids, st.households, _cases(args, st.grids, district)
    else:
        grids, households, roster, cases = _inputs(args)
    result = sf.check_staff(roster, grids, households, rules=_rules(args), open_cases=cases)
    result = _apply_edits(args, result, roster, grids, households, cases)
    _print_summary(result, args.lang)
    if args.out:
        _write(result, Path(args.out), show_phones=args.show_phones, lang=args.lang)
    return 0 if result.summary["staffed_grids"] == result.summary["grids"] else 1


def _cmd_show(args: argparse.Namespace) -> int:
    lang: Lang = args.lang
    st = _stored(args)
    if st.saved is None:
        print(t("staffing.cli.show_none", lang, version=st.version))
        return 0
    table = st.saved
    print(t("staffing.cli.show_head", lang, version=st.version, people=table["staff_id"].nunique(),
            grids=table["grid_id"].nunique()))
    for gid, rows in table.groupby("grid_id", sort=True):
        parts = [f"{t('staffing.role.' + str(r), lang)} " + ", ".join(
                 f"{sid}{'*' if e == 'part_time' else ''}" for sid, e in zip(g["staff_id"], g["employment"]))
                 for r, g in sorted(rows.groupby("role", sort=False), key=lambda rg: _ROLE_ORDER.get(str(rg[0]), 9))]
        print(f"  {gid}  " + ("；" if lang == "zh" else "; ").join(parts))
    if args.roster or args.district:
        district = _source_district(args, st.ws)
        roster = _store_roster(args, st, district)
        result = sf.check_staff(roster, st.grids, st.households, rules=_rules(args),
                                open_cases=_cases(args, st.grids, district))
        _print_summary(result, lang)
    return 0


def _cmd_edit(args: argparse.Namespace) -> int:
    """``staff move|add|remove``: one person, validated against the rule, saved as a new version."""
    action = {"move": "move", "add": "assign", "remove": "remove"}[args.verb if args.verb != "assign-person"
                                                                    else "add"]
    if action != "remove" and not args.to:
        raise InputError("give the target grid (--to)", code="err.staffing.no_person_grid",
                         remedy="e.g. --to 370124001001002")
    st = _stored(args)
    district = _source_district(args, st.ws)
    roster = _store_roster(args, st, district)
    cases = _cases(args, st.grids, district)
    before = sf.check_staff(roster, st.grids, st.households, rules=_rules(args), open_cases=cases)
    result = sf.edit_staff(before, roster, st.grids, st.households, action=action,  # type: ignore[arg-type]
                           staff_id=args.person, grid_id=args.to, from_grid=args.from_grid, force=args.force,
                           open_cases=cases)
    lang: Lang = args.lang
    was = ";".join(before.pairs.get(str(args.person), ())) or "—"
    target = f" {was} -> {args.to}" if action == "move" else (f" -> {args.to}" if args.to else f" ({was})")
    print(t("staffing.cli.edit_ok", lang, action=t(f"staffing.cli.action.{action}", lang), person=args.person,
            target=target))
    _print_summary(result, lang)
    verb = {"assign": "add"}.get(action, action)
    return _save(args, st, result, f"staff {verb} {args.person}{target}")


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
        print(t("staffing.cli.edit_ok", args.lang, action=t(f"staffing.cli.action.{action}", args.lang),
                person=sid, target=f" -> {gid}" if gid else ""), file=sys.stderr)
    return result


def _common(v: argparse.ArgumentParser) -> None:
    """Inputs every ``staff`` command takes: grids from files, a district or a plan version of the store."""
    v.add_argument("--store", default=None,
                   help=f"workspace GeoPackage (e.g. {DEFAULT_WORKSPACE}): use a plan version's grids and save the "
                        "staffing with it")
    v.add_argument("--version", dest="plan_version", default=None,
                   help="plan version id such as v3 (with --store; default: the latest)")
    v.add_argument("--grids", help="grids file (polygons with grid_id); or use --district or --store")
    v.add_argument("--buildings", help="buildings file (households per grid)")
    v.add_argument("--roster", help="staff roster (CSV/XLSX; Chinese or English headers); with --store the "
                                    "default is the staff layer of the district the workspace was made from")
    v.add_argument("--district", help="district folder: its grids, buildings and staff layers; without a "
                                      "grids layer the district is divided with the default rules")
    v.add_argument("--cases", help="cases file: open cases per worker")
    v.add_argument("--rule", choices=sorted(sf.PRESETS), default="default",
                   help="staffing rule: default (1 leader + 2–3 workers), pingyin (2 full-time workers), "
                        "heze (1+N+1 with an instructor)")
    v.add_argument("--part-time-grids", type=int, default=1, help="grids one part-time person may serve")
    v.add_argument("--force", action="store_true", help="allow a change past the rule's maximum")


def _saving(v: argparse.ArgumentParser) -> None:
    v.add_argument("--author", default=None, help="who makes this version (default: $GRIDGEO_AUTHOR or the login)")
    v.add_argument("--note", default="", help="why (saved with the version; default: what changed)")
    v.add_argument("--branch", action="store_true",
                   help="save as a new branch (when someone saved a newer version meanwhile)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``staff`` command: ``assign``, ``check``, ``show``, ``move``, ``add``, ``remove``."""
    p = sub.add_parser("staff", help="grid staff: optimal assignment, roster checks, manual changes")
    verbs = p.add_subparsers(dest="verb", required=True)
    for verb, func, helptext in (
        ("assign", _cmd_assign, "assign the roster to the grids optimally and check every grid (with --store: "
                                "saved as a new plan version, its id printed last)"),
        ("check", _cmd_check, "judge the staffing without re-assigning: the roster's own grid_id column, or the "
                              "staffing saved with a plan version (exit 1 if a grid breaks the rule)"),
    ):
        v = verbs.add_parser(verb, help=helptext)
        _common(v)
        v.add_argument("--move", action="append", metavar="STAFF_ID=GRID_ID", help="move a person (repeatable)")
        v.add_argument("--assign", action="append", metavar="STAFF_ID=GRID_ID", help="add a person to a grid")
        v.add_argument("--remove", action="append", metavar="STAFF_ID", help="take a person out of their grids")
        v.add_argument("--show-phones", action="store_true",
                       help="write full phone numbers into the roster workbook (masked by default)")
        if verb == "assign":
            v.add_argument("--keep-current", action="store_true",
                           help="keep people in their current grid (with --store: the version's saved staffing) "
                                "unless moving them is required")
            v.add_argument("--out", help="folder for staff_assignments.csv, grid_staffing.csv, staff_roster.xlsx "
                                         "(required without --store)")
            v.add_argument("--no-save", action="store_true", help="with --store: print and write, save nothing")
            _saving(v)
        else:
            v.add_argument("--out", help="folder for the same files as assign (optional)")
        v.set_defaults(func=func, command_name=verb)

    v = verbs.add_parser("show", help="print the staffing saved with a plan version (with --roster or "
                                      "--district also its checks)")
    _common(v)
    v.set_defaults(func=_cmd_show, command_name="show", store=str(DEFAULT_WORKSPACE))
    for verb, aliases, helptext in (
        ("move", [], "move a person to another grid (from their only grid, or --from GRID)"),
        ("add", ["assign-person"], "add a person to a grid: an unassigned person, or a part-timer's second grid"),
        ("remove", [], "take a person out of their grids (or only --from GRID)"),
    ):
        v = verbs.add_parser(verb, aliases=aliases, help=helptext + "; validated against the rule and saved as a "
                                                                    "new plan version (id printed last)")
        _common(v)
        v.add_argument("--person", required=True, metavar="STAFF_ID", help="staff id (工号) of the person")
        if verb != "remove":
            v.add_argument("--to", required=True, metavar="GRID_ID", help="target grid id")
        v.add_argument("--from", dest="from_grid", metavar="GRID_ID", help="the grid the person leaves")
        _saving(v)
        v.set_defaults(func=_cmd_edit, command_name="assign", store=str(DEFAULT_WORKSPACE), to=None)


__all__ = ["register"]

