"""Export (导出): the grids in use and every result (staffing, cases, hotspots, compliance, coverage, sites)
in any format, one layer alone, and printable grid sheets."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from gridgeo import staffing as sf
from gridgeo.errors import GridgeoError
from gridgeo.export import BUNDLE, FORMATS, ExportFile, export_file, layer_file
from gridgeo.export.results import LAYER_ORDER, RESULT_INPUTS, result_layers
from gridgeo.export.sheets import select_grids, sheet_png, sheets_pdf
from gridgeo.grids import grid_table
from pages._ui import _seeded as seeded
from pages._ui import (K, kept_for_district, GridsInUse, current_district, current_grids, init_state, lang, md_escape,
                       mtime, show_error, stop, t)

DISTRICT_LAYERS = ("communities", "buildings", "streets", "stations")
COORDS = ("wgs84", "gcj02", "bd09")
PAGE_FORMATS = ("gpkg", BUNDLE, *(f for f in FORMATS if f != "gpkg"))   # the one file QGIS/ArcGIS users want first

init_state()
st.title(t("export.title"))
st.caption(t("export.intro"))
path = st.session_state[K.DISTRICT]                                            # 1 inputs
district = current_district()
version = mtime(path)
try:
    in_use = current_grids(district)
except GridgeoError as err:
    show_error(err)
    stop()
names = district.communities["name"].astype(str)
grids = grid_table(in_use.grids, district.buildings, in_use.assignments, district.communities)
st.info(t("export.source", source=t(f"app.grids_source.{in_use.source}"), n=f"{len(grids):,}"))

# what the results are computed from: the district's layers, else this session's case import
imported = kept_for_district(K.IMPORTED_CASES)
cases: pd.DataFrame | None = district.cases
cases_key = f"district:{path}:{version}"
if cases is None and imported is not None:
    cases, cases_key = imported["cases"], f"import:{imported['digest']}"
# a store version's saved staffing is exported as saved (the Staff page's "saved" mode), not recomputed
saved_staffing: pd.DataFrame | None = None
if in_use.source == "store" and in_use.version is not None:
    from pages._plans_ui import open_workspace

    try:
        saved_staffing = open_workspace(district).table(in_use.version, "staffing")
    except GridgeoError as err:
        show_error(err)
# the Staff page's mode; a version with saved staffing opens on it there, and here too
staff_mode = str(st.session_state.get("staffing_mode", "saved" if saved_staffing is not None else "assign"))
if staff_mode == "saved" and saved_staffing is None:
    staff_mode = "assign"
# a roster uploaded on the Staff page wins over the district's staff layer, as it does there (pages/staffing.py)
kept_roster = kept_for_district(K.ROSTER_FILE)
roster_file = (str(kept_roster["path"]), str(kept_roster["name"])) \
    if kept_roster is not None and Path(kept_roster["path"]).exists() else None
inputs = {"staff": district.staff, "cases": cases, "stations": district.stations}
missing = [name for name, frame in inputs.items()
           if (frame is None or not len(frame)) and not (name == "staff" and roster_file is not None)]
if missing:
    with st.container(border=True):
        st.markdown(t("export.inputs_missing"))
        pages = {"staff_page": t("nav.staffing"), "cases_page": t("nav.cases")}   # where each is provided
        for name in missing:
            how = t(f"export.how.{name}", **pages)
            st.markdown(f"- **{t(f'export.input.{name}')}**：{how}" if lang() == "zh" else
                        f"- **{t(f'export.input.{name}')}**: {how}")

available = ["grids", *(["assignments"] if in_use.assignments is not None else []),
             *(n for n in LAYER_ORDER if n in RESULT_INPUTS and RESULT_INPUTS[n] not in missing),
             *(n for n in DISTRICT_LAYERS if getattr(district, n) is not None)]


def kept(widget: Any, label: str, options: Any, name: str, default: Any, **kwargs: Any) -> Any:
    """A widget whose choice survives a language switch: its labels change with the language and the
    frontend keeps a choice by label, so each language gets its own key seeded from ``export_<name>``."""
    store = f"export_{name}"
    st.session_state.setdefault(store, default)
    if isinstance(default, list):      # a district switch may take layers away
        st.session_state[store] = [x for x in st.session_state[store] if x in options]
    key = f"{store}_{lang()}"
    if isinstance(default, list) and key in st.session_state:
        st.session_state[key] = [x for x in st.session_state[key] if x in options]
    return widget(label, options, key=key, on_change=seeded(store, key), **kwargs)


chosen = kept(st.multiselect, t("export.layers"), available, "layers",
              [n for n in available if n not in DISTRICT_LAYERS],
              format_func=lambda n: t(f"export.layer_name.{n}"))
c1, c2, c3 = st.columns(3)
with c1:
    fmt = kept(st.selectbox, t("export.format"), PAGE_FORMATS, "format", "gpkg",
               format_func=lambda f: t(f"export.format.{f}"), help=t("export.format_help"))
with c2:
    coords = kept(st.selectbox, t("export.coords"), COORDS, "coords", "wgs84", help=t("export.coords_help"),
                  format_func=lambda c: t(f"export.coords.{c}"))
with c3:   # headers follow the page's language until the user picks one
    header_key = f"export_headers_{lang()}"
    st.session_state.setdefault(header_key, st.session_state.get("export_headers", lang()))
    headers = st.radio(t("export.headers"), ["zh", "en"], horizontal=True, key=header_key,
                       format_func=lambda h: t(f"export.headers.{h}"),
                       on_change=lambda: st.session_state.update(export_headers=st.session_state[header_key]))
gbk = st.checkbox(t("export.gbk"), key="export_gbk") if fmt == "shp" else False
show_phones = st.checkbox(t("export.unmask"), key="export_unmask") if "staff" in chosen else False
if any(n in chosen for n in ("staff", "grid_staffing")):
    st.caption(t("export.staffing_rule", rule=t(f"staffing.rule.{st.session_state.get('staffing_rule', 'default')}"),
                 mode=t(f"staffing.mode.{staff_mode}")))


def _grids_key(g: GridsInUse) -> str:
    """A small cache key for the grids in use (their codes and total households)."""
    h = hashlib.sha256("|".join(map(str, g.grids.index)).encode())
    h.update(str(int(g.households["households"].sum())).encode())
    return f"{g.source}:{h.hexdigest()[:16]}"


@st.cache_data(show_spinner=False, max_entries=4)
def results(key: tuple[Any, ...], wanted: tuple[str, ...], show: bool, rule: str, mode: str, keep: bool,
            pt_grids: int, _in_use: GridsInUse, _cases: pd.DataFrame | None,
            _saved: pd.DataFrame | None = None) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """The result layers of ``wanted`` for the grids in use (cached per district, grids and choices).

    In the "saved" staffing mode the version's saved staffing is everyone's current grid and is
    judged as it is (``check``), so the export holds exactly what was saved with the plan.
    """
    roster = (sf.read_roster(roster_file[0], _in_use.grids, unknown_grid="warning") if roster_file is not None
              else sf.roster_from_frame(district.staff, _in_use.grids, path="staff", unknown_grid="warning")
              if district.staff is not None else None)
    if mode == "saved":
        if roster is not None and _saved is not None:
            roster = sf.roster_with_staffing(roster, _saved, _in_use.grids)[0]
        mode = "check"
    rules = sf.preset(rule).evolve(part_time_max_grids=int(pt_grids))
    done = result_layers(_in_use.grids, buildings=district.buildings, assignments=_in_use.assignments,
                         roster=roster, cases=_cases, stations=district.stations, streets=district.streets,
                         show_phones=show, staffing_mode=mode, staffing_rules=rules, keep_current=keep,
                         wanted=wanted)
    return done.layers, done.missing


def chosen_layers(names: list[str], *, show: bool) -> dict[str, pd.DataFrame]:
    """The chosen layers in ``LAYER_ORDER``: grids and district layers as they are, results computed."""
    wanted = tuple(n for n in names if n in RESULT_INPUTS)
    computed: dict[str, pd.DataFrame] = {}
    if wanted:
        key = (path, version, _grids_key(in_use), cases_key, in_use.version if saved_staffing is not None else None,
               roster_file)
        with st.spinner(t("export.computing")):
            computed, _ = results(key, wanted, show, str(st.session_state.get("staffing_rule", "default")),
                                  staff_mode,
                                  bool(st.session_state.get("staffing_keep", True)),
                                  int(st.session_state.get("staffing_pt_grids", 1)), in_use, cases, saved_staffing)
    plain: dict[str, Any] = {"grids": grids, "assignments": in_use.assignments,
                             **{n: getattr(district, n) for n in DISTRICT_LAYERS}}
    return {n: computed[n] if n in computed else plain[n] for n in LAYER_ORDER
            if n in names and (n in computed or plain.get(n) is not None)}


def options() -> dict[str, Any]:
    return dict(coords=coords, lang=lang(), headers=headers, shp_encoding="GBK" if gbk else "UTF-8",
                show_phones=show_phones)


if not chosen:
    st.warning(t("export.nothing"))
elif st.button(t("export.prepare"), type="primary", key="export_prepare"):     # 2 gridgeo
    try:
        file: ExportFile = export_file(chosen_layers(chosen, show=show_phones), fmt, **options())
    except GridgeoError as err:
        show_error(err, kind="action")
        stop()
    st.session_state["export_file"] = (file.name, file.mime, file.data)
if "export_file" in st.session_state and chosen:                                # 3 render
    file_name, mime, data = st.session_state["export_file"]
    st.download_button(t("export.download", name=file_name), data, file_name=file_name, mime=mime,
                       key="export_download", on_click="ignore")

if chosen:
    one1, one2 = st.columns([3, 1], vertical_alignment="bottom")
    single = one1.selectbox(t("export.single"), chosen, key=f"export_single_{lang()}",
                            format_func=lambda n: t(f"export.layer_name.{n}"))
    if one2.button(t("export.single_prepare"), key="export_single_prepare"):
        try:
            one = layer_file(single, chosen_layers([single], show=show_phones)[single], fmt, **options())
        except GridgeoError as err:
            show_error(err, kind="action")
            stop()
        st.session_state["export_single_file"] = (single, one.name, one.mime, one.data)
    kept_single = st.session_state.get("export_single_file")
    if kept_single is not None and kept_single[0] == single:
        _, one_name, one_mime, one_data = kept_single
        st.download_button(t("export.download", name=one_name), one_data, file_name=one_name, mime=one_mime,
                           key="export_single_download", on_click="ignore")

st.subheader(t("export.sheets"))
st.caption(t("export.sheets_intro"))
communities = sorted(grids["community_id"].astype(str).unique()) if "community_id" in grids.columns else []
s1, s2, s3 = st.columns([3, 3, 1])
community = s1.selectbox(t("export.sheets_community"), communities, key="export_sheet_community",
                         format_func=lambda c: f"{names.get(c, '')} {c}".strip())
in_community = select_grids(grids, community_id=community) if community else []
one_grid = s2.selectbox(t("export.sheets_grid"), ["—", *in_community], key="export_sheet_grid")
paper = s3.selectbox(t("export.paper"), ["A4", "A3"], key="export_paper")
buildings: gpd.GeoDataFrame = district.buildings
if in_use.assignments is not None:
    first = in_use.assignments.drop_duplicates("building_id").set_index("building_id")["grid_id"]
    buildings = buildings.assign(grid_id=first.reindex(buildings.index).to_numpy())
if in_community and st.button(t("export.sheets_make"), key="export_sheets_make"):
    try:
        # the leader and workers of each grid: the staffing of the grids in use (phones masked by the sheets)
        staff = chosen_layers(["staff"], show=True).get("staff") if "staff" not in missing else None
        sheet_options: dict[str, Any] = dict(streets=district.streets, staff=staff, communities=district.communities,
                                             paper=paper, lang=lang(), synthetic=district.synthetic,
                                             version=in_use.version or "")
        if one_grid != "—":
            st.image(sheet_png(grids, buildings, one_grid, dpi=110, **sheet_options), caption=md_escape(one_grid))
        pdf = sheets_pdf(grids, buildings, in_community, **sheet_options)
    except GridgeoError as err:
        show_error(err, kind="action")
        stop()
    st.session_state["export_sheets"] = (community, len(in_community), pdf)
if "export_sheets" in st.session_state and st.session_state["export_sheets"][0] == community:
    _, pages, pdf = st.session_state["export_sheets"]
    st.download_button(t("export.sheets_download", n=pages), pdf, file_name=f"grid_sheets_{community}.pdf",
                       mime="application/pdf", key="export_sheets_download", on_click="ignore")
