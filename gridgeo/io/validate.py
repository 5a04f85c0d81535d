"""Check raw rows against a layer spec and turn them into a clean layer.

Every problem is collected (not raised at the first one), so a user fixes a
file once: ids, types, geometry, CRS, and the containment rules between
communities and buildings. Nothing here mutates its inputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import crs as gcrs
from gridgeo.errors import Problem, Tr, collapse_repeats
from gridgeo.i18n import STRINGS
from gridgeo.io.formats import (LAT_ALIASES, LON_ALIASES, WKT_ALIASES, RawLayer, find_column,
                                table_geometry)
from gridgeo.schema import BOOL_VALUES, HEADER_ALIASES, FieldSpec, LayerSpec
from gridgeo.settings import CHINA_BOUNDS, Rules

Coords = Literal["wgs84", "gcj02", "bd09"]
TZ = "Asia/Shanghai"
_GEOM_TYPES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "point": {"Point"},
    "line": {"LineString", "MultiLineString"},
    "polygon_or_point": {"Polygon", "MultiPolygon", "Point"},
}
_GEOM_WORDS = {"polygon": "polygons", "point": "points", "line": "lines",
               "polygon_or_point": "polygons or points"}


class Collector:
    """Gather problems with their row / feature id as the user sees them."""

    def __init__(self, rows: pd.Series, ids: pd.Series | None) -> None:
        self.rows = rows  # position -> spreadsheet row number (or None)
        self.ids = ids
        self.items: list[Problem] = []

    def at(self, pos: int, message: str, code: str, *, value: object = None,
           remedy: str | None = None, severity: str = "error", params: dict[str, object] | None = None) -> None:
        row = self.rows.iloc[pos]
        fid = None
        if self.ids is not None:
            v = self.ids.iloc[pos]
            fid = v if isinstance(v, str) and v else None
        if row is None and fid is None:
            fid = f"feature {pos + 1}"
        self.items.append(Problem(message, code, severity, None if row is None else int(row),
                                  fid, value, remedy, params=params or {}))

    def whole(self, message: str, code: str, *, remedy: str | None = None,
              severity: str = "error", ids: Iterable[str] = (), value: object = None,
              params: dict[str, object] | None = None) -> None:
        self.items.append(Problem(message, code, severity, None, None, value, remedy, tuple(ids),
                                  params=params or {}))


def normalise_headers(df: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    """Rename accepted Chinese/English headers to canonical field names."""
    aliases = HEADER_ALIASES[spec.name]
    rename: dict[str, str] = {}
    taken: set[str] = set()
    # exact canonical names win over aliases
    for col in df.columns:
        key = str(col).strip().lower()
        if key in {f.name for f in spec.fields}:
            rename[col] = key
            taken.add(key)
    for col in df.columns:
        if col in rename or col == "geometry":
            continue
        target = aliases.get(str(col).strip().lower())
        if target and target not in taken:
            rename[col] = target
            taken.add(target)
    return df.rename(columns=rename)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def display_header(spec: LayerSpec, name: str, columns: Iterable[object]) -> str:
    """The header to name a missing field by: Chinese (e.g. 楼栋编码) when the file's headers are Chinese."""
    if any(_has_cjk(str(c)) for c in columns):
        for alias in spec.field(name).aliases:
            if _has_cjk(alias):
                return alias
    return name


def check_layer(raw: RawLayer, spec: LayerSpec, path: str | Path, *, coords: Coords = "wgs84",
                rules: Rules) -> tuple[gpd.GeoDataFrame | pd.DataFrame, list[Problem]]:
    """Validate a raw layer; return the clean frame and every problem found.

    The frame is only meaningful when no problem has severity ``error``. A
    problem found on more than three rows is summarised once (``collapse_repeats``).
    Problems name the user's own column headers (``params["column"]``).
    """
    frame, problems = _check_layer(raw, spec, path, coords=coords, rules=rules)
    return frame, collapse_repeats(problems, len(raw.frame))


def _check_layer(raw: RawLayer, spec: LayerSpec, path: str | Path, *, coords: Coords,
                 rules: Rules) -> tuple[gpd.GeoDataFrame | pd.DataFrame, list[Problem]]:
    df = raw.frame
    tabular = raw.tabular
    geom: gpd.GeoSeries | None = None
    if not tabular:
        gdf = raw.frame
        assert isinstance(gdf, gpd.GeoDataFrame)
        geom = gdf.geometry
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    original = [str(c) for c in df.columns]
    df = normalise_headers(df.reset_index(drop=True), spec)
    #: canonical field -> the header as the user wrote it
    headers = {str(new): old for old, new in zip(original, df.columns)}
    rows = pd.Series([i + 2 if tabular else None for i in range(len(df))], dtype=object)
    ids = df[spec.id_field].astype(str).str.strip() if spec.id_field and spec.id_field in df else None
    col = Collector(rows, ids)
    if len(df) == 0:
        col.whole(f"has no rows; a {spec.name} layer needs at least one", "err.io.empty",
                  remedy="check that the right file was chosen", params={"layer": Tr(f"layer.{spec.name}")})
        return df, col.items

    missing = [f.name for f in spec.fields if f.required and f.name not in df.columns]
    if missing:
        found = ", ".join(original)
        known = {f.name for f in spec.fields}
        recognised = {old for new, old in headers.items() if new in known}
        unknown = [h for h in original if h not in recognised]
        for m in missing:
            accepted = ", ".join((m, *spec.field(m).aliases))
            shown = display_header(spec, m, original)
            guess = misspelt_header(unknown, (m, *spec.field(m).aliases))
            if guess is not None:
                col.whole(f"missing required column {shown!r}; is the header {guess!r} a misspelling of it? "
                          f"(accepted headers: {accepted})", "err.schema.missing_field_typo",
                          remedy=f"rename the header {guess!r} to {shown!r}",
                          params={"column": shown, "accepted": accepted, "found": found, "guess": guess})
                continue
            col.whole(f"missing required column {shown!r} (accepted headers: {accepted}); found columns: {found}",
                      "err.schema.missing_field", remedy="add the column or rename a header to an accepted one",
                      params={"column": shown, "accepted": accepted, "found": found})
        return df, col.items

    out = pd.DataFrame(index=df.index)
    for f in spec.fields:
        if f.name in df.columns:
            out[f.name] = _coerce(df[f.name], f, col, tabular, headers.get(f.name, f.name))
        elif f.type in ("int",):
            out[f.name] = pd.array([pd.NA] * len(df), dtype="Int64")
        elif f.type == "bool":
            out[f.name] = pd.array([f.default] * len(df) if f.default is not None else [pd.NA] * len(df),
                                   dtype="boolean")
        elif f.type == "datetime":
            out[f.name] = pd.Series(pd.NaT, index=df.index, dtype=f"datetime64[ns, {TZ}]")
        elif f.type == "float":
            out[f.name] = np.nan
        else:
            out[f.name] = f.default if f.default is not None else None

    # keep the user's own extra columns (e.g. a courier flag), as text, after the spec's
    geometry_cols = {find_column(list(df.columns), a) for a in (LON_ALIASES, LAT_ALIASES, WKT_ALIASES)}
    for extra in df.columns:
        if extra not in out.columns and extra not in geometry_cols and str(extra) != "geometry":
            out[str(extra)] = df[extra]
    if spec.id_field:
        _check_ids(out[spec.id_field], col, spec, headers.get(spec.id_field, spec.id_field))
    if spec.name == "communities":
        _check_community_names(out, col)

    # geometry
    if tabular:
        tgeom, bad = table_geometry(df, Path(path))
        for pos, c, v in bad:
            col.at(pos, f"column {c} is not a number or WKT geometry", "err.geom.bad_coordinate",
                   value=v, remedy="enter decimal degrees such as 116.445 / 36.290", params={"column": c})
        if tgeom is None and spec.geometry != "none":
            col.whole("has no geometry: expected lon/lat columns (经度/纬度) or a WKT column",
                      "err.geom.no_geometry_columns",
                      remedy=f"add columns {LON_ALIASES[0]}/{LAT_ALIASES[0]} or {WKT_ALIASES[0]} (WKT)")
            return out, col.items
        geom = tgeom
        declared = False
    else:
        declared = raw.crs_declared
    if geom is not None:
        geom = _check_crs_and_reproject(gpd.GeoSeries(geom.values, index=out.index, crs=geom.crs),
                                        declared, tabular, coords, col, Path(path))
    if spec.name in ("staff", "cases"):
        out = out.drop(columns=["lon", "lat"], errors="ignore")
    if geom is None:
        return out, col.items
    geom = _check_geometries(geom, spec, col, rules)
    frame = gpd.GeoDataFrame(out, geometry=geom.values, crs=4326)
    if spec.id_field:
        frame = frame.set_index(spec.id_field, drop=True)
    if spec.name == "cases":
        closed = frame["closed_at"]
        created = frame["created_at"]
        bad_pos = np.flatnonzero((closed.notna() & created.notna() & (closed < created)).to_numpy())
        for pos in bad_pos.tolist():
            col.at(int(pos), "closed_at is earlier than created_at", "err.schema.closed_before_created",
                   value=str(closed.iloc[pos]), remedy="correct the times (format 2026-01-31 09:30)")
    return frame, col.items


def _coerce(raw: pd.Series, f: FieldSpec, col: Collector, tabular: bool, header: str | None = None) -> pd.Series:
    """Convert one column to its spec type, reporting each bad cell under the user's ``header``."""
    name = header or f.name
    params: dict[str, object] = {"column": name, "meaning": f.meaning}
    text = raw.astype("string").str.strip().fillna("")
    blank = (text == "") | text.str.lower().isin(["nan", "none", "null", "<na>"])
    if f.required:
        for pos in np.flatnonzero(blank.to_numpy()):
            col.at(int(pos), f"{name} is empty", f"err.schema.{f.name}_empty",
                   remedy=f"fill in {name} ({f.meaning})", params=params)
    if f.type == "str":
        return text.where(~blank, None).astype(object)
    if f.type == "choice":
        mapped = text.str.lower().map({k.lower(): v for k, v in f.choices.items()})
        bad = ~blank & mapped.isna()
        accepted = ", ".join(sorted(set(f.choices)))
        for pos in np.flatnonzero(bad.to_numpy()):
            col.at(int(pos), f"{name} is not a known value", f"err.schema.{f.name}_unknown",
                   value=text.iloc[pos], remedy=f"use one of: {accepted}", params={**params, "accepted": accepted})
        return mapped.where(~blank, f.default).astype(object)
    if f.type == "int":
        num = pd.to_numeric(text.where(~blank, None), errors="coerce")
        bad = ~blank & (num.isna() | (num != np.floor(num)) | (num < f.minimum))
        for pos in np.flatnonzero(bad.to_numpy()):
            example = 300 if f.name == "households" else 2
            positive = f.minimum > 0
            col.at(int(pos), f"{name} must be a whole number greater than 0" if positive
                   else f"{name} must be a whole number ≥ {f.minimum}",
                   f"err.schema.{f.name}_not_positive_int" if positive else f"err.schema.{f.name}_not_whole_number",
                   value=text.iloc[pos], remedy=f"enter a number such as {example}",
                   params={**params, "example": example, "minimum": f.minimum})
        return num.where(~bad).round().astype("Int64")
    if f.type == "float":
        num = pd.to_numeric(text.where(~blank, None), errors="coerce")
        for pos in np.flatnonzero((~blank & num.isna()).to_numpy()):
            col.at(int(pos), f"{name} is not a number", f"err.schema.{f.name}_not_number",
                   value=text.iloc[pos], remedy="enter a decimal number", params=params)
        return num.astype(float)
    if f.type == "bool":
        # a blank cell is unknown (NA), not "no": an open case has no satisfaction yet
        mapped = text.str.lower().map(BOOL_VALUES).where(~blank)
        bad = ~blank & mapped.isna()
        for pos in np.flatnonzero(bad.to_numpy()):
            col.at(int(pos), f"{name} is not yes/no", f"err.schema.{f.name}_not_bool",
                   value=text.iloc[pos], remedy="use 是/否, true/false or 1/0", params=params)
        out = mapped.astype("boolean")
        if f.default is not None:
            out = out.fillna(bool(f.default))
        return out
    if f.type == "datetime":
        parsed = pd.to_datetime(text.where(~blank, None), errors="coerce", format="mixed")
        if getattr(parsed.dt, "tz", None) is None:
            parsed = parsed.dt.tz_localize(TZ)
        else:
            parsed = parsed.dt.tz_convert(TZ)
        for pos in np.flatnonzero((~blank & parsed.isna()).to_numpy()):
            col.at(int(pos), f"{name} is not a date-time", f"err.schema.{f.name}_not_datetime",
                   value=text.iloc[pos], remedy="write it as 2026-01-31 09:30 (Beijing time)", params=params)
        return parsed
    raise AssertionError(f.type)


_LIST_PLACES = 10


def _check_ids(ids: pd.Series, col: Collector, spec: LayerSpec, header: str | None = None) -> None:
    present = ids.notna()
    dup = ids[present & ids.duplicated(keep=False)]
    for value, group in dup.groupby(dup):
        positions = [ids.index.get_loc(i) for i in group.index]
        rows = [col.rows.iloc[p] for p in positions]
        by_row = rows[0] is not None
        numbers = [str(r) for r in rows] if by_row else [str(p + 1) for p in positions]
        # the first ten places, then "…": n already says how many (a list of 166 rows helps nobody)
        places = ", ".join(numbers[:_LIST_PLACES]) + (" …" if len(numbers) > _LIST_PLACES else "")
        where = f"rows {places}" if by_row else f"features {places}"
        col.whole(f"{spec.id_field} {value!r} is used {len(positions)} times ({where})",
                  "err.schema.duplicate_id" if by_row else "err.schema.duplicate_feature_id", ids=(str(value),),
                  remedy=f"give every {spec.name[:-1] if spec.name.endswith('s') else spec.name} its own id",
                  params={"column": header or spec.id_field, "n": len(positions), "value": str(value),
                          "rows" if by_row else "features": places})


def _check_community_names(out: pd.DataFrame, col: Collector) -> None:
    """Warn (not fail) when communities share a name: tables and maps show names, so they become ambiguous.

    Names are compared as written, after trimming spaces. One warning per
    repeated name, listing the ids of every community that carries it.
    """
    names = out["name"]
    ids = out["community_id"].astype("string").fillna("?")
    present = names.notna()
    dup = names[present & names.duplicated(keep=False)]
    for name, group in dup.groupby(dup, sort=False):
        shown = [str(i) for i in ids.loc[group.index]]
        listed = ", ".join(shown[:_LIST_PLACES]) + (" …" if len(shown) > _LIST_PLACES else "")
        col.whole(f"community name {name!r} is used by {len(shown)} communities ({listed}); tables and maps "
                  "cannot tell them apart", "err.names.duplicate_community", severity="warning",
                  ids=tuple(shown), value=str(name),
                  remedy="give each community its own name as registered with civil affairs (e.g. 东关一社区, "
                         "东关二社区), or remove a community entered twice",
                  params={"n": len(shown), "ids": listed})


def _check_crs_and_reproject(geom: gpd.GeoSeries, declared: bool, tabular: bool, coords: Coords,
                             col: Collector, path: Path) -> gpd.GeoSeries:
    present = pd.Series(~shapely.is_missing(geom.values), index=geom.index) & ~geom.is_empty
    if declared and geom.crs is not None:
        if geom.crs.to_epsg() != 4326:
            geom = geom.to_crs(4326)
    else:
        xmin, ymin, xmax, ymax = geom[present].total_bounds if present.any() else (0, 0, 0, 0)
        # |y| up to 180 too: swapped lon/lat are still degrees, and reported as swapped below
        looks_degrees = -180 <= xmin <= xmax <= 180 and -180 <= ymin <= ymax <= 180
        if not looks_degrees and _web_mercator_in_china(xmin, ymin, xmax, ymax):
            _report_not_degrees(col, xmin, ymin, web_mercator=True)
            return geom.set_crs(4326, allow_override=True)
        if not looks_degrees:
            col.whole(f"declares no coordinate system and its coordinates ({xmin:.0f}, {ymin:.0f}) "
                      "are not longitude/latitude", "err.crs.missing", params={"x": f"{xmin:.0f}", "y": f"{ymin:.0f}"},
                      remedy="include the .prj file in the zip (or set the CRS in QGIS and export "
                             "again as GeoJSON/GeoPackage)")
            return geom.set_crs(4326, allow_override=True)
        geom = geom.set_crs(4326, allow_override=True)
        if not tabular:
            col.whole("declares no coordinate system; its coordinates look like longitude/latitude, "
                      "so WGS 84 (EPSG:4326) was assumed", "err.crs.assumed_wgs84", severity="warning",
                      remedy="include the .prj file so the CRS is explicit")
    if declared and present.any():
        # a GeoJSON without a "crs" member is read as EPSG:4326 (RFC 7946), whatever its numbers are:
        # metres there are one whole-file problem, not "outside China" on every feature
        xmin, ymin, xmax, ymax = geom[present].total_bounds
        if not (-180 <= xmin <= xmax <= 180 and -180 <= ymin <= ymax <= 180):
            _report_not_degrees(col, xmin, ymin, web_mercator=_web_mercator_in_china(xmin, ymin, xmax, ymax))
            return geom
    if coords != "wgs84":
        geom = gcrs.convert_geometries(geom, src=coords, dst="wgs84")
    # range and swapped-axis check, per feature
    b = geom.bounds
    lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
    inside = (b.minx >= lon_min) & (b.maxx <= lon_max) & (b.miny >= lat_min) & (b.maxy <= lat_max)
    swapped = (b.miny >= lon_min) & (b.maxy <= lon_max) & (b.minx >= lat_min) & (b.maxx <= lat_max)
    bad = present & ~inside
    for pos in np.flatnonzero(bad.to_numpy()):
        x, y = float(b.minx.iloc[pos]), float(b.miny.iloc[pos])
        if swapped.iloc[pos]:
            col.at(int(pos), "longitude and latitude look swapped", "err.crs.swapped",
                   value=f"lon={x:.6f}, lat={y:.6f}",
                   remedy="swap the 经度/lon and 纬度/lat columns (China is at lon 73–136, lat 3–54)")
        else:
            col.at(int(pos), "coordinates lie outside China", "err.crs.out_of_range",
                   value=f"lon={x:.6f}, lat={y:.6f}",
                   remedy="check the coordinate system and the lon/lat columns")
    return geom


def misspelt_header(headers: Iterable[str], names: tuple[str, ...]) -> str | None:
    """The one header of ``headers`` that looks like a typo of one of ``names`` (性名 for 姓名, 戸数 for 户数).

    Same length (±1) and at most one character different in a short header, or a close
    match (difflib ratio ≥ 0.75) in a longer one; coordinate headers are never guesses.
    """
    import difflib

    skip = {a.lower() for a in (*LON_ALIASES, *LAT_ALIASES, *WKT_ALIASES)}
    hits = []
    for h in headers:
        text = h.strip()
        if not text or text.lower() in skip:
            continue
        for name in names:
            if abs(len(text) - len(name)) > 1 or text.lower() == name.lower():
                continue
            ratio = difflib.SequenceMatcher(None, text.lower(), name.lower()).ratio()
            short = max(len(text), len(name)) <= 3 and sum(a != b for a, b in zip(text, name)) <= 1 \
                and len(text) == len(name) and len(text) >= 2
            if short or (max(len(text), len(name)) > 3 and ratio >= 0.75):
                hits.append(h)
                break
    return hits[0] if len(hits) == 1 else None


def _web_mercator_in_china(xmin: float, ymin: float, xmax: float, ymax: float) -> bool:
    """Whether metres read as Web Mercator (EPSG:3857) put the whole extent inside China."""
    from pyproj import Transformer

    to_degrees = Transformer.from_crs(3857, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_degrees.transform([xmin, xmax], [ymin, ymax])
    lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
    return bool(lon_min <= lon0 <= lon1 <= lon_max and lat_min <= lat0 <= lat1 <= lat_max)


def _report_not_degrees(col: Collector, x: float, y: float, *, web_mercator: bool) -> None:
    """One whole-file problem for coordinates that are not longitude/latitude, naming Web Mercator when it fits."""
    params: dict[str, object] = {"x": f"{x:.0f}", "y": f"{y:.0f}"}
    if web_mercator:
        col.whole(f"coordinates ({x:.0f}, {y:.0f}) are Web Mercator metres (EPSG:3857), not longitude/latitude",
                  "err.crs.web_mercator", params=params,
                  remedy="save the layer again as GeoJSON or GeoPackage in EPSG:4326 (WGS 84)")
    else:
        col.whole(f"coordinates ({x:.0f}, {y:.0f}) are not longitude/latitude and no coordinate system is declared",
                  "err.crs.not_degrees", params=params,
                  remedy="set the layer's coordinate system and save it again in EPSG:4326")


def _check_geometries(geom: gpd.GeoSeries, spec: LayerSpec, col: Collector, rules: Rules) -> gpd.GeoSeries:
    missing = pd.Series(shapely.is_missing(geom.values), index=geom.index) | geom.is_empty
    for pos in np.flatnonzero(missing.to_numpy()):
        if spec.geometry != "none":
            col.at(int(pos), "geometry is empty", "err.geom.empty",
                   remedy="draw the feature or remove the row")
    if spec.geometry == "none":
        return geom
    allowed = _GEOM_TYPES[spec.geometry]
    gtype = geom.geom_type
    # a MultiPoint of one point is a point; single-part multi-lines are fine as they are
    wrong = ~missing & ~gtype.isin(list(allowed))
    for pos in np.flatnonzero(wrong.to_numpy()):
        col.at(int(pos), f"geometry is a {gtype.iloc[pos]}, expected {_GEOM_WORDS[spec.geometry]}",
               "err.geom.wrong_type", remedy=f"the {spec.name} layer holds {_GEOM_WORDS[spec.geometry]}",
               params={"actual": Tr(f"geomtype.{gtype.iloc[pos]}") if f"geomtype.{gtype.iloc[pos]}" in STRINGS
                       else gtype.iloc[pos], "expected": Tr(f"geomkind.{spec.geometry}"),
                       "layer": Tr(f"layer.{spec.name}")})
    values = geom.values.copy()
    invalid = ~missing & ~wrong & ~geom.is_valid
    if invalid.any():
        idx = np.flatnonzero(invalid.to_numpy())
        metric = gcrs.metric_crs(geom[~missing])
        before = gpd.GeoSeries(values[idx], crs=4326).to_crs(metric)
        reasons = shapely.is_valid_reason(values[idx])
        fixed = shapely.make_valid(values[idx])
        if spec.geometry in ("polygon", "polygon_or_point"):
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        after = gpd.GeoSeries(fixed, crs=4326).to_crs(metric)
        for k, pos in enumerate(idx):
            a0 = abs(before.iloc[k].area) if before.iloc[k] is not None else 0.0
            a1 = after.iloc[k].area if after.iloc[k] is not None else 0.0
            change = abs(a1 - a0) / max(a0, a1, 1e-9)
            if fixed[k] is None or fixed[k].is_empty or change > rules.max_repair_area_change:
                col.at(int(pos), f"geometry is invalid ({reasons[k]}) and repairing it would change "
                       f"its area by {change:.0%}", "err.geom.invalid",
                       remedy="redraw the outline so its edges do not cross (QGIS: Fix Geometries)",
                       params={"reason": reasons[k], "change": f"{change:.0%}"})
            else:
                values[pos] = fixed[k]
                col.at(int(pos), f"geometry was invalid ({reasons[k]}) and was repaired "
                       f"(area change {change:.2%})", "err.geom.repaired", severity="warning",
                       params={"reason": reasons[k], "change": f"{change:.2%}"})
    return gpd.GeoSeries(values, index=geom.index, crs=4326)


def _polygonal(g: shapely.Geometry | None) -> shapely.Geometry | None:
    """Keep only the polygonal parts of a repaired geometry."""
    if g is None:
        return None
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    u = shapely.union_all(parts)
    return u if u.geom_type in ("Polygon", "MultiPolygon") else None


def check_communities_overlap(communities: gpd.GeoDataFrame) -> list[Problem]:
    """Report pairs of communities that overlap by more than 1 m²."""
    problems: list[Problem] = []
    if len(communities) < 2:
        return problems
    geoms = communities.geometry.values
    left, right = communities.sindex.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return problems
    metric = gcrs.metric_crs(communities)
    inter = gpd.GeoSeries(shapely.intersection(geoms[left], geoms[right]), crs=4326).to_crs(metric).area
    ids = communities.index.to_numpy()
    for i, j, a in zip(left, right, inter.to_numpy(), strict=True):
        if a > 1.0:
            problems.append(Problem(
                f"communities {ids[i]} and {ids[j]} overlap by {a:,.0f} m²", "err.geom.communities_overlap",
                "error", None, f"{ids[i]}/{ids[j]}", None,
                "correct the boundaries so every place belongs to one community", (str(ids[i]), str(ids[j])),
                params={"a": str(ids[i]), "b": str(ids[j]), "area": f"{a:,.0f}"}))
    return problems


def join_buildings(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *,
                   rules: Rules) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Place every building in exactly one community by its representative point.

    A point within ``rules.snap_tolerance_m`` of one community is snapped into
    it (digitising slivers); outside every community, or inside two, is an error.
    """
    problems: list[Problem] = []
    pts = buildings.geometry.representative_point()
    hit_b, hit_c = communities.sindex.query(pts.values, predicate="intersects")
    counts = np.bincount(hit_b, minlength=len(buildings))
    cids = communities.index.to_numpy()
    bids = buildings.index.to_numpy()
    found = np.full(len(buildings), None, dtype=object)
    single = counts[hit_b] == 1
    found[hit_b[single]] = cids[hit_c[single]]
    for b in np.flatnonzero(counts > 1):
        names = sorted(str(c) for c in cids[hit_c[hit_b == b]])
        problems.append(Problem(f"lies in {len(names)} overlapping communities ({', '.join(names)})",
                                "err.geom.building_in_two_communities", "error", None, str(bids[b]), None,
                                "correct the community boundaries so they do not overlap", (str(bids[b]),),
                                params={"n": len(names), "ids": ", ".join(names)}))
    outside = np.flatnonzero(counts == 0)
    if len(outside):
        metric = gcrs.metric_crs(communities)
        cm = communities.to_crs(metric)
        pm = pts.iloc[outside].to_crs(metric)
        near_b, near_c = cm.sindex.nearest(pm.values, max_distance=rules.snap_tolerance_m,
                                           return_all=False)
        snapped = set()
        for b, c in zip(near_b, near_c, strict=True):
            found[outside[b]] = cids[c]
            snapped.add(outside[b])
        lost = [str(bids[b]) for b in outside if b not in snapped]
        if snapped:
            problems.append(Problem(f"{len(snapped)} building(s) lay just outside their community "
                                    f"(< {rules.snap_tolerance_m:g} m) and were placed in it",
                                    "err.geom.building_snapped", "warning", None, None, None, None,
                                    tuple(str(bids[b]) for b in sorted(snapped)),
                                    params={"n": len(snapped), "tol": f"{rules.snap_tolerance_m:g}"}))
        for bid in lost:
            problems.append(Problem("lies outside every community", "err.geom.building_outside",
                                    "error", None, bid, None,
                                    "check its coordinates, or add/extend the community that contains it",
                                    (bid,)))
    out = buildings.copy()
    given = out["community_id"] if "community_id" in out else pd.Series(None, index=out.index)
    mismatch = given.notna().to_numpy() & (found != None) & (given.to_numpy() != found)  # noqa: E711
    unknown = given.notna() & ~given.isin(cids)
    if unknown.any():
        problems.append(Problem(f"{int(unknown.sum())} building(s) name a community_id that is not in the "
                                "communities layer; their location decided instead",
                                "err.schema.unknown_community", "warning", None, None, None, None,
                                tuple(map(str, out.index[unknown.to_numpy()][:50])),
                                params={"n": int(unknown.sum())}))
    if mismatch.any():
        problems.append(Problem(f"{int(mismatch.sum())} building(s) carry a community_id other than the "
                                "community they lie in; their location decided instead",
                                "err.geom.community_mismatch", "warning", None, None, None, None,
                                tuple(map(str, out.index[mismatch][:50])), params={"n": int(mismatch.sum())}))
    out["community_id"] = found
    return out, problems
