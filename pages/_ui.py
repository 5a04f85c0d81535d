"""The one shared UI helper: session keys, cached loaders, errors, ``t()`` bound to the language.

Every page calls ``init_state()`` first, so it also runs alone (AppTest runs a
page script without the frame after the first run).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

import geopandas as gpd
import pandas as pd
import streamlit as st

from gridgeo import grids as gridlayer
from gridgeo import io, maps, summary, tables
from gridgeo.errors import GridgeoError, InputError, PlanConflictError, render
from gridgeo.i18n import Lang
from gridgeo.i18n import t as _t
from gridgeo.settings import DEFAULT_RULES, Rules

ROOT = Path(__file__).resolve().parents[1]
#: The bundled demo district; ``GRIDGEO_DEMO=/some/folder`` points the app at another one.
DEMO_PATH = os.environ.get("GRIDGEO_DEMO") or str(ROOT / "data" / "demo")
RULES: Rules = DEFAULT_RULES
#: Staged uploads of this server process, one sub-folder per browser session; removed at exit.
UPLOAD_ROOT = Path(tempfile.gettempdir()) / f"gridgeo-uploads-{os.getpid()}"
atexit.register(shutil.rmtree, UPLOAD_ROOT, ignore_errors=True)
UPLOAD_TYPES = ["geojson", "json", "gpkg", "zip", "csv", "txt", "xlsx"]
UPLOAD_LAYERS = ("communities", "buildings", "streets", "stations", "grids")
COORDS = ["wgs84", "gcj02", "bd09"]


class K:
    """Every session_state key, in one place."""

    LANG = "lang"
    SOURCE = "data_source"            # "demo" | "upload"
    DISTRICT = "district_path"        # folder read with io.read_district
    OSM = "show_osm"                  # OpenStreetMap tiles on the maps
    MIN = "min_households"            # planner bounds (Rules defaults)
    MAX = "max_households"
    TARGET = "target_households"
    SEED = "seed"
    PLAN = "plan_key"                 # key of the partition shown on the planner page
    PLANS = "_plans"                  # this session's partition results, by key
    COORDS = "upload_coords"          # wgs84 | gcj02 | bd09 for uploaded files
    UPLOAD = {layer: f"upload_{layer}" for layer in UPLOAD_LAYERS}
    UPLOAD_DIR = "upload_dir"         # this session's staged upload folder (removed when replaced)
    SESSION = "session_token"         # names this session's folder under UPLOAD_ROOT
    DISTRICT_NAME = "district_name"   # the name the user gives an uploaded district ("" = from the data)
    UPLOAD_TYPES = "_upload_types"    # {file name: the extensions its uploader takes}, for error fixes
    MISSING = "upload_missing"        # required layers not uploaded yet (source "upload"); () otherwise
    IMPORTED_CASES = "cases_imported"  # the 事件热力 page's import: {"digest", "name", "cases", "report", "district"}
    ROSTER_FILE = "staffing_roster_file"  # the 网格人员 page's staged roster: {"path", "name", "district"}


def keep_for_district(key: str, entry: dict[str, Any]) -> None:
    """Keep an input imported on one page (cases, a roster) for the session, tied to the current district."""
    st.session_state[key] = {**entry, "district": st.session_state.get(K.DISTRICT)}


def kept_for_district(key: str) -> dict[str, Any] | None:
    """The input kept under ``key`` if it was imported into the district now in use, else None.

    A user who imports cases for their own district and then switches to the demo (or
    another upload) must not see those cases counted in the other district's grids.
    """
    entry = st.session_state.get(key)
    if not isinstance(entry, dict) or entry.get("district") != st.session_state.get(K.DISTRICT):
        return None
    return entry


def _leave_pages_directory_mode() -> None:
    """Make Streamlit run ``app.py`` (the frame) on every run, even after a deep link.

    Streamlit 1.67 decides per process, when the first session starts, that an
    app with a ``pages/`` folder is a v1 multipage app, and only ``st.navigation``
    turns that off. If the first visit after a restart is ``/planner``, v1 runs
    pages/planner.py alone: no frame, no language switch, a sidebar listing
    ``app``, ``home``, ``ui`` — for every later visitor too. A page that finds
    itself in that mode switches it off and reruns, so the frame takes over.
    (AppTest of ``app.py`` hits the same flag: without this, its reruns skip the frame.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def init_state() -> None:
    """Set every key's default once; idempotent, so each page can call it."""
    _leave_pages_directory_mode()
    defaults: dict[str, Any] = {
        K.LANG: "zh", K.SOURCE: "demo", K.DISTRICT: DEMO_PATH, K.OSM: False, K.COORDS: "wgs84",
        K.MIN: RULES.min_households, K.MAX: RULES.max_households,
        K.TARGET: RULES.target_households, K.SEED: 0, K.PLAN: None, K.PLANS: {},
        K.UPLOAD_DIR: None, K.SESSION: uuid.uuid4().hex[:12], K.DISTRICT_NAME: "", K.MISSING: (),
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def lang() -> Lang:
    """Return the chosen language."""
    value = st.session_state.get(K.LANG, "zh")
    return "en" if value == "en" else "zh"


def t(key: str, **fields: object) -> str:
    """Return the text for ``key`` in the chosen language."""
    return _t(key, lang(), **fields)


_MD_SPECIAL = re.compile(r"([\\`*\[\]<>#|~$!{}])")


def md_escape(text: str) -> str:
    """Escape Markdown so text from a user file shows as typed (no links, images, HTML, maths)."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


#: Error codes of refused actions (a hand edit of a plan, a save over a newer version): shown as
#: "操作未执行" even where the page does not say so (``show_error(kind=None)``).
ACTION_CODE_PREFIXES = ("err.edit.", "err.plans.conflict", "err.plans.branch_exists", "err.plans.no_author")


def error_kind(err: GridgeoError) -> Literal["load", "action"]:
    """"action" for an error that refuses something the user did, "load" for data that cannot be read."""
    return "action" if isinstance(err, PlanConflictError) or err.code.startswith(ACTION_CODE_PREFIXES) else "load"


def show_error(err: GridgeoError, *, kind: Literal["load", "action"] | None = None, title: str | None = None) -> None:
    """Show a ``GridgeoError`` in the page's language: a heading, then the sentence naming the file,
    row or feature, the value seen and the fix (``gridgeo.errors.render``), never a server path.

    ``kind`` picks the heading: ``"load"`` (数据无法载入, data that could not be read) or
    ``"action"`` (操作未执行, an edit, a save or another action that was refused and changed
    nothing); left out, it follows the error (``error_kind``). ``title`` overrides both.
    """
    body = render(for_uploader(err), lang())
    lines = body.split("\n")
    text = md_escape(lines[0]) + "".join(f"\n- {md_escape(line[2:])}" for line in lines[1:])
    heading = title or t("app.action_error_title" if (kind or error_kind(err)) == "action" else "app.error_title")
    st.error(f"**{md_escape(heading)}**\n\n{text}", icon=":material/error:")


#: Codes whose fix lists every format gridgeo reads, and the same message with a fix naming the
#: formats of the uploader the file came through (a roster uploader takes .csv and .xlsx only).
NARROWED_CODES = {"err.io.unreadable": "err.upload.unreadable", "err.io.unknown_format": "err.upload.unknown_format"}


def for_uploader(err: GridgeoError) -> GridgeoError:
    """``err`` as the user of one uploader should read it: its fix names only the formats that
    uploader takes (``file_upload`` records them by file name), not every format gridgeo reads.

    Other errors, files that came through no uploader (the district folder) and uploaders
    taking every format are returned unchanged.
    """
    code = NARROWED_CODES.get(err.code)
    if code is None or not err.path:
        return err
    types = st.session_state.get(K.UPLOAD_TYPES, {}).get(Path(err.path).name)
    if not types or set(types) >= set(UPLOAD_TYPES):
        return err
    names = file_types_text(types)
    return InputError(err.message, path=Path(err.path).name, row=err.row, feature_id=err.feature_id, value=err.value,
                      code=code, problems=err.problems, **{**err.fields, "types": names},
                      remedy=f"this upload takes {file_types_text(types, 'en')} files; export the data again as "
                             "one of them")


#: What an empty cell of a table shows: a dash, never Streamlit's grey "None".
MISSING_CELL = "—"


def show_table(data: pd.DataFrame, *, where: Any = None, numbers: Sequence[str] = (), plain: Sequence[str] = (),
               **kwargs: Any) -> Any:
    """``st.dataframe`` for every table of the app: a missing cell shows "—", never "None", "nan" or "NaT";
    quantities show thousands separators (14,989), as the metric figures above them do.

    Streamlit prints a missing value as a grey "None" unless told otherwise; text cells that
    spell a missing value (``str(None)``) are blanked first (``gridgeo.tables.blank_missing``).
    Integer and float columns that are quantities (households, people, cases, metres …) get a
    ``NumberColumn`` format (``gridgeo.tables.measure_columns``); ids, codes, years, phone numbers,
    row numbers, ranks, versions, coordinates and p/z/rates stay plain (``tables.is_plain_column``).
    ``numbers`` / ``plain`` name columns to format or keep plain regardless; a ``column_config``
    given by the page wins over both. ``where`` is a container (a column, the sidebar); other
    keywords go to ``st.dataframe``.
    """
    box = where if where is not None else st
    kwargs.setdefault("placeholder", MISSING_CELL)
    shown = tables.blank_missing(data)
    if isinstance(shown, pd.DataFrame):
        formats = tables.measure_columns(shown, numbers=numbers, plain=plain)
        config: dict[Any, Any] = {name: st.column_config.NumberColumn(format=fmt) for name, fmt in formats.items()}
        config.update(kwargs.get("column_config") or {})
        if config:
            kwargs["column_config"] = config
    return box.dataframe(shown, **kwargs)


def mtime(path: str | Path) -> float:
    """Return the newest modification time under ``path`` (a file or a folder); 0 if missing.

    It goes into cache keys, so an edited file is read again.
    """
    p = Path(path)
    if p.is_file():
        return p.stat().st_mtime
    if p.is_dir():
        times = [f.stat().st_mtime for f in p.rglob("*") if f.is_file()]
        return max(times, default=p.stat().st_mtime)
    return 0.0


@st.cache_data(show_spinner=False, max_entries=8)
def load_district(path: str, mtime: float) -> io.District:
    """Read a district folder; ``mtime`` is only in the cache key."""
    return io.read_district(path, rules=RULES)


#: the layers a district cannot do without (``io.read_district`` refuses a folder lacking one)
REQUIRED_LAYERS = ("communities", "buildings")


@st.cache_resource(show_spinner=False, max_entries=8)   # errors do not survive cache_data's pickling
def partial_upload_errors(folder: str, mtime: float) -> list[GridgeoError]:
    """Errors of the layers of an incomplete upload that can be checked alone (the communities):
    the user fixes them while the buildings are still on their way. ``mtime`` is only in the key."""
    manifest = json.loads((Path(folder) / "district.json").read_text(encoding="utf-8"))
    errors: list[GridgeoError] = []
    for layer, entry in manifest["layers"].items():
        if layer != "communities":            # buildings, grids … are checked against the communities
            continue
        try:
            io.read_layer(layer, Path(folder) / entry["path"], coords=entry["coords"], rules=RULES)
        except GridgeoError as err:
            errors.append(err)
    return errors


def upload_waiting(missing: Sequence[str]) -> NoReturn:
    """Say which required files of the user's upload are still missing, which are in, and stop.

    No page shows the demo district's figures in the meantime: they would pass for the user's own.
    The files uploaded so far stay in the sidebar (its widgets keep them across pages).
    """
    st.warning(t("app.upload_incomplete", n=len(missing)), icon=":material/upload_file:")
    for layer in missing:
        st.markdown(t("app.upload_missing_layer", layer=t(f"layer.{layer}"), where=t(f"app.upload_{layer}")))
    folder = st.session_state.get(K.UPLOAD_DIR)
    manifest = Path(folder) / "district.json" if folder else None
    if manifest is not None and manifest.exists():
        layers = json.loads(manifest.read_text(encoding="utf-8"))["layers"]
        received = [(layer, Path(layers[layer]["path"]).name) for layer in UPLOAD_LAYERS if layer in layers]
        st.caption(t("app.upload_received", files=("、" if lang() == "zh" else ", ").join(
            t("app.upload_received_file", layer=t(f"layer.{layer}"), name=md_escape(name))
            for layer, name in received)))
        for err in partial_upload_errors(str(folder), mtime(str(folder))):
            show_error(err)
    st.info(t("app.upload_no_demo"), icon=":material/info:")
    stop()


def current_district() -> io.District:
    """Load the chosen district or show why not and stop the page.

    While an upload lacks a required file, every page says which (``upload_waiting``) and
    shows nothing else: never the demo district's figures as if they were the user's.
    """
    missing = st.session_state.get(K.MISSING) or ()
    path = st.session_state[K.DISTRICT]
    if missing or path is None:
        upload_waiting(missing or REQUIRED_LAYERS)
    try:
        return load_district(path, mtime(path))
    except GridgeoError as err:
        for each in (err, *err.fields.get("also", ())):     # every file's problems at once
            show_error(each)
        if path == DEMO_PATH and not Path(DEMO_PATH).exists():
            st.info(t("app.demo_missing", path=DEMO_PATH))
        stop()


def stop() -> NoReturn:
    """``st.stop()`` typed as never returning."""
    st.stop()
    raise RuntimeError("unreachable")  # pragma: no cover


@st.cache_data(show_spinner=False, max_entries=8)
def district_summary(path: str, mtime: float, lang: Lang = "zh") -> tuple[dict[str, Any], pd.DataFrame,
                                                                         pd.DataFrame]:
    """Key figures, per-community table and grouped load problems (in ``lang``) of a district."""
    district = load_district(path, mtime)
    return (summary.district_figures(district, RULES), summary.community_table(district, RULES),
            summary.problem_table(district.problems, lang=lang))


@st.cache_data(show_spinner=False, max_entries=8)
def overview_layers(path: str, mtime: float, lang: Lang) -> maps.OverviewLayers:
    """Slim GeoJSON of the home map, cached per district version and language."""
    district = load_district(path, mtime)
    return maps.overview_layers(district, summary.community_table(district, RULES), lang=lang)


def stage_upload(files: Mapping[str, tuple[str, bytes]], root: Path = UPLOAD_ROOT, coords: str = "wgs84",
                 name: str = "") -> str:
    """Write uploaded files to a folder that ``io.read_district`` reads; return its path.

    Each layer keeps the user's file name (so errors name the file they know)
    in its own sub-folder, listed in ``district.json``. The folder name is a hash
    of the contents: the same upload maps to the same folder and cache entry.
    ``coords`` (wgs84, gcj02, bd09) is recorded per layer, so the loaders convert
    AMap/Baidu coordinates. ``name`` is the district's name as the user typed it;
    blank, ``io`` names it after the communities' street (never after a file).
    """
    district_name = name.strip()
    digest = hashlib.sha256(f"coords={coords}\0".encode())
    for layer in sorted(files):
        name, data = files[layer]
        digest.update(f"{layer}\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    folder = root / digest.hexdigest()[:20]
    manifest: dict[str, Any] = {"name": district_name, "uploaded": True, "layers": {}}
    for layer, (name, data) in files.items():
        safe = Path(name).name.replace("\0", "") or f"{layer}.geojson"
        target = folder / layer / safe
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        manifest["layers"][layer] = {"path": f"{layer}/{safe}", "coords": coords}
    manifest_path = folder / "district.json"
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    if not manifest_path.exists() or manifest_path.read_text(encoding="utf-8") != text:
        manifest_path.write_text(text, encoding="utf-8")
    return str(folder)


def _seeded(store_key: str, widget_key: str) -> Callable[[], None]:
    """Seed a widget from the value kept under ``store_key``; return the ``on_change`` that keeps it.

    Streamlit forgets a widget's state when another page runs or its labels change
    (a language switch), so the value lives under ``store_key`` instead.
    """
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state[store_key]

    def _keep() -> None:
        st.session_state[store_key] = st.session_state[widget_key]

    return _keep


def source_widget_key(language: Lang | None = None) -> str:
    """Key of the data-source radio in ``language`` (default: the chosen one)."""
    return f"w_{K.SOURCE}_{language or lang()}"


def uploader_css() -> None:
    """Put Streamlit's own uploader texts into the page's language, on every uploader of the app.

    Streamlit 1.67 has no option for them (streamlit/streamlit#13500, open): the button keeps
    its function and gets our label ("选择文件"), and the English "Drag and drop file here ·
    200MB per file • CSV" line gives way to the size limit in the page's language; each
    uploader states its formats in a caption beside it (``file_upload``). The app frame
    calls this on every run. The CSS is a constant of ours (no user text).
    """
    label = t("app.upload_button").replace('"', "")
    size = t("app.upload_size", size=int(st.get_option("server.maxUploadSize"))).replace('"', "")
    st.sidebar.html(f"""<style>
[data-testid="stFileUploaderDropzone"] button > * {{ display: none !important; }}
[data-testid="stFileUploaderDropzone"] button::after {{ content: "{label}"; font-size: 0.875rem; }}
[data-testid="stFileUploaderDropzoneInstructions"] * {{ display: none !important; }}
[data-testid="stFileUploaderDropzoneInstructions"]::after {{ content: "{size}"; font-size: 0.8rem;
  opacity: 0.7; }}
</style>""")


def file_types_text(types: Sequence[str], language: Lang | None = None) -> str:
    """".csv、.xlsx" / ".csv or .xlsx": the extensions an uploader takes, as the caption lists them."""
    names = [f".{x}" for x in types]
    if (language or lang()) == "zh":
        return "、".join(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def file_upload(label: str, types: Sequence[str], key: str, *, where: Any = None, caption: bool = True,
                help: str | None = None) -> Any:
    """A file uploader that accepts any file and checks the type itself, in the page's language.

    Streamlit's own check (``type=[...]``) refuses a file with "text/plain files are not
    allowed.", in English whatever the page's language; here the uploader takes every file
    and a file of another type gets ``app.upload_wrong_type`` (which types, in Chinese or
    English) and is not used. ``caption`` adds the line of accepted formats and the size limit.
    Returns the uploaded file, or None (nothing uploaded, or the wrong type).
    """
    box = where if where is not None else st
    upload = box.file_uploader(label, key=key, help=help)
    if caption:
        box.caption(t("app.upload_accepts", types=file_types_text(types),
                      size=int(st.get_option("server.maxUploadSize"))))
    if upload is None:
        return None
    suffix = Path(upload.name).suffix.lower().lstrip(".")
    if suffix not in {x.lower() for x in types}:
        box.error(t("app.upload_wrong_type", name=md_escape(upload.name), types=file_types_text(types)),
                  icon=":material/error:")
        return None
    # an error about this file names the formats this uploader takes (``for_uploader``)
    st.session_state.setdefault(K.UPLOAD_TYPES, {})[Path(upload.name).name] = list(types)
    return upload


def stage_file(upload: Any, area: str, root: Path = UPLOAD_ROOT) -> Path:
    """Write one uploaded file where the readers can open it; return its path.

    The file keeps the user's name (errors name the file they know), in
    ``<root>/<session>/<area>/<content hash>/``; a new file for the same ``area`` replaces
    the last one (its folder is deleted), and ``root`` goes at exit. Written 0644.
    """
    data = upload.getvalue()
    area_dir = root / str(st.session_state.get(K.SESSION, "session")) / area
    folder = area_dir / hashlib.sha256(data).hexdigest()[:20]
    target = folder / (Path(upload.name).name.replace("\0", "") or f"{area}.bin")
    if area_dir.exists():
        for old in area_dir.iterdir():
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
        target.chmod(0o644)
    return target


def _replace_staged(folder: str | None) -> None:
    """Remember ``folder`` as this session's upload (None: none); delete the one it replaces."""
    previous = st.session_state.get(K.UPLOAD_DIR)
    if previous and previous != folder:
        shutil.rmtree(previous, ignore_errors=True)
    st.session_state[K.UPLOAD_DIR] = folder


def data_source_sidebar() -> None:
    """Sidebar: bundled demo or uploaded files; sets ``K.DISTRICT``."""
    # The option labels change with the language; the frontend keeps a radio's
    # selection by label, so each language gets its own widget seeded from K.SOURCE.
    widget_key = source_widget_key()
    source = st.sidebar.radio(
        t("app.data_source"), ["demo", "upload"], key=widget_key, on_change=_seeded(K.SOURCE, widget_key),
        format_func=lambda s: t("app.source_demo") if s == "demo" else t("app.source_upload"),
    )
    if source == "demo":
        st.session_state[K.DISTRICT] = DEMO_PATH
        st.session_state[K.MISSING] = ()
        _replace_staged(None)              # back to the demo: the staged upload goes
        return
    limit_mb = int(st.get_option("server.maxUploadSize"))
    st.sidebar.caption(t("app.upload_limits", size=limit_mb))
    uploaded = {layer: file_upload(t(f"app.upload_{layer}"), UPLOAD_TYPES, K.UPLOAD[layer], where=st.sidebar,
                                   caption=False)
                for layer in UPLOAD_LAYERS}
    coords_key = f"w_{K.COORDS}_{lang()}"   # labels change with the language, as for the radio above
    coords = st.sidebar.selectbox(t("app.coords"), COORDS, key=coords_key, on_change=_seeded(K.COORDS, coords_key),
                                  help=t("app.coords_help"), format_func=lambda c: t(f"app.coords_{c}"))
    name_key = f"w_{K.DISTRICT_NAME}"
    name = st.sidebar.text_input(t("app.district_name"), key=name_key, on_change=_seeded(K.DISTRICT_NAME, name_key),
                                 placeholder=t("app.district_name_placeholder"), max_chars=40)
    files = {layer: (f.name, f.getvalue()) for layer, f in uploaded.items() if f is not None}
    missing = tuple(layer for layer in REQUIRED_LAYERS if uploaded[layer] is None)
    st.session_state[K.MISSING] = missing
    if missing:
        # no district yet, and never the demo in its place: every page says what is missing
        st.sidebar.warning(t("app.upload_waiting", layers=("、" if lang() == "zh" else ", ").join(
            t(f"layer.{layer}") for layer in missing)))
        st.session_state[K.DISTRICT] = None
        # the files so far are staged (a replaced or removed file's folder goes), so they are checked now
        _replace_staged(stage_upload(files, root=UPLOAD_ROOT / st.session_state[K.SESSION], coords=coords,
                                     name=name or "") if files else None)
        return
    folder = stage_upload(files, root=UPLOAD_ROOT / st.session_state[K.SESSION], coords=coords, name=name or "")
    _replace_staged(folder)
    st.session_state[K.DISTRICT] = folder


def district_caption(district: io.District) -> str:
    """"当前辖区：平阴县榆山街道 · 示例数据为合成数据" — the same line on every page."""
    name = district.name or t("app.unnamed_district")
    return t("app.district", name=md_escape(name)) + (" · " + t("app.demo_note") if district.synthetic else "")


@dataclass(frozen=True)
class Need:
    """One input a page needs: whether it is there, what it is, and where to provide it.

    ``what`` and ``how`` are i18n keys (``how`` says what to do, e.g. "upload the
    staff roster in the sidebar"); ``page`` is the page file that provides it
    (e.g. ``"pages/planner.py"``), linked when it is registered in the navigation.
    """

    ok: bool
    what: str
    how: str
    page: str | None = None


def require(*needs: Need) -> None:
    """Stop the page when an input is missing, saying which and linking to where to provide it.

    Usage (each page, after ``init_state()``)::

        district = current_district()
        require(need_layer(district, "cases"), need_plan())

    Every missing input is listed at once (not one per visit).
    """
    missing = [n for n in needs if not n.ok]
    if not missing:
        return
    st.warning(t("app.missing_inputs", n=len(missing)), icon=":material/info:")
    for n in missing:
        st.markdown(f"- **{t(n.what)}**：{t(n.how)}" if lang() == "zh" else f"- **{t(n.what)}**: {t(n.how)}")
        if n.page:
            try:
                st.page_link(n.page, icon=":material/arrow_forward:")   # titled as in the navigation
            except Exception:  # a page run alone (AppTest) has no navigation to link into
                pass
    stop()


def need_layer(district: io.District, layer: str) -> Need:
    """The district must have ``layer`` (e.g. "staff", "cases"); provided in the sidebar upload."""
    present = getattr(district, layer, None) is not None
    return Need(present, f"layer.{layer}", "app.how_upload", None)


def need_plan() -> Need:
    """A grid plan made on the planner page in this session (for pages that need *a plan*, not any grids)."""
    path = st.session_state.get(K.DISTRICT)
    shown = st.session_state.get(K.PLAN)
    ok = bool(shown) and shown in st.session_state.get(K.PLANS, {}) and path is not None and shown[:2] == (
        path, mtime(path))
    return Need(ok, "app.need_plan", "app.how_plan", "pages/planner.py")


def kept_number_input(label: str, store_key: str, **kwargs: Any) -> Any:
    """A number input whose value survives a trip to another page.

    Streamlit drops a page widget's state when another page runs, and a label
    change (the language switch) makes a new widget that would start at its
    minimum; the value is therefore kept under ``store_key`` and the widget (key
    ``w_<store_key>_<lang>``) is re-seeded from it.
    """
    widget_key = f"w_{store_key}_{lang()}"
    return st.number_input(label, key=widget_key, on_change=_seeded(store_key, widget_key), **kwargs)


@dataclass(frozen=True)
class GridsInUse:
    """The grids layer the analysis pages work on, and where it came from."""

    grids: gpd.GeoDataFrame          # index grid_id, EPSG:4326
    households: pd.DataFrame         # per grid: households, buildings
    assignments: pd.DataFrame | None  # building_id, grid_id, households (a plan's own split), if known
    source: str                      # "file" (the district's grids layer) | "plan" | "store" | "default_plan"
    version: str | None = None       # the store version, when source == "store"


@st.cache_data(show_spinner=False, max_entries=4)
def default_plan(path: str, mtime: float) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Grids and assignments of the default partition (Rules defaults, seed 0) of a district."""
    from gridgeo.partition import partition

    district = load_district(path, mtime)
    result = partition(district.communities, district.buildings, district.streets, rules=RULES, seed=0,
                       workers=max(1, min(4, os.cpu_count() or 1)))
    return result.grids, result.assignments


def current_grids(district: io.District) -> GridsInUse:
    """The grids to analyse: the district's own grids layer if it has one, else this
    session's plan from the planner page, else the plan store's version (the one chosen
    in the planner's 方案 section, or the latest), else the default plan of the district."""
    if district.grids is not None:
        return GridsInUse(district.grids, gridlayer.grid_households(district.grids, district.buildings),
                          None, "file")
    path = st.session_state[K.DISTRICT]
    shown = st.session_state.get(K.PLAN)
    entry = st.session_state[K.PLANS].get(shown) if shown is not None else None
    if entry is not None and shown[:2] == (path, mtime(path)):
        result = entry["result"]
        grids, assignments, source = result.grids, result.assignments, "plan"
    else:
        from pages._plans_ui import store_grids  # the store module imports this one

        stored = store_grids(district)
        if stored is not None:
            return GridsInUse(stored.grids, gridlayer.grid_households(stored.grids, district.buildings,
                                                                      stored.assignments),
                              stored.assignments, "store", stored.version)
        grids, assignments = default_plan(path, mtime(path))
        source = "default_plan"
    return GridsInUse(grids, gridlayer.grid_households(grids, district.buildings, assignments),
                      assignments, source)
