"""Divide communities into grids of 300–500 households (网格划分): the core of gridgeo.

``partition`` (or the spopt-style ``Partitioner``) returns a ``PartitionResult``;
``build_units`` exposes the atoms and adjacency graph the search runs on, so
other region builders can be benchmarked on exactly the same input. ``warm``
loads the compiled search ahead of the first partition (the CLI does, before it reads).
"""

from __future__ import annotations

from gridgeo.partition.community import FLAGS, solve_cells
from gridgeo.partition.feasibility import nearest_choice
from gridgeo.partition.engine import Partitioner, partition
from gridgeo.partition.result import Locked, PartitionResult, metrics
from gridgeo.partition.search import SearchParams
from gridgeo.partition.units import Units, build_units
from gridgeo.partition._kernels import warm

__all__ = ["partition", "Partitioner", "PartitionResult", "Locked", "build_units", "Units", "metrics",
           "nearest_choice", "FLAGS", "SearchParams", "solve_cells", "warm"]
