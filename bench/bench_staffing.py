"""Benchmark the staff assignment (`make bench`): the demo and the ten-times city, exact, with the gap.

Inputs are built outside the timer: the demo's default plan (data/demo) with its
371-person roster, and ``make_district(scale=10)`` partitioned with the default
rules plus its generated roster (current grids from ``staff_grid_ids``, as the
demo's). Each case is warmed up once (imports, caches) and timed 3 times; the
timer holds only the library call ``assign_staff`` (solve, prove optimal by
pricing every pair, check every grid). Two cases per district: ``fresh`` (nobody
has a grid yet) and ``keep`` (the roster's current grids kept unless a move is
required). One line per case: wall median and min, CPU median (the process's
own time: the machine is shared), target, PASS/FAIL, solver status and gap.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import highspy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import networkx as nx  # noqa: E402
import scipy  # noqa: E402

from gridgeo import io  # noqa: E402
from gridgeo import staffing as sf  # noqa: E402
from gridgeo.grids import grid_households  # noqa: E402
from gridgeo.partition import partition  # noqa: E402
from gridgeo.synthetic import make_district, staff_grid_ids  # noqa: E402

RUNS = 3
WORKERS = max(1, min(4, os.cpu_count() or 1))


def _case(name: str, grids: gpd.GeoDataFrame, households: object, roster: sf.Roster, target_s: float, *,
          keep: bool) -> bool:
    result = sf.assign_staff(roster, grids, households, keep_current=keep)  # type: ignore[arg-type]   # warm-up
    times, cpu = [], []
    for _ in range(RUNS):
        t0, c0 = time.perf_counter(), time.process_time()
        result = sf.assign_staff(roster, grids, households, keep_current=keep)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med, best, cpu_med = statistics.median(times), min(times), statistics.median(cpu)
    ok = med < target_s
    solver = result.solver
    assert solver is not None
    s = result.summary
    print(f"staffing {name:<14} grids {s['grids']:>5}  people {s['people']:>5}  median {med:6.2f} s  min {best:6.2f} s  "
          f"cpu median {cpu_med:6.2f} s  target < {target_s:g} s  wall {'PASS' if ok else 'FAIL'}, "
          f"cpu {'PASS' if cpu_med < target_s else 'FAIL'}  "
          f"load {os.getloadavg()[0]:.1f}  solver {solver.status}, gap {solver.gap:g}, "
          f"{solver.rounds} rounds, {solver.arcs:,} arcs, {solver.pairs_priced:,} pairs priced; "
          f"staffed {s['staffed_share']:.1%}, shortage {s['shortage']}, unassigned {s['unassigned']}, moved {s['moved']}  "
          f"({os.cpu_count()} cpu, scipy {scipy.__version__}, networkx {nx.__version__}, "
          f"geopandas {gpd.__version__}, highspy {getattr(highspy, '__version__', '1.15.1')})", flush=True)
    return ok


def _fresh(roster: sf.Roster, grids: gpd.GeoDataFrame) -> sf.Roster:
    return sf.roster_from_frame(roster.frame.assign(grid_id=""), grids)


def main() -> int:
    district = io.read_district(ROOT / "data" / "demo")
    plan = partition(district.communities, district.buildings, district.streets, seed=0, workers=WORKERS)
    grids = plan.grids
    households = grid_households(grids, district.buildings, plan.assignments)
    roster = sf.roster_from_frame(district.staff, grids)
    ok = _case("demo fresh", grids, households, _fresh(roster, grids), 2.0, keep=False)
    ok &= _case("demo keep", grids, households, roster, 2.0, keep=True)
    print("building the ten-times city (make_district(scale=10), default partition) …", file=sys.stderr, flush=True)
    city = make_district(seed=0, scale=10)
    plan = partition(city.communities, city.buildings, city.streets, seed=0, workers=WORKERS)
    assert city.staff is not None
    staff = city.staff.assign(grid_id=staff_grid_ids(city.staff, plan.grids))
    roster = sf.roster_from_frame(staff, plan.grids)
    households = grid_households(plan.grids, city.buildings, plan.assignments)
    ok &= _case("city x10 fresh", plan.grids, households, _fresh(roster, plan.grids), 30.0, keep=False)
    ok &= _case("city x10 keep", plan.grids, households, roster, 30.0, keep=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
