"""Compare two plan versions: grids added, retired and changed, buildings moved with their households.

Grids are compared by code (``grid_id``): stable codes (``plans.codes``) make a
code that survives a revision the same ground, so "changed" means the same code
now holds other households or another outline.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from gridgeo.plans.model import PlanVersion

__all__ = ["PlanDiff", "diff", "GRID_STATUSES"]

#: Status of each grid code in a comparison, in display order.
GRID_STATUSES = ("added", "retired", "changed", "unchanged")


@dataclass(frozen=True)
class PlanDiff:
    """What changed from version ``a`` to version ``b``.

    Attributes
    ----------
    grids
        GeoDataFrame indexed by ``grid_id`` (every code of either version):
        ``status`` (added/retired/changed/unchanged), ``community_id``,
        ``households_a``, ``households_b``, ``buildings_a``, ``buildings_b``,
        ``delta`` (b − a), ``outline_changed``; geometry from b (from a when retired).
    moved
        One row per building (or unit range) that changed grid: ``building_id``,
        ``from_grid``, ``to_grid``, ``households``, ``unit_range_a``, ``unit_range_b``;
        ``from_grid`` is "" for a building new in b, ``to_grid`` "" for one dropped.
    """

    a: str
    b: str
    grids: gpd.GeoDataFrame
    moved: pd.DataFrame

    def summary(self) -> dict[str, int]:
        """Counts: grids per status, buildings moved and their households."""
        counts = self.grids["status"].value_counts()
        out = {s: int(counts.get(s, 0)) for s in GRID_STATUSES}
        out["buildings_moved"] = int(self.moved["building_id"].nunique())
        out["households_moved"] = int(self.moved["households"].sum())
        return out


def _per_building(assignments: pd.DataFrame) -> dict[str, dict[str, tuple[int, str]]]:
    out: dict[str, dict[str, tuple[int, str]]] = {}
    for b, g, h, ur in zip(assignments["building_id"].astype(str), assignments["grid_id"].astype(str),
                           assignments["households"].astype("int64"),
                           assignments.get("unit_range", pd.Series("", index=assignments.index)).fillna("")
                           .astype(str), strict=True):
        prev = out.setdefault(b, {}).get(g, (0, ""))
        out[b][g] = (prev[0] + int(h), ",".join(x for x in (prev[1], ur) if x))
    return out


def diff(a: PlanVersion, b: PlanVersion, *, a_label: str | None = None, b_label: str | None = None) -> PlanDiff:
    """Compare version ``a`` (before) with ``b`` (after)."""
    ga, gb = a.grids, b.grids
    pa, pb = _per_building(a.assignments), _per_building(b.assignments)
    moved: list[dict[str, object]] = []
    for bid in sorted(set(pa) | set(pb)):
        before, after = pa.get(bid, {}), pb.get(bid, {})
        if {g: h for g, (h, _) in before.items()} == {g: h for g, (h, _) in after.items()}:
            continue
        losses = [(g, before[g][0] - after.get(g, (0, ""))[0]) for g in before
                  if before[g][0] > after.get(g, (0, ""))[0]]
        gains = [(g, after[g][0] - before.get(g, (0, ""))[0]) for g in after
                 if after[g][0] > before.get(g, (0, ""))[0]]
        lost = [amount for _, amount in losses]
        got = [amount for _, amount in gains]
        i = j = 0
        pairs: list[tuple[str, str, int]] = []
        while i < len(losses) and j < len(gains):
            amount = min(lost[i], got[j])
            pairs.append((str(losses[i][0]), str(gains[j][0]), int(amount)))
            lost[i] -= amount
            got[j] -= amount
            i += lost[i] == 0
            j += got[j] == 0
        pairs += [(str(losses[k][0]), "", int(lost[k])) for k in range(i, len(losses)) if lost[k] > 0]
        pairs += [("", str(gains[k][0]), int(got[k])) for k in range(j, len(gains)) if got[k] > 0]
        for src, dst, amount in pairs:
            moved.append({"building_id": bid, "from_grid": src, "to_grid": dst, "households": amount,
                          "unit_range_a": before.get(src, (0, ""))[1], "unit_range_b": after.get(dst, (0, ""))[1]})
    moved_df = pd.DataFrame(moved, columns=["building_id", "from_grid", "to_grid", "households", "unit_range_a",
                                            "unit_range_b"])
    moved_df["households"] = moved_df["households"].astype("int64")

    hh_a = a.assignments.groupby("grid_id")["households"].sum()
    hh_b = b.assignments.groupby("grid_id")["households"].sum()
    n_a = a.assignments.groupby("grid_id")["building_id"].nunique()
    n_b = b.assignments.groupby("grid_id")["building_id"].nunique()
    touched = set(moved_df["from_grid"]) | set(moved_df["to_grid"])
    codes = list(gb.index.astype(str)) + [c for c in ga.index.astype(str) if c not in set(gb.index.astype(str))]
    rows = []
    geoms = []
    for code in codes:
        in_a, in_b = code in ga.index, code in gb.index
        outline = bool(in_a and in_b and not ga.geometry[code].equals_exact(gb.geometry[code], 1e-9))
        if in_a and in_b:
            status = "changed" if outline or code in touched else "unchanged"
        else:
            status = "added" if in_b else "retired"
        src = gb if in_b else ga
        rows.append({"grid_id": code, "status": status, "community_id": str(src.at[code, "community_id"]),
                     "households_a": int(hh_a.get(code, 0)) if in_a else 0,
                     "households_b": int(hh_b.get(code, 0)) if in_b else 0,
                     "buildings_a": int(n_a.get(code, 0)) if in_a else 0,
                     "buildings_b": int(n_b.get(code, 0)) if in_b else 0, "outline_changed": outline})
        geoms.append(src.geometry[code])
    frame = pd.DataFrame(rows, columns=["grid_id", "status", "community_id", "households_a", "households_b",
                                        "buildings_a", "buildings_b", "outline_changed"])
    frame["delta"] = frame["households_b"] - frame["households_a"]
    grids = gpd.GeoDataFrame(frame, geometry=geoms, crs=4326).set_index("grid_id")
    return PlanDiff(a=a_label or a.version_id or "a", b=b_label or b.version_id or "b", grids=grids,
                    moved=moved_df)
