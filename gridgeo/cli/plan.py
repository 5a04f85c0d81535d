"""``plan``: versions of a district's grids in a GeoPackage workspace.

``plan create|import|list|show|diff|export|restore`` live here. Hand edits
(``plan move|merge|split|lock|rebalance``) live in ``gridgeo.cli.plan_edit``:
when that module exists, its ``register_edit(plan_sub)`` is called with the
``plan`` subparsers, and may use :func:`add_store_args`, :func:`open_store`,
:func:`author` and :func:`print_saved` from here. Every command that saves
prints the new version id on its last line, alone, for scripts.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import importlib.util
import json
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridgeo import io
from gridgeo.cli import _lang, progress_printer
from gridgeo.errors import InputError
from gridgeo.export import assignments_csv, grids_geojson
from gridgeo.plans.diff import diff
from gridgeo.plans.evaluate import evaluate
from gridgeo.plans.imports import import_grids, import_table
from gridgeo.plans.model import PlanVersion
from gridgeo.plans.store import DEFAULT_WORKSPACE, Workspace
from gridgeo.plans.tables import (ASSIGNMENT_HEADERS_ZH, GRID_HEADERS_ZH, assignments_table, grids_table,
                                  local_dates, xlsx_bytes)
from gridgeo.settings import DEFAULT_RULES

__all__ = ["register", "add_store_args", "open_store", "author", "print_saved", "write_export", "FORMATS"]

FORMATS = ("geojson", "gpkg", "csv", "xlsx")


# ----------------------------------------------------------------------------- helpers for plan_edit too

def add_store_args(p: argparse.ArgumentParser, *, version: bool = True) -> None:
    """``--store`` (and ``--version``) as every plan command takes them."""
    p.add_argument("--store", default=str(DEFAULT_WORKSPACE),
                   help=f"workspace GeoPackage (default {DEFAULT_WORKSPACE})")
    if version:
        p.add_argument("--version", dest="plan_version", default=None,
                       help="plan version id such as v3 (default: the latest)")


def add_save_args(p: argparse.ArgumentParser) -> None:
    """``--author``, ``--note``, ``--name``, ``--branch`` for commands that save a version."""
    p.add_argument("--author", default=None, help="who makes this version (default: the login name)")
    p.add_argument("--note", default="", help="why (shown in the version list)")
    p.add_argument("--name", default="", help="short name of the version")
    p.add_argument("--branch", action="store_true",
                   help="save as a new branch (when someone saved a newer version meanwhile)")


def open_store(args: argparse.Namespace, *, district_dir: str | None = None) -> Workspace:
    """Open ``args.store``; create it from ``district_dir`` when missing."""
    path = Path(args.store)
    if not path.exists() and district_dir:
        print(f"creating workspace {path} from {district_dir}", file=sys.stderr)
        return Workspace.open(path, create_from=io.read_district(district_dir))
    return Workspace.open(path)


def author(args: argparse.Namespace) -> str:
    """The ``--author`` given, else the login name."""
    if getattr(args, "author", None):
        return str(args.author)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def print_saved(vid: str) -> None:
    """The last line of every saving command: the new version id alone."""
    print(vid)


# ----------------------------------------------------------------------------- commands

def _save(ws: Workspace, plan: PlanVersion, args: argparse.Namespace, *, keep_codes: bool = False) -> str:
    parent = ws.latest()
    return ws.save(plan, parent=parent, author=author(args), note=args.note, name=args.name,
                   branch=bool(args.branch), keep_codes=keep_codes)


def _cmd_create(args: argparse.Namespace) -> int:
    from gridgeo.partition import partition  # heavy: only for this command

    ws = open_store(args, district_dir=args.district)
    d = ws.district()
    rules = DEFAULT_RULES.with_bounds(min_households=args.min, max_households=args.max,
                                      target_households=args.target)

    result = partition(d.communities, d.buildings, d.streets, rules=rules, seed=args.seed,
                       progress=progress_printer(_lang(args)), workers=args.workers)
    plan = PlanVersion(result.grids, result.assignments, rules,
                       meta={"source": "partition", "seed": args.seed, "seconds": round(result.seconds, 2)})
    vid = _save(ws, plan, args)
    m = result.metrics()
    print(f"{m['n_grids']} grids; within bounds (feasible communities) {m['share_within_feasible']:.1%}; "
          f"saved as {vid} in {ws.path}")
    print_saved(vid)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    ws = open_store(args, district_dir=args.district)
    d = ws.district()
    if args.grids:
        plan = import_grids(d, args.grids)
    else:
        latest = ws.latest()
        reference = ws.load(latest).grids if latest else d.grids
        plan = import_table(d, args.table, grids=reference)
    vid = _save(ws, plan, args, keep_codes=True)
    ev = evaluate(ws.load(vid), d)
    m = ev.metrics
    print(f"imported {m['n_grids']} grids, {m['households']} households; within bounds "
          f"{m['share_within_feasible']:.1%}; {m['grids_out_of_bounds']} grids out of bounds")
    print_saved(vid)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    ws = open_store(args)
    table = ws.versions()
    if args.json:
        print(local_dates(table.reset_index()).to_json(orient="records", force_ascii=False))
        return 0
    if table.empty:
        print("no versions yet")
        return 0
    for vid, row in table.iterrows():
        head = "*" if row["head"] else " "
        when = row["created_at"].strftime("%Y-%m-%d %H:%M") if pd.notna(row["created_at"]) else ""
        print(f"{head}{vid:<6} {when}  {row['branch']:<12} parent {row['parent'] or '—':<6} "
              f"{row['grids']:>5} grids {row['households']:>8} hh  retired {row['retired']:>3}  "
              f"{row['author']}  {row['name']}  {row['note']}"
              + (f"  [{row['tables']}]" if row.get("tables") else ""))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    ws = open_store(args)
    plan = ws.load(args.plan_version)
    ev = evaluate(plan, ws.district())
    if args.json:
        print(json.dumps({"version": plan.version_id, "metrics": ev.metrics,
                          "grids": json.loads(ev.grids.reset_index().to_json(orient="records", force_ascii=False))},
                         ensure_ascii=False))
        return 0
    print(f"{plan.version_id}  {plan.name}  by {plan.author}  parent {plan.parent or '—'}  {plan.note}")
    for key, value in ev.metrics.items():
        print(f"  {key:<24} {value:.3f}" if isinstance(value, float) else f"  {key:<24} {value}")
    cols = ["community", "kind", "households", "buildings", "units", "status", "contiguous", "polsby_popper",
            "street_share", "flags"]
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(ev.grids[cols].round(3).to_string())
    retired = plan.meta.get("retired", {})
    if retired:
        print(f"retired by this version: {', '.join(sorted(retired))}")
    tables = ws.tables(plan.version_id)
    if "staffing" in tables:
        staff = tables["staffing"]
        print(f"staffing saved with this version: {staff['staff_id'].nunique()} people in "
              f"{staff['grid_id'].nunique()} grids (python -m gridgeo staff show --store {args.store} "
              f"--version {plan.version_id})")
    else:
        print("no staffing saved with this version (python -m gridgeo staff assign --store …)")
    for name in sorted(set(tables) - {"staffing"}):
        print(f"attached table {name}: {len(tables[name])} rows")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    ws = open_store(args)
    result = diff(ws.load(args.a), ws.load(args.b))
    s = result.summary()
    print(f"{args.a} -> {args.b}: {s['added']} added, {s['retired']} retired, {s['changed']} changed, "
          f"{s['unchanged']} unchanged; {s['buildings_moved']} buildings moved ({s['households_moved']} households)")
    for code, row in result.grids[result.grids["status"] != "unchanged"].iterrows():
        print(f"  {row['status']:<8} {code}  {row['households_a']:>5} -> {row['households_b']:>5}")
    for row in result.moved.itertuples():
        units = f" units {row.unit_range_b or row.unit_range_a}" if (row.unit_range_a or row.unit_range_b) else ""
        print(f"  moved {row.building_id}{units}: {row.from_grid or '(new)'} -> {row.to_grid or '(dropped)'} "
              f"{row.households} households")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "diff_grids.geojson").write_bytes(grids_geojson(result.grids))
        (out / "moved.csv").write_bytes(assignments_csv(result.moved))
        print(f"wrote {out / 'diff_grids.geojson'} and {out / 'moved.csv'}", file=sys.stderr)
    return 0


def write_export(plan: PlanVersion, district: io.District, fmt: str, out_dir: str | Path) -> list[Path]:
    """Write ``grids.<fmt>`` and ``assignments.<fmt>`` of ``plan`` into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grids = grids_table(plan, district)
    rows = assignments_table(plan, district)
    if fmt == "geojson":
        paths = [out / "grids.geojson", out / "assignments.csv"]
        paths[0].write_bytes(grids_geojson(local_dates(grids)))
        paths[1].write_bytes(assignments_csv(rows))
    elif fmt == "gpkg":
        paths = [out / "grids.gpkg", out / "assignments.csv"]
        for p in paths:
            p.unlink(missing_ok=True)
        gpd.GeoDataFrame(local_dates(grids).reset_index(), geometry="geometry", crs=4326) \
            .to_file(paths[0], layer="grids", driver="GPKG")
        paths[1].write_bytes(assignments_csv(rows))
    elif fmt == "csv":
        paths = [out / "grids.csv", out / "assignments.csv"]
        flat = pd.DataFrame(local_dates(grids).reset_index())
        flat["geometry"] = grids.geometry.to_wkt().to_numpy()
        paths[0].write_bytes(flat.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
        paths[1].write_bytes(assignments_csv(rows))
    elif fmt == "xlsx":
        paths = [out / "grids.xlsx", out / "assignments.xlsx"]
        paths[0].write_bytes(xlsx_bytes(grids, GRID_HEADERS_ZH, sheet="网格"))
        paths[1].write_bytes(xlsx_bytes(rows, ASSIGNMENT_HEADERS_ZH, sheet="楼栋-网格对照表"))
    else:
        raise InputError("unknown export format", value=fmt, code="err.plans.format",
                         remedy=f"use one of: {', '.join(FORMATS)}")
    return paths


def _cmd_export(args: argparse.Namespace) -> int:
    ws = open_store(args)
    plan = ws.load(args.plan_version)
    for p in write_export(plan, ws.district(), args.format, args.out):
        print(p)
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    ws = open_store(args)
    vid = ws.restore(args.restore_version, author=author(args), note=args.note)
    print(f"restored {args.restore_version} as {vid}")
    print_saved(vid)
    return 0


# ----------------------------------------------------------------------------- wiring

def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` command group (and the edit subcommands when ``cli.plan_edit`` exists)."""
    group = sub.add_parser("plan", help="plan versions in a GeoPackage workspace: create, import, compare, export")
    plan_sub = group.add_subparsers(dest="plan_command", required=True)

    p = plan_sub.add_parser("create", help="divide the district into grids and save the plan as a version")
    add_store_args(p, version=False)
    p.add_argument("--district", help="district folder (needed when the workspace does not exist yet)")
    p.add_argument("--min", type=int, default=DEFAULT_RULES.min_households, help="fewest households per grid")
    p.add_argument("--max", type=int, default=DEFAULT_RULES.max_households, help="most households per grid")
    p.add_argument("--target", type=int, default=DEFAULT_RULES.target_households,
                   help="preferred households per grid")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same plan, same codes)")
    p.add_argument("--workers", type=int, default=1, help="processes to use")
    add_save_args(p)
    p.set_defaults(func=_cmd_create)

    p = plan_sub.add_parser("import", help="import existing grids (polygons or a building→grid table) as a version")
    add_store_args(p, version=False)
    p.add_argument("--district", help="district folder (needed when the workspace does not exist yet)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--grids", help="grids polygon layer (GeoJSON, GeoPackage, zipped Shapefile, CSV with WKT)")
    src.add_argument("--table", help="楼栋-网格对照表 (XLSX/CSV: 楼栋编码 or 楼栋名称+小区, 网格编码)")
    add_save_args(p)
    p.set_defaults(func=_cmd_import)

    p = plan_sub.add_parser("list", help="list the saved versions (* = newest of its branch)")
    add_store_args(p, version=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_list)

    p = plan_sub.add_parser("show", help="evaluate one version: per-grid table and plan metrics")
    add_store_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_show)

    p = plan_sub.add_parser("diff", help="compare two versions: grids added/retired/changed, buildings moved")
    add_store_args(p, version=False)
    p.add_argument("a", help="the earlier version, e.g. v1")
    p.add_argument("b", help="the later version, e.g. v2")
    p.add_argument("--out", help="folder for diff_grids.geojson and moved.csv")
    p.set_defaults(func=_cmd_diff)

    p = plan_sub.add_parser("export", help="write grids.* and assignments.* of a version")
    add_store_args(p)
    p.add_argument("--format", choices=FORMATS, default="geojson", help="file format")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_export)

    p = plan_sub.add_parser("restore", help="make an old version current again (saved as a new version)")
    add_store_args(p, version=False)
    p.add_argument("restore_version", metavar="VERSION", help="the version to restore, e.g. v2")
    p.add_argument("--author", default=None, help="who restores it (default: the login name)")
    p.add_argument("--note", default="", help="why")
    p.set_defaults(func=_cmd_restore)

    # The edit engineer's subcommands (move, merge, split, lock, rebalance), when present.
    if importlib.util.find_spec("gridgeo.cli.plan_edit") is not None:
        importlib.import_module("gridgeo.cli.plan_edit").register_edit(plan_sub)
