"""Planner: partition every community into grids of min–max households, show and export the plan."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridgeo import maps, summary
from gridgeo.errors import GridgeoError
from gridgeo.export import assignments_csv, grids_geojson
from gridgeo.partition import partition
from pages._edit_ui import edit_section
from pages._plans_ui import plans_section
from pages._ui import (K, RULES, current_district, district_caption, init_state, kept_number_input, lang, md_escape,
                       mtime, show_error, show_table, stop, t)

MAX_KEPT_PLANS = 3  # partition results kept per session (each holds every grid geometry)
# Communities are independent: partition forks one worker per core (fork, so the
# children never re-run this page, which Streamlit executes as __main__).
WORKERS = max(1, min(4, os.cpu_count() or 1))

init_state()
st.title(t("planner.title"))                  # first: a page waiting for its inputs still says which page it is
path = st.session_state[K.DISTRICT]                                            # 1 inputs
district = current_district()
version = mtime(path)

st.caption(district_caption(district) + " · " + t("planner.intro"))
c1, c2, c3, c4 = st.columns(4)
with c1:
    lo = kept_number_input(t("planner.min"), K.MIN, min_value=1, step=10)
with c2:
    hi = kept_number_input(t("planner.max"), K.MAX, min_value=1, step=10)
with c3:
    target = kept_number_input(t("planner.target"), K.TARGET, min_value=1, step=10)
with c4:
    seed = kept_number_input(t("planner.seed"), K.SEED, min_value=0, step=1,
                             help=t("planner.seed_help"))
try:
    rules = RULES.with_bounds(min_households=int(lo), max_households=int(hi), target_households=int(target))
except ValueError:
    st.error(t("planner.bad_bounds", lo=lo, target=target, hi=hi), icon=":material/error:")
    stop()

key = (path, version, rules.min_households, rules.max_households, rules.target_households, int(seed))
plans: dict[tuple[Any, ...], dict[str, Any]] = st.session_state[K.PLANS]

if st.button(t("planner.run"), type="primary", key="planner_run"):                # 2 gridgeo
    if key not in plans:
        names = district.communities["name"].astype(str).to_dict()
        bar = st.progress(0.0, text=t("planner.starting"))

        def progress(done: int, total: int, community_id: str) -> None:
            share = done / total if total else 1.0
            bar.progress(min(max(share, 0.0), 1.0),
                         text=t("planner.progress", done=done, total=total,
                                name=md_escape(names.get(community_id, str(community_id)))))

        try:
            result = partition(district.communities, district.buildings, district.streets,
                               rules=rules, seed=int(seed), progress=progress, workers=WORKERS)
        except GridgeoError as err:
            bar.empty()
            show_error(err)
            stop()
        bar.empty()
        for old in list(plans)[: max(0, len(plans) - MAX_KEPT_PLANS + 1)]:
            del plans[old]
        plans[key] = {"result": result, "layers": {}}
    st.session_state[K.PLAN] = key

shown_key = st.session_state[K.PLAN]
entry = plans.get(shown_key) if shown_key is not None else None
if entry is None or shown_key[:2] != (path, version):
    st.info(t("planner.press_run"))
    plans_section(district, None)
    stop()
if shown_key != key:
    st.warning(t("planner.stale", lo=shown_key[2], hi=shown_key[3], target=shown_key[4], seed=shown_key[5]))
result = entry["result"]
metrics = result.metrics()                                                    # 3 render
report = result.report

m1, m2, m3, m4 = st.columns(4)
m1.metric(t("planner.grids"), f"{int(metrics['n_grids']):,}")
# all grids counted (the warning below lists the others); the feasible-only share is in the help
m2.metric(t("planner.within"), f"{int(metrics['n_within']):,} / {int(metrics['n_grids']):,}",
          help=t("planner.within_help", share=f"{metrics['share_within']:.0%}",
                 feasible=f"{metrics['share_within_feasible']:.0%}"))
m3.metric(t("planner.pp_mean"), f"{metrics['pp_mean']:.2f}", help=t("planner.pp_help"))
if district.streets is not None and len(district.streets):
    m4.metric(t("planner.street_share"), f"{metrics['street_share']:.0%}", help=t("planner.street_help"))
else:   # without streets only the community edge would count: a share "along streets" would mislead
    m4.metric(t("planner.street_share"), "—", help=t("planner.street_none"))

oob = summary.grids_out_of_bounds(result.grids, district.communities)
if len(oob):                                    # how many grids are out of bounds, and where
    sep, colon = ("、", "：") if lang() == "zh" else (", ", ": ")
    lines = [
        f"- **{md_escape(str(row['name']))}**{colon}" + sep.join(
            t(f"planner.oob_grid.{status}", serial=md_escape(gid[-3:]), households=h if h is not None else "—")
            for gid, status, h in row["grids"])
        for _, row in oob.iterrows()
    ]
    st.warning(t("planner.out_of_bounds", n=int(oob["under"].sum() + oob["over"].sum()),
                 under=int(oob["under"].sum()), over=int(oob["over"].sum()), communities=len(oob),
                 lo=shown_key[2], hi=shown_key[3]) + "\n\n" + "\n".join(lines), icon=":material/warning:")

infeasible = report[~report["feasible"].astype(bool)]
if len(infeasible):
    names = district.communities["name"].astype(str)
    explanation = "explanation_en" if lang() == "en" else "explanation_zh"
    colon = "：" if lang() == "zh" else ": "
    lines = [f"- **{md_escape(names.get(cid, str(cid)))}**{colon}{md_escape(str(row[explanation]))}"
             for cid, row in infeasible.iterrows()]
    st.warning(t("planner.infeasible", n=len(infeasible)) + "\n\n" + "\n".join(lines))


@st.fragment
def grid_view() -> None:
    """Map and its tile toggle; the toggle reruns only this block."""
    st.subheader(t("planner.map"))
    st.toggle(t("app.osm"), key=K.OSM)
    layers = entry["layers"].get(lang())
    if layers is None:
        layers = maps.grid_layers(result.grids, district.communities, district.streets,
                                  buildings=district.buildings, lang=lang())
        entry["layers"][lang()] = layers
    m = maps.grid_map(layers, osm=bool(st.session_state[K.OSM]), stations=district.stations)
    st_folium(m, key="planner_map", returned_objects=[], use_container_width=True, height=600)


grid_view()

st.subheader(t("planner.table"))
explanation = "explanation_en" if lang() == "en" else "explanation_zh"
names = district.communities["name"].astype(str).reindex(report.index)
state = summary.plan_status(report, result.grids)
n_out = result.grids[result.grids["status"].isin(["under", "over"])].groupby("community_id").size()
shown = pd.DataFrame({
    t("col.community_id"): report.index.astype(str),
    t("col.name"): names.to_numpy(),
    t("col.households"): report["households"].to_numpy(),
    t("col.grids"): report["grids"].to_numpy(),
    t("col.k_range"): [f"{a}–{b}" if pd.notna(a) and pd.notna(b) and a <= b else "—"
                       for a, b in zip(report["k_min"], report["k_max"])],
    t("col.plan_status"): [t(f"planner.state.{s}", n=int(n_out.get(cid, 0))) for cid, s in state.items()],
})
# the explanations are long sentences: a detail view of the selected row shows them whole
event = show_table(shown, hide_index=True, width="stretch", height=min(35 * (len(shown) + 1) + 3, 800),
                     on_select="rerun", selection_mode="single-row", key="planner_table")
picked = list(event.selection.rows) if event is not None and hasattr(event, "selection") else []
flagged = [i for i, s in enumerate(state.to_numpy()) if s != "ok"]
row = picked[0] if picked else (flagged[0] if flagged else 0)
if len(report):
    cid = report.index[row]
    text = md_escape(str(report[explanation].iloc[row] or ""))
    box = st.info if state.iloc[row] == "ok" else st.warning
    box(t("planner.detail", name=md_escape(str(names.iloc[row])), id=md_escape(str(cid)), text=text))
    st.caption(t("planner.pick_row"))

st.subheader(t("planner.export"))
d1, d2 = st.columns(2)
d1.download_button(t("planner.download_grids"), grids_geojson(result.grids, words=lang()), file_name="grids.geojson",
                   mime="application/geo+json", key="dl_grids", on_click="ignore")
d2.download_button(t("planner.download_assignments"), assignments_csv(result.assignments, lang=lang()),
                   file_name="assignments.csv", mime="text/csv", key="dl_assignments", on_click="ignore")

edit_section(district, result, shown_key)                                      # hand redrawing (pages/_edit_ui.py)
plans_section(district, result)                                                # versions (pages/_plans_ui.py)
