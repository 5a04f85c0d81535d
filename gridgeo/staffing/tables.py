"""What leaves the staffing module: CSV and XLSX downloads, and the table saved with a plan.

Phone numbers are masked (``138****1234``) in every output unless the caller
passes ``show_phones=True``, an explicit choice the page keeps per session and
the CLI takes as ``--show-phones``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from gridgeo.errors import SchemaError
from gridgeo.i18n import STRINGS, Lang, t
from gridgeo.staffing.assign import StaffingResult
from gridgeo.staffing.roster import Roster, check_roster, mask_phones, split_grid_ids
from gridgeo.tables import csv_bytes, xlsx_bytes

__all__ = ["ASSIGNMENT_COLUMNS", "GRID_COLUMNS", "PLAN_TABLE_COLUMNS", "PLAN_TABLE_VERSION",
           "assignments_table", "grid_table", "grid_staffing_csv", "staff_assignments_csv", "roster_frame",
           "roster_table", "roster_xlsx",
           "staffing_to_table", "staffing_from_table", "roster_with_staffing"]

#: ``staff_assignments.csv``: one row per person and grid ("" grid = unassigned).
ASSIGNMENT_COLUMNS = ("staff_id", "name", "role", "employment", "grid_id", "distance_m", "moved",
                      "previous_grid_id", "reason")
#: ``grid_staffing.csv``: the issue's columns first, then the rest of the checks.
GRID_COLUMNS = ("grid_id", "leaders", "workers", "households", "households_per_worker", "flags")
#: The staffing table a plan version carries (no phone numbers: the roster keeps those).
PLAN_TABLE_COLUMNS = ("staff_id", "grid_id", "role", "employment", "distance_m", "moved")
PLAN_TABLE_VERSION = 1

_ROSTER_HEADERS = ("staff_id", "name", "role", "employment", "phone", "community_id", "grid_id",
                   "distance_m", "moved", "previous_grid_id", "reason")


def assignments_table(result: StaffingResult) -> pd.DataFrame:
    """One row per person and grid, the columns of ``staff_assignments.csv`` (no phone numbers)."""
    return result.members[list(ASSIGNMENT_COLUMNS)].reset_index(drop=True)


def grid_table(result: StaffingResult) -> pd.DataFrame:
    """Per-grid ratios and flags, the columns of ``grid_staffing.csv`` first."""
    frame = result.grids.reset_index()
    rest = [c for c in frame.columns if c not in GRID_COLUMNS]
    return frame[[*GRID_COLUMNS, *rest]]


def roster_frame(result: StaffingResult, *, show_phones: bool = False) -> pd.DataFrame:
    """The roster with grid codes, one row per person (grids joined by ``;``): field names and codes,
    phones masked unless ``show_phones`` (for files; ``roster_table`` is the same in words)."""
    m = result.members
    agg: dict[str, Any] = {c: "first" for c in _ROSTER_HEADERS if c not in ("staff_id", "grid_id",
                                                                              "community_id", "distance_m")}
    agg.update({"grid_id": lambda s: ";".join(g for g in s if g),
                "community_id": lambda s: ";".join(dict.fromkeys(g for g in s if g)),
                "distance_m": "max"})
    per = m.groupby("staff_id", sort=False).agg(agg).reset_index()[list(_ROSTER_HEADERS)]
    if not show_phones:
        per["phone"] = mask_phones(per["phone"])
    return per


def roster_table(result: StaffingResult, *, show_phones: bool = False, lang: Lang = "zh") -> pd.DataFrame:
    """The roster with grid codes (网格员花名册): one row per person, grids joined by ``;``.

    Headers, roles and employment types in ``lang``; phones masked unless ``show_phones``.
    """
    per = roster_frame(result, show_phones=show_phones)
    per["role"] = [t(f"staffing.role.{r}", lang) for r in per["role"]]
    per["employment"] = [t(f"staffing.employment.{e}", lang) for e in per["employment"]]
    per["moved"] = [t("staffing.yes", lang) if v else "" for v in per["moved"]]
    per["reason"] = [t(f"staffing.reason.{r}", lang) if r else "" for r in per["reason"]]
    return per.rename(columns={c: t(f"staffing.col.{c}", lang) for c in _ROSTER_HEADERS})


def _labels(frame: pd.DataFrame, lang: Lang) -> dict[str, str]:
    """The staffing page's own headers (居住地距网格（米）, 人均户数 …), so every download reads like the page."""
    return {c: t(f"staffing.col.{c}", lang) for c in frame.columns if f"staffing.col.{c}" in STRINGS}


def grid_staffing_csv(result: StaffingResult, *, lang: Lang | None = "zh") -> bytes:
    """``grid_staffing.csv``: per-grid ratios and flags, with the page's headers (``lang=None``: field names)."""
    grids = grid_table(result)
    return csv_bytes(grids, lang=lang, labels=_labels(grids, lang) if lang else None)


def staff_assignments_csv(result: StaffingResult, *, lang: Lang | None = "zh") -> bytes:
    """``staff_assignments.csv``: one row per person and grid, with the page's headers (``lang=None``: field names)."""
    table = assignments_table(result)
    return csv_bytes(table, lang=lang, labels=_labels(table, lang) if lang else None)


def roster_xlsx(result: StaffingResult, *, show_phones: bool = False, lang: Lang = "zh") -> bytes:
    """网格员花名册: the roster with grid codes, plus the per-grid ratios, as one workbook."""
    grids = grid_table(result)
    labels = _labels(grids, lang)
    return xlsx_bytes({t("staffing.sheet_roster", lang): roster_table(result, show_phones=show_phones, lang=lang),
                       t("staffing.sheet_grids", lang): grids}, lang=lang, labels=labels)


def staffing_to_table(result: StaffingResult) -> pd.DataFrame:
    """The staffing a plan version carries: one row per (person, grid), strings only, no phones.

    Pure: the plans store saves this frame with the version and gives it back
    to ``staffing_from_table``; ``attrs["staffing_table_version"]`` marks the layout.
    """
    placed = result.members[result.members["grid_id"] != ""]
    out = pd.DataFrame({
        "staff_id": placed["staff_id"].astype(str), "grid_id": placed["grid_id"].astype(str),
        "role": placed["role"].astype(str), "employment": placed["employment"].astype(str),
        "distance_m": placed["distance_m"].astype(float), "moved": placed["moved"].astype(bool),
    }).sort_values(["grid_id", "staff_id"]).reset_index(drop=True)
    out.attrs["staffing_table_version"] = PLAN_TABLE_VERSION
    return out


def staffing_from_table(table: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Read a saved staffing table back into ``staff_id -> grid ids`` (feed it to ``evaluate``).

    Raises ``SchemaError`` if a column is missing or a version is newer than this code.
    """
    missing = [c for c in ("staff_id", "grid_id") if c not in table.columns]
    if missing:
        raise SchemaError(f"staffing table lacks column(s) {', '.join(missing)}", value=list(table.columns),
                          code="err.staffing.bad_table", remedy="save the staffing with staffing_to_table")
    version = int(table.attrs.get("staffing_table_version", PLAN_TABLE_VERSION))
    if version > PLAN_TABLE_VERSION:
        raise SchemaError("staffing table was saved by a newer gridgeo", value=version,
                          code="err.staffing.bad_table", remedy="update gridgeo")
    pairs: dict[str, tuple[str, ...]] = {}
    for sid, gid in zip(table["staff_id"].astype(str), table["grid_id"]):
        for g in split_grid_ids(gid):
            pairs[sid] = tuple(sorted({*pairs.get(sid, ()), g}))
    return pairs


def roster_with_staffing(roster: Roster, table: pd.DataFrame,
                         grids: gpd.GeoDataFrame | None = None) -> tuple[Roster, tuple[str, ...]]:
    """The roster whose current grids are those of a saved staffing table (a plan version's).

    Everyone's ``grid_id`` becomes the grids the table gives them ("" for the
    people it leaves out), so ``check_staff`` judges the saved staffing,
    ``assign_staff(keep_current=True)`` keeps it where it can and ``moved`` is
    counted against it. With ``grids``, saved grid codes that are not grids of
    that layer (retired by a later edit) become ``err.staffing.unknown_grid``
    warnings. Returns the roster and the staff ids of the table that the
    roster no longer has (people who left: the caller lists them).
    """
    pairs = staffing_from_table(table)
    frame = roster.frame.copy()
    ids = [str(s) for s in frame.index]
    frame["grid_id"] = [";".join(pairs.get(s, ())) for s in ids]
    problems = [p for p in roster.problems if p.code != "err.staffing.unknown_grid"]
    if grids is not None:
        problems += check_roster(pd.DataFrame({"grid_id": frame["grid_id"].to_numpy()}, index=frame.index), grids,
                                 unknown_grid="warning")
    missing = tuple(sorted(set(pairs) - set(ids)))
    return Roster(frame, tuple(problems), roster.path), missing
