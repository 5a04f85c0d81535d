"""Case maps: heat of calls (vendored leaflet.heat), rate per 1,000 households, Gi* hotspots, patrol share.

Heat points are ``[lat, lon, weight]``. Beyond ``MAX_HEAT_POINTS`` located
calls the page would carry megabytes of points, so calls are summed into square
cells (25 m, doubled until few enough) and each cell centre is sent with its
count as weight: the heat looks the same and the payload stays bounded by the
district's area, not its call volume.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import HeatMap

from gridgeo.cases.points import metric_points
from gridgeo.i18n import Lang, t
from gridgeo.maps.base import (LabelLayer, Legend, _geojson_layer, _label_points, _labels, _outline_style,
                               _street_layer_data, base_map, bounds_lat_lon, finish_map, grid_identity,
                               grid_label_rows, slim_geojson, street_style)
from gridgeo.maps.stations import add_stations, station_layer_data

__all__ = ["MAX_HEAT_POINTS", "HOTSPOT_COLOURS", "RATE_COLOURS", "HeatData", "CaseLayers", "heat_data",
           "case_layers", "heat_map", "rate_map", "hotspot_map", "payload_bytes"]

GeoJSON = dict[str, Any]
#: above this many located calls the heat layer is sent as aggregated cells
MAX_HEAT_POINTS = 50_000
HOTSPOT_COLOURS: dict[str, str] = {
    "hot_99": "#b2182b", "hot_95": "#ef8a62", "hot_90": "#fddbc7", "not_significant": "#f7f7f7",
    "cold_90": "#d1e5f0", "cold_95": "#67a9cf", "cold_99": "#2166ac", "no_households": "#bdbdbd",
}
#: five classes of rate (ColorBrewer YlOrRd)
RATE_COLOURS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
_PATROL_COLOURS: tuple[str, ...] = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
_NONE = "#bdbdbd"


@dataclass(frozen=True)
class HeatData:
    """Heat rows ``[lat, lon, weight]``; ``cell_m`` is the aggregation cell (None: one row per call)."""

    rows: list[list[float]]
    calls: int
    cell_m: float | None
    #: intensity drawn fully red: the 98th percentile of the weight summed over ~60 m cells
    #: (leaflet.heat's own summing cell at the first zoom), so a busy district does not saturate
    max_weight: float = 1.0


def _peak(mxy: np.ndarray, weights: np.ndarray, cell_m: float = 60.0) -> float:
    if len(mxy) == 0:
        return 1.0
    keys = np.floor(mxy / cell_m).astype("int64")
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=weights)
    return float(max(1.0, np.quantile(sums, 0.98)))


def heat_data(cases: gpd.GeoDataFrame, *, max_points: int = MAX_HEAT_POINTS) -> HeatData:
    """Heat rows of the located calls; aggregated to square cells beyond ``max_points``."""
    pts = cases.geometry.to_numpy()
    pts = pts[~(shapely.is_missing(pts) | shapely.is_empty(pts))]
    xy = shapely.get_coordinates(pts)
    n = len(xy)
    if n == 0:
        return HeatData([], 0, None)
    projected = metric_points(gpd.GeoDataFrame(geometry=pts, crs=4326))   # arrays through pyproj, no geometries
    metric, mxy = projected.crs, projected.xy
    if n <= max_points:
        rows = np.column_stack([np.round(xy[:, 1], 5), np.round(xy[:, 0], 5), np.ones(n)])
        return HeatData(rows.tolist(), n, None, _peak(mxy, np.ones(n)))
    cell = 25.0
    while True:
        keys = np.floor(mxy / cell).astype("int64")
        uniq, counts = np.unique(keys, axis=0, return_counts=True)
        if len(uniq) <= max_points:
            break
        cell *= 2
    centres = (uniq + 0.5) * cell
    back = gpd.GeoSeries(shapely.points(centres), crs=metric).to_crs(4326)
    cxy = shapely.get_coordinates(back.to_numpy())
    rows = np.column_stack([np.round(cxy[:, 1], 5), np.round(cxy[:, 0], 5), counts.astype(float)])
    return HeatData(rows.tolist(), n, cell, _peak(centres, counts.astype(float)))


def _classes(values: np.ndarray, k: int = 5) -> np.ndarray:
    """Quantile class breaks (upper bounds) of the finite values."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return np.array([])
    return np.unique(np.quantile(finite, np.linspace(0, 1, k + 1)[1:]))


def _class_colour(values: np.ndarray, breaks: np.ndarray, colours: Sequence[str]) -> list[str]:
    """Colour of each value's class; the top classes' colours are used when there are fewer breaks."""
    if len(breaks) == 0:
        return [_NONE] * len(values)
    offset = max(0, len(colours) - len(breaks))
    idx = np.minimum(np.searchsorted(breaks, np.nan_to_num(values, nan=0.0), side="left"), len(breaks) - 1)
    return [colours[offset + int(i)] if np.isfinite(v) else _NONE for v, i in zip(values, idx)]


def _break_labels(breaks: np.ndarray, fmt: str, colours: Sequence[str]) -> list[tuple[str, str]]:
    offset = max(0, len(colours) - len(breaks))
    out: list[tuple[str, str]] = []
    lo = None
    for i, b in enumerate(breaks):
        label = f"≤ {fmt.format(b)}" if lo is None else f"{fmt.format(lo)} – {fmt.format(b)}"
        out.append((colours[i + offset], label))
        lo = b
    return out


@dataclass(frozen=True)
class CaseLayers:
    """Slim, cacheable map data of one selection of cases."""

    heat: HeatData
    grids: GeoJSON                 # rate, hotspot, patrol share, trend per grid, with fills
    rate_legend: list[tuple[str, str]]
    patrol_legend: list[tuple[str, str]]
    hotspot_classes: list[str]
    communities: GeoJSON
    labels: list[tuple[float, float, str]]
    streets: GeoJSON | None
    stations: GeoJSON | None
    bounds: list[list[float]]
    lang: Lang
    unit: str                      # "matters" | "cases"
    #: grid labels (serial over the rate) for the rate map, serial only for the hotspot map
    rate_labels: list[tuple[float, float, str, int, float]] = field(default_factory=list)
    serial_labels: list[tuple[float, float, str, int, float]] = field(default_factory=list)


def case_layers(cases: gpd.GeoDataFrame, table: gpd.GeoDataFrame, split: pd.DataFrame,
                communities: gpd.GeoDataFrame, *, streets: gpd.GeoDataFrame | None = None,
                stations: gpd.GeoDataFrame | None = None, lang: Lang = "zh", unit: str = "matters",
                max_points: int = MAX_HEAT_POINTS, grids: gpd.GeoDataFrame | None = None) -> CaseLayers:
    """Prepare every case map's data: heat rows, grids with rate/hotspot/patrol fills, outlines, labels.

    ``table`` is ``cases.hotspots`` output (index ``grid_id``), ``split`` is
    ``cases.channel_split``; ``grids`` (the grids layer in use) gives each grid's
    community, named in the tooltip, and its flags.
    """
    rate = table["rate_per_1000"].to_numpy(dtype=float)
    breaks = _classes(rate)
    patrol = split["patrol_share"].reindex(table.index).to_numpy(dtype=float) if "patrol_share" in split \
        else np.full(len(table), np.nan)
    pbreaks = np.array([0.2, 0.3, 0.4, 0.5, 1.0])
    frame = table.copy()
    frame["rate_fill"] = _class_colour(rate, breaks, RATE_COLOURS)
    frame["patrol_fill"] = _class_colour(patrol, pbreaks, _PATROL_COLOURS)
    frame["hot_fill"] = [HOTSPOT_COLOURS.get(h, _NONE) for h in table["hotspot"]]
    frame["hot_label"] = [t(f"cases.hotspot.{h}", lang) for h in table["hotspot"]]
    frame["trend_label"] = [t(f"cases.trend.{x}", lang) for x in table["trend"]]
    frame["patrol_pct"] = [f"{p:.0%}" if np.isfinite(p) else "—" for p in patrol]
    frame["rate"] = np.round(rate, 1)
    for name, values in grid_identity(table.index, grids, communities, lang).items():
        frame[name] = values
    data = slim_geojson(frame, ["grid_id", "community_name", "cases", "matters", "households", "rate", "gi_z",
                                "hot_label", "trend_label", "patrol_pct", "flags_label", "rate_fill", "patrol_fill",
                                "hot_fill"], tolerance_m=1.0, coverage=True)
    rate_text = [f"{v:,.0f}" if np.isfinite(v) else "—" for v in rate]
    present = [h for h in HOTSPOT_COLOURS if h in set(table["hotspot"])]
    return CaseLayers(
        heat=heat_data(cases, max_points=max_points), grids=data,
        rate_legend=_break_labels(breaks, "{:.0f}", RATE_COLOURS),
        patrol_legend=_break_labels(pbreaks, "{:.0%}", _PATROL_COLOURS), hotspot_classes=present,
        communities=slim_geojson(communities, [communities.index.name or "community_id", "name"],
                                 tolerance_m=1.0, coverage=True),
        labels=_label_points(communities), streets=_street_layer_data(streets),
        stations=station_layer_data(stations, lang),
        bounds=bounds_lat_lon(communities.total_bounds), lang=lang, unit=unit,
        rate_labels=grid_label_rows(table, lang, rate_text), serial_labels=grid_label_rows(table, lang, [""] * len(table)),
    )


def _fill_style(key: str, opacity: float) -> Any:
    def style(feature: Mapping[str, Any]) -> dict[str, Any]:
        return {"fillColor": feature["properties"].get(key, _NONE), "fillOpacity": opacity,
                "color": "#555555", "weight": 0.8, "opacity": 0.9}
    return style


def _grid_outline(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fill": False, "color": "#444444", "weight": 0.7, "opacity": 0.6}


def _frame(layers: CaseLayers, osm: bool) -> folium.Map:
    m = base_map(layers.bounds, lang=layers.lang, osm=osm, canvas=False)
    if layers.streets is not None:
        _geojson_layer(layers.streets, t("map.streets", layers.lang), street_style, fields=["name"],
                       aliases=[t("map.street_name", layers.lang)], highlight=False).add_to(m)
    return m


def _finish(m: folium.Map, layers: CaseLayers, legend: Sequence[tuple[str, Sequence[tuple[str, str]]]],
            grid_labels: Sequence[tuple[float, float, str, int, float]] = ()) -> folium.Map:
    lang = layers.lang
    _geojson_layer(layers.communities, t("map.communities", lang), _outline_style, highlight=False,
                   interactive=False).add_to(m)
    if layers.stations is not None:        # the shared station layer, off at first: the cases come first
        add_stations(m, layers.stations, lang, show=False, legend=False)
    if grid_labels:
        group = folium.FeatureGroup(name=t("map.grid_serials", lang), show=True)
        LabelLayer(grid_labels, css_class="grid").add_to(group)
        group.add_to(m)
    _labels(layers.labels, t("map.labels", lang)).add_to(m)
    Legend(list(legend)).add_to(m)
    return finish_map(m)      # collapsed layer switch, label declutter, local assets


def _tooltip_fields(lang: Lang) -> tuple[list[str], list[str]]:
    fields = ["grid_id", "community_name", "cases", "matters", "households", "rate", "hot_label", "trend_label",
              "patrol_pct", "flags_label"]
    aliases = [t("cases.col.grid_id", lang), t("map.community", lang), t("cases.col.cases", lang),
               t("cases.col.matters", lang), t("map.households", lang), t("cases.col.rate", lang),
               t("cases.col.hotspot", lang), t("cases.col.trend", lang), t("cases.col.patrol_share", lang),
               t("map.flags", lang)]
    return fields, aliases


def heat_map(layers: CaseLayers, *, osm: bool = False) -> folium.Map:
    """Heat of the calls over grid outlines."""
    lang = layers.lang
    m = _frame(layers, osm)
    fields, aliases = _tooltip_fields(lang)
    _geojson_layer(layers.grids, t("map.grids", lang), _grid_outline, fields=fields, aliases=aliases,
                   highlight=False).add_to(m)
    group = folium.FeatureGroup(name=t("cases.layer_heat", lang), show=True)
    if layers.heat.rows:
        # max_zoom 14 (about the first view): leaflet.heat dims intensity below max_zoom, so `max` holds there
        HeatMap(layers.heat.rows, radius=16, blur=12, min_opacity=0.3, max_zoom=14,
                max=round(layers.heat.max_weight, 1)).add_to(group)  # type: ignore[no-untyped-call]
    group.add_to(m)
    gradient = [("#0000ff", t("cases.heat_low", lang)), ("#00ff00", t("cases.heat_mid", lang)),
                ("#ff0000", t("cases.heat_high", lang))]
    return _finish(m, layers, [(t("cases.layer_heat", lang), gradient)])


def rate_map(layers: CaseLayers, *, osm: bool = False) -> folium.Map:
    """Choropleth of the rate per 1,000 households, with the patrol share as a second layer."""
    lang = layers.lang
    m = _frame(layers, osm)
    fields, aliases = _tooltip_fields(lang)
    title = t("cases.choropleth" if layers.unit == "matters" else "cases.choropleth_cases", lang)
    _geojson_layer(layers.grids, title, _fill_style("rate_fill", 0.75), fields=fields, aliases=aliases).add_to(m)
    _geojson_layer(layers.grids, t("cases.layer_patrol", lang), _fill_style("patrol_fill", 0.75), fields=fields,
                   aliases=aliases, show=False).add_to(m)
    legend = [(title, layers.rate_legend + [(_NONE, t("cases.no_data_rate", lang))]),
              (t("cases.layer_patrol", lang), layers.patrol_legend)]
    return _finish(m, layers, legend, layers.rate_labels)


def hotspot_map(layers: CaseLayers, *, osm: bool = False) -> folium.Map:
    """Grids coloured by Gi* class (hot/cold at 99/95/90 %, FDR-corrected)."""
    lang = layers.lang
    m = _frame(layers, osm)
    fields, aliases = _tooltip_fields(lang)
    fields, aliases = fields + ["gi_z"], aliases + [t("cases.col.gi_z", lang)]
    _geojson_layer(layers.grids, t("cases.layer_hotspots", lang), _fill_style("hot_fill", 0.8), fields=fields,
                   aliases=aliases).add_to(m)
    legend = [(t("cases.layer_hotspots", lang),
               [(HOTSPOT_COLOURS[h], t(f"cases.hotspot.{h}", lang)) for h in layers.hotspot_classes])]
    return _finish(m, layers, legend, layers.serial_labels)


def payload_bytes(m: folium.Map) -> int:
    """Size in bytes of the HTML the browser receives for ``m``."""
    return len(m.get_root().render().encode("utf-8"))


def escape(text: str) -> str:
    """HTML-escape text from a user file for a tooltip or popup."""
    return html.escape(text)
