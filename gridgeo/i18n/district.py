"""Strings of the district upload and ``validate --district``: which layers are still missing."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "cli.validate.district": {"zh": "通过：辖区 {name} 可以载入（{n_warnings} 条提示）",
                              "en": "ok: district {name} loads ({n_warnings} warning(s))"},
    "cli.validate.district_layer": {"zh": "{layer}：{files}，{n} 条记录", "en": "{layer}: {files}, {n} record(s)"},
    "err.district.validate_args": {"zh": "validate 只能二选一：图层加文件，或 --district 文件夹",
                                   "en": "validate takes either a layer and files or --district, not both"},
    "err.district.validate_args.fix": {"zh": "去掉图层和文件，或去掉 --district。",
                                       "en": "Drop the layer and files, or drop --district."},
    "err.district.validate_nothing": {"zh": "validate 需要一个图层和至少一个文件，或 --district 文件夹",
                                      "en": "validate needs a layer and at least one file, or --district DIR"},
    "err.district.validate_nothing.fix": {"zh": "例如：python -m gridgeo validate buildings 楼栋.csv，"
                                                "或 python -m gridgeo validate --district 辖区文件夹。",
                                          "en": "E.g. python -m gridgeo validate buildings buildings.csv, "
                                                "or python -m gridgeo validate --district FOLDER."},
    "plans.import_file_polygons": {"zh": "现有网格文件（GeoJSON / GeoPackage / Shapefile 压缩包）",
                                   "en": "Existing grids file (GeoJSON / GeoPackage / zipped Shapefile)"},
    "plans.import_file_table": {"zh": "楼栋-网格对照表（Excel / CSV）",
                                "en": "Building→grid table (Excel / CSV)"},
    "err.upload.unreadable": {"zh": "无法作为 {expected} 文件读取：文件已损坏，或是改了扩展名的其他文件",
                              "en": "cannot be read as {expected}: the file is damaged or another kind of file "
                                    "renamed"},
    "err.upload.unreadable.fix": {"zh": "这里可上传 {types} 文件：请在 Excel 或 WPS 中重新导出（另存为其中一种）后再上传",
                                  "en": "this upload takes {types} files: export the data again as one of them "
                                        "(Excel, WPS) and upload it"},
    "err.upload.unknown_format": {"zh": "无法识别的文件格式", "en": "unknown file format"},
    "err.upload.unknown_format.fix": {"zh": "这里可上传 {types} 文件，请另存为其中一种",
                                      "en": "this upload takes {types} files: save it as one of them"},
    "app.upload_waiting": {"zh": "还缺必需文件：{layers}。上传后各页面即显示您的数据。",
                           "en": "Still missing: {layers}. Every page shows your data once it is uploaded."},
    "app.upload_incomplete": {"zh": "您上传的辖区还缺 {n} 个必需文件，暂时无法显示任何结果：",
                              "en": "Your upload still lacks {n} required file(s); nothing can be shown yet:"},
    "app.upload_missing_layer": {"zh": "- **{layer}**：在左侧“数据来源”的“{where}”处上传",
                                 "en": "- **{layer}**: upload it under “{where}” in the sidebar's Data source"},
    "app.upload_received": {"zh": "已收到：{files}（保留在本次会话中，无需重新上传）。",
                            "en": "Received: {files} (kept for this session; no need to upload again)."},
    "app.upload_received_file": {"zh": "{layer} {name}", "en": "{layer} {name}"},
    "app.upload_no_demo": {"zh": "在您的文件齐全之前，本页不显示示例辖区的数据，以免误当作您的数据。"
                                 "想先看看示例，可在左侧“数据来源”中选择“内置示例辖区”。",
                           "en": "Until your files are complete, this page shows none of the demo district's figures, "
                                 "so they cannot be taken for yours. To look at the demo, choose “Bundled demo "
                                 "district” under Data source in the sidebar."},
}
