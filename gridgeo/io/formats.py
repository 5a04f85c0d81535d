"""Read raw rows from the file formats users bring: GeoJSON, GeoPackage, zipped
Shapefile (UTF-8 or GBK attributes), CSV (lon/lat or WKT) and XLSX.

This layer only turns bytes into a frame and says which file/row each record
came from; checking the values is ``validate``'s job.
"""

from __future__ import annotations

import datetime
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from gridgeo.errors import InputError, Tr

if TYPE_CHECKING:
    from python_calamine import CalamineWorkbook

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".zip", ".shp"}
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
ACCEPTED = "GeoJSON (.geojson), GeoPackage (.gpkg), zipped Shapefile (.zip), CSV (.csv), Excel (.xlsx)"

#: header spellings for geometry columns in tables, any layer
LON_ALIASES = ("lon", "经度", "longitude", "lng", "long", "x", "x坐标")
LAT_ALIASES = ("lat", "纬度", "latitude", "y", "y坐标")
WKT_ALIASES = ("geometry", "wkt", "geom", "the_geom", "几何", "空间信息")


@dataclass(frozen=True)
class RawLayer:
    """Rows of one file as read, before any checking.

    ``frame`` is a DataFrame of text cells (tables) or a GeoDataFrame (vector
    files). ``rows`` gives each record's number as the user sees it: the
    spreadsheet row (header = 1) for tables, ``None`` for vector features.
    """

    frame: pd.DataFrame
    tabular: bool
    crs_declared: bool
    encoding: str | None = None
    layer: str | None = None
    #: warnings the reading library emitted (one clean line each, no paths)
    notes: tuple[str, ...] = ()


def read_raw(path: str | Path, *, layer_name: str, gpkg_layer: str | None = None,
             encoding: str | None = None) -> RawLayer:
    """Read ``path`` into a raw frame; raise ``InputError`` for a missing or unknown file."""
    p = Path(path)
    if not p.exists():
        raise InputError(
            "file not found", path=p, code="err.io.missing_file", layer=Tr(f"layer.{layer_name}"),
            remedy=f"check the path; the {layer_name} file must exist and be readable",
        )
    if p.is_dir():
        raise InputError("is a folder, not a file", path=p, code="err.io.is_dir", layer=Tr(f"layer.{layer_name}"),
                         remedy=f"choose the {layer_name} file itself ({ACCEPTED})")
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES | VECTOR_SUFFIXES and p.stat().st_size == 0:
        raise InputError("is empty (0 bytes)", path=p.name, code="err.io.empty_file", layer=Tr(f"layer.{layer_name}"),
                         remedy="the upload or export was cut off: export the file again and check that it opens")
    if suffix in TABLE_SUFFIXES:
        return _read_table(p, encoding)
    if suffix == ".zip":
        return _read_zipped_shapefile(p, layer_name, encoding)
    if suffix in VECTOR_SUFFIXES:
        return _read_vector(p, layer_name, gpkg_layer, encoding)
    raise InputError(
        "unknown file format", path=p, value=p.suffix or "(no extension)",
        code="err.io.unknown_format", remedy=f"save it as one of: {ACCEPTED}",
    )


def _read_vector(p: Path | str, layer_name: str, gpkg_layer: str | None,
                 encoding: str | None) -> RawLayer:
    """Read a vector file; ``p`` is a string for GDAL virtual paths (/vsizip/…)."""
    layer: str | None = None
    if isinstance(p, Path) and p.suffix.lower() == ".gpkg":
        layer = _choose_gpkg_layer(p, layer_name, gpkg_layer)
    name = Path(str(p)).name
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gdf = pyogrio.read_dataframe(p, layer=layer, encoding=encoding, on_invalid="fix")
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, …
        # the library's text names the server's temporary path and GDAL internals: keep it
        # only in the chained exception (logs), never in the message a user reads
        raise InputError(
            "cannot be read as a geodata file: it is damaged or another kind of file renamed",
            path=name, code="err.io.unreadable", expected=_kind(str(p)),
            remedy=f"gridgeo reads {ACCEPTED}; export the data again as one of them",
        ) from exc
    notes = tuple(_clean_note(str(w.message), str(p)) for w in caught
                  if not issubclass(w.category, (DeprecationWarning, ResourceWarning)))
    declared = gdf.crs is not None
    if not declared and str(p).lower().endswith((".geojson", ".json")):
        gdf = gdf.set_crs(4326)  # RFC 7946: GeoJSON is WGS 84 lon/lat unless it says otherwise
        declared = True
    return RawLayer(gdf, tabular=False, crs_declared=declared, encoding=encoding, layer=layer, notes=notes)


def _kind(path: str) -> str:
    lower = path.lower()
    if lower.startswith("/vsizip/") or lower.endswith(".shp"):
        return "Shapefile"
    if lower.endswith(".gpkg"):
        return "GeoPackage"
    if lower.endswith((".xlsx", ".xlsm")):
        return "Excel"
    if lower.endswith((".csv", ".txt")):
        return "CSV"
    return "GeoJSON"


def _clean_note(text: str, path: str) -> str:
    """First line of a library warning, with file paths reduced to the file's name."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line.replace(path, Path(path).name)[:200]


def _choose_gpkg_layer(p: Path, layer_name: str, wanted: str | None) -> str:
    try:
        names = [str(row[0]) for row in pyogrio.list_layers(p)]
    except Exception as exc:
        raise InputError("cannot be opened as a GeoPackage", path=p.name,
                         code="err.io.unreadable", expected="GeoPackage",
                         remedy=f"gridgeo reads {ACCEPTED}; export the data again as one of them") from exc
    if wanted is not None:
        if wanted not in names:
            raise InputError(f"has no layer named {wanted!r}; layers: {', '.join(names)}",
                             path=p, code="err.io.no_layer", value=wanted, layers=", ".join(names),
                             remedy="choose one of the listed layers")
        return wanted
    if len(names) == 1:
        return names[0]
    if layer_name in names:
        return layer_name
    raise InputError(
        f"holds {len(names)} layers ({', '.join(names)}) and none is named {layer_name!r}",
        path=p, code="err.io.which_layer", n=len(names), layers=", ".join(names), layer_file=layer_name,
        remedy="name the layer to read (--layer-name / layer=)",
    )


def _read_zipped_shapefile(p: Path, layer_name: str, encoding: str | None) -> RawLayer:
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
            shps = [n for n in names if n.lower().endswith(".shp")]
            if not shps:
                raise InputError("zip holds no .shp file", path=p, code="err.io.zip_no_shp",
                                 remedy="zip the .shp together with its .shx, .dbf, .prj (and .cpg)")
            shp = _pick(shps, layer_name, p)
            stem = shp[:-4]
            members = {n.lower(): n for n in names}
            for ext in (".shx", ".dbf"):
                if (stem + ext).lower() not in members:
                    raise InputError(f"shapefile {shp} lacks its {ext} part", path=p,
                                     code="err.io.zip_incomplete", shp=shp, ext=ext,
                                     remedy="zip all parts of the shapefile (.shp .shx .dbf .prj .cpg)")
            if encoding is None:
                cpg = members.get((stem + ".cpg").lower())
                if cpg is not None:
                    encoding = zf.read(cpg).decode("ascii", "ignore").strip() or None
                else:
                    encoding = _guess_dbf_encoding(zf.read(members[(stem + ".dbf").lower()]))
    except zipfile.BadZipFile as exc:
        raise InputError("is not a valid zip file", path=p, code="err.io.bad_zip",
                         remedy="re-create the zip archive") from exc
    try:
        raw = _read_vector(f"/vsizip/{p.resolve()}/{shp}", layer_name, None, encoding)
    except InputError as exc:
        raise InputError(exc.message, path=p.name, code=exc.code, expected="Shapefile",
                         remedy=exc.remedy) from exc.__cause__
    return RawLayer(raw.frame, tabular=False, crs_declared=raw.crs_declared,
                    encoding=encoding, layer=shp, notes=raw.notes)


def _pick(candidates: list[str], layer_name: str, p: Path) -> str:
    if len(candidates) == 1:
        return candidates[0]
    for c in candidates:
        if Path(c).stem.lower() == layer_name:
            return c
    raise InputError(f"zip holds several shapefiles ({', '.join(candidates)})", path=p,
                     code="err.io.zip_many_shp", names=", ".join(candidates), layer_file=layer_name,
                     remedy=f"zip one shapefile per file, or name one {layer_name}.shp")


def _guess_dbf_encoding(dbf: bytes) -> str:
    """Guess a .dbf's text encoding when no .cpg says it: UTF-8 if it decodes, else GBK.

    Chinese shapefiles from older desktop GIS are commonly GBK without a .cpg;
    GDAL would otherwise read them as Latin-1 and show mojibake.
    """
    if len(dbf) < 32:
        return "UTF-8"
    header_len = int.from_bytes(dbf[8:10], "little")
    body = dbf[header_len:]
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"


@dataclass(frozen=True)
class ExcelSheet:
    """Every cell of one worksheet as text ("" for a blank cell), rows from A1, all of one width."""

    cells: list[list[str]]
    sheet: str
    sheets: tuple[str, ...]


def excel_text(value: object) -> str:
    """One Excel cell as text, the way every gridgeo reader sees it.

    Whole numbers lose Excel's ``.0`` (``3.0`` -> ``3``, so codes stay codes), dates and times
    print as ISO (``2024-03-01 08:30:00``), a blank cell is ``""``, text is stripped.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value).strip()


def _workbook(p: Path, code_prefix: str) -> CalamineWorkbook:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(p))
    except Exception as exc:
        raise InputError("cannot be read as an Excel workbook: it is damaged or another kind of file renamed",
                         path=p.name, code=f"{code_prefix}.unreadable", expected="Excel",
                         remedy=f"gridgeo reads {ACCEPTED}; export the data again as one of them") from exc


def excel_sheet_names(path: str | Path, *, code_prefix: str = "err.io") -> list[str]:
    """The worksheets of an XLSX workbook, in order (``InputError`` if it is not one)."""
    return [str(n) for n in _workbook(Path(path), code_prefix).sheet_names]


def read_excel_cells(path: str | Path, *, sheet: str | None = None, code_prefix: str = "err.io") -> ExcelSheet:
    """Read one worksheet (the first unless ``sheet`` names one) as text cells, with python-calamine.

    The one Excel reader of gridgeo: layers (``read_raw``), case exports and every other
    table read their XLSX through it, so a cell reads the same everywhere (``excel_text``).
    Row ``i`` of ``cells`` is spreadsheet row ``i + 1``: blank rows are kept, so row numbers
    in messages are the user's. Raises ``InputError`` (``<code_prefix>.unreadable`` for a
    damaged or renamed file, ``<code_prefix>.no_sheet`` for an unknown sheet).
    """
    p = Path(path)
    wb = _workbook(p, code_prefix)
    names = tuple(str(n) for n in wb.sheet_names)
    if sheet is not None and sheet not in names:
        raise InputError(f"has no sheet named {sheet!r}; sheets: {', '.join(names)}", path=p.name, value=sheet,
                         code=f"{code_prefix}.no_sheet", remedy="choose one of the listed sheets",
                         sheets=", ".join(names))
    name = sheet if sheet is not None else (names[0] if names else "")
    try:
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False) if names else []
    except Exception as exc:
        raise InputError("cannot be read as an Excel workbook: it is damaged or another kind of file renamed",
                         path=p.name, code=f"{code_prefix}.unreadable", expected="Excel",
                         remedy=f"gridgeo reads {ACCEPTED}; export the data again as one of them") from exc
    cells = [[excel_text(v) for v in row] for row in rows]
    while cells and not any(cells[-1]):       # trailing blank rows are not data
        cells.pop()
    return ExcelSheet(cells, name, names)


def _excel_frame(p: Path) -> pd.DataFrame:
    """The first sheet with its first row as the header (a blank header is ``Unnamed: <i>``, a repeated
    one gets ``.1``, as pandas names them), every cell as text."""
    cells = read_excel_cells(p).cells
    if not cells:
        return pd.DataFrame()
    header: list[str] = []
    for i, name in enumerate(cells[0]):
        name = name or f"Unnamed: {i}"
        base, k = name, 1
        while name in header:
            name, k = f"{base}.{k}", k + 1
        header.append(name)
    return pd.DataFrame(cells[1:], columns=header, dtype=object)


def _read_table(p: Path, encoding: str | None) -> RawLayer:
    if p.suffix.lower() in {".xlsx", ".xlsm"}:
        return RawLayer(_clean_table(_excel_frame(p)), tabular=True, crs_declared=False)
    tried = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    last: Exception | None = None
    for enc in tried:
        try:
            df = pd.read_csv(p, dtype=str, encoding=enc, keep_default_na=False, skipinitialspace=True)
            return RawLayer(_clean_table(df), tabular=True, crs_declared=False, encoding=enc)
        except UnicodeDecodeError as exc:
            last = exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError("cannot be read as CSV", path=p.name, code="err.io.unreadable",
                             expected="CSV",
                             remedy=f"gridgeo reads {ACCEPTED}; save it as comma-separated values with one "
                                    "header row") from exc
    raise InputError("text encoding is neither UTF-8 nor GBK", path=p,
                     code="err.io.encoding", remedy="save the CSV as UTF-8") from last


def _clean_table(df: pd.DataFrame) -> pd.DataFrame:
    df = df.rename(columns=lambda c: str(c).strip())
    df = df.fillna("")
    return df.astype(str).apply(lambda col: col.str.strip())


def find_column(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    """Return the first column whose normalised name is one of ``aliases``."""
    norm = {str(c).strip().lower(): c for c in columns}
    for a in aliases:
        if a.lower() in norm:
            return str(norm[a.lower()])
    return None


def table_geometry(df: pd.DataFrame, p: Path) -> tuple[gpd.GeoSeries | None, list[tuple[int, str, str]]]:
    """Build geometry from lon/lat or WKT columns of a table.

    Returns the geometry (``None`` when the table has no geometry columns) and a
    list of ``(position, column, bad value)`` for cells that are not numbers/WKT.
    """
    bad: list[tuple[int, str, str]] = []
    lon_col = find_column(list(df.columns), LON_ALIASES)
    lat_col = find_column(list(df.columns), LAT_ALIASES)
    if lon_col and lat_col:
        lon = pd.to_numeric(df[lon_col].replace("", None), errors="coerce")
        lat = pd.to_numeric(df[lat_col].replace("", None), errors="coerce")
        for col, raw, num in ((lon_col, df[lon_col], lon), (lat_col, df[lat_col], lat)):
            for pos in (num.isna() & (raw != "")).to_numpy().nonzero()[0]:
                bad.append((int(pos), col, str(raw.iloc[pos])))
        geoms = shapely.points(lon.to_numpy(dtype=float), lat.to_numpy(dtype=float))
        geoms[lon.isna().to_numpy() | lat.isna().to_numpy()] = None
        return gpd.GeoSeries(geoms, index=df.index), bad
    wkt_col = find_column(list(df.columns), WKT_ALIASES)
    if wkt_col:
        values = df[wkt_col].replace("", None)
        out: list[shapely.Geometry | None] = []
        for pos, v in enumerate(values):
            if v is None:
                out.append(None)
                continue
            try:
                out.append(shapely.from_wkt(v))
            except shapely.errors.GEOSException:
                bad.append((pos, wkt_col, str(v)[:60]))
                out.append(None)
        return gpd.GeoSeries(out, index=df.index), bad
    return None, bad
