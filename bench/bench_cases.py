"""Cases at scale (`make bench`): 1,000,000 generated calls over a year of the ten-times city.

Timed, in a fresh child process per run (so its peak memory is its own):
import from CSV (read + clean + report), grid join, 并单, hotspots (Gi* + FDR
for the year and each month, Mann–Kendall). Targets (issue #18): < 30 s in
all, peak RSS < 3 GB; the page payload of the year's three maps < 5 MB.
Inputs are generated outside the timer; one warm-up run, then three timed runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

N_CASES = 1_000_000
TARGET_S = 30.0
TARGET_RSS_GB = 3.0
TARGET_PAYLOAD_MB = 5.0
GRID_M = 250.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def build_inputs(folder: Path, n: int) -> None:
    """The ten-times city's buildings, square grids of 250 m over them, and ``n`` calls as a CSV export."""
    from gridgeo import crs
    from gridgeo.synthetic import make_district
    from gridgeo.synthetic._cases import CATEGORIES, CHANNELS

    city = make_district(scale=10, with_cases=False)
    buildings = city.buildings
    buildings.to_file(folder / "buildings.gpkg", driver="GPKG")
    metric = crs.metric_crs(buildings)
    pts = buildings.geometry.representative_point().to_crs(metric)
    xy = shapely.get_coordinates(pts.to_numpy())
    x0, y0 = xy.min(axis=0) - 1
    keys = np.unique(np.floor((xy - [x0, y0]) / GRID_M).astype(int), axis=0)
    cells = [shapely.box(x0 + i * GRID_M, y0 + j * GRID_M, x0 + (i + 1) * GRID_M, y0 + (j + 1) * GRID_M)
             for i, j in keys]
    grids = gpd.GeoDataFrame({"grid_id": [f"G{k:05d}" for k in range(len(cells))], "community_id": "C"},
                             geometry=cells, crs=metric).to_crs(4326)
    grids.to_file(folder / "grids.gpkg", driver="GPKG")
    rng = np.random.default_rng(18)
    hh = buildings["households"].to_numpy(dtype=float)
    b = rng.choice(len(buildings), size=n, p=hh / hh.sum())
    bxy = shapely.get_coordinates(buildings.geometry.representative_point().to_numpy())
    lonlat = bxy[b] + rng.normal(0, 0.00004, (n, 2))
    cats = list(CATEGORIES)
    share = np.array([CATEGORIES[c][0] for c in cats])
    start = np.datetime64("2025-11-01T00:00:00")
    created = start + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    closed = created + rng.integers(3600, 10 * 86400, n).astype("timedelta64[s]")
    frame = pd.DataFrame({
        "case_id": [f"C{i:07d}" for i in range(n)],
        "category": np.array(cats, dtype=object)[rng.choice(len(cats), n, p=share / share.sum())],
        "channel": np.array(CHANNELS, dtype=object)[rng.choice(4, n, p=[.42, .30, .17, .11])],
        "urgent": (rng.random(n) < .05).astype(int),
        "created_at": pd.DatetimeIndex(created).strftime("%Y-%m-%dT%H:%M:%S+08:00"),
        "closed_at": pd.DatetimeIndex(closed).strftime("%Y-%m-%dT%H:%M:%S+08:00"),
        "status": "closed",
        "lon": np.round(lonlat[:, 0], 6), "lat": np.round(lonlat[:, 1], 6),
    })
    frame.to_csv(folder / "cases.csv", index=False, encoding="utf-8-sig")
    log(f"inputs: {len(buildings):,} buildings, {len(grids):,} grids, {n:,} calls")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_once(folder: Path, payload: bool) -> dict[str, float]:
    """One timed pipeline; returns seconds per stage, peak RSS and (optionally) the page payload."""
    from gridgeo import cases as C
    from gridgeo import io
    from gridgeo.grids import grid_households

    grids = io.read_grids(folder / "grids.gpkg")
    buildings = io.read_buildings(folder / "buildings.gpkg")
    households = grid_households(grids, buildings)["households"]
    out: dict[str, float] = {}
    cpu0 = _cpu()
    t0 = time.perf_counter()
    result = C.import_cases(C.read_export(folder / "cases.csv"))
    t1 = time.perf_counter()
    joined = C.join_grids(result.cases, grids)
    cases = result.cases.copy()
    for col in ("grid_id", "community_id", "edge_m"):
        cases[col] = joined.table[col].to_numpy()
    t2 = time.perf_counter()
    cases["matter_id"] = C.merge_cases(cases, points=joined.points).to_numpy()
    t3 = time.perf_counter()
    table = C.hotspots(cases, grids, households)
    t4 = time.perf_counter()
    out["cpu_s"] = _cpu() - cpu0
    out.update(import_s=t1 - t0, join_s=t2 - t1, merge_s=t3 - t2, hotspots_s=t4 - t3, total_s=t4 - t0,
               rows_loaded=result.report.rows_loaded, matters=float(cases["matter_id"].nunique()),
               hot=float(table["hotspot"].str.startswith("hot").sum()))
    if payload:
        from gridgeo import maps

        split = C.channel_split(cases, grids.index)
        communities = gpd.GeoDataFrame(geometry=[grids.union_all()], crs=4326,
                                       index=pd.Index(["C"], name="community_id")).assign(name="city")
        layers = maps.case_layers(cases, table, split, communities)
        out["payload_mb"] = sum(maps.payload_bytes(f(layers)) for f in
                                (maps.heat_map, maps.rate_map, maps.hotspot_map)) / 1e6
        out["heat_cells"] = float(len(layers.heat.rows))
        out["cell_m"] = float(layers.heat.cell_m or 0)
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=N_CASES, help="calls to generate")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--payload", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(Path(args.child), args.payload)))
        return 0
    with tempfile.TemporaryDirectory(prefix="gridgeo-bench-cases-") as tmp:
        folder = Path(tmp)
        log(f"building inputs ({args.n:,} calls) …")
        build_inputs(folder, args.n)
        runs = []
        for k in range(args.runs + 1):
            cmd = [sys.executable, __file__, "--child", str(folder)] + (["--payload"] if k == 0 else [])
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                log(f"run {k} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
                return 2
            res = json.loads(done.stdout)
            log(("warm-up " if k == 0 else f"run {k} ") + json.dumps({a: round(b, 2) for a, b in res.items()}))
            if k == 0:
                payload = res
            else:
                runs.append(res)
    import esda
    import geopandas
    import pandas

    versions = f"({os.cpu_count()} cpu, geopandas {geopandas.__version__}, pandas {pandas.__version__}, " \
               f"esda {esda.__version__})"
    ok = True
    for key, label in (("import_s", "import CSV"), ("join_s", "grid join"), ("merge_s", "并单 merge"),
                       ("hotspots_s", "hotspots")):
        vals = [r[key] for r in runs]
        print(f"cases {label:<11} {args.n:,} calls  median {statistics.median(vals):6.2f} s  "
              f"min {min(vals):6.2f} s  {versions}")
    total = [r["total_s"] for r in runs]
    cpu = [r["cpu_s"] for r in runs]
    rss = max(r["peak_rss_gb"] for r in runs)
    for line, passed in (
        (f"cases total        median {statistics.median(total):6.2f} s  min {min(total):6.2f} s  "
         f"(CPU {statistics.median(cpu):.1f} s; load average {os.getloadavg()[0]:.1f})  target < {TARGET_S:.0f} s",
         statistics.median(total) < TARGET_S),
        (f"cases peak memory  {rss:6.2f} GB  target < {TARGET_RSS_GB:.0f} GB", rss < TARGET_RSS_GB),
        (f"cases page payload {payload['payload_mb']:6.2f} MB ({int(payload['heat_cells']):,} heat cells of "
         f"{payload['cell_m']:.0f} m)  target < {TARGET_PAYLOAD_MB:.0f} MB", payload["payload_mb"] < TARGET_PAYLOAD_MB),
    ):
        ok &= passed
        print(f"{line}  {'PASS' if passed else 'FAIL'}  {versions}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
