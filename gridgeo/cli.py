"""Command line: ``python -m gridgeo …`` does what the app does.

Exit codes: 0 ok, 1 checked and found problems (``validate``), 2 unusable
input (a ``GridgeoError``: one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gridgeo import __version__, io
from gridgeo.errors import GridgeoError
from gridgeo.export import write_plan
from gridgeo.schema import LAYERS
from gridgeo.settings import DEFAULT_RULES, Rules


def _cmd_validate(args: argparse.Namespace) -> int:
    communities = io.read_communities(args.communities) if args.communities else None
    status = 0
    report: list[dict[str, Any]] = []
    for path in args.files:
        try:
            checked = io.check_file(args.layer, path, gpkg_layer=args.layer_name, coords=args.coords,
                                    communities=communities)
        except GridgeoError as err:  # unreadable file: still report the others
            report.append({"file": str(path), "ok": False, "errors": [str(err)], "warnings": []})
            status = 1
            continue
        n = 0 if checked.frame is None else len(checked.frame)
        report.append({"file": str(path), "ok": checked.ok, "features": n,
                       "errors": [p.render(str(path)) for p in checked.errors],
                       "warnings": [p.render(str(path)) for p in checked.warnings]})
        status = status or (0 if checked.ok else 1)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return status
    for r in report:
        head = "OK" if r["ok"] else "PROBLEMS"
        count = f", {r['features']} {args.layer}" if r.get("features") is not None and r["ok"] else ""
        print(f"{head}: {r['file']}{count} ({len(r['errors'])} errors, {len(r['warnings'])} warnings)")
        for line in r["errors"]:
            print(f"  error: {line}")
        for line in r["warnings"]:
            print(f"  warning: {line}")
    return status


def _rules(args: argparse.Namespace) -> Rules:
    return DEFAULT_RULES.with_bounds(min_households=args.min, max_households=args.max,
                                     target_households=args.target)


def _cmd_partition(args: argparse.Namespace) -> int:
    rules = _rules(args)
    from gridgeo.partition import partition  # heavy: imported only for this command

    communities = io.read_communities(args.communities, coords=args.coords)
    buildings = io.read_buildings(args.buildings, communities=communities, coords=args.coords)
    streets = io.read_streets(args.streets, coords=args.coords) if args.streets else None

    def progress(done: int, total: int, community_id: str) -> None:
        print(f"\r{done}/{total} communities ({community_id})", end="", file=sys.stderr, flush=True)

    result = partition(communities, buildings, streets, rules=rules, seed=args.seed,
                       progress=progress, workers=args.workers)
    print(file=sys.stderr)
    out = Path(args.out)
    write_plan(result.grids, result.assignments, out)
    report = result.report
    explain = "explanation_zh" if args.lang == "zh" else "explanation_en"
    for cid, row in report.iterrows():
        mark = "ok " if row["feasible"] else "!! "
        print(f"{mark}{cid}  {int(row['households']):>6} households  {int(row['grids']):>3} grids  "
              f"{row[explain]}")
    m = result.metrics()
    print(f"{m['n_grids']} grids; within bounds (feasible communities) {m['share_within_feasible']:.1%}; "
          f"Polsby–Popper mean {m['pp_mean']:.2f}; along streets {m['street_share']:.1%}; "
          f"{m['seconds']:.1f} s -> {out}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from gridgeo.synthetic import write_district

    path = write_district(args.out, seed=args.seed, scale=args.scale, with_cases=not args.no_cases)
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (one subcommand per library area)."""
    parser = argparse.ArgumentParser(prog="python -m gridgeo",
                                     description="gridgeo: grid planning for urban community governance")
    parser.add_argument("--version", action="version", version=f"gridgeo {__version__}")
    parser.add_argument("--lang", choices=["zh", "en"], default="en", help="language of summaries")
    sub = parser.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="check input files and print every problem found")
    v.add_argument("layer", choices=sorted(LAYERS), help="which layer the files hold")
    v.add_argument("files", nargs="+", help="GeoJSON, GPKG, zipped Shapefile, CSV or XLSX files")
    v.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default="wgs84",
                   help="coordinate system of lon/lat in the files (GCJ-02: AMap/Tencent, BD-09: Baidu)")
    v.add_argument("--communities", help="communities file: check that buildings lie in exactly one")
    v.add_argument("--layer-name", help="layer inside a GeoPackage")
    v.add_argument("--json", action="store_true", help="print machine-readable JSON")
    v.set_defaults(func=_cmd_validate)

    p = sub.add_parser("partition", help="divide every community into grids of min–max households")
    p.add_argument("--communities", required=True, help="communities file (polygons)")
    p.add_argument("--buildings", required=True, help="buildings file (polygons or points)")
    p.add_argument("--streets", help="streets file (lines): grid boundaries then follow streets")
    p.add_argument("--min", type=int, default=DEFAULT_RULES.min_households, help="fewest households per grid")
    p.add_argument("--max", type=int, default=DEFAULT_RULES.max_households, help="most households per grid")
    p.add_argument("--target", type=int, default=DEFAULT_RULES.target_households,
                   help="preferred households per grid")
    p.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default="wgs84",
                   help="coordinate system of the input files (GCJ-02: AMap/Tencent, BD-09: Baidu)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same plan)")
    p.add_argument("--workers", type=int, default=1, help="processes to use")
    p.add_argument("--out", required=True, help="folder for grids.geojson and assignments.csv")
    p.set_defaults(func=_cmd_partition)

    d = sub.add_parser("demo", help="write a synthetic demo district (seeded)")
    d.add_argument("--out", default="data/demo", help="output folder")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--scale", type=int, default=1, help="1 = 19 communities; 10 = a city ten times larger")
    d.add_argument("--no-cases", action="store_true", help="skip cases and staff")
    d.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except GridgeoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # e.g. bounds min > max from Rules
        print(f"error: {err}", file=sys.stderr)
        return 2
