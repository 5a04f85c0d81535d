"""Benchmark the exports (`make bench`): a GeoPackage of the ten-times city's plan, one community's grid sheets.

Targets (issue 21): GeoPackage of the ten-times city's plan (grids + assignments)
< 5 s; PDF of one community's grid sheets < 10 s. Inputs (the synthetic city and
its plan) are built before any timer; one warm-up, then the median of 3 runs.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import matplotlib  # noqa: E402
import pyogrio  # noqa: E402

from gridgeo import io  # noqa: E402
from gridgeo.export import export_layers  # noqa: E402
from gridgeo.export.sheets import select_grids, sheets_pdf  # noqa: E402
from gridgeo.grids import grid_table  # noqa: E402
from gridgeo.partition import partition  # noqa: E402
from gridgeo.synthetic import make_district  # noqa: E402

RUNS = 3


def timed(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    """Warm up once, then return (median, min) seconds of ``runs`` calls."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def line(case: str, median: float, best: float, target: float, extra: str = "") -> str:
    verdict = "PASS" if median < target else "FAIL"
    return (f"export {case:<34} median {median:6.2f} s  min {best:6.2f} s  target < {target:g} s  {verdict}"
            f"{'  ' + extra if extra else ''}")


def main() -> int:
    print(f"# {os.cpu_count()} cpu, python {platform.python_version()}, geopandas {gpd.__version__}, "
          f"pyogrio {pyogrio.__version__}, GDAL {pyogrio.__gdal_version_string__}, "
          f"matplotlib {matplotlib.__version__}", flush=True)
    city = make_district(scale=10, with_cases=False, with_staff=False)
    plan = partition(city.communities, city.buildings, city.streets, seed=0, workers=os.cpu_count() or 1)
    grids = grid_table(plan.grids, city.buildings, plan.assignments, city.communities)
    with tempfile.TemporaryDirectory(prefix="gridgeo-bench-") as tmp:
        out = Path(tmp) / "city.gpkg"
        median, best = timed(lambda: export_layers({"grids": grids, "assignments": plan.assignments}, "gpkg", out))
        size = out.stat().st_size / 1e6
    print(line(f"gpkg city x10 ({len(grids):,} grids, {len(plan.assignments):,} rows)", median, best, 5.0,
               f"{size:.1f} MB"), flush=True)

    demo = io.read_district(ROOT / "data" / "demo")
    demo_plan = partition(demo.communities, demo.buildings, demo.streets, seed=0, workers=os.cpu_count() or 1)
    demo_grids = grid_table(demo_plan.grids, demo.buildings, demo_plan.assignments, demo.communities)
    biggest = demo_grids.groupby("community_id").size().idxmax()
    ids = select_grids(demo_grids, community_id=str(biggest))
    first = demo_plan.assignments.drop_duplicates("building_id").set_index("building_id")["grid_id"]
    buildings = demo.buildings.assign(grid_id=first.reindex(demo.buildings.index).to_numpy())
    median, best = timed(lambda: sheets_pdf(demo_grids, buildings, ids, streets=demo.streets, staff=demo.staff,
                                            communities=demo.communities, version="bench"))
    print(line(f"pdf sheets, community {biggest} ({len(ids)} pages)", median, best, 10.0), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
