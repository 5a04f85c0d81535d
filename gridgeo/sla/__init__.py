"""Response-time compliance (办理时效): rule tables, the working-day calendar, per-case states and KPIs.

``check(cases, rules, calendar, as_of)`` is the one call the page and the CLI
make; the modules hold the parts: ``calendar`` (holidays, adjusted working
days, years not yet known), ``rules`` (presets and user rule files),
``reader`` (cases without coordinates, ``--map``), ``compute`` (deadlines and
states), ``kpis`` (rates per grid, community, department, month; 红黑榜).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from gridgeo.sla.calendar import HolidayNotice, WorkCalendar, read_holidays, work_calendar
from gridgeo.sla.compute import STATES, as_of_day, evaluate
from gridgeo.sla.kpis import (KPI_COLUMNS, LEVELS, ThreeRateWeights, all_kpis, case_table, channel_counts, kpis,
                              monthly_trend, ranking)
from gridgeo.sla.reader import clean_cases, from_layer, locate_cases, parse_mapping, read_sla_cases
from gridgeo.sla.rules import PRESETS, RuleSet, combine, load_rules, preset, read_rules

__all__ = [
    "HolidayNotice", "WorkCalendar", "read_holidays", "work_calendar", "STATES", "evaluate", "as_of_day",
    "KPI_COLUMNS", "LEVELS", "ThreeRateWeights", "all_kpis", "case_table", "channel_counts", "kpis",
    "monthly_trend", "ranking", "clean_cases", "from_layer", "locate_cases", "parse_mapping", "read_sla_cases", "PRESETS",
    "RuleSet", "combine", "load_rules", "preset", "read_rules", "SlaResult", "check",
]


@dataclass(frozen=True)
class SlaResult:
    """Everything the page and the CLI show: per-case states, the KPI table rows, the calendar used."""

    cases: pd.DataFrame        # the input cases (typed)
    states: pd.DataFrame       # compute.evaluate: deadline, state, calendar … per case
    table: pd.DataFrame        # kpis.case_table: 0/1 columns per received case
    rules: RuleSet
    calendar: WorkCalendar
    as_of: dt.date

    def kpis(self, by: str = "all", weights: ThreeRateWeights = ThreeRateWeights()) -> pd.DataFrame:
        """KPIs per ``by`` (see ``kpis.kpis``)."""
        return kpis(self.table, by, weights=weights)

    @property
    def no_rule(self) -> pd.DataFrame:
        """The cases no rule covers, with their channel, category and request type."""
        ids = self.states.index[self.states["state"] == "no_rule"]
        return self.cases.loc[ids, ["channel", "category", "request_type", "urgent", "created_at"]]

    @property
    def unknown_years(self) -> tuple[int, ...]:
        """Years the results touch that have no official calendar (weekends only were counted)."""
        mask = self.states["calendar"] == "weekends_only"
        if not mask.any():
            return ()
        created = self.cases.loc[mask, "created_at"].dt.year
        years = set(range(int(created.min()), max(int(created.max()), self.as_of.year) + 2))
        return tuple(sorted(y for y in years if not self.calendar.known(y)))


def check(cases: pd.DataFrame, rules: RuleSet, calendar: WorkCalendar, as_of: str | dt.date | pd.Timestamp,
          *, sign_hours: float = 24.0) -> SlaResult:
    """Judge every case against ``rules`` on ``calendar`` at the end of ``as_of``."""
    states = evaluate(cases, rules, calendar, as_of)
    table = case_table(cases, states, sign_hours=sign_hours)
    day = pd.Timestamp(as_of_day(as_of)).date()
    return SlaResult(cases, states, table, rules, calendar, day)
