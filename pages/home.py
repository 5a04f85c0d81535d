"""Home: the district's key figures, an overview map and a table per community."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridgeo import maps
from pages._ui import (K, RULES, current_district, district_caption, district_summary, init_state, lang, md_escape,
                       mtime, overview_layers, show_table, t)

init_state()
st.title(t("home.title"))
path = st.session_state[K.DISTRICT]                                            # 1 inputs
district = current_district()
version = mtime(path)
figures, table, problems = district_summary(path, version, lang())                     # 2 gridgeo
lo, hi = RULES.min_households, RULES.max_households

st.caption(district_caption(district))

c1, c2, c3, c4 = st.columns(4)
c1.metric(t("home.communities"), f"{figures['communities']:,}")
c2.metric(t("home.buildings"), f"{figures['buildings']:,}")
c3.metric(t("home.households"), f"{figures['households']:,}")
c4.metric(t("home.feasible", lo=lo, hi=hi), f"{figures['feasible_communities']} / {figures['communities']}",
          help=t("home.feasible_help", lo=lo, hi=hi))

infeasible = table[~table["feasible"]]
if len(infeasible):
    names = ("、" if lang() == "zh" else ", ").join(
        f"{name}（{h:,}）" if lang() == "zh" else f"{name} ({h:,})"
        for name, h in zip(infeasible["name"], infeasible["households"]))
    st.warning(md_escape(t("home.infeasible_note", n=len(infeasible), lo=lo, hi=hi, names=names)))


@st.fragment
def overview() -> None:
    """Map and its own toggle: flipping the tiles reruns only this block."""
    st.subheader(t("home.map"))
    st.toggle(t("app.osm"), key=K.OSM)
    layers = overview_layers(path, version, lang())
    m = maps.overview_map(layers, osm=bool(st.session_state[K.OSM]))
    st_folium(m, key="home_map", returned_objects=[], use_container_width=True, height=600)


overview()

st.subheader(t("home.table"))
shown = pd.DataFrame({
    t("col.community_id"): table.index.astype(str),
    t("col.name"): table["name"],
    t("col.street"): table["street"],
    t("col.kind"): [t(f"kind.{k}") for k in table["kind"]],
    t("col.households"): table["households"],
    t("col.buildings"): table["buildings"],
    t("col.k_range"): [f"{a}–{b}" if pd.notna(a) else "—" for a, b in zip(table["k_min"], table["k_max"])],
    t("col.feasible"): table["feasible"],
})
show_table(shown, hide_index=True, width="stretch", height=min(35 * (len(shown) + 1) + 3, 800))

with st.expander(t("home.problems", n=len(district.problems)), expanded=False):
    if problems.empty:
        st.write(t("home.no_problems"))
    else:
        show_table(pd.DataFrame({
            t("home.problem_code"): [t(f"home.severity.{x}") for x in problems["severity"]],
            t("home.problem_count"): problems["count"],
            t("home.problem_ids"): problems["ids"],
            t("home.problem_message"): problems["message"],
        }), hide_index=True, width="stretch")
