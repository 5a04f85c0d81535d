"""The 方案与版本 section: save, list, restore, compare and import plan versions (used by the planner page).

The workspace GeoPackage is the store (``gridgeo.plans.store``). One file per
district: the bundled demo uses ``workspace/gridgeo.gpkg``; an uploaded district
gets its own file next to it. ``GRIDGEO_WORKSPACE_DIR`` moves the folder (tests).
Saved versions never change, so everything read from them is cached by
(file, creation stamp, version id).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridgeo import io, maps
from gridgeo.errors import GridgeoError, PlanConflictError
from gridgeo.export import assignments_csv, grids_geojson
from gridgeo.plans.diff import PlanDiff, diff
from gridgeo.plans.evaluate import Evaluation, evaluate
from gridgeo.plans.imports import import_grids, import_table
from gridgeo.plans.model import PlanVersion
from gridgeo.plans.store import Workspace
from gridgeo.plans.tables import ASSIGNMENT_HEADERS_ZH, assignments_table, local_dates, xlsx_bytes
from gridgeo.tables import codes_text
from pages._ui import (K, ROOT, default_plan, file_upload, lang, md_escape, mtime, show_error, show_table,
                       stage_file, t)

BUNDLED_DEMO = (ROOT / "data" / "demo").resolve()


class PK:
    """Session keys of the plans section."""

    BASE = "plans_base"          # {workspace path: version this session builds on}
    CHOSEN = "plans_chosen"      # {workspace path: version the other pages use}
    VIEW = "plans_view"          # selectbox: version viewed
    A = "plans_a"
    B = "plans_b"
    AUTHOR = "plans_author"
    CONFLICT = "plans_conflict"  # the plan a refused save wanted to write


def workspace_dir() -> Path:
    """Folder of the workspace files (``GRIDGEO_WORKSPACE_DIR`` or ``workspace/``)."""
    return Path(os.environ.get("GRIDGEO_WORKSPACE_DIR") or ROOT / "workspace")


def workspace_path(district_path: str) -> Path:
    """The workspace of a district: ``gridgeo.gpkg`` for the bundled demo, one file per other district.

    An upload is staged in a folder of its browser session, named by a hash of its files
    (``pages._ui.stage_upload``); its workspace follows the files, not the session, so the
    versions saved today are there when the same files are uploaded again tomorrow.
    """
    folder = Path(district_path)
    if folder.resolve() == BUNDLED_DEMO:
        return workspace_dir() / "gridgeo.gpkg"
    manifest = folder / "district.json"
    try:
        uploaded = bool(json.loads(manifest.read_text(encoding="utf-8")).get("uploaded"))
    except (OSError, ValueError, AttributeError):
        uploaded = False
    if uploaded:
        return workspace_dir() / f"upload-{folder.name}.gpkg"
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]
    return workspace_dir() / f"district-{digest}.gpkg"


def open_workspace(district: io.District) -> Workspace:
    """Open the district's workspace; on first use create it with the default plan saved as v1."""
    path = workspace_path(st.session_state[K.DISTRICT])
    if path.exists():
        return Workspace.open(path)
    with st.spinner(t("plans.creating")):
        src = st.session_state[K.DISTRICT]
        grids, assignments = default_plan(src, mtime(src))
        ws = Workspace.open(path, create_from=district)
        try:
            ws.save(PlanVersion(grids, assignments, meta={"source": "partition", "seed": 0}), parent=None,
                    author="gridgeo", name="默认方案 default plan", note="300–500, seed 0")
        except PlanConflictError:
            pass  # another session created it at the same moment
    return ws


def _stamp(ws: Workspace) -> str:
    return ws.info().get("created_at", "")


@st.cache_data(show_spinner=False, max_entries=16)
def load_version(path: str, stamp: str, version: str) -> PlanVersion:
    """A saved version (immutable, so cached by id)."""
    return Workspace.open(path).load(version)


@st.cache_data(show_spinner=False, max_entries=16)
def evaluation(path: str, stamp: str, version: str, district_path: str, district_mtime: float) -> Evaluation:
    """Per-grid table and metrics of a saved version on the chosen district."""
    from pages._ui import load_district

    return evaluate(load_version(path, stamp, version), load_district(district_path, district_mtime))


@st.cache_data(show_spinner=False, max_entries=8)
def comparison(path: str, stamp: str, a: str, b: str) -> PlanDiff:
    """Diff of two saved versions."""
    return diff(load_version(path, stamp, a), load_version(path, stamp, b))


@st.cache_data(show_spinner=False, max_entries=8)
def comparison_layers(path: str, stamp: str, a: str, b: str, district_path: str, district_mtime: float,
                      language: str) -> maps.DiffLayers:
    """Slim GeoJSON of a comparison map."""
    from pages._ui import load_district

    d = load_district(district_path, district_mtime)
    return maps.diff_layers(comparison(path, stamp, a, b), d.communities, d.buildings, d.streets,
                            lang="en" if language == "en" else "zh")


@st.cache_data(show_spinner=False, max_entries=8)
def version_layers(path: str, stamp: str, version: str, district_path: str, district_mtime: float,
                   language: str) -> maps.GridLayers:
    """Slim GeoJSON of one saved version's map: grids by evaluated status, dedicated grids apart."""
    from gridgeo.plans.evaluate import as_frame
    from pages._ui import load_district

    d = load_district(district_path, district_mtime)
    ev = evaluation(path, stamp, version, district_path, district_mtime)
    grids = as_frame(ev.grids, load_version(path, stamp, version).grids.geometry)
    return maps.grid_layers(grids, d.communities, d.streets, lang="en" if language == "en" else "zh")


@dataclass(frozen=True)
class StoreGrids:
    """The grids of a store version for the other pages."""

    grids: gpd.GeoDataFrame
    assignments: pd.DataFrame
    version: str


def store_grids(district: io.District) -> StoreGrids | None:
    """Grids of the version chosen in this session, else of the latest version (None if the store is empty)."""
    try:
        ws = open_workspace(district)
        chosen = st.session_state.get(PK.CHOSEN, {}).get(str(ws.path))
        version = chosen or ws.latest()
        if version is None:
            return None
        plan = load_version(str(ws.path), _stamp(ws), version)
    except GridgeoError as err:
        show_error(err)
        return None
    return StoreGrids(plan.grids, plan.assignments, version)


# ----------------------------------------------------------------------------- the section

def _base(ws: Workspace) -> str | None:
    bases: dict[str, str | None] = st.session_state.setdefault(PK.BASE, {})
    if str(ws.path) not in bases:
        bases[str(ws.path)] = ws.latest()
    return bases[str(ws.path)]


def _set_base(ws: Workspace, version: str) -> None:
    st.session_state.setdefault(PK.BASE, {})[str(ws.path)] = version


def plans_section(district: io.District, result: Any | None) -> None:
    """The whole section: save (when ``result`` is a partition result), versions, compare, import."""
    st.header(t("plans.section"))
    try:
        ws = open_workspace(district)
    except GridgeoError as err:
        show_error(err)
        return
    st.caption(t("plans.intro", path=ws.path.name))   # the file name only: no server paths on a page
    tabs = st.tabs([t("plans.tab_save"), t("plans.tab_versions"), t("plans.tab_compare"), t("plans.tab_import")])
    with tabs[0]:
        _save_tab(ws, result)
    with tabs[1]:
        _versions_tab(ws, district)
    with tabs[2]:
        _compare_tab(ws)
    with tabs[3]:
        _import_tab(ws, district)


def _save(ws: Workspace, plan: PlanVersion, *, author: str, note: str, name: str, branch: bool,
          keep_codes: bool = False) -> str | None:
    try:
        vid = ws.save(plan, parent=_base(ws), author=author, note=note, name=name, branch=branch,
                      keep_codes=keep_codes)
    except PlanConflictError as err:
        show_error(err, kind="action")
        st.session_state[PK.CONFLICT] = {"plan": plan, "author": author, "note": note, "name": name,
                                         "keep_codes": keep_codes}
        return None
    except GridgeoError as err:
        show_error(err, kind="action")
        return None
    st.session_state.pop(PK.CONFLICT, None)
    _set_base(ws, vid)
    st.success(t("plans.saved", version=vid), icon=":material/check_circle:")
    return vid


def _save_tab(ws: Workspace, result: Any | None) -> None:
    if result is None:
        st.info(t("plans.no_result"))
    else:
        based_on = st.empty()             # filled after a save, so it names the version just saved
        with st.form("plans_save_form"):
            name = st.text_input(t("plans.name"), key="plans_name")
            author = st.text_input(t("plans.author"), key=PK.AUTHOR)
            note = st.text_area(t("plans.note"), key="plans_note", height=80)
            submitted = st.form_submit_button(t("plans.save"), type="primary")
        if submitted:
            plan = PlanVersion(result.grids, result.assignments, result.rules,
                               meta={"source": "partition", "seed": int(result.seed)})
            _save(ws, plan, author=author, note=note, name=name, branch=False)
        based_on.caption(t("plans.based_on", version=_base(ws) or "—"))
    pending = st.session_state.get(PK.CONFLICT)
    if pending is not None and st.button(t("plans.save_branch"), key="plans_branch"):
        _save(ws, pending["plan"], author=pending["author"], note=pending["note"], name=pending["name"],
              branch=True, keep_codes=pending["keep_codes"])


def _versions_frame(table: pd.DataFrame) -> pd.DataFrame:
    shown = local_dates(table.reset_index())
    cols = ["version_id", "created_at", "branch", "parent", "name", "author", "note", "grids", "households",
            "retired"]
    out = shown[cols].copy()
    out["parent"] = out["parent"].fillna("—")
    return out.rename(columns={c: t(f"plans.col.{'version' if c == 'version_id' else c}") for c in cols})


def _grid_frame(ev: Evaluation, streets: bool = True) -> pd.DataFrame:
    """The version's grid table; without a streets layer no "along streets" column (only edges would count)."""
    g = ev.grids.reset_index()
    out = pd.DataFrame({
        t("plans.col.grid_id"): g["grid_id"], t("plans.col.grid_name"): g["name"],
        t("plans.col.community"): g["community"],
        t("plans.col.kind"): [t(f"plans.kind.{k}") for k in g["kind"]],
        t("plans.col.households"): g["households"], t("plans.col.buildings"): g["buildings"],
        t("plans.col.units"): g["units"], t("plans.col.status"): [t(f"plans.size.{s}") for s in g["status"]],
        t("plans.col.contiguous"): g["contiguous"], t("plans.col.polsby_popper"): g["polsby_popper"].round(2),
        t("plans.col.street_share"): (g["street_share"] * 100).round(0),
        t("plans.col.flags"): [codes_text("flags", f, lang()) for f in g["flags"]],   # in words, not codes
    })
    return out if streets else out.drop(columns=[t("plans.col.street_share")])


def _versions_tab(ws: Workspace, district: io.District) -> None:
    table = ws.versions()
    if table.empty:
        st.info(t("err.plans.empty"))
        return
    show_table(_versions_frame(table), hide_index=True, width="stretch")
    ids = list(table.index[::-1])
    version = st.selectbox(t("plans.choose"), ids, key=PK.VIEW)
    if version is None:
        return
    src = st.session_state[K.DISTRICT]
    ev = evaluation(str(ws.path), _stamp(ws), version, src, mtime(src))
    plan = load_version(str(ws.path), _stamp(ws), version)
    m = ev.metrics
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("plans.metric.n_grids"), f"{int(m['n_grids']):,}")
    c2.metric(t("plans.metric.share_within_feasible"), f"{m['share_within_feasible']:.0%}")
    c3.metric(t("plans.metric.grids_out_of_bounds"), f"{int(m['grids_out_of_bounds'])}")
    c4.metric(t("plans.metric.n_dedicated"), f"{int(m['n_dedicated'])}")
    retired = plan.meta.get("retired", {})
    if retired:
        st.caption(t("plans.retired_list", codes=md_escape(", ".join(sorted(retired)))))
    st.subheader(t("plans.grid_table"))
    show_table(_grid_frame(ev, district.streets is not None and len(district.streets) > 0), hide_index=True,
               width="stretch", height=360)
    # drawn on request, like the comparison: one map iframe per page keeps the page light
    if st.toggle(t("plans.show_version_map"), key="plans_show_version_map"):
        layers = version_layers(str(ws.path), _stamp(ws), version, src, mtime(src), lang())
        st_folium(maps.grid_map(layers, osm=bool(st.session_state.get(K.OSM))), key="plans_version_map",
                  returned_objects=[], use_container_width=True, height=520)
    chosen: dict[str, str] = st.session_state.setdefault(PK.CHOSEN, {})
    b1, b2, b3, b4 = st.columns(4)
    if b1.button(t("plans.use"), key="plans_use"):
        chosen[str(ws.path)] = version
    if chosen.get(str(ws.path)):
        b1.caption(t("plans.in_use", version=chosen[str(ws.path)]))
    if b2.button(t("plans.restore"), key="plans_restore", disabled=version == ws.latest()):
        author = st.session_state.get(PK.AUTHOR) or "app"
        try:
            vid = ws.restore(version, author=author)
        except GridgeoError as err:
            show_error(err, kind="action")
        else:
            _set_base(ws, vid)
            st.success(t("plans.restored", old=version, version=vid))
    b3.download_button(t("plans.download_grids"), grids_geojson(local_dates(plan.grids)),
                       file_name=f"grids_{version}.geojson", mime="application/geo+json", key="plans_dl_grids",
                       on_click="ignore")
    b4.download_button(t("plans.download_xlsx"),
                       xlsx_bytes(assignments_table(plan, district), ASSIGNMENT_HEADERS_ZH, sheet="楼栋-网格对照表"),
                       file_name=f"assignments_{version}.xlsx", key="plans_dl_xlsx", on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@st.fragment
def _compare_tab(ws: Workspace) -> None:
    table = ws.versions()
    if len(table) < 2:
        st.info(t("plans.need_two"))
        return
    ids = list(table.index)
    latest = ids[-1]
    parent = table.at[latest, "parent"] or ids[-2]
    c1, c2 = st.columns(2)
    a = c1.selectbox(t("plans.version_a"), ids, index=ids.index(parent) if parent in ids else len(ids) - 2,
                     key=PK.A)
    b = c2.selectbox(t("plans.version_b"), ids, index=len(ids) - 1, key=PK.B)
    if a is None or b is None:
        return
    stamp = _stamp(ws)
    result = comparison(str(ws.path), stamp, a, b)
    st.markdown(t("plans.diff_summary", **result.summary()))
    # The map is drawn on request: tabs render every tab, and one map iframe per page keeps the page light.
    if st.toggle(t("plans.show_map"), key="plans_show_map"):
        src = st.session_state[K.DISTRICT]
        layers = comparison_layers(str(ws.path), stamp, a, b, src, mtime(src), lang())
        st_folium(maps.diff_map(layers, osm=bool(st.session_state.get(K.OSM))), key="plans_diff_map",
                  returned_objects=[], use_container_width=True, height=520)
    changed = result.grids[result.grids["status"] != "unchanged"].reset_index()
    st.subheader(t("plans.changed_grids"))
    show_table(pd.DataFrame({
        t("plans.col.grid_id"): changed["grid_id"],
        t("plans.status"): [t(f"plans.status.{s}") for s in changed["status"]],
        t("plans.col.households_a"): changed["households_a"], t("plans.col.households_b"): changed["households_b"],
        t("plans.col.delta"): changed["delta"]}), hide_index=True, width="stretch", height=260)
    st.subheader(t("plans.moved_buildings"))
    moved = result.moved
    show_table(pd.DataFrame({
        t("plans.col.building_id"): moved["building_id"], t("plans.col.from_grid"): moved["from_grid"],
        t("plans.col.to_grid"): moved["to_grid"], t("plans.col.households"): moved["households"]}),
        hide_index=True, width="stretch", height=260)
    d1, d2 = st.columns(2)
    d1.download_button(t("plans.download_diff"), grids_geojson(result.grids), file_name=f"diff_{a}_{b}.geojson",
                       mime="application/geo+json", key="plans_dl_diff", on_click="ignore")
    d2.download_button(t("plans.download_moved"), assignments_csv(moved), file_name=f"moved_{a}_{b}.csv",
                       mime="text/csv", key="plans_dl_moved", on_click="ignore")


#: what each kind of import takes: grid polygons (a CSV/XLSX with a WKT column too), or a building→grid table
IMPORT_TYPES = {"polygons": ["geojson", "json", "gpkg", "zip", "csv", "xlsx"], "table": ["csv", "xlsx"]}


def _import_tab(ws: Workspace, district: io.District) -> None:
    labels = {k: t(f"plans.import_{k}") for k in ("polygons", "table")}   # fixed now: labels follow the language
    kind = st.radio(t("plans.import_kind"), list(labels), horizontal=True, key=f"plans_import_kind_{lang()}",
                    format_func=labels.__getitem__)
    # the label says what to upload (not "选择文件", the button's own word); each kind takes its own formats
    upload = file_upload(t(f"plans.import_file_{kind}"), IMPORT_TYPES[kind], f"plans_import_file_{kind}",
                         help=t("plans.import_help"))
    author = st.text_input(t("plans.author"), key="plans_import_author")
    note = st.text_input(t("plans.note"), key="plans_import_note")
    if not st.button(t("plans.import_run"), key="plans_import_run", disabled=upload is None):
        return
    assert upload is not None
    path = stage_file(upload, "plans_import")     # this session's folder, replaced by the next file, gone at exit
    try:
        if kind == "polygons":
            plan = import_grids(district, path)
        else:
            latest = ws.latest()
            reference = ws.load(latest).grids if latest else district.grids
            plan = import_table(district, path, grids=reference)
    except GridgeoError as err:
        show_error(err)
        return
    vid = _save(ws, plan, author=author, note=note or upload.name, name=Path(upload.name).stem, branch=False,
                keep_codes=True)
    if vid:
        st.info(t("plans.imported", version=vid, grids=len(plan.grids), households=int(plan.grids["households"].sum())))
