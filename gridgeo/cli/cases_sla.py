"""``cases sla``: deadlines, yellow/red cards and KPIs of a cases table (issue 19)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from gridgeo import sla
from gridgeo.errors import InputError
from gridgeo.i18n import t
from gridgeo.sla.output import write_outputs


def _as_of(text: str) -> str:
    if pd.isna(pd.to_datetime(text, errors="coerce")):
        raise InputError("the as-of date is not a date", value=text, code="err.sla.as_of",
                         remedy="write it as 2026-12-31")
    return text


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.1%}"


def _cmd_sla(args: argparse.Namespace) -> int:
    as_of = _as_of(args.as_of)
    rules = sla.load_rules(args.rules)
    notices = [sla.read_holidays(p) for p in args.holidays or []]
    calendar = sla.work_calendar(notices)
    cases = sla.read_sla_cases(args.cases, sla.parse_mapping(args.map))
    result = sla.check(cases, rules, calendar, as_of, sign_hours=args.sign_hours)
    paths = write_outputs(result, args.out)
    k = result.kpis().iloc[0]
    print(t("sla.cli.summary", args.lang, n=len(cases), as_of=result.as_of, on_time=_pct(k["on_time_rate"]),
            done=_pct(k["completion_rate"]), red=int(k["red"]), yellow=int(k["yellow"]),
            no_rule=int(k["no_rule"]), weekends=int(k["weekends_only"]), out=Path(paths[0]).parent))
    years = result.unknown_years
    if years:
        print(t("sla.unknown_years", args.lang, years="、".join(map(str, years))))
    if k["no_rule"]:
        print(t("sla.no_rule", args.lang, n=int(k["no_rule"])) + " — " + t("sla.no_rule_help", args.lang))
    return 0


def register(cases_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sla`` to the ``cases`` command group."""
    p = cases_sub.add_parser("sla", help="deadlines, yellow/red cards and KPIs (按时办结率, 办结率, 满意率, 三率)")
    p.add_argument("--cases", required=True, help="cases.csv from `cases import`, or a raw export (CSV/XLSX)")
    p.add_argument("--rules", required=True, action="append",
                   help=f"a preset ({', '.join(sla.PRESETS)}) or a rule file (CSV/XLSX, Chinese headers); "
                        "give it twice to extend a preset with your file (the later one wins)")
    p.add_argument("--holidays", action="append",
                   help="State Council holiday notice for a year chinese-calendar does not know (日期,类型 休/班); "
                        "repeatable. Without it such years count weekends only, and the output says so")
    p.add_argument("--as-of", required=True, help="date the states are computed for (end of that day)")
    p.add_argument("--out", required=True, help="folder for sla_cases.csv, sla_kpis.csv, sla_ranking.csv")
    p.add_argument("--map", action="append", metavar="FIELD=COLUMN",
                   help="the column of a field in a raw export, e.g. --map created_at=来电时间 (repeatable)")
    p.add_argument("--sign-hours", type=float, default=24.0,
                   help="sign-for limit for the timely sign-for rate (hours; only with a 签收时间 column)")
    p.set_defaults(func=_cmd_sla)
