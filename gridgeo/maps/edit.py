"""The hand-editing map: grids by live status, the grids an edit touched, the selected building.

The static half (streets, community outlines, buildings) is built once per
district; the changing half (grids, highlights) comes as feature groups that
``st_folium(feature_group_to_add=...)`` swaps without remounting the map, so the
view stays where the planner zoomed.

Speed (a click must update the map within 1.5 s): the layers are
:class:`JsonLayer` elements, not ``folium.GeoJson``. streamlit-folium renders a
map three to four times per call; a ``folium.GeoJson`` re-serialises its data,
re-runs its style function per feature, walks every coordinate for the map's
bounds and has branca compile its output (the whole GeoJSON text) as a Jinja
template each time: ~0.7 s per rerun on the demo. A ``JsonLayer`` carries its
GeoJSON already serialised with the styles in it (the static layers once per
district, the grids once per edit) and renders as plain text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from gridgeo.i18n import Lang, t
from gridgeo.maps.base import (DEDICATED_FILL, STATUS_BORDERS, STATUS_COLOURS, GeoJSON, Legend,
                               _label_points, _outline_style, _street_layer_data, _with_props, base_map,
                               bounds_lat_lon, grid_border_style, slim_geojson, street_style, use_local_assets)

__all__ = ["EditBase", "edit_base", "edit_map", "edit_groups", "edit_grid_layer", "JsonLayer", "EXEMPT_COLOUR",
           "TOUCHED_COLOUR", "edit_grid_style", "selected_style"]

EXEMPT_COLOUR = DEDICATED_FILL  # dedicated grids: apart from the household classes, dash-dot outline
TOUCHED_COLOUR = "#ff7f00"    # outline of the grids the last edit changed
SELECTED_COLOUR = "#e7298a"   # the selected building and grid
GRID_PANE = "gridgeo_edit_grids"  # below the buildings (overlayPane, z 400), so buildings stay hoverable
_HIGHLIGHT = {"weight": 3, "color": "#000000"}


def styled_json(data: GeoJSON, style: Callable[[Mapping[str, Any]], dict[str, Any]]) -> str:
    """``data`` as JavaScript text with each feature's style in ``properties._style`` (input not modified).

    Escaped like folium's ``tojson`` (``<``, ``>``, ``&``, ``'``), so it is safe inside a ``<script>``.
    """
    features = [{**f, "properties": {**f["properties"], "_style": style(f)}} for f in data["features"]]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _Text(Element):
    """Already rendered text (branca would compile it as a template: slow for a big GeoJSON)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class JsonLayer(MacroElement):
    """A Leaflet GeoJSON layer from pre-serialised data (see :func:`styled_json`).

    Each feature is drawn with its ``properties._style``; ``fields``/``aliases``
    make a sticky tooltip (rows with an empty value are left out; values are
    already HTML-escaped by ``slim_geojson``); ``highlight`` thickens the
    hovered feature; ``interactive=False`` lets clicks through.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {
            {%- if this.pane %} pane: {{ this.pane|tojson }},{% endif %}
            interactive: {{ this.interactive|tojson }},
            style: function (feature) { return feature.properties._style; },
            onEachFeature: function (feature, layer) {
                {%- if this.fields %}
                layer.bindTooltip(function (l) {
                    var p = l.feature.properties, f = {{ this.fields|tojson }}, a = {{ this.aliases|tojson }};
                    var rows = "";
                    for (var i = 0; i < f.length; i++) {
                        var v = p[f[i]];
                        if (v === null || v === undefined || v === "") { continue; }
                        rows += "<tr><th style='text-align:left;padding-right:8px'>" + a[i] + "</th><td>" + v
                            + "</td></tr>";
                    }
                    return "<table>" + rows + "</table>";
                }, {sticky: true});
                {%- endif %}
                {%- if this.highlight %}
                layer.on("mouseover", function (e) { e.target.setStyle({{ this.highlight_style|tojson }}); });
                layer.on("mouseout", function (e) { {{ this.get_name() }}.resetStyle(e.target); });
                {%- endif %}
            }
        }).addTo({{ this._parent.get_name() }});
        {{ this.get_name() }}.addData({{ this.data_js }});
        {% endmacro %}
    """)

    def __init__(self, data_js: str, *, fields: Sequence[str] = (), aliases: Sequence[str] = (),
                 interactive: bool = True, highlight: bool = True, pane: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "JsonLayer"
        self.data_js = data_js
        self.fields = list(fields)
        self.aliases = [html.escape(a) for a in aliases]
        self.interactive = interactive
        self.highlight = highlight and interactive
        self.highlight_style = _HIGHLIGHT
        self.pane = pane

    def _get_self_bounds(self) -> list[list[float | None]]:
        # the map's bounds are fitted by base_map; walking every coordinate here cost ~0.2 s a rerun
        return [[None, None], [None, None]]

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        assert isinstance(figure, Figure), "a JsonLayer renders inside a map"
        script = self._template.module.__dict__["script"]
        figure.script.add_child(_Text(script(self, kwargs)), name=self.get_name())
        return ""


def _layer(data_js: str, name: str, **kwargs: Any) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=name)
    JsonLayer(data_js, **kwargs).add_to(group)
    return group


@dataclass(frozen=True)
class EditBase:
    """Slim GeoJSON of the layers an edit never changes."""

    buildings: GeoJSON
    communities: GeoJSON
    labels: list[tuple[float, float, str]]
    streets: GeoJSON | None
    bounds: list[list[float]]
    lang: Lang
    #: the three layers serialised with their styles (``styled_json``), once per district
    buildings_js: str = ""
    communities_js: str = ""
    streets_js: str | None = None


def edit_base(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
              streets: gpd.GeoDataFrame | None = None, *, lang: Lang = "zh") -> EditBase:
    """Prepare the unchanging layers (cache this)."""
    # one multipolygon per community: folium styles and serialises every feature on every rerun
    # (2,500 buildings cost ~0.5 s a rerun); a click is resolved by location, not by feature
    b = buildings.assign(_c=buildings["community_id"].astype(str) if "community_id" in buildings.columns else "")
    merged = gpd.GeoDataFrame({"community_id": sorted(set(b["_c"]))},
                              geometry=[b.geometry[b["_c"] == c].union_all() for c in sorted(set(b["_c"]))],
                              crs=4326)
    b_data = slim_geojson(merged, ["community_id"], tolerance_m=0.3)
    c_data = slim_geojson(communities, [communities.index.name or "community_id", "name"], tolerance_m=1.0,
                          coverage=True)
    s_data = _street_layer_data(streets)
    return EditBase(
        buildings=b_data, communities=c_data, labels=_label_points(communities), streets=s_data,
        bounds=bounds_lat_lon(communities.total_bounds), lang=lang,
        buildings_js=styled_json(b_data, _building_style), communities_js=styled_json(c_data, _outline_style),
        streets_js=styled_json(s_data, street_style) if s_data is not None else None)


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
    if base.streets_js is not None:
        _layer(base.streets_js, t("map.streets", lang), interactive=False).add_to(m)
    _layer(base.communities_js, t("map.communities", lang), interactive=False).add_to(m)
    # (no community labels: 19 markers cost 0.3 s of template compiling a rerun; the planner map has them)
    _layer(base.buildings_js, t("map.buildings", lang), highlight=False).add_to(m)
    Legend([(t("map.legend_status", lang),
             [*((STATUS_COLOURS[s], t(f"map.status.{s}", lang)) for s in ("under", "within", "over")),
              (EXEMPT_COLOUR, t("edit.map.dedicated", lang), grid_border_style("exempt")), (TOUCHED_COLOUR, t("edit.map.touched", lang)),
              (SELECTED_COLOUR, t("edit.map.selected", lang))])]).add_to(m)
    return use_local_assets(m)


def edit_grid_layer(grids: gpd.GeoDataFrame, lang: Lang) -> str:
    """The grids layer's data (from ``EditSession.current_grids``) serialised with styles: cache it per edit."""
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
    return styled_json(data, edit_grid_style)


#: tooltip rows of a grid: property and i18n key of its label
GRID_TOOLTIP = (("grid_id", "map.grid_id"), ("kind_label", "map.kind"), ("households", "map.households"),
                ("buildings", "map.buildings_n"), ("status_label", "map.status"), ("lock_label", ""))


def edit_groups(grids: gpd.GeoDataFrame | None, base: EditBase, *, selected: gpd.GeoDataFrame | None = None,
                grid_js: str | None = None) -> list[folium.FeatureGroup]:
    """The changing layers: grids (from ``EditSession.current_grids``, or ``grid_js`` from
    :func:`edit_grid_layer` cached per edit) and the selected building."""
    lang = base.lang
    if grid_js is None:
        if grids is None:
            raise ValueError("edit_groups needs the grids or their serialised layer (grid_js)")
        grid_js = edit_grid_layer(grids, lang)
    groups = [_layer(grid_js, t("map.grids", lang), fields=[f for f, _ in GRID_TOOLTIP],
                     aliases=[t(k, lang) if k else "" for _, k in GRID_TOOLTIP], pane=GRID_PANE)]
    if selected is not None and len(selected):
        sel = slim_geojson(selected, [selected.index.name or "building_id"])
        groups.append(_layer(styled_json(sel, selected_style), t("edit.map.selected", lang), interactive=False))
    return groups
