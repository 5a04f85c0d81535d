"""``python -m gridgeo plan …``: create, list, show, diff, export, import (XLSX round trip), restore."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from gridgeo.cli import main
from gridgeo.plans.store import Workspace
from tests.plans_support import small_district


@pytest.fixture(scope="module")
def district_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = small_district()
    folder = tmp_path_factory.mktemp("district")
    d.communities.reset_index().to_file(folder / "communities.geojson", driver="GeoJSON")
    d.buildings.reset_index().to_file(folder / "buildings.geojson", driver="GeoJSON")
    assert d.streets is not None
    d.streets.to_file(folder / "streets.geojson", driver="GeoJSON")
    return folder


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_the_plan_commands_end_to_end(tmp_path: Path, district_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "ws" / "plans.gpkg")
    assert main(["plan", "create", "--store", store, "--district", str(district_dir), "--seed", "0",
                 "--author", "王", "--name", "初版"]) == 0
    assert _last_line(capsys) == "v1"
    assert main(["plan", "create", "--store", store, "--seed", "0", "--author", "李", "--note", "same seed"]) == 0
    assert _last_line(capsys) == "v2"

    assert main(["plan", "list", "--store", store, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["version_id"] for r in listed] == ["v1", "v2"] and listed[1]["retired"] == 0
    assert listed[0]["author"] == "王" and listed[1]["parent"] == "v1"

    assert main(["plan", "diff", "--store", store, "v1", "v2", "--out", str(tmp_path / "diff")]) == 0
    out = capsys.readouterr().out
    assert "0 added, 0 retired, 0 changed" in out and "0 buildings moved" in out
    assert (tmp_path / "diff" / "diff_grids.geojson").exists()

    assert main(["plan", "show", "--store", store, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    ws = Workspace.open(store)
    v2 = ws.load("v2")
    assert shown["version"] == "v2" and shown["metrics"]["households"] == 8148
    assert {g["grid_id"]: g["households"] for g in shown["grids"]} == \
        v2.assignments.groupby("grid_id")["households"].sum().to_dict()

    # XLSX round trip: export the table, import it back: same assignments, same codes
    assert main(["plan", "export", "--store", store, "--format", "xlsx", "--out", str(tmp_path / "x")]) == 0
    capsys.readouterr()
    book = openpyxl.load_workbook(tmp_path / "x" / "assignments.xlsx")
    headers = [c.value for c in next(book.active.iter_rows(max_row=1))]
    assert headers[:3] == ["楼栋编码", "楼栋名称", "小区"] and "网格编码" in headers and "单元范围" in headers
    assert main(["plan", "import", "--store", store, "--table", str(tmp_path / "x" / "assignments.xlsx"),
                 "--author", "张"]) == 0
    assert _last_line(capsys) == "v3"
    v3 = Workspace.open(store).load("v3")
    pd.testing.assert_frame_equal(v3.assignments, v2.assignments)
    assert list(v3.grids.index) == list(v2.grids.index) and v3.meta["retired"] == {}
    assert v3.grids["valid_from"].tolist() == v2.grids["valid_from"].tolist()

    for fmt in ("geojson", "gpkg", "csv"):
        assert main(["plan", "export", "--store", store, "--version", "v1", "--format", fmt,
                     "--out", str(tmp_path / fmt)]) == 0
    assert capsys.readouterr().out.count("grids.") == 3
    import geopandas as gpd

    back = gpd.read_file(tmp_path / "gpkg" / "grids.gpkg")
    assert sorted(back["grid_id"]) == sorted(v2.grids.index) and back.crs.to_epsg() == 4326

    assert main(["plan", "restore", "--store", store, "v1", "--author", "王"]) == 0
    assert _last_line(capsys) == "v4"


def test_bad_input_exits_2_with_one_named_line(tmp_path: Path, district_dir: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "ws.gpkg")
    assert main(["--lang", "en", "plan", "list", "--store", store]) == 2
    assert "workspace not found" in capsys.readouterr().err
    bad = tmp_path / "table.csv"
    pd.DataFrame({"楼栋编码": ["B000001", "NOPE"], "网格编码": ["370124001001001", "370124001001001"]}) \
        .to_csv(bad, index=False)
    assert main(["--lang", "en", "plan", "import", "--store", store, "--district", str(district_dir),
                 "--table", str(bad)]) == 2
    err = capsys.readouterr().err
    # a heading naming the file, then one line per problem
    assert "error: table.csv (building→grid table) has" in err and "nothing was loaded" in err
    assert "\n- row 3 (NOPE): names a building that is not in the buildings layer" in err and "Traceback" not in err
    assert Workspace.open(store).versions().empty          # the store was created, nothing saved
    assert main(["--lang", "en", "plan", "show", "--store", store, "--version", "v7"]) == 2
    assert "unknown plan version, got 'v7'. Fix: use one of: (none saved yet)" in capsys.readouterr().err
