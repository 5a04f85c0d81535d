"""The staffing map: grids coloured by staffing status, labelled with serial and crew, stations on top."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo import crs as gcrs
from gridgeo.i18n import Lang, t

from gridgeo.maps.base import (GeoJSON, LabelLayer, Legend, _geojson_layer, _label_points, _labels, _outline_style,
                               _street_layer_data, _with_props, base_map, bounds_lat_lon, finish_map, grid_identity,
                               slim_geojson, street_style)
from gridgeo.maps.stations import add_stations, station_layer_data

__all__ = ["STAFFING_COLOURS", "StaffingLayers", "staffing_layers", "staffing_map", "staffing_style"]

#: Grid fill by staffing status (checks.STATUS_ORDER), worst first.
STAFFING_COLOURS: dict[str, str] = {"short": "#e34a33", "over": "#9e9ac8", "warning": "#fdcc8a", "ok": "#74c476"}


def staffing_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Style a grid from its precomputed ``fill`` (staffing status) property."""
    return {"fillColor": feature["properties"].get("fill", "#bdbdbd"), "fillOpacity": 0.55,
            "color": "#444444", "weight": 1.2, "opacity": 0.9}


@dataclass(frozen=True)
class StaffingLayers:
    """Slim GeoJSON of the staffing map (cache this; it is the slow half)."""

    grids: GeoJSON
    #: serial over "leaders+workers" at a point inside each grid, with the grid's size (``LabelLayer`` rows)
    grid_labels: list[tuple[float, float, str, int, float]]
    communities: GeoJSON | None
    streets: GeoJSON | None
    stations: GeoJSON | None
    bounds: list[list[float]]
    statuses: tuple[str, ...]
    lang: Lang
    community_labels: tuple[tuple[float, float, str], ...] = ()


def staffing_layers(grids: gpd.GeoDataFrame, table: pd.DataFrame, *, communities: gpd.GeoDataFrame | None = None,
                    streets: gpd.GeoDataFrame | None = None, stations: gpd.GeoDataFrame | None = None,
                    lang: Lang = "zh") -> StaffingLayers:
    """Prepare the map: ``table`` is ``staffing.grid_staffing`` (index grid_id) for ``grids``."""
    aligned = table.reindex(grids.index.astype(str))
    status = aligned["status"].fillna("short").astype(str)
    flags = aligned["flags"].fillna("").astype(str)
    frame = _with_props(
        grids, fill=[STAFFING_COLOURS.get(s, "#bdbdbd") for s in status],
        status_label=[t(f"staffing.status.{s}", lang) for s in status],
        leaders=aligned["leaders"].fillna(0).astype(int).to_numpy(),
        workers=aligned["workers"].fillna(0).astype(int).to_numpy(),
        households=aligned["households"].fillna(0).astype(int).to_numpy(),
        per_worker=aligned["households_per_worker"].to_numpy(),
        flags_label=["、".join(t(f"staffing.flag.{f}", lang) for f in fl.split(";") if f) if lang == "zh"
                     else ", ".join(t(f"staffing.flag.{f}", lang) for f in fl.split(";") if f) for fl in flags],
    )
    frame["community_name"] = grid_identity(grids.index, grids, communities, lang)["community_name"]
    data = slim_geojson(frame, [grids.index.name or "grid_id", "community_name", "households", "leaders", "workers",
                                "per_worker", "status_label", "flags_label", "fill"], tolerance_m=1.0, coverage=True)
    points = grids.geometry.representative_point()
    metric = grids.geometry.to_crs(gcrs.metric_crs(grids)).bounds
    size = np.minimum(metric.maxx - metric.minx, metric.maxy - metric.miny).to_numpy()
    labels = [(round(p.x, 6), round(p.y, 6), f"<b>{html.escape(str(g)[-3:])}</b><br>{int(lead)}+{int(work)}", 1, float(sz))
              for g, p, lead, work, sz in zip(grids.index, points, frame["leaders"], frame["workers"], size)
              if p is not None and not p.is_empty]
    outlines: GeoJSON | None = None
    names: tuple[tuple[float, float, str], ...] = ()
    if communities is not None and not communities.empty:
        outlines = slim_geojson(communities, [communities.index.name or "community_id", "name"],
                                tolerance_m=1.0, coverage=True)
        names = tuple(_label_points(communities))
    bounds = bounds_lat_lon((communities if communities is not None and not communities.empty else grids).total_bounds)
    present = tuple(s for s in STAFFING_COLOURS if s in set(status))
    return StaffingLayers(data, labels, outlines, _street_layer_data(streets), station_layer_data(stations, lang),
                          bounds, present, lang, names)


def staffing_map(layers: StaffingLayers, *, osm: bool = False) -> folium.Map:
    """Return the staffing map: grids by status with labels, community outlines, streets, stations."""
    lang = layers.lang
    m = base_map(layers.bounds, lang=lang, osm=osm)
    if layers.streets is not None:
        _geojson_layer(layers.streets, t("map.streets", lang), street_style, fields=["name"],
                       aliases=[t("map.street_name", lang)], highlight=False).add_to(m)
    fields = ["grid_id", "community_name", "households", "leaders", "workers", "per_worker", "status_label",
              "flags_label"]
    aliases = [t("map.grid_id", lang), t("map.community", lang), t("map.households", lang),
               t("staffing.col.leaders", lang), t("staffing.col.workers", lang),
               t("staffing.col.households_per_worker", lang), t("staffing.col.status", lang),
               t("staffing.col.flags", lang)]
    _geojson_layer(layers.grids, t("map.grids", lang), staffing_style, fields=fields, aliases=aliases).add_to(m)
    if layers.communities is not None:
        _geojson_layer(layers.communities, t("map.communities", lang), _outline_style, highlight=False,
                       interactive=False).add_to(m)
    add_stations(m, layers.stations, lang)          # gridgeo.maps.stations: icons, layer and legend
    labels = folium.FeatureGroup(name=t("staffing.map_labels", lang), show=True)
    LabelLayer(layers.grid_labels, css_class="grid").add_to(labels)
    labels.add_to(m)
    if layers.community_labels:
        _labels(layers.community_labels, t("map.labels", lang)).add_to(m)
    items: Sequence[tuple[str, str]] = [(STAFFING_COLOURS[s], t(f"staffing.status.{s}", lang))
                                        for s in STAFFING_COLOURS]
    Legend([(t("staffing.legend", lang), items)]).add_to(m)
    return finish_map(m)      # collapsed layer switch, label declutter, local assets


