"""The service-station layer every map can carry: a glyph and colour per kind, escaped tooltips, a legend.

Icons are CSS-drawn ``DivIcon``s (no font-awesome, no CDN): a coloured shape
per kind with a one-character glyph (党 / 家 / 驿 in Chinese, P / D / C in
English). Any page adds the layer to its map in one call::

    maps.add_stations(m, district.stations, lang)

before or after ``LayerControl`` (folium lists layers when the map renders).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
from branca.element import Element, MacroElement
from jinja2 import Template

from gridgeo.i18n import Lang, t
from gridgeo.maps.base import Legend, lat_lon, slim_geojson

__all__ = ["PlainPopup", "StationStyle", "STATION_STYLES", "station_kind", "station_layer_data", "station_layer",
           "station_legend", "add_stations"]

GeoJSON = dict[str, Any]


@dataclass(frozen=True)
class StationStyle:
    """How one station kind is drawn."""

    colour: str
    glyph_zh: str
    glyph_en: str
    shape: str       # css class suffix: circle, square, diamond, dot
    size_px: int

    def glyph(self, lang: Lang) -> str:
        return self.glyph_en if lang == "en" else self.glyph_zh


#: Kind -> style; the party-mass centre is the largest mark, compound posts the smallest.
STATION_STYLES: dict[str, StationStyle] = {
    "party_mass_centre": StationStyle("#c51b7d", "党", "P", "circle", 20),
    "doorstep_station": StationStyle("#4d9221", "家", "D", "square", 17),
    "compound_post": StationStyle("#2166ac", "驿", "C", "diamond", 14),
    "other": StationStyle("#636363", "站", "O", "dot", 14),
}

_CSS = """<style>
.gg-station { display:flex; align-items:center; justify-content:center; box-sizing:border-box;
  color:#fff; font:700 11px/1 "Noto Sans CJK SC","Noto Sans SC",sans-serif; border:1.5px solid #fff;
  box-shadow:0 0 0 1px rgba(0,0,0,.55), 0 1px 3px rgba(0,0,0,.45); }
.gg-station-circle { border-radius:50%; }
.gg-station-square { border-radius:4px; }
.gg-station-diamond { transform:rotate(45deg); border-radius:3px; }
.gg-station-diamond span { transform:rotate(-45deg); }
.gg-station-dot { border-radius:50%; font-size:10px; }
.gg-legend-icon { display:inline-flex; vertical-align:middle; margin-right:6px; }
</style>"""


class PlainPopup(MacroElement):
    """A popup bound with Leaflet's own ``bindPopup`` (folium.Popup builds its content with jQuery,
    which the offline maps do not load)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }}, {maxWidth: {{ this.max_width }}});
        {% endmacro %}
    """)

    def __init__(self, html_text: str, *, max_width: int = 280) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "PlainPopup"
        self.html = html_text
        self.max_width = int(max_width)


def station_kind(kind: object) -> str:
    """The style key of a kind (unknown kinds draw as ``other``)."""
    k = str(kind)
    return k if k in STATION_STYLES else "other"


def _icon_html(kind: str, lang: Lang, *, scale: float = 1.0) -> str:
    style = STATION_STYLES[kind]
    size = round(style.size_px * scale)
    return (f'<div class="gg-station gg-station-{style.shape}" style="width:{size}px;height:{size}px;'
            f'background:{style.colour};font-size:{max(8, round(size * 0.55))}px"><span>{html.escape(style.glyph(lang))}</span></div>')


def station_layer_data(stations: gpd.GeoDataFrame | None, lang: Lang = "zh") -> GeoJSON | None:
    """Slim GeoJSON of the stations (id, name, kind, translated kind label); None without stations.

    Text is HTML-escaped here, once (Leaflet renders tooltips as HTML).
    """
    if stations is None or stations.empty:
        return None
    frame = stations.copy()
    frame["kind"] = [station_kind(k) for k in stations["kind"]]
    frame["kind_label"] = [t(f"map.station.{k}", lang) for k in frame["kind"]]
    return slim_geojson(frame, [stations.index.name or "station_id", "name", "kind", "kind_label"])


def _as_data(stations: gpd.GeoDataFrame | Mapping[str, Any] | None, lang: Lang) -> GeoJSON | None:
    if stations is None:
        return None
    if isinstance(stations, gpd.GeoDataFrame):
        return station_layer_data(stations, lang)
    return dict(stations)


def station_layer(stations: gpd.GeoDataFrame | Mapping[str, Any] | None, lang: Lang = "zh", *,
                  show: bool = True, name: str | None = None) -> folium.FeatureGroup | None:
    """A FeatureGroup with one icon per station; tooltip "name · kind", popup with id, name and kind."""
    data = _as_data(stations, lang)
    if data is None or not data["features"]:
        return None
    group = folium.FeatureGroup(name=name or t("map.stations", lang), show=show)
    for f in data["features"]:
        p = f["properties"]
        kind = station_kind(p.get("kind"))
        lon, lat = f["geometry"]["coordinates"][:2]
        label = p.get("kind_label") or t(f"map.station.{kind}", lang)
        name_ = p.get("name") or ""                      # already escaped by slim_geojson
        sid = p.get("station_id") or next((v for k, v in p.items() if k.endswith("_id")), "")
        size = STATION_STYLES[kind].size_px
        popup = (f"<b>{name_}</b><br>{label}<br><span style='color:#666'>{sid}</span>")
        marker = folium.Marker(
            lat_lon(lon, lat),
            icon=folium.DivIcon(html=_icon_html(kind, lang), icon_size=(size, size),
                                icon_anchor=(size // 2, size // 2), class_name="gg-station-icon"),
            tooltip=folium.Tooltip(f"{name_} · {label}"),
        )
        PlainPopup(popup).add_to(marker)
        marker.add_to(group)
    return group


def station_legend(kinds: list[str], lang: Lang = "zh") -> Legend:
    """A legend box listing each kind with its icon (no label hidden, none invented)."""
    legend = Legend([])
    rows = "".join(
        f'<div style="display:flex;align-items:center;margin:2px 0">'
        f'<span class="gg-legend-icon">{_icon_html(k, lang, scale=0.8)}</span>'
        f'{html.escape(t(f"map.station.{k}", lang))}</div>'
        for k in kinds)
    legend.html = ('<div style="background:rgba(255,255,255,0.92);padding:6px 9px;border-radius:4px;'
                   'font:12px/1.6 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.3)">'
                   f'<b>{html.escape(t("map.stations", lang))}</b>{rows}</div>')
    return legend


def add_stations(m: folium.Map, stations: gpd.GeoDataFrame | Mapping[str, Any] | None, lang: Lang = "zh", *,
                 show: bool = True, legend: bool = True) -> folium.FeatureGroup | None:
    """Add the station layer (switchable in the layer control) and its legend to ``m``.

    ``stations`` is a stations GeoDataFrame or ``station_layer_data``'s GeoJSON;
    nothing is added when there are none.
    """
    data = _as_data(stations, lang)
    group = station_layer(data, lang, show=show)
    if group is None or data is None:
        return None
    m.get_root().header.add_child(Element(_CSS), name="gridgeo_station_css")  # type: ignore[attr-defined]
    group.add_to(m)
    if legend:
        present = {station_kind(f["properties"].get("kind")) for f in data["features"]}
        station_legend([k for k in STATION_STYLES if k in present], lang).add_to(m)
    return group
