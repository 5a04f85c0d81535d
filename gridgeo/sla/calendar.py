"""The working-day calendar: State Council holidays, adjusted working weekends, and what is not known.

Official days come from ``chinese-calendar`` (years 2004–2026 in 1.11.0) and
from a notice file the user supplies for later years (``date,type`` with
``holiday``/``workday``; ``日期,类型`` with ``休``/``班`` accepted). A year
known to neither counts weekends only, and every figure touching it is marked
``weekends_only``.

The calendar is one boolean array over days plus its running sum, so working
days between two dates, or the N-th working day after a date, are array
look-ups (``searchsorted``) for any number of cases at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridgeo.errors import InputError, Problem, summarize
from gridgeo.io.formats import find_column, read_raw

#: the span the calendar array covers; dates outside it are refused by the readers
SPAN_START = np.datetime64("1990-01-01", "D")
SPAN_END = np.datetime64("2100-12-31", "D")

_DATE_ALIASES = ("date", "日期", "日子")
_TYPE_ALIASES = ("type", "类型", "性质", "休/班")
_HOLIDAY_WORDS = {"holiday", "休", "假", "休息", "放假", "节假日", "rest", "off"}
_WORKDAY_WORDS = {"workday", "班", "上班", "调休上班", "补班", "work", "working"}


def _official_days() -> tuple[dict[dt.date, bool], tuple[int, int], str]:
    """Holiday/workday exceptions from chinese-calendar: {date: is_working}, the years known, the version."""
    import chinese_calendar
    from chinese_calendar import constants

    days: dict[dt.date, bool] = {d: False for d in constants.holidays}
    days.update({d: True for d in constants.workdays})
    years = (min(d.year for d in days), max(d.year for d in days))
    return days, years, str(getattr(chinese_calendar, "__version__", "?"))


@dataclass(frozen=True)
class HolidayNotice:
    """Days of a State Council holiday notice read from a user file."""

    days: Mapping[dt.date, bool]     # date -> is a working day
    years: tuple[int, ...]           # the years the file covers
    source: str                      # the file name


def read_holidays(path: str | Path) -> HolidayNotice:
    """Read a holiday notice file (CSV/XLSX): one row per holiday or adjusted working day.

    Headers ``date``/``type`` or ``日期``/``类型``; types ``holiday``/``workday``
    or ``休``/``班``. Other columns (a note) are ignored. Every bad row is
    reported at once.
    """
    raw = read_raw(path, layer_name="holidays").frame
    cols = list(raw.columns)
    date_col, type_col = find_column(cols, _DATE_ALIASES), find_column(cols, _TYPE_ALIASES)
    if date_col is None or type_col is None:
        missing = [n for n, c in (("date (日期)", date_col), ("type (类型)", type_col)) if c is None]
        raise InputError(f"missing column {', '.join(missing)}", path=path, code="err.sla.holidays_columns",
                         value=", ".join(map(str, cols)) or "(none)", columns=", ".join(missing),
                         remedy="use the headers 日期,类型 (or date,type), one row per day")
    problems: list[Problem] = []
    days: dict[dt.date, bool] = {}
    for pos, (d_text, t_text) in enumerate(zip(raw[date_col], raw[type_col])):
        row = pos + 2
        if not d_text and not t_text:
            continue
        stamp = pd.to_datetime(d_text, errors="coerce")
        kind = str(t_text).strip().lower()
        if pd.isna(stamp):
            problems.append(Problem("date is not a date", "err.sla.holidays_date", row=row, value=d_text,
                                    remedy="write it as 2027-02-10"))
            continue
        if kind in _HOLIDAY_WORDS:
            working = False
        elif kind in _WORKDAY_WORDS:
            working = True
        else:
            problems.append(Problem("type is neither holiday nor workday", "err.sla.holidays_type", row=row,
                                    value=t_text, remedy="write holiday or workday (休 or 班)"))
            continue
        day = stamp.date()
        if day in days and days[day] != working:
            problems.append(Problem("the date is listed both as holiday and as workday",
                                    "err.sla.holidays_twice", row=row, value=d_text,
                                    remedy="keep one row per date"))
            continue
        days[day] = working
    if problems:
        raise InputError(summarize(problems, str(path)), path=path, code="err.sla.holidays_rows",
                         problems=problems, count=len(problems))
    if not days:
        raise InputError("lists no day", path=path, code="err.sla.holidays_empty",
                         remedy="add one row per holiday and per adjusted working day of the notice")
    years = tuple(sorted({d.year for d in days}))
    return HolidayNotice(days, years, Path(path).name)


@dataclass(frozen=True)
class WorkCalendar:
    """Working days over ``SPAN_START`` .. ``SPAN_END`` and which years are official.

    Build it with :func:`work_calendar`.
    """

    working: np.ndarray = field(repr=False)     # bool per day
    cum: np.ndarray = field(repr=False)         # int64: working days in span[0..i]
    unknown_cum: np.ndarray = field(repr=False)  # int64: days of unknown years in span[0..i]
    year_sources: Mapping[int, str]             # year -> "chinese-calendar 1.11.0" | file name

    def day_index(self, days: np.ndarray) -> np.ndarray:
        """Index into the arrays of ``datetime64[D]`` values (clipped into the span)."""
        idx = (days.astype("datetime64[D]") - SPAN_START).astype(np.int64)
        return np.clip(idx, 0, len(self.working) - 1)

    def is_working(self, days: np.ndarray) -> np.ndarray:
        """Whether each day is a working day."""
        return self.working[self.day_index(days)]  # type: ignore[no-any-return]

    def add_working_days(self, start: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The ``n``-th working day after ``start`` (``start`` not counted); ``n == 0`` gives ``start``."""
        i = self.day_index(start)
        target = self.cum[i] + n
        j = np.searchsorted(self.cum, target, side="left")
        j = np.where(n <= 0, i, np.minimum(j, len(self.cum) - 1))
        out: np.ndarray = SPAN_START + j.astype("timedelta64[D]")
        return out

    def working_days_between(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
        a, b = self.day_index(start), self.day_index(end)
        out: np.ndarray = np.maximum(self.cum[b] - self.cum[a], 0)
        return out

    def touches_unknown(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Whether any day in ``start .. end`` lies in a year with no official calendar."""
        a, b = self.day_index(start), self.day_index(np.maximum(start, end))
        before = np.where(a > 0, self.unknown_cum[np.maximum(a - 1, 0)], 0)
        return (self.unknown_cum[b] - before) > 0  # type: ignore[no-any-return]

    def official_years(self) -> tuple[int, ...]:
        """Years whose holidays and adjusted working days are known."""
        return tuple(sorted(self.year_sources))

    def known(self, year: int) -> bool:
        """Whether ``year`` has an official calendar."""
        return year in self.year_sources


def work_calendar(notices: Iterable[HolidayNotice] = (), *, use_package: bool = True) -> WorkCalendar:
    """Build the calendar: weekends, then chinese-calendar's years, then each user notice on top.

    A notice overrides the package day by day for the dates it lists (a
    correction), and makes its years official.
    """
    days = np.arange(SPAN_START, SPAN_END + 1, dtype="datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7          # 1970-01-01 was a Thursday: 0 = Monday
    working = weekday < 5
    sources: dict[int, str] = {}
    exceptions: dict[dt.date, bool] = {}
    if use_package:
        official, (lo, hi), version = _official_days()
        exceptions.update(official)
        sources.update({y: f"chinese-calendar {version}" for y in range(lo, hi + 1)})
    for notice in notices:
        exceptions.update(notice.days)
        sources.update({y: notice.source for y in notice.years})
    if exceptions:
        dates = np.array(sorted(exceptions), dtype="datetime64[D]")
        flags = np.array([exceptions[d] for d in sorted(exceptions)], dtype=bool)
        inside = (dates >= SPAN_START) & (dates <= SPAN_END)
        working[(dates[inside] - SPAN_START).astype(np.int64)] = flags[inside]
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    unknown = ~np.isin(years, np.array(sorted(sources), dtype=np.int64))
    return WorkCalendar(working, np.cumsum(working, dtype=np.int64), np.cumsum(unknown, dtype=np.int64),
                        dict(sorted(sources.items())))
