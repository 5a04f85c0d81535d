"""Tables for people and files: sla_cases.csv, sla_kpis.csv and the XLSX workbook with Chinese headers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gridgeo.i18n import Lang, t
from gridgeo.sla.kpis import LEVELS, all_kpis, ranking
from gridgeo.tables import csv_bytes, xlsx_bytes

#: the first columns of sla_cases.csv, in this order (issue 19)
CASE_COLUMNS = ("case_id", "limit", "deadline", "working_days_taken", "state", "calendar")
_MORE = ("unit", "extension", "extended_deadline", "working_days_left", "rule_id", "created_at", "closed_at",
         "channel", "category", "request_type", "urgent", "department", "grid_id", "community_id")


def _fmt_times(series: pd.Series) -> pd.Series:
    out = series.dt.strftime("%Y-%m-%d %H:%M:%S")
    return out.where(series.notna(), "")


def cases_frame(result: object) -> pd.DataFrame:
    """One row per case: the CLI/CSV columns first, then context; times as local ``YYYY-MM-DD HH:MM:SS``.

    A working-day deadline is the last second of its day (23:59:59).
    """
    from gridgeo.sla import SlaResult

    assert isinstance(result, SlaResult)
    s, c = result.states, result.cases
    out = pd.DataFrame({"case_id": s.index.to_numpy()})
    for col in ("limit", "deadline", "working_days_taken", "state", "calendar", "unit", "extension",
                "extended_deadline", "working_days_left", "rule_id"):
        out[col] = s[col].to_numpy()
    for col in ("created_at", "closed_at", "channel", "category", "request_type", "urgent", "department",
                "grid_id", "community_id"):
        out[col] = c[col].to_numpy() if col in c else ""
    for col in ("deadline", "extended_deadline", "created_at", "closed_at"):
        out[col] = _fmt_times(pd.Series(out[col]))
    return out[[*CASE_COLUMNS, *_MORE]]


def kpis_frame(result: object) -> pd.DataFrame:
    """Every KPI level stacked (``level``, ``key``, the KPIs, ``channel:<name>``)."""
    from gridgeo.sla import SlaResult

    assert isinstance(result, SlaResult)
    return all_kpis(result.table, levels=LEVELS)


def write_outputs(result: object, out_dir: str | Path) -> tuple[Path, Path, Path]:
    """Write ``sla_cases.csv``, ``sla_kpis.csv`` and ``sla_ranking.csv`` (UTF-8 with BOM) into ``out_dir``."""
    from gridgeo.sla import SlaResult

    assert isinstance(result, SlaResult)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "sla_cases.csv", out / "sla_kpis.csv", out / "sla_ranking.csv"
    rank = pd.concat([ranking(result.table, by).assign(of=by) for by in ("grid_id", "department")],
                     ignore_index=True)
    for path, frame in zip(paths, (cases_frame(result), kpis_frame(result), rank)):
        tmp = path.with_suffix(".csv.part")
        tmp.write_bytes(csv_bytes(frame, lang=None))     # field names and codes: the files scripts read
        tmp.replace(path)
    return paths


def _headers(frame: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    def name(col: str) -> str:
        if col.startswith("channel:"):
            return f"{t('sla.col.channel', lang)}:{col.split(':', 1)[1]}"
        key = f"sla.col.{col}"
        label = t(key, lang)
        return col if label == key else label
    return frame.rename(columns=name)


def _translated(frame: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    out = frame.copy()
    if "state" in out:
        out["state"] = out["state"].map(lambda v: t(f"sla.state.{v}", lang))
    if "calendar" in out:
        out["calendar"] = out["calendar"].map(lambda v: t(f"sla.calendar.{v}", lang))
    if "unit" in out:
        out["unit"] = out["unit"].map(lambda v: t(f"sla.unit.{v}", lang) if v else "")
    if "level" in out:
        out["level"] = out["level"].map(lambda v: t(f"sla.level.{v}", lang))
    return out


def display(frame: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """States, calendars, units and levels in words, headers in ``lang``."""
    return _headers(_translated(frame, lang), lang)


def workbook(result: object, lang: Lang = "zh") -> bytes:
    """The XLSX a supervisor downloads: cases, KPIs, both 红黑榜, the rules and the calendar used."""
    from gridgeo.sla import SlaResult

    assert isinstance(result, SlaResult)
    rules = result.rules.rules.rename(columns={"yellow": "yellow_threshold"})[
        ["rule_id", "jurisdiction", "channel", "category", "urgent", "limit", "unit", "extension",
         "yellow_threshold", "source"]]
    years = pd.DataFrame({"year": list(result.calendar.year_sources),
                          "calendar_source": list(result.calendar.year_sources.values())})
    sheets = {
        "sla.sheet.cases": cases_frame(result),
        "sla.sheet.kpis": kpis_frame(result),
        "sla.sheet.rank_grid": ranking(result.table, "grid_id"),
        "sla.sheet.rank_department": ranking(result.table, "department"),
        "sla.sheet.rules": rules,
        "sla.sheet.calendar": years,
    }
    return xlsx_bytes({t(key, lang): display(frame.replace({np.nan: None}), lang) for key, frame in sheets.items()},
                      lang=None)       # display() already put headers and states in ``lang``
