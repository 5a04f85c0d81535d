"""gridgeo.crs: metric CRS choice and the GCJ-02/BD-09 formulas against published pairs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from gridgeo import crs
from gridgeo.errors import CRSError

GEOD = Geod(ellps="WGS84")  # independent yardstick: distances are not computed by gridgeo


def _distance_m(lon1: object, lat1: object, lon2: object, lat2: object) -> np.ndarray:
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist)


# ----------------------------------------------------------------- published reference pairs
# (src lon, src lat, dst lon, dst lat, tolerance in degrees)

WGS84_TO_GCJ02 = [
    # wandergis/coordtransform test/app.js: wgs84togcj02(116.404, 39.915)
    (116.404, 39.915, 116.41024449916938, 39.91640428150164, 1e-9),
    # googollee/eviltransform python/test.py TESTS (shanghai, shenzhen, beijing)
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, 1e-6),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766, 1e-6),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069, 1e-6),
]

GCJ02_TO_BD09 = [
    # wandergis/coordtransform test/app.js: gcj02tobd09(116.404, 39.915)
    (116.404, 39.915, 116.41036949371029, 39.92133699351021, 1e-9),
]

BD09_TO_GCJ02 = [
    # wandergis/coordtransform test/app.js: bd09togcj02(116.404, 39.915). That value comes
    # from the closed-form approximate inverse; ours is exact, so agree to 1e-6 only.
    (116.404, 39.915, 116.39762729119315, 39.90865673957631, 1e-6),
]

WGS84_TO_BD09 = [
    # dromara/hutool hutool-core/src/test/java/cn/hutool/core/util/CoordinateUtilTest.java
    # wgs84toBd09Test2, checked there against https://tool.lu/coordinate/
    (122.99395597, 44.99804071, 123.00636516028885, 45.00636909189589, 1e-9),
]


@pytest.mark.parametrize(("func", "pairs"), [
    (crs.wgs84_to_gcj02, WGS84_TO_GCJ02),
    (crs.gcj02_to_bd09, GCJ02_TO_BD09),
    (crs.bd09_to_gcj02, BD09_TO_GCJ02),
    (crs.wgs84_to_bd09, WGS84_TO_BD09),
], ids=["wgs84->gcj02", "gcj02->bd09", "bd09->gcj02", "wgs84->bd09"])
def test_published_pairs(func, pairs) -> None:
    for lon, lat, want_lon, want_lat, tol in pairs:
        got_lon, got_lat = func(lon, lat)
        assert abs(float(got_lon) - want_lon) < tol, (lon, lat)
        assert abs(float(got_lat) - want_lat) < tol, (lon, lat)


def test_gcj02_inverse_recovers_published_wgs84() -> None:
    """The exact inverse lands on the WGS 84 twin of each published pair."""
    wgs_lon, wgs_lat, lon, lat, _ = np.array(WGS84_TO_GCJ02).T
    back_lon, back_lat = crs.gcj02_to_wgs84(lon, lat)
    np.testing.assert_allclose(back_lon, wgs_lon, rtol=0, atol=1e-7)
    np.testing.assert_allclose(back_lat, wgs_lat, rtol=0, atol=1e-7)


def test_gcj02_inverse_beats_one_step_shortcut() -> None:
    """wandergis' gcj02towgs84 is the one-step shortcut; ours is closer to the truth."""
    # wandergis/coordtransform test/app.js: gcj02towgs84(116.404, 39.915)
    shortcut = (116.39775550083061, 39.91359571849836)
    ours = crs.gcj02_to_wgs84(116.404, 39.915)
    fwd_ours = crs.wgs84_to_gcj02(*ours)
    fwd_shortcut = crs.wgs84_to_gcj02(*shortcut)
    miss_ours = _distance_m(*fwd_ours, 116.404, 39.915)
    miss_shortcut = _distance_m(*fwd_shortcut, 116.404, 39.915)
    assert miss_ours < 0.001
    assert miss_shortcut > 0.03  # 6 cm here (up to ~5 m near the box's edges): really off
    assert _distance_m(*ours, *shortcut) < 1.0  # yet both are the same place


# ----------------------------------------------------------------- round trips

china_lon = st.floats(min_value=73.0, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.0, allow_nan=False)


@settings(deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_round_trip_gcj02_within_half_metre(lon: float, lat: float) -> None:
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert _distance_m(lon, lat, *back) < 0.5


@settings(deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_round_trip_bd09_within_half_metre(lon: float, lat: float) -> None:
    back = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert _distance_m(lon, lat, *back) < 0.5


def test_round_trip_on_dense_grid_is_millimetric() -> None:
    lon, lat = np.meshgrid(np.linspace(73, 135, 125), np.linspace(18, 53, 71))
    for src in ("gcj02", "bd09"):
        shifted = crs.convert_coords(lon, lat, src="wgs84", dst=src)
        back = crs.convert_coords(*shifted, src=src, dst="wgs84")
        assert back[0].shape == lon.shape
        assert _distance_m(lon.ravel(), lat.ravel(), back[0].ravel(), back[1].ravel()).max() < 0.001


# ----------------------------------------------------------------- magnitudes and edges

@pytest.mark.parametrize(("city", "lon", "lat"), [
    ("Beijing", 116.404, 39.915), ("Jinan", 117.0009, 36.6758)])
def test_gcj02_shift_is_hundreds_of_metres(city: str, lon: float, lat: float) -> None:
    shift = _distance_m(lon, lat, *crs.wgs84_to_gcj02(lon, lat))
    assert 100 < shift < 700, city


@pytest.mark.parametrize(("lon", "lat"), [
    (2.3522, 48.8566),      # Paris
    (-122.4194, 37.7749),   # San Francisco
    (139.6917, 35.6895),    # Tokyo: east of the box
    (116.4, 60.0),          # north of the box
])
@pytest.mark.parametrize(("src", "dst"), [
    ("wgs84", "gcj02"), ("gcj02", "wgs84"), ("gcj02", "bd09"),
    ("bd09", "gcj02"), ("wgs84", "bd09"), ("bd09", "wgs84")])
def test_outside_china_unchanged(lon: float, lat: float, src: str, dst: str) -> None:
    got = crs.convert_coords(lon, lat, src=src, dst=dst)  # type: ignore[arg-type]
    assert (float(got[0]), float(got[1])) == (lon, lat)


def test_arrays_mix_inside_and_outside_and_keep_nan() -> None:
    lon = np.array([116.404, 2.3522, np.nan])
    lat = np.array([39.915, 48.8566, 30.0])
    got_lon, got_lat = crs.wgs84_to_gcj02(lon, lat)
    assert got_lon[0] == pytest.approx(116.41024449916938, abs=1e-9)
    assert (got_lon[1], got_lat[1]) == (2.3522, 48.8566)
    assert np.isnan(got_lon[2])
    assert lon[0] == 116.404  # input untouched


def test_same_system_returns_copy() -> None:
    lon = np.array([117.0, 118.0])
    out_lon, _ = crs.convert_coords(lon, np.array([36.6, 36.7]), src="gcj02", dst="gcj02")
    out_lon[0] = 0.0
    assert lon[0] == 117.0


def test_unknown_system_names_the_valid_ones() -> None:
    with pytest.raises(CRSError, match=r"'gcj-02'.*wgs84, gcj02, bd09"):
        crs.convert_coords(116.4, 39.9, src="gcj-02", dst="wgs84")  # type: ignore[arg-type]


# ----------------------------------------------------------------- geometries

def test_convert_geometries_keeps_types_vertices_and_frame() -> None:
    poly = Polygon([(117.00, 36.66), (117.01, 36.66), (117.01, 36.67), (117.00, 36.67)])
    line = LineString([(116.40, 39.90), (116.41, 39.91), (116.42, 39.93)])
    gdf = gpd.GeoDataFrame({"grid_id": ["G1", "L1", "P1"], "households": [400, 0, 1]},
                           geometry=[poly, line, Point(116.404, 39.915)], crs="EPSG:4326"
                           ).set_index("grid_id")
    out = crs.convert_geometries(gdf, src="wgs84", dst="gcj02")

    assert out is not gdf and list(out.columns) == list(gdf.columns)
    assert out.index.equals(gdf.index) and out.crs == gdf.crs
    assert list(out.geom_type) == ["Polygon", "LineString", "Point"]
    for before, after in zip(gdf.geometry, out.geometry, strict=True):
        xy = np.array(before.exterior.coords if before.geom_type == "Polygon" else before.coords)
        got = np.array(after.exterior.coords if after.geom_type == "Polygon" else after.coords)
        assert got.shape == xy.shape
        want = np.column_stack(crs.convert_coords(xy[:, 0], xy[:, 1], src="wgs84", dst="gcj02"))
        np.testing.assert_array_equal(got, want)
        assert np.abs(got - xy).min() > 1e-4  # every vertex really moved
    assert gdf.geometry.iloc[2].x == 116.404  # input untouched


def test_convert_geometries_series_round_trip_and_z() -> None:
    s = gpd.GeoSeries([LineString([(117.0, 36.6, 5.0), (117.1, 36.7, 9.0)]), None],
                      index=["a", "b"], crs="EPSG:4326")
    there = crs.convert_geometries(s, src="wgs84", dst="bd09")
    back = crs.convert_geometries(there, src="bd09", dst="wgs84")
    assert isinstance(there, gpd.GeoSeries) and there.index.tolist() == ["a", "b"]
    assert there.iloc[1] is None
    coords = np.array(back.iloc[0].coords)
    np.testing.assert_allclose(coords, np.array(s.iloc[0].coords), rtol=0, atol=1e-8)
    assert coords[:, 2].tolist() == [5.0, 9.0]


def test_convert_geometries_refuses_projected_layer() -> None:
    s = gpd.GeoSeries([Point(500000, 4000000)], crs="EPSG:32650")
    with pytest.raises(CRSError, match=r"longitude/latitude.*to_crs"):
        crs.convert_geometries(s, src="gcj02", dst="wgs84")


# ----------------------------------------------------------------- metric CRS

def test_metric_crs_jinan_is_utm_50n() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(117.0, 36.6), Point(117.05, 36.65)], crs="EPSG:4326")
    assert crs.metric_crs(gdf).to_epsg() == 32650
    assert crs.metric_crs(gdf.geometry).to_epsg() == 32650


def test_to_metric_measures_in_metres() -> None:
    # a 0.01 x 0.01 degree square at Jinan: 0.01 deg lat ~ 1110 m, 0.01 deg lon ~ 893 m
    square = Polygon([(117.0, 36.6), (117.01, 36.6), (117.01, 36.61), (117.0, 36.61)])
    gdf = gpd.GeoDataFrame({"v": [1]}, geometry=[square], crs="EPSG:4326")
    metric = crs.to_metric(gdf)
    assert metric.crs.to_epsg() == 32650 and gdf.crs.to_epsg() == 4326
    lons, lats = np.array(square.exterior.coords).T
    geod_area = abs(GEOD.polygon_area_perimeter(lons, lats)[0])
    assert metric.area.iloc[0] == pytest.approx(geod_area, rel=1e-3)


def test_metric_crs_without_crs_says_what_to_do() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(117.0, 36.6)])
    with pytest.raises(CRSError, match=r"no coordinate reference system.*Fix: .*set_crs\('EPSG:4326'\)"):
        crs.metric_crs(gdf)


def test_metric_crs_swapped_lon_lat_hints_at_the_swap() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(36.6, 117.0)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="swapped"):
        crs.metric_crs(gdf)


def test_metric_crs_empty_layer() -> None:
    with pytest.raises(CRSError, match="without geometries"):
        crs.metric_crs(gpd.GeoSeries([], crs="EPSG:4326"))


def _boxes_across_china_and_edges() -> list[tuple[float, float, float, float]]:
    rng = np.random.default_rng(14)
    boxes = []
    for _ in range(120):  # random districts across China's box, 1 m to 2 degrees wide
        lon, lat = rng.uniform(73.0, 135.0), rng.uniform(3.0, 54.0)
        w, h = 10 ** rng.uniform(-5, 0.3, size=2)
        boxes.append((lon, lat, lon + w, lat + h))
    for edge in range(72, 138, 6):  # zone edges: centre on the edge, just west, just east
        for off in (0.0, 1e-9, -1e-9, 1e-6, -1e-6, 0.01, -0.01):
            c = edge + off
            boxes.append((c - 0.05, 36.6, c + 0.05, 36.7))
            boxes.append((c - 3.0, 30.0, c + 3.0, 31.0))  # a box spanning two zones
    for lat in (0.0, 1e-9, -1e-9, 1e-6, -1e-6, 83.99999, -79.99999, 84.0, -80.0):
        boxes.append((117.0, lat - 0.01, 117.1, lat + 0.01))
    boxes += [(-180.0, 10.0, -180.0, 10.0), (179.9, 10.0, 180.0, 10.0), (5.9, 60.0, 6.1, 61.0)]
    return boxes


def test_metric_crs_equals_estimate_utm_crs() -> None:
    # the arithmetic shortcut must give pyproj's own answer, edges and the equator included
    for box in _boxes_across_china_and_edges():
        layer = gpd.GeoSeries([Polygon.from_bounds(*box) if box[0] != box[2] else Point(box[:2])],
                              crs="EPSG:4326")
        assert crs.metric_crs(layer) == layer.estimate_utm_crs(), box


def test_metric_crs_of_a_projected_layer_is_pyprojs() -> None:
    layer = gpd.GeoSeries([Point(117.0, 36.6), Point(117.2, 36.7)], crs="EPSG:4326").to_crs(3857)
    assert crs.metric_crs(layer).to_epsg() == 32650 == layer.estimate_utm_crs().to_epsg()


def test_metric_crs_beyond_utm_latitudes() -> None:
    with pytest.raises(CRSError, match="swapped"):
        crs.metric_crs(gpd.GeoSeries([Point(117.0, 85.0)], crs="EPSG:4326"))
