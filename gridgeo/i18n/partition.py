"""zh/en strings of the partition engine added for issue #14 (honest status, large communities, CLI)."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "partition.explain_pieces_block": {
        "zh": "{households} 户：按户数可划 {k_range} 个网格，但不可再分的单元或楼栋（{pieces}）无法组合成"
              "每格 {min}–{max} 户的网格（超过 {half} 户的两块不能同格），{n_out} 个网格不在范围内，已标注。",
        "en": "{households} households: {k_range} grids possible by arithmetic, but the indivisible units "
              "or buildings ({pieces}) cannot be grouped into grids of {min}–{max} households (two pieces above "
              "{half} cannot share a grid); {n_out} grid(s) fall outside the bounds, flagged."},
    "partition.explain_gave_up": {
        "zh": "{households} 户：可划 {k_range} 个网格，楼栋和单元的户数也不排除，但搜索 {seconds} 秒后仍未找到全部在 "
              "{min}–{max} 户范围内的方案；{n_out} 个网格不在范围内，已标注。",
        "en": "{households} households: {k_range} grids possible and the household numbers of the buildings and units do not rule it out, but "
              "the search gave up after {seconds} s without a plan within {min}–{max}; {n_out} grid(s) fall "
              "outside the bounds, flagged."},
    # The other flags' labels live in i18n.core; this one came with the issue-14 engine.
    "flag.search_gave_up": {"zh": "搜索超时未找到达标方案", "en": "search gave up before meeting the bounds"},
    "partition.status.ok": {"zh": "合格", "en": "ok"},
    "partition.status.infeasible": {"zh": "户数无解", "en": "infeasible"},
    "partition.status.bounds_not_met": {"zh": "未达标", "en": "bounds not met"},
    "partition.status.search_gave_up": {"zh": "搜索未果", "en": "search gave up"},
    "partition.status.locked_out_of_bounds": {"zh": "锁定网格超范围", "en": "locked grid out of bounds"},
    "partition.status.empty": {"zh": "无住户", "en": "empty"},
    "partition.cli.summary": {
        "zh": "{grids} 个网格；可行社区中达标网格 {within}；紧凑度（Polsby–Popper）均值 {pp}；{seconds} 秒 -> {out}",
        "en": "{grids} grids; within bounds (feasible communities) {within}; Polsby–Popper mean {pp}; "
              "{seconds} s -> {out}"},
    "partition.cli.streets": {"zh": "沿道路边界 {share}", "en": "along streets {share}"},
    "partition.cli.buildings": {"zh": "已读入 {n} 栋楼，其中 {zero} 栋无住户（非住宅：学校、医院、商业等，参与划分但不计户数）。",
                                "en": "{n} buildings read, {zero} with no households (non-residential: schools, "
                                      "hospitals, shops …; kept in the plan, counted as 0)."},
    "partition.cli.progress": {"zh": "{done}/{total} 个社区（{community}）", "en": "{done}/{total} communities ({community})"},
    "partition.cli.community": {
        "zh": "{community}  {households:>6} 户  {grids:>3} 个网格  [{status}]  {explanation}",
        "en": "{community}  {households:>6} households  {grids:>3} grids  [{status}]  {explanation}"},
    "partition.cli.not_ok": {
        "zh": "{n} 个户数可行的社区有网格超出范围（见上方 !! 行）。",
        "en": "{n} feasible communit(ies) have grids outside the bounds (lines marked !! above)."},
    "partition.cli.scheduler": {"zh": "在 Dask 集群 {address} 上运行（{workers} 个工作进程）",
                                "en": "running on the Dask cluster {address} ({workers} workers)"},
    "err.partition.scheduler": {
        "zh": "无法连接 Dask 调度器 {value}：{reason}",
        "en": "cannot reach the Dask scheduler {value}: {reason}"},
    "err.partition.cluster": {
        "zh": "Dask 集群 {value} 无法运行 gridgeo 的任务：{reason}",
        "en": "the Dask cluster {value} could not run gridgeo's tasks: {reason}"},
    "err.partition.cluster.fix": {
        "zh": "在调度器和每个工作进程上安装与本机相同版本的 gridgeo 及其依赖（pip install -r requirements.txt，"
              "并确保能 import gridgeo），或去掉 --scheduler 在本机运行",
        "en": "install the same gridgeo and packages on the scheduler and every worker (pip install -r "
              "requirements.txt, gridgeo importable there), or drop --scheduler to run locally"},
    "err.partition.scheduler.fix": {
        "zh": "启动调度器（dask scheduler）并检查地址 tcp://主机:端口，或去掉 --scheduler 在本机运行",
        "en": "start the scheduler (dask scheduler) and check the address tcp://host:port, or drop --scheduler "
              "to run locally"},
}
