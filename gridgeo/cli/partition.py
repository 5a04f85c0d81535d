"""``partition``: divide every community into grids and write the plan."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from gridgeo import io
from gridgeo.cli import progress_printer, start_up
from gridgeo.errors import GridgeoError, InputError
from gridgeo.export import write_plan
from gridgeo.i18n import t
from gridgeo.settings import DEFAULT_RULES, Rules


def _rules(args: argparse.Namespace) -> Rules:
    return DEFAULT_RULES.with_bounds(min_households=args.min, max_households=args.max,
                                     target_households=args.target)


@contextmanager
def _dask_executor(address: str, lang: Any) -> Iterator[Executor]:
    """An executor running on the Dask distributed cluster at ``address`` (tcp://host:port)."""
    try:
        from dask.distributed import Client
    except ImportError as err:  # pragma: no cover - dask is a pinned dependency
        raise InputError("dask.distributed is not installed", code="err.partition.scheduler", value=address,
                         reason=str(err), remedy="pip install 'dask[distributed]'") from err
    try:
        client = Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError(f"cannot reach the Dask scheduler {address}: {err}", code="err.partition.scheduler",
                         value=address, reason=str(err),
                         remedy="start the scheduler and check the address tcp://host:port, or drop --scheduler")
    try:
        n = len(client.scheduler_info().get("workers", {}))
        print(t("partition.cli.scheduler", lang, address=address, workers=n), file=sys.stderr)
        yield client.get_executor()  # type: ignore[no-untyped-call]
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _cmd_partition(args: argparse.Namespace) -> int:
    rules = _rules(args)
    with start_up():
        from gridgeo.partition import partition, warm  # heavy: imported only for this command
        if not args.scheduler:
            warm()   # numba's compiled search, loaded once here (local workers fork with it)

    lang = args.lang
    # Warnings (snapped buildings, repaired geometries …) are not caught here: ``cli.main``
    # catches every warning of the run and prints each once, rendered in ``lang``, on stderr.
    communities = io.read_communities(args.communities, coords=args.coords)
    buildings = io.read_buildings(args.buildings, communities=communities, coords=args.coords)
    streets = io.read_streets(args.streets, coords=args.coords) if args.streets else None

    progress = progress_printer(lang)
    if args.scheduler:
        with _dask_executor(args.scheduler, lang) as ex:
            try:
                result = partition(communities, buildings, streets, rules=rules, seed=args.seed,
                                   progress=progress, executor=ex)
            except GridgeoError:
                raise
            except Exception as err:  # noqa: BLE001  (what the cluster raised: a worker without gridgeo …)
                reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                raise InputError(f"the Dask cluster {args.scheduler} could not run gridgeo's tasks: {reason}",
                                 code="err.partition.cluster", value=args.scheduler, reason=reason,
                                 remedy="install the same gridgeo and packages on the scheduler and every worker, "
                                        "or drop --scheduler") from err
    else:
        result = partition(communities, buildings, streets, rules=rules, seed=args.seed,
                           progress=progress, workers=args.workers)
    zero = int((buildings["households"] == 0).sum())
    print(t("partition.cli.buildings", lang, n=len(buildings), zero=zero))
    out = Path(args.out)
    write_plan(result.grids, result.assignments, out)
    report = result.report
    explain = "explanation_zh" if lang == "zh" else "explanation_en"
    problems = 0
    for cid, row in report.iterrows():
        status = str(row["status"])
        mark = "ok " if status in ("ok", "empty") else "!! "
        if status not in ("ok", "empty", "infeasible"):
            problems += 1
        print(mark + t("partition.cli.community", lang, community=cid, households=int(row["households"]),
                       grids=int(row["grids"]), status=t("partition.status." + status, lang),
                       explanation=row[explain]))
    m = result.metrics()
    summary = t("partition.cli.summary", lang, grids=m["n_grids"], within=f"{m['share_within_feasible']:.1%}",
                pp=f"{m['pp_mean']:.2f}", seconds=f"{m['seconds']:.1f}", out=out)
    if streets is not None and len(streets):
        summary += "; " + t("partition.cli.streets", lang, share=f"{m['street_share']:.1%}")
    print(summary)
    if problems:
        print(t("partition.cli.not_ok", lang, n=problems))
        return 1
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
    p.add_argument("--scheduler", help="run the communities on a Dask distributed cluster (tcp://host:port); "
                                       "same plan as a local run with the same seed")
    p.add_argument("--out", required=True, help="folder for grids.geojson and assignments.csv")
    p.set_defaults(func=_cmd_partition)
