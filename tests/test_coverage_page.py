"""The station layer and coverage map (folium, offline, escaped), and the Coverage page under AppTest.

The page runs on the river town of ``test_coverage`` written as a district
folder with its own grids layer, so every figure is known by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gridgeo import coverage as cov
from gridgeo import maps
from gridgeo.i18n import t
from pages._ui import K
from tests.test_coverage import BUILDINGS, STATIONS, STREETS, pt, rect

COMMUNITIES = gpd.GeoDataFrame({"community_id": ["C"], "name": ["河畔社区"], "street": ["榆山街道"]},
                               geometry=[rect(-100, -450, 1100, 450)], crs=4326)
GRIDS = gpd.GeoDataFrame({"grid_id": ["C001", "C002"], "community_id": ["C", "C"]},
                         geometry=[rect(-100, 0, 1100, 450), rect(-100, -450, 1100, 0)], crs=4326)


def write_district(folder: Path, *, streets: bool = True, stations: gpd.GeoDataFrame | None = None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    COMMUNITIES.to_file(folder / "communities.geojson")
    BUILDINGS.reset_index().to_file(folder / "buildings.geojson")
    (stations if stations is not None else STATIONS).reset_index().to_file(folder / "stations.geojson")
    GRIDS.to_file(folder / "grids.geojson")
    layers = {"communities": "communities.geojson", "buildings": "buildings.geojson",
              "stations": "stations.geojson", "grids": "grids.geojson"}
    if streets:
        STREETS.to_file(folder / "streets.geojson")
        layers["streets"] = "streets.geojson"
    (folder / "district.json").write_text(json.dumps({"name": "river", "layers": layers}), encoding="utf-8")
    return str(folder)


def test_station_layer_escapes_names_and_needs_no_cdn() -> None:
    m = maps.overview_map(maps.overview_layers(
        _district(), None, lang="en"))
    html = m.get_root().render()
    assert "S &lt;b&gt;centre&lt;/b&gt;" in html and "S <b>centre</b>" not in html
    assert "gg-station-circle" in html                       # the party-mass centre's mark
    assert "Party-mass service centre" in html               # legend and tooltip label
    assert "cdn" not in html.lower() and "font-awesome" not in html.lower()


def _district() -> object:
    from gridgeo.io import District
    return District(communities=COMMUNITIES.set_index("community_id"), buildings=BUILDINGS, streets=STREETS,
                    stations=STATIONS)


def test_add_stations_to_any_map_is_switchable() -> None:
    m = maps.base_map([[36.28, 116.43], [36.30, 116.46]])
    group = maps.add_stations(m, STATIONS, "zh")
    assert group is not None and group.layer_name == t("map.stations", "zh")
    assert group.control and group.overlay
    assert maps.add_stations(m, STATIONS.iloc[:0], "zh") is None


def test_coverage_map_colours_grids_by_share_and_highlights_new_sites() -> None:
    network = cov.build_network(STREETS, BUILDINGS, STATIONS)
    access = cov.station_access(BUILDINGS, STATIONS, network=network)
    grids = GRIDS.set_index("grid_id")
    table = cov.coverage_by_grid(access, BUILDINGS, grids, (300,))
    layers = maps.coverage_layers(grids, table, BUILDINGS, access.metres(), reach=300, method=access.method,
                                  streets=STREETS, stations=STATIONS, lang="zh")
    fills = {f["properties"]["grid_id"]: f["properties"]["fill"] for f in layers.grids["features"]}
    assert fills == {"C001": maps.share_colour(40 / 55, 55), "C002": maps.SHARE_COLOURS[0]}
    assert fills["C001"] == maps.SHARE_COLOURS[2]          # 73% lies in 50–75%
    assert sorted(row[2] for row in layers.labels) == ["<b>C001</b><br>73%", "<b>C002</b><br>0%"]
    sites = cov.plan_sites(access, BUILDINGS, k=2, reach_m=300, network=network)
    m = maps.coverage_map(layers, sites=maps.sites_layer_data(sites.sites),
                          newly=maps.highlight_data(BUILDINGS, sites.newly_covered.index))
    html = m.get_root().render()
    assert r'gg-site\"\u003e1\u003c' in html and r'gg-site\"\u003e2\u003c' in html  # DivIcon html, JSON-escaped
    groups = [c.layer_name for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    assert t("coverage.map.newly", "zh") in groups and t("coverage.map.sites", "zh") in groups
    assert t("map.stations", "zh") in groups and t("coverage.map.grid_labels", "zh") in groups


def _app(district: str) -> AppTest:
    at = AppTest.from_file("../pages/coverage.py", default_timeout=300)
    at.session_state[K.DISTRICT] = district
    return at


def test_page_shows_walking_coverage_of_the_river_town(tmp_path: Path) -> None:
    at = _app(write_district(tmp_path / "river"))
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["300 米内户数占比·步行"] == f"{40 / 215:.1%}"
    assert metrics["1000 米内户数占比·步行"] == f"{55 / 215:.1%}"
    assert metrics[t("coverage.grids_none", "zh", reach=300)] == "1 / 2"
    grid_table = at.dataframe[0].value
    assert list(grid_table[t("coverage.col.grid_id", "zh")]) == ["C002", "C001"]   # no station first
    at.button(key="coverage_run").click().run()
    assert not at.exception
    assert "新增覆盖 170 户" in at.success[0].value and "已证明最优" in at.success[0].value
    at.selectbox(key="coverage_close").set_value("S1").run()
    assert "失去覆盖 40 户" in at.info[0].value


def test_page_without_streets_says_straight_line(tmp_path: Path) -> None:
    at = _app(write_district(tmp_path / "flat", streets=False))
    at.session_state[K.LANG] = "en"
    at.run()
    assert not at.exception
    assert "straight-line distance" in at.warning[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Within 300 m · straight line"] == f"{140 / 215:.1%}"


def test_page_names_a_station_outside_the_district(tmp_path: Path) -> None:
    far = pd.concat([STATIONS, gpd.GeoDataFrame({"name": ["far"], "kind": ["other"]}, geometry=[pt(5000, 0)],
                                                index=pd.Index(["FAR"], name="station_id"), crs=4326)])
    at = _app(write_district(tmp_path / "far", stations=far))
    at.run()
    assert not at.exception
    # in the page's language (zh): the station's id and its distance (gridgeo.errors.render)
    assert "- FAR：站点位于辖区外 3900 米" in at.error[0].value and "（FAR）" not in at.error[0].value
