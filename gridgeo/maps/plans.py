"""Maps of plan versions: two versions compared (grids added, retired, changed; buildings moved)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd

from gridgeo.i18n import Lang, t
from gridgeo.maps.base import (GeoJSON, Legend, _geojson_layer, _label_points, _labels, _outline_style,
                               _street_layer_data, base_map, bounds_lat_lon, finish_map, slim_geojson,
                               street_style)
from gridgeo.plans.diff import GRID_STATUSES, PlanDiff

__all__ = ["DIFF_COLOURS", "DiffLayers", "diff_layers", "diff_map", "diff_style", "moved_style"]

#: Fill colour per grid status in a comparison (colour-blind safe: blue/orange/red/grey).
DIFF_COLOURS: dict[str, str] = {"added": "#2c7bb6", "retired": "#d7191c", "changed": "#fdae61",
                                "unchanged": "#e0e0e0"}
MOVED_COLOUR = "#7b3294"


def diff_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """A grid by its comparison status (``fill``); retired grids dashed."""
    p = feature["properties"]
    retired = p.get("status") == "retired"
    return {"fillColor": p.get("fill", "#e0e0e0"), "fillOpacity": 0.25 if retired else 0.55,
            "color": "#b2182b" if retired else "#424242", "weight": 2 if retired else 1,
            "dashArray": "5 4" if retired else None}


def moved_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """A moved building: solid purple."""
    return {"fillColor": MOVED_COLOUR, "fillOpacity": 0.9, "color": "#40004b", "weight": 1}


@dataclass(frozen=True)
class DiffLayers:
    """Slim GeoJSON of a comparison."""

    grids: GeoJSON
    retired: GeoJSON
    moved: GeoJSON
    communities: GeoJSON
    labels: list[tuple[float, float, str]]
    streets: GeoJSON | None
    bounds: list[list[float]]
    title: str
    lang: Lang


def diff_layers(result: PlanDiff, communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                streets: gpd.GeoDataFrame | None = None, *, lang: Lang = "zh") -> DiffLayers:
    """Prepare the comparison map's layers: grids by status, retired outlines, moved buildings."""
    g = result.grids.copy()
    g["fill"] = [DIFF_COLOURS.get(s, "#e0e0e0") for s in g["status"]]
    g["status_label"] = [t(f"plans.status.{s}", lang) for s in g["status"]]
    g["change"] = [f"{a} → {b}" for a, b in zip(g["households_a"], g["households_b"], strict=True)]
    fields = [g.index.name or "grid_id", "status", "status_label", "change", "fill"]
    current = g[g["status"] != "retired"]
    retired = g[g["status"] == "retired"]
    moved_rows = result.moved.groupby("building_id").agg(
        from_grid=("from_grid", lambda s: ", ".join(sorted({x for x in s if x}))),
        to_grid=("to_grid", lambda s: ", ".join(sorted({x for x in s if x}))),
        households=("households", "sum"))
    moved = buildings.loc[buildings.index.intersection(moved_rows.index), ["geometry"]].join(moved_rows)
    return DiffLayers(
        grids=slim_geojson(current, fields, tolerance_m=1.0, coverage=True),
        retired=slim_geojson(retired, fields, tolerance_m=1.0),
        moved=slim_geojson(moved, [buildings.index.name or "building_id", "from_grid", "to_grid", "households"]),
        communities=slim_geojson(communities, [communities.index.name or "community_id", "name"],
                                 tolerance_m=1.0, coverage=True),
        labels=_label_points(communities), streets=_street_layer_data(streets),
        bounds=bounds_lat_lon(communities.total_bounds), title=f"{result.a} → {result.b}", lang=lang)


def diff_map(layers: DiffLayers, *, osm: bool = False) -> folium.Map:
    """Return the comparison map: grids of the later version by status, retired grids, moved buildings."""
    lang = layers.lang
    m = base_map(layers.bounds, lang=lang, osm=osm, canvas=False)
    if layers.streets is not None:
        _geojson_layer(layers.streets, t("map.streets", lang), street_style, fields=["name"],
                       aliases=[t("map.street_name", lang)], highlight=False).add_to(m)
    aliases = [t("map.grid_id", lang), t("plans.status", lang), t("plans.households_change", lang)]
    _geojson_layer(layers.grids, t("plans.map_grids", lang, version=layers.title), diff_style,
                   fields=["grid_id", "status_label", "change"], aliases=aliases).add_to(m)
    if layers.retired["features"]:
        _geojson_layer(layers.retired, t("plans.map_retired", lang), diff_style,
                       fields=["grid_id", "status_label", "change"], aliases=aliases).add_to(m)
    if layers.moved["features"]:
        _geojson_layer(layers.moved, t("plans.map_moved", lang), moved_style,
                       fields=["building_id", "from_grid", "to_grid", "households"],
                       aliases=[t("plans.building", lang), t("plans.from_grid", lang), t("plans.to_grid", lang),
                                t("map.households", lang)]).add_to(m)
    _geojson_layer(layers.communities, t("map.communities", lang), _outline_style, highlight=False,
                   interactive=False).add_to(m)
    _labels(layers.labels, t("map.labels", lang)).add_to(m)
    entries = [(DIFF_COLOURS[s], t(f"plans.status.{s}", lang)) for s in GRID_STATUSES]
    entries.append((MOVED_COLOUR, t("plans.map_moved", lang)))
    Legend([(t("plans.legend", lang), entries)]).add_to(m)
    return finish_map(m)
