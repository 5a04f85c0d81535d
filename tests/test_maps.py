"""Maps: colours, escaping, payload size, rounding, lat/lon order, local assets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from gridgeo import io, maps
from gridgeo.io import District
from gridgeo.summary import community_table

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def _district() -> District:
    comms = gpd.GeoDataFrame(
        {"name": ["翠屏社区", "<b>锦水</b>社区"], "street": ["榆山街道", "榆山街道"], "kind": ["urban", "urban"]},
        geometry=[box(116.4400001, 36.29, 116.45, 36.30), box(116.45, 36.29, 116.4612345678, 36.30)],
        index=pd.Index(["370124001001", "370124001002"], name="community_id"), crs=4326,
    )
    names = ["1号楼", "<script>alert(1)</script>", "3号楼", "4号楼"]
    buildings = gpd.GeoDataFrame(
        {"households": [40, 120, 330, 99], "units": pd.array([1, 3, None, 2], dtype="Int64"),
         "compound_id": ["C1", "C1", None, "C2"], "name": names,
         "community_id": ["370124001001", "370124001001", "370124001002", "370124001002"]},
        geometry=[box(116.441 + 0.002 * i, 36.291, 116.4417 + 0.002 * i, 36.2914) for i in range(2)]
        + [box(116.451 + 0.002 * i, 36.291, 116.4517123456 + 0.002 * i, 36.2914) for i in range(2)],
        index=pd.Index(["B1", "B2", "B3", "B4"], name="building_id"), crs=4326,
    )
    streets = gpd.GeoDataFrame({"name": ["榆山路"], "kind": ["arterial"]},
                               geometry=[LineString([(116.44, 36.295), (116.46, 36.295)])], crs=4326)
    stations = gpd.GeoDataFrame(
        {"name": ["翠屏党群服务中心"], "kind": ["party_mass_centre"]}, geometry=[Point(116.445, 36.296)],
        index=pd.Index(["S1"], name="station_id"), crs=4326)
    return District(communities=comms, buildings=buildings, streets=streets, stations=stations)


def _coords(geometry: dict[str, Any]) -> Iterator[float]:
    def walk(c: Any) -> Iterator[float]:
        if isinstance(c, (int, float)):
            yield float(c)
        else:
            for item in c:
                yield from walk(item)
    yield from walk(geometry["coordinates"])


@pytest.mark.parametrize(("households", "colour"), [
    (1, "#ffffb2"), (49, "#ffffb2"), (50, "#fecc5c"), (99, "#fecc5c"), (100, "#fd8d3c"),
    (199, "#fd8d3c"), (200, "#f03b20"), (299, "#f03b20"), (300, "#bd0026"), (1500, "#bd0026"),
])
def test_building_style_colours_by_household_class(households: int, colour: str) -> None:
    feature = {"properties": {"fill": maps.household_colour(households)}}
    assert maps.building_style(feature)["fillColor"] == colour


def test_overview_layers_carry_the_class_colour_of_each_building() -> None:
    layers = maps.overview_layers(_district())
    fills = {f["properties"]["building_id"]: f["properties"]["fill"] for f in layers.buildings["features"]}
    assert fills == {"B1": "#ffffb2", "B2": "#fd8d3c", "B3": "#bd0026", "B4": "#fecc5c"}


def test_grid_style_colours_by_status() -> None:
    d = _district()
    grids = gpd.GeoDataFrame(
        {"community_id": ["370124001001", "370124001002"], "households": [160, 429], "buildings": [2, 2],
         "polsby_popper": [0.61, 0.7], "status": ["under", "within"]},
        geometry=list(d.communities.geometry), index=pd.Index(["370124001001001", "370124001002001"],
                                                              name="grid_id"), crs=4326)
    layers = maps.grid_layers(grids, d.communities, d.streets)
    styles = {f["properties"]["grid_id"]: maps.grid_style(f)["fillColor"] for f in layers.grids["features"]}
    assert styles == {"370124001001001": maps.STATUS_COLOURS["under"],
                      "370124001002001": maps.STATUS_COLOURS["within"]}
    html = maps.grid_map(layers).get_root().render()
    assert "370124001002001" in html


def test_user_text_is_escaped() -> None:
    d = _district()
    layers = maps.overview_layers(d)
    names = {f["properties"]["building_id"]: f["properties"]["name"] for f in layers.buildings["features"]}
    assert names["B2"] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert [text for _, _, text in layers.labels] == ["翠屏社区", "&lt;b&gt;锦水&lt;/b&gt;社区"]
    html = maps.overview_map(layers).get_root().render()
    assert "<script>alert(1)" not in html and "\\u003cscript\\u003ealert" not in html
    assert d.buildings.loc["B2", "name"] == "<script>alert(1)</script>"  # input untouched


def test_coordinates_rounded_to_six_decimals() -> None:
    layers = maps.overview_layers(_district())
    coords = [c for data in (layers.communities, layers.buildings, layers.streets, layers.stations)
              for f in data["features"] for c in _coords(f["geometry"])]
    assert coords and all(round(c, 6) == c for c in coords)
    assert 116.4612345678 not in coords and any(abs(c - 116.461235) < 1e-9 for c in coords)


def test_map_bounds_are_lat_lon_and_contain_the_district() -> None:
    d = _district()
    lon_min, lat_min, lon_max, lat_max = d.communities.total_bounds
    m = maps.overview_map(maps.overview_layers(d))
    (south, west), (north, east) = m.get_bounds()
    assert south <= lat_min + 1e-6 and north >= lat_max - 1e-6
    assert west <= lon_min + 1e-6 and east >= lon_max - 1e-6
    assert 3 < south < 54 and 73 < west < 136  # latitude first: Jinan is at 36 N, 116 E
    assert maps.lat_lon(116.45, 36.29) == [36.29, 116.45]


def test_map_loads_only_local_assets_that_exist() -> None:
    html = maps.overview_map(maps.overview_layers(_district())).get_root().render()
    links = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert links, "the map must load Leaflet"
    assert all(link.startswith("/app/static/vendor/") for link in links), links
    for link in links:  # installed by scripts/vendor_static.sh (make static)
        assert (ROOT / "static" / link.removeprefix("/app/static/")).is_file(), link
    assert "tile.openstreetmap.org" in html  # the optional tile layer exists …
    assert re.search(r"tile_layer_\w+\.addTo\(", html) is None  # … but is off by default
    with_tiles = maps.overview_map(maps.overview_layers(_district()), osm=True).get_root().render()
    assert re.search(r"tile_layer_\w+\.addTo\(", with_tiles)


def test_unvendored_plugin_is_refused() -> None:
    m = maps.base_map([[36.29, 116.44], [36.30, 116.46]])
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="no local copy"):
        maps.use_local_assets(m)


def test_heatmap_plugin_uses_the_vendored_script() -> None:
    m = maps.base_map([[36.29, 116.44], [36.30, 116.46]])
    folium.plugins.HeatMap([[36.295, 116.45, 1.0]]).add_to(m)
    html = maps.use_local_assets(m).get_root().render()
    assert "/app/static/vendor/leaflet.heat/leaflet-heat.js" in html and "cdn.jsdelivr" not in html


def test_slim_geojson_keeps_listed_fields_and_does_not_mutate() -> None:
    b = _district().buildings
    before = b.copy()
    data = maps.slim_geojson(b, ["building_id", "households", "missing_field"], tolerance_m=0.5)
    assert set(data["features"][0]["properties"]) == {"building_id", "households"}
    assert [f["properties"]["households"] for f in data["features"]] == [40, 120, 330, 99]
    pd.testing.assert_frame_equal(b, before)
    with pytest.raises(ValueError, match="EPSG:4326"):
        maps.slim_geojson(b.to_crs(32650), ["households"])


def test_demo_home_map_payload_under_5_mb() -> None:
    district = io.read_district(DEMO)
    layers = maps.overview_layers(district, community_table(district))
    html = maps.overview_map(layers).get_root().render()
    assert len(layers.buildings["features"]) == len(district.buildings)
    assert len(html.encode("utf-8")) < 5 * 1024 * 1024
