"""Plans: versions of a district's grids kept in a GeoPackage workspace, imported
grids, hand edits with live validation, stable grid codes.

``model`` defines what a version is; the store, imports, edits, codes and diffs
live in their own modules and re-export their public names here.
"""

from __future__ import annotations

from gridgeo.plans.codes import Coded, stabilize
from gridgeo.plans.model import ASSIGNMENT_COLUMNS, GRID_COLUMNS, PlanVersion
from gridgeo.plans.store import DEFAULT_WORKSPACE, Workspace

__all__ = ["ASSIGNMENT_COLUMNS", "GRID_COLUMNS", "PlanVersion", "Workspace", "DEFAULT_WORKSPACE", "Coded",
           "stabilize"]

# hand editing (plans.edit)
from gridgeo.plans.edit import EditCheck, EditSession, parse_units, plan_from_partition  # noqa: E402

__all__ += ["EditSession", "EditCheck", "parse_units", "plan_from_partition"]
