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
from collections.abc import Mapping, Sequence

import geopandas as gpd
import pandas as pd

from gridgeo.i18n import STRINGS, Lang, t

__all__ = ["VOCABULARY", "MISSING_TEXTS", "blank_missing", "column_label", "code_label", "codes_text", "coded_columns",
           "words_of", "labelled", "translated", "is_plain_column", "measure_columns", "yes_no", "tabular", "human",
           "csv_bytes", "xlsx_bytes"]

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


# --- which numeric columns of a page table are quantities (thousands separators) -------------------

#: Canonical column names (the last part of an i18n header key such as ``cases.col.row``, or a
#: frame's own field name) whose numbers are labels, not quantities: identifiers and codes,
#: years and months, phone numbers, spreadsheet rows, ranks, plan versions, coordinates, and the
#: statistics whose precision matters more than their size (p, z, compactness, rates and shares).
PLAIN_FIELDS = re.compile(
    r"(?:.*_id|id|ids|.*_code|code|year|month|.*phone|mobile|row|rank|version|parent|seed|"
    r"lat|lon|lng|latitude|longitude|p_value|p_fdr|mk_p|mk_z|gi_z|polsby_popper|.*_rate|rate|.*share|share_\d+)")
#: Words that mark a header of any origin (a user's own column) as a label, whoever wrote it.
PLAIN_WORDS = frozenset({"id", "ids", "code", "year", "phone", "tel", "mobile", "row", "rank",
                         "version", "lon", "lng", "lat", "longitude", "latitude"})
PLAIN_CJK = ("编码", "编号", "代码", "工号", "序号", "行号", "名次", "年份", "年度", "月份", "电话", "手机",
             "经度", "纬度", "版本", "邮编")


def _plain_header_patterns() -> re.Pattern[str]:
    """Every translated header (zh and en) of a plain field in the i18n catalogue, as one regex."""
    alternatives: set[str] = set()
    for key, texts in STRINGS.items():
        if not (key.startswith("col.") or ".col." in key or ".col_" in key):
            continue
        field = key.rsplit(".", 1)[-1].removeprefix("col_")
        if not PLAIN_FIELDS.fullmatch(field):
            continue
        for text in texts.values():
            parts = re.split(r"\{[^{}]*\}", text)
            alternatives.add(".+".join(re.escape(p) for p in parts))
    return re.compile("|".join(sorted(alternatives)) or r"(?!)")


_PLAIN_HEADERS = _plain_header_patterns()


def is_plain_column(name: object) -> bool:
    """Whether a column named ``name`` holds labels (ids, codes, years, phones …) rather than quantities.

    The rule is explicit, never read from the values: the field name itself matches
    ``PLAIN_FIELDS``, or the header is the zh/en text of such a field in the i18n
    catalogue, or it contains one of ``PLAIN_WORDS`` / ``PLAIN_CJK``.
    """
    text = str(name).strip()
    if PLAIN_FIELDS.fullmatch(text.lower()) or _PLAIN_HEADERS.fullmatch(text):
        return True
    if set(re.findall(r"[a-z]+", text.lower())) & PLAIN_WORDS:
        return True
    return any(word in text for word in PLAIN_CJK)


def measure_columns(df: pd.DataFrame, *, numbers: Sequence[object] = (),
                    plain: Sequence[object] = ()) -> dict[str, str]:
    """Numeric columns of a table that are quantities, with the display format for each.

    Integer columns get ``"%,d"`` (14,989, as the pages' metric figures print), float
    columns ``"localized"`` (12,345.678; at most three decimals). Booleans, dates,
    text and every column ``is_plain_column`` names stay as they are. ``numbers``
    forces columns in, ``plain`` keeps them out (a page's explicit decision wins).
    """
    out: dict[str, str] = {}
    for name, dtype in df.dtypes.items():
        if not isinstance(name, str) or name in plain:
            continue
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            continue
        if name not in numbers and is_plain_column(name):
            continue
        out[name] = "%,d" if pd.api.types.is_integer_dtype(dtype) else "localized"
    return out
