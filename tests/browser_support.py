"""Browser-test support: a Streamlit server, Debian's chromium, offline pages and the page standard.

The fixtures ``server`` and ``browser`` are registered in ``conftest.py`` so every
page's browser test shares them; ``offline_page`` records blocked requests so a
test can assert the page asked the internet for nothing.

The page standard (issue 15) every page's browser test applies, in both languages::

    page = offline_page(browser, blocked)
    open_page(page, server, "planner", lang="zh", heading=t("planner.title", "zh"))
    ...                                        # drive the page until its map and figures show
    report = check_page_standard(page, "zh", name="planner", data_values=names_and_ids)
    assert report.problems == [], report.problems
    assert blocked == []

``check_page_standard`` waits for every map on the page to draw, saves a full-page
screenshot to ``tests/artifacts/<name>_<lang>.png`` (git-ignored; look at it), and
collects: English words on a Chinese page outside data values and ``ALLOWED_WORDS``
(``english_words_outside_allowlist``), any visible map label that a control or another
label overlaps (``overlapping_labels``), a map that drew nothing (``map_drawn``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
ARTIFACTS = ROOT / "tests" / "artifacts"

#: Latin words a Chinese page may show, and why. Everything else in Latin letters on a zh page
#: must be a data value (an id, a file name the user chose) passed as ``data_values``.
ALLOWED_WORDS: dict[str, str] = {
    "Leaflet": "map attribution (Leaflet's licence asks for it)",
    "OpenStreetMap": "name of the optional tile layer and its attribution",
    "English": "the language switch offers English in English",
    "GeoJSON": "file format name", "GeoPackage": "file format name", "Shapefile": "file format name",
    "CSV": "file format name", "Excel": "file format name", "PNG": "file format name (the grid sheet preview)",
    "PDF": "file format name (the grid sheets download)", "XLSX": "file format name", "zip": "file extension", "geojson": "file name",
    "csv": "file name", "gpkg": "file extension", "xlsx": "file extension", "json": "file extension",
    "WGS": "coordinate system name (WGS-84)", "GCJ": "coordinate system name (GCJ-02)",
    "BD": "coordinate system name (BD-09)", "EPSG": "coordinate system code",
    "Polsby": "name of the compactness index", "Popper": "name of the compactness index",
    "Getis": "name of the hotspot statistic (Getis–Ord Gi*)", "Ord": "name of the hotspot statistic",
    "Gi": "name of the hotspot statistic (Gi*)", "Benjamini": "name of the FDR correction (Benjamini–Hochberg)",
    "Hochberg": "name of the FDR correction", "Mann": "name of the trend test (Mann–Kendall)",
    "Kendall": "name of the trend test",
    "GB": "prefix of a national standard's number (GB 50180-2018)",
    "QGIS": "name of the GIS software the export page says opens its files", "ArcGIS": "likewise",
    "HiGHS": "name of the staffing solver (the method line names it)", "networkx": "name of the staffing solver's library",
    "gridgeo": "the product's name", "MB": "file size unit", "km": "unit", "m": "unit",
    "grids": "download file name (grids.geojson)", "assignments": "download file name (assignments.csv)",
}
_LATIN = re.compile(r"[A-Za-z][A-Za-z'’]+")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_fixture() -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free port, wait for /_stcore/health, stop it afterwards."""
    port = _free_port()
    log = open(f"/tmp/gridgeo_streamlit_{port}.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.runOnSave", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def browser_fixture() -> Iterator[object]:
    """Launch Debian's chromium (Playwright cannot download its own browser here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def offline_page(browser: object, blocked: list[str], *, width: int = 1400, height: int = 2400) -> object:
    """A new page (locale zh-CN) whose non-local requests are aborted and appended to ``blocked``."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")  # type: ignore[attr-defined]

    def route(r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about") or parsed.hostname in LOCAL_HOSTS:
            r.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            r.abort()  # type: ignore[attr-defined]

    context.route("**/*", route)
    return context.new_page()


def set_language(page: Any, lang: str) -> None:
    """Switch the app's language with the sidebar radio (中文 / English) and wait for the rerun."""
    label = "English" if lang == "en" else "中文"
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text(label, exact=True).click()
    page.wait_for_timeout(500)
    wait_idle(page)


def wait_idle(page: Any, timeout_ms: int = 600_000) -> None:
    """Wait until Streamlit has finished running the script (no running indicator)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.trim()",
        timeout=timeout_ms)


def wait_maps(page: Any, n: int = 1, timeout_ms: int = 300_000) -> None:
    """Wait until the page shows exactly ``n`` map iframes for 2 s running (a rerun keeps the stale
    one for a while, and the new one may appear after the script has finished)."""
    js = f"() => document.querySelectorAll('{MAP_IFRAME}').length"
    deadline = time.monotonic() + timeout_ms / 1000
    stable = 0
    while time.monotonic() < deadline:
        stable = stable + 1 if page.evaluate(js) == n else 0
        if stable >= 4:
            return
        page.wait_for_timeout(500)
    raise TimeoutError(f"the page did not settle on {n} map(s)")


def english_words_outside_allowlist(text: str, data_values: Iterable[str] = (),
                                    allowed: Iterable[str] = ALLOWED_WORDS) -> list[str]:
    """Latin-letter words in ``text`` that are neither allowed nor part of a data value.

    ``data_values`` are strings from the user's data shown on the page (names, ids, file
    names): any word inside one of them is fine. Comparison ignores case for the allow-list.
    """
    allow = {w.lower() for w in allowed}
    data_words = {w.lower() for v in data_values for w in _LATIN.findall(str(v))}
    found = []
    for word in _LATIN.findall(text):
        key = word.lower()
        if key not in allow and key not in data_words:
            found.append(word)
    return sorted(set(found))


_OVERLAP_JS = """
() => {
  const vis = el => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
                      return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0; };
  const name = el => (el.className && el.className.baseVal === undefined ? el.className : 'el') + ':'
                     + (el.innerText || '').trim().slice(0, 20);
  const hit = (a, b) => a.left < b.right - 0.5 && a.right > b.left + 0.5 && a.top < b.bottom - 0.5
                        && a.bottom > b.top + 0.5;
  const frame = document.querySelector('.leaflet-container').getBoundingClientRect();
  const labels = [...document.querySelectorAll('.gridgeo-label')].filter(vis).filter(el => {
      const r = el.getBoundingClientRect();
      return r.right > frame.left && r.left < frame.right && r.bottom > frame.top && r.top < frame.bottom; });
  const controls = [...document.querySelectorAll('.leaflet-control')].filter(vis);
  const out = [];
  labels.forEach((a, i) => {
    const ra = a.getBoundingClientRect();
    controls.forEach(c => { if (hit(ra, c.getBoundingClientRect())) out.push(name(c) + ' covers ' + name(a)); });
    labels.slice(i + 1).forEach(b => { if (hit(ra, b.getBoundingClientRect())) out.push(name(a) + ' overlaps ' + name(b)); });
  });
  return {overlaps: out, visible: labels.length};
}
"""


def overlapping_labels(frame: Any) -> tuple[list[str], int]:
    """Visible map labels that a map control (legend, layer switch, zoom, scale, attribution) or
    another label overlaps, and how many labels are visible. ``frame`` is a Playwright Frame."""
    result = frame.evaluate(_OVERLAP_JS)
    return list(result["overlaps"]), int(result["visible"])


_DRAWN_JS = """
() => {
  const canvases = [...document.querySelectorAll('.leaflet-overlay-pane canvas')];
  let inked = 0;
  for (const c of canvases) {
    if (!c.width || !c.height) continue;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4 * 97) { if (data[i] > 0) inked++; }
  }
  const svg = document.querySelectorAll('.leaflet-overlay-pane path').length;
  return {canvases: canvases.length, inked: inked, svg_paths: svg};
}
"""


def map_drawn(frame: Any) -> dict[str, int]:
    """What a map drew: canvases, sampled non-transparent canvas pixels, SVG paths."""
    return dict(frame.evaluate(_DRAWN_JS))


_VISIBLE_TEXT_JS = """
() => {
  const skip = '[data-testid="stIconMaterial"], [data-testid="stSkipToContent"], script, style, noscript, '
             + '[aria-hidden="true"], .material-icons, .material-symbols-rounded';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest(skip)) continue;
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || box.width <= 1 || box.height <= 1) continue;
    out.push(node.textContent.trim());
  }
  return out.join('\\n');
}
"""


def visible_text(frame: Any) -> str:
    """The text a person sees in ``frame`` (a Page or Frame): no icon ligatures ("grid_view"),
    no visually hidden accessibility links, nothing hidden or collapsed."""
    return str(frame.evaluate(_VISIBLE_TEXT_JS))


def map_frames(page: Any) -> list[Any]:
    """The Playwright Frames of every folium map shown on the page (not stale, hidden ones)."""
    out = []
    for handle in page.query_selector_all(MAP_IFRAME):
        box = handle.bounding_box()
        frame = handle.content_frame()
        if box and box["width"] > 0 and box["height"] > 0 and frame and frame.query_selector(".leaflet-container"):
            out.append(frame)
    return out


@dataclass
class PageReport:
    """What ``check_page_standard`` found; ``problems`` empty means the page meets the standard."""

    screenshot: Path
    problems: list[str] = field(default_factory=list)
    english: list[str] = field(default_factory=list)
    maps: list[dict[str, int]] = field(default_factory=list)
    labels_visible: list[int] = field(default_factory=list)


def check_page_standard(page: Any, lang: str, *, name: str, data_values: Iterable[str] = (),
                        maps: int = 1, allowed: Iterable[str] = ALLOWED_WORDS) -> PageReport:
    """Apply the page standard to what ``page`` shows now; save ``tests/artifacts/<name>_<lang>.png``.

    ``maps`` is how many folium maps the page must show (0 for a page without one).
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}_{lang}.png"
    report = PageReport(shot)
    page.mouse.move(1, 1)                        # no tooltip left open by the last click
    frames: list[Any] = []
    for _ in range(60):
        frames = map_frames(page)
        if len(frames) >= maps:
            break
        page.wait_for_timeout(1000)
    if len(frames) < maps:
        report.problems.append(f"{len(frames)} map(s) drawn, {maps} expected")
    for frame in frames:
        frame.wait_for_timeout(800)              # the label declutter runs after the map settles
        drawn = map_drawn(frame)
        report.maps.append(drawn)
        if drawn["inked"] == 0 and drawn["svg_paths"] == 0:
            report.problems.append(f"a map drew nothing: {drawn}")
        overlaps, visible = overlapping_labels(frame)
        report.labels_visible.append(visible)
        report.problems += [f"label overlap: {o}" for o in overlaps]
    if lang == "zh":
        texts = [visible_text(page)] + [visible_text(f) for f in frames]
        report.english = english_words_outside_allowlist("\n".join(texts), data_values, allowed)
        report.problems += [f"English on the Chinese page: {w}" for w in report.english]
    # Streamlit scrolls inside its main section, so a "full page" screenshot is one viewport: make the
    # viewport as tall as the page for the shot (the map iframe re-renders: wait for it), then restore it
    viewport = page.viewport_size
    tall = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                         " if (m) { m.scrollTop = 0; } return m ? m.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": viewport["width"], "height": min(max(int(tall) + 40, viewport["height"]), 8000)})
    for _ in range(30):
        if len(map_frames(page)) >= maps and all(f.query_selector(".gridgeo-label, canvas") for f in map_frames(page)):
            break
        page.wait_for_timeout(1000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size(viewport)
    return report
