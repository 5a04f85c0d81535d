"""Benchmark gridgeo's partition against spopt 0.7 on the same unit graph (`make bench`).

Cases: (a) the demo district (data/demo), every community through every method;
(b) the synthetic city ten times larger (``make_district(scale=10)``): gridgeo on
the whole city, the spopt baselines on a deterministic sample of communities
with their time extrapolated by household share (``--full`` runs them on every
community; ``--quick`` runs the demo only). One line per case on stdout, then a
Markdown table, PASS/FAIL against the targets of issue #4, and the same table
written to bench/results.md. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import geopandas as gpd  # noqa: E402
import networkx as nx  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

import baselines  # noqa: E402  (imports spopt.region before any fork)
import spopt  # noqa: E402
from figures import CRUMB_M2, PlanFigures, feasible_communities, plan_figures  # noqa: E402
from partition_bench import GridgeoRun, time_cli, time_dask_scaling, time_gridgeo  # noqa: E402
from real_shapes import community_sizes, real_district  # noqa: E402

from gridgeo.partition import build_units  # noqa: E402
from gridgeo.settings import DEFAULT_RULES, Rules  # noqa: E402

TARGET_DEMO_S = 10.0
TARGET_CITY_S = 120.0
TARGET_MAXP_RATIO = 10.0
TARGET_PP_MEAN = 0.65
TARGET_PP_P10 = 0.48
TARGET_CLI_S_PER_100K = 3.0
LOAD_START = 0.0   # 1-minute load average when the run began (set in main)



def _duration(seconds: float) -> str:
    """"7 min" for long spans, "14 s" below two minutes (a projection of "0 min" says nothing)."""
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"

def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Row:
    """One method on one case, as printed in the table."""

    case: str
    method: str
    scope: str                  # which communities the figures cover
    seconds: float              # comparable wall time on the whole case (see notes)
    seconds_note: str
    figures: PlanFigures
    timeouts: int = 0
    errors: int = 0
    fewer: int = 0
    ratio: float = math.nan     # seconds / gridgeo's solver time
    pipeline: float = math.nan  # gridgeo only: median wall time of the whole partition() (tessellation, grids)


@dataclass
class Case:
    name: str
    n_communities: int
    households: int
    n_cells: int
    n_edges: int
    units_seconds: float
    feasible: pd.Series
    gridgeo: GridgeoRun
    sample: list[str]
    rows: list[Row] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    cli_times: list[float] = field(default_factory=list)
    scaling: dict[int, list[float]] = field(default_factory=dict)

    def row(self, method: str, scope: str = "") -> Row | None:
        return next((r for r in self.rows if r.method == method and (not scope or r.scope == scope)), None)


def versions() -> str:
    return (f"{os.cpu_count()} cpu, python {platform.python_version()}, geopandas {gpd.__version__}, "
            f"shapely {shapely.__version__}, spopt {spopt.__version__}")


def deterministic_sample(ids: list[str], n: int) -> list[str]:
    """Every (N/n)-th community in code order: spread over streets, no RNG involved."""
    ids = sorted(ids)
    if n <= 0 or n >= len(ids):
        return ids
    return [ids[(i * len(ids)) // n] for i in range(n)]


def gridgeo_plan(run: GridgeoRun, buildings: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.Series, list[str]]:
    """gridgeo's grids as plan cells (one cell per grid) with households recounted from the assignments.

    Households come from the building list for whole buildings and from the
    assignment rows for split ones; the per-building totals are checked against
    the input, so a lost or doubled building shows up as a check failure.
    """
    a = run.assignments
    checks: list[str] = []
    per_building = a.groupby("building_id")["households"].sum()
    given = buildings["households"].astype("int64")
    missing = given.index.difference(per_building.index)
    extra = per_building.index.difference(given.index)
    wrong = per_building.reindex(given.index).dropna()
    wrong = wrong[wrong.astype("int64") != given.reindex(wrong.index)]
    checks.append(f"buildings assigned {len(per_building)}/{len(given)}, missing {len(missing)}, unknown {len(extra)}, "
                  f"household totals differing {len(wrong)}")
    whole = a.groupby("building_id")["grid_id"].transform("nunique") == 1
    hh = a["households"].where(~whole, given.reindex(a["building_id"]).to_numpy())
    per_grid = hh.groupby(a["grid_id"]).sum()
    blds = a.groupby("grid_id")["building_id"].agg(lambda s: ";".join(sorted(set(map(str, s)))))
    cells = run.grids[["community_id", "geometry"]].copy()
    cells["households"] = per_grid.reindex(cells.index).fillna(0).astype("int64")
    cells["building_ids"] = blds.reindex(cells.index).fillna("")
    differ = int((cells["households"] != run.grids["households"]).sum())
    checks.append(f"grids whose recounted households differ from the engine's: {differ}")
    labels = pd.Series(cells.index.astype(str), index=cells.index)
    return cells, labels, checks


@contextmanager
def _tolerant_coverage_union() -> Iterator[None]:
    """Let ``shapely.coverage_union_all`` fall back to ``union_all`` on seams that are not exactly noded.

    Workaround for ``build_units``, which calls coverage_union_all directly (the
    engine's own ``community._union`` already falls back); only the merged cell
    outlines are affected, never the atoms, households or adjacency.
    """
    original = shapely.coverage_union_all

    def tolerant(geoms: Any, *a: Any, **kw: Any) -> Any:
        try:
            return original(geoms, *a, **kw)
        except shapely.errors.GEOSException:
            return shapely.union_all(geoms)

    shapely.coverage_union_all = tolerant
    try:
        yield
    finally:
        shapely.coverage_union_all = original


def units_for(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
              rules: Rules, checks: list[str]) -> Any:
    """``build_units``, retried with a tolerant union when GEOS refuses a seam (noted in the checks)."""
    try:
        return build_units(communities, buildings, streets, rules=rules)
    except shapely.errors.GEOSException as err:
        checks.append(f"build_units raised `{err}`; rebuilt with coverage_union_all falling back to union_all "
                      "(bench workaround; the engine's own partition is not affected)")
        log(f"build_units failed ({err}); retrying with a tolerant union")
        with _tolerant_coverage_union():
            return build_units(communities, buildings, streets, rules=rules)


def tiling_check(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, metric: Any, what: str) -> str:
    """Say whether ``grids`` tile their communities: area sums and overlaps (> 1 m²)."""
    g = grids.to_crs(metric)
    area = g.geometry.area.groupby(g["community_id"]).sum()
    comm = communities.to_crs(metric).geometry.area.reindex(area.index)
    off = ((area - comm) / comm).abs()
    off = off[off > 1e-3]
    geoms = g.geometry.to_numpy()
    i, j = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    keep = i < j
    ov = shapely.area(shapely.intersection(geoms[i[keep]], geoms[j[keep]])) if keep.any() else []
    pairs = [(g.index[a], g.index[b], float(o)) for a, b, o in zip(i[keep], j[keep], ov) if o > 1.0]
    text = (f"{what} tiling: {len(off)} communities whose area sum differs from the community by > 0.1%"
            + (f" ({', '.join(f'{c} {100 * v:+.2f}%' for c, v in off.items())})" if len(off) else "")
            + f"; {len(pairs)} overlapping pairs > 1 m²")
    if pairs:
        text += " (" + ", ".join(f"{a} × {b} {o:.0f} m²" for a, b, o in pairs[:6]) + ("…" if len(pairs) > 6 else "") + ")"
    return text


def graph_contiguity_check(fig: PlanFigures, labels: pd.Series, cells: gpd.GeoDataFrame, graph: nx.Graph) -> int:
    """Count grids where "one polygon" and "connected in the unit graph" disagree (should be 0)."""
    lab = labels.reindex(cells.index).dropna()
    names = cells.loc[lab.index, "community_id"].astype(str) + "|" + lab.astype(str)
    bad = 0
    for name, members in names.groupby(names).groups.items():
        if name in fig.grids.index and nx.is_connected(graph.subgraph(members)) != bool(fig.grids.loc[name, "contiguous"]):
            bad += 1
    return bad


def bench_case(name: str, communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
               streets: gpd.GeoDataFrame | None, args: argparse.Namespace, rules: Rules, *,
               sample_n: int, warmup: tuple[Any, Any, Any] | None = None) -> Case:
    """Run one case: units, gridgeo timing, baselines, figures."""
    log(f"{name}: building the unit graph (outside every timer)")
    pre_checks: list[str] = []
    t0 = time.perf_counter()
    units = units_for(communities, buildings, streets, rules, pre_checks)
    units_s = time.perf_counter() - t0
    cells, graph, metric = units.cells, units.graph, units.metric_crs
    log(f"{name}: {len(cells)} cells, {graph.number_of_edges()} edges in {units_s:.1f} s")
    feasible = feasible_communities(cells, graph, rules)
    comp_info = buildings[["households", "compound_id"]]

    log(f"{name}: gridgeo, fresh process, warm-up + {args.runs} timed runs, workers={args.workers}")
    g = time_gridgeo(communities, buildings, streets, rules=rules, runs=args.runs, workers=args.workers,
                     warmup=warmup)
    log(f"{name}: gridgeo times {', '.join(f'{x:.1f}' for x in g.times)} s (warm-up {g.warmup:.1f} s); solver "
        f"sums {', '.join(f'{x:.2f}' for x in g.solver_sums)} s")
    all_ids = sorted(feasible.index)
    sample = deterministic_sample(all_ids, sample_n)
    case = Case(name=name, n_communities=len(all_ids), households=int(buildings["households"].sum()),
                n_cells=len(cells), n_edges=graph.number_of_edges(), units_seconds=units_s, feasible=feasible,
                gridgeo=g, sample=sample)

    gcells, glabels, checks = gridgeo_plan(g, buildings)
    case.checks += pre_checks + checks
    case.checks.append(tiling_check(cells, communities, metric, "unit cells (build_units)"))
    case.checks.append(tiling_check(g.grids, communities, metric, "gridgeo grids"))
    engine_feasible = g.report["feasible"].astype(bool)
    disagree = sorted(set(engine_feasible.index[engine_feasible != feasible.reindex(engine_feasible.index)]))
    case.checks.append(f"feasible communities: {int(feasible.sum())}/{len(feasible)} by this benchmark's test "
                       f"(k exists per connected part, no cell > max); engine report says "
                       f"{int(engine_feasible.sum())}; disagreeing: {', '.join(disagree) or 'none'}")
    sampled = len(sample) < len(all_ids)
    fig_all = plan_figures(gcells, glabels, streets, rules, metric=metric, buildings=comp_info, feasible=feasible)
    case.rows.append(Row(name, "gridgeo", "all", g.solver,
                         f"solver on the prebuilt pieces: median of {len(g.solver_sums)} per-community sums "
                         f"÷ {g.workers} processes; whole pipeline median of {len(g.times)}, "
                         f"min {min(g.times):.1f} s", fig_all, ratio=1.0, pipeline=g.median))
    if sampled:
        fig_s = plan_figures(gcells, glabels, streets, rules, metric=metric, buildings=comp_info,
                             feasible=feasible, communities=sample)
        case.rows.append(Row(name, "gridgeo", "sample", math.nan, "figures on the sample only", fig_s))
    own = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in g.metrics.items())
    case.checks.append(f"engine's own res.metrics() on the last run (its definitions, for comparison): {own}")
    _diagnose(case, g, fig_all)

    problems = baselines.problems_from_units(cells, graph, metric, rules)
    islands = sum(1 for p in problems.values() for v in p.neighbors.values() if not v)
    if islands:
        case.checks.append(f"unit graph has {islands} isolated cells (RegionKMeans drops islands)")
    run_probs = [problems[c] for c in sample]
    h_case = sum(p.total for p in problems.values())
    h_sample = sum(p.total for p in run_probs)
    for method in args.methods:
        label = baselines.METHODS[method]
        log(f"{name}: {label} on {len(run_probs)} communities, {args.slots} processes, cap {args.cap:.0f} s each")
        mr = baselines.run_method(method, run_probs, rules, slots=args.slots, cap=args.cap, hang_cap=args.hang_cap,
                                  progress=(lambda m: log(f"  {m}")) if args.verbose else None)
        returned = len(mr.seconds)
        est = mr.solve_sum / args.slots * (h_case / max(h_sample, 1))
        if sampled:
            note = (f"EXTRAPOLATED from {returned} returned of a {len(run_probs)}-community sample by household "
                    f"share (×{h_case / max(h_sample, 1):.2f}); solve time ÷ {args.slots} processes")
        else:
            note = f"solve time of {returned}/{len(run_probs)} returned communities ÷ {args.slots} processes"
        fig = plan_figures(cells, mr.labels, streets, rules, metric=metric, buildings=comp_info,
                           feasible=feasible, communities=sample)
        mismatch = graph_contiguity_check(fig, mr.labels, cells, graph)
        case.checks.append(f"{label}: grids where 'one polygon' and 'connected in the unit graph' disagree: {mismatch}")
        row = Row(name, label, "sample" if sampled else "all", est, note, fig, timeouts=len(mr.timeouts),
                  errors=len(mr.errors), fewer=len(mr.fewer_regions), ratio=est / g.solver)
        case.rows.append(row)
        detail = []
        if mr.timeouts:
            detail.append("timeouts: " + ", ".join(f"{c} (H={problems[c].total}, cap {mr.caps[c]:.0f} s)"
                                                   for c in mr.timeouts))
        if mr.errors:
            detail.append("errors: " + "; ".join(f"{c} (H={problems[c].total}): {e}" for c, e in mr.errors.items()))
        if mr.fewer_regions:
            detail.append(f"fewer regions than k: {', '.join(mr.fewer_regions)}")
        case.diagnostics.append(f"{label}: wall {mr.wall:.1f} s on {args.slots} processes (timeouts included), "
                                f"solve-time sum {mr.solve_sum:.1f} s" + ("; " + "; ".join(detail) if detail else ""))
        log(f"{name}: {label} done in {mr.wall:.1f} s wall")
    return case


def _diagnose(case: Case, g: GridgeoRun, fig: PlanFigures) -> None:
    """Name gridgeo's grids that miss a target, with the engine's own flags and explanation."""
    def gid_of(name: str) -> str:  # plan_figures names grids "<community>|<label>"; the label is the grid_id
        return name.split("|", 1)[1]

    for name, row in fig.out_of_bounds.iterrows():
        gid = gid_of(str(name))
        rep = g.report.loc[row["community_id"]]
        case.diagnostics.append(
            f"gridgeo out of bounds: {gid} ({int(row['households'])} households, community H={int(rep['households'])}), "
            f"flags [{g.grids['flags'].get(gid, '')}]; engine: {rep.get('explanation_en', '')}")
    specks = fig.grids.index[fig.grids["contiguous"] & (shapely.get_num_geometries(g.grids.geometry.reindex(
        [gid_of(str(n)) for n in fig.grids.index]).to_numpy()) > 1)]
    for name in specks:
        gid = gid_of(str(name))
        areas = shapely.area(shapely.get_parts(fig.grids.loc[name, "geometry"]))
        case.diagnostics.append(f"gridgeo speck: {gid} is a MultiPolygon whose extra parts are < {CRUMB_M2:g} m² "
                                f"({', '.join(f'{a:.3g}' for a in sorted(areas)[:-1])} m² in the metric CRS); "
                                "counted contiguous here, not by the engine's own contiguous_share")
    for name in fig.grids.index[~fig.grids["contiguous"]]:
        gid = gid_of(str(name))
        cid = fig.grids.loc[name, "community_id"]
        n_parts = shapely.get_num_geometries(fig.grids.loc[name, "geometry"])
        where = "multi-part community" if fig.grids.loc[name, "community_parts"] > 1 else "one-piece community"
        case.diagnostics.append(f"gridgeo not contiguous: {gid} ({where}) {n_parts} parts, flags "
                                f"[{g.grids['flags'].get(gid, '')}]; engine: "
                                f"{g.report.loc[cid].get('explanation_en', '')}")


# ----------------------------------------------------------------------------- output

def fmt_s(x: float) -> str:
    if math.isnan(x):
        return "–"
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s" if x < 100 else f"{x:.0f} s"


def pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.1f}%"


def case_line(c: Case) -> str:
    g = c.row("gridgeo", "all")
    maxp = c.row(baselines.METHODS["maxp"])
    head = (f"partition {c.name}  solver {fmt_s(c.gridgeo.solver)}  whole pipeline median "
            f"{fmt_s(c.gridgeo.median)} (min {fmt_s(min(c.gridgeo.times))})")
    if maxp is not None:
        ext = "  extrapolated" if maxp.scope == "sample" else ""
        head += (f"  spopt MaxP {fmt_s(maxp.seconds)}{ext}  ratio {maxp.ratio:.0f}x solver, "
                 f"{maxp.seconds / c.gridgeo.median:.1f}x pipeline")
    return head + f"  ({versions().split(', python')[0]}, geopandas {gpd.__version__})"


def table(cases: list[Case]) -> str:
    cols = ["case", "method", "communities", "solver time", "× gridgeo", "whole pipeline",
            "timeouts / errors / fewer k", "grids",
            "within 300–500 (feasible)", "contiguous", "PP mean", "PP p10", "boundary on street/edge",
            "cuts on streets", "compounds split"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for c in cases:
        for r in c.rows:
            f = r.figures
            scope = (f"{f.n_communities}/{c.n_communities}" if r.scope == "all"
                     else f"{f.n_communities}/{len(c.sample)} sampled")
            t = fmt_s(r.seconds) + (" (extrap.)" if r.scope == "sample" and not math.isnan(r.seconds) else "")
            ratio = "–" if math.isnan(r.ratio) else ("1" if r.method == "gridgeo" else f"{r.ratio:.1f}")
            fails = "–" if r.method == "gridgeo" else f"{r.timeouts} / {r.errors} / {r.fewer}"
            lines.append("| " + " | ".join([
                c.name, r.method, scope, t, ratio, fmt_s(r.pipeline), fails, str(f.n_grids), pct(f.within_share),
                pct(f.contiguous_share), f"{f.pp_mean:.3f}", f"{f.pp_p10:.3f}", pct(f.street_share),
                pct(f.cut_street_share), str(f.compounds_split_unnecessarily)]) + " |")
    return "\n".join(lines)


def targets(c: Case, target_s: float) -> list[str]:
    g_all = c.row("gridgeo", "all")
    g_cmp = c.row("gridgeo", "sample") or g_all
    base = [r for r in c.rows if r.method != "gridgeo"]
    best_pp = max((r.figures.pp_mean for r in base if not math.isnan(r.figures.pp_mean)), default=math.nan)
    best_name = next((r.method for r in base if r.figures.pp_mean == best_pp), "–")
    maxp = c.row(baselines.METHODS["maxp"])
    missing = g_all.figures.missing_communities
    out = []

    def mark(ok: bool, text: str) -> None:
        out.append(f"{'PASS' if ok else 'FAIL'}  {c.name}: {text}")

    f = g_all.figures
    mark(f.within_share == 1.0 and not missing,
         f"grids within bounds in feasible communities {pct(f.within_share)} "
         f"({f.feasible_grids - len(f.out_of_bounds)}/{f.feasible_grids}) (target 100%)")
    n_bad = int((~f.grids["contiguous"]).sum())
    n_multi = int((~f.grids["contiguous"] & (f.grids["community_parts"] > 1)).sum())
    # a community in several pieces whose enclave is too small for a grid of its own cannot have
    # only one-polygon grids within bounds: the engine joins the enclave to the nearest grid and
    # flags it "multipart"; every other grid must be one polygon
    mark(n_bad == n_multi, f"contiguous grids {pct(f.contiguous_share)} (target: all, except enclaves of "
         f"communities that are themselves in several pieces); {n_bad} not contiguous, {n_multi} of them "
         f"in such communities")
    scope = "same sampled communities" if g_cmp is not g_all else "same communities"
    if not math.isnan(best_pp):
        mark(g_cmp.figures.pp_mean >= best_pp,
             f"PP mean {g_cmp.figures.pp_mean:.3f} vs best spopt {best_pp:.3f} ({best_name}, {scope})")
    if maxp is not None:
        mark(maxp.ratio >= TARGET_MAXP_RATIO, f"{maxp.ratio:.1f}x faster than spopt MaxP's solver time, solver "
             f"vs solver on the same prebuilt units (target ≥ 10x); gridgeo's whole pipeline (tessellation and "
             f"grid polygons included) {maxp.seconds / c.gridgeo.median:.1f}x")
    mark(c.gridgeo.median < target_s, f"whole pipeline median {fmt_s(c.gridgeo.median)} (target < {target_s:.0f} s)")
    mark(f.pp_mean >= TARGET_PP_MEAN and f.pp_p10 >= TARGET_PP_P10,
         f"PP mean {f.pp_mean:.3f} (target ≥ {TARGET_PP_MEAN}), p10 {f.pp_p10:.3f} (target ≥ {TARGET_PP_P10})")
    if c.cli_times:
        import statistics
        med = statistics.median(c.cli_times)
        per = med / (c.households / 100_000)
        mark(per < TARGET_CLI_S_PER_100K, f"CLI wall time (files in, files out, --workers 2) median {med:.1f} s "
             f"= {per:.2f} s per 100,000 households (target < {TARGET_CLI_S_PER_100K} s)")
    return out


def report(cases: list[Case], args: argparse.Namespace, started: float) -> str:
    lines = [f"# Partition benchmark: gridgeo vs spopt {spopt.__version__}", "",
             f"Measured {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} with "
             f"`{' '.join(['.venv/bin/python', 'bench/run.py'] + args.argv)}` ({versions()}); "
             f"whole run {time.perf_counter() - started:.0f} s; load average (1 min) {LOAD_START:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end (2 cores: above 2, other work shared them and times are upper "
             f"bounds).", ""]
    for c in cases:
        lines.append(f"- **{c.name}**: {c.n_communities} communities, {c.households:,} households, "
                     f"{c.n_cells:,} unit cells, {c.n_edges:,} adjacencies (unit graph built in "
                     f"{c.units_seconds:.1f} s, outside every timer, as gridgeo's pieces are for its solver "
                     f"time; gridgeo's whole-pipeline time includes building them).")
        if len(c.sample) < c.n_communities:
            lines.append(f"  Baselines ran on a deterministic sample of {len(c.sample)} communities (every "
                         f"{c.n_communities / len(c.sample):.1f}-th in code order): {', '.join(c.sample)}.")
        m = c.gridgeo
        lines.append(f"  gridgeo: {len(m.times)} timed runs {', '.join(f'{x:.2f}' for x in m.times)} s after a "
                     f"{m.warmup:.1f} s warm-up, workers={m.workers}; solver on the prebuilt pieces, summed over "
                     f"communities per run: {', '.join(f'{x:.2f}' for x in m.solver_sums)} s (÷ {m.workers} "
                     f"processes = {m.solver:.2f} s); peak memory {m.rss_peak_mb:.0f} MB "
                     f"(ru_maxrss of the fresh timing process, {m.rss_inputs_mb:.0f} MB of it after imports + "
                     f"inputs), largest worker {m.rss_workers_mb:.0f} MB (RUSAGE_CHILDREN).")
    lines += ["", table(cases), ""]
    for c in cases:
        if c.scaling:
            import statistics
            per = {n: statistics.median(ts) for n, ts in c.scaling.items()}
            lines.append(f"- **{c.name}, Dask scaling** (LocalCluster of n single-thread worker processes, "
                         f"same plan as local checked): " + "; ".join(
                             f"{n} worker(s) {per[n]:.1f} s ({', '.join(f'{x:.1f}' for x in ts)})"
                             for n, ts in c.scaling.items()))
            base = per[min(per)] * min(per)   # worker-seconds for the case
            hh = c.households
            lines.append("  Projected province (≈30M households, ≈75,000 grids) at this rate: " + "; ".join(
                f"{w} workers ≈ {_duration(base * 30e6 / hh / w)}" for w in (1, 2, 8, 32, 128))
                + " (linear in households; communities are independent, so the map scales until the "
                  "biggest community, ≈ its own time, dominates).")
        if c.cli_times:
            lines.append(f"- **{c.name}, CLI**: `python -m gridgeo partition … --workers 2` wall times "
                         f"{', '.join(f'{x:.1f}' for x in c.cli_times)} s (interpreter start, reading GeoJSON, "
                         f"writing grids.geojson and assignments.csv included).")
    lines.append("")
    for c in cases:
        lines += [f"### {c.name}", ""]
        lines += [f"- {t}" for t in targets(c, TARGET_DEMO_S if c.name == "demo" else TARGET_CITY_S)]
        lines += [f"- time of {r.method}: {r.seconds_note}" for r in c.rows if r.method != "gridgeo"]
        lines += [f"- check: {x}" for x in c.checks]
        lines += [f"- {x}" for x in c.diagnostics[:60]]
        if len(c.diagnostics) > 60:
            lines.append(f"- …and {len(c.diagnostics) - 60} more")
        lines.append("")
    lines += ["How to read it: see bench/README.md (definitions of every column, the time of the baselines, "
              "the extrapolation)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="demo district only (about 1.5 minutes)")
    mode.add_argument("--full", action="store_true",
                      help="run the baselines on every community of the ten-times city too (hours: MaxP)")
    ap.add_argument("--runs", type=int, default=3, help="timed gridgeo runs after the warm-up (median reported)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gridgeo worker processes")
    ap.add_argument("--slots", type=int, default=os.cpu_count() or 1,
                    help="baseline communities solved at once (one child process each)")
    ap.add_argument("--cap", type=float, default=150.0, help="time cap per community per baseline, seconds")
    ap.add_argument("--hang-cap", type=float, default=15.0,
                    help="MaxP's cap where only one region fits (300 ≤ H < 600), where it never returns")
    ap.add_argument("--sample", type=int, default=20, help="communities the baselines run on in the big city")
    ap.add_argument("--methods", default="maxp,skater,kmeans", help="baselines, comma-separated")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.md"), help="Markdown table written here")
    ap.add_argument("--verbose", action="store_true", help="log every baseline community on stderr")
    ap.add_argument("--cases", default="demo,city,real",
                    help="cases to run, comma-separated: demo, city (ten-times city), real (real-shaped compounds)")
    ap.add_argument("--real-sample", type=int, default=8,
                    help="communities of the real-shaped case the baselines run on")
    ap.add_argument("--no-scaling", action="store_true", help="skip the Dask 1-vs-2-worker measurement")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in args.methods if m not in baselines.METHODS]
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; use {', '.join(baselines.METHODS)}")
    rules = DEFAULT_RULES
    global LOAD_START
    LOAD_START = os.getloadavg()[0]
    started = time.perf_counter()
    print(f"# {versions()}", flush=True)

    from gridgeo import io
    from gridgeo.synthetic import make_district

    demo_dir = ROOT / "data" / "demo"
    if (demo_dir / "communities.geojson").exists():
        d = io.read_district(str(demo_dir))
        demo = (d.communities, d.buildings, d.streets)
        log("demo: data/demo")
    else:
        s = make_district(seed=0, scale=1, with_cases=False, with_staff=False)
        demo = (s.communities, s.buildings, s.streets)
        log("demo: data/demo missing, using make_district(seed=0, scale=1)")
    wanted = {"demo"} if args.quick else {x.strip() for x in args.cases.split(",") if x.strip()}
    cases: list[Case] = []
    if "demo" in wanted:
        cases.append(bench_case("demo", *demo, args, rules, sample_n=0))
        print(case_line(cases[-1]), flush=True)
        Path(args.out).write_text(report(cases, args, started), encoding="utf-8")   # partial, in case of a stop
    if "real" in wanted:
        log("real-shaped: real_district(community_sizes(seed=0, total=110_000), seed=0), points, no streets")
        rs = real_district(community_sizes(0, 110_000), seed=0, points=True, streets=False)
        case = bench_case("real-shaped", rs.communities, rs.buildings, rs.streets, args, rules,
                          sample_n=0 if args.full else args.real_sample, warmup=demo)
        log("real-shaped: CLI wall time, 3 runs")
        case.cli_times = time_cli(rs.communities, rs.buildings, rs.streets, runs=3, workers=2)
        if not args.no_scaling:
            log("real-shaped: Dask LocalCluster 1 vs 2 workers")
            case.scaling = time_dask_scaling(rs.communities, rs.buildings, rs.streets, rules=rules)
        cases.append(case)
        print(case_line(cases[-1]), flush=True)
        Path(args.out).write_text(report(cases, args, started), encoding="utf-8")
    if "city" in wanted and not args.quick:
        log("city x10: make_district(seed=0, scale=10)")
        big = make_district(seed=0, scale=10, with_cases=False, with_staff=False)
        cases.append(bench_case("city x10", big.communities, big.buildings, big.streets, args, rules,
                                sample_n=0 if args.full else args.sample, warmup=demo))
        print(case_line(cases[-1]), flush=True)
    text = report(cases, args, started)
    print()
    print(text, end="")
    Path(args.out).write_text(text, encoding="utf-8")
    log(f"table written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
