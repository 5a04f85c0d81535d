"""gridgeo app: the frame and router (style.md §7). Pages live in pages/.

One sidebar for every page, in this order: the navigation, the language, the data
source (demo or upload, with the district's name). Each page is one ``st.Page``
line below, in the order 辖区概览, 网格规划, then the analysis pages as they land
(网格人员, 事件热力, 服务覆盖, 导出); a page whose inputs are missing calls
``pages._ui.require`` to say which and link to where to provide them.
"""

from __future__ import annotations

import streamlit as st

from pages._ui import K, data_source_sidebar, init_state, t, uploader_css

st.set_page_config(page_title="gridgeo · 网格规划", page_icon="🗺️", layout="wide")
init_state()
st.sidebar.radio(t("app.language"), ["zh", "en"], key=K.LANG, horizontal=True,
                 format_func=lambda code: {"zh": "中文", "en": "English"}[code])
data_source_sidebar()
uploader_css()                     # Streamlit's uploader texts in the page's language, on every page
st.navigation([
    st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True),
    st.Page("pages/planner.py", title=t("nav.planner"), icon=":material/grid_view:"),
    st.Page("pages/cases.py", title=t("nav.cases"), icon=":material/local_fire_department:"),
    st.Page("pages/staffing.py", title=t("nav.staffing"), icon=":material/groups:"),
    st.Page("pages/compliance.py", title=t("nav.compliance"), icon=":material/timer:"),
    st.Page("pages/coverage.py", title=t("nav.coverage"), icon=":material/directions_walk:"),
    st.Page("pages/export.py", title=t("nav.export"), icon=":material/download:"),
]).run()
