"""Streamlit pages through AppTest: the frame's first run, each page alone, a bad upload.

AppTest sees ``st_folium`` as an opaque element; what the map draws is the
browser test's job (tests/test_browser.py).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from gridgeo import io, summary
from gridgeo.crs import convert_geometries
from gridgeo.i18n import t
from pages._ui import DEMO_PATH, UPLOAD_ROOT, K, md_escape, source_widget_key, stage_upload
from tests.app_support import metric as _metric

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TIMEOUT = 180  # seconds; the demo district is read and mapped on a 2-core machine


def _as_int(text: str) -> int:
    return int(text.replace(",", ""))


def _small_district(folder: Path) -> gpd.GeoDataFrame:
    """Two communities: 翠屏 with 1,150 households (k = 3), 锦水 with 550 (no k fits 300–500)."""
    folder.mkdir(parents=True, exist_ok=True)
    comms = gpd.GeoDataFrame(
        {"community_id": ["370124001001", "370124001002"], "name": ["翠屏社区", "锦水社区"],
         "street": ["榆山街道", "榆山街道"]},
        geometry=[box(116.440, 36.290, 116.445, 36.294), box(116.445, 36.290, 116.450, 36.294)], crs=4326)
    comms.to_file(folder / "communities.geojson", driver="GeoJSON")
    households = [400, 350, 400, 300, 250]
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"B{i}" for i in range(5)], "households": households},
        geometry=[box(116.4405 + 0.0012 * i, 36.2915, 116.4412 + 0.0012 * i, 36.2919) for i in range(3)]
        + [box(116.4455 + 0.0015 * i, 36.2915, 116.4462 + 0.0015 * i, 36.2919) for i in range(2)],
        crs=4326)
    buildings.to_file(folder / "buildings.geojson", driver="GeoJSON")
    return buildings


def _page(name: str, district: Path | str, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
    at.session_state[K.DISTRICT] = str(district)   # what the frame's sidebar would set
    at.session_state[K.LANG] = lang
    return at


def test_frame_first_run_shows_navigation_language_and_home() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    lang = at.radio(key=K.LANG)
    assert lang.options == ["中文", "English"] and lang.value == "zh"
    assert at.radio(key=source_widget_key("zh")).value == "demo"
    assert at.session_state[K.DISTRICT] == DEMO_PATH
    assert at.title[0].value == t("home.title", "zh")        # the default page ran inside the frame


def test_frame_lists_every_page_explicitly() -> None:
    # st.navigation switches off pages/ auto-discovery, so a page missing here is unreachable.
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    listed = {node.args[0].value for node in ast.walk(tree)
              if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"}
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_")}
    assert listed == on_disk


def test_home_figures_match_an_independent_count(tmp_path: Path) -> None:
    buildings = _small_district(tmp_path / "d")
    at = _page("home.py", tmp_path / "d").run()
    assert not at.exception
    assert _as_int(_metric(at, t("home.households", "zh"))) == int(buildings["households"].sum()) == 1700
    assert _as_int(_metric(at, t("home.buildings", "zh"))) == 5
    assert _metric(at, t("home.feasible", "zh", lo=300, hi=500)) == "1 / 2"
    assert any("锦水社区" in w.value for w in at.warning)     # 550 households: no grid count fits
    table = at.dataframe[0].value
    assert table[t("col.households", "zh")].tolist() == [1150, 550]
    assert table[t("col.k_range", "zh")].tolist() == ["3–3", "—"]


def test_home_on_the_demo_district() -> None:
    at = _page("home.py", DEMO_PATH).run()
    assert not at.exception
    expected = int(gpd.read_file(Path(DEMO_PATH) / "buildings.geojson")["households"].sum())
    assert _as_int(_metric(at, t("home.households", "zh"))) == expected
    n_communities = len(gpd.read_file(Path(DEMO_PATH) / "communities.geojson"))
    assert _as_int(_metric(at, t("home.communities", "zh"))) == n_communities


def test_english_switch_changes_labels(tmp_path: Path) -> None:
    _small_district(tmp_path / "d")
    at = _page("home.py", tmp_path / "d", lang="en").run()
    assert not at.exception
    assert at.title[0].value == "District overview"
    assert "Households" in [m.label for m in at.metric]
    assert t("home.households", "zh") not in [m.label for m in at.metric]


def test_language_radio_in_the_frame_switches_the_page() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.radio(key=source_widget_key("zh")).set_value("upload").run()
    at.radio(key=K.LANG).set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "District overview"
    # the data source survives the switch although its option labels changed
    source = at.radio(key=source_widget_key("en"))
    assert source.value == "upload" and source.options == ["Bundled demo district", "Upload your own files"]


def test_bad_upload_shows_the_file_and_row() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.radio(key=source_widget_key("zh")).set_value("upload").run()
    assert not at.exception
    uploaders = {u.label: u for u in at.get("file_uploader")}
    uploaders[t("app.upload_communities", "zh")].set_value(
        ("communities.geojson", (DATA / "communities.geojson").read_bytes(), "application/geo+json"))
    uploaders[t("app.upload_buildings", "zh")].set_value(
        ("bad_households.csv", (DATA / "bad_households.csv").read_bytes(), "text/csv"))
    at.run()
    assert not at.exception
    assert at.session_state[K.DISTRICT] != DEMO_PATH
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    # in the page's language (zh): the file, the row and id, the user's header, the value, the fix
    raw = pd.read_csv(DATA / "bad_households.csv", dtype=str)
    numbers = pd.to_numeric(raw["户数"], errors="coerce")
    n_bad = int((numbers.isna() | (numbers < 0) | (numbers != numbers.round())).sum())   # 0 is a valid count
    assert f"文件 bad_households.csv（楼栋）有 {n_bad} 处问题，未载入任何数据" in errors[0]
    assert "第 3 行（B101）：“户数”必须是不小于 0 的整数，读到的值为“约300”。处理办法：请填写数字" in errors[0]
    assert "row 3" not in errors[0] and "/tmp" not in errors[0]
    assert not at.metric                                   # nothing half-loaded is shown


def test_good_upload_replaces_the_demo(tmp_path: Path) -> None:
    buildings = _small_district(tmp_path / "d")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.radio(key=source_widget_key("zh")).set_value("upload").run()
    uploaders = {u.label: u for u in at.get("file_uploader")}
    for layer in ("communities", "buildings"):
        uploaders[t(f"app.upload_{layer}", "zh")].set_value(
            (f"{layer}.geojson", (tmp_path / "d" / f"{layer}.geojson").read_bytes(), "application/geo+json"))
    at.run()
    assert not at.exception and not at.error
    assert _as_int(_metric(at, t("home.households", "zh"))) == int(buildings["households"].sum())
    # named after the communities' street, never after the file ("communities")
    assert at.caption[0].value == t("app.district", "zh", name="榆山街道")
    first = Path(at.session_state[K.DISTRICT])
    assert first.is_dir() and str(first).startswith(str(UPLOAD_ROOT))
    # the user names the district; a replaced upload's folder is removed
    at.text_input(key=f"w_{K.DISTRICT_NAME}").set_value("平阴县城区").run()
    assert at.caption[0].value == t("app.district", "zh", name="平阴县城区")
    fewer = buildings.iloc[:4]
    uploaders = {u.label: u for u in at.get("file_uploader")}
    uploaders[t("app.upload_buildings", "zh")].set_value(("buildings.geojson", fewer.to_json().encode(),
                                                          "application/geo+json"))
    at.run()
    assert not at.exception and not at.error
    assert _as_int(_metric(at, t("home.households", "zh"))) == int(fewer["households"].sum())
    assert Path(at.session_state[K.DISTRICT]) != first and not first.exists()
    # the uploader's own texts are replaced by ours, with the accepted formats and size in Chinese
    assert any(c.value == t("app.upload_limits", "zh", size=200) for c in at.sidebar.caption)


def test_require_names_each_missing_input_and_stops() -> None:
    def page() -> None:
        import streamlit as st

        from pages._ui import Need, init_state, need_plan, require
        init_state()
        require(Need(True, "layer.buildings", "app.how_upload"), Need(False, "layer.cases", "app.how_upload"),
                need_plan())
        st.write("never shown")

    at = AppTest.from_function(page, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.warning[0].value == t("app.missing_inputs", "zh", n=2)
    shown = [m.value for m in at.markdown]
    assert f"- **{t('layer.cases', 'zh')}**：{t('app.how_upload', 'zh')}" in shown
    assert f"- **{t('app.need_plan', 'zh')}**：{t('app.how_plan', 'zh')}" in shown
    assert "never shown" not in shown


def test_upload_in_gcj02_is_converted_when_the_option_says_so(tmp_path: Path) -> None:
    """AMap coordinates are ~300 m off: read as WGS 84 they leave buildings outside their community."""
    buildings = _small_district(tmp_path / "d")
    shifted = {layer: convert_geometries(gpd.read_file(tmp_path / "d" / f"{layer}.geojson"), src="wgs84",
                                         dst="gcj02").to_json().encode()
               for layer in ("communities", "buildings")}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.radio(key=source_widget_key("zh")).set_value("upload").run()
    at.selectbox(key=f"w_{K.COORDS}_zh").set_value("gcj02").run()
    uploaders = {u.label: u for u in at.get("file_uploader")}
    for layer in ("communities", "buildings"):
        uploaders[t(f"app.upload_{layer}", "zh")].set_value((f"{layer}.geojson", shifted[layer],
                                                             "application/geo+json"))
    at.run()
    assert not at.exception and not at.error
    assert _as_int(_metric(at, t("home.households", "zh"))) == int(buildings["households"].sum())
    staged = json.loads((Path(at.session_state[K.DISTRICT]) / "district.json").read_text(encoding="utf-8"))
    assert {entry["coords"] for entry in staged["layers"].values()} == {"gcj02"}
    communities = io.read_district(at.session_state[K.DISTRICT]).communities
    original = gpd.read_file(tmp_path / "d" / "communities.geojson").set_index("community_id")
    for cid, geom in original.to_crs(32650).geometry.items():   # back on the WGS 84 outline, within 1 m²
        assert communities.to_crs(32650).geometry[cid].symmetric_difference(geom).area < 1.0


def test_stage_upload_is_content_addressed(tmp_path: Path) -> None:
    files = {"communities": ("社区.geojson", b'{"type": "FeatureCollection", "features": []}'),
             "buildings": ("楼栋.csv", b"building_id,households\nB1,10\n")}
    first = stage_upload(files, root=tmp_path)
    assert stage_upload(files, root=tmp_path) == first
    assert (Path(first) / "buildings" / "楼栋.csv").read_bytes() == files["buildings"][1]
    changed = {**files, "buildings": ("楼栋.csv", b"building_id,households\nB1,11\n")}
    assert stage_upload(changed, root=tmp_path) != first


@pytest.mark.parametrize(("raw", "shown"), [
    ("![x](http://evil/x.png)", "\\!\\[x\\](http://evil/x.png)"),
    ("<img src=x>", "\\<img src=x\\>"),
    ("$x$ :red[y]", "\\$x\\$ :red\\[y\\]"),
])
def test_md_escape_neutralises_user_text(raw: str, shown: str) -> None:
    assert md_escape(raw) == shown


def test_missing_district_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    at = _page("home.py", tmp_path / "nowhere").run()
    assert not at.exception
    assert "nowhere" in at.error[0].value


def test_page_table_is_a_dataframe(tmp_path: Path) -> None:
    _small_district(tmp_path / "d")
    at = _page("home.py", tmp_path / "d").run()
    assert isinstance(at.dataframe[0].value, pd.DataFrame)
    assert at.dataframe[0].value[t("col.name", "zh")].tolist() == ["翠屏社区", "锦水社区"]


# --- planner --------------------------------------------------------------------------

def _run_planner(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception
    lang = at.session_state[K.LANG]
    assert any(i.value == t("planner.press_run", lang) for i in at.info)   # nothing runs before the click
    at.button(key="planner_run").click().run()
    assert not at.exception
    return at


def test_planner_on_the_demo_flags_infeasible_communities() -> None:
    at = _run_planner(_page("planner.py", DEMO_PATH))
    plan = at.session_state[K.PLANS][at.session_state[K.PLAN]]["result"]
    report = plan.report
    assert _as_int(_metric(at, t("planner.grids", "zh"))) == int(report["grids"].sum()) == len(plan.grids)
    # data/README.md: 锦水社区 has 550 households, 北苑社区 280: no grid count fits 300–500.
    assert not bool(report.loc["370124002001", "feasible"])
    assert not bool(report.loc["370124001008", "feasible"])
    warning = " ".join(w.value for w in at.warning)
    assert "锦水社区" in warning and "北苑社区" in warning
    table = at.dataframe[0].value.set_index(t("col.community_id", "zh"))
    n_out = int(plan.grids.loc[plan.grids["community_id"] == "370124002001", "status"].isin(["under", "over"]).sum())
    assert n_out >= 1
    assert table.loc["370124002001", t("col.plan_status", "zh")] == t("planner.state.infeasible", "zh", n=n_out)
    assert table[t("col.grids", "zh")].sum() == len(plan.grids)
    # the within-bounds figure counts every grid (hand count), not only the feasible communities'
    h = plan.grids["households"]
    within = int(((h >= 300) & (h <= 500)).sum())
    assert within < len(plan.grids)
    assert _metric(at, t("planner.within", "zh")) == f"{within:,} / {len(plan.grids):,}"
    # the explanation is shown whole (not a cut-off column): the first flagged community's, by default
    first = report.index[summary.plan_status(report, plan.grids).to_numpy() != "ok"][0]
    assert any(md_escape(report.loc[first, "explanation_zh"]) in w.value for w in at.warning)
    labels = [b.label for b in at.get("download_button")]
    # the planner's own exports come first; the 方案与版本 section below adds its own
    assert labels[:2] == [t("planner.download_grids", "zh"), t("planner.download_assignments", "zh")]


def test_planner_rejects_bounds_out_of_order(tmp_path: Path) -> None:
    _small_district(tmp_path / "d")
    at = _page("planner.py", tmp_path / "d")
    at.session_state[K.MIN] = 450
    at.session_state[K.TARGET] = 400
    at.run()
    assert not at.exception
    assert "450" in at.error[0].value and "400" in at.error[0].value
    assert not at.button                                     # no run button for impossible bounds


def test_planner_counts_grids_on_a_small_district(tmp_path: Path) -> None:
    buildings = _small_district(tmp_path / "d")
    at = _run_planner(_page("planner.py", tmp_path / "d", lang="en"))
    plan = at.session_state[K.PLANS][at.session_state[K.PLAN]]["result"]
    assert int(plan.grids["households"].sum()) == int(buildings["households"].sum())
    assert _as_int(_metric(at, "Grids")) == len(plan.grids)
    table = at.dataframe[0].value.set_index("Community code")
    n_out = int(plan.grids.loc[plan.grids["community_id"] == "370124001002", "status"].isin(["under", "over"]).sum())
    assert table.loc["370124001002", "Status"] == t("planner.state.infeasible", "en", n=n_out)   # 550 households
    assert any(md_escape(plan.report.loc["370124001002", "explanation_en"]) in w.value for w in at.warning)


def test_planner_claims_no_share_along_streets_when_no_streets_were_given(tmp_path: Path) -> None:
    # without a streets layer only the community edge would count as "street": no figure, and why
    _small_district(tmp_path / "d")
    assert not (tmp_path / "d" / "streets.geojson").exists()
    at = _run_planner(_page("planner.py", tmp_path / "d"))
    shown = [m for m in at.metric if m.label == t("planner.street_share", "zh")]
    assert [m.value for m in shown] == ["—"]
    assert shown[0].help == t("planner.street_none", "zh")


def test_planner_says_how_many_grids_are_out_of_bounds_and_where() -> None:
    # bounds the demo's buildings cannot meet everywhere (issue 15: 100–150 left 26% of grids out, silently)
    at = _page("planner.py", DEMO_PATH)
    at.session_state[K.MIN], at.session_state[K.MAX], at.session_state[K.TARGET] = 100, 150, 125
    at = _run_planner(at)
    plan = at.session_state[K.PLANS][at.session_state[K.PLAN]]["result"]
    h = plan.grids["households"]
    out = plan.grids[(h < 100) | (h > 150)]                   # counted independently of the status column
    assert len(out) > 0
    head = t("planner.out_of_bounds", "zh", n=len(out), under=int((out["households"] < 100).sum()),
             over=int((out["households"] > 150).sum()), communities=out["community_id"].nunique(), lo=100, hi=150)
    box = [w.value for w in at.warning if w.value.startswith(head)]
    assert len(box) == 1
    names = io.read_district(DEMO_PATH).communities["name"]
    for cid in out["community_id"].unique():
        assert f"**{names[cid]}**" in box[0]
    table = at.dataframe[0].value.set_index(t("col.community_id", "zh"))
    status = table[t("col.plan_status", "zh")]
    feasible = plan.report["feasible"].astype(bool)
    for cid, n in out.groupby("community_id").size().items():
        expected = t("planner.state.grids_out" if feasible[cid] else "planner.state.infeasible", "zh", n=n)
        assert status[cid] == expected                        # never ticked while its grids are out
    assert (status == t("planner.state.ok", "zh")).sum() == len(table) - out["community_id"].nunique()


def test_home_lists_load_warnings_with_ids(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "communities.geojson").write_bytes((DATA / "communities.geojson").read_bytes())
    # B101 has a self-intersecting spike that io repairs, with a warning
    (folder / "buildings.geojson").write_bytes((DATA / "repairable_spike.geojson").read_bytes())
    at = _page("home.py", folder).run()
    assert not at.exception
    assert at.expander[0].label == t("home.problems", "zh", n=1)
    problems = at.dataframe[1].value
    assert problems[t("home.problem_ids", "zh")].tolist() == ["B101"]
    assert problems[t("home.problem_count", "zh")].tolist() == [1]


def test_planner_marks_a_plan_stale_when_bounds_change(tmp_path: Path) -> None:
    _small_district(tmp_path / "d")
    at = _run_planner(_page("planner.py", tmp_path / "d"))
    assert not at.warning or all("上次" not in w.value for w in at.warning)
    at.number_input(key=f"w_{K.MIN}_zh").set_value(250).run()
    assert not at.exception
    assert at.session_state[K.MIN] == 250                      # kept for the next visit
    stale = t("planner.stale", "zh", lo=300, hi=500, target=400, seed=0)
    assert any(w.value == stale for w in at.warning)
    at.button(key="planner_run").click().run()                 # 250–500: 锦水社区 (550) now fits
    plan = at.session_state[K.PLANS][at.session_state[K.PLAN]]["result"]
    assert bool(plan.report.loc["370124001002", "feasible"])
    assert not any(w.value == stale for w in at.warning)
