"""Tables for people: CSV with a byte-order mark and XLSX with Chinese headers.

Excel opens a UTF-8 CSV as GBK unless it starts with a byte-order mark, so every
CSV carries one. XLSX sheets get translated headers (Chinese by default), a
frozen header row and column widths fitted to the content (a CJK character is
about two Latin characters wide).
"""

from __future__ import annotations

import io as _io
import re
from collections.abc import Mapping

import pandas as pd

from gridgeo.i18n import STRINGS, Lang, t

__all__ = ["column_label", "labelled", "csv_bytes", "xlsx_bytes", "tabular"]

_WITHIN = re.compile(r"^within_(\d+)$")
_MAX_WIDTH = 60


def column_label(column: str, lang: Lang) -> str:
    """The header users read for ``column`` (``households`` -> 户数); unknown columns keep their name."""
    m = _WITHIN.match(column)
    if m:
        return t("export.col.within", lang, reach=m.group(1))
    key = f"export.col.{column}"
    return t(key, lang) if key in STRINGS else column


def labelled(df: pd.DataFrame, lang: Lang | None) -> pd.DataFrame:
    """``df`` with translated headers (``lang=None`` keeps the canonical English field names)."""
    if lang is None:
        return df
    labels = {c: column_label(str(c), lang) for c in df.columns}
    return df.rename(columns=labels)


def tabular(df: pd.DataFrame) -> pd.DataFrame:
    """Plain columns for a table file: the index (an id) becomes the first column, geometry is dropped,
    time zones are removed (Excel has none) after converting to Asia/Shanghai."""
    out = df.reset_index() if df.index.name is not None else df.reset_index(drop=True)
    if "geometry" in out.columns:
        out = pd.DataFrame(out.drop(columns="geometry"))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    return out


def csv_bytes(df: pd.DataFrame, *, lang: Lang | None = "zh") -> bytes:
    """CSV (UTF-8 with BOM) of ``df``; headers translated unless ``lang`` is None."""
    text: str = labelled(tabular(df), lang).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")


def _width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame], *, lang: Lang | None = "zh") -> bytes:
    """An XLSX workbook, one sheet per entry (sheet names cut to Excel's 31 characters).

    Headers are translated (Chinese by default, ``lang=None`` for field names),
    bold and frozen; widths fit the longest value (capped), so codes like
    370124001001001 are shown whole. Ids are written as text, never as numbers
    that Excel would print as 3.70124E+14.
    """
    from openpyxl import Workbook  # local: 0.4 s to import, and most commands write no XLSX
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        table = labelled(tabular(frame), lang)
        ws.append([str(c) for c in table.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(vertical="center")
        for row in table.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
        for i, col in enumerate(table.columns, start=1):
            sample = [col, *table[col].head(2000).tolist()]
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
