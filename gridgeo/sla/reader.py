"""Read a cases table for the time-limit check: ``cases import``'s cases.csv or a raw platform export.

Coordinates are not needed here (a case without them is judged like any
other). Headers are the English field names or accepted Chinese ones;
``mapping`` ({field: column}, the CLI's ``--map FIELD=COLUMN``) names the
column of a field when an export uses its own header.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.errors import InputError, Problem, SchemaError, Tr, summarize
from gridgeo.grids import locate_buildings
from gridgeo.io.formats import read_raw
from gridgeo.schema import BOOL_VALUES

TZ = "Asia/Shanghai"

#: field -> accepted headers (the English name is always accepted)
CASE_ALIASES: dict[str, tuple[str, ...]] = {
    "case_id": ("工单编号", "事件编号", "工单号", "编号", "id"),
    "created_at": ("创建时间", "受理时间", "上报时间", "登记时间", "来电时间"),
    "closed_at": ("办结时间", "结案时间", "完成时间"),
    "category": ("类别", "事件类别", "诉求类别", "分类", "问题分类"),
    "request_type": ("诉求类型", "工单类型", "诉求性质", "来电类型"),
    "channel": ("渠道", "来源", "受理渠道", "事件来源"),
    "urgent": ("紧急", "是否紧急"),
    "status": ("状态", "办理状态"),
    "satisfied": ("满意", "是否满意", "满意度", "回访满意"),
    "department": ("承办部门", "责任部门", "部门", "承办单位"),
    "grid_id": ("网格编码", "网格", "网格编号", "所属网格"),
    "community_id": ("社区编码", "社区代码", "社区编号", "所属社区"),
    "extended": ("延期", "是否延期", "已延期"),
    "met": ("当事人见面", "是否见面", "见面"),
    "signed_at": ("签收时间",),
    "responded_at": ("响应时间", "首次响应时间", "联系时间"),
}
_TEXT = ("category", "request_type", "channel", "status", "department", "grid_id", "community_id")
_BOOL = ("urgent", "satisfied", "extended", "met")
_TIME = ("created_at", "closed_at", "signed_at", "responded_at")
REQUIRED = ("case_id", "created_at")


def normalise_case_headers(columns: list[str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return {column: field} for the columns that name a known field; ``mapping`` first."""
    rename: dict[str, str] = {}
    for field, column in (mapping or {}).items():
        if field not in CASE_ALIASES:
            raise InputError("unknown field in --map", value=field, code="err.sla.map_field",
                             remedy=f"use one of: {', '.join(CASE_ALIASES)}")
        if column not in columns:
            raise InputError("the mapped column is not in the file", value=column, code="err.sla.map_column",
                             field=field, remedy=f"use one of the file's headers: {', '.join(columns)}")
        rename[column] = field
    for col in columns:
        key = str(col).strip().lower()
        if col in rename:
            continue
        for field, aliases in CASE_ALIASES.items():
            if field in rename.values():
                continue
            if key == field or key in aliases:
                rename[col] = field
                break
    return rename


def read_sla_cases(path: str | Path, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read cases into a frame indexed by ``case_id`` with the SLA fields typed.

    Times become tz-aware Asia/Shanghai; yes/no columns nullable booleans (a
    blank is unknown); missing optional columns are absent (not invented).
    Every bad cell is reported at once.
    """
    raw = read_raw(path, layer_name="cases").frame
    if "geometry" in raw:
        raw = pd.DataFrame(raw.drop(columns="geometry")).astype(str)
    return clean_cases(raw, mapping=mapping, path=str(path))


def clean_cases(raw: pd.DataFrame, *, mapping: Mapping[str, str] | None = None, path: str | None = None,
                first_row: int = 2) -> pd.DataFrame:
    """Type a frame of text cells (as read from a spreadsheet) into SLA cases."""
    df = raw.rename(columns=normalise_case_headers([str(c) for c in raw.columns], mapping))
    missing = [f for f in REQUIRED if f not in df]
    if missing:
        raise SchemaError(f"missing column {', '.join(missing)}", path=path, code="err.sla.cases_columns",
                          value=", ".join(map(str, raw.columns)), columns=", ".join(missing),
                          names=tuple(Tr(f"cases.fieldname.{m}") for m in missing),
                          remedy="name the columns 工单编号 and 受理时间 (or case_id, created_at), "
                                 "or map them with --map case_id=COLUMN")
    df = df.loc[:, ~df.columns.duplicated()].reset_index(drop=True)
    rows = np.arange(len(df)) + first_row
    problems: list[Problem] = []
    out = pd.DataFrame(index=pd.Index(df["case_id"].astype(str).str.strip(), name="case_id"))
    ids = out.index.to_series()

    def report(mask: np.ndarray, message: str, code: str, column: str, remedy: str) -> None:
        for pos in np.flatnonzero(mask)[:200].tolist():
            problems.append(Problem(message, code, row=int(rows[pos]), feature_id=ids.iloc[pos] or None,
                                    value=str(df[column].iloc[pos]), remedy=remedy))

    report((ids == "").to_numpy(), "case_id is empty", "err.sla.case_id_empty", "case_id", "give every case its id")
    dup = ids.duplicated(keep=False).to_numpy() & (ids != "").to_numpy()
    report(dup, "case_id is used more than once", "err.sla.case_id_duplicate", "case_id",
           "merge repeated tickets (并单) or give each its own id")
    for field in _TEXT:
        if field in df:
            text = df[field].astype("string").str.strip().fillna("")
            out[field] = text.where(~text.str.lower().isin(["", "nan", "none", "null", "<na>"]), "").to_numpy()
    for field in _BOOL:
        if field in df:
            text = df[field].astype("string").str.strip().str.lower().fillna("")
            blank = text.isin(["", "nan", "none", "null", "<na>"])
            mapped = text.map(BOOL_VALUES)
            report((~blank & mapped.isna()).to_numpy(), f"{field} is not yes/no", f"err.sla.{field}_not_bool",
                   field, "use 是/否, true/false or 1/0")
            out[field] = pd.array(mapped.where(~blank).to_numpy(), dtype="boolean")
    for field in _TIME:
        if field in df:
            text = df[field].astype("string").str.strip().fillna("")
            blank = text.isin(["", "nan", "none", "null", "NaT"])
            parsed = pd.to_datetime(text.where(~blank, None), errors="coerce", format="mixed")
            if getattr(parsed.dt, "tz", None) is None:
                parsed = parsed.dt.tz_localize(TZ)
            else:
                parsed = parsed.dt.tz_convert(TZ)
            bad = (~blank & parsed.isna()).to_numpy().copy()
            if field == "created_at":
                bad |= blank.to_numpy()
            report(bad, f"{field} is not a date-time", f"err.sla.{field}_not_datetime", field,
                   "write it as 2026-12-28 09:30 (Beijing time)")
            out[field] = parsed.set_axis(out.index)
    if "closed_at" in out:
        early = (out["closed_at"] < out["created_at"]).fillna(False).to_numpy()
        report(early, "closed_at is earlier than created_at", "err.sla.closed_before_created", "closed_at",
               "correct the times")
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise SchemaError(summarize(problems, path), path=path, code="err.sla.cases_rows", problems=problems,
                          count=len(problems))
    for field in ("category", "request_type", "channel", "department", "grid_id", "community_id", "status"):
        if field not in out:
            out[field] = ""
    if "urgent" not in out:
        out["urgent"] = pd.array([False] * len(out), dtype="boolean")
    out["urgent"] = out["urgent"].fillna(False)
    if "closed_at" not in out:
        out["closed_at"] = pd.Series(pd.NaT, index=out.index, dtype=f"datetime64[ns, {TZ}]")
    return out


def from_layer(cases: pd.DataFrame) -> pd.DataFrame:
    """SLA cases from a frame already typed by ``gridgeo.io.read_cases`` (geometry dropped)."""
    frame = pd.DataFrame(cases.drop(columns=[c for c in ("geometry",) if c in cases]))
    frame.index = frame.index.astype(str).rename("case_id")
    for field in ("category", "request_type", "channel", "department", "grid_id", "community_id", "status"):
        frame[field] = frame[field].fillna("").astype(str) if field in frame else ""
    frame["urgent"] = frame["urgent"].astype("boolean").fillna(False) if "urgent" in frame else False
    if "closed_at" not in frame:
        frame["closed_at"] = pd.Series(pd.NaT, index=frame.index, dtype=f"datetime64[ns, {TZ}]")
    return frame


def locate_cases(cases: pd.DataFrame, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Fill ``grid_id`` and ``community_id`` of cases from their location in ``grids``.

    Cases that already name a grid keep it; cases without coordinates or
    outside every grid keep "" (they still count everywhere but per grid).
    """
    out = cases.copy()
    for col in ("grid_id", "community_id"):
        if col not in out:
            out[col] = ""
        out[col] = out[col].fillna("").astype(str)
    if isinstance(cases, gpd.GeoDataFrame) and len(grids):
        has_geom = cases.geometry.notna() & ~cases.geometry.is_empty
        found = pd.Series("", index=cases.index, dtype=object)
        if has_geom.any():
            hit = locate_buildings(gpd.GeoDataFrame(geometry=cases.geometry[has_geom], crs=cases.crs), grids)
            found.loc[hit.index] = hit.fillna("").astype(str).to_numpy()
        blank = out["grid_id"] == ""
        out.loc[blank, "grid_id"] = found[blank].to_numpy()
        if "community_id" in grids:
            comm = grids["community_id"].astype(str)
            fill = (out["community_id"] == "") & out["grid_id"].isin(comm.index)
            out.loc[fill, "community_id"] = comm.reindex(out.loc[fill, "grid_id"]).to_numpy()
    return pd.DataFrame(out.drop(columns=[c for c in ("geometry",) if c in out]))


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """Turn ``["closed_at=办结日期", …]`` into {field: column}."""
    mapping: dict[str, str] = {}
    for item in items or []:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError("--map needs FIELD=COLUMN", value=item, code="err.sla.map_syntax",
                             remedy="write for example --map created_at=来电时间")
        mapping[field.strip()] = column.strip()
    return mapping
