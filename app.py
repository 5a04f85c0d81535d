"""gridgeo app: the frame and router (style.md §7). Pages live in pages/."""

from __future__ import annotations

import streamlit as st

from pages._ui import K, data_source_sidebar, init_state, t

st.set_page_config(page_title="gridgeo · 网格规划", page_icon="🗺️", layout="wide")
init_state()
st.sidebar.radio(t("app.language"), ["zh", "en"], key=K.LANG, horizontal=True,
                 format_func=lambda code: {"zh": "中文", "en": "English"}[code])
data_source_sidebar()
st.navigation([
    st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True),
    st.Page("pages/planner.py", title=t("nav.planner"), icon=":material/grid_view:"),
    st.Page("pages/compliance.py", title=t("nav.compliance"), icon=":material/timer:"),
    st.Page("pages/coverage.py", title=t("nav.coverage"), icon=":material/directions_walk:"),
    st.Page("pages/export.py", title=t("nav.export"), icon=":material/download:"),
]).run()
