"""Per-case deadlines and states as of a date, vectorised over all cases.

The day of receipt is not counted (期间开始之日不计算在内): a limit of N
working days ends at the end of the N-th working day after it; N = 0 means
the same day (当日). Hour limits run on the clock from the time of receipt.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from gridgeo.sla.calendar import WorkCalendar
from gridgeo.sla.rules import RuleSet, match

TZ = "Asia/Shanghai"
#: states a case can be in, as of a date
STATES = ("on_time", "late", "open", "yellow", "red", "no_rule", "not_received")
_NS_DAY = np.int64(86_400_000_000_000)
_NS_HOUR = np.int64(3_600_000_000_000)
_NAT = np.iinfo(np.int64).min


#: China has kept UTC+8 without daylight saving since 1992; earlier instants take pandas' slow exact path
_FIXED_FROM = np.datetime64("1992-01-01", "ns").astype(np.int64)
_OFFSET = np.int64(8) * _NS_HOUR


def _local_ns(times: pd.Series) -> np.ndarray:
    """Local wall-clock nanoseconds (Asia/Shanghai), NaT as int64 min."""
    s = times
    if getattr(s.dt, "tz", None) is None:
        return s.to_numpy(dtype="datetime64[ns]").astype(np.int64)  # type: ignore[no-any-return]
    utc = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    valid = utc != _NAT
    if (utc[valid] < _FIXED_FROM).any():
        exact = s.dt.tz_convert(TZ).dt.tz_localize(None)
        return exact.to_numpy(dtype="datetime64[ns]").astype(np.int64)  # type: ignore[no-any-return]
    out: np.ndarray = np.where(valid, utc + _OFFSET, _NAT)
    return out


def _to_ts(ns: np.ndarray, index: pd.Index) -> pd.Series:
    valid = ns != _NAT
    if (ns[valid] < _FIXED_FROM).any():
        return pd.Series(pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize(TZ), index=index)
    utc = np.where(valid, ns - _OFFSET, _NAT).astype("datetime64[ns]")
    return pd.Series(pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(TZ), index=index)


def as_of_day(as_of: str | dt.date | pd.Timestamp) -> np.datetime64:
    """The date the states are computed for (at the end of that day)."""
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(TZ).tz_localize(None)
    return np.datetime64(stamp.date(), "D")


def _day_end(days: np.ndarray) -> np.ndarray:
    """The last nanosecond of each day (local wall clock, int64)."""
    out: np.ndarray = (days + 1).astype("datetime64[ns]").astype(np.int64) - 1
    return out


def evaluate(cases: pd.DataFrame, rules: RuleSet, calendar: WorkCalendar,
             as_of: str | dt.date | pd.Timestamp) -> pd.DataFrame:
    """Deadline, extended deadline, working days taken and state of every case at the end of ``as_of``.

    Parameters
    ----------
    cases
        Typed cases (``reader.read_sla_cases``): ``created_at``, ``closed_at``,
        ``channel``, ``category``, ``request_type``, ``urgent``, optionally ``extended``.

    Returns
    -------
    DataFrame indexed like ``cases`` with ``rule_id``, ``limit``, ``unit``,
    ``extension``, ``deadline``, ``extended_deadline``, ``closed`` (as of the
    date), ``working_days_taken``, ``working_days_left`` (open cases),
    ``state`` (one of ``STATES``) and ``calendar`` (``official`` or
    ``weekends_only``: whether every day from receipt to the deadline or the
    closing / as-of date has an official calendar).
    """
    n = len(cases)
    day = as_of_day(as_of)
    as_of_end = (day + 1).astype("datetime64[ns]").astype(np.int64) - 1
    created = _local_ns(cases["created_at"])
    closed_raw = _local_ns(cases["closed_at"])
    has_closed = closed_raw != _NAT
    received = created <= as_of_end
    closed = has_closed & (closed_raw <= as_of_end)
    receipt_day = (created // _NS_DAY).astype("datetime64[D]")
    closed_day = np.where(closed, closed_raw, as_of_end) // _NS_DAY
    end_day = closed_day.astype("datetime64[D]")

    table = rules.rules
    pos = match(rules, cases["channel"], cases["category"], cases.get("request_type", pd.Series("", index=cases.index)),
                cases["urgent"])
    covered = pos >= 0
    take = np.where(covered, pos, 0)
    limit = table["limit"].to_numpy(dtype=np.int64)[take]
    ext = table["extension"].to_numpy(dtype=np.int64)[take]
    yellow = table["yellow"].to_numpy(dtype=np.int64)[take]
    hours = (table["unit"].to_numpy() == "hours")[take]
    extended = np.zeros(n, dtype=bool)
    if "extended" in cases:
        extended = cases["extended"].fillna(False).to_numpy(dtype=bool) & (ext > 0)

    # working-day limits: the end of the N-th working day after receipt
    d_base = calendar.add_working_days(receipt_day, limit)
    d_ext = calendar.add_working_days(receipt_day, limit + ext)
    d_eff = np.where(extended, d_ext, d_base)
    # hour limits: on the clock
    h_base = created + limit * _NS_HOUR
    h_ext = created + (limit + ext) * _NS_HOUR
    base_ns = np.where(hours, h_base, _day_end(d_base))
    ext_ns = np.where(hours, h_ext, _day_end(d_ext))
    eff_ns = np.where(extended, ext_ns, base_ns)

    taken = calendar.working_days_between(receipt_day, end_day)
    left_days = calendar.working_days_between(np.full(n, day), d_eff)
    left_hours = (eff_ns - as_of_end) / _NS_HOUR
    overdue = as_of_end > eff_ns
    warn = np.where(hours, left_hours <= yellow, left_days <= yellow)

    code = {name: np.int8(i) for i, name in enumerate(STATES)}
    state = np.full(n, code["open"], dtype=np.int8)
    state[~closed & warn] = code["yellow"]
    state[~closed & overdue] = code["red"]
    state[closed] = np.where(closed_raw[closed] <= eff_ns[closed], code["on_time"], code["late"])
    state[~covered] = code["no_rule"]
    state[~received] = code["not_received"]

    span_end = np.where(covered, np.maximum(end_day, (eff_ns // _NS_DAY).astype("datetime64[D]")), end_day)
    span_end = np.where(received, span_end, receipt_day)
    unknown = calendar.touches_unknown(receipt_day, span_end)

    rule_ids = [*table["rule_id"].astype(str), ""]
    units = ["working_days", "hours", ""]
    none = len(rule_ids) - 1
    out = pd.DataFrame(index=cases.index)
    out["rule_id"] = pd.Categorical.from_codes(np.where(covered, take, none), categories=rule_ids)
    out["limit"] = pd.array(limit, dtype="Int64")
    out["unit"] = pd.Categorical.from_codes(np.where(covered, hours.astype(np.int64), 2), categories=units)
    out["extension"] = pd.array(ext, dtype="Int64")
    out["deadline"] = _to_ts(np.where(covered, base_ns, _NAT), cases.index)
    out["extended_deadline"] = _to_ts(np.where(covered & extended, ext_ns, _NAT), cases.index)
    out["closed"] = closed
    out["working_days_taken"] = pd.array(taken, dtype="Int64")
    left = np.where(hours, np.floor(left_hours / 24).astype(np.int64), left_days)
    out["working_days_left"] = pd.array(left, dtype="Int64")
    out["hours_taken"] = np.where(received, (np.where(closed, closed_raw, as_of_end) - created) / _NS_HOUR, np.nan)
    out["state"] = pd.Categorical.from_codes(state, categories=list(STATES))
    out["calendar"] = pd.Categorical.from_codes(unknown.astype(np.int8), categories=["official", "weekends_only"])
    # blanks where a figure does not apply (masks on the numpy arrays: no per-row assignment)
    for col, mask in (("limit", ~covered), ("extension", ~covered), ("working_days_taken", ~received),
                      ("working_days_left", ~(covered & received & ~closed & ~overdue))):
        arr = out[col].array.copy()
        arr[mask] = pd.NA
        out[col] = arr
    return out
