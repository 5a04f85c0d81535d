"""Plan exports that open in QGIS, web maps and Excel: one implementation for the app and the CLI.

GeoJSON follows RFC 7946: EPSG:4326 lon/lat, exterior rings counter-clockwise,
no ``crs`` member. CSV carries a UTF-8 byte-order mark so Excel shows Chinese
text correctly; pandas, QGIS and GDAL read it unchanged.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj
import shapely

__all__ = ["grids_geojson", "assignments_csv", "write_plan"]


def grids_geojson(grids: gpd.GeoDataFrame) -> bytes:
    """The grids as RFC 7946 GeoJSON bytes; the index (``grid_id``) becomes a property."""
    g = grids if grids.crs is not None and grids.crs.equals(pyproj.CRS.from_epsg(4326)) else grids.to_crs(4326)
    g = g.reset_index() if g.index.name is not None else g
    g = g.set_geometry(shapely.orient_polygons(g.geometry.to_numpy(), exterior_cw=False), crs=4326)
    text: str = g.to_json(ensure_ascii=False, drop_id=True, to_wgs84=False)
    return text.encode("utf-8")


def assignments_csv(assignments: pd.DataFrame) -> bytes:
    """Building → grid rows as CSV with a byte-order mark (Excel-friendly)."""
    keep_index = assignments.index.name is not None
    text: str = assignments.to_csv(index=keep_index, lineterminator="\n")
    return text.encode("utf-8-sig")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write next to ``path`` and rename, so an interrupted export never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(grids: gpd.GeoDataFrame, assignments: pd.DataFrame, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``grids.geojson`` and ``assignments.csv`` into ``out_dir`` (created if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "grids.geojson", out / "assignments.csv"
    _write_atomic(paths[0], grids_geojson(grids))
    _write_atomic(paths[1], assignments_csv(assignments))
    return paths
