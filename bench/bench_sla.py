"""Benchmark response-time compliance: SLA states and KPIs for 1,000,000 cases (target < 10 s, issue 19).

Inputs are generated here (seeded, outside the timer): cases received from
2025-07 to 2027-01 (so part of them cross into 2027, which chinese-calendar does
not know), 4 channels, the hotline request types, 5% urgent, 3% extended, 1,000
grids in 100 communities, 12 departments. Timed: ``sla.check`` (rule matching,
deadlines, states, calendar flags) + KPIs at every level + both monthly 红黑榜.
Baseline: the obvious per-case Python loop over ``chinese_calendar.is_workday``
on 2,000 cases, extrapolated to the same count.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import chinese_calendar  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from gridgeo import sla  # noqa: E402

N = 1_000_000
TARGET_S = 10.0
RUNS = 3


def make_cases(n: int, seed: int = 0) -> pd.DataFrame:
    """Typed cases as ``sla.read_sla_cases`` returns them."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-07-01T00:00", "s")
    span = int((np.datetime64("2027-01-15T00:00", "s") - start).astype(np.int64))
    created = start + rng.integers(0, span, n).astype("timedelta64[s]")
    took = (rng.gamma(2.0, 2.5, n) * 86_400).astype("timedelta64[s]")
    closed = created + took
    still_open = (rng.random(n) < 0.03) | (closed > np.datetime64("2027-01-20T00:00"))
    tz = "Asia/Shanghai"
    channels = np.array(["12345热线", "网格巡查", "小程序“我有事要说”", "社区来访"], dtype=object)
    types = np.array(["咨询", "求助", "建议", "投诉", "举报"], dtype=object)
    cats = np.array(["物业管理", "占用消防通道停车", "噪音扰民", "供水排水", "环境卫生", "供暖"], dtype=object)
    depts = np.array([f"部门{i:02d}" for i in range(12)], dtype=object)
    grid = rng.integers(0, 1000, n)
    sat = pd.array(rng.random(n) < 0.92, dtype="boolean")
    sat[still_open] = pd.NA
    frame = pd.DataFrame({
        "created_at": pd.DatetimeIndex(created).tz_localize(tz),
        "closed_at": pd.DatetimeIndex(np.where(still_open, np.datetime64("NaT"), closed)).tz_localize(tz),
        "channel": channels[rng.choice(4, n, p=[.45, .3, .15, .1])],
        "request_type": types[rng.choice(5, n, p=[.3, .15, .1, .35, .1])],
        "category": cats[rng.integers(0, len(cats), n)],
        "urgent": pd.array(rng.random(n) < 0.05, dtype="boolean"),
        "extended": pd.array(rng.random(n) < 0.03, dtype="boolean"),
        "satisfied": sat,
        "department": depts[rng.integers(0, 12, n)],
        "grid_id": np.char.add("G", grid.astype(str)).astype(object),
        "community_id": np.char.add("C", (grid // 10).astype(str)).astype(object),
        "status": "",
    }, index=pd.Index([f"T{i:07d}" for i in range(n)], name="case_id"))
    return frame


def run(cases: pd.DataFrame, rules: sla.RuleSet, calendar: sla.WorkCalendar) -> tuple[float, sla.SlaResult]:
    t0 = time.perf_counter()
    result = sla.check(cases, rules, calendar, "2026-12-31")
    sla.all_kpis(result.table)
    sla.ranking(result.table, "grid_id")
    sla.ranking(result.table, "department")
    return time.perf_counter() - t0, result


def loop_baseline(cases: pd.DataFrame, limit: int = 5) -> float:
    """Seconds per case of a plain loop: walk day by day asking chinese_calendar (known years only)."""
    sample = cases[cases["created_at"].dt.year <= 2026].head(2000)
    t0 = time.perf_counter()
    for created in sample["created_at"]:
        day, left = created.date(), limit
        while left:
            day += dt.timedelta(days=1)
            if day.year > 2026:
                left -= day.weekday() < 5
            else:
                left -= chinese_calendar.is_workday(day)
    return (time.perf_counter() - t0) / len(sample)


def main() -> int:
    print(f"building {N:,} cases …", file=sys.stderr)
    cases = make_cases(N)
    calendar = sla.work_calendar()
    ok = True
    for preset in ("guangdong", "jinan"):
        rules = sla.preset(preset)
        run(cases.head(10_000), rules, calendar)          # warm up
        times = []
        result = None
        for _ in range(RUNS):
            seconds, result = run(cases, rules, calendar)
            times.append(seconds)
        assert result is not None
        states = result.states["state"].value_counts()
        weekends = int((result.states["calendar"] == "weekends_only").sum())
        med = statistics.median(times)
        per_case = loop_baseline(cases)
        loop_total = per_case * N
        passed = med < TARGET_S
        ok &= passed
        print(f"sla {preset} {N:,} cases  median {med:.2f} s  min {min(times):.2f} s  target < {TARGET_S:.0f} s  "
              f"{'PASS' if passed else 'FAIL'}  | per-case loop (chinese_calendar, extrapolated) {loop_total:.0f} s, "
              f"ratio {loop_total / med:.0f}x | states {({str(k): int(v) for k, v in states.items()})} | weekends-only {weekends:,}  "
              f"({os.cpu_count()} cpu, python {platform.python_version()}, numpy {np.__version__}, "
              f"pandas {pd.__version__}, chinese-calendar {chinese_calendar.__version__})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
