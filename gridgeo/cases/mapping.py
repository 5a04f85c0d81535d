"""Columns of an export -> case fields: suggested from the schema's aliases, confirmed or edited
by the user, and saved as a named profile (JSON) for next month's file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from gridgeo.errors import InputError, SchemaError, Tr
from gridgeo.io.validate import misspelt_header
from gridgeo.schema import CASES

__all__ = ["FIELDS", "REQUIRED", "suggest_mapping", "check_mapping", "parse_map_args", "save_profile",
           "load_profile", "list_profiles", "default_profiles_dir"]

#: every case field an export column can feed, in the order the mapping step shows them
FIELDS: tuple[str, ...] = tuple(f.name for f in CASES.fields)
REQUIRED: tuple[str, ...] = CASES.required
_PROFILE_NAME = re.compile(r"^[\w\u4e00-\u9fff .()（）-]{1,60}$")


def suggest_mapping(columns: list[str]) -> dict[str, str]:
    """Map each case field to the first column whose header is one of its accepted names.

    The canonical name wins over aliases; a column feeds at most one field.
    """
    norm = {str(c).strip().lower(): str(c) for c in reversed(columns)}
    out: dict[str, str] = {}
    used: set[str] = set()
    for spec in CASES.fields:
        for alias in (spec.name, *spec.aliases):
            col = norm.get(alias.strip().lower())
            if col is not None and col not in used:
                out[spec.name] = col
                used.add(col)
                break
    if "lon" in out and "lat" in out:
        out.pop("location", None)
    return out


def check_mapping(mapping: dict[str, str], columns: list[str], *, path: str | None = None) -> dict[str, str]:
    """Return ``mapping`` without blank entries, or raise naming unknown fields, absent columns, missing ids."""
    clean = {k: v for k, v in mapping.items() if v}
    unknown = sorted(set(clean) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown case field(s) {', '.join(unknown)}", path=path, value=", ".join(unknown),
                         code="err.cases.unknown_field", remedy=f"map columns to: {', '.join(FIELDS)}",
                         fields=", ".join(FIELDS))
    absent = sorted({v for v in clean.values() if v not in columns})
    if absent:
        raise InputError(f"column(s) {', '.join(absent)} not in the file; columns: {', '.join(columns)}",
                         path=path, value=", ".join(absent), code="err.cases.no_column",
                         remedy="use a header exactly as it appears in the file", columns=", ".join(columns))
    missing = [f for f in REQUIRED if f not in clean]
    free = [c for c in columns if c not in clean.values()]
    guesses = {m: g for m in missing if (g := misspelt_header(free, (m, *CASES.field(m).aliases))) is not None}
    if len(missing) == 1 and guesses:
        m, guess = missing[0], guesses[missing[0]]
        raise SchemaError(f"no column for {m}; is the header {guess!r} a misspelling of one of its names "
                          f"({', '.join(CASES.field(m).aliases[:6])} …)?", path=path,
                          code="err.cases.missing_field_typo", guess=guess, names=(Tr(f"cases.fieldname.{m}"),),
                          remedy=f"choose the column {guess!r} for {m} (--map {m}={guess}) or correct the header",
                          columns=", ".join(columns))
    if missing:
        hints = "; ".join(f"{m} (accepted headers: {', '.join(CASES.field(m).aliases[:6])} …)" for m in missing)
        raise SchemaError(f"no column for {hints}; found columns: {', '.join(columns)}", path=path,
                          code="err.cases.missing_field",
                          remedy="map a column to it (--map case_id=工单编号) or rename the header",
                          columns=", ".join(columns), names=tuple(Tr(f"cases.fieldname.{m}") for m in missing))
    return clean


def parse_map_args(items: list[str]) -> dict[str, str]:
    """``["case_id=工单编号", …]`` -> dict; raise on an item without ``=``."""
    out: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip():
            raise InputError("--map expects FIELD=COLUMN", value=item, code="err.cases.bad_map_arg",
                             remedy="write e.g. --map created_at=受理时间")
        out[field.strip()] = column.strip()
    return out


def default_profiles_dir() -> Path:
    """Where the page and the CLI keep mapping profiles: ``$GRIDGEO_CASE_PROFILES`` or ``~/.gridgeo/case_profiles``."""
    return Path(os.environ.get("GRIDGEO_CASE_PROFILES") or Path.home() / ".gridgeo" / "case_profiles")


def _profile_path(folder: str | Path, name: str) -> Path:
    if not _PROFILE_NAME.match(name):
        raise InputError("profile names use letters, digits, Chinese, spaces, - . ( )", value=name,
                         code="err.cases.bad_profile_name", remedy="choose a name such as 12345-月报")
    return Path(folder) / f"{name}.json"


def save_profile(folder: str | Path, name: str, mapping: dict[str, str], *, coords: str = "wgs84",
                 sheet: str | None = None) -> Path:
    """Write a named mapping profile ``folder/name.json``; return its path."""
    path = _profile_path(folder, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"name": name, "mapping": {k: v for k, v in mapping.items() if v}, "coords": coords, "sheet": sheet}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def load_profile(folder: str | Path, name: str) -> dict[str, Any]:
    """Read a profile: ``{"name", "mapping", "coords", "sheet"}``."""
    path = _profile_path(folder, name)
    if not path.is_file():
        known = ", ".join(list_profiles(folder)) or "none yet"
        raise InputError(f"no mapping profile named {name!r} (profiles: {known})", path=path, value=name,
                         code="err.cases.no_profile", remedy="save the mapping first, or choose a listed profile",
                         profiles=known)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"is not valid JSON ({exc})", path=path, code="err.cases.bad_profile",
                         remedy="delete the profile and save the mapping again") from exc
    if not isinstance(data, dict) or not isinstance(data.get("mapping"), dict):
        raise InputError("holds no mapping", path=path, code="err.cases.bad_profile",
                         remedy="delete the profile and save the mapping again")
    return data


def list_profiles(folder: str | Path) -> list[str]:
    """Names of the saved profiles, sorted."""
    p = Path(folder)
    return sorted(f.stem for f in p.glob("*.json")) if p.is_dir() else []
