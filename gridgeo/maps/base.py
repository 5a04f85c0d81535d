"""Build folium maps from gridgeo layers: slim GeoJSON, named styles, local assets.

Pages only call ``st_folium`` on what this module returns. The work is split in
two so pages can cache the expensive half: ``*_layers`` turn GeoDataFrames into
small, escaped, rounded GeoJSON dicts (cacheable, picklable); ``*_map`` turn
those dicts into a ``folium.Map`` whose JS/CSS point at ``/app/static/vendor``
(installed by ``scripts/vendor_static.sh``), so the map draws with no internet.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import branca.colormap
import folium
import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from gridgeo import crs
from gridgeo.i18n import Lang, t
from gridgeo.io import District

__all__ = [
    "VENDOR_URL", "LOCAL_ASSETS", "HOUSEHOLD_BREAKS", "HOUSEHOLD_COLOURS", "STATUS_COLOURS",
    "OverviewLayers", "GridLayers", "Legend", "lat_lon", "bounds_lat_lon", "household_class",
    "household_colour", "household_class_labels",
    "slim_geojson", "building_style", "community_style", "street_style", "station_style", "grid_style",
    "highlight_style", "use_local_assets", "base_map", "overview_layers", "overview_map",
    "grid_layers", "grid_map", "GRID_PALETTE", "STATUS_BORDERS", "DEDICATED_FILL", "grid_colour_index", "grid_border_style",
    "LabelLayer", "Declutter", "grid_label_rows", "grid_identity", "MetricScale", "FitOnResize", "LazyGeoJson",
    "MAX_EAGER_BUILDINGS", "LEGEND_PADDING", "finish_map",
]

GeoJSON = dict[str, Any]

#: Where Streamlit serves ``static/vendor`` (``[server] enableStaticServing``).
VENDOR_URL = "/app/static/vendor"

#: folium asset name -> local copy. Every asset a map element asks for must be
#: here or in ``_UNUSED_ASSETS``: one unreachable script stops the whole map.
LOCAL_ASSETS: dict[str, str] = {
    "leaflet": f"{VENDOR_URL}/leaflet/leaflet.js",
    "leaflet_css": f"{VENDOR_URL}/leaflet/leaflet.css",
    "leaflet-heat.js": f"{VENDOR_URL}/leaflet.heat/leaflet-heat.js",
}

# folium.Map asks for these for awesome-markers popups and icons; our maps use
# circle markers, div icons and GeoJSON tooltips, which need none of them.
_UNUSED_ASSETS = frozenset({
    "jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
    "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css",
})

#: Upper bounds (exclusive) of the building household classes; the last class is open.
HOUSEHOLD_BREAKS: tuple[int, ...] = (50, 100, 200, 300)
#: One colour per household class (ColorBrewer YlOrRd, 5 classes).
HOUSEHOLD_COLOURS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Grid fill by household status against the bounds.
STATUS_COLOURS: dict[str, str] = {"under": "#6baed6", "within": "#74c476", "over": "#fb6a4a"}
_MISSING_COLOUR = "#bdbdbd"
#: Grid fills: neighbours never share one (greedy colouring of the adjacency graph). Pastel,
#: so labels, buildings and the status borders stay readable on top (ColorBrewer Set3/Pastel1).
GRID_PALETTE: tuple[str, ...] = ("#8dd3c7", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69",
                                 "#fccde5", "#d9d9d9", "#ccebc5", "#ffed6f")
#: Grid outline by household status: within bounds thin and dark; out of bounds thick, coloured, dashed.
STATUS_BORDERS: dict[str, dict[str, Any]] = {
    "within": {"color": "#404040", "weight": 1.2, "dashArray": None},
    "under": {"color": "#1f5fbf", "weight": 3.5, "dashArray": "7 5"},
    "over": {"color": "#c0182b", "weight": 3.5, "dashArray": "2 5"},
    # dedicated grids (专属网格: school, hospital, market, park) are exempt from the bounds: drawn apart,
    # a purple dash-dot outline over a lavender fill, whatever their households
    "exempt": {"color": "#54278f", "weight": 3.0, "dashArray": "12 4 2 4"},
}
#: Fill of a dedicated grid (instead of the neighbour-colouring palette).
DEDICATED_FILL = "#9e9ac8"
#: Leaflet fitBounds padding (px): the district is fitted left of the legend column, below
#: the zoom buttons, so no feature or label starts under a control.
LEGEND_PADDING: tuple[tuple[int, int], tuple[int, int]] = ((56, 24), (215, 24))

#: Street stroke by road class: (colour, weight in px).
_STREET_STROKE: dict[str, tuple[str, float]] = {
    "arterial": ("#7f7f7f", 4.0), "secondary": ("#9e9e9e", 2.5), "lane": ("#bdbdbd", 1.2),
}
_STATION_COLOURS: dict[str, str] = {
    "party_mass_centre": "#c51b7d", "doorstep_station": "#4d9221",
    "compound_post": "#2166ac", "other": "#636363",
}

_PRECISION = 6  # decimals kept in coordinates: ~0.1 m, RFC 7946 §11.2


# --- coordinates ----------------------------------------------------------------

def lat_lon(lon: float, lat: float) -> list[float]:
    """Return ``[lat, lon]``: the one place GeoJSON order turns into Leaflet order.

    GeoJSON and shapely are (lon, lat); folium's ``location``, bounds and heat rows
    are [lat, lon]. Swapping anywhere else puts Beijing at latitude 116.
    """
    return [float(lat), float(lon)]


def bounds_lat_lon(total_bounds: Sequence[float]) -> list[list[float]]:
    """Turn ``(lon_min, lat_min, lon_max, lat_max)`` into Leaflet's ``[[s, w], [n, e]]``."""
    lon_min, lat_min, lon_max, lat_max = (float(v) for v in total_bounds)
    return [lat_lon(lon_min, lat_min), lat_lon(lon_max, lat_max)]


# --- classes and styles -----------------------------------------------------------

def household_class(households: float | None) -> int | None:
    """Return the index of the household class (see ``HOUSEHOLD_BREAKS``), None if unknown."""
    if households is None or (isinstance(households, float) and math.isnan(households)):
        return None
    return int(np.searchsorted(HOUSEHOLD_BREAKS, households, side="right"))


def household_colour(households: float | None) -> str:
    """Return the fill colour of a building with ``households`` households."""
    cls = household_class(households)
    return _MISSING_COLOUR if cls is None else HOUSEHOLD_COLOURS[cls]


def household_class_labels() -> list[str]:
    """Return the class ranges as text ("< 50", "50–99", …, "≥ 300")."""
    labels = [f"< {HOUSEHOLD_BREAKS[0]}"]
    labels += [f"{lo}–{hi - 1}" for lo, hi in zip(HOUSEHOLD_BREAKS, HOUSEHOLD_BREAKS[1:])]
    labels.append(f"≥ {HOUSEHOLD_BREAKS[-1]}")
    return labels


def building_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Style a building (footprint, or circle marker for a point) from its precomputed ``fill``."""
    return {"fillColor": feature["properties"].get("fill", _MISSING_COLOUR), "fillOpacity": 0.9,
            "color": "#6b4f2a", "weight": 0.6, "radius": 4}


def community_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Style a community: a dark outline over a faint fill (so it can be hovered)."""
    return {"fillColor": feature["properties"].get("fill", "#ffffff"), "fillOpacity": 0.08,
            "color": "#252525", "weight": 2.5, "dashArray": "6 4"}


def street_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Style a street from its precomputed ``stroke`` and ``weight`` properties."""
    p = feature["properties"]
    return {"color": p.get("stroke", "#bdbdbd"), "weight": p.get("weight", 1.5), "opacity": 0.9}


def station_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Style a station circle from its precomputed ``fill`` property."""
    return {"fill": True, "fillColor": feature["properties"].get("fill", "#636363"), "fillOpacity": 0.95,
            "color": "#ffffff", "weight": 1.5, "radius": 5}


def grid_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Style a grid: ``fill`` (its colour class, neighbours differ) and a border by ``status``."""
    p = feature["properties"]
    border = STATUS_BORDERS.get(p.get("status") or "within", STATUS_BORDERS["within"])
    dedicated = p.get("status") == "exempt"
    return {"fillColor": p.get("fill", _MISSING_COLOUR), "fillOpacity": 0.7 if dedicated else 0.55,
            "opacity": 0.95, **border}


def grid_border_style(status: str | None) -> str:
    """CSS of a legend swatch drawn like a grid of ``status`` (its border)."""
    b = STATUS_BORDERS.get(status or "within", STATUS_BORDERS["within"])
    line = ("dashed" if b["dashArray"] and b["dashArray"].startswith(("7", "12")) else "dotted" if b["dashArray"]
            else "solid")
    background = DEDICATED_FILL if status == "exempt" else "#f4f4f4"
    return f"border:{max(1, round(b['weight'] * 0.8))}px {line} {b['color']};background:{background}"


def grid_colour_index(grids: gpd.GeoDataFrame) -> pd.Series:
    """Give every grid a colour index so that grids sharing an edge or corner differ.

    Greedy colouring (largest degree first) of the adjacency graph: planar maps need at
    most a handful of colours, well within ``GRID_PALETTE``. Grids closer than about
    10 cm count as touching, so a city's own grids file with digitising gaps still gets
    distinct neighbours. Returns a Series aligned on ``grids.index`` (0, 1, 2 …).
    """
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(range(len(grids)))
    if len(grids) > 1:
        left, right = grids.sindex.query(grids.geometry.values, predicate="dwithin", distance=1e-6)
        graph.add_edges_from((int(a), int(b)) for a, b in zip(left, right) if a < b)
    colours = nx.coloring.greedy_color(graph, strategy="largest_first")
    return pd.Series([colours[i] for i in range(len(grids))], index=grids.index, dtype="int64")


def highlight_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Thicken the outline of the hovered feature."""
    return {"weight": 3, "color": "#000000"}


# --- slim GeoJSON -------------------------------------------------------------------

def _json_value(value: Any) -> Any:
    """Turn a cell into a JSON value; text is HTML-escaped (Leaflet renders it as HTML)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 4)
    return html.escape(str(value))


def _round_coords(geoms: np.ndarray) -> np.ndarray:
    out: np.ndarray = shapely.transform(geoms, lambda xy: np.round(xy, _PRECISION))
    return out


def slim_geojson(gdf: gpd.GeoDataFrame, fields: Sequence[str], *, tolerance_m: float = 0.0,
                 coverage: bool = False) -> GeoJSON:
    """Return a small GeoJSON dict of ``gdf`` keeping only ``fields``.

    The index counts as a field under its name (``building_id`` …). Missing
    optional fields are skipped, empty geometries dropped, text escaped,
    geometry simplified in metres (``coverage=True`` keeps shared edges shared,
    for communities and grids) and coordinates rounded to 6 decimals. The input
    is not modified.
    """
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise ValueError(f"maps expect EPSG:4326 frames, got {gdf.crs}; call .to_crs(4326) first")
    frame = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    index_name = frame.index.name
    props = pd.DataFrame(index=frame.index)
    for name in fields:
        if name == index_name:
            props[name] = frame.index.astype(str)
        elif name in frame.columns and name != frame.geometry.name:
            props[name] = frame[name]
    geoms = frame.geometry.values
    if tolerance_m > 0 and len(frame):
        metric = frame.geometry.to_crs(crs.metric_crs(frame))
        arr = np.asarray(metric.values, dtype=object)
        if coverage and bool(shapely.coverage_is_valid(arr)):
            simplified = shapely.coverage_simplify(arr, tolerance_m)
        else:
            simplified = shapely.simplify(arr, tolerance_m, preserve_topology=True)
        geoms = gpd.GeoSeries(simplified, crs=metric.crs, index=frame.index).to_crs(4326).values
    rounded = _round_coords(np.asarray(geoms, dtype=object))
    records = props.to_dict(orient="records")
    features = [
        {"type": "Feature",
         "properties": {k: _json_value(v) for k, v in rec.items()},
         "geometry": shapely.geometry.mapping(g)}
        for rec, g in zip(records, rounded) if g is not None and not g.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


def _with_props(gdf: gpd.GeoDataFrame, **columns: Any) -> gpd.GeoDataFrame:
    """Return a copy with extra property columns (never touch the caller's frame)."""
    out = gdf.copy()
    for name, values in columns.items():
        out[name] = values
    return out


# --- offline assets -----------------------------------------------------------------

def _walk(element: Any) -> Iterator[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def _localise(links: Sequence[tuple[str, str]], element: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, url in links:
        if name in LOCAL_ASSETS:
            out.append((name, LOCAL_ASSETS[name]))
        elif url.startswith("/app/static/"):
            out.append((name, url))
        elif name not in _UNUSED_ASSETS:
            raise ValueError(
                f"{type(element).__name__} needs {name!r} from {url}, which has no local copy; "
                "add it to scripts/vendor_static.sh and maps.LOCAL_ASSETS"
            )
    return out


def use_local_assets(m: folium.Map) -> folium.Map:
    """Point the map's and every element's JS/CSS at ``/app/static/vendor``; return ``m``.

    streamlit-folium loads each element's ``default_js``/``default_css`` into the
    map iframe, one after the other; a single unreachable CDN link leaves the map
    blank. Raises ``ValueError`` for an element whose assets are not vendored,
    and for branca colour maps (streamlit-folium adds d3 from a CDN for them).
    """
    for element in _walk(m):
        if isinstance(element, branca.colormap.ColorMap):
            raise ValueError("branca colour maps pull d3 from a CDN; use maps.Legend instead")
        if "default_js" in dir(element):
            element.default_js = _localise(element.default_js, element)
            element.default_css = _localise(element.default_css, element)
    return m


# --- map parts ------------------------------------------------------------------------

class Legend(MacroElement):
    """A fixed box of swatches, drawn by Leaflet itself (no d3, no CDN).

    ``sections`` are ``(title, items)``; an item is ``(colour, label)`` or
    ``(colour, label, css)`` where ``css`` styles the swatch (e.g. a grid's border).
    The box sits at the bottom right; maps fit their data left of it
    (``LEGEND_PADDING``), so it hides no feature or label at the first view.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "gridgeo-legend");
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, ...]]]], *,
                 circles: Sequence[bool] = ()) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        parts = []
        for i, (title, items) in enumerate(sections):
            radius = "50%" if i < len(circles) and circles[i] else "2px"
            rows = []
            for item in items:
                colour, label = item[0], item[1]
                css = item[2] if len(item) > 2 else f"border:1px solid #777;background:{colour}"
                rows.append(f'<div><span style="display:inline-block;width:13px;height:13px;margin-right:6px;'
                            f'vertical-align:middle;box-sizing:border-box;border-radius:{radius};{css}"></span>'
                            f'{html.escape(label)}</div>')
            parts.append(f"<b>{html.escape(title)}</b>{''.join(rows)}")
        self.html = (
            '<div style="background:rgba(255,255,255,0.94);padding:6px 9px;border-radius:4px;max-width:190px;'
            'font:12px/1.55 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.3)">'
            + '<div style="height:4px"></div>'.join(parts) + "</div>"
        )


class MetricScale(MacroElement):
    """A scale bar in metres and kilometres only (Leaflet's default adds feet and miles)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true, maxWidth: 140, position: "bottomleft"})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "MetricScale"


class PlainAttribution(MacroElement):
    """The attribution line says "Leaflet" without the flag Leaflet 1.9 puts before it.

    A national flag on a street office's map is not ours to show; the credit to Leaflet
    (its licence asks for it) stays, as a plain link.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.setPrefix(
                '<a href="https://leafletjs.com" title="Leaflet">Leaflet</a>');
        }
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "PlainAttribution"


class LabelLayer(MacroElement):
    """Text labels as non-interactive div markers, created in one loop (small HTML for 1,000s of labels).

    ``labels`` are ``(lon, lat, html, priority, size_m)``: ``html`` must already be
    escaped; ``size_m`` (the labelled feature's smaller extent in metres, 0 = always)
    lets ``Declutter`` show the label only once the feature is wider than its text.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var rows = {{ this.rows|tojson }};
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i];
                // above station icons and other markers (by priority: community names on top), so no icon hides a label
                L.marker([r[0], r[1]], {interactive: false, keyboard: false, zIndexOffset: 10000 * (1 + r[3]),
                    icon: L.divIcon({className: "gridgeo-label-icon", iconSize: [0, 0], iconAnchor: [0, 0],
                        html: '<div class="gridgeo-label ' + {{ this.css_class|tojson }} + '" data-prio="' + r[3]
                              + '" data-size="' + r[4] + '">' + r[2] + '</div>'})
                }).addTo({{ this._parent.get_name() }});
            }
        })();
        {% endmacro %}
    """)

    def __init__(self, labels: Sequence[tuple[float, float, str, int, float]], *, css_class: str = "") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "LabelLayer"
        self.css_class = css_class
        self.rows = [[round(lat, _PRECISION), round(lon, _PRECISION), text, prio, round(size, 1)]
                     for lon, lat, text, prio, size in labels]


class FitOnResize(MacroElement):
    """Fit the district again when the map's frame changes size, until the user moves the map.

    Streamlit sizes the map's iframe after Leaflet's first ``fitBounds``, which then
    leaves the district small in a corner; refitting on ``resize`` fixes that.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var moved = false;
            var box = map.getContainer();
            ["mousedown", "wheel", "touchstart", "keydown"].forEach(function (ev) {
                box.addEventListener(ev, function () { moved = true; }, {passive: true});
            });
            function fit() {
                if (!moved) {
                    map.fitBounds({{ this.bounds|tojson }}, {paddingTopLeft: {{ this.top_left|tojson }},
                                  paddingBottomRight: {{ this.bottom_right|tojson }}, animate: false});
                }
            }
            map.on("resize", fit);
            // streamlit-folium sets its own view after the map script ran: fit after it, too
            [0, 200, 800].forEach(function (ms) { setTimeout(function () { map.invalidateSize(); fit(); }, ms); });
        })();
        {% endmacro %}
    """)

    def __init__(self, bounds: list[list[float]], padding: tuple[tuple[int, int], tuple[int, int]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "FitOnResize"
        self.bounds = bounds
        self.top_left = list(padding[0])
        self.bottom_right = list(padding[1])


class Declutter(MacroElement):
    """Hide labels that would overlap a control, a higher-priority label, or not fit their feature.

    Runs after every zoom, pan and layer toggle, and whenever the frame, a control or the
    fonts settle (a first run before then hid every label of a map): labels are taken by priority
    (community names before grid labels); a label is hidden when its box meets a
    map control (legend, layer switch, zoom, scale, attribution) or a label
    already shown, or when ``data-size`` metres are narrower than the text at this
    zoom. So at any zoom every visible label is readable and nothing covers it.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            function overlaps(a, b) {
                return a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top;
            }
            function run() {
                var box = map.getContainer();
                var frame = box.getBoundingClientRect();
                var taken = [];
                box.querySelectorAll(".leaflet-control").forEach(function (c) {
                    var r = c.getBoundingClientRect();
                    if (r.width > 0 && r.height > 0) { taken.push(r); }
                });
                var labels = Array.prototype.slice.call(box.querySelectorAll(".gridgeo-label"));
                labels.sort(function (a, b) { return (+b.dataset.prio || 0) - (+a.dataset.prio || 0); });
                var lat = map.getCenter().lat * Math.PI / 180;
                var metresPerPx = 40075016.686 * Math.cos(lat) / Math.pow(2, map.getZoom() + 8);
                // read every box first, then write: one layout for 1,000s of labels, not one per label
                var rects = labels.map(function (el) { return el.getBoundingClientRect(); });
                var hidden = labels.map(function (el, k) {
                    var r = rects[k];
                    if (r.right < frame.left || r.left > frame.right || r.bottom < frame.top || r.top > frame.bottom) {
                        return true;
                    }
                    var size = +el.dataset.size || 0;
                    if (size > 0 && size / metresPerPx < Math.max(r.width, r.height) * 1.1) { return true; }
                    for (var i = 0; i < taken.length; i++) { if (overlaps(r, taken[i])) { return true; } }
                    taken.push(r);
                    return false;
                });
                labels.forEach(function (el, k) {
                    var v = hidden[k] ? "hidden" : "visible";
                    if (el.style.visibility !== v) { el.style.visibility = v; }
                });
            }
            var pending = null;
            function later() { if (pending) { clearTimeout(pending); } pending = setTimeout(run, 30); }
            map.on("zoomend moveend overlayadd overlayremove resize", later);
            window.addEventListener("load", later);
            // a run while the frame, the controls' styles or the fonts are still settling hides
            // labels that fit once they have: run again when any of them changes, and a few
            // times more while the page settles (seen in the browser tests: all labels of a map
            // left hidden, their positions right, until the next pan)
            map.whenReady(function () { [60, 400, 1200, 3000].forEach(function (ms) { setTimeout(run, ms); }); });
            if (window.ResizeObserver) {
                var watch = new ResizeObserver(later);
                watch.observe(map.getContainer());
                map.getContainer().querySelectorAll(".leaflet-control").forEach(function (c) { watch.observe(c); });
            }
            if (document.fonts && document.fonts.ready) { document.fonts.ready.then(later); }
        })();
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Declutter"


_MAP_CSS = """<style>
.leaflet-container { background: #f6f5f1; }
.gridgeo-label { position: absolute; transform: translate(-50%, -50%); display: inline-block;
  font: 600 13px/1.2 "Noto Sans CJK SC", "Noto Sans SC", sans-serif; color: #1a1a1a;
  white-space: nowrap; text-align: center; pointer-events: none;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; }
.gridgeo-label.grid { font: 500 11px/1.15 "Noto Sans CJK SC", "Noto Sans SC", sans-serif; color: #222; }
.gridgeo-label.grid b { font-weight: 700; font-size: 12px; }
.gridgeo-label-icon { background: none; border: none; }
.leaflet-tooltip, .leaflet-control-layers { font: 13px/1.5 "Noto Sans CJK SC", "Noto Sans SC", sans-serif; }
.leaflet-control-layers label { margin-bottom: 0; }
.leaflet-control-layers-selector { margin-right: 4px; }
</style>"""


def base_map(bounds: list[list[float]], *, lang: Lang = "zh", osm: bool = False,
             padding: tuple[tuple[int, int], tuple[int, int]] = LEGEND_PADDING, canvas: bool = True) -> folium.Map:
    """Return an empty map fitted to ``bounds`` ([[s, w], [n, e]]), with no tiles.

    The district's own streets and outlines are the base layer; OpenStreetMap is
    an overlay that stays off unless ``osm`` (it needs the internet). Vector
    layers draw on a canvas (fast with 10,000s of features); the scale bar is
    metric only (``canvas=False`` keeps SVG for theme maps of a few hundred grids, whose
    features tests and clicks address one by one); ``padding`` ((left, top), (right, bottom) px) keeps the fitted
    district clear of the zoom buttons and the legend column.
    """
    (south, west), (north, east) = bounds
    # zoomSnap 0.1: a district a little wider than one zoom level still fills the frame
    centre = lat_lon(round((west + east) / 2, _PRECISION), round((south + north) / 2, _PRECISION))
    m = folium.Map(location=centre, zoom_start=_fit_zoom(bounds, padding),  # type: ignore[arg-type]
                   tiles=None, control_scale=False, zoom_snap=0.1,
                   zoom_delta=0.5, prefer_canvas=canvas)
    folium.TileLayer("OpenStreetMap", name=t("map.osm", lang), overlay=True, show=osm,
                     control=True).add_to(m)
    m.get_root().header.add_child(Element(_MAP_CSS), name="gridgeo_css")  # type: ignore[attr-defined]
    MetricScale().add_to(m)
    PlainAttribution().add_to(m)
    m.fit_bounds(bounds, padding_top_left=padding[0], padding_bottom_right=padding[1])
    FitOnResize(bounds, padding).add_to(m)
    return m


def _fit_zoom(bounds: list[list[float]], padding: tuple[tuple[int, int], tuple[int, int]],
              frame_px: tuple[int, int] = (940, 600)) -> float:
    """The zoom at which ``bounds`` fill a ``frame_px`` map less ``padding`` (web Mercator, 0.1 steps).

    The starting view before Leaflet's own ``fitBounds`` runs (streamlit-folium applies
    ``zoom_start`` after the map script), so the first frame is already the right one.
    """
    (south, west), (north, east) = bounds
    width = max(frame_px[0] - padding[0][0] - padding[1][0], 100)
    height = max(frame_px[1] - padding[0][1] - padding[1][1], 100)

    def y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    dx = max(east - west, 1e-9) / 360.0
    dy = max(y(north) - y(south), 1e-9) / (2 * math.pi)
    zoom = min(math.log2(width / (256 * dx)), math.log2(height / (256 * dy)))
    return max(1.0, min(18.0, math.floor(zoom * 10) / 10))


def finish_map(m: folium.Map) -> folium.Map:
    """Collapsed layer switch, label decluttering, local assets: the last step of every map.

    Every theme map (``maps.cases``, ``maps.coverage`` …) should end with ``return finish_map(m)``
    instead of adding its own ``LayerControl`` and calling ``use_local_assets``.
    """
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    Declutter().add_to(m)
    return use_local_assets(m)


def _geojson_layer(data: GeoJSON, name: str, style: Any, *, fields: Sequence[str] = (),
                   aliases: Sequence[str] = (), show: bool = True, highlight: bool = True,
                   **kwargs: Any) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=name, show=show)
    present = set().union(*(f["properties"] for f in data["features"])) if data["features"] else set()
    keep = [(f, a) for f, a in zip(fields, aliases) if f in present]
    tooltip = (folium.GeoJsonTooltip(fields=[f for f, _ in keep], aliases=[a for _, a in keep],
                                     sticky=True) if keep else None)
    folium.GeoJson(data, name=name, style_function=style,
                   highlight_function=highlight_style if highlight else None,
                   tooltip=tooltip, **kwargs).add_to(group)
    return group


def _labels(points: Sequence[tuple[float, float, str]], name: str, *, priority: int = 2,
            show: bool = True) -> folium.FeatureGroup:
    """Community names as non-interactive text at a point inside each polygon part."""
    group = folium.FeatureGroup(name=name, show=show)
    LabelLayer([(lon, lat, text, priority, 0.0) for lon, lat, text in points]).add_to(group)
    return group


def _label_points(communities: gpd.GeoDataFrame) -> list[tuple[float, float, str]]:
    """A label point in every part of every community: a two-piece community is named twice.

    Parts smaller than 2% of their community's largest part are skipped (slivers
    of digitising), so a label never sits on a speck.
    """
    out: list[tuple[float, float, str]] = []
    for geom, name in zip(communities.geometry, communities["name"]):
        if geom is None or geom.is_empty:
            continue
        parts = list(getattr(geom, "geoms", [geom]))
        largest = max(p.area for p in parts)
        for part in parts:
            if part.area < 0.02 * largest:
                continue
            pt = part.representative_point()
            out.append((round(pt.x, _PRECISION), round(pt.y, _PRECISION), html.escape(str(name))))
    return out


def _street_layer_data(streets: gpd.GeoDataFrame | None) -> GeoJSON | None:
    if streets is None or streets.empty:
        return None
    kinds = streets["kind"] if "kind" in streets.columns else pd.Series("lane", index=streets.index)
    stroke = [_STREET_STROKE.get(str(k), _STREET_STROKE["lane"]) for k in kinds]
    frame = _with_props(streets, stroke=[s[0] for s in stroke], weight=[s[1] for s in stroke])
    return slim_geojson(frame, ["name", "kind", "stroke", "weight"], tolerance_m=2.0)


def _station_layer_data(stations: gpd.GeoDataFrame | None, lang: Lang) -> GeoJSON | None:
    if stations is None or stations.empty:
        return None
    kinds = [k if k in _STATION_COLOURS else "other" for k in stations["kind"].astype(str)]
    frame = _with_props(stations, kind=kinds, fill=[_STATION_COLOURS[k] for k in kinds],
                        kind_label=[t(f"map.station.{k}", lang) for k in kinds])
    return slim_geojson(frame, [stations.index.name or "station_id", "name", "kind", "kind_label", "fill"])


#: Above this many buildings, footprints are drawn as circle markers at a point inside
#: each (an overview of a whole city needs the colour, not the outline, and loads 5x faster).
MAX_FOOTPRINTS = 8000


def _building_layer_data(buildings: gpd.GeoDataFrame) -> GeoJSON:
    b = buildings
    if len(b) > MAX_FOOTPRINTS:
        b = b.set_geometry(b.geometry.representative_point())
    return slim_geojson(
        _with_props(b, fill=[household_colour(h) for h in b["households"].astype("float64")]),
        [b.index.name or "building_id", "name", "households", "units", "compound_id", "fill"],
        tolerance_m=0.5,
    )


def _building_layer(data: GeoJSON, lang: Lang, *, show: bool = True) -> folium.FeatureGroup:
    """Buildings coloured by households: footprints, or circle markers for points (never pins)."""
    return _geojson_layer(data, t("map.buildings", lang), building_style, show=show,
                          fields=["building_id", "name", "households", "units", "compound_id"],
                          aliases=[t("map.building_id", lang), t("map.name", lang), t("map.households", lang),
                                   t("map.units", lang), t("map.compound", lang)],
                          marker=folium.CircleMarker(radius=4, weight=0.6, fill=True))


#: Above this many buildings the grid map leaves the building layer off and builds it only when the
#: user ticks it in the layer switch: 20,000 markers would make the planner wait half a minute.
MAX_EAGER_BUILDINGS = 6000


class LazyGeoJson(MacroElement):
    """A GeoJSON layer built the first time its (hidden) group is switched on in the layer control.

    Same look as ``_building_layer``: circle markers for points, footprints otherwise,
    filled from the precomputed ``fill``; tooltip rows from ``fields``/``aliases``.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }};
            var map = {{ this.map_name }};
            // kept as a string until the layer is first switched on: parsing 20,000 features up front
            // cost the planner map of a whole city about 1.7 s before anything was drawn
            var raw = {{ this.data_js }};
            var fields = {{ this.fields|tojson }}, aliases = {{ this.aliases|tojson }};
            var built = false;
            function style(f) {
                return {fillColor: f.properties.fill || "#bdbdbd", fillOpacity: 0.9, color: "#6b4f2a", weight: 0.6};
            }
            map.on("overlayadd", function (e) {
                if (e.layer !== group || built) { return; }
                built = true;
                var data = JSON.parse(raw);
                if (data.k) {       // points sent as rows [lon, lat, value …] under the keys data.k
                    var keys = data.k;
                    data = {type: "FeatureCollection", features: data.p.map(function (r) {
                        var props = {};
                        keys.forEach(function (k, i) { props[k] = r[i + 2]; });
                        return {type: "Feature", properties: props, geometry: {type: "Point", coordinates: [r[0], r[1]]}};
                    })};
                }
                L.geoJSON(data, {
                    style: style,
                    pointToLayer: function (f, latlng) { return L.circleMarker(latlng, Object.assign({radius: 4}, style(f))); }
                }).bindTooltip(function (layer) {
                    var p = layer.feature.properties;
                    return fields.filter(function (k) { return p[k] !== null && p[k] !== undefined && p[k] !== ""; })
                        .map(function (k, i) { return "<b>" + aliases[fields.indexOf(k)] + "</b> " + p[k]; }).join("<br>");
                }, {sticky: true}).addTo(group);
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, data: GeoJSON, map_name: str, fields: Sequence[str], aliases: Sequence[str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "LazyGeoJson"
        self.data = data
        # one JS string literal of compact UTF-8 JSON (a third smaller than \\uXXXX-escaped Chinese names);
        # <, > and & escaped so the text can never close the script element
        text = json.dumps(json.dumps(_compact(data), ensure_ascii=False, separators=(",", ":")), ensure_ascii=False)
        self.data_js = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
        self.map_name = map_name
        self.fields = list(fields)
        self.aliases = [html.escape(a) for a in aliases]


def _compact(data: GeoJSON) -> Any:
    """Points as rows ``[lon, lat, value …]`` under the property keys ``k`` (a third of the GeoJSON's
    size: no repeated keys); any other geometry leaves the GeoJSON as it is."""
    features = data["features"]
    if not features or any(f["geometry"]["type"] != "Point" for f in features):
        return data
    keys = sorted({k for f in features for k in f["properties"]})
    rows = [[*f["geometry"]["coordinates"][:2], *(f["properties"].get(k) for k in keys)] for f in features]
    return {"k": keys, "p": rows}


def _household_legend(lang: Lang) -> tuple[str, list[tuple[str, str]]]:
    return (t("map.legend_households", lang), list(zip(HOUSEHOLD_COLOURS, household_class_labels())))


# --- home overview ----------------------------------------------------------------------

@dataclass(frozen=True)
class OverviewLayers:
    """Slim GeoJSON of every overview layer plus the district bounds ([[s, w], [n, e]])."""

    communities: GeoJSON
    labels: list[tuple[float, float, str]]
    buildings: GeoJSON
    streets: GeoJSON | None
    stations: GeoJSON | None
    bounds: list[list[float]]
    lang: Lang


def overview_layers(district: District, table: pd.DataFrame | None = None, *,
                    lang: Lang = "zh") -> OverviewLayers:
    """Prepare the home map's layers (cache this; it is the slow half).

    ``table`` is ``summary.community_table``: its households, buildings and
    feasible grid counts go into the community tooltips.
    """
    comms = district.communities
    extra: dict[str, Any] = {}
    if table is not None:
        aligned = table.reindex(comms.index)
        extra["households"] = aligned["households"].to_numpy()
        extra["buildings"] = aligned["buildings"].to_numpy()
        extra["k_range"] = [
            f"{int(lo)}–{int(hi)}" if pd.notna(lo) else t("map.no_feasible_k", lang)
            for lo, hi in zip(aligned["k_min"], aligned["k_max"])
        ]
    communities = slim_geojson(
        _with_props(comms, **extra),
        [comms.index.name or "community_id", "name", "street", "households", "buildings", "k_range"],
        tolerance_m=1.0, coverage=True,
    )
    buildings = _building_layer_data(district.buildings)
    return OverviewLayers(
        communities=communities, labels=_label_points(comms), buildings=buildings,
        streets=_street_layer_data(district.streets),
        stations=_station_layer_data(district.stations, lang),
        bounds=bounds_lat_lon(comms.total_bounds), lang=lang,
    )


def overview_map(layers: OverviewLayers, *, osm: bool = False) -> folium.Map:
    """Return the district overview: streets, community outlines and labels,
    buildings coloured by households, stations; a legend and a layer control."""
    lang = layers.lang
    m = base_map(layers.bounds, lang=lang, osm=osm)
    if layers.streets is not None:
        _geojson_layer(layers.streets, t("map.streets", lang), street_style, fields=["name"],
                       aliases=[t("map.street_name", lang)], highlight=False).add_to(m)
    _geojson_layer(layers.communities, t("map.communities", lang), community_style,
                   fields=["name", "street", "households", "buildings", "k_range"],
                   aliases=[t("map.community", lang), t("map.street", lang), t("map.households", lang),
                            t("map.buildings_n", lang), t("map.k_range", lang)]).add_to(m)
    _building_layer(layers.buildings, lang).add_to(m)
    from gridgeo.maps.stations import add_stations  # the station layer lives in maps.stations
    add_stations(m, layers.stations, lang)
    _labels(layers.labels, t("map.labels", lang)).add_to(m)
    Legend([_household_legend(lang)], circles=(False,)).add_to(m)
    return finish_map(m)


# --- planner grids ------------------------------------------------------------------------

@dataclass(frozen=True)
class GridLayers:
    """Slim GeoJSON of a grids layer over its district, plus label rows and status counts."""

    grids: GeoJSON
    communities: GeoJSON
    labels: list[tuple[float, float, str]]
    grid_labels: list[tuple[float, float, str, int, float]]
    buildings: GeoJSON | None
    streets: GeoJSON | None
    bounds: list[list[float]]
    lang: Lang
    status_counts: dict[str, int]


def _flags_label(flags: object, lang: Lang) -> str:
    codes = [c for c in str(flags or "").split(";") if c]
    return "、".join(t(f"flag.{c}", lang) for c in codes) if lang == "zh" else "; ".join(
        t(f"flag.{c}", lang) for c in codes)


def _grid_label_rows(grids: gpd.GeoDataFrame, lang: Lang,
                     second: Sequence[str | None] | None = None) -> list[tuple[float, float, str, int, float]]:
    """Grid serial (the code's last 3 digits) over its households, at a point inside each grid.

    ``second`` (one text per grid, already in ``lang``) replaces the households line, so theme
    maps label a grid with their own figure (its rate, its share within reach …).
    ``size_m`` is the smaller side of the grid's bounding box in metres, so the
    label shows only at zoom levels where it fits inside the grid.
    """
    if grids.empty:
        return []
    metric = grids.geometry.to_crs(crs.metric_crs(grids))
    b = metric.bounds
    size = np.minimum(b.maxx - b.minx, b.maxy - b.miny).to_numpy()
    points = grids.geometry.representative_point()
    if second is None:
        households = grids["households"] if "households" in grids.columns else pd.Series(pd.NA, index=grids.index)
        second = [None if pd.isna(h) else t("map.grid_label_households", lang, n=f"{int(h):,}") for h in households]
    rows: list[tuple[float, float, str, int, float]] = []
    for gid, pt, line, s in zip(grids.index.astype(str), points, second, size):
        if pt is None or pt.is_empty:
            continue
        serial = html.escape(gid[-3:] if len(gid) > 8 and gid[-3:].isdigit() else gid)   # 15-digit codes: serial
        text = f"<b>{serial}</b>"
        if line:
            text += "<br>" + html.escape(line)
        rows.append((round(pt.x, _PRECISION), round(pt.y, _PRECISION), text, 1, float(s)))
    return rows


def grid_label_rows(grids: gpd.GeoDataFrame, lang: Lang = "zh",
                    second: Sequence[str | None] | None = None) -> list[tuple[float, float, str, int, float]]:
    """Label rows for ``LabelLayer(css_class="grid")``: serial, then households or ``second``.

    Every theme map labels its grids with these, so the declutter (``finish_map``)
    shows a label only where it fits and never under another label or a control.
    """
    return _grid_label_rows(grids, lang, second)


def grid_identity(grid_ids: Sequence[str] | pd.Index, grids: gpd.GeoDataFrame | None,
                  communities: gpd.GeoDataFrame | None, lang: Lang = "zh") -> dict[str, list[str]]:
    """Tooltip columns every grid map shows: ``community_name`` and ``flags_label`` per grid id.

    The community's name comes from ``communities`` (its code when unnamed), the flags
    from the grids layer's ``flags`` column, translated into ``lang``. Unknown grids get "".
    """
    ids = pd.Index([str(g) for g in grid_ids])
    cid = pd.Series("", index=ids, dtype=object)
    flags = pd.Series("", index=ids, dtype=object)
    if grids is not None and len(grids):
        gidx = grids.index.astype(str)
        if "community_id" in grids.columns:
            cid = pd.Series(grids["community_id"].astype(str).to_numpy(), index=gidx).groupby(level=0).first() \
                .reindex(ids).fillna("")
        if "flags" in grids.columns:
            flags = pd.Series(grids["flags"].fillna("").astype(str).to_numpy(), index=gidx).groupby(level=0) \
                .first().reindex(ids).fillna("")
    names = (communities["name"].astype(str).set_axis(communities.index.astype(str))
             if communities is not None and "name" in communities.columns else pd.Series(dtype=str))
    return {"community_name": [str(names.get(c, c)) for c in cid],
            "flags_label": [_flags_label(f, lang) for f in flags]}


def grid_layers(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                streets: gpd.GeoDataFrame | None = None, *, buildings: gpd.GeoDataFrame | None = None,
                lang: Lang = "zh") -> GridLayers:
    """Prepare a grids layer's map (cache this; it is the slow half).

    Grids get a fill colour that differs from every neighbour's (``grid_colour_index``)
    and a border by household ``status`` (out of bounds: thick, dashed); tooltips carry
    the grid code, the community's name, households, buildings, status and flags in
    ``lang``. Each grid gets a label (serial + households); ``buildings`` (optional) are
    drawn coloured by households. Works for a computed plan and for a city's own grids
    file (columns it lacks are left out).
    """
    status = (grids["status"].astype(str) if "status" in grids.columns
              else pd.Series("", index=grids.index))
    dedicated = (grids["kind"].astype(str) == "dedicated").to_numpy() if "kind" in grids.columns \
        else np.zeros(len(grids), dtype=bool)
    status = status.where(~dedicated, "exempt")       # exempt from the bounds, never "out of bounds"
    colour = grid_colour_index(grids)
    names = communities["name"].astype(str) if "name" in communities.columns else pd.Series(dtype=str)
    community_name = (grids["community_id"].astype(str).map(names).fillna(grids["community_id"].astype(str))
                      if "community_id" in grids.columns else pd.Series("", index=grids.index))
    pp = grids["polsby_popper"].astype("float64").round(2) if "polsby_popper" in grids.columns else None
    flags = grids["flags"] if "flags" in grids.columns else pd.Series("", index=grids.index)
    frame = _with_props(
        grids,
        fill=[DEDICATED_FILL if d else GRID_PALETTE[i % len(GRID_PALETTE)] for i, d in zip(colour, dedicated, strict=True)],
        status=status.to_numpy(),
        status_label=[t(f"map.status.{s}", lang) if s in STATUS_COLOURS else t("map.status.exempt", lang)
                      if s == "exempt" else "" for s in status],
        community_name=community_name.to_numpy(),
        flags_label=[_flags_label(f, lang) for f in flags],
        **({"pp": pp.to_numpy()} if pp is not None else {}),
    )
    tolerance = 1.0 if len(grids) < 2000 else 3.0
    data = slim_geojson(frame, [grids.index.name or "grid_id", "community_name", "households", "buildings",
                                "pp", "status", "status_label", "flags_label", "fill"],
                        tolerance_m=tolerance, coverage=True)
    outlines = slim_geojson(communities, [communities.index.name or "community_id", "name"],
                            tolerance_m=tolerance, coverage=True)
    counts = {s: int((status == s).sum()) for s in ("under", "within", "over")}
    if dedicated.any():                               # counted apart, only when the plan has some
        counts["exempt"] = int(dedicated.sum())
    return GridLayers(grids=data, communities=outlines, labels=_label_points(communities),
                      grid_labels=_grid_label_rows(grids, lang),
                      buildings=None if buildings is None or buildings.empty else _building_layer_data(buildings),
                      streets=_street_layer_data(streets),
                      bounds=bounds_lat_lon(communities.total_bounds), lang=lang, status_counts=counts)


def _outline_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Community outline over grids: no fill, so the grids below stay hoverable."""
    return {"fill": False, "color": "#111111", "weight": 2.8, "opacity": 0.9}


def grid_map(layers: GridLayers, *, osm: bool = False, stations: Any = None) -> folium.Map:
    """Return the grids map: coloured grids with status borders and labels, buildings,
    community outlines and names, streets; a legend with the status counts."""
    lang = layers.lang
    m = base_map(layers.bounds, lang=lang, osm=osm)
    if layers.streets is not None:
        _geojson_layer(layers.streets, t("map.streets", lang), street_style, fields=["name"],
                       aliases=[t("map.street_name", lang)], highlight=False).add_to(m)
    grid_fields = ["grid_id", "community_name", "households", "buildings", "status_label", "flags_label", "pp"]
    _geojson_layer(layers.grids, t("map.grids", lang), grid_style, fields=grid_fields,
                   aliases=[t("map.grid_id", lang), t("map.community", lang), t("map.households", lang),
                            t("map.buildings_n", lang), t("map.status", lang), t("map.flags", lang),
                            t("map.pp", lang)]).add_to(m)
    if layers.buildings is not None and len(layers.buildings["features"]) <= MAX_EAGER_BUILDINGS:
        _building_layer(layers.buildings, lang).add_to(m)
    elif layers.buildings is not None:          # a whole city: built when switched on
        lazy = folium.FeatureGroup(name=t("map.buildings_lazy", lang, n=f"{len(layers.buildings['features']):,}"),
                                   show=False)
        LazyGeoJson(layers.buildings, m.get_name(), ["building_id", "name", "households", "units", "compound_id"],
                    [t("map.building_id", lang), t("map.name", lang), t("map.households", lang), t("map.units", lang),
                     t("map.compound", lang)]).add_to(lazy)
        lazy.add_to(m)
    _geojson_layer(layers.communities, t("map.communities", lang), _outline_style, highlight=False,
                   interactive=False).add_to(m)
    grid_labels = folium.FeatureGroup(name=t("map.grid_labels", lang), show=True)
    LabelLayer(layers.grid_labels, css_class="grid").add_to(grid_labels)
    grid_labels.add_to(m)
    _labels(layers.labels, t("map.labels", lang)).add_to(m)
    counts = layers.status_counts
    status_items = [(STATUS_COLOURS[s], t(f"map.legend.{s}", lang, n=f"{counts.get(s, 0):,}"), grid_border_style(s))
                    for s in ("within", "under", "over")]
    if counts.get("exempt"):                   # dedicated grids: their own entry, only when the plan has some
        status_items.append((DEDICATED_FILL, t("map.legend.exempt", lang, n=f"{counts['exempt']:,}"),
                             grid_border_style("exempt")))
    sections: list[tuple[str, Sequence[tuple[str, ...]]]] = [
        (t("map.legend_status", lang), status_items),
        (t("map.legend_fill", lang), [(GRID_PALETTE[0], t("map.legend_fill_note", lang),
                                       "border:1px solid #777;background:linear-gradient(90deg,"
                                       + ",".join(GRID_PALETTE[:4]) + ")")]),
    ]
    if layers.buildings is not None:
        sections.append(_household_legend(lang))
    Legend(sections, circles=(False, False, True)).add_to(m)
    if stations is not None:   # before the layer switch: it names every layer when the script runs
        from gridgeo.maps.stations import add_stations
        add_stations(m, stations, lang)
    return finish_map(m)
