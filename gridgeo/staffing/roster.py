"""Read a staff roster and check it beyond the schema; mask phone numbers.

The schema loader (``io``) already rejects unknown roles and employment types,
duplicate ids, and coordinates outside China or swapped. This module adds what
needs the roster as a whole or the grids: the same phone number on two people,
a current ``grid_id`` that no grid has, and people without a home location
(kept, and flagged: they can still be assigned by hand or to their current grid).

Phone numbers are personal data: every text this module produces shows them
masked (``138****1234``), including error messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo import io
from gridgeo.errors import Problem, SchemaError, summarize
from gridgeo.io.formats import read_raw
from gridgeo.io.validate import normalise_headers
from gridgeo.schema import STAFF

__all__ = ["Roster", "mask_phone", "mask_phones", "split_grid_ids", "check_roster", "read_roster",
           "roster_from_frame"]

_DIGITS = re.compile(r"\D")


def mask_phone(phone: object) -> str:
    """Mask a phone number as ``138****1234``: first 3 and last 4 digits kept.

    Shorter numbers keep less (a 7-digit landline shows ``***4567``); separators
    are dropped. Empty or missing values give ``""``.
    """
    if phone is None or (isinstance(phone, float) and np.isnan(phone)) or phone is pd.NA:
        return ""
    digits = _DIGITS.sub("", str(phone))
    if not digits:
        return ""
    if len(digits) >= 11:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_phones(values: pd.Series) -> pd.Series:
    """Mask every phone number of a column (index and name kept)."""
    return values.map(mask_phone).astype(object)


def split_grid_ids(value: object) -> tuple[str, ...]:
    """Split a roster's ``grid_id`` cell: one code, or several joined by ``;`` (part-timers)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ()
    return tuple(p.strip() for p in re.split(r"[;；,，]", str(value)) if p.strip())


@dataclass(frozen=True)
class Roster:
    """A checked roster: index ``staff_id``; geometry = home (None when unknown).

    ``frame`` columns: name, role, employment, phone (unmasked: mask before
    showing), grid_id (current grids joined by ``;``, "" when none), has_home.
    ``problems`` are the warnings (people without a home location …).
    """

    frame: gpd.GeoDataFrame
    problems: tuple[Problem, ...]
    path: str | None = None


def check_roster(staff: pd.DataFrame, grids: gpd.GeoDataFrame | None = None, *,
                 unknown_grid: str = "error", rows: Sequence[int | None] | None = None) -> list[Problem]:
    """Return the roster's problems the schema does not catch.

    Errors: a phone number used by two or more people (masked in the message);
    a current ``grid_id`` no grid in ``grids`` has (``unknown_grid="warning"``
    makes it a warning, for a roster re-assigned after the grids were redrawn).
    Warnings: people without a home location (GeoDataFrames only). ``staff`` is
    indexed by ``staff_id``; ``rows`` gives each position's spreadsheet row.
    """
    row_at = list(rows) if rows is not None else [None] * len(staff)
    problems: list[Problem] = []
    ids = [str(i) for i in staff.index]
    phones = staff["phone"] if "phone" in staff.columns else pd.Series([None] * len(staff))
    digits = [_DIGITS.sub("", str(v)) if isinstance(v, str) and "*" not in v else "" for v in phones]
    seen: dict[str, list[int]] = {}
    for pos, number in enumerate(digits):
        if number:
            seen.setdefault(number, []).append(pos)
    for number, positions in seen.items():
        if len(positions) < 2:
            continue
        where = ", ".join(f"{ids[p]} (row {row_at[p]})" if row_at[p] else ids[p] for p in positions)
        with_rows = all(row_at[p] for p in positions)
        params: dict[str, object] = {"people": ", ".join(ids[p] for p in positions), "n": len(positions)}
        if with_rows:
            params["rows"] = ", ".join(str(row_at[p]) for p in positions)
        problems.append(Problem(
            f"phone {mask_phone(number)} is used by {len(positions)} people: {where}",
            "err.staffing.duplicate_phone_rows" if with_rows else "err.staffing.duplicate_phone",
            row=row_at[positions[1]], feature_id=ids[positions[1]],
            value=mask_phone(number), remedy="give each person their own phone number or correct the typo",
            ids=tuple(ids[p] for p in positions), params=params))
    if grids is not None and "grid_id" in staff.columns:
        known = set(map(str, grids.index))
        for pos, cell in enumerate(staff["grid_id"]):
            for gid in split_grid_ids(cell):
                if gid not in known:
                    problems.append(Problem(
                        f"grid_id {gid!r} is not a grid of the grids layer", "err.staffing.unknown_grid",
                        severity="error" if unknown_grid == "error" else "warning",
                        row=row_at[pos], feature_id=ids[pos], value=gid,
                        remedy="use a grid code of the current grids layer, or leave grid_id empty"))
    if isinstance(staff, gpd.GeoDataFrame):
        homeless = shapely.is_missing(staff.geometry.values) | staff.geometry.is_empty.to_numpy()
        for k in np.flatnonzero(homeless).tolist():
            problems.append(Problem(
                "no home location (lon/lat): kept, but assigned automatically only to their current grid",
                "err.staffing.no_home", severity="warning", row=row_at[k], feature_id=ids[k],
                remedy="add 经度/纬度 (lon/lat) of the home address, or assign the person by hand"))
    return problems


def roster_from_frame(staff: gpd.GeoDataFrame, grids: gpd.GeoDataFrame | None = None, *,
                      path: str | None = None, unknown_grid: str = "error",
                      rows: Sequence[int | None] | None = None) -> Roster:
    """Check an already loaded staff layer (e.g. ``District.staff``); raise on errors."""
    problems = check_roster(staff, grids, unknown_grid=unknown_grid, rows=rows)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        n = len(errors)
        raise SchemaError(f"staff roster has {n} problem{'s' if n > 1 else ''}; nothing was loaded\n"
                          f"{summarize(errors, path)}", path=path, code=errors[0].code,
                          problems=errors, layer="staff")
    frame = staff.copy()
    for col in ("phone", "grid_id", "name"):
        if col not in frame.columns:
            frame[col] = ""
    frame["grid_id"] = [";".join(split_grid_ids(v)) for v in frame["grid_id"]]
    frame["phone"] = frame["phone"].fillna("").astype(str)
    frame["has_home"] = ~(shapely.is_missing(frame.geometry.values) | frame.geometry.is_empty.to_numpy())
    keep = ["name", "role", "employment", "phone", "grid_id", "has_home"]
    extra = [c for c in frame.columns if c not in keep and c != frame.geometry.name]
    out = gpd.GeoDataFrame(frame[keep + extra], geometry=frame.geometry.values, crs=4326, index=frame.index)
    out.index.name = "staff_id"
    return Roster(out, tuple(p for p in problems if p.severity != "error"), path)


def read_roster(path: str | Path, grids: gpd.GeoDataFrame | None = None, *,
                unknown_grid: str = "error") -> Roster:
    """Read a roster file (CSV/XLSX, Chinese or English headers) and check it.

    Every problem of the file (schema and roster checks together) is raised at
    once as one ``SchemaError`` naming rows, ids, values and fixes; phone
    numbers in the message are masked.
    """
    checked = io.check_file("staff", path)
    problems = list(checked.errors)
    frame = checked.frame
    if frame is not None:
        if not isinstance(frame, gpd.GeoDataFrame):   # no lon/lat columns: nobody has a home location
            if "staff_id" in frame.columns:
                frame = frame.set_index("staff_id")
            frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index),
                                     crs=4326)
        rows = [k + 2 for k in range(len(frame))]
        try:
            return roster_from_frame(frame, grids, path=str(path), unknown_grid=unknown_grid, rows=rows)
        except SchemaError as err:
            problems += err.problems
    else:  # the schema failed: still check phones and grid codes on the raw rows, to list everything once
        raw = normalise_headers(read_raw(path, layer_name="staff").frame.reset_index(drop=True), STAFF)
        if "staff_id" in raw.columns:
            table = pd.DataFrame(raw.drop(columns=["staff_id"]).to_numpy(), columns=raw.columns.drop("staff_id"),
                                 index=raw["staff_id"].astype(str).to_numpy())
            problems += [p for p in check_roster(table, grids, unknown_grid=unknown_grid,
                                                 rows=[k + 2 for k in range(len(table))])
                         if p.severity == "error"]
    problems = [_masked(p) for p in problems]
    n = len(problems)
    raise SchemaError(f"staff roster has {n} problem{'s' if n > 1 else ''}; nothing was loaded\n"
                      f"{summarize(problems, str(path))}", path=str(path), code=problems[0].code,
                      problems=problems, layer="staff")


def _masked(p: Problem) -> Problem:
    """The schema loader quotes bad cells; a phone cell must not leak through an error."""
    family, _, name = p.code.rpartition(".")
    if family == "err.schema" and name.startswith("phone") and p.value is not None:  # any phone cell problem
        from dataclasses import replace

        return replace(p, value=mask_phone(p.value))
    return p
