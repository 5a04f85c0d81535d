"""Exports that open in QGIS, ArcGIS, web maps and Excel: one implementation for the app and the CLI.

GeoJSON follows RFC 7946: EPSG:4326 lon/lat, exterior rings counter-clockwise,
no ``crs`` member. CSV carries a UTF-8 byte-order mark so Excel shows Chinese
text correctly; pandas, QGIS and GDAL read it unchanged. ``export_layers``
writes any set of named results (grids, assignments, staffing, cases, hotspots,
compliance, coverage, sites …) in one of five formats, ``export_file`` /
``layer_file`` make the downloads, ``results`` computes the result layers from
their inputs (imported on its own: it pulls in every capability), and ``sheets``
draws printable grid maps.
"""

from __future__ import annotations

import io as _io
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import geopandas as gpd
import pandas as pd
import pyproj
import shapely

from gridgeo.crs import Coords
from gridgeo.errors import InputError
from gridgeo.export.files import FILE_MODE, coords_suffix, mask_phone_columns, write_atomic, write_atomic_with
from gridgeo.tables import column_label, csv_bytes, labelled, tabular, xlsx_bytes
from gridgeo.export.vector import (GEOJSON_DECIMALS, SHP_FIELDS, geojson_bytes, gpkg_bytes, prepare,
                                   shapefile_zip_bytes, shp_field_names, with_code_text, write_gpkg)
from gridgeo.i18n import STRINGS, Lang, t

__all__ = ["grids_geojson", "assignments_csv", "write_plan", "Format", "FORMATS", "export_layers", "export_zip",
           "FILE_MODE", "coords_suffix", "write_atomic", "write_atomic_with", "column_label", "csv_bytes",
           "labelled", "tabular", "xlsx_bytes", "GEOJSON_DECIMALS", "SHP_FIELDS", "geojson_bytes", "gpkg_bytes",
           "prepare", "shapefile_zip_bytes", "shp_field_names", "with_code_text", "write_gpkg", "mask_phone_columns",
           "BUNDLE", "ExportFile", "export_file", "layer_file"]

Format = Literal["geojson", "gpkg", "shp", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = get_args(Format)


def grids_geojson(grids: gpd.GeoDataFrame, *, words: Lang | None = None) -> bytes:
    """The grids as RFC 7946 GeoJSON bytes; the index (``grid_id``) becomes a property.

    ``words`` adds ``flags_text`` (and ``status_text`` …) in that language beside the codes.
    """
    g = grids if grids.crs is not None and grids.crs.equals(pyproj.CRS.from_epsg(4326)) else grids.to_crs(4326)
    g = g.reset_index() if g.index.name is not None else g
    if words is not None:
        g = with_code_text(g, words)
    g = g.set_geometry(shapely.orient_polygons(g.geometry.to_numpy(), exterior_cw=False), crs=4326)
    text: str = g.to_json(ensure_ascii=False, drop_id=True, to_wgs84=False)
    return text.encode("utf-8")


def assignments_csv(assignments: pd.DataFrame, *, lang: Lang | None = None) -> bytes:
    """Building → grid rows as CSV with a byte-order mark (Excel-friendly).

    With ``lang``, headers are in that language (楼栋编码, 网格编码, 户数 … via ``column_label``)
    for people opening the file in Excel; without it they keep the field names (for scripts).
    """
    keep_index = assignments.index.name is not None
    frame = assignments.reset_index() if keep_index else assignments
    text: str = labelled(frame, lang).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")


def write_plan(grids: gpd.GeoDataFrame, assignments: pd.DataFrame, out_dir: str | Path, *,
               lang: Lang | None = None) -> tuple[Path, Path]:
    """Write ``grids.geojson`` and ``assignments.csv`` (mode 0644) into ``out_dir`` (created if missing);
    ``lang`` gives the CSV headers in that language (see ``assignments_csv``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "grids.geojson", out / "assignments.csv"
    write_atomic(paths[0], grids_geojson(grids))
    write_atomic(paths[1], assignments_csv(assignments, lang=lang))
    return paths


def export_layers(layers: Mapping[str, pd.DataFrame], fmt: str, out: str | Path, *, coords: Coords = "wgs84",
                  lang: Lang = "zh", headers: Lang | None = None, shp_encoding: str = "UTF-8",
                  show_phones: bool = False) -> list[Path]:
    """Write named results (``{"grids": gdf, "assignments": df, …}``) in ``fmt``; return the files written.

    - ``geojson``: ``<name>.geojson`` per spatial layer (field names canonical);
    - ``gpkg``: every layer in one GeoPackage (``out`` itself if it ends in ``.gpkg``, else
      ``out/gridgeo.gpkg``), with a description per layer in ``lang``;
    - ``shp``: ``<name>.shp.zip`` per spatial layer (``shp_encoding`` UTF-8 or GBK);
    - ``csv``: ``<name>.csv`` per layer (UTF-8 with BOM), headers in ``headers`` (default ``lang``);
    - ``xlsx``: one workbook ``gridgeo.xlsx``, a sheet per layer, headers in ``headers`` (default ``lang``).
    Tables without geometry go to CSV beside GeoJSON or Shapefile output. File names carry
    ``_gcj02`` / ``_bd09`` when the coordinates are shifted. Every file is written atomically (0644).
    A ``phone`` column is masked (138****1234) unless ``show_phones``: an explicit choice.
    """
    if not show_phones:
        layers = {name: mask_phone_columns(frame) for name, frame in layers.items()}
    if fmt not in FORMATS:
        raise InputError(f"cannot export to the format {fmt!r}", value=fmt, code="err.export.format",
                         remedy="choose geojson, gpkg, shp, csv or xlsx")
    head: Lang | None = headers if headers is not None else lang
    suffix = coords_suffix(coords)
    target = Path(out)
    if fmt == "gpkg":
        path = target if target.suffix.lower() == ".gpkg" else target / f"gridgeo{suffix}.gpkg"
        return [write_gpkg(layers, path, coords=coords, lang=lang)]
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if fmt == "xlsx":
        sheets = {(t(f"export.sheet.{name}", head) if head and f"export.sheet.{name}" in STRINGS else name): frame
                  for name, frame in layers.items()}
        path = target / f"gridgeo{suffix}.xlsx"
        write_atomic(path, xlsx_bytes(_with_lonlat(sheets, coords), lang=head))
        return [path]
    for name, frame in layers.items():
        spatial = isinstance(frame, gpd.GeoDataFrame)
        if fmt == "geojson" and spatial:
            path = target / f"{name}{suffix}.geojson"
            write_atomic(path, geojson_bytes(frame, coords=coords, name=name, words=lang))
        elif fmt == "shp" and spatial:
            path = target / f"{name}{suffix}.shp.zip"
            write_atomic(path, shapefile_zip_bytes(frame, name=name, coords=coords, words=lang,
                                                   encoding="GBK" if shp_encoding.upper() == "GBK" else "UTF-8"))
        else:
            path = target / f"{name}{suffix}.csv"
            write_atomic(path, csv_bytes(_with_lonlat({name: frame}, coords)[name], lang=head))
        written.append(path)
    return written


def export_zip(layers: Mapping[str, pd.DataFrame], fmt: str, *, coords: Coords = "wgs84", lang: Lang = "zh",
               headers: Lang | None = None, shp_encoding: str = "UTF-8", show_phones: bool = False) -> bytes:
    """Everything ``export_layers`` writes, in one zip (for a single download)."""
    with tempfile.TemporaryDirectory(prefix="gridgeo-export-") as tmp:
        files = export_layers(layers, fmt, tmp, coords=coords, lang=lang, headers=headers, shp_encoding=shp_encoding,
                              show_phones=show_phones)
        return _zip(files)


#: What the page and the CLI offer: the five formats, and ``all`` = GeoPackage + XLSX + GeoJSON in one zip.
BUNDLE = "all"
_MIME = {"gpkg": "application/geopackage+sqlite3", "geojson": "application/geo+json", "csv": "text/csv",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "zip": "application/zip"}


@dataclass(frozen=True)
class ExportFile:
    """One download: its file name (coordinates marked), MIME type and bytes."""

    name: str
    mime: str
    data: bytes


def export_file(layers: Mapping[str, pd.DataFrame], fmt: str, *, coords: Coords = "wgs84", lang: Lang = "zh",
                headers: Lang | None = None, shp_encoding: str = "UTF-8", show_phones: bool = False) -> ExportFile:
    """Every layer in one download: a GeoPackage for ``gpkg``; for ``all`` a zip of the GeoPackage, the
    XLSX workbook and a GeoJSON per spatial layer; else the zip of ``export_layers``' files."""
    suffix = coords_suffix(coords)
    if not show_phones:
        layers = {name: mask_phone_columns(frame) for name, frame in layers.items()}
    options = dict(coords=coords, lang=lang, headers=headers, shp_encoding=shp_encoding, show_phones=True)
    if fmt == "gpkg":
        return ExportFile(f"gridgeo{suffix}.gpkg", _MIME["gpkg"], gpkg_bytes(layers, coords=coords, lang=lang))
    if fmt == BUNDLE:
        with tempfile.TemporaryDirectory(prefix="gridgeo-export-") as tmp:
            files = [*export_layers(layers, "gpkg", tmp, **options),  # type: ignore[arg-type]
                     *export_layers(layers, "xlsx", tmp, **options),  # type: ignore[arg-type]
                     *export_layers({n: f for n, f in layers.items() if isinstance(f, gpd.GeoDataFrame)},
                                    "geojson", tmp, **options)]  # type: ignore[arg-type]
            return ExportFile(f"gridgeo_all{suffix}.zip", _MIME["zip"], _zip(files))
    data = export_zip(layers, fmt, **options)  # type: ignore[arg-type]
    return ExportFile(f"gridgeo_{fmt}{suffix}.zip", _MIME["zip"], data)


def layer_file(name: str, frame: pd.DataFrame, fmt: str, *, coords: Coords = "wgs84", lang: Lang = "zh",
               headers: Lang | None = None, shp_encoding: str = "UTF-8", show_phones: bool = False) -> ExportFile:
    """One layer alone in ``fmt`` (a table without geometry as CSV where the format needs one)."""
    if fmt == BUNDLE:
        fmt = "gpkg"
    with tempfile.TemporaryDirectory(prefix="gridgeo-export-") as tmp:
        [path] = export_layers({name: frame}, fmt, Path(tmp) / name if fmt != "gpkg" else
                               Path(tmp) / f"{name}{coords_suffix(coords)}.gpkg", coords=coords, lang=lang,
                               headers=headers, shp_encoding=shp_encoding, show_phones=show_phones)
        if fmt == "xlsx":
            path = path.rename(path.with_name(f"{name}{coords_suffix(coords)}.xlsx"))
        kind = "zip" if path.name.endswith(".zip") else path.suffix.lstrip(".")
        return ExportFile(path.name, _MIME.get(kind, "application/octet-stream"), path.read_bytes())


def _zip(files: list[Path]) -> bytes:
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.name)
    return buf.getvalue()


def _with_lonlat(frames: Mapping[str, pd.DataFrame], coords: Coords) -> dict[str, pd.DataFrame]:
    """Point layers keep their location in table files as ``lon``/``lat`` columns (shifted if asked)."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        if isinstance(frame, gpd.GeoDataFrame) and len(frame) and "lon" not in frame.columns \
                and bool((frame.geometry.geom_type == "Point").all()):
            p = prepare(frame, coords=coords)
            frame = frame.assign(lon=p.geometry.x.round(GEOJSON_DECIMALS).to_numpy(),
                                 lat=p.geometry.y.round(GEOJSON_DECIMALS).to_numpy())
        out[name] = frame
    return out
