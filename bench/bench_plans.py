"""Benchmark the plan store: save and load of a version (demo, ten-times city), import of a building→grid table.

Inputs (partitions, workspaces, the table files) are built outside the timers.
Each case is warmed up once and timed ``RUNS`` times; a save is a real revision
(stable codes matched against its parent, one SQLite transaction).
Targets (issue 16): save/load of a demo version < 1 s, of the ten-times city
< 5 s; import of a 25,000-row building→grid table < 5 s.
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

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridgeo import io  # noqa: E402
from gridgeo.partition import partition  # noqa: E402
from gridgeo.plans.imports import import_table  # noqa: E402
from gridgeo.plans.model import PlanVersion  # noqa: E402
from gridgeo.plans.store import Workspace  # noqa: E402
from gridgeo.plans.tables import ASSIGNMENT_HEADERS_ZH, assignments_table, xlsx_bytes  # noqa: E402
from gridgeo.synthetic import make_district  # noqa: E402

RUNS = 5
#: rows of the imported building→grid table (issue 16: "a 25,000-row table")
TABLE_ROWS = 25_000
WORKERS = max(1, min(2, os.cpu_count() or 1))


def timed(fn: Callable[[], object], runs: int = RUNS) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def line(case: str, times: list[float], target: float, extra: str = "") -> bool:
    med = statistics.median(times)
    ok = med < target
    print(f"{'PASS' if ok else 'FAIL'}  {case:<34} median {med:6.3f} s  min {min(times):6.3f} s  "
          f"target < {target:g} s  ({len(times)} runs{', ' + extra if extra else ''})", flush=True)
    return ok


def table_of(rows: pd.DataFrame, n: int) -> pd.DataFrame:
    """The city's table grown to ``n`` rows the way real ones grow: towers listed by unit range.

    The ten-times city has ~22,500 building rows; whole buildings of several units
    are split into two rows (units ``1-k`` and ``k+1-n``, same grid, households left
    for the import to share out by units) until the table has ``n`` rows. This also
    exercises the import's per-building path for split towers.
    """
    rows = rows.reset_index(drop=True)
    need = n - len(rows)
    whole = rows[(rows["unit_range"] == "") & (rows["units"].fillna(0) >= 2)].index[:max(need, 0)]
    if need > len(whole):
        raise SystemExit(f"cannot grow the table to {n:,} rows: only {len(whole):,} towers to split")
    units = rows.loc[whole, "units"].astype(int)
    first = rows.loc[whole].assign(unit_range=[f"1-{u // 2}" if u > 2 else "1" for u in units],
                                   units=(units // 2).to_numpy(), households="")
    second = rows.loc[whole].assign(unit_range=[f"{u // 2 + 1}-{u}" if u - u // 2 > 1 else str(u) for u in units],
                                    units=(units - units // 2).to_numpy(), households="")
    out = pd.concat([rows.drop(index=whole).astype({"households": object}), first, second])
    return out.sort_index(kind="stable").reset_index(drop=True)


def store_cases(label: str, district: io.District, target: float, folder: Path) -> tuple[bool, PlanVersion]:
    result = partition(district.communities, district.buildings, district.streets, seed=0, workers=WORKERS)
    plan = PlanVersion(result.grids, result.assignments, result.rules, meta={"seed": 0})
    ws = Workspace.open(folder / f"{label}.gpkg", create_from=district)
    ws.save(plan, parent=None, author="bench")
    size = f"{len(plan.grids)} grids, {len(plan.assignments)} assignment rows"
    ok = line(f"save {label}", timed(lambda: ws.save(plan, parent=ws.latest(), author="bench")), target, size)
    latest = ws.latest()
    ok &= line(f"load {label}", timed(lambda: ws.load(latest)), target, size)
    return ok, ws.load(latest)


def main() -> int:
    import numpy
    import pyogrio
    import scipy

    print(f"plans store benchmark: {os.cpu_count()} cpu, python {platform.python_version()}, "
          f"pandas {pd.__version__}, geopandas {gpd.__version__}, shapely {shapely.__version__}, "
          f"pyogrio {pyogrio.__version__}, numpy {numpy.__version__}, scipy {scipy.__version__}; "
          "the machine is shared, so timings are noisy")
    ok = True
    with tempfile.TemporaryDirectory(prefix="gridgeo-bench-plans-") as tmp:
        folder = Path(tmp)
        demo = io.read_district(ROOT / "data" / "demo")
        good, _ = store_cases("demo", demo, 1.0, folder)
        ok &= good
        s = make_district(scale=10, with_cases=False, with_staff=False)
        city = io.District(communities=s.communities, buildings=s.buildings, streets=s.streets,
                           stations=s.stations, name="city x10", synthetic=True)
        good, version = store_cases("city x10", city, 5.0, folder)
        ok &= good
        rows = table_of(assignments_table(version, city), TABLE_ROWS)
        csv_path = folder / "table.csv"
        rows.rename(columns=ASSIGNMENT_HEADERS_ZH).to_csv(csv_path, index=False, encoding="utf-8-sig")
        xlsx_path = folder / "table.xlsx"
        xlsx_path.write_bytes(xlsx_bytes(rows, ASSIGNMENT_HEADERS_ZH, sheet="楼栋-网格对照表"))
        split = int((rows["unit_range"] != "").sum())
        extra = f"{len(rows):,} rows, {rows['building_id'].nunique():,} buildings, {split:,} rows of split towers"
        for fmt, path in (("XLSX", xlsx_path), ("CSV", csv_path)):
            ok &= line(f"import {len(rows):,}-row table ({fmt})",
                       timed(lambda path=path: import_table(city, path, grids=version.grids), runs=3), 5.0, extra)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
