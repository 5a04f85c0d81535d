"""The planner's hand-editing panel: click a building, move it, watch the counts; undo, rebalance, save.

The planner page calls :func:`edit_section` with the plan it shows. The editing
session (``gridgeo.plans.EditSession``) lives in ``st.session_state`` per plan;
the map and its controls form one fragment, so a click or an edit reruns only
this block. Buttons act in ``on_click`` callbacks, before the map is drawn, so
the map a rerun shows is already the edited plan.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridgeo import io, maps
from gridgeo.errors import GridgeoError, PlanConflictError
from gridgeo.i18n import Lang
from gridgeo.plans import EditSession, PlanVersion, Workspace, plan_from_partition
from gridgeo.plans.store import DEFAULT_WORKSPACE
from pages._ui import ROOT, lang, md_escape, mtime, show_error, t

#: the workspace the page saves to (``GRIDGEO_WORKSPACE`` overrides; created from the district if missing)
WORKSPACE = Path(os.environ.get("GRIDGEO_WORKSPACE") or ROOT / DEFAULT_WORKSPACE)


MAP_KEY = "edit_map"


class EK:
    """Session keys of the editing panel."""

    ON = "edit_on"
    SESSIONS = "_edit_sessions"       # {plan key: EditSession}; only the shown plan's is kept
    BASE = "_edit_base_check"          # the check of the plan as loaded, for the metric deltas
    BUILDING = "edit_building"         # text input: selected building id
    GRID = "edit_grid"                 # selected grid id
    LAST_CLICK = "_edit_last_click"
    TARGET = "edit_target"
    SCOPE = "edit_scope"               # + _zh / _en (see _scope_key)
    UNITS = "edit_units"
    MERGE = "edit_merge_with"
    AUTHOR = "edit_author"
    NOTE = "edit_note"
    ERROR = "_edit_error"
    SAVED = "_edit_saved"
    CHECK = "_edit_check"              # (session id, revision, check): live validation, once per edit
    GRID_JS = "_edit_grid_js"          # (session id, revision, language, grids layer text), once per edit
    STAMP = "_edit_stamp"              # perf_counter when the last action started (click-to-map timing)
    SECONDS = "_edit_seconds"


@st.cache_resource(show_spinner=False, max_entries=4)   # read-only; cache_data would unpickle ~1 MB a rerun
def _base_layers(path: str, mtime_: float, lang_: Lang) -> maps.EditBase:
    from pages._ui import load_district

    d = load_district(path, mtime_)
    return maps.edit_base(d.communities, d.buildings, d.streets, lang=lang_)


def _session(district: io.District, source: Any, key: Any) -> EditSession:
    sessions: dict[Any, EditSession] = st.session_state.setdefault(EK.SESSIONS, {})
    if key not in sessions:
        plan = source if isinstance(source, PlanVersion) else plan_from_partition(source)
        with st.spinner(t("edit.page.opening")):
            ses = EditSession(plan, district.communities, district.buildings, district.streets,
                              seed=int(plan.meta.get("seed", 0)))
        sessions.clear()
        sessions[key] = ses
        st.session_state[EK.BASE] = ses.check()
        for k in (EK.BUILDING, EK.GRID, EK.LAST_CLICK, EK.ERROR, EK.SAVED):
            st.session_state.pop(k, None)
    return sessions[key]


def _act(name: str, *args: Any, **kwargs: Any) -> None:
    """Button callback: run one session method, keep a GridgeoError to show."""
    ses = _current()
    st.session_state[EK.STAMP] = time.perf_counter()
    st.session_state.pop(EK.ERROR, None)
    st.session_state.pop(EK.SAVED, None)
    try:
        getattr(ses, name)(*args, **kwargs)
    except GridgeoError as err:
        st.session_state[EK.ERROR] = err


def _current() -> EditSession:
    sessions: dict[Any, EditSession] = st.session_state[EK.SESSIONS]
    return next(iter(sessions.values()))


def _scope_key() -> str:
    """One radio per language: the frontend keeps a radio's choice by its (translated) label."""
    return f"{EK.SCOPE}_{lang()}"


def _move() -> None:
    b = st.session_state.get(EK.BUILDING) or None
    to = st.session_state.get(EK.TARGET)
    scope = st.session_state.get(_scope_key(), "building")
    if not b or not to:
        return
    ses = _current()
    if scope == "compound":
        comp = ses.building_info(b)["compound_id"]
        _act("move", to, compound=comp)
    elif scope == "units":
        _act("move", to, building=b, units=st.session_state.get(EK.UNITS) or "")
    else:
        _act("move", to, building=b)


def _dedicate() -> None:
    b = st.session_state.get(EK.BUILDING) or None
    if not b:
        return
    ses = _current()
    if st.session_state.get(_scope_key()) == "compound":
        _act("dedicate", compound=ses.building_info(b)["compound_id"])
    else:
        _act("dedicate", building=b)


def _save(district: io.District) -> None:
    ses = _current()
    st.session_state.pop(EK.ERROR, None)
    author = str(st.session_state.get(EK.AUTHOR) or "").strip()
    if not author:
        st.session_state[EK.SAVED] = ("warning", t("edit.page.need_author"))
        return
    if not ses.log:
        st.session_state[EK.SAVED] = ("info", t("edit.page.nothing_to_save"))
        return
    note = str(st.session_state.get(EK.NOTE) or "")
    try:
        ws = Workspace.open(WORKSPACE, create_from=district)
        parent = ses.plan.version_id
        if parent is None:      # an unsaved engine plan: keep it as the parent version first
            parent = ws.save(ses.plan, parent=ws.latest(), author=author, note="engine plan", branch=ws.latest()
                             is not None)
        new = ses.to_plan(author=author, note=note)
        kind = "success"
        try:
            vid = ws.save(new, parent=parent, author=author, note=note)
        except PlanConflictError as err:   # someone saved meanwhile: keep both, as a branch
            vid = ws.save(new, parent=parent, author=author, note=note, branch=True)
            kind = "warning"
            st.session_state[EK.ERROR] = err
        ses.mark_saved(vid)
        st.session_state[EK.SAVED] = (kind, t("edit.page.saved", version=vid, store=str(WORKSPACE)))
    except GridgeoError as err:
        st.session_state[EK.ERROR] = err


def _selected_frame(district: io.District, building: str | None) -> gpd.GeoDataFrame | None:
    if not building or building not in district.buildings.index:
        return None
    return district.buildings.loc[[building], ["geometry"]]


def _metrics(ses: EditSession, check: Any) -> None:
    base = st.session_state.get(EK.BASE, check)
    c = st.columns(5)
    c[0].metric(t("edit.page.grids"), check.n_grids, delta=check.n_grids - base.n_grids or None)
    c[1].metric(t("edit.page.within"), check.within, delta=check.within - base.within or None)
    out, out0 = len(check.out_of_bounds), len(base.out_of_bounds)
    c[2].metric(t("edit.page.out"), out, delta=out - out0 or None, delta_color="inverse")
    ded, ded0 = check.dedicated, base.dedicated        # counted apart: exempt from the bounds
    c[3].metric(t("edit.page.dedicated"), ded, delta=ded - ded0 or None, help=t("edit.page.dedicated_help"))
    c[4].metric(t("edit.page.edits"), len(ses.log))


def _take_click(ses: EditSession) -> None:
    """Select what the last map click hit, before anything is drawn (no second rerun needed).

    The component's value is in session state when the click's rerun starts.
    """
    click = (st.session_state.get(MAP_KEY) or {}).get("last_object_clicked")
    if click and click != st.session_state.get(EK.LAST_CLICK):
        st.session_state[EK.LAST_CLICK] = click
        st.session_state[EK.STAMP] = time.perf_counter()
        lon, lat = float(click["lng"]), float(click["lat"])
        st.session_state[EK.BUILDING] = ses.building_at(lon, lat) or ""
        st.session_state[EK.GRID] = ses.grid_at(lon, lat)


def _check(ses: EditSession) -> Any:
    """The live validation, recomputed only when an edit, undo or redo changed the plan (not on a click)."""
    cached = st.session_state.get(EK.CHECK)
    if cached is None or cached[:2] != (id(ses), ses.revision):
        cached = (id(ses), ses.revision, ses.check())
        st.session_state[EK.CHECK] = cached
    return cached[2]


def _grid_js(ses: EditSession, check: Any) -> str:
    """The grids layer serialised with its styles, rebuilt only when the plan changed (not on a click)."""
    key = (id(ses), ses.revision, lang())
    cached = st.session_state.get(EK.GRID_JS)
    if cached is None or cached[:3] != key:
        cached = (*key, maps.edit_grid_layer(ses.current_grids(check), lang()))
        st.session_state[EK.GRID_JS] = cached
    return str(cached[3])


@st.fragment
def _editor(district: io.District, path: str) -> None:
    ses = _current()
    _take_click(ses)
    check = _check(ses)
    _metrics(ses, check)
    err = st.session_state.get(EK.ERROR)
    if err is not None:
        show_error(err)
    saved = st.session_state.get(EK.SAVED)
    if saved is not None:
        getattr(st, saved[0])(saved[1])
    left, right = st.columns([3, 2])
    with left:
        base = _base_layers(path, mtime(path), lang())
        building = st.session_state.get(EK.BUILDING) or None
        groups = maps.edit_groups(None, base, selected=_selected_frame(district, building),
                                  grid_js=_grid_js(ses, check))
        st_folium(maps.edit_map(base), key=MAP_KEY, returned_objects=["last_object_clicked"],
                  feature_group_to_add=groups, use_container_width=True, height=600)
        stamp = st.session_state.pop(EK.STAMP, None)
        if stamp is not None:    # server side of click-to-map: the browser test measures the whole trip
            st.session_state[EK.SECONDS] = time.perf_counter() - stamp
        if EK.SECONDS in st.session_state:
            st.caption(t("edit.page.click_seconds", seconds=st.session_state[EK.SECONDS]))
    with right:
        _building_panel(ses)
        _grid_panel(ses, check)
        b1, b2, b3 = st.columns(3)
        b1.button(t("edit.page.undo"), key="edit_undo", on_click=_act, args=("undo",), disabled=not ses.can_undo,
                  icon=":material/undo:")
        b2.button(t("edit.page.redo"), key="edit_redo", on_click=_act, args=("redo",), disabled=not ses.can_redo,
                  icon=":material/redo:")
        b3.button(t("edit.page.rebalance"), key="edit_rebalance", on_click=_act, args=("rebalance",),
                  help=t("edit.page.rebalance_help"), disabled=not ses.log, icon=":material/balance:")
        _problems(check)
        st.text_input(t("edit.page.author"), key=EK.AUTHOR)
        st.text_input(t("edit.page.note"), key=EK.NOTE)
        st.button(t("edit.page.save"), key="edit_save", type="primary", on_click=_save, args=(district,),
                  disabled=not ses.log, icon=":material/save:")


def _building_panel(ses: EditSession) -> None:
    st.text_input(t("edit.page.building_id"), key=EK.BUILDING, placeholder=t("edit.page.click_hint"))
    b = st.session_state.get(EK.BUILDING) or None
    if not b:
        st.caption(t("edit.page.click_hint"))
        return
    try:
        info = ses.building_info(b)
        targets = ses.neighbours_of_building(b)
    except GridgeoError as err:
        show_error(err)
        return
    st.markdown(md_escape(t("edit.page.selected", building=b, households=info["households"], units=info["units"],
                            compound=info["compound_id"] or "—", grids=", ".join(info["grids"]))))
    scopes = ["building"] + (["compound"] if info["compound_id"] else []) + (["units"] if info["units"] > 1 else [])
    if st.session_state.get(_scope_key()) not in scopes:
        st.session_state[_scope_key()] = "building"
    labels = {s: t(f"edit.page.scope.{s}") for s in scopes}   # bound now: AppTest formats outside the run
    st.radio(t("edit.page.scope"), scopes, key=_scope_key(), horizontal=True, format_func=labels.__getitem__)
    if st.session_state.get(_scope_key()) == "units":
        st.text_input(t("edit.page.units"), key=EK.UNITS, placeholder=f"1-{info['units'] - 1}")
    if st.session_state.get(EK.TARGET) not in targets:
        st.session_state[EK.TARGET] = targets[0] if targets else None
    c1, c2 = st.columns([3, 2])
    c1.selectbox(t("edit.page.target"), targets, key=EK.TARGET)
    c2.button(t("edit.page.move"), key="edit_move", type="primary", on_click=_move, disabled=not targets,
              icon=":material/move_item:")
    st.button(t("edit.page.dedicate"), key="edit_dedicate", on_click=_dedicate, icon=":material/school:")


def _grid_panel(ses: EditSession, check: Any) -> None:
    gid = st.session_state.get(EK.GRID)
    if not gid or gid not in check.table.index:
        return
    row = check.table.loc[gid]
    st.markdown(md_escape(t("edit.page.grid_selected", grid=gid)) + f" · {int(row['households'])} "
                + md_escape(t("edit.col.households")))
    c1, c2, c3 = st.columns([2, 2, 3])
    c1.button(t("edit.page.split"), key="edit_split", on_click=_act, args=("split", gid), icon=":material/call_split:")
    locked = bool(row["locked"])
    c2.button(t("edit.page.unlock") if locked else t("edit.page.lock"), key="edit_lock", on_click=_act,
              args=("set_locked", [gid], not locked), icon=":material/lock:")
    nbs = ses.grid_neighbours(gid)
    if nbs:
        with c3:
            other = st.selectbox(t("edit.page.merge_with"), nbs, key=EK.MERGE)
            st.button(t("edit.page.merge"), key="edit_merge", on_click=_act, args=("merge", gid, other),
                      icon=":material/merge:")


def _problems(check: Any) -> None:
    if not check.touched:
        return
    tbl = check.table.loc[[g for g in check.touched if g in check.table.index]]
    st.caption(t("edit.page.touched_table"))
    shown = pd.DataFrame({
        t("edit.col.grid"): tbl.index.astype(str),
        t("edit.col.households"): tbl["households"].astype(int).to_numpy(),
        t("edit.col.buildings"): tbl["buildings"].astype(int).to_numpy(),
        t("edit.col.status"): [t(f"edit.status.{s}") for s in tbl["status"]],
        t("edit.col.parts"): tbl["parts"].astype(int).to_numpy(),
    })
    st.table(shown.set_index(t("edit.col.grid")))   # a few rows: plain HTML, readable and selectable
    lines = [t(p.code, **dict(p.params)) for p in check.problems]
    if lines:
        st.warning("\n".join(f"- {md_escape(x)}" for x in lines))
    else:
        st.success(t("edit.page.no_problems"))


def edit_section(district: io.District, plan: Any, key: Any) -> None:
    """The hand-editing block under the planner's map.

    ``plan`` is a ``PlanVersion`` or a partition result (then wrapped as an unsaved version);
    ``key`` identifies it (the planner's plan key, or a version id).
    """
    st.subheader(t("edit.page.title"))
    st.caption(t("edit.page.intro"))
    if not st.toggle(t("edit.page.toggle"), key=EK.ON):
        return
    try:
        _session(district, plan, key)
    except GridgeoError as err:
        show_error(err)
        return
    _editor(district, str(st.session_state.get("district_path", "")))
