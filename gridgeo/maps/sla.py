"""The compliance map: grids coloured by red cards (overdue open cases), one grid picked from the case list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from gridgeo.i18n import Lang, t
from gridgeo.maps.base import (GeoJSON, LabelLayer, Legend, _geojson_layer, _label_points, _labels, _outline_style,
                               base_map, bounds_lat_lon, finish_map, grid_identity, grid_label_rows, slim_geojson)

__all__ = ["RED_BREAKS", "RED_COLOURS", "SlaLayers", "sla_layers", "sla_map", "red_class"]

#: red-card classes: 0, 1–2, 3–5, 6+ overdue open cases in a grid
RED_BREAKS: tuple[int, ...] = (1, 3, 6)
RED_COLOURS: tuple[str, ...] = ("#f7f7f7", "#fcbba1", "#fb6a4a", "#a50f15")
_SELECTED = "#1f3b99"


def red_class(n: float) -> int:
    """Index of the colour class of ``n`` red cards."""
    return sum(n >= b for b in RED_BREAKS)


def _red_labels(lang: Lang) -> list[str]:
    return [t("sla.map.red0", lang), t("sla.map.red1", lang), t("sla.map.red3", lang), t("sla.map.red6", lang)]


@dataclass(frozen=True)
class SlaLayers:
    """Slim GeoJSON of the grids with their red/yellow/open counts."""

    grids: GeoJSON
    bounds: list[list[float]]
    grid_bounds: Mapping[str, list[list[float]]]
    lang: Lang
    #: grid labels (serial over the red cards), community outlines and names
    labels: list[tuple[float, float, str, int, float]] = field(default_factory=list)
    communities: GeoJSON | None = None
    community_labels: list[tuple[float, float, str]] = field(default_factory=list)


def sla_layers(grids: gpd.GeoDataFrame, per_grid: pd.DataFrame, *, lang: Lang = "zh",
               communities: gpd.GeoDataFrame | None = None) -> SlaLayers:
    """Grids with ``red``, ``yellow``, ``open`` and ``on_time_rate`` from ``per_grid`` (index grid_id).

    ``communities`` (optional) name each grid's community in its tooltip and are outlined and labelled.
    """
    frame = grids[[c for c in ("community_id",) if c in grids] + [grids.geometry.name]].copy()
    stats = per_grid.reindex(frame.index.astype(str))
    frame["red"] = stats["red"].fillna(0).astype(int).to_numpy() if "red" in stats else 0
    frame["yellow"] = stats["yellow"].fillna(0).astype(int).to_numpy() if "yellow" in stats else 0
    frame["open"] = stats["open"].fillna(0).astype(int).to_numpy() if "open" in stats else 0
    rate = stats["on_time_rate"] if "on_time_rate" in stats else pd.Series(float("nan"), index=stats.index)
    frame["on_time"] = [("—" if pd.isna(v) else f"{v:.1%}") for v in rate]
    frame["fill"] = [RED_COLOURS[red_class(v)] for v in frame["red"]]
    for name, values in grid_identity(frame.index, grids, communities, lang).items():
        frame[name] = values
    data = slim_geojson(frame, [grids.index.name or "grid_id", "community_name", "red", "yellow", "open", "on_time",
                                "flags_label", "fill"], tolerance_m=1.0, coverage=True)
    gb = {str(g): bounds_lat_lon(_padded(geom.bounds)) for g, geom in zip(frame.index, frame.geometry)
          if geom is not None}
    red_text = [t("sla.map.red_label", lang, n=int(v)) if v else "" for v in frame["red"]]
    outlines, names = None, []
    if communities is not None and not communities.empty:
        outlines = slim_geojson(communities, [communities.index.name or "community_id", "name"], tolerance_m=1.0,
                                coverage=True)
        names = _label_points(communities)
    return SlaLayers(data, bounds_lat_lon(grids.total_bounds), gb, lang, grid_label_rows(frame, lang, red_text),
                     outlines, names)


def _padded(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A grid's bounds widened by its own size on every side, so its neighbours show around it."""
    w, s, e, n = bounds
    dx, dy = e - w, n - s
    return (w - dx, s - dy, e + dx, n + dy)


def _grid_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fillColor": feature["properties"].get("fill", RED_COLOURS[0]), "fillOpacity": 0.75,
            "color": "#525252", "weight": 1, "opacity": 0.8}


def _selected_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fill": False, "color": _SELECTED, "weight": 5, "opacity": 1}


def sla_map(layers: SlaLayers, *, selected: str | None = None, osm: bool = False) -> folium.Map:
    """Grids by red cards; ``selected`` (a grid id) outlined in blue and zoomed to."""
    lang = layers.lang
    bounds = layers.grid_bounds.get(selected or "", layers.bounds)
    m = base_map(bounds, lang=lang, osm=osm, canvas=False)
    fields = ["grid_id", "community_name", "red", "yellow", "open", "on_time", "flags_label"]
    aliases = [t("map.grid_id", lang), t("map.community", lang), t("sla.col.red", lang),
               t("sla.col.yellow", lang), t("sla.col.open", lang), t("sla.col.on_time_rate", lang),
               t("map.flags", lang)]
    _geojson_layer(layers.grids, t("sla.map.grids", lang), _grid_style, fields=fields, aliases=aliases).add_to(m)
    if layers.communities is not None:
        _geojson_layer(layers.communities, t("map.communities", lang), _outline_style, highlight=False,
                       interactive=False).add_to(m)
    if selected:
        picked = {"type": "FeatureCollection",
                  "features": [f for f in layers.grids["features"] if f["properties"].get("grid_id") == selected]}
        if picked["features"]:
            _geojson_layer(picked, t("sla.map_title", lang), _selected_style, fields=fields, aliases=aliases,
                           highlight=False).add_to(m)
    if layers.labels:
        group = folium.FeatureGroup(name=t("sla.map.grid_labels", lang), show=True)
        LabelLayer(layers.labels, css_class="grid").add_to(group)
        group.add_to(m)
    if layers.community_labels:
        _labels(layers.community_labels, t("map.labels", lang)).add_to(m)
    items = list(zip(RED_COLOURS, _red_labels(lang)))
    if selected:
        items.append((_SELECTED, t("sla.map_title", lang) + f" {selected}"))
    Legend([(t("sla.map.legend", lang), items)]).add_to(m)
    return finish_map(m)      # collapsed layer switch, label declutter, local assets
