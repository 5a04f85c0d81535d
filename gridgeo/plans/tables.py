"""A version as the two tables people exchange: grids and the 楼栋-网格对照表, with names and Chinese headers.

The assignments table has today's partition output columns (``building_id``,
``grid_id``, ``households``, ``units``, ``unit_range``, ``estimated``) plus the
building, compound, community and grid names. Its Chinese headers are ones
:func:`gridgeo.plans.imports.import_table` accepts, so an exported table can be
edited in Excel and imported again.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gridgeo import io, tables
from gridgeo.plans.model import PlanVersion

__all__ = ["grids_table", "assignments_table", "xlsx_bytes", "GRID_HEADERS_ZH", "ASSIGNMENT_HEADERS_ZH",
           "local_dates"]

GRID_HEADERS_ZH: dict[str, str] = {
    "grid_id": "网格编码", "name": "网格名称", "community_id": "社区编码", "community": "社区名称",
    "kind": "网格类型", "households": "户数", "buildings": "楼栋数", "status": "规模状态", "flags": "标记",
    "locked": "锁定", "valid_from": "启用日期", "valid_to": "停用日期", "polsby_popper": "紧凑度",
    "street_share": "沿路边界占比", "area_m2": "面积（平方米）", "version_id": "方案版本",
}
ASSIGNMENT_HEADERS_ZH: dict[str, str] = {
    "building_id": "楼栋编码", "building_name": "楼栋名称", "compound_id": "小区", "community_id": "社区编码",
    "community": "社区名称", "grid_id": "网格编码", "grid_name": "网格名称", "households": "户数",
    "units": "单元数", "unit_range": "单元范围", "estimated": "单元数为估计",
}


def local_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Tz-aware timestamps as local ``YYYY-MM-DD HH:MM`` text (Excel and CSV cannot hold a time zone)."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M").fillna("")
    return out


def grids_table(plan: PlanVersion, district: io.District) -> gpd.GeoDataFrame:
    """The grids of ``plan`` with community names and the version id (index ``grid_id``, EPSG:4326)."""
    g = plan.grids.copy()
    names = district.communities["name"].astype(str)
    g.insert(1 if "community_id" in g.columns else 0, "community",
             g["community_id"].astype(str).map(names).fillna("").to_numpy())
    g["version_id"] = plan.version_id or ""
    first = [c for c in GRID_HEADERS_ZH if c in g.columns and c != "grid_id"]
    rest = [c for c in g.columns if c not in first and c != g.geometry.name]
    return g[[*first, *rest, g.geometry.name]]


def assignments_table(plan: PlanVersion, district: io.District) -> pd.DataFrame:
    """Building → grid rows of ``plan`` with building, compound, community and grid names."""
    a = plan.assignments.reset_index(drop=True)
    b = district.buildings
    bid = a["building_id"].astype(str)

    def col(c: str) -> pd.Series:
        if c not in b.columns:
            return pd.Series("", index=a.index)
        return bid.map(b[c].astype(object).where(b[c].notna(), "").astype(str)).fillna("")

    grid_names = plan.grids["name"].astype(str) if "name" in plan.grids.columns else pd.Series(dtype=str)
    community_id = col("community_id")
    out = pd.DataFrame({
        "building_id": bid, "building_name": col("name"), "compound_id": col("compound_id"),
        "community_id": community_id,
        "community": community_id.map(district.communities["name"].astype(str)).fillna(""),
        "grid_id": a["grid_id"].astype(str), "grid_name": a["grid_id"].astype(str).map(grid_names).fillna(""),
        "households": a["households"].astype("int64"), "units": a["units"].astype("Int64"),
        "unit_range": a["unit_range"].fillna("").astype(str), "estimated": a["estimated"].astype(bool),
    })
    return out


def xlsx_bytes(frame: pd.DataFrame, headers: dict[str, str], *, sheet: str) -> bytes:
    """One sheet with Chinese headers (``headers`` first, then the shared catalogue); geometry is left out.

    Written by the shared ``gridgeo.tables.xlsx_bytes`` (frozen header, widths, flags in words).
    """
    return tables.xlsx_bytes({sheet: local_dates(frame)}, lang="zh", labels=headers)
