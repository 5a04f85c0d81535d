"""What a partition returns: grids, building assignments, a per-community report, metrics."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.settings import DEFAULT_RULES, Rules

__all__ = ["PartitionResult", "Locked", "metrics"]


@dataclass(frozen=True)
class Locked:
    """Grids a planner has fixed: kept exactly (id, geometry, buildings) on the next run.

    Attributes
    ----------
    grids
        GeoDataFrame (EPSG:4326) indexed by ``grid_id`` with ``community_id`` and a
        Polygon geometry, e.g. rows of a previous ``PartitionResult.grids``.
    assignments
        Their rows of a previous ``PartitionResult.assignments`` (``building_id``,
        ``grid_id``, ``households``, ``units``, ``unit_range``, ``estimated``): which
        buildings, or which units of a split building, each locked grid holds. When
        None, a locked grid holds the whole buildings whose representative point
        lies inside it.
    """

    grids: gpd.GeoDataFrame
    assignments: pd.DataFrame | None = None


@dataclass(frozen=True)
class PartitionResult:
    """A district divided into grids.

    Attributes
    ----------
    grids
        GeoDataFrame (EPSG:4326) indexed by ``grid_id`` (community code + 3-digit serial in
        reading order): ``community_id``, ``households``, ``buildings`` (count),
        ``polsby_popper`` (4πA/P², metric CRS), ``street_share`` (share of the boundary on a
        street or the community edge), ``status`` (within/under/over), ``flags`` (";"-joined
        codes, see ``gridgeo.partition.FLAGS``), ``area_m2``, ``perimeter_m``, geometry.
    assignments
        One row per (building, grid): ``building_id``, ``grid_id``, ``households``, ``units``
        (units of the building in this grid; the building's unit count when whole, <NA> if
        unknown), ``unit_range`` ("1-3", "" when the whole building), ``estimated``.
    report
        Indexed by ``community_id``: ``households``, ``grids``, ``k_min`` = ⌈H/max⌉,
        ``k_max`` = ⌊H/min⌋, ``feasible`` (k_min ≤ k_max: arithmetic only), ``status`` (``ok`` only
        when every grid is within bounds; else ``infeasible``, ``bounds_not_met``, ``search_gave_up``,
        ``locked_out_of_bounds``, or ``empty``), ``nearest_k``, ``grid_min``,
        ``grid_max``, ``flags``, ``explanation_zh``, ``explanation_en``.
    compounds
        One row per compound: ``community_id``, ``compound_id``, ``households``, ``grids``
        (how many grids it spans), ``needed`` (fewest grids its buildings/units fit in), ``flag``
        (compound_over_max, compound_split, compound_not_contiguous or ""), ``forced`` (split only
        because no plan within bounds kept it whole).
    """

    grids: gpd.GeoDataFrame
    assignments: pd.DataFrame
    report: pd.DataFrame
    compounds: pd.DataFrame
    seconds: float
    rules: Rules = DEFAULT_RULES
    seed: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        """Return the quality figures of this plan (see :func:`metrics`)."""
        return metrics(self.grids, self.report, self.compounds, seconds=self.seconds)

    def lock(self, grid_ids: Iterable[str]) -> Locked:
        """Return these grids and their assignment rows, to keep them on a re-run."""
        ids = list(grid_ids)
        missing = [g for g in ids if g not in self.grids.index]
        if missing:
            from gridgeo.errors import InputError
            raise InputError(f"unknown grid id(s) {', '.join(missing[:10])}", code="err.partition.input",
                             remedy="pick ids from the grids of this plan")
        grids = self.grids.loc[ids, ["community_id", "geometry"]].copy()
        rows = self.assignments[self.assignments["grid_id"].isin(ids)].copy()
        return Locked(grids=grids, assignments=rows)


def metrics(grids: gpd.GeoDataFrame, report: pd.DataFrame, compounds: pd.DataFrame | None = None, *,
            seconds: float = float("nan")) -> dict[str, float]:
    """Summarise a plan in the figures the issue sets targets for.

    Returns
    -------
    ``share_within_feasible`` (grids within bounds among communities whose total admits
    a grid count), ``n_within``/``share_within`` (grids within bounds among all grids, the
    figure a page shows beside the warning on out-of-bounds grids), ``contiguous_share`` (single-Polygon grids), ``pp_mean``/``pp_p10``
    (Polsby–Popper), ``street_share`` (boundary length on streets or community edges over
    all boundary length), ``compounds_split_unnecessarily`` (compounds spanning more grids
    than their buildings/units need, excluding those split because no plan existed otherwise
    and those whose buildings do not touch),
    ``compounds_split_for_feasibility``, ``n_grids``, ``seconds``.
    """
    feasible_ids = report.index[report["feasible"].astype(bool)]
    in_feasible = grids[grids["community_id"].isin(feasible_ids)]
    within = float((in_feasible["status"] == "within").mean()) if len(in_feasible) else float("nan")
    n_within = int((grids["status"] == "within").sum())
    contiguous = float((grids.geometry.geom_type == "Polygon").mean()) if len(grids) else float("nan")
    pp = grids["polsby_popper"].to_numpy(dtype=float)
    perim = grids["perimeter_m"].to_numpy(dtype=float) if "perimeter_m" in grids else np.ones(len(grids))
    share = grids["street_share"].to_numpy(dtype=float)
    street = float((share * perim).sum() / perim.sum()) if perim.sum() > 0 else float("nan")
    unnecessary = forced = 0
    if compounds is not None and len(compounds):
        extra = compounds["grids"] > compounds["needed"]
        forced_mask = compounds["forced"].astype(bool)
        apart = compounds["flag"] == "compound_not_contiguous"
        forced = int((extra & forced_mask).sum())
        unnecessary = int((extra & ~forced_mask & ~apart).sum())
    return {
        "share_within_feasible": within,
        "n_within": n_within,
        "share_within": n_within / len(grids) if len(grids) else float("nan"),
        "contiguous_share": contiguous,
        "pp_mean": float(pp.mean()) if len(pp) else float("nan"),
        "pp_p10": float(np.percentile(pp, 10)) if len(pp) else float("nan"),
        "street_share": street,
        "compounds_split_unnecessarily": unnecessary,
        "compounds_split_for_feasibility": forced,
        "n_grids": int(len(grids)),
        "seconds": float(seconds),
    }
