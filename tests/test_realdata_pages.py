"""A street office's own upload (communities and buildings only, as the sidebar stages it) on the pages
that need more: each missing input is named with a place the user can really provide it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from gridgeo.i18n import t
from pages._ui import K, UPLOAD_LAYERS, stage_upload
from tests.test_export_page import _district

ROOT = Path(__file__).resolve().parents[1]
SIDEBAR = {"zh": "数据来源", "en": "Data source"}


def _uploaded(tmp_path: Path) -> str:
    """The two required files through ``stage_upload``, the sidebar's own staging."""
    src = tmp_path / "src"
    _district(src, grids=False)
    files = {layer: (f"{layer}.geojson", (src / f"{layer}.geojson").read_bytes())
             for layer in ("communities", "buildings")}
    return stage_upload(files, root=tmp_path / "up")


def test_export_names_where_each_missing_input_can_be_provided(tmp_path: Path) -> None:
    folder = _uploaded(tmp_path)
    for lang in ("zh", "en"):
        at = AppTest.from_file(str(ROOT / "pages" / "export.py"), default_timeout=180)
        at.session_state[K.DISTRICT] = folder
        at.session_state[K.LANG] = lang
        at.run()
        assert not at.exception
        lines = {name: next(m.value for m in at.markdown if t(f"export.input.{name}", lang) in m.value)
                 for name in ("staff", "cases", "stations")}
        # the sidebar takes stations but neither a roster nor cases: only the stations line may send the user there
        for name, line in lines.items():
            assert (SIDEBAR[lang] in line) == (name in UPLOAD_LAYERS), (name, line)
        assert t("nav.staffing", lang) in lines["staff"]
        assert t("nav.cases", lang) in lines["cases"]
        # the grids exported are the user's: their workspace's v1, the default partition of their district
        assert any(t("app.grids_source.store", lang) in i.value for i in at.info)


def test_an_uploads_saved_versions_follow_its_files_not_the_browser_session(tmp_path: Path) -> None:
    from pages._plans_ui import workspace_path

    src = tmp_path / "src"
    _district(src, grids=False)
    files = {layer: (f"{layer}.geojson", (src / f"{layer}.geojson").read_bytes())
             for layer in ("communities", "buildings")}
    today = stage_upload(files, root=tmp_path / "up" / "session-a")
    tomorrow = stage_upload(files, root=tmp_path / "up" / "session-b")    # a new session, the same files
    assert today != tomorrow
    assert workspace_path(today) == workspace_path(tomorrow)
    # other files are another district, with versions of its own
    edited = dict(files, buildings=("buildings.geojson", files["buildings"][1].replace(b"180", b"181")))
    assert workspace_path(stage_upload(edited, root=tmp_path / "up" / "session-a")) != workspace_path(today)
    # a district folder on disk keeps its own file, by path
    assert workspace_path(str(src)) != workspace_path(str(tmp_path / "other"))


def _compliance_with_imported_cases(tmp_path: Path, *, imported_here: bool) -> AppTest:
    """The 办理时效 page on a district without cases, after the 事件热力 page imported work orders
    (tests/test_sla_app.py's seven) into this district (``imported_here``) or into another one."""
    from gridgeo import cases as gcases
    from gridgeo import io
    from tests.test_sla_app import make_district

    with_cases = make_district(tmp_path / "with")
    imported = gcases.from_layer(io.read_district(with_cases).cases)
    folder = make_district(tmp_path / "without", with_cases=False)
    at = AppTest.from_file(str(ROOT / "pages" / "compliance.py"), default_timeout=240)
    at.session_state[K.DISTRICT] = str(folder)
    at.session_state[K.IMPORTED_CASES] = {"digest": "d1", "name": "工单.csv", "cases": imported, "report": None,
                                           "district": str(folder if imported_here else with_cases)}
    at.run()
    assert not at.exception
    return at


def test_compliance_works_on_the_cases_imported_on_the_heatmap_page(tmp_path: Path) -> None:
    """An upload has no cases layer; the work orders imported on 事件热力 are the 办理时效 page's cases
    (as the export already takes them), with the figures counted by hand in tests/test_sla_app.py."""
    at = _compliance_with_imported_cases(tmp_path, imported_here=True)
    assert not at.info or t("sla.no_cases", upload=t("sla.cases_file"), cases_page=t("nav.cases")) not in [
        i.value for i in at.info]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("sla.metric.received")] == "7"
    assert metrics[t("sla.metric.on_time_rate")] == "50.0%"
    assert metrics[t("sla.metric.red")] == "2"
    assert any(c.value == t("sla.cases_from_import", page=t("nav.cases"), name="工单.csv", n="7") for c in at.caption)


def _roster(tmp_path: Path) -> Path:
    """Two people living in the test district (no grid yet)."""
    path = tmp_path / "花名册.csv"
    path.write_text("工号,姓名,岗位,专兼职,电话,经度,纬度,网格编码\n"
                    "S1,张三,网格长,专职,13800000001,116.4410,36.2920,\n"
                    "S2,李四,网格员,专职,13800000002,116.4470,36.2920,\n", encoding="utf-8-sig")
    return path


def test_a_roster_uploaded_on_the_staff_page_is_kept_and_exported(tmp_path: Path) -> None:
    """Streamlit forgets a page's uploader when another page runs: the roster staged on 网格人员 stays in use
    there and is what the export takes, instead of "no roster" on the way back and at the export."""
    folder = _uploaded(tmp_path)
    roster = {"path": str(_roster(tmp_path)), "name": "花名册.csv", "district": folder}
    at = AppTest.from_file(str(ROOT / "pages" / "staffing.py"), default_timeout=240)
    at.session_state[K.DISTRICT] = folder
    at.session_state[K.ROSTER_FILE] = roster
    at.run()
    assert not at.exception
    assert any(c.value == t("staffing.roster_source.upload", name="花名册.csv", n=2) for c in at.caption)
    assert t("staffing.no_roster") not in [i.value for i in at.info]

    at = AppTest.from_file(str(ROOT / "pages" / "export.py"), default_timeout=180)
    at.session_state[K.DISTRICT] = folder
    at.session_state[K.ROSTER_FILE] = roster
    at.run()
    assert not at.exception
    assert not any(t("export.input.staff") in m.value for m in at.markdown)   # not listed as missing
    assert t("export.layer_name.staff") in at.multiselect[0].options


def test_cases_or_a_roster_imported_for_one_district_never_count_in_another(tmp_path: Path) -> None:
    """Import cases and a roster for one district, switch to another: its pages say they have none."""
    at = _compliance_with_imported_cases(tmp_path, imported_here=False)
    assert t("sla.no_cases", upload=t("sla.cases_file"), cases_page=t("nav.cases")) in [i.value for i in at.info]

    folder = _uploaded(tmp_path)
    at = AppTest.from_file(str(ROOT / "pages" / "staffing.py"), default_timeout=240)
    at.session_state[K.DISTRICT] = folder
    at.session_state[K.ROSTER_FILE] = {"path": str(_roster(tmp_path)), "name": "花名册.csv",
                                       "district": str(tmp_path / "with")}
    at.run()
    assert not at.exception
    assert not any(c.value == t("staffing.roster_source.upload", name="花名册.csv", n=2) for c in at.caption)
