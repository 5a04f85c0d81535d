"""Issue 15's standard outside the browser: theme maps finished like the planner map, error sentences
that read well without a file or row, headings that fit what failed, uploads staged and cleaned."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gridgeo import maps
from gridgeo.errors import InputError, Problem, render
from gridgeo.i18n import t
from tests.test_maps import _district, _lattice


# --- error sentences ------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "layer", "expected"), [
    ("zh", "staff", "人员 S0003：此人已在网格 G7 中。"),
    ("en", "staff", "Staff member S0003: The person"),
])
def test_a_feature_id_without_file_is_named_with_its_kind(lang: str, layer: str | None, expected: str) -> None:
    err = InputError("the person already serves this grid", value="G7", feature_id="S0003",
                     code="err.staffing.already_member", grid="G7", layer=layer)
    text = render(err, lang)  # type: ignore[arg-type]
    assert text.startswith(expected), text
    assert "（S0003）" not in text and "(S0003)" not in text


@pytest.mark.parametrize(("lang", "layer", "expected"), [
    ("zh", "buildings", "辖区中没有楼栋 B000001。"),             # issue 15: was "（B000001）：…"
    ("en", "buildings", "building B000001 is not in the district. Fix: "),
    ("zh", None, "辖区中没有楼栋 B000001。"),
    ("en", None, "building B000001 is not in the district. Fix: "),
])
def test_a_feature_id_the_message_names_is_not_said_twice(lang: str, layer: str | None, expected: str) -> None:
    err = InputError("building B000001 is not in the district", feature_id="B000001", code="err.edit.unknown_building",
                     building="B000001", **({"layer": layer} if layer else {}))
    text = render(err, lang)  # type: ignore[arg-type]
    assert text.startswith(expected), text
    assert text.count("B000001") == 1, text


@pytest.mark.parametrize(("lang", "expected"), [("zh", "S0003：此人已在网格 G7 中。"), ("en", "S0003: The person")])
def test_a_feature_id_of_unknown_kind_stands_alone(lang: str, expected: str) -> None:
    # no layer given: "S0003：…", never the dangling "（S0003）：…"; the grid the message names is not repeated
    err = InputError("the person already serves this grid", value="G7", feature_id="S0003",
                     code="err.staffing.already_member", grid="G7")
    text = render(err, lang)  # type: ignore[arg-type]
    assert text.startswith(expected), text
    assert "G7" in text and text.count("G7") == 1


def test_a_problem_with_a_layer_is_named_with_its_kind_and_a_row_keeps_brackets() -> None:
    p = Problem("station outside", "err.coverage.station_outside", feature_id="FAR", value="x",
                params={"layer": "stations", "distance": 3900})
    assert render(p, "zh").startswith("站点 FAR：")
    assert render(p, "en").startswith("Station FAR: ")
    with_row = Problem("bad", "err.schema.households_not_int", row=3, feature_id="B101", value="约300")
    assert render(with_row, "zh", path="buildings.csv").startswith("文件 buildings.csv 第 3 行（B101）：")


def test_a_value_the_message_does_not_name_is_still_shown() -> None:
    err = InputError("households must be a whole number", feature_id="B1", value="约300", layer="buildings",
                     code="err.schema.households_not_int")
    assert "读到的值为“约300”" in render(err, "zh") and "got '约300'" in render(err, "en")


def test_staffing_edit_refusals_name_the_person_and_translate_the_role() -> None:
    from tests.test_staffing import _grids, _roster
    from gridgeo import staffing as sf

    grids = _grids([(0, 0, 300), (400, 0, 300)])
    hh = pd.Series([400, 300], index=grids.index)
    people = [("leader", "full_time", (100, 100), ""), ("leader", "full_time", (500, 100), "")]
    roster = _roster(people, grids)
    result = sf.assign_staff(roster, grids, hh)
    sid = str(result.members["staff_id"].iloc[0])
    mine = set(result.pairs[sid])
    other = next(g for g in grids.index.astype(str) if g not in mine)
    with pytest.raises(InputError) as info:
        sf.edit_staff(result, roster, grids, hh, action="move", staff_id=sid, grid_id=other)
    zh, en = render(info.value, "zh"), render(info.value, "en")
    assert info.value.code == "err.staffing.grid_full"
    assert zh.startswith(f"人员 {sid}：网格 {other} 的网格长已达规则上限 1 人。"), zh   # the role in Chinese
    assert en.startswith(f"Staff member {sid}: Grid {other} already has") and "leader" in en
    assert not re.search(r"（\w+）：", zh)


# --- headings -------------------------------------------------------------------------------

def test_refused_actions_and_failed_loads_get_different_headings() -> None:
    from gridgeo.errors import PlanConflictError
    from pages._ui import error_kind

    assert t("app.action_error_title", "zh") == "操作未执行" and t("app.action_error_title", "en") == "Not done"
    assert error_kind(InputError("x", code="err.edit.not_neighbour")) == "action"
    assert error_kind(PlanConflictError("x", code="err.plans.conflict")) == "action"
    assert error_kind(InputError("x", code="err.schema.households_not_int")) == "load"


# --- theme maps -----------------------------------------------------------------------------

def _case_table(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    n = len(grids)
    table = gpd.GeoDataFrame({
        "cases": np.arange(n) * 3, "matters": np.arange(n) * 2, "households": [400] * n,
        "rate_per_1000": np.arange(n) * 5.0, "gi_z": np.linspace(-2, 3, n), "p_value": [0.5] * n,
        "p_fdr": [0.5] * n, "hotspot": ["hot_99"] + ["not_significant"] * (n - 1), "trend": ["none"] * n,
        "months_hot": [0] * n, "months": [12] * n,
    }, geometry=grids.geometry.to_numpy(), index=pd.Index(grids.index.astype(str), name="grid_id"), crs=4326)
    return table


def _theme_maps() -> dict[str, str]:
    d = _district()
    grids = _lattice(4)
    table = _case_table(grids)
    split = pd.DataFrame({"patrol_share": [0.3] * len(grids)}, index=table.index)
    cases = gpd.GeoDataFrame(geometry=gpd.points_from_xy([116.443, 116.447], [36.291, 36.295]), crs=4326)
    cl = maps.case_layers(cases, table, split, d.communities, lang="zh", grids=grids)
    cov_table = pd.DataFrame({"households": grids["households"], "within_300": grids["households"] // 2,
                              "share_300": 0.5}, index=grids.index)
    metres = pd.Series(100.0, index=d.buildings.index)
    cov = maps.coverage_layers(grids, cov_table, d.buildings, metres, reach=300, method="walking",
                               communities=d.communities, lang="zh")
    per_grid = pd.DataFrame({"red": [2] + [0] * 15, "yellow": 0, "open": 2, "on_time_rate": 0.5},
                            index=grids.index.astype(str))
    sla = maps.sla_layers(grids, per_grid, lang="zh", communities=d.communities)
    return {"heat": maps.heat_map(cl).get_root().render(), "rate": maps.rate_map(cl).get_root().render(),
            "hotspot": maps.hotspot_map(cl).get_root().render(),
            "coverage": maps.coverage_map(cov).get_root().render(),
            "sla": maps.sla_map(sla, selected=str(grids.index[0])).get_root().render()}


def test_theme_maps_end_like_the_planner_map() -> None:
    for name, html in _theme_maps().items():
        assert '"collapsed": true' in html and '"collapsed": false' not in html, name   # layer switch folded
        assert "overlaps(r, taken[i])" in html, name                                   # labels decluttered
        assert "imperial: false" in html and '"paddingBottomRight": [215, 24]' in html, name
        assert json.dumps("翠屏社区")[1:-1] in html, name                                # community names labelled
        assert "cdn" not in html.lower() or "/app/static/vendor" in html, name


def test_theme_map_tooltips_name_the_community_and_translate_flags() -> None:
    d = _district()
    grids = _lattice(4)
    table = _case_table(grids)
    split = pd.DataFrame({"patrol_share": [0.3] * len(grids)}, index=table.index)
    cases = gpd.GeoDataFrame(geometry=gpd.points_from_xy([116.443], [36.291]), crs=4326)
    cl = maps.case_layers(cases, table, split, d.communities, lang="zh", grids=grids)
    props = {f["properties"]["grid_id"]: f["properties"] for f in cl.grids["features"]}
    gid = str(grids.index[5])                                   # the lattice's flagged grid, in community 001
    names = d.communities["name"]
    assert props[gid]["community_name"] == names[grids.loc[gid, "community_id"]]
    assert props[gid]["flags_label"] == "、".join(t(f"flag.{f}", "zh") for f in ("multipart", "unit_split"))
    html = maps.rate_map(cl).get_root().render()
    assert all(json.dumps(t(k, "zh"))[1:-1] in html for k in ("map.community", "map.flags"))
    # rate labels: serial over the rate, one per grid, decluttered by size
    assert len(cl.rate_labels) == len(grids) and cl.rate_labels[1][2] == "<b>001</b><br>5"


def test_sla_and_coverage_labels_are_grid_serials_with_their_figure() -> None:
    d = _district()
    grids = _lattice(4)
    per_grid = pd.DataFrame({"red": [2] + [0] * 15}, index=grids.index.astype(str))
    sla = maps.sla_layers(grids, per_grid, lang="zh", communities=d.communities)
    assert sla.labels[0][2] == "<b>000</b><br>红牌 2" and sla.labels[1][2] == "<b>001</b>"
    props = {f["properties"]["grid_id"]: f["properties"] for f in sla.grids["features"]}
    assert props[str(grids.index[0])]["community_name"] == "翠屏社区"


# --- uploads ------------------------------------------------------------------------------

class _Upload:
    """What Streamlit hands a page for an uploaded file: a name and the bytes."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def test_a_staged_upload_replaces_the_last_one_and_is_group_readable(tmp_path: Path) -> None:
    from pages._ui import stage_file

    first = stage_file(_Upload("事件.csv", b"a,b\n1,2\n"), "cases", root=tmp_path)
    assert first.name == "事件.csv" and first.read_bytes() == b"a,b\n1,2\n"
    assert stat.S_IMODE(first.stat().st_mode) == 0o644
    second = stage_file(_Upload("../other.csv", b"x\n"), "cases", root=tmp_path)
    assert second.name == "other.csv" and second.parent.parent == first.parent.parent   # no path escapes
    assert not first.exists() and not first.parent.exists()                          # the replaced file is gone
    kept = stage_file(_Upload("rules.xlsx", b"y"), "sla_rules", root=tmp_path)
    assert kept.exists() and second.exists()                                          # other areas untouched


def test_upload_messages_exist_in_both_languages() -> None:
    for key in ("app.upload_accepts", "app.upload_wrong_type", "app.upload_size", "app.upload_button"):
        zh, en = t(key, "zh", types=".csv、.xlsx", size=200, name="a.docx"), t(key, "en", types=".csv", size=200,
                                                                                  name="a.docx")
        assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]", en)
    assert "200 MB" in t("app.upload_accepts", "zh", types=".csv", size=200)


# --- planner figures ------------------------------------------------------------------------

def test_plan_metrics_count_every_grid_within_bounds() -> None:
    from gridgeo.partition.result import metrics

    grids = _lattice(3)                       # one grid under, one over, seven within (by construction)
    grids["polsby_popper"], grids["street_share"] = 0.8, 0.5
    report = pd.DataFrame({"feasible": [True, False]}, index=pd.Index(["370124001001", "370124001002"]))
    m = metrics(grids, report)
    assert m["n_within"] == 7 and m["share_within"] == pytest.approx(7 / 9)
    in_feasible = grids[grids["community_id"] == "370124001001"]
    assert m["share_within_feasible"] == pytest.approx((in_feasible["status"] == "within").mean())
    assert json.dumps({k: float(v) for k, v in m.items()})    # plain numbers


@pytest.mark.browser
def test_a_lazy_building_layer_draws_every_building_when_switched_on(monkeypatch: pytest.MonkeyPatch,
                                                                     browser: object) -> None:
    """The compact rows of a whole city's buildings become one marker per building in chromium, offline."""
    from tests.browser_support import ROOT

    d = _district()
    points = d.buildings.set_geometry(d.buildings.geometry.representative_point())
    monkeypatch.setattr(maps.base, "MAX_EAGER_BUILDINGS", 2)       # four buildings stand in for a city
    m = maps.grid_map(maps.grid_layers(_lattice(3), d.communities, buildings=points))
    html = m.get_root().render()
    group = next(c for c in m._children.values() if isinstance(c, folium.FeatureGroup)
                 and "勾选后显示" in c.layer_name)                 # the unticked building layer

    def route(r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        if "/app/static/" in url:
            r.fulfill(path=str(ROOT / "static" / url.split("/app/static/", 1)[1]))  # type: ignore[attr-defined]
        elif url.startswith("http://gridgeo.local/"):
            r.fulfill(body=html, content_type="text/html; charset=utf-8")  # type: ignore[attr-defined]
        else:
            r.abort()  # type: ignore[attr-defined]

    page = browser.new_page(viewport={"width": 1000, "height": 600})  # type: ignore[attr-defined]
    try:
        page.route("**/*", route)
        page.goto("http://gridgeo.local/map.html")
        page.wait_for_selector(".leaflet-control-layers", timeout=60_000)
        count = f"() => {{ let n = 0; {group.get_name()}.eachLayer(l => l.eachLayer ? l.eachLayer(() => n++) : 0);" \
                " return n; }"
        assert page.evaluate(count) == 0                               # nothing built while unticked
        page.evaluate(f"() => {m.get_name()}.addLayer({group.get_name()})")
        assert page.evaluate(count) == len(points)                     # one marker per building
        names = page.evaluate(f"() => {{ const out = []; {group.get_name()}.eachLayer(l => l.eachLayer("
                              "m => out.push(m.feature.properties.name))); return out; }")
        assert sorted(names) == sorted(html_escape(n) for n in points["name"])
    finally:
        page.close()


def html_escape(text: str) -> str:
    import html

    return html.escape(text)
