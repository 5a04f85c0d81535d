"""A district that is not all there: the CLI names every bad file, pages never pass the demo off as the user's."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest

from gridgeo.cli import main
from gridgeo.i18n import t
from pages._ui import DEMO_PATH

ROOT = Path(__file__).resolve().parents[1]


def _two_bad_files(folder: Path) -> Path:
    """Communities in Web Mercator metres without a crs, buildings with the header 戸数 (not 户数)."""
    folder.mkdir(parents=True)
    data = json.loads(gpd.read_file(Path(DEMO_PATH) / "communities.geojson").to_crs(3857).to_json())
    data.pop("crs", None)
    (folder / "communities.geojson").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (folder / "buildings.csv").write_text("楼栋编码,社区编码,戸数,经度,纬度\nB1,370124001001,10,116.44,36.29\n",
                                          encoding="utf-8-sig")
    return folder


def _blocks(stderr: str, lang: str) -> list[str]:
    """stderr cut into the error blocks the CLI printed (each starts with 错误： / error:)."""
    head = t("errfmt.cli_error", lang, text="")
    return [head + part for part in stderr.split(head)[1:]]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_validate_district_prints_one_block_per_bad_file_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str) -> None:
    folder = _two_bad_files(tmp_path / "d")
    code = main(["--lang", lang, "validate", "--district", str(folder)])
    err = capsys.readouterr().err
    assert code == 2
    blocks = _blocks(err, lang)
    assert len(blocks) == 2, err
    assert "communities.geojson" in blocks[0] and "EPSG:3857" in blocks[0]
    assert "buildings.csv" in blocks[1] and "戸数" in blocks[1]
    assert "Traceback" not in err
    if lang == "zh":
        assert "处理办法" in blocks[0] and "处理办法" in blocks[1]
    else:
        assert "Fix:" in blocks[0] and "Fix:" in blocks[1]
        assert "处理办法" not in err


def test_every_command_taking_district_names_every_bad_file(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = _two_bad_files(tmp_path / "d")
    code = main(["--lang", "en", "staff", "check", "--district", str(folder)])
    err = capsys.readouterr().err
    assert code == 2
    blocks = _blocks(err, "en")
    assert len(blocks) == 2, err
    assert "communities.geojson" in blocks[0] and "buildings.csv" in blocks[1]


def test_validate_district_lists_each_layer_with_its_count(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--lang", "en", "validate", "--district", DEMO_PATH])
    out = capsys.readouterr().out
    assert code == 0
    n_buildings = len(gpd.read_file(Path(DEMO_PATH) / "buildings.geojson"))
    assert t("cli.validate.district_layer", "en", layer=t("layer.buildings", "en"), files="buildings.geojson",
             n=f"{n_buildings:,}") in out


def test_validate_without_files_or_district_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "validate"]) == 2
    err = capsys.readouterr().err
    assert "--district" in err and "Traceback" not in err


def test_format_names_on_a_chinese_page_pass_the_page_standard() -> None:
    from tests.browser_support import english_words_outside_allowlist

    shown = "\n".join(t(key, "zh", n=3) for key in ("export.sheets_grid", "export.sheets_download"))
    assert "PNG" in shown and "PDF" in shown
    assert english_words_outside_allowlist(shown) == []
    assert english_words_outside_allowlist("CSV、XLSX、GeoJSON、GeoPackage 文件") == []
    assert english_words_outside_allowlist("请上传 Word 文件") == ["Word"]     # the check still bites


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_planner_import_uploader_says_what_to_upload(tmp_path: Path, lang: str) -> None:
    from tests.test_app import _small_district
    from tests.app_support import page_test

    _small_district(tmp_path / "d")
    at = page_test("planner", tmp_path / "d", lang).run()
    assert not at.exception
    labels = [u.label for u in at.get("file_uploader")]
    wanted = t("plans.import_file_polygons", lang)
    assert wanted in labels, labels
    assert "GeoJSON" in wanted and "GeoPackage" in wanted and "Shapefile" in wanted
    assert t("app.upload_button", lang) not in labels       # not the button's own word ("选择文件")
    kind = next(r for r in at.radio if r.label == t("plans.import_kind", lang))
    kind.set_value("table").run()
    assert not at.exception
    labels = [u.label for u in at.get("file_uploader")]
    assert t("plans.import_file_table", lang) in labels and wanted not in labels


def test_a_damaged_roster_names_only_the_formats_its_uploader_takes(tmp_path: Path) -> None:
    lang = "zh"
    from tests.app_support import page_test
    from tests.test_app import _small_district

    _small_district(tmp_path / "d")
    at = page_test("staffing", tmp_path / "d", lang).run()
    assert not at.exception
    roster = next(u for u in at.get("file_uploader") if u.label == t("staffing.roster_upload", lang))
    roster.set_value(("名册.xlsx", b"this is not a workbook", "application/vnd.ms-excel")).run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert len(shown) == 1, shown
    assert "名册.xlsx" in shown[0] and "Excel" in shown[0]
    assert (".csv、.xlsx" if lang == "zh" else ".csv or .xlsx") in shown[0]
    for other in ("GeoJSON", "GeoPackage", "Shapefile", ".zip"):     # the roster uploader takes none of these
        assert other not in shown[0], shown[0]


def _show_unreadable() -> None:
    import streamlit as st

    from gridgeo.errors import InputError
    from pages._ui import K, UPLOAD_TYPES, init_state, show_error

    init_state()
    st.session_state[K.UPLOAD_TYPES] = {"名册.xlsx": ["csv", "xlsx"], "社区.gpkg": UPLOAD_TYPES}
    for name, expected in (("名册.xlsx", "Excel"), ("社区.gpkg", "GeoPackage"), ("other.csv", "CSV")):
        show_error(InputError("cannot be read", path=f"/tmp/x/{name}", code="err.io.unreadable",
                              expected=expected, remedy="gridgeo reads …"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_only_an_uploader_taking_fewer_formats_narrows_the_fix(lang: str) -> None:
    from streamlit.testing.v1 import AppTest

    from pages._ui import K

    at = AppTest.from_function(_show_unreadable)
    at.session_state[K.LANG] = lang
    at.run()
    assert not at.exception
    roster, sidebar_file, unknown = (e.value for e in at.error)
    assert (".csv、.xlsx" if lang == "zh" else ".csv or .xlsx") in roster and "GeoJSON" not in roster
    assert "/tmp" not in roster
    for text in (sidebar_file, unknown):       # every format gridgeo reads: that uploader takes them all
        assert "GeoJSON" in text and "Shapefile" in text


PAGES = ("home", "planner", "cases", "staffing", "compliance", "coverage", "export")


def _upload(at: object, layer: str, name: str, data: bytes) -> None:
    uploaders = {u.label: u for u in at.get("file_uploader")}  # type: ignore[attr-defined]
    uploaders[t(f"app.upload_{layer}", "zh")].set_value((name, data, "application/geo+json"))


def test_a_partial_upload_shows_what_is_missing_on_every_page_and_never_the_demo(tmp_path: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from pages._ui import K, source_widget_key
    from tests.test_app import _small_district

    buildings = _small_district(tmp_path / "d")
    demo_households = int(gpd.read_file(Path(DEMO_PATH) / "buildings.geojson")["households"].sum())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.radio(key=source_widget_key("zh")).set_value("upload").run()
    _upload(at, "communities", "我的社区.geojson", (tmp_path / "d" / "communities.geojson").read_bytes())
    at.run()
    assert not at.exception
    assert at.session_state[K.DISTRICT] is None and at.session_state[K.MISSING] == ("buildings",)
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page
        assert [x.value for x in at.title] == [t(f"{page}.title" if page != "compliance" else "sla.title", "zh")]
        assert not at.metric and not at.dataframe and not at.error, page     # no figure at all, demo or other
        assert at.warning[0].value.startswith(t("app.upload_incomplete", "zh", n=1)), page
        shown = "\n".join(m.value for m in at.markdown)
        assert t("app.upload_missing_layer", "zh", layer="楼栋", where=t("app.upload_buildings", "zh")) in shown
        assert t("layer.communities", "zh") + "（" not in shown                   # what is in is not "missing"
        assert any("我的社区.geojson" in c.value for c in at.caption), page     # kept: named as received
        assert not any(f"{demo_households:,}" in str(e.value) for e in (*at.markdown, *at.caption))
    assert t("app.upload_waiting", "zh", layers="楼栋") in [i.value for i in at.sidebar.warning]
    # the second file completes the district: the user's own figures, on every page's source
    _upload(at, "buildings", "楼栋.geojson", (tmp_path / "d" / "buildings.geojson").read_bytes())
    at.switch_page("pages/home.py").run()
    assert not at.exception and not at.error
    assert at.session_state[K.MISSING] == ()
    households = next(m.value for m in at.metric if m.label == t("home.households", "zh"))
    assert int(households.replace(",", "")) == int(buildings["households"].sum()) == 1700


def test_a_partial_upload_in_english_names_the_missing_files(tmp_path: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from pages._ui import K, source_widget_key

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.radio(key=source_widget_key("zh")).set_value("upload").run()
    at.radio(key=K.LANG).set_value("en").run()
    assert not at.exception
    assert not at.metric
    assert at.warning[0].value == t("app.upload_incomplete", "en", n=2)
    shown = "\n".join(m.value for m in at.markdown)
    for layer in ("communities", "buildings"):
        assert t("app.upload_missing_layer", "en", layer=t(f"layer.{layer}", "en"),
                 where=t(f"app.upload_{layer}", "en")) in shown


def test_a_bad_communities_file_is_named_before_the_buildings_arrive(tmp_path: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from pages._ui import source_widget_key

    bad = _two_bad_files(tmp_path / "d") / "communities.geojson"       # Web Mercator metres, no crs
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.radio(key=source_widget_key("zh")).set_value("upload").run()
    _upload(at, "communities", "社区.geojson", bad.read_bytes())
    at.run()
    assert not at.exception and not at.metric
    assert len(at.error) == 1 and "社区.geojson" in at.error[0].value and "EPSG:3857" in at.error[0].value
    assert "墨卡托" in at.error[0].value and "处理办法" in at.error[0].value      # in the page's language
    assert at.warning[0].value == t("app.upload_incomplete", "zh", n=1)
