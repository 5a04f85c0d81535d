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

from gridgeo.i18n import Lang, t

__all__ = ["grids_geojson", "assignments_csv", "write_plan", "CSV_COLUMNS", "FILE_MODE"]

#: Exported files are readable by the group and others (rw-r--r--), like any file a user saves.
FILE_MODE = 0o644
#: Columns of the assignments CSV that get a header in the user's language (i18n key ``csv.<column>``);
#: the Chinese headers are ones ``gridgeo.io`` accepts back (楼栋编码, 户数, 单元数 …).
CSV_COLUMNS = ("building_id", "grid_id", "community_id", "households", "units", "unit_range", "estimated")


def grids_geojson(grids: gpd.GeoDataFrame) -> bytes:
    """The grids as RFC 7946 GeoJSON bytes; the index (``grid_id``) becomes a property."""
    g = grids if grids.crs is not None and grids.crs.equals(pyproj.CRS.from_epsg(4326)) else grids.to_crs(4326)
    g = g.reset_index() if g.index.name is not None else g
    g = g.set_geometry(shapely.orient_polygons(g.geometry.to_numpy(), exterior_cw=False), crs=4326)
    text: str = g.to_json(ensure_ascii=False, drop_id=True, to_wgs84=False)
    return text.encode("utf-8")


def assignments_csv(assignments: pd.DataFrame, *, lang: Lang | None = None) -> bytes:
    """Building → grid rows as CSV with a byte-order mark (Excel-friendly).

    With ``lang``, the known columns get headers in that language (``楼栋编码, 网格编码, 户数 …``)
    for people opening the file in Excel; without it they keep the field names (for scripts).
    """
    keep_index = assignments.index.name is not None
    frame = assignments.reset_index() if keep_index else assignments
    if lang is not None:
        frame = frame.rename(columns={c: t(f"csv.{c}", lang) for c in frame.columns if c in CSV_COLUMNS})
    text: str = frame.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write next to ``path`` and rename, so an interrupted export never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, FILE_MODE)  # mkstemp creates 0600: nobody else could read the export
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(grids: gpd.GeoDataFrame, assignments: pd.DataFrame, out_dir: str | Path, *,
               lang: Lang | None = None) -> tuple[Path, Path]:
    """Write ``grids.geojson`` and ``assignments.csv`` (mode 0644) into ``out_dir`` (created if missing).

    ``lang`` gives the CSV human headers in that language (see ``assignments_csv``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "grids.geojson", out / "assignments.csv"
    _write_atomic(paths[0], grids_geojson(grids))
    _write_atomic(paths[1], assignments_csv(assignments, lang=lang))
    return paths
