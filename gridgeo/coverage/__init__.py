"""Service-station coverage: walking distance along streets, households within reach, new sites.

``network`` builds the walking graph, ``measure`` finds the nearest station of
each kind per building and sums households within reach per grid, community
and district, ``siting`` solves the maximal covering location problem and
prices the closing of a station, ``stations`` checks a stations file.
"""

from __future__ import annotations

from gridgeo.coverage.measure import (ANY, KINDS, Method, StationAccess, coverage_by_community, coverage_by_grid,
                                      coverage_of_district, coverage_table, for_kind, parse_reaches, reach_columns,
                                      station_access,
                                      uncovered_first)
from gridgeo.coverage.network import SNAP_DANGLES_M, WalkingNetwork, build_network
from gridgeo.coverage.siting import (RemovalImpact, SitingResult, cover_matrix, plan_sites, removal_impact,
                                     solve_mclp)
from gridgeo.coverage.stations import OUTSIDE_TOLERANCE_M, check_stations, read_candidates, read_stations
from gridgeo.coverage.tables import buildings_frame, grids_frame, sites_geojson

__all__ = [
    "ANY", "KINDS", "Method", "StationAccess", "station_access", "coverage_table", "coverage_by_grid",
    "coverage_by_community", "coverage_of_district", "uncovered_first", "reach_columns", "parse_reaches", "for_kind",
    "WalkingNetwork", "build_network", "SNAP_DANGLES_M",
    "SitingResult", "plan_sites", "solve_mclp", "RemovalImpact", "removal_impact", "cover_matrix",
    "OUTSIDE_TOLERANCE_M", "check_stations", "read_stations", "read_candidates",
    "buildings_frame", "grids_frame", "sites_geojson",
]
