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
