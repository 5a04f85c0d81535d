"""Grid staff: the roster, staffing rules, optimal assignment, per-grid checks, manual edits.

Every grid needs 1 grid leader (网格长) and 2–3 full- or part-time grid workers
(专兼职网格员) by default (domain.md, Grid staff); presets cover Pingyin and
Heze. Grids come from anywhere (a plan or a city's grids file) with their
households (``gridgeo.grids.grid_households``).

>>> roster = read_roster("staff.csv", grids)
>>> result = assign_staff(roster, grids, grid_households(grids, buildings), rules=preset("default"))
>>> result.grids        # per grid: leaders, workers, households per worker, flags
>>> result.solver       # status "optimal", gap 0
"""

from __future__ import annotations

from gridgeo.staffing.assign import (MEMBER_COLUMNS, REASONS, StaffingResult, assign_staff, check_staff,
                                     edit_staff, evaluate)
from gridgeo.staffing.checks import FLAGS, STATUS_ORDER, district_summary, grid_staffing, open_cases_per_grid
from gridgeo.staffing.roster import (Roster, check_roster, mask_phone, mask_phones, read_roster,
                                     roster_from_frame, split_grid_ids)
from gridgeo.staffing.rules import DEFAULT_STAFFING, PRESETS, GridRule, RoleRule, StaffingRules, preset
from gridgeo.staffing.solve import Plan, SolverReport, home_distances, objective_key, solve_assignment
from gridgeo.staffing.tables import (ASSIGNMENT_COLUMNS, GRID_COLUMNS, PLAN_TABLE_COLUMNS, PLAN_TABLE_VERSION,
                                     assignments_table, grid_staffing_csv, grid_table, roster_frame, roster_table,
                                     roster_with_staffing, roster_xlsx, staff_assignments_csv, staffing_from_table,
                                     staffing_to_table)

__all__ = [
    "MEMBER_COLUMNS", "REASONS", "StaffingResult", "assign_staff", "check_staff", "edit_staff", "evaluate",
    "FLAGS", "STATUS_ORDER", "district_summary", "grid_staffing", "open_cases_per_grid",
    "Roster", "check_roster", "mask_phone", "mask_phones", "read_roster", "roster_from_frame", "split_grid_ids",
    "DEFAULT_STAFFING", "PRESETS", "GridRule", "RoleRule", "StaffingRules", "preset",
    "Plan", "SolverReport", "home_distances", "objective_key", "solve_assignment",
    "ASSIGNMENT_COLUMNS", "GRID_COLUMNS", "PLAN_TABLE_COLUMNS", "PLAN_TABLE_VERSION", "assignments_table",
    "grid_table", "roster_frame", "roster_table", "roster_with_staffing", "roster_xlsx", "staffing_from_table",
    "staffing_to_table", "grid_staffing_csv", "staff_assignments_csv",
]
