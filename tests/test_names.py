"""Community names are unique within a district; a user's layer with repeated names gets a warning.

Uniqueness is counted here with a plain ``nunique`` on the generated frames, at
the demo scale and at the ten-times city; the io warning is checked on real
GeoJSON/CSV files written in ``tmp_path`` and on a whole district folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridgeo import io
from gridgeo.errors import render
from gridgeo.synthetic import make_district
from gridgeo.synthetic._layout import chinese_numeral, numbered

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.mark.parametrize("scale, communities", [(1, 19), (10, 190)])
def test_generated_community_names_are_unique_in_the_district(scale: int, communities: int) -> None:
    d = make_district(seed=0, scale=scale, with_cases=False, with_staff=False)
    names = d.communities["name"]
    assert len(names) == communities
    assert names.nunique() == communities, names[names.duplicated(keep=False)].tolist()
    # every name is a real-looking one: ends in 社区, numerals only before it (翠屏二社区, never 翠二屏社区)
    assert names.str.fullmatch(r"[^社区]{2}(?:[一二三四五六七八九十百零]+)?社区").all()
    # the party-mass centres are named after their community, so they are unique too
    centres = d.stations.loc[d.stations["kind"] == "party_mass_centre", "name"]
    assert centres.nunique() == communities


def test_ten_times_city_numbers_repeated_names_like_real_cities() -> None:
    names = make_district(seed=0, scale=10, with_cases=False, with_staff=False).communities["name"].tolist()
    # the 40-name pool, then the same names again with 二, 三 …: 190 = 4 × 40 + 30
    assert names[:2] == ["翠屏社区", "榆山社区"]
    assert names[40] == "翠屏二社区" and names[80] == "翠屏三社区" and names[160] == "翠屏五社区"
    assert "翠二屏社区" not in names


def test_numbered_stays_unique_past_ten_repetitions() -> None:
    pool = ["东关社区", "西关社区"]
    out = numbered(pool, 50, 2)
    assert len(set(out)) == 50
    assert out[:4] == ["东关社区", "西关社区", "东关二社区", "西关二社区"]
    assert out[20] == "东关十一社区" and out[38] == "东关二十社区" and out[49] == "西关二十五社区"
    assert [chinese_numeral(n) for n in (1, 10, 12, 20, 99, 100, 105, 110)] == \
        ["一", "十", "十二", "二十", "九十九", "一百", "一百零五", "一百一十"]


def test_committed_demo_community_names_are_unique() -> None:
    names = gpd.read_file(DEMO / "communities.geojson")["name"]
    assert names.nunique() == len(names) == 19


def _square(x: float, y: float) -> shapely.Polygon:
    return shapely.box(116.40 + x * 0.01, 36.28 + y * 0.01, 116.409 + x * 0.01, 36.289 + y * 0.01)


def _layer(names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"community_id": [f"37012400100{k + 1}" for k in range(len(names))],
                             "name": names, "street": "榆山街道"},
                            geometry=[_square(k, 0) for k in range(len(names))], crs=4326)


def test_duplicate_community_names_warn_with_the_name_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "communities.geojson"
    _layer(["东关社区", "西关社区", "东关社区", "南关社区", " 西关社区 "]).to_file(path, driver="GeoJSON")
    problems: list = []
    frame = io.read_communities(path, problems=problems)          # a warning: the layer still loads
    assert len(frame) == 5
    dup = [p for p in problems if p.code == "err.names.duplicate_community"]
    assert [(p.severity, p.value, p.ids) for p in dup] == [
        ("warning", "东关社区", ("370124001001", "370124001003")),
        ("warning", "西关社区", ("370124001002", "370124001005")),  # spaces around a name do not hide it
    ]
    zh, en = render(dup[0], "zh"), render(dup[0], "en")
    assert "东关社区" in zh and "370124001001, 370124001003" in zh and "2 个社区" in zh
    assert "'东关社区' is used by 2 communities (ids 370124001001, 370124001003)" in en
    checked = io.check_file("communities", path)                   # what `gridgeo validate` prints
    assert checked.ok and len(checked.warnings) == 2


def test_unique_names_give_no_warning_and_csv_rows_work_too(tmp_path: Path) -> None:
    layer = _layer(["东关社区", "西关社区", "南关社区"])
    path = tmp_path / "ok.geojson"
    layer.to_file(path, driver="GeoJSON")
    assert io.check_file("communities", path).problems == ()
    table = pd.DataFrame({"社区编码": ["A1", "A2", "A3"], "社区名称": ["北关社区", "北关社区", "北关社区"],
                          "wkt": [g.wkt for g in layer.geometry]})
    csv = tmp_path / "c.csv"
    table.to_csv(csv, index=False, encoding="utf-8-sig")
    checked = io.check_file("communities", csv)
    assert checked.ok
    (p,) = [p for p in checked.warnings if p.code == "err.names.duplicate_community"]
    assert p.ids == ("A1", "A2", "A3") and p.params["n"] == 3


def test_district_folder_carries_the_warning_to_its_problems(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    comms = gpd.read_file(DEMO / "communities.geojson")
    renamed = comms["name"].where(comms["community_id"] != "370124001002", "翠屏社区")  # 榆山 → 翠屏
    comms.assign(name=renamed).to_file(folder / "communities.geojson", driver="GeoJSON")
    shutil.copy(DEMO / "buildings.geojson", folder / "buildings.geojson")
    district = io.read_district(folder)
    dup = [p for p in district.problems if p.code == "err.names.duplicate_community"]
    assert [(p.value, p.ids) for p in dup] == [("翠屏社区", ("370124001001", "370124001002"))]
    assert not [p for p in io.read_district(DEMO).problems if p.code == "err.names.duplicate_community"]


def test_make_demo_rewrites_the_committed_demo_byte_for_byte_and_keeps_hand_written_readme(tmp_path: Path) -> None:
    """`make demo` (scripts/make_demo.py) gives data/demo exactly, roster grid_ids included."""
    import subprocess
    import sys

    root = DEMO.parents[1]
    readme = tmp_path / "README.md"
    readme.write_text("# old\n\n## `demo/`: a synthetic district\n\nstale\n\n## `extra.csv`: by hand\n\nkept\n",
                      encoding="utf-8")
    out = tmp_path / "demo"
    subprocess.run([sys.executable, str(root / "scripts" / "make_demo.py"), "--out", str(out),
                    "--readme", str(readme)], check=True, capture_output=True, cwd=root)
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(p.name for p in DEMO.iterdir())
    for name in written:
        assert (out / name).read_bytes() == (DEMO / name).read_bytes(), name
    staff = pd.read_csv(out / "staff.csv", dtype=str)
    assert staff["grid_id"].notna().sum() > 300                   # the roster carries current grids
    text = readme.read_text(encoding="utf-8")
    assert "stale" not in text and text.count("## `demo/`") == 1
    assert text.endswith("## `extra.csv`: by hand\n\nkept\n")
    assert f"`grid_id` of {int(staff['grid_id'].notna().sum()):,} people" in text
