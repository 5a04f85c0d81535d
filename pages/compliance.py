"""办理时效: deadlines, yellow/red cards, KPIs and 红黑榜 of the district's cases (issue 19)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridgeo import maps, sla
from gridgeo.errors import GridgeoError
from gridgeo.sla.output import display, workbook
from pages._ui import (K, kept_for_district, current_district, current_grids, file_upload, init_state, lang,
                       md_escape, mtime, _seeded, show_error, show_table, stage_file, stop, t)


init_state()
st.title(t("sla.title"))
st.caption(t("sla.intro"))
path = st.session_state[K.DISTRICT]
district = current_district()
version = mtime(path)

SLA_PRESET, SLA_AS_OF, SLA_PICK = "sla_preset", "sla_as_of", "sla_pick"
for store, default in (("sla_preset", "jinan"), ("sla_rule_mode", "extend"), ("sla_filter_state", ["red", "yellow"]),
                       ("sla_level", "grid_id"), ("sla_rank_of", "grid_id")):
    st.session_state.setdefault(store, default)


def _kept(widget: object, label: str, options: list[str], store: str, **kwargs: object) -> object:
    """A choice widget whose labels change with the language: one widget per language, the value kept."""
    key = f"w_{store}_{lang()}"
    return widget(label, options, key=key, on_change=_seeded(store, key), **kwargs)  # type: ignore[operator]


def _stage(upload: object, area: str) -> str | None:
    """Write an uploaded file where the readers can open it (name kept, so errors name it)."""
    return None if upload is None else str(stage_file(upload, area))


@st.cache_data(show_spinner=False, max_entries=4)
def _located(path: str, version: float, grids_key: str, cases_file: str | None,
             _cases: pd.DataFrame | None, _grids: object) -> pd.DataFrame:
    """The SLA cases with grid and community filled from the grids in use (cached per district and grids)."""
    if cases_file:
        return sla.read_sla_cases(cases_file)
    assert _cases is not None
    located = sla.locate_cases(_cases, _grids)  # type: ignore[arg-type]
    return sla.from_layer(located)


@st.cache_data(show_spinner=False, max_entries=8)
def _result(path: str, version: float, grids_key: str, cases_file: str | None, preset: str, rule_file: str | None,
            mode: str, holiday_file: str | None, as_of: str, _cases: pd.DataFrame) -> sla.SlaResult:
    rules = sla.load_rules([preset, rule_file] if rule_file and mode == "extend" else rule_file or preset)
    calendar = sla.work_calendar([sla.read_holidays(holiday_file)] if holiday_file else [])
    return sla.check(_cases, rules, calendar, as_of)


@st.cache_data(show_spinner=False, max_entries=4)
def _workbook(key: tuple[object, ...], language: str, _result: sla.SlaResult) -> bytes:
    return workbook(_result, "en" if language == "en" else "zh")


_RATES = ("completion_rate", "on_time_rate", "satisfaction_rate", "patrol_share", "met_rate", "timely_sign_rate",
          "three_rate")


def _percent(frame: pd.DataFrame) -> pd.DataFrame:
    """Rates as "86.2%", missing ones as "not available" (a rate that cannot be computed is not 0)."""
    out = frame.copy()
    for name in _RATES:
        col = t(f"sla.col.{name}")
        if col in out:
            out[col] = [t("sla.not_available") if pd.isna(v) else f"{v:.1%}" for v in out[col]]
    return out


# --- 1 inputs ---------------------------------------------------------------------------------
left, mid, right = st.columns([1.2, 1.2, 1])
preset = _kept(left.selectbox, t("sla.rules"), list(sla.PRESETS), SLA_PRESET,
               format_func=lambda p: t(f"sla.preset.{p}"))
rule_upload = file_upload(t("sla.rule_file"), ["csv", "xlsx"], "sla_rule_file", where=mid)
mode = _kept(mid.radio, t("sla.rule_mode"), ["extend", "replace"], "sla_rule_mode", horizontal=True,
             format_func=lambda m: t(f"sla.rule_mode.{m}"))
holiday_upload = file_upload(t("sla.holiday_file"), ["csv", "xlsx"], "sla_holidays", where=right)
cases_upload = file_upload(t("sla.cases_file"), ["csv", "xlsx"], "sla_cases_file", where=right)

cases_file = _stage(cases_upload, "sla_cases")
rule_path, holiday_path = _stage(rule_upload, "sla_rules"), _stage(holiday_upload, "sla_holidays")
# the district's own cases, else the work orders imported on the 事件热力 page this session (as the export does)
imported = kept_for_district(K.IMPORTED_CASES) if district.cases is None else None
own_cases = district.cases if district.cases is not None else (imported["cases"] if imported else None)
if own_cases is None and cases_file is None:
    st.info(t("sla.no_cases", upload=t("sla.cases_file"), cases_page=t("nav.cases")))
    stop()
if imported is not None and cases_file is None:
    st.caption(t("sla.cases_from_import", page=t("nav.cases"), name=md_escape(str(imported["name"])),
                 n=f"{len(imported['cases']):,}"))
grids_in_use = current_grids(district)
grids_key = f"{grids_in_use.source}:{st.session_state.get(K.PLAN)}" + (
    f":import:{imported['digest']}" if imported is not None else "")       # the cache keys below name the cases
failed: list[GridgeoError] = []              # every uploaded file checked, all its errors shown at once
try:
    cases = _located(path, version, grids_key, cases_file, own_cases, grids_in_use.grids)
except GridgeoError as err:
    failed.append(err)
for reader, staged in ((sla.read_rules, rule_path), (sla.read_holidays, holiday_path)):
    try:
        if staged is not None:
            reader(staged)
    except GridgeoError as err:
        failed.append(err)
for err in failed:
    show_error(err)
if failed:
    stop()
last = cases["created_at"].max().date()
st.session_state.setdefault(SLA_AS_OF, last)
as_of = left.date_input(t("sla.as_of"), key=SLA_AS_OF)

# --- 2 gridgeo ---------------------------------------------------------------------------------
try:
    result = _result(path, version, grids_key, cases_file, preset, rule_path, mode, holiday_path, str(as_of), cases)
except GridgeoError as err:
    show_error(err)
    stop()

# --- 3 render ----------------------------------------------------------------------------------
years = result.calendar.official_years()
st.caption(t("sla.calendar_years", years=f"{years[0]}–{years[-1]}" if years == tuple(range(years[0], years[-1] + 1))
             else "、".join(map(str, years))) + " · "
           + (t(f"sla.preset.{result.rules.name}") if result.rules.name in sla.PRESETS else md_escape(result.rules.name)))
if result.unknown_years:
    st.warning(t("sla.unknown_years", years="、".join(map(str, result.unknown_years))), icon=":material/event_busy:")
overall = result.kpis().iloc[0]
pct = lambda v: "—" if pd.isna(v) else f"{v:.1%}"  # noqa: E731
cols = st.columns(6)
cols[0].metric(t("sla.metric.received"), f"{int(overall['received']):,}")
cols[1].metric(t("sla.metric.on_time_rate"), pct(overall["on_time_rate"]))
cols[2].metric(t("sla.metric.completion_rate"), pct(overall["completion_rate"]))
cols[3].metric(t("sla.metric.satisfaction_rate"), pct(overall["satisfaction_rate"]))
cols[4].metric(t("sla.metric.red"), f"{int(overall['red']):,}")
cols[5].metric(t("sla.metric.yellow"), f"{int(overall['yellow']):,}")
if overall["weekends_only"]:
    st.caption(t("sla.weekends_note", n=int(overall["weekends_only"])))
if overall["no_rule"]:
    with st.expander(t("sla.no_rule", n=int(overall["no_rule"])), expanded=False):
        st.caption(t("sla.no_rule_help"))
        groups = (result.no_rule.groupby(["channel", "category", "request_type", "urgent"], dropna=False)
                  .size().rename("n").reset_index().sort_values("n", ascending=False))
        show_table(display(groups.rename(columns={"n": "received"}), lang()), hide_index=True, width="stretch")

# open cases, red and yellow first
st.subheader(t("sla.open_title"))
frame = result.states.join(result.cases[["created_at", "channel", "category", "department", "grid_id"]])
open_ = frame[frame["state"].isin(["red", "yellow", "open"])].copy()
open_["_order"] = open_["state"].map({"red": 0, "yellow": 1, "open": 2})
open_ = open_.sort_values(["_order", "deadline"], kind="stable")
f1, f2, f3 = st.columns(3)
states = _kept(f1.multiselect, t("sla.filter_state"), ["red", "yellow", "open"], "sla_filter_state",
               format_func=lambda s: t(f"sla.state.{s}"), placeholder=t("sla.filter_all"))
depts = f2.multiselect(t("sla.filter_department"), sorted(open_["department"].unique()), key="sla_filter_dept",
                       placeholder=t("sla.filter_all"))
grid_ids = f3.multiselect(t("sla.filter_grid"), sorted(g for g in open_["grid_id"].unique() if g),
                          key="sla_filter_grid", placeholder=t("sla.filter_all"))
shown = open_[open_["state"].isin(states)]
if depts:
    shown = shown[shown["department"].isin(depts)]
if grid_ids:
    shown = shown[shown["grid_id"].isin(grid_ids)]
table = shown.reset_index()[["case_id", "state", "deadline", "working_days_left", "working_days_taken",
                             "created_at", "channel", "category", "department", "grid_id", "calendar"]]
for col in ("deadline", "created_at"):
    table[col] = table[col].dt.strftime("%Y-%m-%d %H:%M")
table["working_days_left"] = [("" if pd.isna(v) else str(int(v))) for v in table["working_days_left"]]
st.caption(f"{len(shown):,} / {len(open_):,}")
picked = show_table(display(table.head(2000), lang()), hide_index=True, width="stretch", height=320,
                      on_select="rerun", selection_mode="single-row", key="sla_open_table")
rows = picked.selection.rows if picked is not None and hasattr(picked, "selection") else []
if rows:
    st.session_state[SLA_PICK] = str(table.iloc[rows[0]]["grid_id"])
elif len(table) and SLA_PICK not in st.session_state:
    st.session_state[SLA_PICK] = str(table.iloc[0]["grid_id"])


@st.fragment
def compliance_map() -> None:
    """The grid of the picked case on the map of red cards."""
    per_grid = result.kpis("grid_id")
    choices = [""] + sorted(g for g in per_grid.index if g and g != "—")
    current = st.session_state.get(SLA_PICK, "")
    index = choices.index(current) if current in choices else 0
    grid = st.selectbox(t("sla.pick_grid"), choices, index=index, key=f"sla_grid_select_{current}",
                        format_func=lambda g: g or "—")
    if current and current not in choices:
        st.caption(t("sla.no_grid"))
    layers = maps.sla_layers(grids_in_use.grids, per_grid, lang=lang(), communities=district.communities)
    st_folium(maps.sla_map(layers, selected=grid or None, osm=bool(st.session_state[K.OSM])), key="sla_map",
              returned_objects=[], use_container_width=True, height=460)


compliance_map()

# KPIs, trend, ranking
st.subheader(t("sla.kpi_title"))
level = _kept(st.radio, t("sla.kpi_level"), ["grid_id", "community_id", "department", "month"], "sla_level",
              horizontal=True, format_func=lambda v: t(f"sla.level.{v}"))
weights_cols = st.columns(3)
has_met = bool(result.kpis()["met_rate"].notna().iloc[0])
w = [weights_cols[i].number_input(label, min_value=0.0, value=1.0, step=0.5, key=f"sla_w{i}",
                                  disabled=not has_met)
     for i, label in enumerate((t("sla.col.met_rate"), t("sla.col.completion_rate"), t("sla.col.satisfaction_rate")))]
if not has_met:
    st.caption(t("sla.three_rate_na"))
weights = sla.ThreeRateWeights(*w) if sum(w) > 0 else sla.ThreeRateWeights()
k = result.kpis(level, weights=weights)
k = k.join(sla.channel_counts(result.table, level).add_prefix("channel:")).reset_index().rename(columns={level: "key"})
show_table(_percent(display(k, lang())), hide_index=True, width="stretch", height=300)

st.subheader(t("sla.trend_title"))
monthly = sla.monthly_trend(result.table)
trend = monthly[["on_time_rate", "completion_rate", "satisfaction_rate"]]
st.line_chart(trend.rename(columns=lambda c: t(f"sla.col.{c}")), y_label="", x_label=t("sla.month"))
touched = monthly[monthly["weekends_only"] > 0]
if len(touched):
    st.caption(t("sla.trend_weekends", months="、".join(touched.index.astype(str)),
                 n=int(touched["weekends_only"].sum())))

st.subheader(t("sla.rank_title"))
r1, r2 = st.columns(2)
rank_of = _kept(r1.radio, t("sla.rank_of"), ["grid_id", "department"], "sla_rank_of", horizontal=True,
                format_func=lambda v: t(f"sla.level.{v}"))
ranking = sla.ranking(result.table, rank_of)
months = sorted(ranking["month"].unique(), reverse=True)
if months:
    month = r2.selectbox(t("sla.month"), months, key="sla_rank_month")
    part = ranking[ranking["month"] == month]
    keep = ["rank", "key", "due", "on_time_rate", "completion_rate", "satisfaction_rate", "red"]
    b1, b2 = st.columns(2)
    b1.markdown(f"**{t('sla.red_list')}**")
    show_table(_percent(display(part[keep].head(5), lang())), hide_index=True, width="stretch", where=b1)
    b2.markdown(f"**{t('sla.black_list')}**")
    show_table(_percent(display(part[keep].tail(5).iloc[::-1], lang())), hide_index=True, width="stretch", where=b2)
    st.caption(t("sla.rank_min", n=5))
else:
    st.info(t("sla.rank_empty", n=5))

key = (path, version, grids_key, cases_file, preset, rule_path, mode, holiday_path, str(as_of))
st.download_button(t("sla.download"), _workbook(key, lang(), result), file_name=f"办理时效_{as_of}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="sla_download")
