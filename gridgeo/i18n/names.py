"""Strings of the name checks: communities that share a name within a district."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "err.names.duplicate_community": {
        "zh": "社区名称“{value}”被 {n} 个社区使用（编码 {ids}），表格和地图上无法区分",
        "en": "the community name '{value}' is used by {n} communities (ids {ids}); tables and maps cannot tell "
              "them apart",
    },
    "err.names.duplicate_community.fix": {
        "zh": "请按民政部门登记的名称给每个社区一个不同的名称（如 东关一社区、东关二社区），或删除重复录入的社区",
        "en": "give each community its own name as registered with civil affairs (e.g. 东关一社区, 东关二社区), "
              "or remove a community entered twice",
    },
}
