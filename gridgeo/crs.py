"""Coordinate helpers: a metric CRS for measuring, and China's GCJ-02/BD-09 offsets.

GCJ-02 (AMap/Gaode, Tencent) and BD-09 (Baidu) are public *formulas* applied to
WGS 84 lon/lat, not coordinate reference systems pyproj knows. A frame holding
shifted coordinates still carries ``crs=EPSG:4326`` and so lies about itself:
convert at the edges (``io`` on read, ``export`` and ``maps`` on the way out) and
never let a shifted frame cross a module boundary (style.md §4).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Literal, TypeVar, cast, get_args

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from gridgeo.errors import CRSError

__all__ = [
    "Coords", "metric_crs", "to_metric", "convert_coords", "convert_geometries",
    "wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02",
    "wgs84_to_bd09", "bd09_to_wgs84",
]

Coords = Literal["wgs84", "gcj02", "bd09"]
FloatArray = NDArray[np.float64]
Pair = tuple[FloatArray, FloatArray]
GeoT = TypeVar("GeoT", gpd.GeoDataFrame, gpd.GeoSeries)

_A = 6378245.0                      # Krasovsky 1940 semi-major axis (m), used by GCJ-02
_EE = 0.00669342162296594323        # Krasovsky first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0      # BD-09 constant
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max
_TOL_DEG = 1e-9                     # inverse stops when the forward misses by less (~0.1 mm)
_MAX_ITER = 30


# --------------------------------------------------------------------------- metric CRS

_EDGE_DEG = 1e-7  # centres closer than this to a zone edge, the equator or a UTM limit ask pyproj


@functools.lru_cache(maxsize=256)
def _utm_crs(epsg: int) -> pyproj.CRS:
    return pyproj.CRS.from_epsg(epsg)


def _utm_epsg(lon: float, lat: float) -> int | None:
    """Return the WGS 84 UTM EPSG code pyproj's ``query_utm_crs_info`` puts first for this point.

    ``None`` where the answer is not plain arithmetic: on (or within ``_EDGE_DEG`` of) a zone
    edge, the equator or the UTM limits (80°S, 84°N), where two zones or none match and
    pyproj's own order decides.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if not (-80.0 + _EDGE_DEG < lat < 84.0 - _EDGE_DEG) or abs(lat) < _EDGE_DEG:
        return None
    pos = (lon + 180.0) / 6.0
    if not (_EDGE_DEG < pos < 60.0 - _EDGE_DEG) or abs(pos - round(pos)) * 6.0 < _EDGE_DEG:
        return None
    zone = int(math.floor(pos)) + 1
    return (32600 if lat > 0 else 32700) + zone


def metric_crs(data: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Choose the UTM zone to measure ``data`` in metres.

    Areas, lengths and buffers on EPSG:4326 are in degrees and wrong; every metric
    computation projects to this CRS first and returns 4326 geometry or numbers.

    The answer is geopandas' ``estimate_utm_crs()`` (the WGS 84 UTM zone holding the
    centre of the layer's bounds), computed arithmetically for lon/lat layers: the
    PROJ database query behind ``estimate_utm_crs`` costs 0.1–0.9 s a call. Centres on a
    zone edge, the equator or the UTM limits, and projected layers, still ask pyproj.

    Raises
    ------
    CRSError
        If the layer has no CRS, is empty, or its bounds fit no UTM zone.
    """
    if data.crs is None:
        raise CRSError(
            "the layer has no coordinate reference system (CRS), so distances cannot be measured",
            remedy="save the file with its CRS (EPSG:4326 for lon/lat degrees), or call "
                   ".set_crs('EPSG:4326') if the coordinates are WGS 84 longitude/latitude",
            code="crs.missing")
    if data.crs.is_geographic:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-empty layer: NaN bounds
            minx, miny, maxx, maxy = (float(v) for v in data.total_bounds)
        epsg = _utm_epsg((minx + maxx) / 2.0, (miny + maxy) / 2.0)
        if epsg is not None:
            return _utm_crs(epsg)
    try:
        crs = data.estimate_utm_crs()
    except ValueError as exc:  # empty layer or only null geometries
        raise CRSError(f"cannot choose a metric CRS for a layer without geometries ({exc})",
                       remedy="load a layer with at least one geometry",
                       code="crs.no_geometry") from exc
    except RuntimeError as exc:  # bounds outside every UTM zone's area of use
        raise CRSError(f"cannot choose a metric CRS: {exc}", value=str(data.crs),
                       remedy="check that longitude and latitude are not swapped "
                              "and that the CRS matches the coordinates",
                       code="crs.no_utm") from exc
    return cast(pyproj.CRS, crs)


def to_metric(data: GeoT) -> GeoT:
    """Return a copy of ``data`` reprojected to :func:`metric_crs`."""
    return data.to_crs(metric_crs(data))


# --------------------------------------------------------------------------- formulas

def _arrays(lon: ArrayLike, lat: ArrayLike) -> Pair:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64),
                               np.asarray(lat, dtype=np.float64))
    return x, y


def _in_china(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    lon_min, lat_min, lon_max, lat_max = CHINA_BOX
    return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> Pair:
    """Return the GCJ-02 shift (degrees) at WGS 84 ``lon``, ``lat``; zero outside China."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + common
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + common
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _invert(forward: Callable[[FloatArray, FloatArray], Pair],
            lon: FloatArray, lat: FloatArray, start: Pair) -> Pair:
    """Solve ``forward(p) == (lon, lat)`` by fixed-point iteration from ``start``.

    Both offsets change by well under 1 % per degree, so each step gains about
    two digits; a handful of steps reach ``_TOL_DEG``.
    """
    x, y = start
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if not (np.abs(ex) > _TOL_DEG).any() and not (np.abs(ey) > _TOL_DEG).any():
            break
    return x, y


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Shift WGS 84 lon/lat to GCJ-02 (AMap, Tencent); points outside China are unchanged."""
    x, y = _arrays(lon, lat)
    dx, dy = _gcj_delta(x, y)
    return x + dx, y + dy


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Undo the GCJ-02 shift exactly (to < 1e-7 degree), not by the one-step approximation.

    The common ``gcj - delta(gcj)`` shortcut is off by 0.7 m typically and up to
    5 m in the far north-east; iterating the forward formula removes that error.
    """
    x, y = _arrays(lon, lat)
    dx, dy = _gcj_delta(x, y)
    return _invert(wgs84_to_gcj02, x, y, (x - dx, y - dy))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Shift GCJ-02 lon/lat to BD-09 (Baidu); points outside China are unchanged."""
    x, y = _arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    inside = _in_china(x, y)
    return (np.where(inside, z * np.cos(theta) + 0.0065, x),
            np.where(inside, z * np.sin(theta) + 0.006, y))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Undo the BD-09 shift exactly; points outside China are unchanged.

    Starts from the public closed-form inverse (off by up to 2e-6 degree, 0.2 m)
    and refines it against :func:`gcj02_to_bd09`.
    """
    x, y = _arrays(lon, lat)
    bx, by = x - 0.0065, y - 0.006
    z = np.hypot(bx, by) - 0.00002 * np.sin(by * _X_PI)
    theta = np.arctan2(by, bx) - 0.000003 * np.cos(bx * _X_PI)
    inside = _in_china(x, y)
    start = (np.where(inside, z * np.cos(theta), x), np.where(inside, z * np.sin(theta), y))
    return _invert(gcj02_to_bd09, x, y, start)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Shift WGS 84 lon/lat to BD-09 (Baidu), through GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Undo the BD-09 shift back to WGS 84, through GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_CONVERTERS: dict[tuple[str, str], Callable[[ArrayLike, ArrayLike], Pair]] = {
    ("wgs84", "gcj02"): wgs84_to_gcj02, ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09, ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09, ("bd09", "wgs84"): bd09_to_wgs84,
}


def convert_coords(lon: ArrayLike, lat: ArrayLike, *, src: Coords, dst: Coords) -> Pair:
    """Convert lon/lat arrays between WGS 84, GCJ-02 and BD-09.

    Pass whole arrays, not one point at a time: the formulas are vectorised.

    Returns
    -------
    New ``(lon, lat)`` float arrays shaped like the broadcast inputs.

    Raises
    ------
    CRSError
        If ``src`` or ``dst`` is not one of ``wgs84``, ``gcj02``, ``bd09``.
    """
    valid = get_args(Coords)
    for name in (src, dst):
        if name not in valid:
            raise CRSError("unknown coordinate system", value=name,
                           remedy=f"use one of {', '.join(valid)}", code="crs.unknown_coords")
    if src == dst:
        x, y = _arrays(lon, lat)
        return x.copy(), y.copy()
    return _CONVERTERS[(src, dst)](lon, lat)


def convert_geometries(data: GeoT, *, src: Coords, dst: Coords) -> GeoT:
    """Convert every vertex of every geometry between WGS 84, GCJ-02 and BD-09.

    The result keeps the input's CRS label (EPSG:4326): GCJ-02 and BD-09 are
    formulas on lon/lat, not CRSs, so no honest label exists for shifted
    coordinates. Use this only at the edges (reading platform exports, drawing on
    an AMap basemap), never on frames passed between modules. Z values are kept.

    Returns
    -------
    A new GeoSeries or GeoDataFrame with the same index, columns and geometry
    types and the same number of vertices per geometry.

    Raises
    ------
    CRSError
        If the layer is in a projected CRS rather than lon/lat degrees.
    """
    if data.crs is not None and not data.crs.is_geographic:
        raise CRSError("GCJ-02/BD-09 conversion needs longitude/latitude in degrees",
                       value=str(data.crs), remedy="call .to_crs('EPSG:4326') first",
                       code="crs.not_geographic")

    def shift(x: FloatArray, y: FloatArray, *z: FloatArray) -> tuple[FloatArray, ...]:
        return (*convert_coords(x, y, src=src, dst=dst), *z)

    geoms = data.geometry if isinstance(data, gpd.GeoDataFrame) else data
    moved = shapely.transform(np.asarray(geoms.values), shift, include_z=None, interleaved=False)
    series = gpd.GeoSeries(moved, index=geoms.index, crs=geoms.crs, name=geoms.name)
    if isinstance(data, gpd.GeoDataFrame):
        out = data.copy()
        out[geoms.name] = series
        return out
    return series
