"""The hand-editing map: grids by live status, the grids an edit touched, the selected building.

The static half (streets, community outlines, buildings) is built once per
district; the changing half (grids, highlights) comes as feature groups that
``st_folium(feature_group_to_add=...)`` swaps without remounting the map, so the
view stays where the planner zoomed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from gridgeo.i18n import Lang, t
from gridgeo.maps.base import (DEDICATED_FILL, STATUS_BORDERS, STATUS_COLOURS, GeoJSON, Legend, _geojson_layer,
                               _label_points, _outline_style, _street_layer_data, _with_props, base_map,
                               bounds_lat_lon, grid_border_style, slim_geojson, street_style, use_local_assets)

__all__ = ["EditBase", "edit_base", "edit_map", "edit_groups", "EXEMPT_COLOUR", "TOUCHED_COLOUR",
           "edit_grid_style", "selected_style"]

EXEMPT_COLOUR = DEDICATED_FILL  # dedicated grids: apart from the household classes, dash-dot outline
TOUCHED_COLOUR = "#ff7f00"    # outline of the grids the last edit changed
SELECTED_COLOUR = "#e7298a"   # the selected building and grid
GRID_PANE = "gridgeo_edit_grids"  # below the buildings (overlayPane, z 400), so buildings stay hoverable


@dataclass(frozen=True)
class EditBase:
    """Slim GeoJSON of the layers an edit never changes."""

    buildings: GeoJSON
    communities: GeoJSON
    labels: list[tuple[float, float, str]]
    streets: GeoJSON | None
    bounds: list[list[float]]
    lang: Lang


def edit_base(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
              streets: gpd.GeoDataFrame | None = None, *, lang: Lang = "zh") -> EditBase:
    """Prepare the unchanging layers (cache this)."""
    # one multipolygon per community: folium styles and serialises every feature on every rerun
    # (2,500 buildings cost ~0.5 s a rerun); a click is resolved by location, not by feature
    b = buildings.assign(_c=buildings["community_id"].astype(str) if "community_id" in buildings.columns else "")
    merged = gpd.GeoDataFrame({"community_id": sorted(set(b["_c"]))},
                              geometry=[b.geometry[b["_c"] == c].union_all() for c in sorted(set(b["_c"]))],
                              crs=4326)
    return EditBase(
        buildings=slim_geojson(merged, ["community_id"], tolerance_m=0.3),
        communities=slim_geojson(communities, [communities.index.name or "community_id", "name"],
                                 tolerance_m=1.0, coverage=True),
        labels=_label_points(communities), streets=_street_layer_data(streets),
        bounds=bounds_lat_lon(communities.total_bounds), lang=lang)


def edit_grid_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    """Grid fill by live status; the grids the last edit touched get a thick orange outline.

    A dedicated grid (``status`` exempt) is drawn apart: lavender fill and the purple
    dash-dot outline of ``STATUS_BORDERS["exempt"]`` (dashed orange when just touched).
    """
    p = feature["properties"]
    touched = bool(p.get("touched"))
    if p.get("status") == "exempt":
        b = STATUS_BORDERS["exempt"]
        return {"fillColor": p.get("fill", EXEMPT_COLOUR), "fillOpacity": 0.6,
                "color": TOUCHED_COLOUR if touched else b["color"], "weight": 4 if touched else b["weight"],
                "dashArray": b["dashArray"], "opacity": 1.0}
    return {"fillColor": p.get("fill", "#bdbdbd"), "fillOpacity": 0.45,
            "color": TOUCHED_COLOUR if touched else "#1b5e20", "weight": 4 if touched else 1.2,
            "opacity": 1.0 if touched else 0.8}


def selected_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fill": True, "fillColor": SELECTED_COLOUR, "fillOpacity": 0.6, "color": SELECTED_COLOUR,
            "weight": 3}


def _building_style(feature: Mapping[str, Any]) -> dict[str, Any]:
    return {"fillColor": "#525252", "fillOpacity": 0.55, "color": "#252525", "weight": 0.6}


def edit_map(base: EditBase) -> folium.Map:
    """The static map: streets, buildings, community outlines and labels, legend.

    It is the same on every rerun, so streamlit-folium never remounts it; the
    grids come as a feature group drawn in a pane below the buildings.
    """
    lang = base.lang
    m = base_map(base.bounds, lang=lang, canvas=False)
    folium.map.CustomPane(GRID_PANE, z_index=350, pointer_events=True).add_to(m)
    if base.streets is not None:
        _geojson_layer(base.streets, t("map.streets", lang), street_style, fields=["name"],
                       aliases=[t("map.street_name", lang)], highlight=False, interactive=False).add_to(m)
    _geojson_layer(base.communities, t("map.communities", lang), _outline_style, highlight=False,
                   interactive=False).add_to(m)
    # (no community labels: 19 markers cost 0.3 s of template compiling a rerun; the planner map has them)
    _geojson_layer(base.buildings, t("map.buildings", lang), _building_style, highlight=False).add_to(m)
    Legend([(t("map.legend_status", lang),
             [*((STATUS_COLOURS[s], t(f"map.status.{s}", lang)) for s in ("under", "within", "over")),
              (EXEMPT_COLOUR, t("edit.map.dedicated", lang), grid_border_style("exempt")), (TOUCHED_COLOUR, t("edit.map.touched", lang)),
              (SELECTED_COLOUR, t("edit.map.selected", lang))])]).add_to(m)
    return use_local_assets(m)


def edit_groups(grids: gpd.GeoDataFrame, base: EditBase, *, selected: gpd.GeoDataFrame | None = None
                ) -> list[folium.FeatureGroup]:
    """The changing layers: grids (from ``EditSession.current_grids``) and the selected building."""
    lang = base.lang
    fill = [EXEMPT_COLOUR if s == "exempt" else STATUS_COLOURS.get(str(s), "#bdbdbd") for s in grids["status"]]
    dedicated = grids["kind"].astype(str).eq("dedicated") if "kind" in grids.columns else grids["status"].eq("exempt")
    names = grids["name"].fillna("").astype(str) if "name" in grids.columns else pd.Series("", index=grids.index)
    frame = _with_props(grids, fill=fill, status_label=[t(f"edit.status.{s}", lang) for s in grids["status"]],
                        lock_label=[t("edit.map.locked", lang) if v else "" for v in grids["locked"]],
                        kind_label=[(t("edit.map.dedicated", lang) + (f" · {n}" if n else "")) if d
                                    else t("edit.map.basic", lang) for d, n in zip(dedicated, names, strict=True)])
    # not simplified: 0.5 s per rerun for 118 grids, while the full cells are only ~0.25 MB
    data = slim_geojson(frame, [grids.index.name or "grid_id", "kind_label", "households", "buildings", "status",
                                "status_label", "lock_label", "touched", "fill"])
    groups = [_geojson_layer(data, t("map.grids", lang), edit_grid_style,
                             fields=["grid_id", "kind_label", "households", "buildings", "status_label", "lock_label"],
                             aliases=[t("map.grid_id", lang), t("map.kind", lang), t("map.households", lang),
                                      t("map.buildings_n", lang), t("map.status", lang), ""], pane=GRID_PANE)]
    if selected is not None and len(selected):
        sel = slim_geojson(selected, [selected.index.name or "building_id"])
        groups.append(_geojson_layer(sel, t("edit.map.selected", lang), selected_style, highlight=False,
                                     interactive=False))
    for g in groups:
        use_local_assets(g)  # type: ignore[arg-type]  # walks any element tree
    return groups
