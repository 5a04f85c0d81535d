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


def _lattice(n: int = 4) -> gpd.GeoDataFrame:
    """n x n square grids of 0.002° in two communities (west and east halves)."""
    xs = [116.44 + 0.002 * i for i in range(n + 1)]
    ys = [36.29 + 0.002 * j for j in range(n + 1)]
    cells = [box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(n) for i in range(n)]
    ids = [f"37012400100{1 + (k % n >= n // 2)}{k:03d}" for k in range(n * n)]
    status = ["under" if k == 0 else "over" if k == 5 else "within" for k in range(n * n)]
    return gpd.GeoDataFrame(
        {"community_id": [i[:12] for i in ids], "households": [100 + k for k in range(n * n)],
         "buildings": [2] * (n * n), "status": status, "flags": ["multipart;unit_split" if k == 5 else ""
                                                                   for k in range(n * n)]},
        geometry=cells, index=pd.Index(ids, name="grid_id"), crs=4326)


def test_neighbouring_grids_never_share_a_fill() -> None:
    grids = _lattice(5)
    colour = maps.grid_colour_index(grids)
    touching = grids.sindex.query(grids.geometry.values, predicate="intersects")
    pairs = [(a, b) for a, b in zip(*touching) if a < b]
    assert len(pairs) == 72                       # 5x5 lattice: 40 edges + 32 corners, counted by hand
    assert all(colour.iloc[a] != colour.iloc[b] for a, b in pairs)
    assert colour.max() < len(maps.GRID_PALETTE)
    layers = maps.grid_layers(grids, _district().communities)
    fills = {f["properties"]["grid_id"]: f["properties"]["fill"] for f in layers.grids["features"]}
    ids = list(grids.index)
    assert all(fills[ids[a]] != fills[ids[b]] for a, b in pairs)


def test_out_of_bounds_grids_get_a_border_and_a_legend_count() -> None:
    grids = _lattice(4)
    layers = maps.grid_layers(grids, _district().communities, lang="zh")
    style = {f["properties"]["grid_id"]: maps.grid_style(f) for f in layers.grids["features"]}
    assert style[grids.index[0]]["color"] == maps.STATUS_BORDERS["under"]["color"]
    assert style[grids.index[5]]["dashArray"] == maps.STATUS_BORDERS["over"]["dashArray"]
    assert style[grids.index[1]]["weight"] < style[grids.index[0]]["weight"]
    assert layers.status_counts == {"under": 1, "within": 14, "over": 1}
    m = maps.grid_map(layers)
    legend = next(c for c in m._children.values() if isinstance(c, maps.Legend))
    assert "低于下限（1 个）" in legend.html and "超过上限（1 个）" in legend.html and "在范围内（14 个）" in legend.html
    assert "dashed #1f5fbf" in legend.html                # the swatch is drawn like the grid's border


def test_grid_tooltip_names_the_community_and_translates_status_and_flags() -> None:
    grids = _lattice(4)
    for lang, name, status, flag in (("zh", "翠屏社区", "超过上限", "多块区域组成、含按单元拆分的楼栋"),
                                     ("en", "翠屏社区", "Above the maximum", "several separate parts; holds units")):
        layers = maps.grid_layers(grids, _district().communities, lang=lang)  # type: ignore[arg-type]
        props = {f["properties"]["grid_id"]: f["properties"] for f in layers.grids["features"]}[grids.index[5]]
        assert props["community_name"] == name
        assert props["status_label"] == status
        assert props["flags_label"].startswith(flag)
    html = maps.grid_map(maps.grid_layers(grids, _district().communities, lang="zh")).get_root().render()
    assert '"community_name"' in html and "社区编码" not in html


def test_every_partition_flag_has_a_translation() -> None:
    from gridgeo.i18n import STRINGS
    from gridgeo.partition import FLAGS

    assert [c for c in FLAGS if not (STRINGS.get(f"flag.{c}", {}).get("zh") and STRINGS[f"flag.{c}"].get("en"))] == []


def test_grid_labels_carry_serial_and_households() -> None:
    grids = _lattice(4)
    layers = maps.grid_layers(grids, _district().communities, lang="zh")
    texts = {text for _, _, text, _, _ in layers.grid_labels}
    assert f"<b>{grids.index[3][-3:]}</b><br>103 户" in texts
    sizes = [size for *_, size in layers.grid_labels]
    assert all(170 < s < 230 for s in sizes)         # 0.002° of latitude ≈ 222 m, of longitude at 36°N ≈ 180 m


def test_every_part_of_a_multipart_community_is_labelled() -> None:
    from shapely.geometry import MultiPolygon
    comms = gpd.GeoDataFrame({"name": ["两块社区"]}, geometry=[MultiPolygon([
        box(116.44, 36.29, 116.45, 36.30), box(116.46, 36.29, 116.47, 36.30)])],
        index=pd.Index(["C1"], name="community_id"), crs=4326)
    labels = maps.base._label_points(comms)
    assert len(labels) == 2 and {text for *_, text in labels} == {"两块社区"}
    assert {round(lon, 2) for lon, _, _ in labels} == {116.44, 116.46} or len({lon for lon, _, _ in labels}) == 2


def test_maps_use_canvas_metric_scale_collapsed_layers_and_declutter() -> None:
    grids = _lattice(3)
    d = _district()
    html = maps.grid_map(maps.grid_layers(grids, d.communities, buildings=d.buildings)).get_root().render()
    assert '"preferCanvas": true' in html
    assert "imperial: false" in html and "L.control.scale()" not in html
    assert '"collapsed": true' in html
    assert "gridgeo-label" in html and "overlaps(r, taken[i])" in html
    assert '"paddingBottomRight": [215, 24]' in html


def test_point_buildings_are_circle_markers_coloured_by_households_never_pins() -> None:
    d = _district()
    points = d.buildings.set_geometry(d.buildings.geometry.representative_point())
    district = District(communities=d.communities, buildings=points)
    html = maps.overview_map(maps.overview_layers(district)).get_root().render()
    assert "new L.CircleMarker(latlng" in html
    assert "L.marker(" not in html.replace("L.marker([r[0], r[1]]", "")   # only the text labels are markers
    layers = maps.overview_layers(district)
    fills = {f["properties"]["building_id"]: f["properties"]["fill"] for f in layers.buildings["features"]}
    assert fills["B3"] == maps.household_colour(330) == "#bd0026"


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


def test_a_city_of_buildings_is_built_only_when_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    d = _district()
    monkeypatch.setattr(maps.base, "MAX_EAGER_BUILDINGS", 2)       # the demo district stands in for a city
    html = maps.grid_map(maps.grid_layers(_lattice(3), d.communities, buildings=d.buildings)).get_root().render()
    assert "overlayadd" in html and "var data = JSON.parse(raw)" in html     # parsed only when switched on
    import json
    name = "楼栋（4 栋，勾选后显示）"
    assert name in html or json.dumps(name)[1:-1] in html             # listed, unticked, in the layer switch
