"""Strings of the app-wide polish: yes/no cells of tables, and messages of the shared readers."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "table.yes": {"zh": "是", "en": "yes"},
    "table.no": {"zh": "否", "en": "no"},
    "err.io.no_sheet": {"zh": "工作簿中没有名为 {value} 的工作表（现有：{sheets}）",
                        "en": "The workbook has no sheet {value} (sheets: {sheets})"},
    "err.io.no_sheet.fix": {"zh": "请选择列出的工作表之一。", "en": "Choose one of the listed sheets."},
}
