"""Benchmark service-station coverage (`make bench` runs it after bench/run.py).

Cases (targets from issue #20):
- demo coverage: walking network from the streets, nearest station of every kind for every building,
  households within 300/500/1,000 m per grid, community and district        < 10 s
- ten-times city (``make_district(scale=10)``), the same                      < 60 s
- MCLP k = 5 on the demo (reach 300 m, any kind, street nodes as candidates)   < 10 s, proven optimal
Reference lines: the straight-line fallback, and networkx's multi_source_dijkstra on the same graph.
Grids: a 300 m square lattice over the district (any grids layer takes the same path).
Inputs are built outside the timers; one warm-up, then --runs timed runs; median and min.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import shapely  # noqa: E402

from gridgeo import coverage as cov  # noqa: E402
from gridgeo import crs as gcrs  # noqa: E402
from gridgeo import io  # noqa: E402
from gridgeo.synthetic import make_district  # noqa: E402

REACHES = (300, 500, 1000)


def lattice(buildings: gpd.GeoDataFrame, size_m: float = 300.0) -> gpd.GeoDataFrame:
    """Square grids of ``size_m`` over the buildings, index grid_id (EPSG:4326)."""
    metric = gcrs.metric_crs(buildings)
    x0, y0, x1, y1 = buildings.to_crs(metric).total_bounds
    xs, ys = np.arange(x0, x1 + size_m, size_m), np.arange(y0, y1 + size_m, size_m)
    cells = [shapely.box(x, y, x + size_m, y + size_m) for y in ys[:-1] for x in xs[:-1]]
    ids = pd.Index([f"G{k:05d}" for k in range(len(cells))], name="grid_id")
    return gpd.GeoDataFrame(geometry=cells, index=ids, crs=metric).to_crs(4326)


def full_coverage(streets: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame, stations: gpd.GeoDataFrame,
                  grids: gpd.GeoDataFrame) -> pd.Series:
    network = cov.build_network(streets, buildings, stations) if streets is not None else None
    access = cov.station_access(buildings, stations, network=network)
    cov.coverage_by_grid(access, buildings, grids, REACHES)
    cov.coverage_by_community(access, REACHES)
    return cov.coverage_of_district(access, REACHES)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    result = fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def line(case: str, med: float, mn: float, target: float | None, extra: str = "") -> bool:
    ok = target is None or med < target
    verdict = "" if target is None else f"  target < {target:g} s  {'PASS' if ok else 'FAIL'}"
    print(f"{case:<34} median {med:7.3f} s  min {mn:7.3f} s{verdict}{extra}", flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="demo only")
    args = parser.parse_args()
    print(f"coverage benchmark: {os.cpu_count()} cpu, python {platform.python_version()}, numpy {np.__version__}, "
          f"scipy {scipy.__version__} (HiGHS), shapely {shapely.__version__}, geopandas {gpd.__version__}, "
          f"networkx {nx.__version__}", flush=True)
    ok = True
    demo = io.read_district(ROOT / "data" / "demo")
    assert demo.streets is not None and demo.stations is not None
    grids = lattice(demo.buildings)
    med, mn, total = timed(lambda: full_coverage(demo.streets, demo.buildings, demo.stations, grids), args.runs)
    ok &= line("demo coverage (walking)", med, mn, 10.0,
               f"  {len(demo.buildings)} buildings, {len(demo.stations)} stations, {len(grids)} grids; "
               f"within 300/500/1000 m: {total['share_300']:.1%}/{total['share_500']:.1%}/{total['share_1000']:.1%}")
    med_s, mn_s, total_s = timed(lambda: full_coverage(None, demo.buildings, demo.stations, grids), args.runs)
    line("demo coverage (straight line)", med_s, mn_s, None,
         f"  within 300 m: {total_s['share_300']:.1%} (walking {total['share_300']:.1%})")

    # networkx multi-source Dijkstra on the very same graph, one call per kind plus "any"
    network = cov.build_network(demo.streets, demo.buildings, demo.stations)
    graph = nx.from_scipy_sparse_array(network.matrix)
    kinds = demo.stations["kind"].astype(str).to_numpy()
    groups = [network.station_nodes[kinds == k] for k in np.unique(kinds)] + [network.station_nodes]

    def scipy_only() -> None:
        for g in groups:
            scipy.sparse.csgraph.dijkstra(network.matrix, indices=g, min_only=True)

    def nx_only() -> None:
        for g in groups:
            nx.multi_source_dijkstra_path_length(graph, set(int(n) for n in g))

    med_sp, mn_sp, _ = timed(scipy_only, args.runs)
    med_nx, mn_nx, _ = timed(nx_only, args.runs)
    line("demo shortest paths (scipy)", med_sp, mn_sp, None, f"  {network.n_nodes} nodes")
    line("demo shortest paths (networkx)", med_nx, mn_nx, None, f"  ratio {med_nx / med_sp:.0f}x slower")

    access = cov.station_access(demo.buildings, demo.stations, network=network)
    med_m, mn_m, sites = timed(lambda: cov.plan_sites(access, demo.buildings, k=5, reach_m=300, network=network),
                               args.runs)
    ok &= line("demo MCLP k=5, 300 m", med_m, mn_m, 10.0,
               f"  {sites.candidates} candidates, +{sites.households_gained:,} of {sites.uncovered_households:,} "
               f"uncovered households, status {sites.status}")
    ok &= sites.optimal

    if not args.quick:
        city = make_district(scale=10, with_cases=False, with_staff=False)
        cgrids = lattice(city.buildings)
        med_c, mn_c, total_c = timed(lambda: full_coverage(city.streets, city.buildings, city.stations, cgrids),
                                     args.runs)
        ok &= line("ten-times city coverage (walking)", med_c, mn_c, 60.0,
                   f"  {len(city.buildings)} buildings, {len(city.stations)} stations, {len(cgrids)} grids; "
                   f"within 300 m: {total_c['share_300']:.1%}")
    print("coverage benchmark:", "PASS" if ok else "FAIL", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
