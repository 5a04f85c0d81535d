"""Time gridgeo's partition in a fresh child process: warm-up once, then median of N runs, plus peak memory.

The child is a new interpreter (``subprocess``), so its ``ru_maxrss`` is the
peak resident memory of exactly one import + load + partition sequence, not of
the benchmark driver that also holds the baselines. Inputs travel as a pickle
written before any timer starts.
"""

from __future__ import annotations

import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["GridgeoRun", "time_gridgeo", "time_cli", "time_dask_scaling"]


@dataclass
class GridgeoRun:
    """Timings and the last result of gridgeo's partition."""

    times: list[float]        # timed runs of the whole partition(), seconds
    warmup: float
    solver_sums: list[float]  # per run: solver time summed over communities (prebuilt pieces), seconds
    rss_inputs_mb: float      # ru_maxrss after imports and loading the inputs
    rss_peak_mb: float        # ru_maxrss of the child at the end (RUSAGE_SELF)
    rss_workers_mb: float     # largest engine worker (RUSAGE_CHILDREN after stopping the forkserver)
    workers: int
    grids: gpd.GeoDataFrame
    assignments: pd.DataFrame
    report: pd.DataFrame
    metrics: dict[str, Any]

    @property
    def median(self) -> float:
        """Whole pipeline: median wall time of ``partition(..., workers)``."""
        return statistics.median(self.times)

    @property
    def solver(self) -> float:
        """Solver time as the baselines' is counted: median over runs of the per-community sum ÷ workers."""
        return statistics.median(self.solver_sums) / self.workers


def time_gridgeo(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                 *, rules: Any, runs: int = 3, workers: int = 2, seed: int = 0,
                 warmup: tuple[Any, Any, Any] | None = None) -> GridgeoRun:
    """Run ``partition`` once to warm up, then ``runs`` timed times, in a fresh interpreter.

    ``warmup`` (communities, buildings, streets) is partitioned instead of the
    timed input for the warm-up run: it pays the same one-off costs (imports,
    starting the forkserver, first-touch of the inputs' pages) at a fraction of
    the time on a big city.
    """
    with tempfile.TemporaryDirectory(prefix="gridgeo-bench-") as tmp:
        src, dst = Path(tmp) / "in.pkl", Path(tmp) / "out.pkl"
        with open(src, "wb") as fh:
            pickle.dump({"communities": communities, "buildings": buildings, "streets": streets,
                         "rules": rules, "runs": runs, "workers": workers, "seed": seed,
                         "warmup": warmup}, fh)
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(src), str(dst)],
                              cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"gridgeo timing child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        with open(dst, "rb") as fh:
            out = pickle.load(fh)
    return GridgeoRun(**out)


def time_cli(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None, *,
             runs: int = 3, workers: int = 2) -> list[float]:
    """Wall time of ``python -m gridgeo partition`` on GeoJSON files, I/O and interpreter start included."""
    with tempfile.TemporaryDirectory(prefix="gridgeo-cli-") as tmp:
        d = Path(tmp)
        communities.to_file(d / "communities.geojson")
        b = buildings.drop(columns=[c for c in ("community_id",) if c in buildings.columns])
        b.assign(households=b["households"].astype(int)).to_file(d / "buildings.geojson")
        cmd = [sys.executable, "-m", "gridgeo", "partition", "--communities", str(d / "communities.geojson"),
               "--buildings", str(d / "buildings.geojson"), "--workers", str(workers), "--out", str(d / "out")]
        if streets is not None and len(streets):
            streets.to_file(d / "streets.geojson")
            cmd += ["--streets", str(d / "streets.geojson")]
        times = []
        for _ in range(runs + 1):   # the first run warms the file cache; not counted
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            if proc.returncode not in (0, 1):
                raise RuntimeError(f"CLI failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return times[1:]


def time_dask_scaling(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                      streets: gpd.GeoDataFrame | None, *, rules: Any, workers: tuple[int, ...] = (1, 2),
                      runs: int = 2) -> dict[int, list[float]]:
    """Times of ``partition(..., executor=Client(LocalCluster(n)).get_executor())`` for each n.

    A LocalCluster of n single-threaded worker processes stands in for n machines; the
    plan is checked identical to the local one for every n.
    """
    from dask.distributed import Client, LocalCluster

    from gridgeo.partition import partition

    local = partition(communities, buildings, streets, rules=rules, seed=0)
    out: dict[int, list[float]] = {}
    for n in workers:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
                Client(lc) as client:
            ex = client.get_executor()
            partition(communities, buildings, streets, rules=rules, seed=0, executor=ex)  # warm-up
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                res = partition(communities, buildings, streets, rules=rules, seed=0, executor=ex)
                times.append(time.perf_counter() - t0)
            same = res.grids.drop(columns="geometry").equals(local.grids.drop(columns="geometry")) and \
                res.assignments.equals(local.assignments)
            if not same:
                raise RuntimeError(f"Dask run with {n} workers differs from the local run")
            out[n] = times
    return out


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def _stop_forkserver() -> None:
    """Stop multiprocessing's forkserver (it reaps the pool workers) and wait for it.

    ``ru_maxrss`` of RUSAGE_CHILDREN only counts descendants that have exited and
    been waited for; the engine's workers are children of the forkserver, which
    otherwise outlives this measurement. ``_stop`` is private (CPython 3.8+).
    """
    try:
        from multiprocessing import forkserver
        forkserver._forkserver._stop()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001  (memory figure then covers only reaped children)
        pass


def _solver_sums(communities: Any, buildings: Any, streets: Any, rules: Any, seed: int, runs: int) -> list[float]:
    """gridgeo's solver timed like the baselines': on prebuilt units, per community, summed.

    The pieces (``tessellate``, what ``build_units`` publishes as ``Units.pieces``)
    are built once, outside the timer, as the baselines get their unit graph;
    each run takes a fresh shallow copy and times ``solve_pieces`` per
    community: atoms, search and polish, in this one process. Grid polygons,
    assignments and the report are left out, as the baselines' figures are.
    """
    import copy

    import shapely

    from gridgeo.partition.community import solve_pieces
    from gridgeo.partition.engine import prepare_inputs
    from gridgeo.partition.tessellation import tessellate

    prep = prepare_inputs(communities, buildings, streets, rules=rules, seed=seed)
    built = [(task, tessellate(task.community_id, task.region, task.buildings, task.streets, rules=rules))
             for task in prep.tasks
             if not shapely.is_empty(task.region) and shapely.area(task.region) > 1e-6]
    sums = []
    for _ in range(runs):   # after the timed partition() runs: imports and caches are warm
        total = 0.0
        for task, pieces in built:
            mine = copy.copy(pieces)   # joining small parts replaces the edge arrays, never edits them
            t0 = time.perf_counter()
            solve_pieces(task, mine, rules)
            total += time.perf_counter() - t0
        sums.append(total)
    return sums


def _child(src: str, dst: str) -> None:
    sys.path.insert(0, str(ROOT))
    from gridgeo.partition import partition

    with open(src, "rb") as fh:
        inp = pickle.load(fh)
    rss_inputs = _maxrss_mb(resource.RUSAGE_SELF)
    kwargs = dict(rules=inp["rules"], seed=inp["seed"], workers=inp["workers"])
    warm = inp["warmup"] or (inp["communities"], inp["buildings"], inp["streets"])
    t0 = time.perf_counter()
    partition(*warm, **kwargs)
    warmup = time.perf_counter() - t0
    times = []
    for _ in range(inp["runs"]):
        t0 = time.perf_counter()
        res = partition(inp["communities"], inp["buildings"], inp["streets"], **kwargs)
        times.append(time.perf_counter() - t0)
    solver_sums = _solver_sums(inp["communities"], inp["buildings"], inp["streets"], inp["rules"], inp["seed"],
                               inp["runs"])
    rss_self = _maxrss_mb(resource.RUSAGE_SELF)
    _stop_forkserver()  # reaps the engine's workers' server, so RUSAGE_CHILDREN covers them
    out = {"times": times, "warmup": warmup, "solver_sums": solver_sums, "rss_inputs_mb": rss_inputs,
           "rss_peak_mb": rss_self, "rss_workers_mb": _maxrss_mb(resource.RUSAGE_CHILDREN),
           "workers": inp["workers"], "grids": res.grids, "assignments": res.assignments, "report": res.report,
           "metrics": dict(res.metrics())}
    with open(dst, "wb") as fh:
        pickle.dump(out, fh)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
