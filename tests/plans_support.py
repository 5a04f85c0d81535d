"""Shared inputs of the plans tests: a small real district (3 demo communities) and its plan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import lru_cache
from typing import Any
from pathlib import Path

from gridgeo import io
from gridgeo.partition import PartitionResult, partition
from gridgeo.plans.model import PlanVersion

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
#: three neighbouring demo communities: small enough for fast tests, with split towers and compounds
COMMUNITIES = ["370124001001", "370124001002", "370124001003"]


@lru_cache(maxsize=1)
def small_district() -> io.District:
    """The demo district cut to ``COMMUNITIES`` (buildings, streets and stations inside them)."""
    d = io.read_district(DEMO)
    communities = d.communities.loc[COMMUNITIES]
    buildings = d.buildings[d.buildings["community_id"].isin(COMMUNITIES)]
    area = communities.union_all()
    streets = d.streets[d.streets.intersects(area)] if d.streets is not None else None
    stations = d.stations[d.stations.within(area)] if d.stations is not None else None
    return replace(d, communities=communities, buildings=buildings, streets=streets, stations=stations,
                   staff=None, cases=None, name="test district")


@lru_cache(maxsize=4)
def small_partition(seed: int = 0) -> PartitionResult:
    """The engine's plan of the small district."""
    d = small_district()
    return partition(d.communities, d.buildings, d.streets, seed=seed, workers=1)


def small_plan(seed: int = 0) -> PlanVersion:
    """That plan as an unsaved version."""
    r = small_partition(seed)
    return PlanVersion(grids=r.grids, assignments=r.assignments, rules=r.rules, meta={"seed": seed})


def failing_after(rows: Callable[..., Iterator[Any]], n: int,
                  error: BaseException | None = None) -> Callable[..., Iterator[Any]]:
    """``rows`` (a store row generator) that raises ``error`` at its ``n``-th row.

    Patched into ``gridgeo.plans.store`` it makes a save fail mid-write, as a full
    disk (the default ``OSError("disk full (injected)")``) or a Ctrl-C would.
    """
    def failing(*args: Any) -> Iterator[Any]:
        for i, row in enumerate(rows(*args)):
            if i == n:
                raise error if error is not None else OSError("disk full (injected)")
            yield row
    return failing


def count_rows(path: Path, table: str) -> int:
    """Rows of one table of a store file, read with plain sqlite3 (not through the code under test)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
