"""Page tables print quantities with thousands separators (14,989), never ids, codes, years or phones.

``pages._ui.show_table`` gives every integer quantity ``NumberColumn(format="%,d")`` and every
float quantity ``"localized"``; the rule (``gridgeo.tables.measure_columns``) is by dtype and by
an explicit list of label fields, checked here on frames built by hand and through AppTest on
the home page of the bundled demo, whose households figure is recomputed from buildings.geojson.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gridgeo.i18n import t
from gridgeo.tables import is_plain_column, measure_columns
from pages._ui import DEMO_PATH
from tests.app_support import metric, page_test


def _formats(df: object) -> dict[str, object]:
    """Column name -> the NumberColumn format Streamlit was given (None when the column has no config)."""
    config = json.loads(df.proto.columns or "{}")  # type: ignore[attr-defined]
    return {str(c): config.get(str(c), {}).get("type_config", {}).get("format")
            for c in df.value.columns}  # type: ignore[attr-defined]


def test_measure_columns_by_dtype_and_explicit_label_fields() -> None:
    df = pd.DataFrame({
        "households": [14989, 320],                                  # int quantity
        "户数": pd.array([14989, None], dtype="Int64"),                 # nullable int quantity
        "area_m2": [123456.75, 10.5],                                 # float quantity
        "居住地距网格（米）": [1234.5, np.nan],
        "community_id": [370124001001, 370124001002],                # numeric ids stay plain
        "社区编码": [370124001001, 370124001002],
        "年份": [2025, 2026], "Year": [2025, 2026],                    # years
        "联系电话": [13812345678, 15912345678], "Phone": [13812345678, 15912345678],
        "原表行号": [1002, 1003], "Rank": [1, 2], "Version": [12, 13],    # rows, ranks, versions
        "经度": [116.445123, 116.44], "p (FDR)": [0.00012, 0.5],        # coordinates, statistics
        "Staff id": [1001, 1002],                                     # a user's own header with "id"
        "feasible": [True, False],                                    # booleans
        "created": pd.to_datetime(["2026-01-01", "2026-02-01"]),       # dates
        "name": ["翠屏社区", "榆山社区"],
    })
    assert measure_columns(df) == {"households": "%,d", "户数": "%,d", "area_m2": "localized",
                                   "居住地距网格（米）": "localized"}
    # a page's explicit word wins over the rule, both ways
    assert measure_columns(df, numbers=["Rank"], plain=["area_m2"]) == {
        "households": "%,d", "户数": "%,d", "居住地距网格（米）": "localized", "Rank": "%,d"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_headers_of_label_fields_are_plain_in_both_languages(lang: str) -> None:
    for key in ("col.community_id", "staffing.col.staff_id", "staffing.col.phone", "sla.col.year",
                "cases.col.row", "coverage.col.rank", "plans.col.version", "export.col.lat",
                "export.col.p_fdr", "sla.col.on_time_rate"):
        assert is_plain_column(t(key, lang)), key
    for key in ("col.households", "col.buildings", "staffing.col.people", "export.col.cases",
                "export.col.area_m2", "staffing.col.distance_m", "coverage.col.covered",
                "sla.col.received", "sla.col.no_rule", "cases.col_count"):
        assert not is_plain_column(t(key, lang)), key
    assert is_plain_column(t("coverage.col.share", lang, reach=500))     # a header filled from a template


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_home_table_households_have_thousands_separators_and_codes_do_not(lang: str) -> None:
    at = page_test("home", DEMO_PATH, lang, timeout=600).run()
    assert not at.exception
    households, code = t("col.households", lang), t("col.community_id", lang)
    table = next(df for df in at.dataframe if households in df.value.columns)
    formats = _formats(table)
    assert formats[households] == "%,d" and formats[t("col.buildings", lang)] == "%,d"
    assert formats[code] is None                      # the 12-digit community code is shown as it is
    assert formats[t("col.name", lang)] is None
    # the figures are the real ones: the table adds up to the metric, recomputed from the file
    buildings = gpd.read_file(Path(DEMO_PATH) / "buildings.geojson")
    total = int(buildings["households"].sum())
    assert int(table.value[households].sum()) == total
    assert metric(at, t("home.households", lang)) == f"{total:,}"
    assert table.value[households].max() >= 1000      # numbers big enough for a separator to matter


def _script() -> None:
    import pandas as pd
    import streamlit as st

    from pages._ui import init_state, show_table

    init_state()
    show_table(pd.DataFrame({"grid_id": [370124001001001, 370124001001002], "households": [14989, 420],
                             "年份": [2025, 2026], "联系电话": [13812345678, 15912345678],
                             "share": [91.5, 40.0], "distance_m": [1234.5, 87.25]}),
               hide_index=True, column_config={"share": st.column_config.ProgressColumn(format="%.1f%%")})
    show_table(pd.DataFrame({"grid_id": [1, 2], "households": [5, 6]}), plain=["households"],
               numbers=["grid_id"])


def test_show_table_formats_numeric_ids_years_and_phones_plain_and_keeps_a_page_config() -> None:
    at = AppTest.from_function(_script).run()
    assert not at.exception
    first, second = (_formats(df) for df in at.dataframe)
    assert first == {"grid_id": None, "households": "%,d", "年份": None, "联系电话": None,
                     "share": "%.1f%%", "distance_m": "localized"}
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["share"]["type_config"]["type"] == "progress"   # the page's ProgressColumn is kept
    assert config["households"]["type_config"]["type"] == "number"
    assert second == {"grid_id": "%,d", "households": None}
