"""Every message in the user's language: the catalogue is complete and render() says where, what, value, fix."""

from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from gridgeo import io
from gridgeo.cli import main
from gridgeo.errors import (GeometryError, GridgeoError, InputError, Problem, SchemaError, Tr, catalogue_key,
                            collapse_repeats, render)
from gridgeo.i18n import STRINGS

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
_CODE = re.compile(r"^err\.[a-z0-9_]+\.[a-z0-9_*.]+$")
_LATIN_WORD = re.compile(r"[A-Za-z]{4,}")


def _literal(node: ast.AST) -> str | None:
    """A string constant as is; an f-string with each {…} part written as ``*``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "*" for v in node.values)
    return None


def raised_codes() -> dict[str, str]:
    """Every message code written in gridgeo/ (outside the i18n tables) -> where it was found.

    Found by reading the source: ``code="…"`` / ``code=f"…"`` keyword arguments and
    any string literal shaped like ``err.<area>.<what>`` (positional ``Problem`` codes).
    """
    found: dict[str, str] = {}
    for path in sorted((ROOT / "gridgeo").rglob("*.py")):
        if "i18n" in path.relative_to(ROOT).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
        for node in ast.walk(tree):
            if id(node) in parts:          # a piece of an f-string: the whole f-string is read instead
                continue
            text = None
            if isinstance(node, ast.keyword) and node.arg == "code":
                text = _literal(node.value)
            elif isinstance(node, (ast.Constant, ast.JoinedStr)):
                lit = _literal(node)
                text = lit if lit and _CODE.match(lit) else None
            if text and ("." in text) and not text.startswith("*"):
                found.setdefault(text, f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}")
    return found


def test_the_source_walk_finds_the_codes_it_must() -> None:
    codes = raised_codes()
    # a keyword code, a positional Problem code, an f-string family, a code outside err.
    for code in ("err.io.unreadable", "err.geom.communities_overlap", "err.schema.*_empty", "crs.missing",
                 "err.partition.input"):
        assert code in codes, code
    assert len(codes) > 40


def _keys_for(code: str) -> list[str]:
    """Catalogue keys that must exist for ``code``.

    A plain code: its entry (exact, or a wildcard family). An f-string code (``*`` where
    the f-string has a value): its wildcard entry if there is one, else every concrete
    key it can produce that the catalogue has (at least one must exist).
    """
    if "*" not in code:
        return [catalogue_key(code) or code]
    if code in STRINGS:
        return [code]
    pattern = re.compile("^" + ".+".join(map(re.escape, code.split("*"))) + "$")
    concrete = [k for k in STRINGS if pattern.match(k) and not k.endswith(".fix")]
    return concrete or [code]


def test_every_raised_code_has_zh_and_en_message_and_fix() -> None:
    missing = []
    for code, where in raised_codes().items():
        for key in _keys_for(code):
            for k in (key, f"{key}.fix"):
                entry = STRINGS.get(k)
                for lang in ("zh", "en"):
                    if not entry or not entry.get(lang, "").strip():
                        missing.append(f"{k} [{lang}] (raised at {where})")
    assert missing == [], "untranslated message codes:\n" + "\n".join(missing)


def test_wildcard_entry_covers_a_family_of_column_codes() -> None:
    assert catalogue_key("err.schema.households_not_positive_int") == "err.schema.*_not_positive_int"
    assert catalogue_key("err.schema.units_empty") == "err.schema.*_empty"
    assert catalogue_key("err.io.unreadable") == "err.io.unreadable"
    assert catalogue_key("err.nobody.knows") is None


def test_zh_sentence_names_file_row_id_users_header_value_and_fix() -> None:
    with pytest.raises(SchemaError) as info:
        io.read_buildings(DATA / "bad_households.csv")
    zh = render(info.value, "zh")
    assert zh.splitlines()[0] == f"文件 bad_households.csv（楼栋）有 {_bad_household_rows()} 处问题，未载入任何数据："
    assert ("文件 bad_households.csv 第 3 行（B101）：“户数”必须是不小于 0 的整数，读到的值为“约300”。"
            "处理办法：请填写数字，例如 300。") not in zh  # lines under the heading do not repeat the file
    assert "- 第 3 行（B101）：“户数”必须是不小于 0 的整数，读到的值为“约300”。处理办法：请填写数字，例如 300。" in zh
    assert "第 5 行（B103）" in zh and "“-5”" in zh
    assert "第 4 行（B102）" not in zh                     # 0 households: a non-residential building, accepted
    en = render(info.value, "en")
    assert "- row 3 (B101): 户数 must be a whole number ≥ 0, got '约300'. Fix: enter a number such as 300" in en


def _bad_household_rows() -> int:
    """Rows of tests/data/bad_households.csv whose 户数 is not a whole number ≥ 0, counted with pandas."""
    raw = pd.read_csv(DATA / "bad_households.csv", dtype=str, encoding="utf-8-sig")
    numbers = pd.to_numeric(raw["户数"], errors="coerce")
    return int((numbers.isna() | (numbers < 0) | (numbers != numbers.round())).sum())


def test_single_problem_sentence_has_the_full_location() -> None:
    p = Problem("households must be a whole number greater than 0", "err.schema.households_not_positive_int",
                row=12, feature_id="B101", value="abc", params={"column": "户数", "example": 300})
    assert render(p, "zh", path="/srv/tmp/xyz/buildings.csv") == (
        "文件 buildings.csv 第 12 行（B101）：“户数”必须是大于 0 的整数，读到的值为“abc”。处理办法：请填写数字，例如 300。")
    assert render(p, "en", path="/srv/tmp/xyz/buildings.csv") == (
        "buildings.csv row 12 (B101): 户数 must be a whole number greater than 0, got 'abc'. "
        "Fix: enter a number such as 300")


def test_missing_column_is_named_by_the_users_own_header(tmp_path: Path) -> None:
    f = tmp_path / "楼栋.csv"
    f.write_text("楼栋名称,户数,经度,纬度\n一号楼,120,116.44,36.29\n", encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        io.read_buildings(f)
    zh = render(info.value, "zh")
    assert "缺少必需的列“楼栋编码”" in zh
    assert "文件中的列：楼栋名称, 户数, 经度, 纬度" in zh
    assert "building_id (accepted" not in zh


def test_swapped_lonlat_on_every_row_is_said_once(tmp_path: Path) -> None:
    n = 2486
    rows = "\n".join(f"B{i:04d},{100 + i % 50},{36.2 + i * 1e-5:.6f},{116.4 + i * 1e-5:.6f}" for i in range(n))
    f = tmp_path / "buildings.csv"
    f.write_text("楼栋编码,户数,经度,纬度\n" + rows + "\n", encoding="utf-8")
    checked = io.check_file("buildings", f)
    swapped = [p for p in checked.errors if p.code == "err.crs.swapped"]
    assert len(swapped) == 1 and swapped[0].count == n == swapped[0].total
    zh = render(swapped[0], "zh", path=str(f))
    assert zh.startswith("文件 buildings.csv 全部 2,486 行：经度、纬度似乎填反了（例如第 2、3、4、5、6 行）")
    assert "如第 2 行读到“lon=36.200000, lat=116.400000”" in zh
    en = render(swapped[0], "en", path=str(f))
    assert en.startswith("buildings.csv all 2,486 rows: longitude and latitude look swapped (e.g. rows 2, 3, 4, 5, 6)")
    with pytest.raises(InputError) as info:
        io.read_buildings(f)
    assert len(render(info.value, "zh").splitlines()) == 2          # heading + one summary line


def test_few_repeats_stay_row_by_row() -> None:
    ps = [Problem("x", "err.geom.empty", row=r) for r in (2, 3, 4)]
    assert collapse_repeats(ps, 10) == ps


def test_a_docx_renamed_geojson_gets_a_sentence_without_internals(tmp_path: Path) -> None:
    fake = tmp_path / "buildings.geojson"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(InputError) as info:
        io.read_buildings(fake)
    for lang in ("zh", "en"):
        text = render(info.value, lang)  # type: ignore[arg-type]
        assert str(tmp_path) not in text and "DataSource" not in text and "GDAL" not in text
        assert "GeoPackage" in text and "Excel" in text and "CSV" in text
    assert render(info.value, "zh").startswith("文件 buildings.geojson：无法作为 GeoJSON 文件读取")
    assert str(tmp_path) not in str(info.value)


def test_tr_parameters_follow_the_language() -> None:
    err = GeometryError("geometry is a LineString, expected points", code="err.geom.wrong_type",
                        actual=Tr("geomtype.LineString"), expected=Tr("geomkind.point"), layer=Tr("layer.stations"))
    assert render(err, "zh") == "几何类型为线，服务站点图层应为点。处理办法：服务站点图层只能包含点。"
    assert render(err, "en").startswith("geometry is a LineString, expected points")


def test_unknown_code_falls_back_to_the_english_message() -> None:
    err = GridgeoError("something odd", code="err.nobody.knows", remedy="look again")
    assert render(err, "zh") == "something odd。处理办法：look again。"


def test_cli_speaks_chinese_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "buildings", str(DATA / "bad_households.csv")])
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("错误：文件 bad_households.csv 第") == _bad_household_rows()
    assert "“户数”必须是不小于 0 的整数" in out


def test_cli_error_in_english_with_lang_en(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["--lang", "en", "partition", "--communities", str(tmp_path / "nope.geojson"),
                 "--buildings", str(DATA / "buildings.geojson"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("error: nope.geojson: file not found. Fix: check the path; the communities file "
                           "must exist and be readable")


def test_cli_prints_warnings_as_one_clean_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # a repaired geometry is a GridgeoWarning: the CLI shows it in Chinese, once, with no Python noise
    code = main(["partition", "--communities", str(DATA / "communities.geojson"),
                 "--buildings", str(DATA / "repairable_spike.geojson"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("提示：")]
    assert code == 0, err
    assert lines and all("已自动修复" in line for line in lines)
    assert "Warning" not in err and "warnings.warn" not in err and ".py:" not in err
