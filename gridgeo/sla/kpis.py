"""KPIs per grid, community, department and month; the 三率; monthly 红黑榜.

Definitions (every rate is a share of cases received by the as-of date):

- 办结率 completion = closed / received.
- 按时办结率 on-time completion = closed within the limit / due, where due =
  closed cases with a rule + open cases past their deadline (red cards): an
  overdue open case counts against the rate, a case still within its limit
  does not count yet. Cases without a rule are left out and counted.
- 满意率 satisfaction = satisfied / follow-ups recorded (blank = not asked).
- patrol share = cases whose channel names a grid patrol (巡查) / received.
- 当事人见面率 = ``met`` yes / recorded (or, without ``met``, a response time
  recorded / received); 及时签收率 = signed within ``sign_hours`` / received.
- 三率 = weighted mean of 见面率, 办结率 and 满意率, only where all three exist;
  otherwise NaN ("not available"), never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

TZ = "Asia/Shanghai"
LEVELS = ("all", "grid_id", "community_id", "department", "month")
PATROL_WORDS = ("巡查", "patrol", "网格员")
KPI_COLUMNS = ("received", "closed", "completion_rate", "due", "on_time", "on_time_rate", "open", "yellow",
               "red", "no_rule", "satisfaction_rate", "satisfaction_n", "patrol_share", "median_working_days",
               "p90_working_days", "met_rate", "timely_sign_rate", "three_rate", "weekends_only")


@dataclass(frozen=True)
class ThreeRateWeights:
    """Weights of the 三率 score (见面率, 办结率, 满意率); normalised to sum 1."""

    met: float = 1 / 3
    completion: float = 1 / 3
    satisfaction: float = 1 / 3

    def normalised(self) -> tuple[float, float, float]:
        total = self.met + self.completion + self.satisfaction
        if total <= 0:
            raise ValueError("三率 weights must not all be zero")
        return self.met / total, self.completion / total, self.satisfaction / total


def case_table(cases: pd.DataFrame, evaluated: pd.DataFrame, *, sign_hours: float = 24.0,
               patrol_words: Sequence[str] = PATROL_WORDS) -> pd.DataFrame:
    """One row per received case with the 0/1 columns the KPIs sum (numpy, no per-case loop)."""
    keep = (evaluated["state"] != "not_received").to_numpy()
    ev = evaluated[keep]
    cs = cases[keep]
    state = ev["state"].to_numpy()
    created = cs["created_at"]
    if getattr(created.dt, "tz", None) is not None:
        created = created.dt.tz_convert(TZ).dt.tz_localize(None)
    t = pd.DataFrame(index=ev.index)
    for level in ("grid_id", "community_id", "department"):
        t[level] = cs[level].fillna("").astype(str).to_numpy() if level in cs else ""
    t["month"] = created.dt.strftime("%Y-%m").to_numpy()
    t["channel"] = cs["channel"].fillna("").astype(str).to_numpy()
    t["received"] = 1
    t["closed"] = ev["closed"].to_numpy(dtype=np.int64)
    t["on_time"] = (state == "on_time").astype(np.int64)
    t["due"] = np.isin(state, ("on_time", "late", "red")).astype(np.int64)
    t["open"] = np.isin(state, ("open", "yellow", "red")).astype(np.int64)
    t["yellow"] = (state == "yellow").astype(np.int64)
    t["red"] = (state == "red").astype(np.int64)
    t["no_rule"] = (state == "no_rule").astype(np.int64)
    sat = cs["satisfied"] if "satisfied" in cs else pd.Series(pd.NA, index=cs.index, dtype="boolean")
    sat = sat.astype("boolean").where(ev["closed"].to_numpy())
    t["satisfaction_n"] = sat.notna().to_numpy(dtype=np.int64)
    t["satisfied"] = sat.fillna(False).to_numpy(dtype=np.int64)
    chan = t["channel"].str.lower()
    patrol = np.zeros(len(t), dtype=bool)
    for word in patrol_words:
        patrol |= chan.str.contains(word.lower(), regex=False).to_numpy()
    t["patrol"] = patrol.astype(np.int64)
    t["wd_closed"] = np.where(ev["closed"].to_numpy(), ev["working_days_taken"].to_numpy(dtype=float,
                                                                                         na_value=np.nan), np.nan)
    t["weekends_only"] = (ev["calendar"] == "weekends_only").to_numpy(dtype=np.int64)
    if "met" in cs:
        met = cs["met"].astype("boolean")
        t["met_n"] = met.notna().to_numpy(dtype=np.int64)
        t["met"] = met.fillna(False).to_numpy(dtype=np.int64)
    elif "responded_at" in cs:
        t["met_n"] = 1
        t["met"] = cs["responded_at"].notna().to_numpy(dtype=np.int64)
    if "signed_at" in cs:
        lag = (cs["signed_at"] - cs["created_at"]).dt.total_seconds() / 3600
        t["sign_n"] = 1
        t["signed"] = (lag <= sign_hours).fillna(False).to_numpy(dtype=np.int64)
    return t


def kpis(table: pd.DataFrame, by: str = "all", *,
         weights: ThreeRateWeights = ThreeRateWeights()) -> pd.DataFrame:
    """KPIs of ``case_table`` rows per ``by`` (``all``, ``grid_id``, ``community_id``, ``department``, ``month``)."""
    key = pd.Series("all", index=table.index) if by == "all" else table[by].replace("", "—")
    sums_cols = ["received", "closed", "due", "on_time", "open", "yellow", "red", "no_rule", "satisfaction_n",
                 "satisfied", "patrol", "weekends_only"]
    extra = [c for c in ("met_n", "met", "sign_n", "signed") if c in table]
    g = table[sums_cols + extra].groupby(key.to_numpy(), sort=True)
    s = g.sum()
    wd = table["wd_closed"].groupby(key.to_numpy(), sort=True)
    out = pd.DataFrame(index=s.index.rename(by if by != "all" else "key"))
    out["received"] = s["received"]
    out["closed"] = s["closed"]
    out["completion_rate"] = s["closed"] / s["received"]
    out["due"] = s["due"]
    out["on_time"] = s["on_time"]
    out["on_time_rate"] = (s["on_time"] / s["due"]).where(s["due"] > 0)
    for c in ("open", "yellow", "red", "no_rule"):
        out[c] = s[c]
    out["satisfaction_rate"] = (s["satisfied"] / s["satisfaction_n"]).where(s["satisfaction_n"] > 0)
    out["satisfaction_n"] = s["satisfaction_n"]
    out["patrol_share"] = s["patrol"] / s["received"]
    out["median_working_days"] = wd.median()
    out["p90_working_days"] = wd.quantile(0.9)
    out["met_rate"] = (s["met"] / s["met_n"]).where(s["met_n"] > 0) if "met" in s else np.nan
    out["timely_sign_rate"] = (s["signed"] / s["sign_n"]).where(s["sign_n"] > 0) if "signed" in s else np.nan
    w_met, w_done, w_sat = weights.normalised()
    out["three_rate"] = w_met * out["met_rate"] + w_done * out["completion_rate"] + w_sat * out["satisfaction_rate"]
    out["weekends_only"] = s["weekends_only"]
    return out


def channel_counts(table: pd.DataFrame, by: str = "all") -> pd.DataFrame:
    """Cases per channel (columns) per ``by`` (rows)."""
    key = pd.Series("all", index=table.index) if by == "all" else table[by].replace("", "—")
    counts = pd.crosstab(key.to_numpy(), table["channel"].replace("", "—").to_numpy())
    counts.index.name = by if by != "all" else "key"
    counts.columns.name = None
    return counts


def all_kpis(table: pd.DataFrame, *, weights: ThreeRateWeights = ThreeRateWeights(),
             levels: Sequence[str] = LEVELS) -> pd.DataFrame:
    """KPIs of every level stacked: columns ``level``, ``key``, the KPIs, then ``channel:<name>`` counts."""
    parts = []
    for level in levels:
        if level in ("grid_id", "community_id", "department") and (table[level] == "").all():
            continue   # the file has no such column: no level of one "—" row
        k = kpis(table, level, weights=weights)
        ch = channel_counts(table, level).add_prefix("channel:")
        k = k.join(ch).fillna({c: 0 for c in ch.columns})
        k.index.name = "key"
        parts.append(k.reset_index().assign(level=level))
    out = pd.concat(parts, ignore_index=True)
    cols = ["level", "key", *[c for c in out.columns if c not in ("level", "key")]]
    return out[cols]


def monthly_trend(table: pd.DataFrame) -> pd.DataFrame:
    """On-time, completion and satisfaction rates per month (receipt month)."""
    return kpis(table, "month")[["received", "on_time_rate", "completion_rate", "satisfaction_rate", "red",
                                 "weekends_only"]]


def ranking(table: pd.DataFrame, by: str, *, min_due: int = 5) -> pd.DataFrame:
    """Monthly 红黑榜 of ``by`` (``grid_id`` or ``department``): every unit with at least ``min_due`` due cases.

    Ranked per month by on-time completion rate, then satisfaction, then
    completion (best first); ``rank`` 1 heads the red list (红榜), the last
    ranks make the black list (黑榜).
    """
    rows = []
    for month, part in table.groupby("month", sort=True):
        k = kpis(part, by)
        k = k[(k["due"] >= min_due) & (k.index != "—")]
        k = k.sort_values(["on_time_rate", "satisfaction_rate", "completion_rate"], ascending=False,
                          na_position="last", kind="stable")
        k.index.name = "key"
        k = k.reset_index()
        k.insert(0, "rank", np.arange(1, len(k) + 1))
        k.insert(0, "month", month)
        rows.append(k)
    cols = ["month", "rank", "key", *KPI_COLUMNS]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]
