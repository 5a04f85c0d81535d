"""zh/en strings of plans: the workspace store, versions, imports, codes, diffs, the 方案 section."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    # --- errors: workspace store ------------------------------------------------
    "err.plans.no_workspace": {"zh": "找不到方案工作区文件", "en": "Workspace not found"},
    "err.plans.no_workspace.fix": {"zh": "先用 python -m gridgeo plan create --store 路径 --district 目录 创建",
                                   "en": "create it with: python -m gridgeo plan create --store PATH --district DIR"},
    "err.plans.not_workspace": {"zh": "该文件不是 gridgeo 方案工作区", "en": "The file is not a gridgeo workspace"},
    "err.plans.not_workspace.fix": {"zh": "请选择由 gridgeo 创建的 .gpkg 工作区，或换一个新文件名",
                                    "en": "pass a workspace .gpkg made by gridgeo, or a new file name"},
    "err.plans.unreadable": {"zh": "无法打开方案工作区", "en": "The workspace cannot be opened"},
    "err.plans.unreadable.fix": {"zh": "检查路径以及读写权限", "en": "check the path and that you may read and write it"},
    "err.plans.locked": {"zh": "工作区正被其他会话写入", "en": "The workspace is locked by another session"},
    "err.plans.locked.fix": {"zh": "稍等片刻后重新保存", "en": "wait a moment and save again"},
    "err.plans.empty": {"zh": "工作区中还没有任何方案版本", "en": "The workspace has no plan version yet"},
    "err.plans.empty.fix": {"zh": "先生成或导入一个方案并保存", "en": "compute or import a plan and save it first"},
    "err.plans.unknown_version": {"zh": "没有方案版本 {value}", "en": "Unknown plan version {value}"},
    "err.plans.unknown_version.fix": {"zh": "从版本列表中选择一个已保存的版本",
                                      "en": "pick a saved version from the version list"},
    "err.plans.no_author": {"zh": "保存版本需要填写作者", "en": "A version needs an author"},
    "err.plans.no_author.fix": {"zh": "填写保存人姓名或工号", "en": "say who made this version (name or staff id)"},
    "err.plans.branch_exists": {"zh": "分支名 {value} 已被使用", "en": "Branch name {value} is already used"},
    "err.plans.branch_exists.fix": {"zh": "换一个分支名", "en": "choose another branch name"},
    "err.plans.conflict": {"zh": "保存冲突：本方案基于 {parent}，但其后已有人保存了 {latest}",
                           "en": "Save conflict: this plan is based on {parent}, but {latest} was saved since"},
    "err.plans.conflict.fix": {"zh": "载入 {latest} 后重做修改，或另存为新分支",
                               "en": "load {latest} and redo the change, or save as a new branch"},
}
