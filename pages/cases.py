"""事件热力: import a work-order export, filter, heatmap, rate per 1,000 households, hotspot grids."""

from __future__ import annotations

import hashlib
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridgeo import cases as gcases
from gridgeo import maps
from gridgeo.errors import GridgeoError
from gridgeo.i18n import Lang
from pages._ui import (K, keep_for_district, kept_for_district, current_district, current_grids, file_upload,
                       init_state, lang, md_escape, mtime, _seeded, show_error, show_table, stage_file, t)

PROFILES = gcases.default_profiles_dir()
IMPORTED = K.IMPORTED_CASES          # session key, tied to the district (keep_for_district)
SOURCE = "cases_source"              # "district" | "import"


@st.cache_data(show_spinner=False, max_entries=4)
def district_cases(path: str, version: float) -> gpd.GeoDataFrame:
    """The district's own case files as the cases frame."""
    from pages._ui import load_district

    district = load_district(path, version)
    return gcases.from_layer(district.cases) if district.cases is not None else gcases.empty_cases()


@st.cache_data(show_spinner=False, max_entries=4)
def prepared(key: tuple[Any, ...], _cases: gpd.GeoDataFrame, _grids: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame,
                                                                                                 list[str]]:
    """Cases with grid, community, edge distance and matter; ids of the located cases outside every grid."""
    out, joined = gcases.prepare_cases(_cases, _grids)
    return out, [str(i) for i in joined.outside]


@st.cache_data(show_spinner=False, max_entries=16)
def analysis(key: tuple[Any, ...], _cases: gpd.GeoDataFrame, _grids: gpd.GeoDataFrame, _households: pd.Series,
             count: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Hotspot table and channel split of one filtered selection."""
    current = gcases.grids_in_force(_grids)
    table = gcases.hotspots(_cases, current, _households.reindex(current.index.astype(str)).fillna(0),
                            count="cases" if count == "cases" else "matters")
    return table, gcases.channel_split(_cases, current.index)


@st.cache_data(show_spinner=False, max_entries=16)
def layers(key: tuple[Any, ...], _cases: gpd.GeoDataFrame, _table: gpd.GeoDataFrame, _split: pd.DataFrame,
           _district: Any, language: Lang, count: str, _grids: gpd.GeoDataFrame | None = None) -> maps.CaseLayers:
    """Slim map data of one selection (the slow half of the maps)."""
    return maps.case_layers(_cases, _table, _split, _district.communities, streets=_district.streets,
                            stations=_district.stations, lang=language, unit=count, grids=_grids)


def import_step() -> None:
    """Upload, mapping confirmation (saved as a profile), import report with downloads."""
    up = file_upload(t("cases.upload"), ["csv", "xlsx", "txt"], "cases_upload")
    if up is None:
        return
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = stage_file(up, "cases")       # this session's folder, replaced by the next file, gone at exit
    c1, c2, c3 = st.columns(3)
    profiles = gcases.list_profiles(PROFILES)
    profile_name = c1.selectbox(t("cases.profile"), [""] + profiles, key="cases_profile",
                                format_func=lambda p: p or t("cases.profile_none"))
    profile = gcases.load_profile(PROFILES, profile_name) if profile_name else {}
    sheet = None
    if target.suffix.lower() == ".xlsx":
        names = gcases.sheet_names(target)
        default = names.index(profile["sheet"]) if profile.get("sheet") in names else 0
        sheet = c2.selectbox(t("cases.sheet"), names, index=default, key="cases_sheet")
    coords_options = ["wgs84", "gcj02", "bd09"]
    coords = c3.selectbox(t("cases.coords"), coords_options,
                          index=coords_options.index(profile.get("coords", "wgs84")), key="cases_coords",
                          format_func=lambda c: t(f"app.coords_{c}"))
    raw = gcases.read_export(target, sheet=sheet)
    columns = [str(c) for c in raw.frame.columns]
    suggested = {k: v for k, v in profile.get("mapping", {}).items() if v in columns} or \
        gcases.suggest_mapping(columns)
    st.markdown(f"**{t('cases.mapping')}**  \n{t('cases.header_row', row=raw.header_row)}")
    st.caption(t("cases.mapping_help"))
    mapping: dict[str, str] = {}
    cols = st.columns(4)
    for i, field in enumerate(gcases.FIELDS):
        options = [""] + columns
        current = suggested.get(field, "")
        mapping[field] = cols[i % 4].selectbox(
            t(f"cases.field.{field}"), options, index=options.index(current) if current in options else 0,
            key=f"cases_map_{digest}_{profile_name}_{field}",
            format_func=lambda c: c or t("cases.column_none"))
    p1, p2 = st.columns([3, 1])
    name = p1.text_input(t("cases.profile_name"), key="cases_profile_name")
    if p2.button(t("cases.profile_save"), key="cases_profile_save") and name:
        gcases.save_profile(PROFILES, name, mapping, coords=coords, sheet=sheet)
        st.success(t("cases.profile_saved", name=md_escape(name)))
    if st.button(t("cases.import"), type="primary", key="cases_import"):
        district = current_district()
        res = gcases.import_cases(raw, mapping, coords=coords, buildings=district.buildings,
                                  area=district.communities.union_all())
        keep_for_district(IMPORTED, {"digest": f"{digest}-{coords}-{sheet}-{sorted(mapping.items())}",
                                     "name": up.name, "cases": res.cases, "report": res.report})


def show_report(report: gcases.ImportReport, cases: gpd.GeoDataFrame) -> None:
    """The import report: counts, one row per reason with its rows, downloads."""
    st.subheader(t("cases.report"))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("cases.rows_in"), f"{report.rows_in:,}")
    c2.metric(t("cases.rows_loaded"), f"{report.rows_loaded:,}")
    c3.metric(t("cases.rows_aside"), f"{sum(report.set_aside.values()):,}")
    c4.metric(t("cases.rows_flagged"), f"{len(cases[cases['flags'] != '']):,}")
    table = report.table()
    if len(table):
        show_table(pd.DataFrame({
            t("cases.col_kind"): [t(f"cases.kind.{k}") for k in table["kind"]],
            t("cases.col_reason"): [t(f"cases.reason.{r}") for r in table["reason"]],
            t("cases.col_count"): table["count"], t("cases.col_rows"): table["rows"],
        }), hide_index=True, width="stretch")
    d1, d2 = st.columns(2)
    d1.download_button(t("cases.report_download"), report.to_json().encode("utf-8"),
                       file_name="import_report.json", mime="application/json", key="cases_report_dl")
    d2.download_button(t("cases.cases_download"), gcases.cases_csv(cases), file_name="cases.csv",
                       mime="text/csv", key="cases_csv_dl")


init_state()
st.title(t("cases.title"))
st.caption(t("cases.intro"))
path = st.session_state[K.DISTRICT]                                              # 1 inputs
district = current_district()
version = mtime(path)
try:
    gu = current_grids(district)
except GridgeoError as err:
    show_error(err)
    st.stop()

own = district_cases(path, version)


def kept_radio(label: str, options: list[str], store: str, default: str, **kwargs: Any) -> str:
    """A radio whose choice survives a language switch (its labels change; see ``pages._ui._seeded``)."""
    st.session_state.setdefault(store, default)
    widget = f"w_{store}_{lang()}"
    value: str = st.radio(label, options, key=widget, on_change=_seeded(store, widget), **kwargs)
    return value


source = kept_radio(t("cases.source"), ["district", "import"], SOURCE, "district" if len(own) else "import",
                    horizontal=True, format_func=lambda s: t("cases.source_district", n=f"{len(own):,}") if s == "district"
                  else t("cases.source_import"))
if source == "import":
    try:
        import_step()
    except GridgeoError as err:
        show_error(err)
    imported = kept_for_district(IMPORTED)
    if imported is None:
        st.stop()
    raw_cases, cases_key = imported["cases"], imported["digest"]
    show_report(imported["report"], raw_cases)
else:
    if not len(own):
        st.info(t("cases.no_district_cases"))
        st.stop()
    raw_cases, cases_key = own, f"district-{path}-{version}"

grids = gu.grids
grids_key = (gu.source, len(grids), str(st.session_state.get(K.PLAN)), path, version)
cases, outside = prepared((cases_key, grids_key), raw_cases, grids)             # 2 gridgeo
st.caption(t("cases.grids_source", source=t(f"cases.grids_source.{gu.source}"), n=len(grids)))

st.subheader(t("cases.filters"))
created = pd.Series(cases["created_at"])
first, last = created.min().date(), created.max().date()
f1, f2, f3 = st.columns([2, 2, 2])
period = f1.date_input(t("cases.period"), value=(first, last), min_value=first, max_value=last,
                       key="cases_period")
start, end = (period[0], period[1]) if isinstance(period, (tuple, list)) and len(period) == 2 else (first, last)
categories = f2.multiselect(t("cases.category"), sorted(cases["category"].dropna().unique()), key="cases_cat",
                            placeholder=t("cases.all"))
channels = f3.multiselect(t("cases.channel"), sorted(c for c in cases["channel"].dropna().unique() if c),
                          key="cases_chan", placeholder=t("cases.all"))
f4, f5, f6 = st.columns([2, 2, 2])
with f4:
    urgent_choice = kept_radio(t("cases.urgent"), ["any", "yes", "no"], "cases_urgent", "any", horizontal=True,
                               format_func=lambda u: t(f"cases.urgent_{u}"))
statuses = f5.multiselect(t("cases.status"), sorted(s for s in cases["status"].dropna().unique() if s),
                          key="cases_status", placeholder=t("cases.all"))
with f6:
    count = kept_radio(t("cases.count_by"), ["matters", "cases"], "cases_count", "matters", horizontal=True,
                       format_func=lambda c: t(f"cases.count.{c}"))
urgent = None if urgent_choice == "any" else urgent_choice == "yes"
chosen = gcases.filter_cases(cases, start=start, end=end, categories=categories, channels=channels,
                             urgent=urgent, statuses=statuses)
if chosen.empty:
    st.info(t("cases.nothing"))
    st.stop()
sel_key = (cases_key, grids_key, str(start), str(end), tuple(categories), tuple(channels), urgent_choice,
           tuple(statuses))
table, split = analysis(sel_key, chosen, grids, gu.households["households"].rename(index=str), count)

in_grid = chosen["grid_id"].notna()
located_calls = int(in_grid.sum())
patrol_calls = split.drop(columns="patrol_share").filter(regex="|".join(gcases.PATROL_WORDS)).to_numpy().sum()
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric(t("cases.m_calls"), f"{len(chosen):,}")
m2.metric(t("cases.m_matters"), f"{chosen['matter_id'].nunique():,}")
m3.metric(t("cases.m_located"), f"{located_calls:,}")
m4.metric(t("cases.m_outside"), f"{int(chosen.index.isin(outside).sum()):,}")
m5.metric(t("cases.m_patrol"), f"{patrol_calls / located_calls:.0%}" if located_calls else "—")

data = layers(sel_key + (count,), chosen, table, split, district, lang(), count, grids)


@st.fragment
def heat_and_rate() -> None:
    """Heatmap, then the choropleth, each the page's full width (side by side, the district drew too small)."""
    st.subheader(t("cases.heatmap"))
    hm = maps.heat_map(data)
    if data.heat.cell_m is None:
        st.caption(t("cases.heat_points", n=f"{data.heat.calls:,}"))
    else:
        st.caption(t("cases.heat_cells", limit=f"{maps.MAX_HEAT_POINTS:,}", cell=int(data.heat.cell_m),
                     n=f"{len(data.heat.rows):,}", mb=f"{maps.payload_bytes(hm) / 1e6:.2f}"))
    st_folium(hm, key="cases_heat", returned_objects=[], use_container_width=True, height=560)
    st.subheader(t("cases.choropleth" if count == "matters" else "cases.choropleth_cases"))
    st_folium(maps.rate_map(data), key="cases_rate", returned_objects=[], use_container_width=True, height=560)


heat_and_rate()

st.subheader(t("cases.hotspots"))
st.markdown(md_escape(t("cases.method", unit=t(f"cases.unit.{count}"))))
hot = table[table["hotspot"].str.startswith("hot")]
cold = table[table["hotspot"].str.startswith("cold")]
st.caption(t("cases.hot_count", hot=len(hot), cold=len(cold), n=len(table), months=int(table["months"].max())))


@st.fragment
def hotspot_view() -> None:
    """Hotspot map (full width), then the table of significant grids."""
    st_folium(maps.hotspot_map(data), key="cases_hot", returned_objects=[], use_container_width=True, height=560)
    shown = table[table["hotspot"] != "not_significant"].sort_values("gi_z", ascending=False)
    if shown.empty:
        st.info(t("cases.no_hotspots"))
    else:
        show_table(pd.DataFrame({
            t("cases.col.grid_id"): shown.index.astype(str),
            t("cases.col.rate"): shown["rate_per_1000"],
            t("cases.col." + ("matters" if count == "matters" else "cases")): shown[count],
            t("cases.col.gi_z"): shown["gi_z"],
            t("cases.col.p_fdr"): shown["p_fdr"].round(4),
            t("cases.col.hotspot"): [t(f"cases.hotspot.{h}") for h in shown["hotspot"]],
            t("cases.col.trend"): [t(f"cases.trend.{x}") for x in shown["trend"]],
            t("cases.col.months_hot"): shown["months_hot"],
        }), hide_index=True, width="stretch", height=min(35 * (len(shown) + 1) + 3, 420))


hotspot_view()

with st.expander(t("cases.channel_split")):
    show_table(split.rename(columns={"patrol_share": t("cases.col.patrol_share")}), width="stretch")
if outside:
    with st.expander(t("cases.outside_list", n=len(outside))):
        out = cases.loc[cases.index.isin(outside)]
        show_table(pd.DataFrame({t("cases.col.case_id"): out.index.astype(str), t("cases.col.row"): out["row"],
                                   t("cases.col.created_at"): out["created_at"].astype(str),
                                   t("cases.col.category"): out["category"],
                                   t("cases.col.address"): out["address"]}), hide_index=True, width="stretch")
