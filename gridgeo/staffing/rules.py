"""Staffing rules as data: which roles a grid needs, how many, and when to warn.

Jinan (domain.md, Grid staff): every grid has 1 grid leader and 2–3 full- or
part-time grid workers. Pingyin gives every grid 2 full-time workers; Heze's
"1+N+1" adds a third role (a grid instructor). Dedicated grids (专属网格) may
follow another rule than basic grids. Every number here is a default to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from gridgeo.errors import InputError

__all__ = ["RoleRule", "GridRule", "StaffingRules", "PRESETS", "DEFAULT_STAFFING", "preset"]


@dataclass(frozen=True)
class RoleRule:
    """How many people of one role a grid needs.

    ``part_time_counts=False`` means part-timers of this role do not fill the
    rule's places (Pingyin: 2 *full-time* workers); they are then left
    unassigned and listed, never silently counted.
    """

    role: str
    min_count: int
    max_count: int
    part_time_counts: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.min_count <= self.max_count:
            raise InputError(f"role {self.role!r} needs 0 ≤ min ≤ max",
                             value=f"{self.min_count}–{self.max_count}", code="err.staffing.bad_rule",
                             remedy="give a minimum no larger than the maximum", role=self.role)

    def counts(self, employment: str) -> bool:
        """Whether a person with this ``employment`` fills one of this role's places."""
        return self.part_time_counts or employment != "part_time"


@dataclass(frozen=True)
class GridRule:
    """The roles one kind of grid needs."""

    roles: tuple[RoleRule, ...]

    def role(self, name: str) -> RoleRule | None:
        """Return the rule for role ``name`` (None if this grid has no place for it)."""
        return next((r for r in self.roles if r.role == name), None)

    def describe(self) -> str:
        """Short text such as ``leader 1, worker 2–3``."""
        parts = []
        for r in self.roles:
            n = f"{r.min_count}" if r.min_count == r.max_count else f"{r.min_count}–{r.max_count}"
            parts.append(f"{r.role} {n}" + ("" if r.part_time_counts else " (full-time)"))
        return ", ".join(parts)


@dataclass(frozen=True)
class StaffingRules:
    """The staffing rule of a district: per grid kind, plus warning thresholds."""

    name: str
    basic: GridRule
    #: 专属网格 (schools, hospitals, markets, parks): often staffed partly by the unit itself
    dedicated: GridRule
    #: 400 households / 2 workers (domain.md: 300–500 households, 2–3 workers)
    max_households_per_worker: int = 200
    #: a worker living farther than this from the grid is flagged (walking/cycling reach)
    max_distance_m: float = 2000.0
    #: how many grids one part-time person may serve (couriers, sunk-down officials)
    part_time_max_grids: int = 1
    #: roles counted as "workers" for households and cases per worker
    worker_roles: tuple[str, ...] = field(default=("worker",))

    def __post_init__(self) -> None:
        if self.part_time_max_grids < 1:
            raise InputError("part-time people must be allowed at least 1 grid",
                             value=self.part_time_max_grids, code="err.staffing.bad_rule",
                             remedy="use 1 (one grid each) or 2", role="part_time")

    def for_kind(self, kind: str) -> GridRule:
        """The rule of a grid of ``kind`` (basic | dedicated)."""
        return self.dedicated if kind == "dedicated" else self.basic

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role either grid kind has a place for, in rule order."""
        seen: list[str] = []
        for r in (*self.basic.roles, *self.dedicated.roles):
            if r.role not in seen:
                seen.append(r.role)
        return tuple(seen)

    def evolve(self, **changes: Any) -> StaffingRules:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)


_LEADER = RoleRule("leader", 1, 1)

DEFAULT_STAFFING = StaffingRules(
    name="default",
    # Jinan implementation opinion (seeds/002): 1 grid leader + 2–3 full- or part-time workers
    basic=GridRule((_LEADER, RoleRule("worker", 2, 3))),
    # our assumption: a dedicated grid is small and its unit helps, so 1–2 workers
    dedicated=GridRule((_LEADER, RoleRule("worker", 1, 2))),
)

PRESETS: dict[str, StaffingRules] = {
    "default": DEFAULT_STAFFING,
    # Pingyin (seeds/003): every grid has 2 full-time grid workers
    "pingyin": StaffingRules(
        name="pingyin",
        basic=GridRule((_LEADER, RoleRule("worker", 2, 2, part_time_counts=False))),
        dedicated=GridRule((_LEADER, RoleRule("worker", 2, 2, part_time_counts=False))),
    ),
    # Heze (seeds/000) "1+N+1": a leader, N workers, and one grid instructor
    "heze": StaffingRules(
        name="heze",
        basic=GridRule((_LEADER, RoleRule("worker", 1, 3), RoleRule("instructor", 1, 1))),
        dedicated=GridRule((_LEADER, RoleRule("worker", 1, 2), RoleRule("instructor", 1, 1))),
    ),
}


def preset(name: str) -> StaffingRules:
    """Return the preset ``name`` (default, pingyin, heze) or say which exist."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown staffing rule {name!r}", value=name, code="err.staffing.unknown_rule",
                         remedy=f"use one of: {', '.join(PRESETS)}", choices=", ".join(PRESETS)) from None
