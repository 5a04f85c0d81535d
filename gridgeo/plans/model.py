"""What a plan version is: grids, building→grid assignments, the rules used, and who made it.

Every module of ``plans`` (store, import, edit, codes, diff) exchanges this one
frozen dataclass, so a version read from the store, imported from a city's
grids file or produced by a hand edit is judged and saved the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import pandas as pd

from gridgeo.settings import DEFAULT_RULES, Rules

#: Columns of ``PlanVersion.grids`` besides the geometry (index ``grid_id``).
GRID_COLUMNS: tuple[str, ...] = (
    "community_id",   # 12-digit community code: grids never cross a community
    "name",           # grid name ("" when none)
    "kind",           # basic | dedicated (专属网格: school, hospital, market, park)
    "households",     # recounted from the assignments, never trusted from a file
    "buildings",      # number of buildings (a split tower counts in each of its grids)
    "flags",          # ";"-joined codes (gridgeo.partition.FLAGS and plan-level ones)
    "locked",         # bool: kept exactly when the community is re-divided
    "valid_from",     # tz-aware Asia/Shanghai timestamp the grid took effect
    "valid_to",       # NaT while the grid is current; set when a version retires it
)

#: Columns of ``PlanVersion.assignments``: one row per (building, grid).
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "building_id", "grid_id", "households", "units", "unit_range", "estimated",
)


@dataclass(frozen=True)
class PlanVersion:
    """One version of a district's grid plan.

    ``grids`` is a GeoDataFrame in EPSG:4326 indexed by ``grid_id`` with at least
    ``GRID_COLUMNS``; ``assignments`` has ``ASSIGNMENT_COLUMNS`` (a tower split by
    units appears once per grid with its ``unit_range``). ``version_id`` and
    ``parent`` are ``None`` until the store saves the version.
    """

    grids: gpd.GeoDataFrame
    assignments: pd.DataFrame
    rules: Rules = DEFAULT_RULES
    version_id: str | None = None
    parent: str | None = None
    name: str = ""
    author: str = ""
    note: str = ""
    created_at: pd.Timestamp | None = None
    #: free-form facts saved with the version (seed, source file, retired grid codes …)
    meta: dict[str, Any] = field(default_factory=dict)

    def evolve(self, **changes: Any) -> PlanVersion:
        """Return a copy with some fields changed (an edit makes a new, unsaved version)."""
        return replace(self, **changes)
