"""The coverage map: grids coloured by the share of households within reach, labelled; buildings beyond
reach; proposed sites with the buildings they newly reach; the buildings a closed station would lose.

As in ``maps.base``, ``coverage_layers`` (slow, cacheable, picklable GeoJSON)
is split from ``coverage_map`` (cheap folium assembly).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.i18n import Lang, t
from gridgeo.maps.base import (LabelLayer, Legend, _geojson_layer, _label_points, _labels, _outline_style,
                               _street_layer_data, _with_props, base_map, bounds_lat_lon, finish_map, grid_identity,
                               grid_label_rows, lat_lon, slim_geojson, street_style)
from gridgeo.maps.stations import add_stations, station_layer_data

__all__ = ["SHARE_BREAKS", "SHARE_COLOURS", "share_colour", "share_class_labels", "CoverageLayers",
           "coverage_layers", "coverage_map", "sites_layer_data", "highlight_data"]

GeoJSON = dict[str, Any]

#: Lower bounds of the share classes (0–25 %, 25–50 %, 50–75 %, 75–90 %, ≥ 90 %).
SHARE_BREAKS: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)
#: ColorBrewer RdYlGn, 5 classes: red = few households within reach.
SHARE_COLOURS: tuple[str, ...] = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
_EMPTY = "#d9d9d9"
_BEYOND = "#e6550d"
_WITHIN = "#bdbdbd"
_NEWLY = "#7b3294"
_LOST = "#000000"

_CSS = """<style>
.gg-site { width:26px;height:26px;border-radius:50%;background:#ffd92f;border:3px solid #7b3294;
  display:flex;align-items:center;justify-content:center;font:800 13px/1 sans-serif;color:#3f007d;
  box-shadow:0 1px 4px rgba(0,0,0,.5); }
</style>"""


def share_colour(share: float | None, households: int) -> str:
    """Fill colour of a grid with ``share`` of its ``households`` within reach."""
    if households <= 0 or share is None or np.isnan(share):
        return _EMPTY
    return SHARE_COLOURS[int(np.searchsorted(SHARE_BREAKS, share, side="right"))]


def share_class_labels() -> list[str]:
    """The share classes as text: "< 25%", "25–50%", …, "≥ 90%"."""
    pct = [round(b * 100) for b in SHARE_BREAKS]
    return [f"< {pct[0]}%"] + [f"{a}–{b}%" for a, b in zip(pct, pct[1:])] + [f"≥ {pct[-1]}%"]


@dataclass(frozen=True)
class CoverageLayers:
    """Slim GeoJSON of the coverage map for one reach, kind and language."""

    grids: GeoJSON
    #: grid labels: serial over the share within reach (``LabelLayer`` rows, decluttered)
    labels: list[tuple[float, float, str, int, float]]
    buildings: GeoJSON
    streets: GeoJSON | None
    stations: GeoJSON | None
    bounds: list[list[float]]
    reach: int
    method: str
    lang: Lang
    communities: GeoJSON | None = None
    community_labels: tuple[tuple[float, float, str], ...] = ()


def coverage_layers(grids: gpd.GeoDataFrame, table: pd.DataFrame, buildings: gpd.GeoDataFrame,
                    metres: pd.Series, *, reach: int, method: str, streets: gpd.GeoDataFrame | None = None,
                    stations: gpd.GeoDataFrame | None = None, lang: Lang = "zh",
                    communities: gpd.GeoDataFrame | None = None) -> CoverageLayers:
    """Prepare the coverage map (cache this).

    ``table`` is ``coverage.coverage_by_grid`` (index grid_id); ``metres`` the
    distance of each building to its nearest station of the chosen kind;
    ``communities`` (optional) outlines and names the communities and names each
    grid's community in its tooltip.
    """
    tab = table.reindex(grids.index)
    hh = tab["households"].fillna(0).astype(int).to_numpy()
    within = tab[f"within_{reach}"].fillna(0).astype(int).to_numpy()
    share = tab[f"share_{reach}"].astype(float).to_numpy()
    fill = [share_colour(s, h) for s, h in zip(share, hh)]
    share_text = [f"{s:.0%}" if h > 0 else "—" for s, h in zip(share, hh)]
    g = _with_props(grids, households=hh, within=within, share_text=share_text, fill=fill,
                    **grid_identity(grids.index, grids, communities, lang))
    data = slim_geojson(g, [grids.index.name or "grid_id", "community_name", "households", "within", "share_text",
                            "flags_label", "fill"], tolerance_m=1.0, coverage=True)
    labels = grid_label_rows(grids, lang, share_text)
    d = metres.reindex(buildings.index).to_numpy(dtype=float)
    beyond = ~(np.isfinite(d) & (d <= reach))
    b = _with_props(buildings, metres=np.round(d, 0), fill=np.where(beyond, _BEYOND, _WITHIN))
    bdata = slim_geojson(b, [buildings.index.name or "building_id", "name", "households", "metres", "fill"],
                         tolerance_m=0.5)
    outlines: GeoJSON | None = None
    names: tuple[tuple[float, float, str], ...] = ()
    if communities is not None and not communities.empty:
        outlines = slim_geojson(communities, [communities.index.name or "community_id", "name"], tolerance_m=1.0,
                                coverage=True)
        names = tuple(_label_points(communities))
    return CoverageLayers(grids=data, labels=labels, buildings=bdata, streets=_street_layer_data(streets),
                          stations=station_layer_data(stations, lang), bounds=bounds_lat_lon(grids.total_bounds),
                          reach=reach, method=method, lang=lang, communities=outlines, community_labels=names)


def sites_layer_data(sites: gpd.GeoDataFrame) -> GeoJSON:
    """Proposed sites (``SitingResult.sites``) as slim GeoJSON."""
    return slim_geojson(sites, [sites.index.name or "candidate_id", "rank", "households_gained", "buildings_gained"])


def highlight_data(buildings: gpd.GeoDataFrame, ids: Sequence[Any] | pd.Index) -> GeoJSON:
    """The listed buildings as slim GeoJSON (for the newly covered or lost highlight)."""
    sub = buildings.loc[buildings.index.intersection(pd.Index(ids))]
    return slim_geojson(sub, [buildings.index.name or "building_id", "name", "households"], tolerance_m=0.5)


def _grid_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fillColor": feature["properties"].get("fill", _EMPTY), "fillOpacity": 0.55, "color": "#1b5e20",
            "weight": 1.2, "opacity": 0.9}


def _building_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fillColor": feature["properties"].get("fill", _WITHIN), "fillOpacity": 0.9, "color": "#555555",
            "weight": 0.4}


def _newly_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fillColor": _NEWLY, "fillOpacity": 0.95, "color": "#ffffff", "weight": 1.2}


def _lost_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fillColor": _LOST, "fillOpacity": 0.9, "color": "#ffeb3b", "weight": 1.5}


def coverage_map(layers: CoverageLayers, *, sites: GeoJSON | None = None, newly: GeoJSON | None = None,
                 lost: GeoJSON | None = None, osm: bool = False) -> folium.Map:
    """Return the coverage map; ``sites``/``newly`` from the siting tool, ``lost`` from the what-if."""
    lang = layers.lang
    m = base_map(layers.bounds, lang=lang, osm=osm)
    m.get_root().header.add_child(folium.Element(_CSS), name="gridgeo_coverage_css")  # type: ignore[attr-defined]
    if layers.streets is not None:
        _geojson_layer(layers.streets, t("map.streets", lang), street_style, fields=["name"],
                       aliases=[t("map.street_name", lang)], highlight=False).add_to(m)
    _geojson_layer(layers.grids, t("coverage.map.grids", lang), _grid_style,
                   fields=["grid_id", "community_name", "households", "within", "share_text", "flags_label"],
                   aliases=[t("map.grid_id", lang), t("map.community", lang), t("map.households", lang),
                            t("coverage.col.within", lang, reach=layers.reach), t("coverage.map.share", lang),
                            t("map.flags", lang)]
                   ).add_to(m)
    _geojson_layer(layers.buildings, t("coverage.map.buildings_layer", lang), _building_style,
                   fields=["building_id", "name", "households", "metres"],
                   aliases=[t("map.building_id", lang), t("map.name", lang), t("map.households", lang),
                            t("coverage.map.nearest", lang)]).add_to(m)
    if newly is not None and newly["features"]:
        _geojson_layer(newly, t("coverage.map.newly", lang), _newly_style,
                       fields=["building_id", "households"],
                       aliases=[t("map.building_id", lang), t("map.households", lang)]).add_to(m)
    if lost is not None and lost["features"]:
        _geojson_layer(lost, t("coverage.map.lost", lang), _lost_style, fields=["building_id", "households"],
                       aliases=[t("map.building_id", lang), t("map.households", lang)]).add_to(m)
    if layers.communities is not None:
        _geojson_layer(layers.communities, t("map.communities", lang), _outline_style, highlight=False,
                       interactive=False).add_to(m)
    group = folium.FeatureGroup(name=t("coverage.map.grid_labels", lang), show=True)
    LabelLayer(layers.labels, css_class="grid").add_to(group)
    group.add_to(m)
    if layers.community_labels:
        _labels(layers.community_labels, t("map.labels", lang)).add_to(m)
    add_stations(m, layers.stations, lang)
    if sites is not None and sites["features"]:
        sg = folium.FeatureGroup(name=t("coverage.map.sites", lang), show=True)
        for f in sites["features"]:
            p = f["properties"]
            lon, lat = f["geometry"]["coordinates"][:2]
            text = t("coverage.map.site", lang, rank=p["rank"], gained=p["households_gained"])
            folium.Marker(lat_lon(lon, lat), tooltip=folium.Tooltip(html.escape(text)),
                          icon=folium.DivIcon(html=f'<div class="gg-site">{int(p["rank"])}</div>',
                                              icon_size=(26, 26), icon_anchor=(13, 13))).add_to(sg)
        sg.add_to(m)
    method = t(f"coverage.method.{layers.method}", lang)
    items = list(zip(SHARE_COLOURS, share_class_labels())) + [(_EMPTY, t("coverage.map.no_households", lang))]
    build_items = [(_BEYOND, t("coverage.map.uncovered", lang))]
    if newly is not None and newly["features"]:
        build_items.append((_NEWLY, t("coverage.map.newly", lang)))
    if lost is not None and lost["features"]:
        build_items.append((_LOST, t("coverage.map.lost", lang)))
    Legend([(t("coverage.map.legend", lang, reach=layers.reach, method=method), items),
            (t("coverage.map.buildings", lang), build_items)]).add_to(m)
    return finish_map(m)      # collapsed layer switch, label declutter, local assets

