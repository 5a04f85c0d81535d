"""Strings of the app-wide polish: yes/no cells of tables, and messages of the shared readers."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "table.yes": {"zh": "是", "en": "yes"},
    "table.no": {"zh": "否", "en": "no"},
    "err.io.no_sheet": {"zh": "工作簿中没有名为 {value} 的工作表（现有：{sheets}）",
                        "en": "The workbook has no sheet {value} (sheets: {sheets})"},
    "err.io.no_sheet.fix": {"zh": "请选择列出的工作表之一。", "en": "Choose one of the listed sheets."},
    "errfmt.file_problems_nolayer": {"zh": "文件 {file} 有 {n} 处问题，未载入任何数据：",
                                     "en": "{file} has {n} problem(s); nothing was loaded:"},
    "layer.candidates": {"zh": "候选站点", "en": "candidate sites"},
    "err.io.empty_file": {"zh": "内容为空（0 字节）", "en": "the file is empty (0 bytes)"},
    "err.io.empty_file.fix": {"zh": "上传或导出可能中断了：请重新导出该文件，确认能正常打开后再上传。",
                              "en": "The upload or export was cut off: export the file again, check that it opens, "
                                    "then upload it."},
    "err.crs.web_mercator": {
        "zh": "坐标（{x}, {y}）是以米为单位的墨卡托投影坐标（EPSG:3857），不是经纬度；文件没有声明坐标系",
        "en": "the coordinates ({x}, {y}) are Web Mercator metres (EPSG:3857), not longitude/latitude, "
              "and the file declares no coordinate system"},
    "err.crs.web_mercator.fix": {
        "zh": "在 QGIS 中右键图层，选“导出”→“要素另存为”，格式选 GeoJSON 或 GeoPackage，坐标系选 EPSG:4326（WGS 84），"
              "再上传",
        "en": "in QGIS, Export → Save Features As GeoJSON or GeoPackage with CRS EPSG:4326 (WGS 84), then upload it"},
    "err.crs.not_degrees": {
        "zh": "坐标（{x}, {y}）不是经纬度（中国位于经度 73–136、纬度 3–54），文件也没有声明坐标系",
        "en": "the coordinates ({x}, {y}) are not longitude/latitude (China lies at lon 73–136, lat 3–54) and the "
              "file declares no coordinate system"},
    "err.crs.not_degrees.fix": {
        "zh": "在 QGIS 中设置图层的正确坐标系后，另存为 GeoJSON 或 GeoPackage（坐标系选 EPSG:4326）；Shapefile 请把 .prj "
              "文件一起放进压缩包",
        "en": "set the layer's coordinate system in QGIS and save it as GeoJSON or GeoPackage (CRS EPSG:4326); "
              "for a Shapefile, put the .prj file in the zip"},
    "err.schema.missing_field_typo": {
        "zh": "缺少必需的列“{column}”；文件中的表头“{guess}”是否就是“{column}”写错了？（可用的表头：{accepted}）",
        "en": "missing required column '{column}'; is the header '{guess}' a misspelling of it? "
              "(accepted headers: {accepted})"},
    "err.schema.missing_field_typo.fix": {"zh": "把表头“{guess}”改成“{column}”后重新上传",
                                          "en": "rename the header '{guess}' to '{column}' and upload the file again"},
    "cases.fieldname.case_id": {"zh": "工单编号", "en": "case id (case_id)"},
    "cases.fieldname.created_at": {"zh": "受理时间", "en": "time received (created_at)"},
    "err.cases.missing_field_typo": {
        "zh": "没有与必填项“{names}”对应的列；表头“{guess}”是否就是“{names}”写错了？",
        "en": "No column for the required field {names}; is the header “{guess}” a misspelling of it?"},
    "err.cases.missing_field_typo.fix": {
        "zh": "请为“{names}”指定列“{guess}”（网页上在“字段映射”中选择），或把表头改为“{names}”。",
        "en": "Choose the column “{guess}” for {names} (under Column mapping on the page, --map on the command line), "
              "or correct the header."},
    "geomtype.Point": {"zh": "点", "en": "Point"},
    "geomtype.MultiPoint": {"zh": "多点", "en": "MultiPoint"},
    "geomtype.LineString": {"zh": "线", "en": "LineString"},
    "geomtype.MultiLineString": {"zh": "多线", "en": "MultiLineString"},
    "geomtype.LinearRing": {"zh": "闭合线", "en": "LinearRing"},
    "geomtype.Polygon": {"zh": "面（多边形）", "en": "Polygon"},
    "geomtype.MultiPolygon": {"zh": "多面（多个多边形）", "en": "MultiPolygon"},
    "geomtype.GeometryCollection": {"zh": "几何集合", "en": "GeometryCollection"},
    "home.severity.warning": {"zh": "提示（已载入）", "en": "note (loaded)"},
    "home.severity.error": {"zh": "错误（未载入）", "en": "error (not loaded)"},
}
