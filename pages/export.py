"""Export: the current plan and the district layers in any format, and printable grid sheets."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from gridgeo.errors import GridgeoError
from gridgeo.export import FORMATS, coords_suffix, export_zip, gpkg_bytes
from gridgeo.export.sheets import mask_phone, select_grids, sheet_png, sheets_pdf
from gridgeo.grids import grid_table
from pages._ui import _seeded as seeded
from pages._ui import current_district, current_grids, init_state, lang, md_escape, show_error, stop, t

LAYERS = ("grids", "assignments", "communities", "buildings", "streets", "stations", "staff")
COORDS = ("wgs84", "gcj02", "bd09")
PAGE_FORMATS = ("gpkg", *(f for f in FORMATS if f != "gpkg"))   # the one file QGIS/ArcGIS users want first

init_state()
st.title(t("export.title"))
st.caption(t("export.intro"))
district = current_district()                                                  # 1 inputs
try:
    in_use = current_grids(district)
except GridgeoError as err:
    show_error(err)
    stop()
names = district.communities["name"].astype(str)
grids = grid_table(in_use.grids, district.buildings, in_use.assignments, district.communities)
st.info(t("export.source", source=t(f"app.grids_source.{in_use.source}"), n=f"{len(grids):,}"))

available: dict[str, Any] = {
    "grids": grids, "assignments": in_use.assignments, "communities": district.communities,
    "buildings": district.buildings, "streets": district.streets, "stations": district.stations,
    "staff": district.staff,
}
offered = [name for name in LAYERS if available.get(name) is not None]


def kept(widget: Any, label: str, options: Any, name: str, default: Any, **kwargs: Any) -> Any:
    """A widget whose choice survives a language switch: its labels change with the language and the
    frontend keeps a choice by label, so each language gets its own key seeded from ``export_<name>``."""
    store = f"export_{name}"
    st.session_state.setdefault(store, default)
    key = f"{store}_{lang()}"
    return widget(label, options, key=key, on_change=seeded(store, key), **kwargs)


chosen = kept(st.multiselect, t("export.layers"), offered, "layers",
              [n for n in ("grids", "assignments") if n in offered], format_func=lambda n: t(f"export.layer_name.{n}"))
c1, c2, c3 = st.columns(3)
with c1:
    fmt = kept(st.selectbox, t("export.format"), PAGE_FORMATS, "format", "gpkg",
               format_func=lambda f: t(f"export.format.{f}"), help=t("export.format_help"))
with c2:
    coords = kept(st.selectbox, t("export.coords"), COORDS, "coords", "wgs84", help=t("export.coords_help"),
                  format_func=lambda c: t(f"export.coords.{c}"))
with c3:
    headers = kept(st.radio, t("export.headers"), ["zh", "en"], "headers", lang(), horizontal=True,
                   format_func=lambda h: t(f"export.headers.{h}"))
gbk = st.checkbox(t("export.gbk"), key="export_gbk") if fmt == "shp" else False
unmask = st.checkbox(t("export.unmask"), key="export_unmask") if "staff" in chosen else False

if not chosen:
    st.warning(t("export.nothing"))
elif st.button(t("export.prepare"), type="primary", key="export_prepare"):     # 2 gridgeo
    layers: dict[str, pd.DataFrame] = {name: available[name] for name in chosen}
    if "staff" in layers and not unmask and "phone" in layers["staff"].columns:
        layers["staff"] = layers["staff"].assign(phone=layers["staff"]["phone"].map(mask_phone))
    try:
        if fmt == "gpkg":
            data = gpkg_bytes(layers, coords=coords, lang=lang())
            file_name, mime = f"gridgeo{coords_suffix(coords)}.gpkg", "application/geopackage+sqlite3"
        else:
            data = export_zip(layers, fmt, coords=coords, lang=lang(), headers=headers,
                              shp_encoding="GBK" if gbk else "UTF-8")
            file_name, mime = f"gridgeo_{fmt}{coords_suffix(coords)}.zip", "application/zip"
    except GridgeoError as err:
        show_error(err, kind="action")
        stop()
    st.session_state["export_file"] = (file_name, mime, data)
if "export_file" in st.session_state and chosen:                                # 3 render
    file_name, mime, data = st.session_state["export_file"]
    st.download_button(t("export.download", name=file_name), data, file_name=file_name, mime=mime,
                       key="export_download", on_click="ignore")

st.subheader(t("export.sheets"))
st.caption(t("export.sheets_intro"))
communities = sorted(grids["community_id"].astype(str).unique()) if "community_id" in grids.columns else []
s1, s2, s3 = st.columns([3, 3, 1])
community = s1.selectbox(t("export.sheets_community"), communities, key="export_sheet_community",
                         format_func=lambda c: f"{names.get(c, '')} {c}".strip())
in_community = select_grids(grids, community_id=community) if community else []
single = s2.selectbox(t("export.sheets_grid"), ["—", *in_community], key="export_sheet_grid")
paper = s3.selectbox(t("export.paper"), ["A4", "A3"], key="export_paper")
buildings = district.buildings
if in_use.assignments is not None:
    first = in_use.assignments.drop_duplicates("building_id").set_index("building_id")["grid_id"]
    buildings = buildings.assign(grid_id=first.reindex(buildings.index).to_numpy())
options: dict[str, Any] = dict(streets=district.streets, staff=district.staff, communities=district.communities,
                               paper=paper, lang=lang(), synthetic=district.synthetic)
if in_community and st.button(t("export.sheets_make"), key="export_sheets_make"):
    try:
        if single != "—":
            st.image(sheet_png(grids, buildings, single, dpi=110, **options), caption=md_escape(single))
        pdf = sheets_pdf(grids, buildings, in_community, **options)
    except GridgeoError as err:
        show_error(err, kind="action")
        stop()
    st.session_state["export_sheets"] = (community, len(in_community), pdf)
if "export_sheets" in st.session_state and st.session_state["export_sheets"][0] == community:
    _, pages, pdf = st.session_state["export_sheets"]
    st.download_button(t("export.sheets_download", n=pages), pdf, file_name=f"grid_sheets_{community}.pdf",
                       mime="application/pdf", key="export_sheets_download", on_click="ignore")
