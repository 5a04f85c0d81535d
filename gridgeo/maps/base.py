"""Build folium maps from gridgeo layers: slim GeoJSON, named styles, local assets.

Pages only call ``st_folium`` on what this module returns. The work is split in
two so pages can cache the expensive half: ``*_layers`` turn GeoDataFrames into
small, escaped, rounded GeoJSON dicts (cacheable, picklable); ``*_map`` turn
those dicts into a ``folium.Map`` whose JS/CSS point at ``/app/static/vendor``
(installed by ``scripts/vendor_static.sh``), so the map draws with no internet.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import branca.colormap
import folium
import geopandas as gpd
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
    "grid_layers", "grid_map",
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
    """Style a building from its precomputed ``fill`` property."""
    return {"fillColor": feature["properties"].get("fill", _MISSING_COLOUR), "fillOpacity": 0.85,
            "color": "#6b4f2a", "weight": 0.5}


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
    """Style a grid from its precomputed ``fill`` (household status) property."""
    return {"fillColor": feature["properties"].get("fill", _MISSING_COLOUR), "fillOpacity": 0.5,
            "color": "#1b5e20", "weight": 1.3, "opacity": 0.9}


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
    """A fixed box of coloured swatches, drawn by Leaflet itself (no d3, no CDN)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "gridgeo-legend");
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]], *,
                 circles: Sequence[bool] = ()) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        parts = []
        for i, (title, items) in enumerate(sections):
            radius = "50%" if i < len(circles) and circles[i] else "2px"
            rows = "".join(
                f'<div><span style="display:inline-block;width:13px;height:13px;margin-right:6px;'
                f'vertical-align:middle;border:1px solid #777;border-radius:{radius};'
                f'background:{colour}"></span>{html.escape(label)}</div>'
                for colour, label in items
            )
            parts.append(f"<b>{html.escape(title)}</b>{rows}")
        self.html = (
            '<div style="background:rgba(255,255,255,0.92);padding:6px 9px;border-radius:4px;'
            'font:12px/1.6 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.3)">'
            + '<div style="height:4px"></div>'.join(parts) + "</div>"
        )


_MAP_CSS = """<style>
.leaflet-container { background: #f6f5f1; }
.gridgeo-label { font: 600 13px/1.2 "Noto Sans CJK SC", "Noto Sans SC", sans-serif; color: #1a1a1a;
  white-space: nowrap; text-align: center; pointer-events: none;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; }
.leaflet-tooltip, .leaflet-control-layers { font: 13px/1.5 "Noto Sans CJK SC", "Noto Sans SC", sans-serif; }
.leaflet-control-layers label { margin-bottom: 0; }
.leaflet-control-layers-selector { margin-right: 4px; }
</style>"""


def base_map(bounds: list[list[float]], *, lang: Lang = "zh", osm: bool = False) -> folium.Map:
    """Return an empty map fitted to ``bounds`` ([[s, w], [n, e]]), with no tiles.

    The district's own streets and outlines are the base layer; OpenStreetMap is
    an overlay that stays off unless ``osm`` (it needs the internet).
    """
    (south, west), (north, east) = bounds
    # zoomSnap 0.25: a district a little wider than one zoom level still fills the frame
    centre = lat_lon(round((west + east) / 2, _PRECISION), round((south + north) / 2, _PRECISION))
    m = folium.Map(location=centre, zoom_start=14, tiles=None, control_scale=True, zoom_snap=0.25,
                   zoom_delta=0.5)
    folium.TileLayer("OpenStreetMap", name=t("map.osm", lang), overlay=True, show=osm,
                     control=True).add_to(m)
    m.get_root().header.add_child(Element(_MAP_CSS), name="gridgeo_css")  # type: ignore[attr-defined]
    m.fit_bounds(bounds)
    return m


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


def _labels(points: Sequence[tuple[float, float, str]], name: str) -> folium.FeatureGroup:
    """Community names as non-interactive text at a point inside each polygon."""
    group = folium.FeatureGroup(name=name, show=True)
    for lon, lat, text in points:
        folium.Marker(
            lat_lon(lon, lat), interactive=False, keyboard=False,
            icon=folium.DivIcon(html=f'<div class="gridgeo-label">{text}</div>',
                                icon_size=(160, 18), icon_anchor=(80, 9), class_name="gridgeo-label-icon"),
        ).add_to(group)
    return group


def _label_points(communities: gpd.GeoDataFrame) -> list[tuple[float, float, str]]:
    points = communities.geometry.representative_point()
    return [(round(p.x, _PRECISION), round(p.y, _PRECISION), html.escape(str(name)))
            for p, name in zip(points, communities["name"]) if p is not None and not p.is_empty]


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
    b = district.buildings
    buildings = slim_geojson(
        _with_props(b, fill=[household_colour(h) for h in b["households"].astype("float64")]),
        [b.index.name or "building_id", "name", "households", "units", "compound_id", "fill"],
        tolerance_m=0.5,
    )
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
    _geojson_layer(layers.buildings, t("map.buildings", lang), building_style,
                   fields=["building_id", "name", "households", "units", "compound_id"],
                   aliases=[t("map.building_id", lang), t("map.name", lang), t("map.households", lang),
                            t("map.units", lang), t("map.compound", lang)]).add_to(m)
    from gridgeo.maps.stations import add_stations  # the station layer lives in maps.stations
    add_stations(m, layers.stations, lang)
    _labels(layers.labels, t("map.labels", lang)).add_to(m)
    sections: list[tuple[str, Sequence[tuple[str, str]]]] = [
        (t("map.legend_households", lang), list(zip(HOUSEHOLD_COLOURS, household_class_labels())))]
    Legend(sections).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return use_local_assets(m)


# --- planner grids ------------------------------------------------------------------------

@dataclass(frozen=True)
class GridLayers:
    """Slim GeoJSON of a partition result over its district."""

    grids: GeoJSON
    communities: GeoJSON
    labels: list[tuple[float, float, str]]
    streets: GeoJSON | None
    bounds: list[list[float]]
    lang: Lang


def grid_layers(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                streets: gpd.GeoDataFrame | None = None, *, lang: Lang = "zh") -> GridLayers:
    """Prepare a partition's map layers: grids coloured by household status."""
    status = grids["status"].astype(str) if "status" in grids.columns else pd.Series("", index=grids.index)
    pp = grids["polsby_popper"].astype("float64").round(2) if "polsby_popper" in grids.columns else None
    frame = _with_props(
        grids, fill=[STATUS_COLOURS.get(s, _MISSING_COLOUR) for s in status],
        status_label=[t(f"map.status.{s}", lang) for s in status],
        **({"pp": pp.to_numpy()} if pp is not None else {}),
    )
    data = slim_geojson(frame, [grids.index.name or "grid_id", "community_id", "households", "buildings",
                                "pp", "status_label", "fill"], tolerance_m=1.0, coverage=True)
    outlines = slim_geojson(communities, [communities.index.name or "community_id", "name"],
                            tolerance_m=1.0, coverage=True)
    return GridLayers(grids=data, communities=outlines, labels=_label_points(communities),
                      streets=_street_layer_data(streets),
                      bounds=bounds_lat_lon(communities.total_bounds), lang=lang)


def _outline_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Community outline over grids: no fill, so the grids below stay hoverable."""
    return {"fill": False, "color": "#252525", "weight": 2.5, "dashArray": "6 4"}


def grid_map(layers: GridLayers, *, osm: bool = False) -> folium.Map:
    """Return the planner map: grids by status, community outlines, streets."""
    lang = layers.lang
    m = base_map(layers.bounds, lang=lang, osm=osm)
    if layers.streets is not None:
        _geojson_layer(layers.streets, t("map.streets", lang), street_style, fields=["name"],
                       aliases=[t("map.street_name", lang)], highlight=False).add_to(m)
    grid_fields = ["grid_id", "community_id", "households", "buildings", "pp", "status_label"]
    _geojson_layer(layers.grids, t("map.grids", lang), grid_style, fields=grid_fields,
                   aliases=[t("map.grid_id", lang), t("map.community_id", lang), t("map.households", lang),
                            t("map.buildings_n", lang), t("map.pp", lang), t("map.status", lang)]).add_to(m)
    _geojson_layer(layers.communities, t("map.communities", lang), _outline_style, highlight=False,
                   interactive=False).add_to(m)
    _labels(layers.labels, t("map.labels", lang)).add_to(m)
    Legend([(t("map.legend_status", lang),
             [(STATUS_COLOURS[s], t(f"map.status.{s}", lang)) for s in ("under", "within", "over")])]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return use_local_assets(m)
