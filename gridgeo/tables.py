"""Tables for people, one writer for every capability: CSV with a byte-order mark, XLSX with Chinese headers.

Excel opens a UTF-8 CSV as GBK unless it starts with a byte-order mark, so every
CSV carries one. XLSX sheets get translated headers (Chinese by default,
English on request), a bold frozen header row and column widths fitted to the
content (a CJK character is about two Latin characters wide). With a language,
coded cells (``flags``, ``status``, ``role`` …) are written in words too;
``lang=None`` keeps field names and codes, for scripts.
"""

from __future__ import annotations

import io as _io
import re
from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from gridgeo.i18n import STRINGS, Lang, t

__all__ = ["VOCABULARY", "MISSING_TEXTS", "blank_missing", "column_label", "code_label", "codes_text", "coded_columns", "words_of", "labelled",
           "translated", "yes_no", "tabular", "human", "csv_bytes", "xlsx_bytes"]

_WITHIN = re.compile(r"^within_(\d+)(?:_([a-z_]+))?$")
_SHARE = re.compile(r"^share_(\d+)$")
#: Header catalogues, first hit wins: the shared one, then the capabilities' own (same words as their pages).
_HEADER_PREFIXES = ("export.col.", "staffing.col.", "sla.col.")
_MAX_WIDTH = 60

#: Coded columns -> the i18n prefixes their codes are looked up under (first hit wins; unknown codes stay).
VOCABULARY: dict[str, tuple[str, ...]] = {
    "flags": ("flag.", "staffing.flag.", "cases.reason."),
    "status": ("partition.status.", "map.status.", "staffing.status."),
    "kind": ("sheet.kind.", "map.station."),
    "method": ("coverage.method_short.",),
    "role": ("staffing.role.",),
    "employment": ("staffing.employment.",),
    "reason": ("staffing.reason.",),
    "hotspot": ("cases.hotspot.",),
    "trend": ("cases.trend.",),
    "state": ("sla.state.",),
    "missing": ("staffing.role.",),       # places short per role: "worker 2, leader 1"
}
_COUNTED = re.compile(r"^(\S+) (\d+)$")


def column_label(column: str, lang: Lang, labels: Mapping[str, str] | None = None) -> str:
    """The header users read for ``column`` (``households`` -> 户数); unknown columns keep their name.

    ``labels`` (column -> header) overrides the shared catalogue ``export.col.<column>``.
    """
    if labels and column in labels:
        return labels[column]
    m = _WITHIN.match(column)
    if m:
        label = t("export.col.within", lang, reach=m.group(1))
        return f"{label}（{t(f'map.station.{m.group(2)}', lang)}）" if m.group(2) else label
    m = _SHARE.match(column)
    if m:
        return t("export.col.share", lang, reach=m.group(1))
    for prefix in _HEADER_PREFIXES:
        if prefix + column in STRINGS:
            return t(prefix + column, lang)
    return column


def code_label(column: str, code: str, lang: Lang) -> str:
    """One code of a coded column in words (``no_leader`` -> 无网格长); unknown codes come back unchanged."""
    for prefix in VOCABULARY.get(column, ()):
        key = prefix + code
        if key in STRINGS:
            return t(key, lang)
    return code


def codes_text(column: str, value: object, lang: Lang) -> object:
    """A cell of ``column`` in words; several codes joined by ``;`` are each translated (、 or "; ")."""
    if not isinstance(value, str) or not value:
        return value
    parts = [p.strip() for p in re.split(r"[;,]" if column == "missing" else ";", value) if p.strip()]
    sep = "、" if lang == "zh" else "; "
    return sep.join(_part_label(column, p, lang) for p in parts)


def _part_label(column: str, part: str, lang: Lang) -> str:
    """One code, or a code and a count (``worker 2`` -> 网格员 2)."""
    m = _COUNTED.match(part)
    if m and code_label(column, m.group(1), lang) != m.group(1):
        return f"{code_label(column, m.group(1), lang)} {m.group(2)}"
    return code_label(column, part, lang)


def coded_columns(df: pd.DataFrame) -> list[str]:
    """The text columns of ``df`` whose cells are codes of ``VOCABULARY`` (flags, status, role …)."""
    return [c for c in df.columns if c in VOCABULARY and (df[c].dtype == object or isinstance(df[c].dtype,
                                                                                            pd.StringDtype))]


def words_of(s: pd.Series, column: str, lang: Lang) -> tuple[pd.Series, bool]:
    """The cells of coded ``column`` in ``lang`` (each distinct value translated once), and whether
    any cell changed (a free-text column, e.g. a case's own status, has nothing to translate)."""
    words = {v: codes_text(column, v, lang) for v in pd.unique(s.dropna())}
    changed = any(k != v for k, v in words.items())
    return s.map(words).astype(object).where(s.notna(), None), changed


def yes_no(s: pd.Series, lang: Lang) -> pd.Series:
    """A true/false column in words (是/否, yes/no); a missing cell stays missing."""
    words = {True: t("table.yes", lang), False: t("table.no", lang)}
    return s.map(lambda v: None if v is None or v is pd.NA else words[bool(v)]).astype(object)


def _boolean(s: pd.Series) -> bool:
    return bool(pd.api.types.is_bool_dtype(s.dtype))


def translated(df: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """``df`` with the coded cells of ``VOCABULARY`` columns in ``lang``, and true/false cells as 是/否."""
    cols = coded_columns(df)
    flags = [c for c in df.columns if _boolean(df[c])]
    if not cols and not flags:
        return df
    out = df.copy()
    for col in cols:
        out[col] = words_of(out[col], col, lang)[0]
    for col in flags:
        out[col] = yes_no(out[col], lang)
    return out


def labelled(df: pd.DataFrame, lang: Lang | None, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``df`` with translated headers (``lang=None`` keeps the canonical English field names)."""
    if lang is None:
        return df
    return df.rename(columns={c: column_label(str(c), lang, labels) for c in df.columns})


#: How a missing value reads once something turned it into text (``str(None)``, ``str(nan)`` …):
#: never shown to people, a missing cell stays empty.
MISSING_TEXTS = frozenset({"None", "nan", "NaN", "NaT", "<NA>"})


def blank_missing(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every missing cell a real missing value, so tables show and files write it empty.

    Text cells that spell a missing value (``"None"``, ``"nan"``, ``"NaT"``, ``"<NA>"``: what
    ``astype(str)`` makes of one) become ``None``; numbers, dates and other text stay as they are.
    Returns ``df`` itself when there is nothing to change.
    """
    text = [i for i, dtype in enumerate(df.dtypes) if dtype == object or isinstance(dtype, pd.StringDtype)]
    spelled = {i: m for i in text if (m := _spells_missing(df.iloc[:, i])).any()}
    if not spelled:
        return df
    out = df.copy()
    for i, m in spelled.items():
        out.isetitem(i, out.iloc[:, i].astype(object).where(~m, None))
    return out


def _spells_missing(s: pd.Series) -> pd.Series:
    try:
        return s.isin(MISSING_TEXTS)
    except TypeError:   # unhashable cells (lists): compare one by one
        return s.map(lambda v: isinstance(v, str) and v in MISSING_TEXTS).astype(bool)


def tabular(df: pd.DataFrame) -> pd.DataFrame:
    """Plain columns for a table file: the index (an id) becomes the first column, geometry is dropped,
    time zones are removed (Excel has none) after converting to Asia/Shanghai."""
    out = df.reset_index() if df.index.name is not None else df.reset_index(drop=True)
    geometry = {"geometry", df.geometry.name} if isinstance(df, gpd.GeoDataFrame) else {"geometry"}
    if geometry & set(out.columns):
        out = pd.DataFrame(out.drop(columns=[c for c in out.columns if c in geometry]))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    return blank_missing(out)


def human(df: pd.DataFrame, lang: Lang | None, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The table as people read it: ``tabular``, coded cells in words and headers in ``lang`` (None: as is)."""
    table = tabular(df)
    return table if lang is None else labelled(translated(table, lang), lang, labels)


def csv_bytes(df: pd.DataFrame, *, lang: Lang | None = "zh", labels: Mapping[str, str] | None = None) -> bytes:
    """CSV (UTF-8 with BOM, ``\\n`` line ends) of ``df``; headers and codes translated unless ``lang`` is None."""
    text: str = human(df, lang, labels).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")


def _width(value: object) -> int:
    text = "" if value is None else str(value)
    return max((sum(2 if ord(ch) > 0x2E80 else 1 for ch in line) for line in text.splitlines()), default=0)


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame], *, lang: Lang | None = "zh",
               labels: Mapping[str, str] | None = None) -> bytes:
    """An XLSX workbook, one sheet per entry (sheet names cut to Excel's 31 characters).

    Headers and coded cells are translated (Chinese by default, ``lang=None``
    keeps field names and codes), the header row is bold and frozen, widths fit
    the longest value (capped), so codes like 370124001001001 are shown whole.
    Ids are written as text, never as numbers that Excel would print as 3.70124E+14.
    """
    from openpyxl import Workbook  # local: 0.4 s to import, and most commands write no XLSX
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        table = human(frame, lang, labels)
        ws.append([str(c) for c in table.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(vertical="center")
        for row in table.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
        for i, col in enumerate(table.columns, start=1):
            sample = [col, *table.iloc[:2000, i - 1].tolist()]
            ws.column_dimensions[get_column_letter(i)].width = min(_MAX_WIDTH, max(_width(v) for v in sample) + 2)
        ws.freeze_panes = "A2"
    buf = _io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)
