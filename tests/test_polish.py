"""What a user sees of missing values, yes/no cells and coded cells: in the page tables and in the downloads."""

from __future__ import annotations

import ast
import io as stdio
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from gridgeo import staffing as sf
from gridgeo.i18n import t
from gridgeo.tables import blank_missing, column_label, csv_bytes, xlsx_bytes
from pages._ui import DEMO_PATH, MISSING_CELL
from tests.app_support import page_test
from tests.test_staffing import _grids, _roster

ROOT = Path(__file__).resolve().parents[1]
SPELLED = ("None", "nan", "NaN", "NaT", "<NA>")


def _staffed() -> sf.StaffingResult:
    """Two grids; S02 (a leader kept in G2) and S03 (nowhere to go) have no home location."""
    grids = _grids([(0, 0, 300), (400, 0, 300)])
    roster = _roster([("leader", "full_time", (100, 100), ""), ("leader", "full_time", None, "G2"),
                      ("worker", "full_time", None, ""), ("worker", "full_time", (820, 100), "")], grids)
    return sf.assign_staff(roster, grids, pd.Series([300, 350], index=grids.index))


def _cells(data: bytes) -> list[list[str]]:
    return [line.split(",") for line in data.decode("utf-8-sig").splitlines()]


def test_blank_missing_turns_spelled_missing_values_into_empty_cells_and_keeps_the_rest() -> None:
    df = pd.DataFrame({"id": ["A", "B", "C", "D"], "note": ["None", "nan", "正常", None],
                       "when": [str(x) for x in pd.to_datetime(["2024-03-01", None, "2024-03-02", None])],
                       "n": [1.5, np.nan, 2.0, 3.0]})
    out = blank_missing(df)
    assert out["note"].isna().tolist() == [True, True, False, True] and out.at[2, "note"] == "正常"
    assert df["when"].tolist()[1] == "NaT"                                      # what str() makes of NaT
    assert out["when"].isna().tolist() == [False, True, False, True] and out.at[2, "when"] == df.at[2, "when"]
    assert out["n"].isna().tolist() == [False, True, False, False] and out["n"].dtype == float
    assert df["note"].tolist()[:3] == ["None", "nan", "正常"]                   # the caller's frame is untouched
    clean = pd.DataFrame({"id": ["A"], "n": [1]})
    assert blank_missing(clean) is clean


def test_staffing_downloads_leave_an_unknown_distance_empty_and_say_yes_no_and_roles_in_words() -> None:
    result = _staffed()
    roster = sf.roster_table(result)
    distance = roster.set_index(t("staffing.col.staff_id", "zh"))[t("staffing.col.distance_m", "zh")]
    assert distance.isna().to_dict() == {"S01": False, "S02": True, "S03": True, "S04": False}
    wb = load_workbook(stdio.BytesIO(sf.roster_xlsx(result)))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    col = rows[0].index(t("staffing.col.distance_m", "zh"))
    assert {r[0]: r[col] for r in rows[1:]} == {"S01": 0, "S02": None, "S03": None, "S04": 120}
    text = " ".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None)
    assert not any(w in text.split() for w in SPELLED) and "worker" not in text
    for data in (csv_bytes(sf.assignments_table(result)), csv_bytes(sf.grid_table(result))):
        cells = _cells(data)
        assert not {c for row in cells for c in row} & set(SPELLED), cells
    assign = _cells(csv_bytes(sf.assignments_table(result)))
    header = assign[0]
    by_id = {r[0]: dict(zip(header, r)) for r in assign[1:]}
    moved = column_label("moved", "zh")
    assert by_id["S02"][column_label("distance_m", "zh")] == ""            # distance unknown: empty, not "nan"
    assert {r[moved] for r in by_id.values()} == {"否"}                    # not "False" in a Chinese file
    for lang, worker in (("zh", "网格员"), ("en", t("staffing.role.worker", "en"))):   # places short, in words
        grids = _cells(csv_bytes(sf.grid_table(result), lang=lang))
        short = grids[0].index(column_label("missing", lang))
        assert [r[short] for r in grids[1:]] == [f"{worker} 2", f"{worker} 1"]
    raw = _cells(csv_bytes(sf.grid_table(result), lang=None))                 # for scripts: the codes stay
    assert [r[raw[0].index("missing")] for r in raw[1:]] == ["worker 2", "worker 1"]


def test_xlsx_writes_yes_no_in_the_language_and_missing_values_as_empty_cells() -> None:
    df = pd.DataFrame({"grid_id": ["G1", "G2"], "urgent": [True, False], "note": ["None", "ok"],
                       "share": [np.nan, 0.5]})
    for lang, yes, no in (("zh", "是", "否"), ("en", "yes", "no")):
        ws = load_workbook(stdio.BytesIO(xlsx_bytes({"s": df}, lang=lang))).worksheets[0]
        rows = list(ws.iter_rows(min_row=2, values_only=True))
        assert rows == [("G1", yes, None, None), ("G2", no, "ok", 0.5)]
    ws = load_workbook(stdio.BytesIO(xlsx_bytes({"s": df}, lang=None))).worksheets[0]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == [True, False]


def test_every_page_table_goes_through_show_table() -> None:
    """``st.dataframe`` shows a missing cell as a grey "None": pages call ``_ui.show_table`` instead."""
    offenders = []
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("dataframe", "data_editor"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == ["_ui.py:" + str(_show_table_line())], offenders


def _show_table_line() -> int:
    tree = ast.parse((ROOT / "pages" / "_ui.py").read_text(encoding="utf-8"))
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "show_table")
    return next(n.lineno for n in ast.walk(fn) if isinstance(n, ast.Attribute) and n.attr == "dataframe")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_staffing_page_shows_a_dash_for_a_person_without_a_home(lang: str) -> None:
    at = page_test("staffing", DEMO_PATH, lang, timeout=600).run()
    assert not at.exception
    column = t("staffing.col.distance_m", lang)
    people = next(df for df in at.dataframe if column in df.value)
    assert people.proto.placeholder == MISSING_CELL
    staff = pd.read_csv(Path(DEMO_PATH) / "staff.csv", dtype=str)
    homeless = set(staff.loc[staff["lon"].isna() | staff["lat"].isna(), "staff_id"])
    assert homeless                                                       # the demo has such people
    shown = people.value.set_index(t("staffing.col.staff_id", lang))[column]
    assert homeless <= set(shown.index[shown.isna()])
    for df in at.dataframe:                                                # every table of the page
        assert df.proto.placeholder == MISSING_CELL
        text = df.value.astype(object).where(df.value.notna(), "").astype(str)
        assert not text.isin(SPELLED).any().any(), df.value.columns.tolist()
