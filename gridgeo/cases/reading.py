"""Read a case export as text cells: CSV (UTF-8, BOM, GBK) or an XLSX sheet, title rows skipped.

XLSX goes through ``gridgeo.io``'s one Excel reader (python-calamine), so a cell reads
as it does in every other gridgeo table.

Exports from 12345 platforms often put a title ("2024年3月工单明细") and a blank
line above the header; the header is the first row among the first ten that
names the most known columns. Row numbers are kept as the user's spreadsheet
numbers them, so a report can point at row 1234.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gridgeo.errors import InputError
from gridgeo.io.formats import excel_sheet_names, read_excel_cells
from gridgeo.schema import HEADER_ALIASES

__all__ = ["RawExport", "read_export", "sheet_names", "detect_header"]

_SCAN_ROWS = 10
_ENCODINGS = ("utf-8-sig", "gb18030")
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")


@dataclass(frozen=True)
class RawExport:
    """The cells of an export as text, with where each row sits in the file."""

    frame: pd.DataFrame          # text cells, columns as headed in the file ("" for blank)
    rows: np.ndarray             # spreadsheet row number of each record (header row + 1 …)
    path: str
    encoding: str | None = None  # CSV only
    sheet: str | None = None     # XLSX only
    header_row: int = 1          # spreadsheet row of the header


def _score(cells: list[str]) -> tuple[int, int]:
    aliases = HEADER_ALIASES["cases"]
    known = sum(1 for c in cells if str(c).strip().lower() in aliases)
    filled = sum(1 for c in cells if str(c).strip())
    return known, filled


def detect_header(first_rows: list[list[str]]) -> int:
    """Index (0-based) of the header among the first rows: most known names, then most filled cells."""
    if not first_rows:
        return 0
    scores = [_score(r) for r in first_rows[:_SCAN_ROWS]]
    best_known = max(k for k, _ in scores)
    if best_known > 0:
        return next(i for i, (k, _) in enumerate(scores) if k == best_known)
    most = max(f for _, f in scores)
    return next(i for i, (_, f) in enumerate(scores) if f >= max(2, most) or f == most)


def sheet_names(path: str | Path) -> list[str]:
    """Sheets of an XLSX workbook, in order."""
    return excel_sheet_names(path, code_prefix="err.cases")


def _unique_headers(cells: Sequence[object]) -> list[str]:
    out: list[str] = []
    for i, c in enumerate(cells):
        name = "" if c is None or (isinstance(c, float) and np.isnan(c)) else str(c).strip()
        name = name or f"column_{i + 1}"
        base, k = name, 2
        while name in out:
            name, k = f"{base}.{k}", k + 1
        out.append(name)
    return out


def _read_xlsx(p: Path, sheet: str | None) -> RawExport:
    """The chosen sheet (the first by default) through gridgeo's one Excel reader (python-calamine)."""
    book = read_excel_cells(p, sheet=sheet, code_prefix="err.cases")
    return _frame_from_cells(book.cells, p, sheet=book.sheet)


def _frame_from_cells(cells: list[list[str]], p: Path, *, sheet: str | None = None,
                      encoding: str | None = None) -> RawExport:
    if not cells:
        raise InputError("is empty", path=p, code="err.cases.empty", remedy="export the cases again")
    h = detect_header(cells)
    width = max(len(r) for r in cells)
    header = _unique_headers(list(cells[h]) + [""] * (width - len(cells[h])))
    body = [r + [""] * (width - len(r)) for r in cells[h + 1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object).fillna("").astype(str)
    rows = np.arange(h + 2, h + 2 + len(frame))
    blank = (frame == "").all(axis=1).to_numpy()     # trailing/empty lines are not cases
    frame, rows = frame[~blank].reset_index(drop=True), rows[~blank]
    drop = [c for c in frame.columns if c.startswith("column_") and (frame[c] == "").all()]
    return RawExport(frame.drop(columns=drop), rows, str(p), encoding, sheet, h + 1)


def _encoding_of(p: Path, wanted: str | None) -> str:
    """UTF-8 (with or without BOM) when the first megabyte decodes as UTF-8, else GB18030 (a GBK superset)."""
    if wanted:
        return wanted
    with p.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:      # a character cut at the 1 MB boundary
            return "utf-8-sig"
        return "gb18030"


def _drop_blank_rows(body: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose every cell is blank are not cases (trailing ",,,," lines of exports)."""
    if body.empty:
        return body, rows
    first = body.iloc[:, 0].fillna("").str.strip().eq("").to_numpy()
    if first.any():
        blank = first.copy()
        cand = np.flatnonzero(first)
        sub = body.iloc[cand]
        blank[cand] = sub.apply(lambda c: c.fillna("").astype(str).str.strip().eq("")).all(axis=1).to_numpy()
        if blank.any():
            body, rows = body[~blank].reset_index(drop=True), rows[~blank]
    drop = [c for c in body.columns if c.startswith("column_") and (body[c].fillna("") == "").all()]
    return body.drop(columns=drop), rows


def _read_csv_arrow(p: Path, encoding: str, sep: str, skip: int, header: list[str]) -> pd.DataFrame:
    """Multi-threaded C++ CSV reader, every column as text."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    names = [f"c{i}" for i in range(len(header))]
    table = pacsv.read_csv(
        p,
        read_options=pacsv.ReadOptions(encoding="utf8" if encoding.startswith("utf-8") else encoding,
                                       skip_rows=skip, column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    frame = table.to_pandas(types_mapper=lambda t: dtype if t in (pa.string(), pa.large_string()) else None)
    frame.columns = pd.Index(header)
    return frame


def _read_csv(p: Path, encoding: str | None) -> RawExport:
    enc = _encoding_of(p, encoding)
    with p.open("r", encoding=enc, errors="strict", newline="") as fh:
        try:
            head = [fh.readline() for _ in range(_SCAN_ROWS)]
        except UnicodeDecodeError as exc:
            raise InputError("text encoding is neither UTF-8 nor GBK", path=p, code="err.cases.encoding",
                             remedy="save the CSV as UTF-8") from exc
    head = [h.lstrip("\ufeff") for h in head if h]
    try:
        sep = csv.Sniffer().sniff("".join(head[-3:]), delimiters=",\t;").delimiter if head else ","
    except csv.Error:
        sep = ","
    first = list(csv.reader(head, delimiter=sep))
    if not first:
        raise InputError("is empty", path=p, code="err.cases.empty", remedy="export the cases again")
    h = detect_header(first)
    header = _unique_headers(first[h])
    body: pd.DataFrame | None = None
    if enc.startswith("utf-8"):
        try:
            body = _read_csv_arrow(p, enc, sep, h + 1, header)
        except Exception:   # ragged rows, odd quoting, bad bytes: pandas' reader says what is wrong
            body = None
    if body is None:
        try:
            frame = pd.read_csv(p, sep=sep, header=None, skiprows=h + 1, dtype=str, encoding=enc,
                                keep_default_na=False, engine="c", names=header, index_col=False,
                                skip_blank_lines=False)
        except UnicodeDecodeError as exc:
            raise InputError(f"text encoding is neither UTF-8 nor GBK ({exc})", path=p, code="err.cases.encoding",
                             remedy="save the CSV as UTF-8") from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"cannot be parsed as CSV ({exc})", path=p, code="err.cases.unreadable",
                             remedy="save it as comma-separated values with one header row") from exc
        body = frame
    rows = np.arange(h + 2, h + 2 + len(body))
    body, rows = _drop_blank_rows(body.reset_index(drop=True), rows)
    return RawExport(body, rows, str(p), enc, None, h + 1)


def read_export(path: str | Path, *, sheet: str | None = None, encoding: str | None = None) -> RawExport:
    """Read a CSV or XLSX case export as text cells; raise ``InputError`` if it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", path=p, code="err.cases.missing_file",
                         remedy="check the path of the case export")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(p, sheet)
    if suffix in (".csv", ".txt"):
        return _read_csv(p, encoding)
    raise InputError("unknown file format", path=p, value=p.suffix or "(no extension)",
                     code="err.cases.unknown_format", remedy="save the export as .csv or .xlsx")
