"""Grid staff (网格人员): assign the roster to the grids in use, check every grid, edit by hand, download."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from gridgeo import maps
from gridgeo import staffing as sf
from gridgeo.errors import GridgeoError, PlanConflictError
from gridgeo.i18n import t as t_in
from gridgeo.plans.store import Workspace
from pages._ui import (GridsInUse, K, keep_for_district, kept_for_district, current_district, current_grids,
                       file_upload, init_state, lang, md_escape, mtime, _seeded, show_error, show_table, stage_file,
                       stop, t)

# this page's session keys (K holds the shared ones)
RULE, MODE, KEEP, PT_GRIDS, UNMASK, UPLOAD = ("staffing_rule", "staffing_mode", "staffing_keep",
                                              "staffing_pt_grids", "staffing_unmask", "staffing_upload")
EDITS, COMMUNITY, ROLE = "staffing_edits", "staffing_community", "staffing_role"
# saving to the plan store: the outcome of the last save (shown once), a refused save waiting to go to a branch,
# the store version whose saved staffing the mode selector was last set for, who saves
FLASH, CONFLICT, MODE_FOR, AUTHOR = "staffing_flash", "staffing_conflict", "staffing_mode_for", "staffing_author"
# (staged path, file name) of the last roster uploaded here: Streamlit forgets an uploader when another page
# runs, so the roster is kept for this page's next visit and for the export page (pages/export.py)
ROSTER_FILE = K.ROSTER_FILE

init_state()
for key, value in {RULE: "default", MODE: "assign", KEEP: True, PT_GRIDS: 1, UNMASK: False, EDITS: {},
                   COMMUNITY: "", ROLE: ""}.items():
    st.session_state.setdefault(key, value)


def _kept(store: str) -> dict[str, Any]:
    """Widget kwargs for a choice whose labels change with the language: one widget per language,
    seeded from ``store`` (the frontend keeps a selection by its label)."""
    widget = f"w_{store}_{lang()}"
    return {"key": widget, "on_change": _seeded(store, widget)}

st.title(t("staffing.title"))                 # first: a page waiting for its inputs still says which page it is
st.caption(t("staffing.intro"))
path = st.session_state[K.DISTRICT]                                            # 1 inputs
district = current_district()
version = mtime(path)
try:
    grids_in_use = current_grids(district)
except GridgeoError as err:
    show_error(err)
    stop()
st.caption(t(f"app.grids_source.{grids_in_use.source}"))


@st.cache_data(show_spinner=False, max_entries=16)
def _saved_staffing(store: str, stamp: str, version: str) -> pd.DataFrame | None:
    """The staffing saved with a store version (versions are immutable: cached by id)."""
    return Workspace.open(store).table(version, "staffing")


workspace: Workspace | None = None
saved: pd.DataFrame | None = None
store_version = grids_in_use.version if grids_in_use.source == "store" else None
if store_version is not None:
    from pages._plans_ui import open_workspace

    try:
        workspace = open_workspace(district)
        saved = _saved_staffing(str(workspace.path), workspace.info().get("created_at", ""), store_version)
    except GridgeoError as err:
        show_error(err)
        workspace, store_version = None, None
    if store_version is not None:
        st.caption(t("staffing.store_saved", version=store_version, n=saved["staff_id"].nunique())
                   if saved is not None else t("staffing.store_none", version=store_version))
flash = st.session_state.pop(FLASH, None)
if flash is not None and flash[0] == "ok":
    st.success(t("staffing.saved_as", version=flash[1], base=flash[2]), icon=":material/check_circle:")
elif flash is not None:
    show_error(flash[1], kind="action")          # a refused save or edit, not a load

modes = ["saved", "assign", "check"] if saved is not None else ["assign", "check"]
if st.session_state.get(MODE_FOR) != store_version:      # a version with saved staffing opens on it
    st.session_state[MODE_FOR] = store_version
    if saved is not None:
        st.session_state[MODE] = "saved"
        for language in ("zh", "en"):
            st.session_state.pop(f"w_{MODE}_{language}", None)
if st.session_state[MODE] not in modes:
    st.session_state[MODE] = modes[0]
    for language in ("zh", "en"):
        st.session_state.pop(f"w_{MODE}_{language}", None)

c1, c2, c3, c4 = st.columns([2.2, 2, 1.4, 1.2])
st.session_state[RULE] = c1.selectbox(t("staffing.rule"), list(sf.PRESETS), **_kept(RULE),
                                      format_func=lambda r: t(f"staffing.rule.{r}"))
st.session_state[MODE] = c2.radio(t("staffing.mode"), modes, **_kept(MODE),
                                  format_func=lambda m: t(f"staffing.mode.{m}")
                                  + (f" {store_version}" if m == "saved" and store_version else ""))
st.session_state[KEEP] = c3.checkbox(t("staffing.keep_current"), **_kept(KEEP),
                                     disabled=st.session_state[MODE] != "assign")
st.session_state[PT_GRIDS] = c4.number_input(t("staffing.part_time_grids"), min_value=1, max_value=3, step=1,
                                             **_kept(PT_GRIDS))
upload = file_upload(t("staffing.roster_upload"), ["csv", "xlsx"], UPLOAD)


def _grids_key(g: GridsInUse) -> str:
    """A small cache key for the grids in use (their codes and total households)."""
    h = hashlib.sha256("|".join(map(str, g.grids.index)).encode())
    h.update(str(int(g.households["households"].sum())).encode())
    return f"{g.source}:{h.hexdigest()[:16]}"


@st.cache_data(show_spinner=False, max_entries=8)
def _solve(key: tuple[Any, ...], _grids: GridsInUse, _roster: sf.Roster, _cases: pd.Series | None,
           rule: str, mode: str, keep: bool, pt_grids: int) -> sf.StaffingResult:
    """Assign (or check) once per inputs; ``key`` stands for the unhashable arguments."""
    rules = sf.preset(rule).evolve(part_time_max_grids=int(pt_grids))
    if mode in ("check", "saved"):
        return sf.check_staff(_roster, _grids.grids, _grids.households, rules=rules, open_cases=_cases)
    return sf.assign_staff(_roster, _grids.grids, _grids.households, rules=rules, keep_current=keep,
                           open_cases=_cases)


@st.cache_data(show_spinner=False, max_entries=4)
def _open_cases(key: tuple[Any, ...], _grids: GridsInUse, _cases: Any) -> pd.Series:
    return sf.open_cases_per_grid(_cases, _grids.grids)


mode = st.session_state[MODE]
unknown = "warning" if mode != "check" else "error"
try:
    if upload is not None:
        target = stage_file(upload, "staff")           # replaced with the next upload, removed at exit, 0644
        keep_for_district(ROSTER_FILE, {"path": str(target), "name": upload.name})
    kept_roster = kept_for_district(ROSTER_FILE)
    if kept_roster is not None and Path(kept_roster["path"]).exists():
        roster = sf.read_roster(kept_roster["path"], grids_in_use.grids, unknown_grid=unknown)
        roster_key = f"upload:{kept_roster['path']}"
        st.caption(t("staffing.roster_source.upload", name=md_escape(kept_roster["name"]), n=len(roster.frame)))
    elif district.staff is not None:
        roster = sf.roster_from_frame(district.staff, grids_in_use.grids, path="staff", unknown_grid=unknown)
        roster_key = f"district:{path}:{version}"
        st.caption(t("staffing.roster_source.district", n=len(roster.frame)))
    else:
        st.info(t("staffing.no_roster"))
        stop()
except GridgeoError as err:
    show_error(err)
    stop()

if saved is not None and mode != "check":   # the version's saved staffing is everyone's current grid
    roster, left = sf.roster_with_staffing(roster, saved, grids_in_use.grids)
    if left:
        st.warning(t("staffing.saved_left", n=len(left), people=md_escape(", ".join(left))))
gkey = _grids_key(grids_in_use)
cases = (_open_cases((path, version, gkey), grids_in_use, district.cases) if district.cases is not None else None)
key = (path, version, gkey, roster_key, store_version if saved is not None else None)
rule, keep, pt = st.session_state[RULE], bool(st.session_state[KEEP]), int(st.session_state[PT_GRIDS])
with st.spinner(t("staffing.title")):
    try:
        result = _solve(key, grids_in_use, roster, cases, rule, mode, keep, pt)        # 2 gridgeo
    except GridgeoError as err:
        show_error(err)
        stop()

# manual changes of this session, replayed on the cached result
edit_key = str((key, rule, mode, keep, pt))
edits: list[tuple[str, str, str | None]] = st.session_state[EDITS].setdefault(edit_key, [])
for action, sid, gid in edits:
    try:
        result = sf.edit_staff(result, roster, grids_in_use.grids, grids_in_use.households, action=action,  # type: ignore[arg-type]
                               staff_id=sid, grid_id=gid, force=True, open_cases=cases)
    except GridgeoError:
        continue

no_home = sum(1 for p in roster.problems if p.code == "err.staffing.no_home")
unknown_grids = {p.feature_id for p in roster.problems if p.code == "err.staffing.unknown_grid"}
if unknown_grids:
    st.warning(t("staffing.grids_unknown", n=len(unknown_grids)))
if no_home:
    st.caption(t("staffing.no_home_count", n=no_home))

s = result.summary                                                               # 3 render
m1, m2, m3, m4, m5, m6 = st.columns(6)
m1.metric(t("staffing.m.staffed"), f"{s['staffed_share']:.0%}", help=t("staffing.m.staffed_help"))
m2.metric(t("staffing.m.assigned"), f"{s['assigned']:,} / {s['people']:,}")
m3.metric(t("staffing.m.shortage"), f"{sum(s['shortage'].values()):,}")
m4.metric(t("staffing.m.surplus"), f"{s['unassigned']:,}")
m5.metric(t("staffing.m.per_1000"), f"{s['people_per_1000_households']:.1f}")
m6.metric(t("staffing.m.moved"), f"{s['moved']:,}")
if result.solver is not None:
    st.caption(t("staffing.solver", status=result.solver.status_text(lang()), gap=f"{result.solver.gap:g}",
                 moved=s["moved"]) + " " + t("staffing.solver_detail", method=md_escape(result.solver.describe(lang()))))


SHORTAGE_SHOWN = 10   # empty places listed in the warning itself; the rest in an expander


def _role(r: str) -> str:
    return t(f"staffing.role.{r}")


if len(result.shortage):
    lines = [f"- {md_escape(str(g))}：{_role(r)} −{n}（{h:,} {t('col.households')}）" if lang() == "zh"
             else f"- {md_escape(str(g))}: {_role(r)} −{n} ({h:,} {t('col.households').lower()})"
             for g, r, n, h in result.shortage[["grid_id", "role", "missing", "households"]].itertuples(index=False)]
    if len(lines) <= SHORTAGE_SHOWN:
        st.warning(t("staffing.shortage_where") + "\n\n" + "\n".join(lines))
    else:   # a short roster leaves hundreds of places empty: the first few here, all of them one click away
        st.warning(t("staffing.shortage_where") + "\n\n" + "\n".join(lines[:SHORTAGE_SHOWN]) + "\n\n"
                   + t("staffing.shortage_more", n=len(lines) - SHORTAGE_SHOWN))
        with st.expander(t("staffing.shortage_all", n=len(lines))):
            st.markdown("\n".join(lines))
else:
    st.success(t("staffing.shortage_none"))

show_phones = bool(st.toggle(t("staffing.unmask"), help=t("staffing.unmask_help"), **_kept(UNMASK)))
st.session_state[UNMASK] = show_phones
if show_phones:
    st.warning(t("staffing.unmasked_warning"))

communities = district.communities
names = communities["name"].astype(str).to_dict()
f1, f2 = st.columns(2)
options = ["", *sorted(set(result.grids["community_id"].astype(str)))]
roles = ["", *sorted(set(result.members["role"]))]
for store, choices in ((COMMUNITY, options), (ROLE, roles)):
    if st.session_state[store] not in choices:
        st.session_state[store] = ""
        st.session_state.pop(f"w_{store}_{lang()}", None)
community = f1.selectbox(t("staffing.filter_community"), options, **_kept(COMMUNITY),
                         format_func=lambda c: t("staffing.all") if c == "" else f"{names.get(c, c)}（{c}）")
role = f2.selectbox(t("staffing.filter_role"), roles, **_kept(ROLE),
                    format_func=lambda r: t("staffing.all") if r == "" else _role(r))


def _save(ws_path: str, base: str, staffed: sf.StaffingResult, note: str, branch: bool = False) -> None:
    """Button callback: save ``staffed`` as a new version on ``base``, the version the page showed when clicked.

    Runs before the rerun, with the values of the render the user saw, so a
    version saved meanwhile by someone else is a conflict: the store's message
    names both versions and a new branch is offered.
    """
    author = str(st.session_state.get(AUTHOR) or "").strip() or "app"
    try:
        vid = Workspace.open(ws_path).save_tables(base, {"staffing": sf.staffing_to_table(staffed)}, author=author,
                                                  note=note, branch=branch)
    except PlanConflictError as err:
        st.session_state[FLASH] = ("error", err)
        st.session_state[CONFLICT] = (base, note)
        return
    except GridgeoError as err:
        st.session_state[FLASH] = ("error", err)
        return
    from pages._plans_ui import PK

    chosen = st.session_state.setdefault(PK.CHOSEN, {})
    if chosen.get(ws_path) or branch:      # the pages keep showing the version just saved
        chosen[ws_path] = vid
    st.session_state.pop(CONFLICT, None)
    st.session_state[EDITS] = {}
    st.session_state[FLASH] = ("ok", vid, base)


def _edit_and_save(ws_path: str, base: str, shown: sf.StaffingResult, staff: sf.Roster, grids: GridsInUse,
                   open_cases: pd.Series | None) -> None:
    """Button callback: apply the manual change chosen in the widgets and save it as a new version."""
    action = st.session_state[f"staffing_edit_action_{lang()}"]
    sid = st.session_state["staffing_edit_sid"]
    gid = None if action == "remove" else st.session_state["staffing_edit_gid"]
    try:
        edited = sf.edit_staff(shown, staff, grids.grids, grids.households, action=action, staff_id=sid,
                               grid_id=gid, open_cases=open_cases)
    except GridgeoError as err:
        st.session_state[FLASH] = ("error", err)
        return
    what = t_in(f"staffing.cli.action.{action}", "en")
    _save(ws_path, base, edited, f"staff {what} {sid}" + (f" -> {gid}" if gid else ""))


@st.cache_data(show_spinner=False, max_entries=8)
def _layers(key: tuple[Any, ...], _grids: GridsInUse, _table: pd.DataFrame, language: str) -> maps.StaffingLayers:
    return maps.staffing_layers(_grids.grids, _table, communities=district.communities, streets=district.streets,
                                stations=district.stations, lang="en" if language == "en" else "zh")


@st.fragment
def staffing_view() -> None:
    """Map and its tile toggle; the toggle reruns only this block."""
    st.subheader(t("staffing.map"))
    st.toggle(t("app.osm"), key=K.OSM)
    layers = _layers((key, rule, mode, keep, pt, len(edits), str(edits)), grids_in_use, result.grids, lang())
    st_folium(maps.staffing_map(layers, osm=bool(st.session_state[K.OSM])), key="staffing_map",
              returned_objects=[], use_container_width=True, height=600)


staffing_view()

st.subheader(t("staffing.grid_table"))
table = sf.grid_table(result)
if community:
    table = table[table["community_id"] == community]
shown = table.drop(columns=["missing"]).copy()
shown["status"] = [t(f"staffing.status.{x}") for x in shown["status"]]
shown["flags"] = [("、" if lang() == "zh" else "; ").join(t(f"staffing.flag.{f}") for f in fl.split(";") if f)
                  for fl in shown["flags"]]
shown["kind"] = [t(f"staffing.kind.{k}") for k in shown["kind"]]
shown = shown.rename(columns={c: t(f"staffing.col.{c}") for c in shown.columns})
show_table(shown, hide_index=True, width="stretch", height=min(35 * (len(shown) + 1) + 3, 520))

st.subheader(t("staffing.person_table"))
people = sf.roster_table(result, show_phones=show_phones, lang=lang())
raw = result.members.drop_duplicates("staff_id").set_index("staff_id")
keep_rows = pd.Series(True, index=people.index)
if community:
    keep_rows &= people[t("staffing.col.community_id")].astype(str).str.contains(community, regex=False)
if role:
    keep_rows &= (raw.loc[people[t("staffing.col.staff_id")], "role"] == role).to_numpy()
show_table(people[keep_rows], hide_index=True, width="stretch", height=420)

with st.expander(t("staffing.edit")):
    e1, e2, e3 = st.columns(3)
    ids = list(result.members["staff_id"].drop_duplicates())
    label = {sid: f"{sid} {n}（{_role(r)}）" for sid, n, r in
             result.members.drop_duplicates("staff_id")[["staff_id", "name", "role"]].itertuples(index=False)}
    sid = e1.selectbox(t("staffing.edit_person"), ids, format_func=lambda x: label.get(x, x), key="staffing_edit_sid")
    action = e2.selectbox(t("staffing.edit_action"), ["move", "assign", "remove"], key=f"staffing_edit_action_{lang()}",
                          format_func=lambda a: t(f"staffing.edit.{a}"))
    gid = e3.selectbox(t("staffing.edit_grid"), list(grids_in_use.grids.index.astype(str)), key="staffing_edit_gid",
                       disabled=action == "remove")
    b1, b2 = st.columns(2)
    if workspace is not None and store_version is not None:   # each manual change is saved as a new version
        b1.button(t("staffing.edit_apply_save"), key="staffing_edit_apply", on_click=_edit_and_save,
                  args=(str(workspace.path), store_version, result, roster, grids_in_use, cases))
    elif b1.button(t("staffing.edit_apply"), key="staffing_edit_apply"):
        try:
            sf.edit_staff(result, roster, grids_in_use.grids, grids_in_use.households, action=action,  # type: ignore[arg-type]
                          staff_id=sid, grid_id=None if action == "remove" else gid, open_cases=cases)
        except GridgeoError as err:
            show_error(err, kind="action")
        else:
            edits.append((action, sid, None if action == "remove" else gid))
            st.rerun()
    if edits:
        st.caption(t("staffing.edit_done", n=len(edits)))
        if b2.button(t("staffing.edit_reset"), key="staffing_edit_reset"):
            edits.clear()
            st.rerun()

if workspace is not None and store_version is not None:
    st.subheader(t("staffing.store_section", version=store_version))
    st.caption(t("staffing.store_help"))
    s1, s2, s3 = st.columns([2, 1.2, 1.2])
    s1.text_input(t("staffing.author"), key=AUTHOR, placeholder="app")
    note = (f"staffing from the page: {t_in(f'staffing.mode.{mode}', 'en')}, rule {rule}, "
            f"{s['assigned']} assigned, {s['moved']} moved")
    s2.button(t("staffing.save_to_plan"), key="staffing_save", type="primary", on_click=_save,
              args=(str(workspace.path), store_version, result, note))
    pending = st.session_state.get(CONFLICT)
    if pending is not None:
        s3.button(t("staffing.save_branch"), key="staffing_save_branch", on_click=_save,
                  args=(str(workspace.path), pending[0], result, pending[1], True))

st.subheader(t("staffing.downloads"))
d1, d2, d3 = st.columns(3)
d1.download_button(t("staffing.download_roster"), sf.roster_xlsx(result, show_phones=show_phones, lang=lang()),
                   file_name="网格员花名册.xlsx", key="staffing_dl_roster", on_click="ignore",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
d2.download_button(t("staffing.download_grids"), sf.grid_staffing_csv(result, lang=lang()), file_name="grid_staffing.csv",
                   mime="text/csv", key="staffing_dl_grids", on_click="ignore")
d3.download_button(t("staffing.download_assignments"), sf.staff_assignments_csv(result, lang=lang()),
                   file_name="staff_assignments.csv", mime="text/csv", key="staffing_dl_assignments", on_click="ignore")
