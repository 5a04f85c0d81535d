"""A minimal GeoPackage writer and reader on ``sqlite3``, so a whole save is one transaction.

GDAL (pyogrio) writes each layer in its own transaction: a crash between two
layers would leave half a version. Here every table is written through one
``sqlite3`` connection; geometries go in as proper GeoPackage geometry blobs
(``GP`` header, SRS id, envelope, ISO WKB), and the file keeps the GeoPackage
core tables, so QGIS, ``ogrinfo`` and pyogrio open it like any other.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

__all__ = ["utc_text", "init_geopackage", "geometry_blobs", "geometries", "create_feature_table", "register_attributes",
           "write_frame", "read_frame", "update_extent", "TZ"]

#: Local time of every timestamp we show; GeoPackage DATETIME values are stored in UTC.
TZ = "Asia/Shanghai"
_APPLICATION_ID = 0x47504B47  # "GPKG"
_USER_VERSION = 10200         # GeoPackage 1.2 (read by every GDAL since 2.2)
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}

_CORE_DDL = """
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"""


def utc_text(when: pd.Timestamp) -> str:
    """A timestamp as GeoPackage DATETIME text (UTC, milliseconds, ``Z``)."""
    text: str = when.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"


def init_geopackage(conn: sqlite3.Connection) -> None:
    """Create the GeoPackage core tables and the WGS 84 SRS (inside the caller's transaction)."""
    conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {_USER_VERSION}")
    for statement in _CORE_DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    wkt = pyproj.CRS.from_epsg(4326).to_wkt("WKT1_GDAL")
    conn.executemany(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        [("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
         ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
         ("WGS 84 geodetic", 4326, "EPSG", 4326, wkt, "longitude/latitude coordinates in decimal degrees")])


def geometry_blobs(geoms: Sequence[Any] | np.ndarray, srs_id: int = 4326) -> list[bytes | None]:
    """Encode shapely geometries as GeoPackage geometry blobs (little endian, xy envelope)."""
    arr = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(arr)
    empty = shapely.is_empty(arr) & ~missing
    wkb = shapely.to_wkb(arr, output_dimension=2, byte_order=1, flavor="iso")
    bounds = shapely.bounds(arr)
    head_full = b"GP\x00\x03" + struct.pack("<i", srs_id)
    head_empty = b"GP\x00\x11" + struct.pack("<i", srs_id)
    out: list[bytes | None] = []
    for i in range(len(arr)):
        if missing[i]:
            out.append(None)
        elif empty[i]:
            out.append(head_empty + wkb[i])
        else:
            b = bounds[i]
            out.append(head_full + struct.pack("<4d", b[0], b[2], b[1], b[3]) + wkb[i])
    return out


def geometries(blobs: Iterable[bytes | None]) -> np.ndarray:
    """Decode GeoPackage geometry blobs into shapely geometries (None stays None)."""
    wkb: list[bytes | None] = []
    for blob in blobs:
        if blob is None:
            wkb.append(None)
            continue
        flags = blob[3]
        wkb.append(bytes(blob[8 + _ENVELOPE_BYTES[(flags >> 1) & 0b111]:]))
    return shapely.from_wkb(np.asarray(wkb, dtype=object))  # type: ignore[no-any-return]


def create_feature_table(conn: sqlite3.Connection, table: str, columns: Sequence[tuple[str, str]], *,
                         description: str = "", geometry_type: str = "GEOMETRY") -> None:
    """Create a feature table (``fid`` key, ``geom`` column) and register it in the GeoPackage."""
    cols = ", ".join(f'"{name}" {sqltype}' for name, sqltype in columns)
    conn.execute(f'CREATE TABLE "{table}" (fid INTEGER PRIMARY KEY AUTOINCREMENT, {cols}, geom {geometry_type})')
    conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                 "VALUES (?, 'features', ?, ?, 4326)", (table, table, description))
    conn.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)", (table, geometry_type))


def register_attributes(conn: sqlite3.Connection, table: str, description: str = "") -> None:
    """Register a plain table as a GeoPackage attributes table (QGIS lists it)."""
    conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                 "VALUES (?, 'attributes', ?, ?)", (table, table, description))


def update_extent(conn: sqlite3.Connection, table: str, geoms: np.ndarray) -> None:
    """Widen the extent recorded for ``table`` in ``gpkg_contents`` to cover ``geoms``."""
    arr = np.asarray(geoms, dtype=object)
    arr = arr[~shapely.is_missing(arr) & ~shapely.is_empty(arr)]
    if not len(arr):
        return
    b = shapely.total_bounds(arr)
    conn.execute(
        "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?), ?), min_y = min(coalesce(min_y, ?), ?), "
        "max_x = max(coalesce(max_x, ?), ?), max_y = max(coalesce(max_y, ?), ?), "
        "last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
        (b[0], b[0], b[1], b[1], b[2], b[2], b[3], b[3], table))


# ----------------------------------------------------------------------------- generic frames

def _sql_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "INTEGER"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "DATETIME"
    return "TEXT"


def to_sql_values(series: pd.Series) -> list[Any]:
    """Plain Python values for sqlite3: NULL for missing, UTC ISO text for datetimes."""
    kind = _sql_type(series.dtype)
    if kind == "DATETIME":
        s = series if isinstance(series.dtype, pd.DatetimeTZDtype) else series.dt.tz_localize(TZ)
        text = s.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        return [None if pd.isna(v) else str(v) for v in text]
    values = series.astype(object).where(series.notna(), None).tolist()
    if kind == "BOOLEAN":
        return [None if v is None else int(bool(v)) for v in values]
    if kind == "INTEGER":
        return [None if v is None else int(v) for v in values]
    if kind == "DOUBLE":
        return [None if v is None else float(v) for v in values]
    return [None if v is None else str(v) for v in values]


def from_sql_values(values: Sequence[Any], dtype: str) -> pd.Series:
    """Restore a column written by :func:`to_sql_values` to ``dtype``."""
    s = pd.Series(list(values), dtype=object)
    if dtype.startswith("datetime64"):
        if s.isna().all():
            return pd.Series(pd.NaT, index=s.index, dtype=f"datetime64[ns, {TZ}]" if "," in dtype
                             else "datetime64[ns]")
        parsed = pd.to_datetime(s, utc=True, format="ISO8601")
        return parsed.dt.tz_convert(TZ) if "," in dtype else parsed.dt.tz_convert(TZ).dt.tz_localize(None)
    if dtype in ("bool",):
        return s.fillna(False).astype(bool)
    if dtype == "boolean":
        return s.astype("boolean")
    if dtype in ("Int64", "Int32", "Int16", "Int8"):
        return s.astype(dtype)
    if dtype.startswith("int"):
        return s.astype(dtype)
    if dtype.startswith("float"):
        return s.astype(dtype)
    if dtype == "str":
        return s.astype("str")
    return s


def write_frame(conn: sqlite3.Connection, table: str, frame: pd.DataFrame, *, description: str = "") -> None:
    """Write a (Geo)DataFrame as a new feature (or attributes) table; its dtypes are recorded to read it back."""
    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    flat = frame.reset_index() if frame.index.name is not None else frame.reset_index(drop=True)
    geom_name = frame.geometry.name if is_geo else None
    cols = [c for c in flat.columns if c != geom_name]
    spec = [(str(c), _sql_type(flat[c].dtype)) for c in cols]
    if is_geo:
        create_feature_table(conn, table, spec, description=description)
    else:
        body = ", ".join(f'"{n}" {t}' for n, t in spec)
        conn.execute(f'CREATE TABLE "{table}" (fid INTEGER PRIMARY KEY AUTOINCREMENT, {body})')
        register_attributes(conn, table, description)
    conn.executemany("INSERT INTO gridgeo_columns VALUES (?, ?, ?, ?)",
                     [(table, str(c), str(flat[c].dtype), i) for i, c in enumerate(cols)])
    conn.execute("INSERT INTO gridgeo_columns VALUES (?, ?, ?, ?)",
                 (table, "__index__", json.dumps(frame.index.name), -1))
    columns = [to_sql_values(flat[c]) for c in cols]
    if is_geo:
        geoms = flat[geom_name].to_numpy()
        columns.append(geometry_blobs(geoms))
        update_extent(conn, table, geoms)
    names = ", ".join(f'"{c}"' for c in cols) + (", geom" if is_geo else "")
    marks = ", ".join("?" for _ in range(len(columns)))
    conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', _rows(columns))


def _rows(columns: list[list[Any]]) -> Iterator[tuple[Any, ...]]:
    return iter(zip(*columns, strict=True))


def read_frame(conn: sqlite3.Connection, table: str) -> pd.DataFrame:
    """Read a table written by :func:`write_frame` back with its dtypes and index."""
    spec = conn.execute("SELECT column_name, dtype FROM gridgeo_columns WHERE table_name = ? AND position >= 0 "
                        "ORDER BY position", (table,)).fetchall()
    index_row = conn.execute("SELECT dtype FROM gridgeo_columns WHERE table_name = ? AND position = -1",
                             (table,)).fetchone()
    is_geo = conn.execute("SELECT 1 FROM gpkg_geometry_columns WHERE table_name = ?", (table,)).fetchone()
    names = [n for n, _ in spec]
    select = ", ".join(f'"{n}"' for n in names) + (", geom" if is_geo else "")
    rows = conn.execute(f'SELECT {select} FROM "{table}" ORDER BY fid').fetchall()
    data = list(zip(*rows)) if rows else [() for _ in range(len(names) + (1 if is_geo else 0))]
    frame = pd.DataFrame({n: from_sql_values(data[i], dtype) for i, (n, dtype) in enumerate(spec)})
    if is_geo:
        frame = gpd.GeoDataFrame(frame, geometry=geometries(data[-1]) if rows else [], crs=4326)
    index_name = json.loads(index_row[0]) if index_row else None
    if index_name is not None:
        frame = frame.set_index(index_name)
    return frame
