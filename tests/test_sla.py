"""Response-time compliance: working-day arithmetic, rules, states, KPIs and the ``cases sla`` command.

Expected deadlines are counted by hand from the State Council notices (2026:
春节 holidays 2-15..2-23, working Saturdays 2-14 and 2-28; 中秋 9-25..9-27 and
国庆 10-1..10-7, working Sunday 9-20 and Saturday 10-10; 元旦 1-1..1-3,
working Sunday 1-4).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridgeo import sla
from gridgeo.cli import main
from gridgeo.errors import InputError, SchemaError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_HOLIDAYS = ROOT / "data" / "holidays_example.csv"
CAL = sla.work_calendar()


def _cases(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Type a small table the way a user's file is read."""
    frame = pd.DataFrame([{k: ("" if v is None else str(v)) for k, v in r.items()} for r in rows])
    return sla.clean_cases(frame)


def _one(row: dict[str, object], rules: str | list[str], as_of: str, calendar: sla.WorkCalendar = CAL) -> pd.Series:
    base = {"case_id": "A1", "channel": "12345热线", "category": "物业管理", "urgent": "否"}
    result = sla.check(_cases([{**base, **row}]), sla.load_rules(rules), calendar, as_of)
    return result.states.iloc[0]


def _day(ts: pd.Timestamp) -> str:
    return str(ts.date())


# --- the calendar ------------------------------------------------------------------


def test_spring_festival_with_working_saturdays() -> None:
    # received Thu 2026-02-12; 15 working days: 2-13, 2-14 (working Sat), 2-24..2-27, 2-28 (working Sat),
    # 3-2..3-6, 3-9, 3-10, 3-11 -> 3-11; the 7-day extension: 3-12, 3-13, 3-16..3-20 -> 3-20
    s = _one({"created_at": "2026-02-12 10:00", "request_type": "投诉", "extended": "是"}, "shandong", "2026-03-01")
    assert _day(s["deadline"]) == "2026-03-11"
    assert _day(s["extended_deadline"]) == "2026-03-20"
    assert s["deadline"].strftime("%H:%M:%S") == "23:59:59"   # the end of the 15th working day
    # 2-13, 2-14, 2-24, 2-25, 2-26, 2-27, 2-28 (working Saturday) = 7 by the end of Sunday 3-1
    assert s["working_days_taken"] == 7
    assert s["calendar"] == "official"


def test_national_day_and_working_sunday() -> None:
    # received Wed 9-23, closed Mon 10-12: 9-24, 9-28, 9-29, 9-30, 10-8, 10-9, 10-10 (Sat), 10-12 = 8
    s = _one({"created_at": "2026-09-23 16:00", "closed_at": "2026-10-12 10:00", "request_type": "投诉"},
             "guangdong", "2026-10-31")
    assert s["working_days_taken"] == 8
    # 15 working days: ... 10-12 (8), 10-13..10-16 (12), 10-19, 10-20, 10-21 (15)
    assert _day(s["deadline"]) == "2026-10-21"
    assert s["state"] == "on_time"
    # consultation (2 working days) received Fri 9-18: Sunday 9-20 is a working day, then Monday 9-21
    on_time = _one({"created_at": "2026-09-18 09:00", "closed_at": "2026-09-21 18:00", "request_type": "咨询"},
                   "guangdong", "2026-09-30")
    late = _one({"created_at": "2026-09-18 09:00", "closed_at": "2026-09-22 08:00", "request_type": "咨询"},
                "guangdong", "2026-09-30")
    assert _day(on_time["deadline"]) == "2026-09-21" and on_time["state"] == "on_time"
    assert late["state"] == "late" and late["working_days_taken"] == 3


def test_receipt_on_a_holiday_and_new_year_working_sunday() -> None:
    # received on holiday Fri 2026-01-02: 1-4 (working Sunday) is the first working day, then 1-5 .. 1-8
    s = _one({"created_at": "2026-01-02 11:00"}, "jinan", "2026-01-02")
    assert _day(s["deadline"]) == "2026-01-08"
    assert s["working_days_taken"] == 0 and s["state"] == "open"


def test_calendar_matches_chinese_calendar_day_by_day() -> None:
    import chinese_calendar

    rng = np.random.default_rng(0)
    starts = np.datetime64("2004-01-01") + rng.integers(0, 365 * 22, 300).astype("timedelta64[D]")
    n = rng.integers(0, 25, 300)
    got = CAL.add_working_days(starts, n)
    for start, k, end in zip(starts.tolist(), n.tolist(), got.tolist()):
        day, left = start, k
        while left > 0:   # brute force: walk day by day, ask the package
            day += dt.timedelta(days=1)
            left -= chinese_calendar.is_workday(day)
        assert end == day, (start, k)


def test_case_opened_2026_12_28_without_and_with_a_2027_notice() -> None:
    row = {"created_at": "2026-12-28 09:00"}
    # weekends only in 2027: 12-29, 12-30, 12-31, 1-1 (counted: no notice yet), 1-4
    without = _one(row, "jinan", "2026-12-31")
    assert _day(without["deadline"]) == "2027-01-04"
    assert without["calendar"] == "weekends_only"
    # with the (hypothetical) notice 1-1..1-3 are holidays: 12-29, 12-30, 12-31, 1-4, 1-5
    cal = sla.work_calendar([sla.read_holidays(EXAMPLE_HOLIDAYS)])
    with_notice = _one(row, "jinan", "2026-12-31", calendar=cal)
    assert _day(with_notice["deadline"]) == "2027-01-05"
    assert with_notice["calendar"] == "official"
    # a December case closed in December never touches 2027: official either way
    closed = _one({"created_at": "2026-12-01 09:00", "closed_at": "2026-12-03 09:00"}, "jinan", "2026-12-31")
    assert closed["calendar"] == "official"


def test_unknown_years_are_named_and_counted() -> None:
    cases = _cases([{"case_id": "A", "created_at": "2026-12-28 09:00", "channel": "网格巡查"},
                    {"case_id": "B", "created_at": "2026-11-02 09:00", "closed_at": "2026-11-03", "channel": "网格巡查"}])
    result = sla.check(cases, sla.preset("jinan"), CAL, "2026-12-31")
    assert result.unknown_years == (2027,)
    assert result.kpis().loc["all", "weekends_only"] == 1


def test_holiday_file_chinese_headers_and_errors(tmp_path: Path) -> None:
    notice = sla.read_holidays(EXAMPLE_HOLIDAYS)
    assert notice.years == (2027,)
    assert notice.days[dt.date(2027, 2, 20)] is True and notice.days[dt.date(2027, 1, 1)] is False
    english = tmp_path / "h.csv"
    english.write_text("date,type\n2027-01-01,holiday\n2027-01-09,workday\n", encoding="utf-8")
    cal = sla.work_calendar([sla.read_holidays(english)])
    assert cal.is_working(np.array(["2027-01-09", "2027-01-01", "2027-01-10"], dtype="datetime64[D]")).tolist() \
        == [True, False, False]
    bad = tmp_path / "bad.csv"
    bad.write_text("日期,类型\n2027-01-01,休\n2027-13-01,休\n2027-01-02,放风\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv row 3: date is not a date, got '2027-13-01'") as err:
        sla.read_holidays(bad)
    assert "row 4: type is neither holiday nor workday, got '放风'" in str(err.value)
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("日期,备注\n2027-01-01,x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing column type"):
        sla.read_holidays(nocol)


# --- rules and states -----------------------------------------------------------------


def test_every_preset_limit() -> None:
    jinan = sla.preset("jinan").rules
    assert sorted(zip(jinan["urgent"], jinan["limit"], jinan["unit"])) == [("否", 5, "working_days"),
                                                                          ("是", 0, "working_days")]
    shandong = sla.preset("shandong").rules.iloc[0]
    assert (shandong["category"], shandong["limit"], shandong["extension"], shandong["yellow"]) == ("投诉", 15, 7, 1)
    gd = sla.preset("guangdong").rules
    assert dict(zip(gd["category"], gd["limit"])) == {"咨询": 2, "求助;建议": 10, "投诉;举报": 15}
    assert all(sla.preset(p).rules["source"].str.contains("domain.md").all() for p in sla.PRESETS)
    # received Mon 2026-11-02 09:00: N working days later is 11-02 + N weekdays (no holiday in November)
    expected = {("guangdong", "咨询"): "2026-11-04", ("guangdong", "求助"): "2026-11-16",
                ("guangdong", "建议"): "2026-11-16", ("guangdong", "投诉"): "2026-11-23",
                ("guangdong", "举报"): "2026-11-23", ("shandong", "投诉"): "2026-11-23",
                ("jinan", "咨询"): "2026-11-09"}
    for (name, rtype), deadline in expected.items():
        s = _one({"created_at": "2026-11-02 09:00", "request_type": rtype}, name, "2026-11-02")
        assert _day(s["deadline"]) == deadline, (name, rtype)
    urgent = _one({"created_at": "2026-11-02 09:00", "urgent": "是"}, "jinan", "2026-11-02")
    assert _day(urgent["deadline"]) == "2026-11-02"   # 当日: the same day
    assert _one({"created_at": "2026-11-02 09:00", "request_type": "咨询"}, "shandong", "2026-11-03")["state"] \
        == "no_rule"


def test_yellow_and_red_on_boundary_dates() -> None:
    row = {"created_at": "2026-02-12 10:00", "request_type": "投诉"}   # deadline 2026-03-11 (see above)
    states = {d: _one(row, "shandong", d)["state"] for d in ("2026-03-09", "2026-03-10", "2026-03-11",
                                                                "2026-03-12")}
    assert states == {"2026-03-09": "open", "2026-03-10": "yellow", "2026-03-11": "yellow", "2026-03-12": "red"}
    assert _one(row, "shandong", "2026-03-10")["working_days_left"] == 1
    extended = {**row, "extended": "是"}                              # extended deadline 2026-03-20
    assert _one(extended, "shandong", "2026-03-12")["state"] == "open"
    assert _one(extended, "shandong", "2026-03-19")["state"] == "yellow"
    assert _one(extended, "shandong", "2026-03-23")["state"] == "red"   # Monday after Friday 3-20
    # closed on the last day before midnight is on time, the next morning is late
    assert _one({**row, "closed_at": "2026-03-11 23:59"}, "shandong", "2026-03-31")["state"] == "on_time"
    assert _one({**row, "closed_at": "2026-03-12 00:01"}, "shandong", "2026-03-31")["state"] == "late"
    # closed after the as-of date: still open on that date; received after it: not counted
    assert _one({**row, "closed_at": "2026-03-20"}, "shandong", "2026-03-12")["state"] == "red"
    assert _one(row, "shandong", "2026-02-11")["state"] == "not_received"


def test_user_rule_file_extends_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "规则.csv"
    path.write_text("渠道,类别,紧急,时限,单位,延期,黄牌\n网格巡查,*,否,3,工作日,,1\n*,供暖,是,24,小时,,4\n",
                    encoding="utf-8-sig")
    cases = _cases([
        {"case_id": "P", "channel": "网格巡查", "category": "环境卫生", "urgent": "否", "created_at": "2026-11-02 09:00"},
        {"case_id": "H", "channel": "12345热线", "category": "供暖", "urgent": "是", "created_at": "2026-11-02 09:00"},
        {"case_id": "X", "channel": "12345热线", "category": "物业管理", "urgent": "否", "created_at": "2026-11-02 09:00"},
    ])
    extended = sla.check(cases, sla.load_rules(["jinan", path]), CAL, "2026-11-03").states
    assert _day(extended.loc["P", "deadline"]) == "2026-11-05"          # the user's 3 days beat jinan's 5
    assert extended.loc["H", "deadline"] == pd.Timestamp("2026-11-03 09:00", tz="Asia/Shanghai")  # 24 h on the clock
    assert extended.loc["H", "state"] == "red"                        # as of the end of 11-03: past 09:00
    assert _day(extended.loc["X", "deadline"]) == "2026-11-09"          # jinan still covers the rest
    replaced = sla.check(cases, sla.load_rules(path), CAL, "2026-11-02").states
    assert replaced.loc["X", "state"] == "no_rule"
    assert replaced.loc["H", "state"] == "open"       # at the end of 11-02, 9 h are left: more than 4 h
    bad = tmp_path / "bad.xlsx"
    pd.DataFrame({"渠道": ["*", "*"], "时限": ["五", "5"], "单位": ["工作日", "周"]}).to_excel(bad, index=False)
    with pytest.raises(InputError, match=r"bad.xlsx row 2: limit must be a whole number ≥ 0, got '五'") as err:
        sla.read_rules(bad)
    assert "row 3: unit is neither working days nor hours, got '周'" in str(err.value)
    with pytest.raises(InputError, match="unknown rule preset"):
        sla.load_rules("beijing")


def test_no_rule_cases_are_listed_not_defaulted() -> None:
    cases = _cases([{"case_id": "C1", "channel": "网格巡查", "category": "环境卫生", "created_at": "2026-11-02"},
                    {"case_id": "C2", "channel": "12345热线", "request_type": "投诉", "created_at": "2026-11-02"}])
    result = sla.check(cases, sla.preset("shandong"), CAL, "2026-12-31")
    assert result.no_rule.index.tolist() == ["C1"]
    assert pd.isna(result.states.loc["C1", "limit"]) and pd.isna(result.states.loc["C1", "deadline"])
    k = result.kpis().loc["all"]
    assert (k["no_rule"], k["due"], k["red"]) == (1, 1, 1)


# --- KPIs ---------------------------------------------------------------------------------


def _kpi_cases() -> pd.DataFrame:
    rows = [  # grid, department, channel, created, closed, satisfied; jinan: 5 working days, as of 2026-11-30
        ("G1", "城管局", "网格巡查", "2026-11-02 09:00", "2026-11-04 10:00", "1"),   # on time, 2 wd
        ("G1", "城管局", "12345热线", "2026-11-02 09:00", "2026-11-12 10:00", "0"),  # late, 8 wd
        ("G1", "物业公司", "12345热线", "2026-11-25 09:00", "", ""),                  # open, deadline 12-02
        ("G2", "物业公司", "网格巡查", "2026-11-02 09:00", "", ""),                   # red (deadline 11-09)
        ("G2", "物业公司", "12345热线", "2026-11-03 09:00", "2026-11-03 17:00", ""),  # on time, 0 wd, not asked
        ("G2", "城管局", "网格巡查", "2026-10-30 09:00", "2026-11-06 09:00", "1"),    # on time (11-06), 5 wd
    ]
    return _cases([{"case_id": f"K{i}", "grid_id": g, "department": d, "channel": c, "created_at": a,
                    "closed_at": b, "satisfied": s, "category": "x"} for i, (g, d, c, a, b, s) in enumerate(rows)])


def test_kpis_recomputed_by_hand() -> None:
    result = sla.check(_kpi_cases(), sla.preset("jinan"), CAL, "2026-11-30")
    assert result.states["state"].tolist() == ["on_time", "late", "open", "red", "on_time", "on_time"]
    assert result.states["working_days_taken"].tolist()[:2] == [2, 8]
    grid = result.kpis("grid_id")
    # G1: 3 received, 2 closed, due 2 (on time 1, late 1); satisfied 1 of 2 asked; patrol 1 of 3
    assert grid.loc["G1", ["received", "closed", "due", "on_time"]].tolist() == [3, 2, 2, 1]
    assert grid.loc["G1", "on_time_rate"] == pytest.approx(1 / 2)
    assert grid.loc["G1", "completion_rate"] == pytest.approx(2 / 3)
    assert grid.loc["G1", "satisfaction_rate"] == pytest.approx(1 / 2)
    assert grid.loc["G1", "patrol_share"] == pytest.approx(1 / 3)
    # G2: due = 2 closed + 1 red = 3, on time 2; satisfaction 1 of 1 asked; working days 0 and 5
    assert grid.loc["G2", "on_time_rate"] == pytest.approx(2 / 3)
    assert grid.loc["G2", "satisfaction_rate"] == pytest.approx(1.0)
    assert grid.loc["G2", "median_working_days"] == pytest.approx(2.5)
    all_ = result.kpis().loc["all"]
    assert all_["median_working_days"] == pytest.approx(np.median([2, 8, 0, 5]))
    assert all_["p90_working_days"] == pytest.approx(np.percentile([2, 8, 0, 5], 90))
    dept = result.kpis("department")
    assert dept.loc["城管局", "on_time_rate"] == pytest.approx(2 / 3)
    assert dept.loc["物业公司", "on_time_rate"] == pytest.approx(1 / 2)
    month = result.kpis("month")
    assert month.loc["2026-10", "received"] == 1 and month.loc["2026-11", "received"] == 5
    # no meeting column: the 三率 is not available, not estimated
    assert np.isnan(all_["three_rate"]) and np.isnan(all_["met_rate"])
    counts = sla.channel_counts(result.table, "grid_id")
    assert counts.loc["G1"].to_dict() == {"12345热线": 2, "网格巡查": 1}
    rank = sla.ranking(result.table, "department", min_due=1)
    nov = rank[rank["month"] == "2026-11"]
    # November: 城管局 1 of 2 on time, 物业公司 1 of 2 (one red): a tie, broken by satisfaction
    # (城管局 1 of 2; 物业公司 nobody asked, so it ranks after)
    assert nov["on_time_rate"].tolist() == [pytest.approx(1 / 2), pytest.approx(1 / 2)]
    assert nov["key"].tolist() == ["城管局", "物业公司"]
    assert nov["rank"].tolist() == [1, 2]


def test_three_rate_with_meeting_column_and_weights() -> None:
    cases = _kpi_cases().assign(met=pd.array([True, True, False, True, None, True], dtype="boolean"))
    result = sla.check(cases, sla.preset("jinan"), CAL, "2026-11-30")
    k = result.kpis(weights=sla.ThreeRateWeights(met=2, completion=1, satisfaction=1)).loc["all"]
    met, done, sat = 4 / 5, 4 / 6, 2 / 3
    assert k["met_rate"] == pytest.approx(met)
    assert k["three_rate"] == pytest.approx((2 * met + done + sat) / 4)


# --- reading and the command line ---------------------------------------------------------


def test_reader_errors_name_rows(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("工单编号,受理时间,办结时间,紧急\nA,2026-11-02 09:00,2026-11-01 09:00,否\n"
                    "A,昨天,,也许\n", encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        sla.read_sla_cases(path)
    text = str(err.value)
    assert "export.csv row 2 (A): closed_at is earlier than created_at" in text
    assert "row 3 (A): created_at is not a date-time, got '昨天'" in text
    assert "row 3 (A): urgent is not yes/no, got '也许'" in text
    assert "case_id is used more than once" in text


def test_cli_writes_cases_and_kpis(tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    pd.DataFrame({
        "case_id": ["A", "B", "C"], "created_at": ["2026-12-28 09:00", "2026-12-01 09:00", "2026-12-01 10:00"],
        "closed_at": ["", "2026-12-03 09:00", "2026-12-10 09:00"], "category": ["物业管理"] * 3,
        "channel": ["12345热线", "网格巡查", "网格巡查"], "urgent": ["0", "0", "0"], "status": ["", "", ""],
        "satisfied": ["", "1", "0"], "department": ["物业公司", "城管局", "城管局"], "grid_id": ["G1", "G1", "G2"],
        "community_id": ["C1", "C1", "C1"],
    }).to_csv(cases, index=False, encoding="utf-8-sig")
    out = tmp_path / "out"
    assert main(["--lang", "en", "cases", "sla", "--cases", str(cases), "--rules", "jinan", "--as-of", "2026-12-31",
                 "--out", str(out)]) == 0
    got = pd.read_csv(out / "sla_cases.csv", dtype=str, keep_default_na=False).set_index("case_id")
    assert list(got.columns[:5]) == ["limit", "deadline", "working_days_taken", "state", "calendar"]
    assert got.loc["A", ["deadline", "state", "calendar"]].tolist() == ["2027-01-04 23:59:59", "open",
                                                                       "weekends_only"]
    assert got.loc["B", ["state", "working_days_taken"]].tolist() == ["on_time", "2"]
    assert got.loc["C", "state"] == "late"          # 12-01 + 5 working days = 12-08
    kpis = pd.read_csv(out / "sla_kpis.csv", keep_default_na=False)
    g2 = kpis[(kpis["level"] == "grid_id") & (kpis["key"] == "G2")].iloc[0]
    assert (g2["received"], g2["on_time"], g2["channel:网格巡查"]) == (1, 0, 1)
    # with the 2027 notice the same case ends on 1-05 and the calendar is official
    assert main(["--lang", "en", "cases", "sla", "--cases", str(cases), "--rules", "jinan", "--holidays", str(EXAMPLE_HOLIDAYS),
                 "--as-of", "2026-12-31", "--out", str(out)]) == 0
    got = pd.read_csv(out / "sla_cases.csv", dtype=str, keep_default_na=False).set_index("case_id")
    assert got.loc["A", ["deadline", "calendar"]].tolist() == ["2027-01-05 23:59:59", "official"]


def test_cli_raw_export_with_map_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "12345导出.xlsx"
    pd.DataFrame({"流水号": ["T1", "T2"], "来电时间": ["2026-11-02 09:00", "2026-11-02 10:00"],
                  "办结日期": ["2026-11-20 09:00", ""], "诉求类型": ["投诉", "咨询"],
                  "渠道": ["12345", "12345"]}).to_excel(raw, index=False)
    out = tmp_path / "o"
    code = main(["--lang", "en", "cases", "sla", "--cases", str(raw), "--rules", "guangdong", "--as-of", "2026-11-30",
                 "--map", "case_id=流水号", "--map", "created_at=来电时间", "--map", "closed_at=办结日期",
                 "--out", str(out)])
    assert code == 0
    got = pd.read_csv(out / "sla_cases.csv", dtype=str, keep_default_na=False).set_index("case_id")
    assert got.loc["T1", ["limit", "deadline", "state"]].tolist() == ["15", "2026-11-23 23:59:59", "on_time"]
    assert got.loc["T2", ["limit", "state"]].tolist() == ["2", "red"]
    assert main(["--lang", "en", "cases", "sla", "--cases", str(raw), "--rules", "guangdong", "--as-of", "2026-11-30",
                 "--out", str(out)]) == 2
    # the CLI renders the catalogue's message (gridgeo.errors.render)
    assert "12345导出.xlsx: The cases file lacks the column(s) case_id, got '流水号, 来电时间" in capsys.readouterr().err
    assert main(["--lang", "en", "cases", "sla", "--cases", str(raw), "--rules", "guangdong", "--as-of", "someday",
                 "--map", "case_id=流水号", "--out", str(out)]) == 2


def test_histogram_quantiles_match_numpy() -> None:
    from gridgeo.sla.kpis import _quantiles

    rng = np.random.default_rng(1)
    for _ in range(200):
        n, m = int(rng.integers(1, 8)), int(rng.integers(0, 60))
        codes = rng.integers(0, n, m)
        values = rng.integers(0, 30, m).astype(float)
        values[rng.random(m) < 0.2] = np.nan
        median, p90 = _quantiles(values, codes, n, (0.5, 0.9))
        for g in range(n):
            x = values[(codes == g) & ~np.isnan(values)]
            if len(x) == 0:
                assert np.isnan(median[g]) and np.isnan(p90[g])
            else:
                assert median[g] == pytest.approx(np.median(x)) and p90[g] == pytest.approx(np.percentile(x, 90))


def test_workbook_has_chinese_headers_and_the_same_figures(tmp_path: Path) -> None:
    from gridgeo.sla.output import workbook

    result = sla.check(_kpi_cases(), sla.preset("jinan"), CAL, "2026-11-30")
    path = tmp_path / "sla.xlsx"
    path.write_bytes(workbook(result, "zh"))
    sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
    assert list(sheets) == ["事件时效", "考核指标", "网格红黑榜", "部门红黑榜", "时限规则", "日历说明"]
    cases = sheets["事件时效"].set_index("工单编号")
    assert cases.loc["K3", "状态"] == "红牌" and cases.loc["K0", "状态"] == "按时办结"
    assert cases.loc["K3", "办理期限"] == "2026-11-09 23:59:59"
    kpis = sheets["考核指标"]
    g1 = kpis[(kpis["维度"] == "网格") & (kpis["对象"] == "G1")].iloc[0]
    assert g1["按时办结率"] == pytest.approx(1 / 2) and g1["受理件数"] == 3
    assert "chinese-calendar" in str(sheets["日历说明"].iloc[-1]["日历来源"])


def test_locate_cases_fills_grid_and_community_from_the_map() -> None:
    import geopandas as gpd
    from shapely.geometry import Point, box

    grids = gpd.GeoDataFrame({"community_id": ["C1", "C2"]}, geometry=[box(116.40, 36.28, 116.41, 36.29),
                                                                        box(116.41, 36.28, 116.42, 36.29)],
                             index=pd.Index(["G1", "G2"], name="grid_id"), crs=4326)
    typed = _cases([{"case_id": i, "created_at": "2026-11-02 09:00", "channel": "网格巡查"} for i in "ABCD"])
    cases = gpd.GeoDataFrame(typed, geometry=[Point(116.405, 36.285), Point(116.415, 36.285), Point(117.0, 36.0),
                                              None], crs=4326)
    cases.loc["D", "grid_id"] = "G9"                           # a grid named in the export is kept
    located = sla.locate_cases(cases, grids)
    assert located["grid_id"].tolist() == ["G1", "G2", "", "G9"]
    assert located["community_id"].tolist() == ["C1", "C2", "", ""]
    result = sla.check(sla.from_layer(located), sla.preset("jinan"), CAL, "2026-11-30")
    assert result.kpis("grid_id")["received"].to_dict() == {"G1": 1, "G2": 1, "G9": 1, "—": 1}
