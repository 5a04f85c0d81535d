"""Benchmark the planner map of the ten-times city: build and draw within 5 s (issue 15).

Inputs (outside the timer): ``make_district(scale=10)`` (190 communities, ~450,000
households, ~25,000 buildings) partitioned once with the default rules. Timed:

- ``layers``: ``maps.grid_layers`` (colouring, labels, slim GeoJSON: what the page caches);
- ``html``: ``maps.grid_map(...).get_root().render()`` (the folium page streamlit-folium ships);
- ``browser``: Debian's chromium loads that HTML (Leaflet served from static/vendor by a
  local route, nothing from the internet) until the grids are on the canvas and every
  grid label exists: what a planner waits for. Target 5 s.

One line per case: median, min, target, PASS/FAIL, then CPU count and library versions.
"""

from __future__ import annotations

import os
import pickle
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402
import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402

from gridgeo import maps  # noqa: E402
from gridgeo.partition import partition  # noqa: E402
from gridgeo.synthetic import make_district  # noqa: E402

RUNS = 3
TARGET_BROWSER_S = 5.0
CHROMIUM = "/usr/bin/chromium"


def city_plan() -> tuple[object, object]:
    """The ten-times city and its default plan (cached in the temp folder: partition takes minutes)."""
    cache = Path(tempfile.gettempdir()) / "gridgeo_bench_maps_city10.pkl"
    if cache.exists():
        with cache.open("rb") as fh:
            return pickle.load(fh)  # type: ignore[no-any-return]
    city = make_district(scale=10, with_cases=False, with_staff=False)
    print("partitioning the ten-times city (once) …", file=sys.stderr)
    result = partition(city.communities, city.buildings, city.streets, seed=0, workers=max(1, os.cpu_count() or 1))
    with cache.open("wb") as fh:
        pickle.dump((city, result), fh)
    return city, result


def timed(fn: object, runs: int = RUNS) -> tuple[list[float], object]:
    out = fn()  # type: ignore[operator]  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return times, out


def browser_draw(html: str, n_labels: int, runs: int = RUNS) -> list[float]:
    """Seconds from loading the map page to grids on the canvas and every grid label placed."""
    from playwright.sync_api import sync_playwright

    vendor = ROOT / "static"

    def route(r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        if "/app/static/" in url:
            path = vendor / url.split("/app/static/", 1)[1]
            r.fulfill(path=str(path))  # type: ignore[attr-defined]
        elif url.startswith("http://gridgeo.local/"):
            r.fulfill(body=html, content_type="text/html; charset=utf-8")  # type: ignore[attr-defined]
        else:
            r.abort()  # type: ignore[attr-defined]

    times = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for i in range(runs + 1):
                page = b.new_page(viewport={"width": 1100, "height": 600})
                page.route("**/*", route)
                t0 = time.perf_counter()
                page.goto("http://gridgeo.local/map.html", wait_until="commit")
                page.wait_for_function(
                    "n => document.querySelectorAll('.gridgeo-label.grid').length === n"
                    " && document.querySelector('.leaflet-overlay-pane canvas') !== null", arg=n_labels,
                    timeout=120_000)
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                if i:  # the first load warms the browser's caches
                    times.append(time.perf_counter() - t0)
                page.close()
        finally:
            b.close()
    return times


def line(case: str, times: list[float], target: float | None) -> str:
    med, low = statistics.median(times), min(times)
    verdict = "" if target is None else f"  target < {target:g} s  {'PASS' if med < target else 'FAIL'}"
    return f"maps {case:<34} median {med:6.2f} s  min {low:6.2f} s{verdict}"


def main() -> int:
    city, result = city_plan()
    grids = result.grids  # type: ignore[attr-defined]
    comms, streets, buildings = city.communities, city.streets, city.buildings  # type: ignore[attr-defined]
    sizes = f"{len(comms)} communities, {len(grids):,} grids, {len(buildings):,} buildings"
    t_layers, layers = timed(lambda: maps.grid_layers(grids, comms, streets, buildings=buildings, lang="zh"))
    t_html, html = timed(lambda: maps.grid_map(layers).get_root().render())  # type: ignore[arg-type]
    t_browser = browser_draw(html, len(grids))  # type: ignore[arg-type]
    print(line("ten-times city: grid_layers", t_layers, None))
    print(line("ten-times city: folium HTML", t_html, None))
    print(line("ten-times city: browser draw (planner map)", t_browser, TARGET_BROWSER_S))
    print(f"  ({sizes}; HTML {len(html.encode()) / 2**20:.1f} MB; {os.cpu_count()} cpu shared, machine loaded; "  # type: ignore[union-attr]
          f"python {platform.python_version()}, geopandas {gpd.__version__}, shapely {shapely.__version__}, "
          f"folium {folium.__version__})")
    return 0 if statistics.median(t_browser) < TARGET_BROWSER_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
