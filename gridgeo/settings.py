"""Domain defaults in one place, each with its source in ``shared/domain.md``.

Values are passed explicitly (``rules=Rules(...)``), never read from mutable
module globals, so cached calls and tests see the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

#: Rough bounding box of China (lon_min, lat_min, lon_max, lat_max); points outside
#: it are almost always swapped lon/lat or a wrong CRS (style.md §12).
CHINA_BOUNDS: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)


@dataclass(frozen=True)
class Rules:
    """Grid-planning rules; every number is configurable."""

    # Jinan implementation opinion (seeds/002): one urban grid per 300–500 households.
    min_households: int = 300
    max_households: int = 500
    target_households: int = 400
    # domain.md "Grid sizing": an entrance (单元) holds about 100 households at most
    # (33 storeys x 2–4 flats = 66–132); used when a building list lacks units.
    households_per_unit_estimate: int = 100
    # Jinan (seeds/002): 1 grid leader + 2–3 full/part-time grid workers per grid.
    leaders_per_grid: int = 1
    min_workers_per_grid: int = 2
    max_workers_per_grid: int = 3
    # GB 50180-2018 walking life circles, metres (5/10/15 minutes).
    walking_reach_m: tuple[int, ...] = field(default=(300, 500, 1000))
    # A geometry repair that changes area by more than this share is rejected.
    max_repair_area_change: float = 0.01
    # Buildings within this distance (m) of a community edge snap into it.
    snap_tolerance_m: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.min_households <= self.target_households <= self.max_households:
            raise ValueError(
                "household bounds must satisfy 0 < min ≤ target ≤ max, got "
                f"min={self.min_households}, target={self.target_households}, "
                f"max={self.max_households}"
            )

    def feasible_grid_counts(self, households: int) -> range:
        """Return every grid count k with min·k ≤ households ≤ max·k (empty if none).

        Feasibility is arithmetic before it is search: 550 households admit no k
        (one grid of 550 > 500, two of 275 < 300).
        """
        k_min = -(-households // self.max_households)  # ceil
        k_max = households // self.min_households
        return range(max(k_min, 1), k_max + 1)

    def with_bounds(self, **changes: Any) -> Rules:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)


DEFAULT_RULES = Rules()
