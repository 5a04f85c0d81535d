"""spopt 0.7 region builders run on gridgeo's own unit graph, one community per child process.

Each community is an independent problem (grids never cross a community edge),
so every baseline gets exactly the cells and adjacency gridgeo's engine uses
(``gridgeo.partition.build_units``) and is run per community in a forked child
with a time cap: spopt's MaxPHeuristic never returns when only one region fits
(300 ≤ H < 600) and raises when H < 300 (partition-notes.md, "Pitfalls").

The dissimilarity attributes are the cells' centroid coordinates in metres, so
every method is steered toward compact, contiguous regions (the only sensible
attribute for grids; spopt needs one).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import time
import traceback
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

import spopt.region  # noqa: F401  (~3 s: imported once here, before any fork)
from libpysal.weights import W
from spopt.region import MaxPHeuristic, RegionKMeansHeuristic, Skater

from gridgeo.settings import Rules

__all__ = ["Problem", "MethodRun", "METHODS", "problems_from_units", "run_method"]

Method = Literal["maxp", "skater", "kmeans"]
METHODS: dict[str, str] = {"maxp": "spopt MaxP", "skater": "spopt Skater", "kmeans": "spopt RegionKMeans"}


@dataclass(frozen=True)
class Problem:
    """One community's input, built outside every timer."""

    community_id: str
    ids: list[str]                   # unit_id per position
    neighbors: dict[int, list[int]]
    households: np.ndarray
    xy: np.ndarray                   # centroid coordinates, metres
    geoms: np.ndarray                # metric polygons (MaxP links islands by distance)
    metric: pyproj.CRS
    k: int                           # round(H / target), at least 1

    @property
    def total(self) -> int:
        return int(self.households.sum())


@dataclass
class MethodRun:
    """What one baseline did over a set of communities."""

    method: str
    labels: pd.Series                        # region label per unit_id (NaN where no plan)
    seconds: dict[str, float]                # solve time per community that returned
    wall: float                              # elapsed time of the whole run (``slots`` in parallel)
    slots: int
    cap: float
    timeouts: list[str] = field(default_factory=list)
    caps: dict[str, float] = field(default_factory=dict)   # the cap each community ran under
    errors: dict[str, str] = field(default_factory=dict)
    fewer_regions: list[str] = field(default_factory=list)  # returned fewer than k regions

    @property
    def solve_sum(self) -> float:
        return float(sum(self.seconds.values()))


def problems_from_units(cells: gpd.GeoDataFrame, graph: nx.Graph, metric: pyproj.CRS,
                        rules: Rules) -> dict[str, Problem]:
    """Cut the district's unit graph into one problem per community."""
    m = cells.to_crs(metric)
    cent = shapely.get_coordinates(shapely.centroid(m.geometry.to_numpy()))
    out: dict[str, Problem] = {}
    pos_all = {u: i for i, u in enumerate(m.index)}
    for cid, grp in m.groupby("community_id", sort=True):
        ids = list(grp.index)
        local = {u: i for i, u in enumerate(ids)}
        nbrs = {i: sorted(local[v] for v in graph.neighbors(u) if v in local) for i, u in enumerate(ids)}
        rows = [pos_all[u] for u in ids]
        hh = grp["households"].to_numpy(dtype=np.int64)
        out[str(cid)] = Problem(community_id=str(cid), ids=ids, neighbors=nbrs, households=hh,
                                xy=cent[rows], geoms=grp.geometry.to_numpy(), metric=metric,
                                k=max(1, round(int(hh.sum()) / rules.target_households)))
    return out


def _weights(p: Problem) -> W:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return W(p.neighbors, ids=list(range(len(p.ids))), silence_warnings=True)


def _frame(p: Problem) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"x": p.xy[:, 0], "y": p.xy[:, 1], "households": p.households},
                            geometry=p.geoms, crs=p.metric)


def skater_floor(p: Problem, rules: Rules) -> int:
    """Skater's floor counts cells, not households: translate min households into cells.

    The cell count a grid of ``min_households`` holds at the community's mean
    households per cell (partition-notes.md: passing 300 as the floor would ask
    for 300 *cells*).
    """
    return max(1, math.floor(len(p.ids) * rules.min_households / max(p.total, 1)))


def solve(method: str, p: Problem, rules: Rules, seed: int = 0) -> np.ndarray:
    """Run one spopt method on one community and return its labels (position order)."""
    n = len(p.ids)
    if p.k <= 1 and method != "maxp":
        return np.zeros(n, dtype=np.int64)
    w = _weights(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "maxp":
            np.random.seed(seed)  # MaxPHeuristic has no seed argument
            model = MaxPHeuristic(_frame(p), w, ["x", "y"], "households", rules.min_households,
                                  top_n=2, max_iterations_construction=10, max_iterations_sa=1)
        elif method == "skater":
            model = Skater(_frame(p), w, ["x", "y"], n_clusters=min(p.k, n), floor=skater_floor(p, rules),
                           islands="increase")
        elif method == "kmeans":
            # drop_islands=False breaks with libpysal 4.14 (float adjacency list -> IndexError),
            # so keep the default; the unit graphs here have no islands (checked in run.py)
            model = RegionKMeansHeuristic(p.xy, min(p.k, n), w, seed=seed)
        else:
            raise ValueError(f"unknown method {method!r}; use one of {sorted(METHODS)}")
        model.solve()
    return np.asarray(model.labels_)


def _child(method: str, p: Problem, rules: Rules, conn: Connection) -> None:
    try:
        t0 = time.perf_counter()
        labels = solve(method, p, rules)
        conn.send(("ok", labels, time.perf_counter() - t0))
    except BaseException as err:  # noqa: BLE001  (reported, never hidden)
        conn.send(("error", f"{type(err).__name__}: {err}".splitlines()[0][:200], traceback.format_exc()))
    finally:
        conn.close()


def one_region_only(p: Problem, rules: Rules) -> bool:
    """Whether only one region of ≥ min households fits (min ≤ H < 2·min): MaxP never returns there."""
    return rules.min_households <= p.total < 2 * rules.min_households


def run_method(method: str, problems: list[Problem], rules: Rules, *, slots: int = 2, cap: float = 60.0,
               hang_cap: float | None = None,
               progress: Callable[[str], None] | None = None) -> MethodRun:
    """Solve every problem with ``method`` in forked children, ``slots`` at a time, each capped at ``cap`` s.

    ``hang_cap`` (MaxP only) replaces ``cap`` on communities where only one region
    fits, where MaxP is known never to return (partition-notes.md), so the
    benchmark does not spend the full cap there; they still count as timeouts.
    The biggest problems start first so a late giant does not leave one core idle.
    """
    ctx = mp.get_context("fork")
    todo = sorted(problems, key=lambda q: -len(q.ids))
    running: dict[Any, tuple[Problem, Any, Connection, float]] = {}
    caps = {q.community_id: (hang_cap if hang_cap is not None and method == "maxp" and one_region_only(q, rules)
                             else cap) for q in problems}
    labels: dict[str, Any] = {}
    run = MethodRun(method=method, labels=pd.Series(dtype=object), seconds={}, wall=0.0, slots=slots, cap=cap)
    t_start = time.perf_counter()
    while todo or running:
        while todo and len(running) < slots:
            p = todo.pop(0)
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(method, p, rules, send), daemon=True)
            proc.start()
            send.close()
            running[recv] = (p, proc, recv, time.perf_counter())
        now = time.perf_counter()
        next_cap = min(t0 + caps[q.community_id] for (q, _, _, t0) in running.values())
        ready = wait(list(running), timeout=max(0.0, next_cap - now))
        for conn in ready:
            p, proc, _, t0 = running.pop(conn)
            try:
                msg = conn.recv()
            except EOFError:
                msg = ("error", f"child died (exit code {proc.exitcode})", "")
            proc.join()
            conn.close()
            if msg[0] == "ok":
                lab = np.asarray(msg[1])
                for uid, lv in zip(p.ids, lab.tolist(), strict=True):
                    labels[uid] = lv
                run.seconds[p.community_id] = float(msg[2])
                if method != "maxp" and len(set(lab.tolist())) < min(p.k, len(p.ids)):
                    run.fewer_regions.append(p.community_id)
                if progress:
                    progress(f"{METHODS[method]} {p.community_id} ok {msg[2]:.1f} s")
            else:
                run.errors[p.community_id] = msg[1]
                if progress:
                    progress(f"{METHODS[method]} {p.community_id} error: {msg[1]}")
        now = time.perf_counter()
        for conn, (p, proc, _, t0) in list(running.items()):
            if now - t0 >= caps[p.community_id] and conn not in ready:
                proc.kill()
                proc.join()
                conn.close()
                running.pop(conn)
                run.timeouts.append(p.community_id)
                if progress:
                    progress(f"{METHODS[method]} {p.community_id} timeout after {caps[p.community_id]:.0f} s")
    run.wall = time.perf_counter() - t_start
    run.caps = caps
    run.labels = pd.Series(labels, dtype=object)
    run.timeouts.sort()
    run.fewer_regions.sort()
    return run
