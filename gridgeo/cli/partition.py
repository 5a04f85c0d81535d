"""``partition``: divide every community into grids and write the plan."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gridgeo import io
from gridgeo.export import write_plan
from gridgeo.settings import DEFAULT_RULES, Rules


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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``partition`` command."""
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
