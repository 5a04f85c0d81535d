"""Benchmark hand editing: one move with live validation on the demo (target < 0.3 s median), and,
with ``--browser``, click-to-updated-map in Debian's chromium (target < 1.5 s).

Inputs (district, engine plan, editing session) are built outside the timers; each case is
warmed up once, then timed over several different buildings (each move undone afterwards).
Prints one line per case: median, min, target, PASS/FAIL, CPU count, load and library versions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402

from gridgeo import io  # noqa: E402
from gridgeo.partition import partition  # noqa: E402
from gridgeo.plans import EditSession, plan_from_partition  # noqa: E402


def env() -> str:
    load = os.getloadavg()[0]
    return (f"({os.cpu_count()} cpu, load {load:.1f}, geopandas {gpd.__version__}, "
            f"shapely {shapely.__version__})")


def line(name: str, times: list[float], target: float) -> None:
    med = statistics.median(times)
    verdict = "PASS" if med < target else "FAIL"
    print(f"{name:<40} median {med:.3f} s  min {min(times):.3f} s  n={len(times)}  target < {target} s  "
          f"{verdict}  {env()}", flush=True)


def library(runs: int) -> None:
    d = io.read_district(ROOT / "data" / "demo")
    plan = plan_from_partition(partition(d.communities, d.buildings, d.streets, seed=0))
    t0 = time.perf_counter()
    ses = EditSession(plan, d.communities, d.buildings, d.streets)
    print(f"{'edit session open (tessellation, once)':<40} {time.perf_counter() - t0:.2f} s  {env()}", flush=True)
    b = d.buildings
    moves: list[tuple[str, str]] = []
    for bid in b.index:
        if len(ses.grid_of(bid)) == 1 and ses.neighbours_of_building(bid):
            moves.append((str(bid), ses.neighbours_of_building(bid)[0]))
        if len(moves) > runs:
            break
    bid, to = moves[0]
    ses.move(to, building=bid)   # warm-up
    ses.undo()
    times: list[float] = []
    save_times: list[float] = []
    for bid, to in moves[1:]:
        t0 = time.perf_counter()
        check = ses.move(to, building=bid)            # the edit and its live validation
        times.append(time.perf_counter() - t0)
        assert check.touched
        t0 = time.perf_counter()
        ses.to_plan()                                 # what saving needs on top
        save_times.append(time.perf_counter() - t0)
        ses.undo()
    line("edit move + live validation (demo)", times, 0.3)
    print(f"{'edit to_plan (new version frame)':<40} median {statistics.median(save_times):.3f} s  {env()}")
    # rebalance after a move that over-fills a grid
    g = plan.grids
    for bid in b.index:
        own = ses.grid_of(bid)
        if len(own) != 1:
            continue
        over = [x for x in ses.neighbours_of_building(bid)
                if g.loc[x, "households"] + b.loc[bid, "households"] > 500]
        if over and g.loc[own[0], "households"] - b.loc[bid, "households"] >= 300:
            ses.move(over[0], building=bid)
            t0 = time.perf_counter()
            check = ses.rebalance()
            dt = time.perf_counter() - t0
            ok = all(check.table.loc[x, "status"] == "within" for x in check.touched)
            print(f"{'edit rebalance after an over-filling move':<40} {dt:.3f} s  back within bounds: {ok}  {env()}")
            break


def _other_building(bid: str) -> tuple[str, float, float]:
    """A second building to click (its point hits it), not ``bid``."""
    d = io.read_district(ROOT / "data" / "demo")
    plan = plan_from_partition(partition(d.communities, d.buildings, d.streets, seed=0))
    ses = EditSession(plan, d.communities, d.buildings, d.streets)
    for b_id, geom in d.buildings.geometry.items():
        pt = geom.representative_point()
        if str(b_id) != bid and ses.building_at(pt.x, pt.y) == b_id:
            return str(b_id), pt.x, pt.y
    raise AssertionError("no second building")


def browser(runs: int) -> None:
    from tests import browser_support as bs
    from tests.test_plans_edit_browser import _click_building, _edits, _in_edit_frame, _pick
    from gridgeo.i18n import t

    bid, lon, lat, _, _, _ = _pick()
    other = _other_building(bid)
    server = bs.server_fixture()
    url = next(server)
    br = bs.browser_fixture()
    b = next(br)
    try:
        blocked: list[str] = []
        page = bs.offline_page(b, blocked, height=4200)
        page.goto(f"{url}/planner")
        page.get_by_role("button", name=t("planner.run", "zh")).click(timeout=120_000)
        page.get_by_role("heading", name=t("planner.map", "zh")).wait_for(timeout=600_000)
        page.get_by_text(t("edit.page.toggle", "zh")).click()
        page.get_by_label(t("edit.page.building_id", "zh")).wait_for(timeout=300_000)
        select_t: list[float] = []
        move_t: list[float] = []
        label = t("edit.page.edits", "zh")

        def edits_are(n: int) -> str:      # the "edits made" metric, not any metric showing n
            return ("() => [...document.querySelectorAll('[data-testid=\"stMetric\"]')].some(m => m.innerText"
                    f".includes('{label}') && m.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim()"
                    f" === '{n}')")

        def server_seconds() -> float:
            """The page's own caption: fragment start (click taken) to map handed to the browser."""
            text = page.get_by_text(t("edit.page.click_seconds", "zh", seconds=0).split(" ")[0]).first.inner_text()
            return float(text.split(" ")[1])

        server_t: list[float] = []
        for i in range(runs + 1):
            # first another building, so that the timed click changes the selection (and its highlight)
            for attempt in range(3):      # a click landing while the map is being replaced is lost: click again
                _click_building(page, other[1], other[2])
                try:
                    page.wait_for_function(f"() => [...document.querySelectorAll('input')].some(i => i.value === "
                                           f"'{other[0]}')", timeout=20_000)
                    break
                except Exception:  # noqa: BLE001
                    if attempt == 2:
                        raise
            _click_building(page, lon + (i % 2) * 1e-7, lat)
            t0 = time.perf_counter()
            # the panel is drawn after the map in the same fragment run: the map's delta came first
            page.wait_for_function(
                f"() => [...document.querySelectorAll('input')].some(i => i.value === '{bid}')", timeout=60_000)
            dt_sel = time.perf_counter() - t0
            if i:
                server_t.append(server_seconds())
            for attempt in range(3):      # a click on the button while the fragment still redraws is lost
                page.get_by_role("button", name=t("edit.page.move", "zh"), exact=True).click()
                t0 = time.perf_counter()
                try:
                    page.wait_for_function(edits_are(1), timeout=20_000)
                    break
                except Exception:  # noqa: BLE001
                    if attempt == 2:
                        raise
            _in_edit_frame(page, "() => document.querySelectorAll('path[stroke=\"#ff7f00\"]').length >= 2")
            dt_move = time.perf_counter() - t0
            if i:   # first round is the warm-up
                select_t.append(dt_sel)
                move_t.append(dt_move)
            assert _edits(page, "zh") == "1"
            page.get_by_role("button", name=t("edit.page.undo", "zh")).click()
            page.wait_for_function(edits_are(0), timeout=60_000)
            # the undo redraws the map without the highlight before the next click
            _in_edit_frame(page, "() => document.querySelectorAll('path[stroke=\"#ff7f00\"]').length === 0")
        line("browser click building -> selected", select_t, 1.5)
        print(f"{'  of which the server (fragment rerun)':<40} median {statistics.median(server_t):.3f} s  "
              f"min {min(server_t):.3f} s", flush=True)
        line("browser move click -> updated map", move_t, 1.5)
        assert blocked == []
    finally:
        for gen in (br, server):
            try:
                next(gen)
            except StopIteration:
                pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=9, help="timed moves (different buildings), default 9")
    ap.add_argument("--browser", action="store_true", help="also time click-to-updated-map in chromium")
    ap.add_argument("--browser-runs", type=int, default=5)
    args = ap.parse_args()
    library(max(5, args.runs))
    if args.browser:
        browser(max(3, args.browser_runs))


if __name__ == "__main__":
    main()
