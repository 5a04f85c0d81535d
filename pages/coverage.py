"""Service coverage: households within walking reach of stations per grid, the siting tool, what-if."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridgeo import coverage as cov
from gridgeo import maps
from gridgeo.errors import Problem, GeometryError, GridgeoError
from gridgeo.i18n import Lang
from gridgeo.tables import csv_bytes, xlsx_bytes
from pages._ui import (K, RULES, current_district, current_grids, file_upload, init_state, lang, load_district,
                       md_escape, mtime, show_error, show_table, stage_file, stop, t)

KEY_REACHES = "coverage_reaches"
KEY_REACH = "coverage_reach"
KEY_KIND = "coverage_kind"
KEY_SITES = "coverage_sites"          # {"key": …, "result": SitingResult}
KEY_CLOSE = "coverage_close"
KEY_CANDIDATES = "coverage_candidates"
KEY_K = "coverage_k"


@st.cache_resource(show_spinner=False, max_entries=4)
def coverage_model(path: str, version: float, candidates: str | None = None
                   ) -> tuple[cov.WalkingNetwork | None, cov.StationAccess]:
    """The walking network (None without streets) and station access; shared and read-only."""
    district = load_district(path, version)
    assert district.stations is not None
    cands = cov.read_candidates(candidates) if candidates else None
    network = (cov.build_network(district.streets, district.buildings, district.stations, candidates=cands)
               if district.streets is not None and not district.streets.empty else None)
    return network, cov.station_access(district.buildings, district.stations, network=network)


@st.cache_data(show_spinner=False, max_entries=4)
def station_problems(path: str, version: float) -> tuple[str, list[Problem]]:
    """The stations file's name and its stations outside the district (empty when all are fine)."""
    district = load_district(path, version)
    assert district.stations is not None
    return (Path(district.files.get("stations", [""])[0]).name,
            cov.check_stations(district.stations, district.communities))


@st.cache_data(show_spinner=False, max_entries=16)
def map_layers(path: str, version: float, grids_key: str, reach: int, kind: str, language: Lang,
               _grids: gpd.GeoDataFrame, _table: pd.DataFrame) -> maps.CoverageLayers:
    """Slim GeoJSON of the coverage map for one grids layer, reach, kind and language."""
    district = load_district(path, version)
    _, access = coverage_model(path, version)
    return maps.coverage_layers(_grids, _table, district.buildings, access.metres(kind), reach=reach,
                                method=access.method, streets=district.streets, stations=district.stations,
                                lang=language, communities=district.communities)


CANDIDATE_TYPES = ["geojson", "json", "gpkg", "zip", "csv", "xlsx"]
init_state()
st.session_state.setdefault(KEY_REACHES, ",".join(str(r) for r in RULES.walking_reach_m))
st.title(t("coverage.title"))                 # first: a page waiting for its inputs still says which page it is
st.caption(t("coverage.intro"))
path = st.session_state[K.DISTRICT]                                            # 1 inputs
district = current_district()
version = mtime(path)
if district.stations is None or district.stations.empty:
    st.info(t("coverage.no_stations"))
    stop()
stations_file, outside = station_problems(path, version)
if outside:   # rendered in the page's language by show_error: a heading, then one line per station
    err = GeometryError(f"stations file has {len(outside)} station(s) outside the district", path=stations_file,
                        code="err.coverage.station_outside", problems=outside, layer="stations")
    show_error(err)
    stop()

c1, c2, c3 = st.columns([2, 1, 2])
with c1:
    text = st.text_input(t("coverage.reaches"), key=f"w_{KEY_REACHES}",
                         value=st.session_state[KEY_REACHES])
try:
    reaches = cov.parse_reaches(text)
except GridgeoError:
    st.error(t("coverage.bad_reaches"), icon=":material/error:")
    stop()
st.session_state[KEY_REACHES] = text
with c2:
    shown_reach = st.session_state.get(KEY_REACH)
    reach = int(st.selectbox(t("coverage.reach"), reaches,
                             index=reaches.index(shown_reach) if shown_reach in reaches else 0,
                             format_func=lambda r: t("coverage.m", m=r), key=f"w_{KEY_REACH}_{text}_{lang()}"))
    st.session_state[KEY_REACH] = reach

try:
    with st.spinner():
        network, access = coverage_model(path, version)                       # 2 gridgeo
except GridgeoError as err:
    show_error(err)
    stop()
kinds = [cov.ANY, *access.kinds]
with c3:
    kind = str(st.selectbox(t("coverage.kind"), kinds, key=f"w_{KEY_KIND}_{lang()}",
                            index=kinds.index(st.session_state.get(KEY_KIND, cov.ANY))
                            if st.session_state.get(KEY_KIND, cov.ANY) in kinds else 0,
                            format_func=lambda k: t(f"coverage.kind.{k}") if k == cov.ANY else t(f"map.station.{k}")))
    st.session_state[KEY_KIND] = kind

method = t(f"coverage.method.{access.method}")
if access.method == "straight_line":
    st.warning(t("coverage.straight_line"), icon=":material/straighten:")
else:
    st.caption(t("coverage.walking"))

in_use = current_grids(district)
st.caption(t(f"app.grids_source.{in_use.source}"))
grids_key = f"{in_use.source}:{st.session_state.get(K.PLAN)}:{len(in_use.grids)}"
all_grids = cov.coverage_by_grid(access, district.buildings, in_use.grids, reaches, assignments=in_use.assignments)
grid_table = cov.uncovered_first(cov.for_kind(all_grids, kind, reaches), reach)
communities = cov.for_kind(cov.coverage_by_community(access, reaches, district.communities), kind, reaches)
total = cov.coverage_of_district(access, reaches)

cols = st.columns(len(reaches) + 1)                                           # 3 render
for col, r in zip(cols, reaches):
    within = int(total[f"within_{r}"] if kind == cov.ANY else total[f"within_{r}_{kind}"])
    share = within / total["households"] if total["households"] else 0.0
    col.metric(t("coverage.district_share", reach=r, method=t(f"coverage.method_short.{access.method}")),
               f"{share:.1%}",
               help=t("coverage.district_within", reach=r) + f": {within:,} / {int(total['households']):,} ({method})")
n_none = int(((grid_table[f"within_{reach}"] == 0) & (grid_table["households"] > 0)).sum())
cols[-1].metric(t("coverage.grids_none", reach=reach), f"{n_none} / {len(grid_table)}",
                help=t("coverage.grids_none_help"))


# --- siting and what-if (callbacks: the map above shows their results on the same run)
def _candidates_path() -> str | None:
    upload = st.session_state.get(KEY_CANDIDATES)
    if upload is None or Path(upload.name).suffix.lower().lstrip(".") not in CANDIDATE_TYPES:
        return None                        # a file of another type: file_upload has said so
    return str(stage_file(upload, "candidates"))


def _upload_id() -> tuple[str, int] | None:
    """The candidates file now in the uploader (name, size), None if there is none."""
    upload = st.session_state.get(KEY_CANDIDATES)
    return None if upload is None else (str(upload.name), int(upload.size))


def run_siting() -> None:
    k = int(st.session_state[KEY_K])
    cand = _candidates_path()
    try:
        if cand is not None and network is None:
            net, acc, cands = None, access, cov.read_candidates(cand)
        else:
            net, acc = coverage_model(path, version, cand) if cand else (network, access)
            cands = cov.read_candidates(cand) if cand else None
        result = cov.plan_sites(acc, district.buildings, k=k, reach_m=reach, kind=kind, network=net,
                                candidates=cands)
    except GridgeoError as err:
        st.session_state[KEY_SITES] = {"error": err, "upload": _upload_id()}
        return
    st.session_state[KEY_SITES] = {"key": (path, version, reach, kind), "result": result}


sites_entry: dict[str, Any] | None = st.session_state.get(KEY_SITES)
site_result = (sites_entry["result"] if sites_entry and "result" in sites_entry
               and sites_entry["key"] == (path, version, reach, kind) else None)
impact = cov.removal_impact(district.buildings, district.stations, reach_m=reach, kind=kind, network=network)
close_id = st.session_state.get(KEY_CLOSE)
lost_ids = impact.sole.index[impact.sole == close_id] if close_id in impact.table.index else pd.Index([])


@st.fragment
def coverage_view() -> None:
    """The map and its tile toggle; the toggle reruns only this block."""
    st.subheader(t("coverage.map"))
    st.toggle(t("app.osm"), key=K.OSM)
    layers = map_layers(path, version, grids_key, reach, kind, lang(), in_use.grids, grid_table)
    sites = maps.sites_layer_data(site_result.sites) if site_result is not None and len(site_result.sites) else None
    newly = (maps.highlight_data(district.buildings, site_result.newly_covered.index)
             if site_result is not None else None)
    lost = maps.highlight_data(district.buildings, lost_ids) if len(lost_ids) else None
    m = maps.coverage_map(layers, sites=sites, newly=newly, lost=lost, osm=bool(st.session_state[K.OSM]))
    st_folium(m, key="coverage_map", returned_objects=[], use_container_width=True, height=620)


coverage_view()


def shown_table(table: pd.DataFrame, id_col: str, extra: dict[str, str]) -> pd.DataFrame:
    data: dict[str, Any] = {t(id_col): table.index.astype(str)}
    for col, label in extra.items():
        data[label] = table[col].to_numpy()
    data[t("coverage.col.households")] = table["households"].to_numpy()
    for r in reaches:
        data[t("coverage.col.within", reach=r)] = table[f"within_{r}"].to_numpy()
        data[t("coverage.col.share", reach=r)] = (table[f"share_{r}"] * 100).round(1).to_numpy()
    return pd.DataFrame(data)


st.subheader(t("coverage.by_grid"))
extra = {"community_id": t("coverage.col.community_id")} if "community_id" in grid_table.columns else {}
show_table(shown_table(grid_table, "coverage.col.grid_id", extra), hide_index=True, width="stretch",
             height=min(35 * (len(grid_table) + 1) + 3, 420),
             column_config={t("coverage.col.share", reach=r): st.column_config.ProgressColumn(
                 format="%.1f%%", min_value=0, max_value=100) for r in reaches})
st.subheader(t("coverage.by_community"))
show_table(shown_table(cov.uncovered_first(communities, reach), "coverage.col.community_id",
                         {"name": t("coverage.col.name")}), hide_index=True, width="stretch")
st.subheader(t("coverage.by_kind"))
show_table(pd.DataFrame({
    t("coverage.col.kind"): [t(f"map.station.{k}") for k in access.kinds] + [t("coverage.kind.any")],
    **{t("coverage.col.within", reach=r): [int(total[f"within_{r}_{k}"]) for k in access.kinds]
       + [int(total[f"within_{r}"])] for r in reaches},
}), hide_index=True, width="stretch")

st.subheader(t("coverage.siting"))
st.caption(t("coverage.siting_intro"))
s1, s2 = st.columns([1, 3])
with s1:
    st.number_input(t("coverage.k"), min_value=1, max_value=30, value=3, step=1, key=KEY_K)
with s2:
    file_upload(t("coverage.candidates"), CANDIDATE_TYPES, KEY_CANDIDATES)
st.button(t("coverage.run_siting"), type="primary", key="coverage_run", on_click=run_siting)
if sites_entry and "error" in sites_entry and sites_entry.get("upload") == _upload_id():
    show_error(sites_entry["error"])      # only while the file it is about is still the one uploaded
if site_result is not None:
    st.success(t("coverage.siting_result", k=len(site_result.sites), reach=site_result.reach_m,
                 gained=site_result.households_gained, before=site_result.uncovered_households,
                 status=t(f"coverage.status.{site_result.status}"), seconds=site_result.seconds)
               + f" · {t(f'coverage.method.{site_result.method}')}")
    s = site_result.sites
    show_table(pd.DataFrame({
        t("coverage.col.rank"): s["rank"].to_numpy(), t("coverage.col.site"): s.index.astype(str),
        t("coverage.col.gained"): s["households_gained"].to_numpy(),
        t("coverage.col.gained_b"): s["buildings_gained"].to_numpy(),
        t("coverage.col.lon"): s.geometry.x.round(6).to_numpy(), t("coverage.col.lat"): s.geometry.y.round(6).to_numpy(),
    }), hide_index=True, width="stretch")

st.subheader(t("coverage.removal"))
st.caption(t("coverage.removal_intro"))
names = impact.table["name"].astype(str)
options = [None, *impact.table.index]
st.selectbox(t("coverage.removal_station"), options, key=KEY_CLOSE,
             format_func=lambda s: "—" if s is None else f"{s} · {names[s]}")
if close_id in impact.table.index:
    row = impact.table.loc[close_id]
    st.info(t("coverage.removal_result", name=md_escape(f"{close_id} {names[close_id]}"), reach=reach,
              lost=int(row["households_lost"]), buildings=int(row["buildings_lost"])))
show_table(pd.DataFrame({
    t("coverage.col.station"): impact.table.index.astype(str), t("coverage.col.name"): names.to_numpy(),
    t("coverage.col.kind"): [t(f"map.station.{maps.station_kind(k)}") for k in impact.table["kind"]],
    t("coverage.col.covered"): impact.table["households_covered"].to_numpy(),
    t("coverage.col.lost"): impact.table["households_lost"].to_numpy(),
}), hide_index=True, width="stretch", height=300)

st.subheader(t("coverage.downloads"))
grids_out = cov.grids_frame(grid_table if kind == cov.ANY else all_grids, reaches, access.kinds)
sheets = {"grids": grids_out,
          "communities": cov.grids_frame(cov.coverage_by_community(access, reaches, district.communities),
                                         reaches, access.kinds),
          "buildings": cov.buildings_frame(access), "stations": impact.table}
if site_result is not None:
    sheets["sites"] = pd.DataFrame(site_result.sites.drop(columns="geometry"))
d1, d2, d3 = st.columns(3)
d1.download_button(t("coverage.download_csv"), csv_bytes(grids_out, lang=lang()), file_name="coverage_grids.csv",
                   mime="text/csv", key="dl_cov_csv", on_click="ignore")
d2.download_button(t("coverage.download_xlsx"), xlsx_bytes(sheets, lang=lang()), file_name="coverage.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_cov_xlsx",
                   on_click="ignore")
if site_result is not None and len(site_result.sites):
    d3.download_button(t("coverage.download_sites"), cov.sites_geojson(site_result), file_name="sites.geojson",
                       mime="application/geo+json", key="dl_cov_sites", on_click="ignore")
