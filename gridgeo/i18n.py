"""The zh/en string table: everything the UI and CLI show to people.

Keys are ``area.item``. Simplified Chinese is the default language; English is
the switch. Values are ``str.format`` templates filled from an error's fields.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

# Each section is owned by one area of the code; add keys inside your section.
STRINGS: dict[str, dict[str, str]] = {
    # --- app frame and shared -------------------------------------------------
    "app.title": {"zh": "网格化服务管理 · 网格规划", "en": "Grid governance · grid planning"},
    "app.language": {"zh": "语言 / Language", "en": "Language / 语言"},
    "app.data_source": {"zh": "数据来源", "en": "Data source"},
    "app.source_demo": {"zh": "内置示例辖区", "en": "Bundled demo district"},
    "app.source_upload": {"zh": "上传自己的数据", "en": "Upload your own files"},
    "app.upload_communities": {"zh": "社区边界（必需）", "en": "Community boundaries (required)"},
    "app.upload_buildings": {"zh": "楼栋（必需，含户数）", "en": "Buildings with households (required)"},
    "app.upload_streets": {"zh": "道路（可选）", "en": "Streets (optional)"},
    "app.upload_stations": {"zh": "服务站点（可选）", "en": "Service stations (optional)"},
    "app.upload_formats": {"zh": "支持 GeoJSON、GeoPackage、压缩 Shapefile（.zip）、CSV、Excel",
                           "en": "GeoJSON, GeoPackage, zipped Shapefile (.zip), CSV or Excel"},
    "app.coords": {"zh": "上传文件的坐标系", "en": "Coordinates of the uploaded files"},
    "app.coords_wgs84": {"zh": "WGS-84（GPS、天地图、文件自带坐标系）", "en": "WGS 84 (GPS, Tianditu, or as the file declares)"},
    "app.coords_gcj02": {"zh": "GCJ-02（高德、腾讯）", "en": "GCJ-02 (AMap, Tencent)"},
    "app.coords_bd09": {"zh": "BD-09（百度）", "en": "BD-09 (Baidu)"},
    "app.coords_help": {"zh": "来自高德/百度的经纬度带有偏移，载入时按公开公式换算为 WGS-84。",
                        "en": "Lon/lat from AMap or Baidu are offset; they are converted to WGS 84 on loading."},
    "app.upload_waiting": {"zh": "请先上传社区边界和楼栋两个文件。",
                           "en": "Upload the community boundaries and the buildings first."},
    "app.district": {"zh": "当前辖区：{name}", "en": "District: {name}"},
    "app.demo_note": {"zh": "示例数据为合成数据，仅供演示。", "en": "The demo data are synthetic."},
    "app.error_title": {"zh": "数据无法载入", "en": "The data could not be loaded"},
    "app.demo_missing": {"zh": "找不到内置示例数据（{path}）：请运行 make demo。",
                         "en": "The bundled demo data are missing ({path}): run make demo."},
    "app.osm": {"zh": "显示 OpenStreetMap 底图（需联网）", "en": "Show OpenStreetMap tiles (needs internet)"},
    "nav.home": {"zh": "辖区概览", "en": "Overview"},
    "nav.planner": {"zh": "网格规划", "en": "Grid planner"},
    "col.community_id": {"zh": "社区编码", "en": "Community code"},
    "col.name": {"zh": "社区名称", "en": "Community"},
    "col.street": {"zh": "街道", "en": "Street"},
    "col.kind": {"zh": "类型", "en": "Kind"},
    "col.households": {"zh": "户数", "en": "Households"},
    "col.buildings": {"zh": "楼栋数", "en": "Buildings"},
    "col.k_range": {"zh": "可行网格数", "en": "Feasible grid counts"},
    "col.feasible": {"zh": "可按规则划分", "en": "Feasible"},
    "col.grids": {"zh": "网格数", "en": "Grids"},
    "kind.urban": {"zh": "城市社区", "en": "urban"},
    "kind.rural": {"zh": "农村", "en": "rural"},
    "map.osm": {"zh": "OpenStreetMap 底图（需联网）", "en": "OpenStreetMap (needs internet)"},
    "map.streets": {"zh": "道路", "en": "Streets"},
    "map.street_name": {"zh": "道路", "en": "Street"},
    "map.communities": {"zh": "社区边界", "en": "Community boundaries"},
    "map.labels": {"zh": "社区名称", "en": "Community names"},
    "map.community": {"zh": "社区", "en": "Community"},
    "map.community_id": {"zh": "社区编码", "en": "Community code"},
    "map.street": {"zh": "街道", "en": "Street office"},
    "map.households": {"zh": "户数", "en": "Households"},
    "map.buildings": {"zh": "楼栋（按户数着色）", "en": "Buildings (by households)"},
    "map.buildings_n": {"zh": "楼栋数", "en": "Buildings"},
    "map.building_id": {"zh": "楼栋编码", "en": "Building"},
    "map.name": {"zh": "名称", "en": "Name"},
    "map.units": {"zh": "单元数", "en": "Units"},
    "map.compound": {"zh": "小区", "en": "Compound"},
    "map.kind": {"zh": "类型", "en": "Kind"},
    "map.k_range": {"zh": "可行网格数", "en": "Feasible grid counts"},
    "map.no_feasible_k": {"zh": "无（300–500户无法整分）", "en": "none fits the bounds"},
    "map.stations": {"zh": "服务站点", "en": "Service stations"},
    "map.station.party_mass_centre": {"zh": "党群服务中心", "en": "Party-mass service centre"},
    "map.station.doorstep_station": {"zh": "家门口服务站", "en": "Doorstep station"},
    "map.station.compound_post": {"zh": "小区驿站", "en": "Compound post"},
    "map.station.other": {"zh": "其他站点", "en": "Other station"},
    "map.legend_households": {"zh": "楼栋户数", "en": "Households per building"},
    "map.grids": {"zh": "网格", "en": "Grids"},
    "map.grid_id": {"zh": "网格编码", "en": "Grid"},
    "map.pp": {"zh": "紧凑度（Polsby–Popper）", "en": "Compactness (Polsby–Popper)"},
    "map.status": {"zh": "户数状态", "en": "Household status"},
    "map.status.under": {"zh": "低于下限", "en": "Below the minimum"},
    "map.status.within": {"zh": "在范围内", "en": "Within bounds"},
    "map.status.over": {"zh": "超过上限", "en": "Above the maximum"},
    "map.legend_status": {"zh": "网格户数", "en": "Households per grid"},
    # --- home -------------------------------------------------------------------
    "home.title": {"zh": "辖区概览", "en": "District overview"},
    "home.communities": {"zh": "社区", "en": "Communities"},
    "home.buildings": {"zh": "楼栋", "en": "Buildings"},
    "home.households": {"zh": "户数", "en": "Households"},
    "home.feasible": {"zh": "可按 {lo}–{hi} 户划分的社区", "en": "Communities that fit {lo}–{hi} households"},
    "home.feasible_help": {
        "zh": "存在网格数 k，使 {lo}·k ≤ 户数 ≤ {hi}·k 的社区；其余社区需调整边界或放宽户数范围。",
        "en": "Communities with some grid count k such that {lo}·k ≤ households ≤ {hi}·k; "
              "the others need a boundary change or wider bounds."},
    "home.map": {"zh": "辖区地图", "en": "Map"},
    "home.table": {"zh": "各社区情况", "en": "Communities"},
    "home.infeasible_note": {"zh": "{n} 个社区按 {lo}–{hi} 户无法整分：{names}",
                             "en": "{n} communities cannot be split into {lo}–{hi} households: {names}"},
    "home.problems": {"zh": "载入时的提示（{n} 条）", "en": "Notes from loading ({n})"},
    "home.problem_code": {"zh": "类别", "en": "Code"},
    "home.problem_count": {"zh": "条数", "en": "Count"},
    "home.problem_ids": {"zh": "涉及编号", "en": "Ids"},
    "home.problem_message": {"zh": "示例", "en": "Example"},
    "home.no_problems": {"zh": "载入时未发现问题。", "en": "No problems found while loading."},
    # --- planner ----------------------------------------------------------------
    "planner.title": {"zh": "网格规划", "en": "Grid planner"},
    "planner.intro": {"zh": "按每格户数范围把每个社区划分为网格：网格不跨社区，小区不拆分，超大楼栋按单元拆分。",
                      "en": "Split every community into grids within the household bounds: grids never cross a "
                            "community, compounds stay whole, towers are split by entrance."},
    "planner.min": {"zh": "每格最少户数", "en": "Minimum households per grid"},
    "planner.max": {"zh": "每格最多户数", "en": "Maximum households per grid"},
    "planner.target": {"zh": "目标户数", "en": "Target households"},
    "planner.seed": {"zh": "随机种子", "en": "Seed"},
    "planner.seed_help": {"zh": "同一种子、同一数据得到同一方案。", "en": "The same seed and data give the same plan."},
    "planner.bad_bounds": {"zh": "户数范围须满足 0 < 最少 ≤ 目标 ≤ 最多，当前为 {lo} / {target} / {hi}。",
                           "en": "Bounds must satisfy 0 < minimum ≤ target ≤ maximum; got {lo} / {target} / {hi}."},
    "planner.run": {"zh": "开始划分", "en": "Run"},
    "planner.starting": {"zh": "正在准备…", "en": "Preparing…"},
    "planner.progress": {"zh": "已完成 {done}/{total} 个社区（{name}）", "en": "{done}/{total} communities done ({name})"},
    "planner.press_run": {"zh": "设置户数范围后点击“开始划分”。", "en": "Set the bounds, then press Run."},
    "planner.stale": {"zh": "下方为上次划分的结果（{lo}–{hi} 户，目标 {target}，种子 {seed}）；参数已更改，请重新划分。",
                      "en": "Showing the last plan ({lo}–{hi}, target {target}, seed {seed}); the inputs changed: "
                            "press Run again."},
    "planner.grids": {"zh": "网格数", "en": "Grids"},
    "planner.within": {"zh": "户数达标网格占比", "en": "Grids within bounds"},
    "planner.within_help": {"zh": "可行社区中户数在范围内的网格占比。",
                            "en": "Share of grids in feasible communities whose households are within bounds."},
    "planner.pp_mean": {"zh": "平均紧凑度", "en": "Mean compactness"},
    "planner.pp_help": {"zh": "Polsby–Popper 指数：4π·面积/周长²，圆为 1，越细长越小。",
                        "en": "Polsby–Popper: 4π·area/perimeter², 1 for a circle, smaller when elongated."},
    "planner.street_share": {"zh": "沿道路的边界占比", "en": "Boundary along streets"},
    "planner.street_help": {"zh": "网格边界中沿道路的长度占比（越高越便于现场识别）。",
                            "en": "Share of grid boundary length that follows a street (easier to find on the ground)."},
    "planner.infeasible": {"zh": "{n} 个社区无法按当前户数范围划分：", "en": "{n} communities cannot meet the bounds:"},
    "planner.map": {"zh": "网格地图", "en": "Grid map"},
    "planner.table": {"zh": "各社区划分结果", "en": "Result per community"},
    "planner.explanation": {"zh": "说明", "en": "Explanation"},
    "planner.export": {"zh": "导出", "en": "Export"},
    "planner.download_grids": {"zh": "下载网格（grids.geojson）", "en": "Download grids (grids.geojson)"},
    "planner.download_assignments": {"zh": "下载楼栋归属（assignments.csv）",
                                     "en": "Download building assignments (assignments.csv)"},
    # --- errors (io) -----------------------------------------------------------
    "err.generic": {"zh": "输入有误", "en": "Input error"},
    # --- partition -------------------------------------------------------------
    "partition.explain_feasible": {
        "zh": "{households} 户：可划 {k_min}–{k_max} 个网格；已划 {grids} 个，每格 {lo}–{hi} 户。",
        "en": "{households} households: {k_min}–{k_max} grids possible; made {grids} grids of {lo}–{hi} households."},
    "partition.explain_infeasible": {
        "zh": "{households} 户无法按每格 {min}–{max} 户划分：{options}；最接近的方案：{k} 个网格，每格约 {per} 户"
              "（{out} 户超出范围），已标注。",
        "en": "{households} households cannot be split into grids of {min}–{max}: {options}; nearest choice: "
              "{k} grid(s) of about {per} households ({out} households outside the bounds), flagged."},
    "partition.plan_made": {
        "zh": "楼栋和小区保持完整，本方案划为 {grids} 个网格：{sizes} 户（共 {out} 户超出范围）。",
        "en": "Keeping buildings and compounds whole, this plan has {grids} grid(s) of {sizes} households "
              "({out} outside the bounds in all)."},
    "partition.option_over": {"zh": "{k} 个网格每格 {per} 户 > {max}", "en": "{k} grid(s) would hold {per} > {max}"},
    "partition.option_under": {"zh": "{k} 个网格每格 {per} 户 < {min}", "en": "{k} grid(s) would hold {per} < {min}"},
    "partition.explain_not_met": {
        "zh": "{households} 户：可划 {k_min}–{k_max} 个网格，但楼栋或小区无法再细分，{n_out} 个网格不在 {min}–{max} 户范围内。",
        "en": "{households} households: {k_min}–{k_max} grids possible, but the buildings or compounds cannot be "
              "divided finely enough; {n_out} grid(s) fall outside {min}–{max} households."},
    "partition.explain_empty": {"zh": "社区内没有住户，整个社区为一个网格。",
                                "en": "No households in this community: it is one grid."},
    "partition.note_compound_over": {"zh": "小区 {ids} 超过 {max} 户，已按楼栋/单元拆分。",
                                     "en": "Compound(s) {ids} exceed {max} households and were split by building/unit."},
    "partition.note_compound_forced": {"zh": "为满足户数范围，拆分了小区 {ids}。",
                                       "en": "Compound(s) {ids} had to be split to meet the bounds."},
    "partition.note_compound_apart": {"zh": "小区 {ids} 的楼栋互不相连，分属不同网格。",
                                      "en": "Compound(s) {ids} consist of separate pieces and fall in several grids."},
    "partition.note_estimated": {"zh": "部分拆分楼栋缺少单元数，按每单元约 {per} 户估算，请核实。",
                                 "en": "Some split buildings lack a unit count; about {per} households per unit "
                                       "were assumed: please check."},
    "partition.note_unit_forced": {"zh": "为满足户数范围，部分楼栋按单元拆分。",
                                   "en": "Some buildings were split by unit to meet the bounds."},
    "partition.note_multipart": {"zh": "社区有 {n} 块区域不足以单独成格，已并入最近的网格（多部分网格）。",
                                 "en": "{n} separate part(s) of the community cannot hold a grid alone and were "
                                       "joined to the nearest grid (multi-part grid)."},
    "partition.note_oversized": {"zh": "有单元或不可拆分的楼栋超过 {max} 户。",
                                 "en": "A unit or unsplittable building exceeds {max} households."},
    "partition.note_locked": {"zh": "保留 {n} 个锁定网格（{households} 户），其余部分重新划分。",
                              "en": "{n} locked grid(s) kept ({households} households); the rest was re-divided."},
    "err.partition.input": {"zh": "划分输入有误", "en": "Partition input error"},
}


def t(key: str, lang: Lang = "zh", **fields: object) -> str:
    """Return the text for ``key`` in ``lang``, filled with ``fields``.

    An unknown key returns the key itself, so a missing translation shows up
    visibly instead of crashing a page.
    """
    entry = STRINGS.get(key)
    if entry is None:
        return key
    template = entry.get(lang) or entry.get("zh") or key
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return template
