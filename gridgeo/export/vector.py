"""Vector files that open in QGIS, ArcGIS and web maps: GeoJSON, GeoPackage, zipped Shapefile.

- GeoJSON follows RFC 7946: WGS 84 lon/lat, exterior rings counter-clockwise,
  no ``crs`` member, coordinates rounded to 7 decimals (about 1 cm).
- A GeoPackage holds every layer of a plan in one file, layer names in English
  and a Chinese description (QGIS shows it), attribute-only tables included.
- A Shapefile is zipped with its ``.cpg`` (UTF-8, or GBK for old ArcGIS); field
  names are cut to 10 characters by the documented ``SHP_FIELDS`` table.
- ``coords="gcj02"`` / ``"bd09"`` shifts the coordinates for AMap/Tencent or
  Baidu maps; the file says so in its metadata (GeoJSON foreign member
  ``gridgeo``, GeoPackage dataset metadata, a ``.txt`` note in the zip) and the
  writers' callers put it in the file name.
"""

from __future__ import annotations

import io as _io
import json
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from gridgeo.crs import Coords, convert_geometries
from gridgeo.errors import InputError
from gridgeo.export.files import write_atomic_with
from gridgeo.tables import coded_columns, labelled, tabular, words_of
from gridgeo.i18n import Lang, t

__all__ = ["SHP_FIELDS", "GEOJSON_DECIMALS", "with_code_text", "prepare", "geojson_bytes", "write_gpkg", "gpkg_bytes",
           "shapefile_zip_bytes", "shp_field_names"]

GEOJSON_DECIMALS = 7
ShpEncoding = Literal["UTF-8", "GBK"]

#: Shapefile (dBASE) field names hold 10 characters: the names used for columns longer than that.
SHP_FIELDS: dict[str, str] = {
    "community_id": "comm_id",
    "community_name": "comm_name",
    "polsby_popper": "pp",
    "street_share": "street_shr",
    "perimeter_m": "perim_m",
    "households_per_worker": "hh_per_wkr",
    "households_gained": "hh_gained",
    "building_id": "bldg_id",
    "building_name": "bldg_name",
    "compound_id": "compnd_id",
    "plan_version": "plan_ver",
    "employment": "employ",
    "distance_m": "dist_m",
    "created_at": "created",
    "closed_at": "closed",
    "department": "dept",
    "rate_per_1000": "rate_1000",
    "households": "households",
    "status_text": "status_txt",
    "hotspot_text": "hotspt_txt",
    "employment_text": "employ_txt",
    "reason_text": "reason_txt",
    "coverage_share": "cov_share",
    "on_time_rate": "ontime_rt",
    "completion_rate": "complet_rt",
    "satisfaction_rate": "satisf_rt",
}


def shp_field_names(columns: list[str]) -> dict[str, str]:
    """Column -> Shapefile field name (≤ 10 characters, unique), by ``SHP_FIELDS`` then truncation."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = SHP_FIELDS.get(col, col)
        if col.startswith("within_") and len(col) > 10:
            name = "w" + col.removeprefix("within_")
        name = name[:10]
        base, n = name, 1
        while name.lower() in used:
            suffix = f"_{n}"
            name = base[: 10 - len(suffix)] + suffix
            n += 1
        used.add(name.lower())
        out[col] = name
    return out


def with_code_text(df: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """Beside each coded column (``flags``, ``status``, ``hotspot`` … see ``tables.VOCABULARY``) a
    ``<column>_text`` column in ``lang``: machine formats keep the codes (QGIS filters, scripts join on
    them) and people read the words."""
    coded = [c for c in coded_columns(df) if f"{c}_text" not in df.columns]
    if not coded:
        return df
    out = df.copy()
    for col in coded:
        words, changed = words_of(out[col], col, lang)
        if changed:                                    # free text (a case's status): nothing to translate
            out.insert(list(out.columns).index(col) + 1, f"{col}_text", words)
    return out


def _round(geoms: np.ndarray, decimals: int) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))  # type: ignore[no-any-return]


def prepare(gdf: gpd.GeoDataFrame, *, coords: Coords = "wgs84") -> gpd.GeoDataFrame:
    """The layer ready to write: EPSG:4326, the index (an id) as the first column, empty geometries
    kept as null, polygons counter-clockwise, shifted to GCJ-02/BD-09 if asked."""
    g = gdf
    if g.crs is None or not g.crs.equals(pyproj.CRS.from_epsg(4326)):
        g = g.to_crs(4326) if g.crs is not None else g.set_crs(4326)
    g = g.reset_index() if g.index.name is not None else g.reset_index(drop=True)
    if coords != "wgs84":
        g = convert_geometries(g, src="wgs84", dst=coords)
    geoms = shapely.orient_polygons(g.geometry.to_numpy(), exterior_cw=False)
    return g.set_geometry(gpd.GeoSeries(geoms, index=g.index, crs=4326))


def _json_ready(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for col in out.columns:
        if col == geometry:
            continue
        s = out[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = s.map(lambda v: None if pd.isna(v) else v.isoformat())
        elif s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            out[col] = s.astype(object).where(s.notna(), None)
    return out


def geojson_bytes(gdf: gpd.GeoDataFrame, *, coords: Coords = "wgs84", lang: Lang | None = None,
                  name: str = "", words: Lang | None = None) -> bytes:
    """RFC 7946 GeoJSON of a layer (UTF-8, Chinese kept readable, 7 decimals).

    Property names stay the canonical field names unless ``lang`` is given (web
    maps and scripts join on them). Shifted coordinates are recorded in the
    top-level foreign member ``gridgeo.coords``. ``words`` adds ``<column>_text``
    beside coded columns (flags …), in that language.
    """
    g = prepare(gdf, coords=coords)
    if words is not None:
        g = with_code_text(g, words)
    g = g.set_geometry(_round(g.geometry.to_numpy(), GEOJSON_DECIMALS), crs=4326)
    g = _json_ready(g)
    if lang is not None:
        geom = g.geometry.name
        g = labelled(g.drop(columns=geom), lang).assign(**{geom: g.geometry}).set_geometry(geom, crs=4326)
    doc = json.loads(g.to_json(ensure_ascii=False, drop_id=True, to_wgs84=False))
    doc.pop("crs", None)
    meta: dict[str, str] = {"coords": coords}
    if name:
        meta["layer"] = name
    if coords != "wgs84":
        meta["note"] = t(f"export.coords.{coords}", "en")
    doc["gridgeo"] = meta
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _gdal_ready(df: pd.DataFrame, *, dates_as_text: bool = False) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s, gpd.GeoSeries):
            continue
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            # whole seconds in UTC: GeoPackage wants 'YYYY-MM-DDTHH:MM:SS[.SSS]Z'; an offset or stray
            # nanoseconds make GDAL warn "non-conformant content" on every read
            if not isinstance(s.dtype, pd.DatetimeTZDtype):
                s = s.dt.tz_localize("Asia/Shanghai")
            s = s.dt.tz_convert("UTC").dt.round("s")
            out[col] = s.map(lambda v: None if pd.isna(v) else v.strftime("%Y-%m-%dT%H:%M:%SZ")) \
                if dates_as_text else s
        elif pd.api.types.is_bool_dtype(s.dtype) and dates_as_text:   # Shapefile: no boolean type
            out[col] = s.astype("Int64")
        elif isinstance(s.dtype, pd.StringDtype):
            out[col] = s.astype(object)
    return out


def write_gpkg(layers: Mapping[str, pd.DataFrame], path: str | Path, *, coords: Coords = "wgs84",
               lang: Lang = "zh") -> Path:
    """Write every layer into one GeoPackage (atomically); return its path.

    Keys are English layer names (``grids``, ``assignments`` …); each layer gets
    the description ``export.layer.<name>`` in ``lang``, and coded columns a
    ``<column>_text`` twin in ``lang`` (``with_code_text``). Datetimes are
    written in UTC, whole seconds (conformant GeoPackage). Attribute-only frames
    become GeoPackage attribute tables. Field names stay canonical (QGIS joins
    and expressions use them); the descriptions say what the layer holds.
    """
    target = Path(path)

    def write(tmp: Path) -> None:
        for name, frame in layers.items():
            description = t(f"export.layer.{name}", lang)
            if isinstance(frame, gpd.GeoDataFrame):
                data: pd.DataFrame = _gdal_ready(with_code_text(prepare(frame, coords=coords), lang))
            else:
                data = _gdal_ready(with_code_text(tabular(frame), lang))
            first = not tmp.exists()
            pyogrio.write_dataframe(data, tmp, layer=name, driver="GPKG",
                                    layer_options={"DESCRIPTION": description},
                                    # GeoPackage 1.2: what older GDAL/QGIS/ArcGIS read without warnings
                                    dataset_options={"VERSION": "1.2"} if first else None,
                                    dataset_metadata={"gridgeo_coords": coords} if first else None,
                                    append=not first)

    write_atomic_with(target, write)
    return target


def gpkg_bytes(layers: Mapping[str, pd.DataFrame], *, coords: Coords = "wgs84", lang: Lang = "zh") -> bytes:
    """The GeoPackage of ``write_gpkg`` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory(prefix="gridgeo-gpkg-") as tmp:
        path = write_gpkg(layers, Path(tmp) / "export.gpkg", coords=coords, lang=lang)
        return path.read_bytes()


def shapefile_zip_bytes(gdf: gpd.GeoDataFrame, *, name: str, coords: Coords = "wgs84",
                        encoding: ShpEncoding = "UTF-8", words: Lang | None = None) -> bytes:
    """A zipped Shapefile (``name.shp/.shx/.dbf/.prj/.cpg`` plus a field-name note) as bytes.

    Raises ``InputError`` for a layer without geometry (a Shapefile needs one).
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{name} has no geometry and cannot be written as a Shapefile", value="shp",
                         code="err.export.not_spatial", layer=name,
                         remedy="export it as CSV, XLSX or GeoPackage")
    g = prepare(gdf, coords=coords)
    g = _gdal_ready(with_code_text(g, words) if words is not None else g, dates_as_text=True)
    columns = [c for c in g.columns if c != g.geometry.name]
    names = shp_field_names(columns)
    g = g.rename(columns=names)
    buf = _io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="gridgeo-shp-") as tmp:
        shp = Path(tmp) / f"{name}.shp"
        pyogrio.write_dataframe(g, shp, driver="ESRI Shapefile", encoding=encoding)
        note = ["field\tcolumn", *(f"{v}\t{k}" for k, v in names.items()),
                "", f"coords\t{coords}", f"encoding\t{encoding}"]
        (Path(tmp) / f"{name}_fields.txt").write_text("\n".join(note) + "\n", encoding="utf-8")
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)
    return buf.getvalue()
