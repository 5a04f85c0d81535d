"""The one table writer (gridgeo.tables): what Excel and pandas read back from its CSV and XLSX."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import load_workbook

from gridgeo.tables import code_label, csv_bytes, xlsx_bytes

GRID = "370124001001001"


def _staffing() -> pd.DataFrame:
    return pd.DataFrame({"grid_id": [GRID, "370124001001002"], "leaders": [0, 1], "households": [412, 387],
                         "households_per_worker": [206.0, 193.5],
                         "flags": ["no_leader;over_household_ratio", ""], "status": ["short", "ok"]})


def test_csv_starts_with_a_bom_and_reads_back_in_chinese_and_english() -> None:
    data = csv_bytes(_staffing())
    assert data[:3] == b"\xef\xbb\xbf"                          # Excel reads UTF-8 only with the mark
    zh = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"网格编码": str}, keep_default_na=False)
    assert list(zh.columns[:3]) == ["网格编码", "网格长", "户数"]
    assert zh.loc[0, "标记"] == "无网格长、人均户数超标"            # codes in words, joined the Chinese way
    en = pd.read_csv(io.BytesIO(csv_bytes(_staffing(), lang="en")), encoding="utf-8-sig", keep_default_na=False)
    assert list(en.columns[:3]) == ["Grid code", "Leaders", "Households"]
    assert en.loc[0, "Flags"] == "no leader; over household ratio"
    raw = pd.read_csv(io.BytesIO(csv_bytes(_staffing(), lang=None)), encoding="utf-8-sig", keep_default_na=False)
    assert list(raw.columns) == list(_staffing().columns)       # for scripts: field names and codes
    assert raw.loc[0, "flags"] == "no_leader;over_household_ratio"
    assert raw["households"].sum() == 412 + 387


def test_xlsx_has_frozen_bold_headers_widths_and_text_ids() -> None:
    wb = load_workbook(io.BytesIO(xlsx_bytes({"网格人员配备": _staffing()})))
    ws = wb["网格人员配备"]
    assert ws.freeze_panes == "A2"
    assert all(c.font.bold for c in ws[1])
    header = [c.value for c in ws[1]]
    assert header[:2] == ["网格编码", "网格长"] and "每名网格员户数" in header
    assert ws["A2"].value == GRID and ws["A2"].data_type == "s"
    assert ws.column_dimensions["A"].width >= len(GRID)          # the 15-digit code is shown whole
    flags_col = header.index("标记") + 1
    width = ws.column_dimensions[ws.cell(1, flags_col).column_letter].width
    assert width >= 2 * len("无网格长、人均户数超标")               # a CJK character is two wide
    status = [r[header.index("状态")] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert status == [code_label("status", "short", "zh"), code_label("status", "ok", "zh")]
    assert status[0] != "short"
    en = load_workbook(io.BytesIO(xlsx_bytes({"s": _staffing()}, lang="en")))["s"]
    assert [c.value for c in en[1]][:3] == ["Grid code", "Leaders", "Households"]
    assert en.freeze_panes == "A2"


def test_labels_override_the_catalogue_and_unknown_columns_keep_their_name() -> None:
    frame = pd.DataFrame({"grid_id": [GRID], "custom_score": [1.5], "within_300": [10], "share_300": [0.5]})
    wb = load_workbook(io.BytesIO(xlsx_bytes({"t": frame}, labels={"grid_id": "网格"})))
    assert [c.value for c in wb["t"][1]] == ["网格", "custom_score", "300 米内户数", "300 米内户数占比"]


def test_timestamps_lose_their_zone_in_local_time_and_the_named_index_becomes_a_column() -> None:
    frame = pd.DataFrame({"created_at": pd.to_datetime(["2025-11-01T00:35+08:00"]).tz_convert("UTC")},
                         index=pd.Index(["C1"], name="case_id"))
    ws = load_workbook(io.BytesIO(xlsx_bytes({"c": frame})))["c"]
    assert [c.value for c in ws[1]] == ["工单编号", "受理时间"]
    assert ws["B2"].value.isoformat() == "2025-11-01T00:35:00"     # Beijing time, as the office reads it


def test_every_flag_code_gridgeo_writes_has_words_in_both_languages() -> None:
    from gridgeo.cases import FLAGS as CASE_FLAGS
    from gridgeo.partition import FLAGS as PARTITION_FLAGS
    from gridgeo.staffing import FLAGS as STAFFING_FLAGS

    plan_check = ("not_contiguous", "crosses_community", "empty", "out_of_bounds")   # plans.evaluate adds these
    codes = [*PARTITION_FLAGS, *STAFFING_FLAGS, *CASE_FLAGS, *plan_check]
    untranslated = [c for c in codes if code_label("flags", c, "zh") == c]
    assert untranslated == []
    worded = {c: code_label("flags", c, "en") for c in codes}
    assert [c for c, w in worded.items() if "_" in w] == []            # "no leader", not no_leader
