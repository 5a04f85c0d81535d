"""Turn a raw case export into the clean cases frame, and say what happened to every row.

Only ``case_id`` and ``created_at`` are required. A row without them (or with a
repeated id) is set aside; a row with a lesser problem is loaded and flagged
(closed before created, coordinates blank, swapped, outside China or the
district, address not matched). ``ImportReport`` gives every reason with the
spreadsheet rows, so nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import crs as gcrs
from gridgeo.cases.dates import TZ, parse_datetimes
from gridgeo.cases.mapping import check_mapping, suggest_mapping
from gridgeo.cases.reading import RawExport
from gridgeo.schema import BOOL_VALUES
from gridgeo.settings import CHINA_BOUNDS

__all__ = ["Coords", "UNCATEGORISED", "SET_ASIDE", "FLAGS", "ImportReport", "ImportResult", "AddressIndex",
           "import_cases", "empty_cases", "cases_csv", "write_import"]

Coords = Literal["wgs84", "gcj02", "bd09"]
UNCATEGORISED = "未分类"
#: reasons a row is not loaded
SET_ASIDE: tuple[str, ...] = ("no_id", "duplicate_id", "no_created_at", "bad_created_at")
#: reasons a loaded row is flagged
FLAGS: tuple[str, ...] = ("closed_before_created", "bad_closed_at", "no_category", "bad_urgent",
                          "bad_satisfied", "coords_blank", "bad_coordinates", "swapped", "outside_china",
                          "outside_district", "address_matched", "address_not_matched", "unlocated")
_BLANK = {"", "nan", "none", "null", "<na>", "nat", "-", "--", "/", "无"}
_NUM = r"[-+]?\d+(?:\.\d+)?"
_WKT_POINT = rf"(?i)^\s*POINT\s*Z?\s*\(\s*(?P<a>{_NUM})\s+(?P<b>{_NUM})(?:\s+{_NUM})?\s*\)\s*$"
_PAIR = rf"^\s*[\(\[（]?\s*(?P<a>{_NUM})\s*[,，;\s]\s*(?P<b>{_NUM})\s*[\)\]）]?\s*$"


@dataclass(frozen=True)
class ImportReport:
    """What happened to every row of one export (the ``import_report.json`` file)."""

    source: str
    rows_in: int
    rows_loaded: int
    set_aside: dict[str, int]
    flagged: dict[str, int]
    rows: dict[str, list[int]]           # reason -> spreadsheet rows
    mapping: dict[str, str]
    coords: str
    located_by: dict[str, int]           # coords / address / none -> cases
    sheet: str | None = None
    encoding: str | None = None
    header_row: int = 1
    outside_grids: int | None = None     # filled once the cases meet grids
    outside_grid_rows: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    def to_json(self) -> str:
        """The report as indented UTF-8 JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    def table(self) -> pd.DataFrame:
        """One row per reason: ``kind`` (set_aside/flagged), ``reason``, ``count``, ``rows`` (first 50)."""
        recs = [(kind, r, n, ", ".join(map(str, self.rows.get(r, [])[:50]))
                 + (" …" if len(self.rows.get(r, [])) > 50 else ""))
                for kind, d in (("set_aside", self.set_aside), ("flagged", self.flagged)) for r, n in d.items()]
        return pd.DataFrame(recs, columns=["kind", "reason", "count", "rows"])


@dataclass(frozen=True)
class ImportResult:
    """The clean cases (index ``case_id``, EPSG:4326) and the report."""

    cases: gpd.GeoDataFrame
    report: ImportReport


def _norm_text(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower()
    s = re.sub(r"(\d+)\s*(?:#楼|#|栋楼|栋|幢|座|号楼|号院楼)", r"\1号楼", s)
    return re.sub(r"[\s\-_,，。.、:：;；()（）\[\]【】\"'“”‘’/\\]", "", s)


_COMPOUND_OF = re.compile(r"\d+号楼$")


class AddressIndex:
    """Building and compound names -> a point, to place a case that has only an address.

    Exact names first; then normalised names (full-width to half-width, spaces
    and punctuation removed, 3栋/3幢/3#/3号楼 alike) found anywhere in the address,
    the longest name winning, a building before its compound.
    """

    def __init__(self, buildings: gpd.GeoDataFrame) -> None:
        names = buildings["name"].fillna("").astype(str).str.strip() if "name" in buildings else \
            pd.Series("", index=buildings.index)
        pts = buildings.geometry.representative_point()
        lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
        self.exact: dict[str, tuple[float, float]] = {}
        self.norm: dict[str, tuple[float, float]] = {}
        compounds: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            if not name:
                continue
            self.exact.setdefault(name, (lon[i], lat[i]))
            self.norm.setdefault(_norm_text(name), (lon[i], lat[i]))
            comp = _COMPOUND_OF.sub("", _norm_text(name))
            if len(comp) >= 2:
                compounds.setdefault(comp, []).append(i)
        self.compound: dict[str, tuple[float, float]] = {
            c: (float(np.mean(lon[ix])), float(np.mean(lat[ix]))) for c, ix in compounds.items()}
        for c, ix in compounds.items():
            raw = names.iloc[ix[0]]
            self.exact.setdefault(re.sub(r"\s*\d+\s*(?:号楼|栋|幢|座|#)$", "", raw), self.compound[c])
        lengths = [len(k) for k in (*self.norm, *self.compound)]
        self._max = max(lengths, default=0)
        self._min = max(2, min(lengths, default=2))

    def match(self, address: str) -> tuple[tuple[float, float] | None, str]:
        """Return ``(lon, lat)`` and how (``exact``/``normalised``), or ``(None, "")``."""
        a = address.strip()
        if a in self.exact:
            return self.exact[a], "exact"
        n = _norm_text(a)
        for table in (self.norm, self.compound):
            best: tuple[int, tuple[float, float]] | None = None
            for i in range(len(n)):
                for j in range(min(len(n), i + self._max), i + self._min - 1, -1):
                    if best is not None and j - i <= best[0]:
                        break
                    hit = table.get(n[i:j])
                    if hit is not None:
                        best = (j - i, hit)
                        break
            if best is not None:
                return best[1], "normalised"
        return None, ""


def _as_text(values: pd.Series) -> pd.Series:
    """Text cells with "" for missing, without re-encoding a column that is already text."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values.fillna("")
    return values.fillna("").astype(str)


def _text(df: pd.DataFrame, mapping: Mapping[str, str], name: str) -> pd.Series | None:
    col = mapping.get(name)
    if col is None:
        return None
    s = _as_text(df[col]).str.strip()
    short = (s.str.len() <= max(map(len, _BLANK))).to_numpy(dtype=bool)   # only short cells can say "blank"
    if not short.any():
        return s
    blank = np.zeros(len(s), bool)
    blank[short] = s[short].str.lower().isin(_BLANK).to_numpy(dtype=bool) & (s[short] != "").to_numpy(dtype=bool)
    return s.where(~blank, "") if blank.any() else s


def _bools(text: pd.Series | None, n: int, default: bool | None) -> tuple[pd.Series, np.ndarray]:
    if text is None:
        return pd.Series(pd.array([default] * n, dtype="boolean")), np.zeros(n, bool)
    mapped = text.str.lower().map(BOOL_VALUES)
    blank = (text == "").to_numpy()
    bad = ~blank & mapped.isna().to_numpy()
    out = mapped.where(~blank).astype("boolean")
    if default is not None:
        out = out.fillna(default)
    return out, bad


def _plain_numbers(values: pd.Series) -> np.ndarray | None:
    """The column as floats when every cell is a plain number (Arrow's cast, else pandas'), else ``None``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if hasattr(values.array, "__arrow_array__") and not pd.api.types.is_numeric_dtype(values.dtype):
        try:
            got = pc.cast(pa.array(values.array), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        if got.null_count:
            return None
        return np.asarray(got.to_numpy(zero_copy_only=False), dtype=float)
    try:
        return np.asarray(values.astype("float64").to_numpy(dtype=float), dtype=float)
    except (ValueError, TypeError):
        return None


def _coordinates(df: pd.DataFrame, mapping: Mapping[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """lon, lat (NaN when missing) and a 'cell present but unreadable' mask; flag for '(lat, lon)' order."""
    n = len(df)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    bad = np.zeros(n, bool)
    lat_first = False
    if "lon" in mapping and "lat" in mapping:
        for name, arr in (("lon", lon), ("lat", lat)):
            plain = _plain_numbers(df[mapping[name]])
            if plain is not None:     # every cell a plain number: one vectorised cast
                arr[:] = plain
                continue
            t = _text(df, mapping, name)
            assert t is not None
            num = pd.to_numeric(t.str.replace("°", "", regex=False).where(t != ""), errors="coerce").to_numpy(float)
            bad |= (t != "").to_numpy() & np.isnan(num)
            arr[:] = num
    elif "location" in mapping:
        t = _text(df, mapping, "location")
        assert t is not None
        wkt = t.str.extract(_WKT_POINT)
        pair = t.str.extract(_PAIR)
        a = pd.to_numeric(wkt["a"], errors="coerce").to_numpy(float)
        b = pd.to_numeric(wkt["b"], errors="coerce").to_numpy(float)
        is_pair = np.isnan(a) & pair["a"].notna().to_numpy()
        pa = pd.to_numeric(pair["a"], errors="coerce").to_numpy(float)
        pb = pd.to_numeric(pair["b"], errors="coerce").to_numpy(float)
        # WKT is (lon lat); a bare pair is "(lat, lon)" as map pickers copy it
        lon = np.where(is_pair, pb, a)
        lat = np.where(is_pair, pa, b)
        bad = (t != "").to_numpy() & (np.isnan(lon) | np.isnan(lat))
        lat_first = bool(is_pair.any())
    return lon, lat, bad, lat_first


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = CHINA_BOUNDS
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def empty_cases() -> gpd.GeoDataFrame:
    """A cases frame with every column and no row."""
    frame = gpd.GeoDataFrame({
        "row": pd.Series([], dtype="int64"),
        "created_at": pd.Series([], dtype=f"datetime64[s, {TZ}]"),
        "closed_at": pd.Series([], dtype=f"datetime64[s, {TZ}]"),
        "category": pd.Series([], dtype=object), "channel": pd.Series([], dtype=object),
        "urgent": pd.Series([], dtype="boolean"), "status": pd.Series([], dtype=object),
        "satisfied": pd.Series([], dtype="boolean"), "department": pd.Series([], dtype=object),
        "text": pd.Series([], dtype=object), "address": pd.Series([], dtype=object),
        "located_by": pd.Series([], dtype=object), "flags": pd.Series([], dtype=object),
    }, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    frame.index = pd.Index([], dtype=object, name="case_id")
    return frame


def import_cases(raw: RawExport, mapping: Mapping[str, str] | None = None, *, coords: Coords = "wgs84",
                 buildings: gpd.GeoDataFrame | None = None,
                 area: shapely.Geometry | None = None) -> ImportResult:
    """Clean a raw export into cases (index ``case_id``) plus the report of every row.

    ``mapping`` (field -> column) defaults to the suggestion from the headers.
    ``coords`` is the system of the export's coordinates (GCJ-02: AMap/Tencent,
    BD-09: Baidu); the result is WGS 84. ``buildings`` (with ``name``) place
    cases that have an address but no usable coordinates. ``area`` (the
    district, EPSG:4326) flags points that fall outside it.

    Raises ``InputError`` when the mapping is unusable (no id or time column).
    """
    df = raw.frame
    columns = [str(c) for c in df.columns]
    used = check_mapping(dict(mapping) if mapping is not None else suggest_mapping(columns), columns,
                         path=raw.path)
    n = len(df)
    rows = np.asarray(raw.rows, dtype="int64")
    reasons: dict[str, np.ndarray] = {}

    ids = _text(df, used, "case_id")
    assert ids is not None
    reasons["no_id"] = (ids == "").to_numpy()
    reasons["duplicate_id"] = ((ids != "") & ids.duplicated(keep="first")).to_numpy()
    created_text = _text(df, used, "created_at")
    assert created_text is not None
    created = parse_datetimes(created_text)
    reasons["no_created_at"] = (created_text == "").to_numpy()
    reasons["bad_created_at"] = ((created_text != "") & created.isna()).to_numpy()

    closed_text = _text(df, used, "closed_at")
    if closed_text is not None:
        closed = parse_datetimes(closed_text)
        reasons["bad_closed_at"] = ((closed_text != "") & closed.isna()).to_numpy()
    else:
        closed = pd.Series(pd.NaT, index=df.index, dtype=f"datetime64[s, {TZ}]")
    reasons["closed_before_created"] = (closed.notna() & created.notna() & (closed < created)).to_numpy()

    category = _text(df, used, "category")
    if category is None:
        category = pd.Series(UNCATEGORISED, index=df.index, dtype="string")
    else:
        reasons["no_category"] = (category == "").to_numpy()
        category = category.where(category != "", UNCATEGORISED)
    urgent, reasons["bad_urgent"] = _bools(_text(df, used, "urgent"), n, False)
    satisfied, reasons["bad_satisfied"] = _bools(_text(df, used, "satisfied"), n, None)

    # coordinates
    lon, lat, bad_xy, _ = _coordinates(df, used)
    has_xy = ~np.isnan(lon) & ~np.isnan(lat)
    blank_xy = ~has_xy & ~bad_xy
    if "lon" in used or "location" in used:
        reasons["coords_blank"] = blank_xy
        reasons["bad_coordinates"] = bad_xy
    inside = _in_china(lon, lat)
    swap = has_xy & ~inside & _in_china(lat, lon)
    lon, lat = np.where(swap, lat, lon), np.where(swap, lon, lat)
    reasons["swapped"] = swap
    reasons["outside_china"] = has_xy & ~swap & ~inside
    ok_xy = has_xy & ~reasons["outside_china"]
    if coords != "wgs84" and ok_xy.any():
        x, y = gcrs.convert_coords(lon[ok_xy], lat[ok_xy], src=coords, dst="wgs84")
        lon[ok_xy], lat[ok_xy] = x, y
    lon[~ok_xy] = np.nan
    lat[~ok_xy] = np.nan
    located_by = np.where(ok_xy, "coords", "none").astype(object)

    # address text for the rest
    address = _text(df, used, "address")
    need = ~ok_xy
    matched = np.zeros(n, bool)
    tried = np.zeros(n, bool)
    if address is not None and buildings is not None and need.any() and len(buildings):
        index = AddressIndex(buildings)
        tried = need & (address != "").to_numpy()
        todo = address[tried]
        found = {a: index.match(a) for a in todo.unique()}
        pos = np.flatnonzero(tried)
        for p, a in zip(pos, todo):
            point, _how = found[a]
            if point is not None:
                lon[p], lat[p] = point
                matched[p] = True
        located_by[matched] = "address"
        reasons["address_matched"] = matched
        reasons["address_not_matched"] = tried & ~matched
    reasons["unlocated"] = located_by == "none"

    geometry = shapely.points(lon, lat)
    geometry[np.isnan(lon)] = None
    if area is not None:
        placed = ~np.isnan(lon)
        outside = np.zeros(n, bool)
        if placed.any():
            shapely.prepare(area)
            outside[placed] = ~shapely.covers(area, geometry[placed])
        reasons["outside_district"] = outside

    aside = np.zeros(n, bool)
    for r in SET_ASIDE:
        aside |= reasons.get(r, np.zeros(n, bool))
    keep = ~aside

    flag_text = np.full(n, "", dtype=object)
    for r in FLAGS:
        m = reasons.get(r)
        if m is not None and m.any() and r != "address_matched":
            flag_text[m] = np.where(flag_text[m] == "", r, flag_text[m] + ";" + r)

    def col(name: str) -> pd.Series:
        t = _text(df, used, name)
        if t is None:
            return pd.Series([None] * n, index=df.index, dtype=object)
        values = t.to_numpy(dtype=object)
        values[(t == "").to_numpy(dtype=bool)] = None
        return pd.Series(values, index=df.index, dtype=object)

    channel = col("channel")
    frame = gpd.GeoDataFrame({
        "row": rows,
        "created_at": created.array,
        "closed_at": closed.array,
        "category": category.astype(object).to_numpy(),
        "channel": channel.fillna("").to_numpy(),
        "urgent": urgent.to_numpy(),
        "status": col("status").fillna("").to_numpy(),
        "satisfied": satisfied.to_numpy(),
        "department": col("department").to_numpy(),
        "text": col("text").to_numpy(),
        "address": col("address").to_numpy(),
        "located_by": located_by,
        "flags": flag_text,
    }, geometry=geometry, crs=4326)
    frame["urgent"] = frame["urgent"].astype("boolean")
    frame["satisfied"] = frame["satisfied"].astype("boolean")
    frame.index = pd.Index(ids.to_numpy(dtype=object), name="case_id")
    frame = frame[keep]

    def count(names: tuple[str, ...], only: np.ndarray | None = None) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in names:
            m = reasons.get(r)
            if m is None:
                continue
            m = m if only is None else (m & only)
            if m.any():
                out[r] = int(m.sum())
        return out

    set_aside = count(SET_ASIDE)
    flagged = count(FLAGS, keep)
    row_lists = {r: rows[reasons[r] & (keep if r in FLAGS else True)].tolist()
                 for r in (*set_aside, *flagged)}
    located = pd.Series(frame["located_by"]).value_counts()
    report = ImportReport(
        source=raw.path, rows_in=n, rows_loaded=int(keep.sum()), set_aside=set_aside, flagged=flagged,
        rows=row_lists, mapping=dict(used), coords=coords,
        located_by={k: int(located.get(k, 0)) for k in ("coords", "address", "none")},
        sheet=raw.sheet, encoding=raw.encoding, header_row=raw.header_row,
    )
    return ImportResult(frame, report)


def cases_csv(cases: gpd.GeoDataFrame) -> bytes:
    """The cases as CSV bytes (UTF-8 with BOM, ISO times with +08:00, WGS 84 ``lon``/``lat``)."""
    table = pd.DataFrame(cases.drop(columns=cases.geometry.name))
    pts = cases.geometry.to_numpy()
    present = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    lon = np.full(len(cases), np.nan)
    lat = np.full(len(cases), np.nan)
    if present.any():
        lon[present] = shapely.get_x(pts[present])
        lat[present] = shapely.get_y(pts[present])
    table["lon"] = np.round(lon, 6)
    table["lat"] = np.round(lat, 6)
    for c in ("created_at", "closed_at"):
        table[c] = table[c].dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d\d)(\d\d)$", r"\1:\2", regex=True)
    for c in ("urgent", "satisfied"):
        table[c] = table[c].map({True: 1, False: 0}).astype("Int64")
    text: str = table.to_csv(index=True, lineterminator="\n")
    return text.encode("utf-8-sig")


def write_import(cases: gpd.GeoDataFrame, report: ImportReport, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``cases.csv`` (see ``cases_csv``) and ``import_report.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "cases.csv", out / "import_report.json"
    tmp = csv_path.with_suffix(".csv.part")
    tmp.write_bytes(cases_csv(cases))
    tmp.replace(csv_path)
    json_path.write_text(report.to_json(), encoding="utf-8")
    return csv_path, json_path
