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

from gridgeo.sla.compute import STATES

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


def _categorical(values: pd.Series, keep: np.ndarray) -> pd.Categorical:
    """Factorize once: every KPI level is then an integer code (bincount, not string groupby).

    A blank or missing value becomes "—" (cases without a grid, a department …).
    """
    codes, uniques = values.factorize(use_na_sentinel=False)
    labels = [("—" if pd.isna(u) or str(u) == "" else str(u)) for u in uniques]
    names = sorted(set(labels))
    where = {name: i for i, name in enumerate(names)}
    remap = np.array([where[x] for x in labels], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes[keep]] if len(remap) else codes[keep], categories=names)


def case_table(cases: pd.DataFrame, evaluated: pd.DataFrame, *, sign_hours: float = 24.0,
               patrol_words: Sequence[str] = PATROL_WORDS) -> pd.DataFrame:
    """One row per received case: level codes (categorical) and the 0/1 columns the KPIs sum (no per-case loop)."""
    keep = (evaluated["state"] != "not_received").to_numpy()
    created = cases["created_at"]
    if getattr(created.dt, "tz", None) is not None:
        created = created.dt.tz_convert(TZ).dt.tz_localize(None)
    months = created.to_numpy(dtype="datetime64[ns]")[keep].astype("datetime64[M]")
    m_codes, m_uniques = pd.factorize(months.astype(np.int64), sort=True)
    t = pd.DataFrame(index=evaluated.index[keep])
    for level in ("grid_id", "community_id", "department"):
        t[level] = _categorical(cases[level] if level in cases else pd.Series("", index=cases.index), keep)
    t["month"] = pd.Categorical.from_codes(m_codes, categories=np.datetime_as_string(
        np.asarray(m_uniques, dtype=np.int64).astype("datetime64[M]"), unit="M"))
    t["channel"] = _categorical(cases["channel"], keep)
    ev = evaluated[["state", "closed", "working_days_taken", "calendar"]][keep]
    if not isinstance(ev["state"].dtype, pd.CategoricalDtype):
        ev = ev.assign(state=pd.Categorical(ev["state"], categories=list(STATES)))
    cs = cases[[c for c in ("satisfied", "met", "responded_at", "signed_at", "created_at") if c in cases]][keep]
    code = ev["state"].cat.codes.to_numpy()
    names = list(ev["state"].cat.categories)

    def is_(*wanted: str) -> np.ndarray:
        return np.isin(code, [names.index(w) for w in wanted])
    t["received"] = np.ones(len(t), dtype=np.int64)
    t["closed"] = ev["closed"].to_numpy(dtype=np.int64)
    t["on_time"] = is_("on_time").astype(np.int64)
    t["due"] = is_("on_time", "late", "red").astype(np.int64)
    t["open"] = is_("open", "yellow", "red").astype(np.int64)
    t["yellow"] = is_("yellow").astype(np.int64)
    t["red"] = is_("red").astype(np.int64)
    t["no_rule"] = is_("no_rule").astype(np.int64)
    closed = ev["closed"].to_numpy(dtype=bool)
    if "satisfied" in cs:
        sat = cs["satisfied"].astype("boolean")
        asked = sat.notna().to_numpy() & closed
        t["satisfaction_n"] = asked.astype(np.int64)
        t["satisfied"] = (sat.fillna(False).to_numpy(dtype=bool) & asked).astype(np.int64)
    else:
        t["satisfaction_n"] = 0
        t["satisfied"] = 0
    chan = pd.Series(t["channel"].cat.categories.astype(str)).str.lower()
    patrol_cat = np.zeros(len(chan), dtype=bool)
    for word in patrol_words:
        patrol_cat |= chan.str.contains(word.lower(), regex=False).to_numpy()
    t["patrol"] = patrol_cat[t["channel"].cat.codes.to_numpy()].astype(np.int64)
    t["wd_closed"] = np.where(closed, ev["working_days_taken"].to_numpy(dtype=float, na_value=np.nan), np.nan)
    t["weekends_only"] = (ev["calendar"].to_numpy() == "weekends_only").astype(np.int64)
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


_SUMS = ("received", "closed", "due", "on_time", "open", "yellow", "red", "no_rule", "satisfaction_n", "satisfied",
         "patrol", "weekends_only", "met_n", "met", "sign_n", "signed")


def _codes(table: pd.DataFrame, by: str) -> tuple[np.ndarray, pd.Index]:
    if by == "all":
        return np.zeros(len(table), dtype=np.int64), pd.Index(["all"])
    cat = table[by].cat
    return cat.codes.to_numpy().astype(np.int64), pd.Index(cat.categories.astype(str))


def _aggregate(table: pd.DataFrame, codes: np.ndarray, n: int, weights: ThreeRateWeights) -> pd.DataFrame:
    """KPIs per integer code 0..n-1 (rows with no case dropped by the callers)."""
    s = {c: np.bincount(codes, weights=table[c].to_numpy(dtype=float), minlength=n)
         for c in _SUMS if c in table}
    out = pd.DataFrame(index=np.arange(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["received"] = s["received"].astype(np.int64)
        out["closed"] = s["closed"].astype(np.int64)
        out["completion_rate"] = s["closed"] / s["received"]
        out["due"] = s["due"].astype(np.int64)
        out["on_time"] = s["on_time"].astype(np.int64)
        out["on_time_rate"] = np.where(s["due"] > 0, s["on_time"] / s["due"], np.nan)
        for c in ("open", "yellow", "red", "no_rule"):
            out[c] = s[c].astype(np.int64)
        out["satisfaction_rate"] = np.where(s["satisfaction_n"] > 0, s["satisfied"] / s["satisfaction_n"], np.nan)
        out["satisfaction_n"] = s["satisfaction_n"].astype(np.int64)
        out["patrol_share"] = s["patrol"] / s["received"]
        out["median_working_days"], out["p90_working_days"] = _quantiles(table["wd_closed"].to_numpy(), codes, n,
                                                                         (0.5, 0.9))
        out["met_rate"] = np.where(s["met_n"] > 0, s["met"] / s["met_n"], np.nan) if "met" in s else np.nan
        out["timely_sign_rate"] = (np.where(s["sign_n"] > 0, s["signed"] / s["sign_n"], np.nan)
                                   if "signed" in s else np.nan)
    w_met, w_done, w_sat = weights.normalised()
    out["three_rate"] = w_met * out["met_rate"] + w_done * out["completion_rate"] + w_sat * out["satisfaction_rate"]
    out["weekends_only"] = s["weekends_only"].astype(np.int64)
    return out


def _quantiles(values: np.ndarray, codes: np.ndarray, n: int,
               qs: Sequence[float]) -> tuple[np.ndarray, ...]:
    """Per-group quantiles (linear interpolation, as pandas/numpy) of whole-number values, NaN ignored.

    Working days are small whole numbers, so a histogram per group (one
    ``bincount``) gives the order statistics without sorting a million rows.
    """
    has = ~np.isnan(values)
    v, c = values[has].astype(np.int64), codes[has]
    if len(v) == 0:
        return tuple(np.full(n, np.nan) for _ in qs)
    lo_v, width = int(v.min()), int(v.max() - v.min()) + 1
    if n * width > 20_000_000 or (v < 0).any():   # too wide for a histogram: sort instead
        grouped = pd.Series(values[has]).groupby(c)
        return tuple(grouped.quantile(q).reindex(np.arange(n)).to_numpy() for q in qs)
    hist = np.bincount(c * width + (v - lo_v), minlength=n * width)
    cum = np.cumsum(hist)
    sizes = np.bincount(c, minlength=n)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))

    def at_rank(rank: np.ndarray) -> np.ndarray:
        """The value of 0-based ``rank`` in each group (groups with values only)."""
        flat = np.searchsorted(cum, starts + rank, side="right")
        return (flat - np.arange(n) * width + lo_v).astype(float)  # type: ignore[no-any-return]

    out = []
    for q in qs:
        h = (np.maximum(sizes, 1) - 1) * q
        lo, hi = np.floor(h).astype(np.int64), np.ceil(h).astype(np.int64)
        a, b = at_rank(lo), at_rank(hi)
        out.append(np.where(sizes > 0, a + (h - lo) * (b - a), np.nan))
    return tuple(out)


def kpis(table: pd.DataFrame, by: str = "all", *,
         weights: ThreeRateWeights = ThreeRateWeights()) -> pd.DataFrame:
    """KPIs of ``case_table`` rows per ``by`` (``all``, ``grid_id``, ``community_id``, ``department``, ``month``)."""
    codes, labels = _codes(table, by)
    out = _aggregate(table, codes, len(labels), weights)
    out.index = labels.rename(by if by != "all" else "key")
    return out[out["received"] > 0]


def channel_counts(table: pd.DataFrame, by: str = "all") -> pd.DataFrame:
    """Cases per channel (columns) per ``by`` (rows)."""
    codes, labels = _codes(table, by)
    chan = table["channel"].cat
    n_ch = len(chan.categories)
    flat = np.bincount(codes * n_ch + chan.codes.to_numpy().astype(np.int64), minlength=len(labels) * n_ch)
    out = pd.DataFrame(flat.reshape(len(labels), n_ch), index=labels.rename(by if by != "all" else "key"),
                       columns=[str(c) for c in chan.categories])
    return out[(out.sum(axis=1) > 0).to_numpy()].loc[:, (out.sum(axis=0) > 0).to_numpy()]


def all_kpis(table: pd.DataFrame, *, weights: ThreeRateWeights = ThreeRateWeights(),
             levels: Sequence[str] = LEVELS) -> pd.DataFrame:
    """KPIs of every level stacked: columns ``level``, ``key``, the KPIs, then ``channel:<name>`` counts."""
    parts = []
    for level in levels:
        if level in ("grid_id", "community_id", "department") and list(table[level].cat.categories) in ([], ["—"]):
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


def ranking(table: pd.DataFrame, by: str, *, min_due: int = 5,
            weights: ThreeRateWeights = ThreeRateWeights()) -> pd.DataFrame:
    """Monthly 红黑榜 of ``by`` (``grid_id`` or ``department``): every unit with at least ``min_due`` due cases.

    Ranked per month by on-time completion rate, then satisfaction, then
    completion (best first); ``rank`` 1 heads the red list (红榜), the last
    ranks make the black list (黑榜).
    """
    m_codes, months = _codes(table, "month")
    u_codes, units = _codes(table, by)
    n_u = len(units)
    agg = _aggregate(table, m_codes * n_u + u_codes, len(months) * n_u, weights)
    agg.insert(0, "key", np.tile(units.to_numpy(), len(months)))
    agg.insert(0, "month", np.repeat(months.to_numpy(), n_u))
    agg = agg[(agg["received"] > 0) & (agg["due"] >= min_due) & (agg["key"] != "—")]
    agg = agg.sort_values(["month", "on_time_rate", "satisfaction_rate", "completion_rate"],
                          ascending=[True, False, False, False], na_position="last", kind="stable")
    agg.insert(1, "rank", agg.groupby("month").cumcount().to_numpy() + 1)
    return agg.reset_index(drop=True)[["month", "rank", "key", *KPI_COLUMNS]]
