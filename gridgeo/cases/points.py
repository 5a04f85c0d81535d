"""The cases' points in metres, projected once and passed along (grid join -> 并单 -> heat cells).

Projecting a million points through ``GeoSeries.to_crs`` rebuilds a million
geometries; here the coordinates are taken out once and sent through one
pyproj transformer as plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from gridgeo import crs as gcrs

__all__ = ["MetricPoints", "metric_points", "lonlat_of"]


@dataclass(frozen=True)
class MetricPoints:
    """``xy`` (n × 2, metres in ``crs``; NaN where a case has no point), row-aligned with the cases."""

    crs: pyproj.CRS
    xy: np.ndarray

    @property
    def present(self) -> np.ndarray:
        """Cases that have a point."""
        return np.asarray(~np.isnan(self.xy[:, 0]), dtype=bool)


def lonlat_of(geoms: np.ndarray) -> np.ndarray:
    """n × 2 coordinates of point geometries (NaN for missing or empty points), no copy of the geometries."""
    out = np.full((len(geoms), 2), np.nan)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        out[ok] = shapely.get_coordinates(geoms[ok])
    return out


def metric_points(cases: gpd.GeoDataFrame, metric: pyproj.CRS | None = None) -> MetricPoints:
    """Project the cases' points once; ``metric`` defaults to the UTM zone of their bounds."""
    src = pyproj.CRS.from_user_input(cases.crs or 4326)
    lonlat = lonlat_of(cases.geometry.to_numpy())
    ok = ~np.isnan(lonlat[:, 0])
    if metric is None:
        if ok.any():
            x0, y0 = np.nanmin(lonlat, axis=0)
            x1, y1 = np.nanmax(lonlat, axis=0)
            box = gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x1, y1)], crs=src)
        else:
            box = gpd.GeoDataFrame(geometry=[shapely.box(116.3, 39.9, 116.4, 40.0)], crs=4326)
        metric = gcrs.metric_crs(box)
    xy = np.full_like(lonlat, np.nan)
    if ok.any():
        tr = pyproj.Transformer.from_crs(src, metric, always_xy=True)
        x, y = tr.transform(lonlat[ok, 0], lonlat[ok, 1])
        xy[ok, 0], xy[ok, 1] = x, y
    return MetricPoints(metric, xy)
