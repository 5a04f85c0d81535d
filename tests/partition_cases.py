"""Small hand-built districts for the partition tests, and invariant checks computed independently.

Geometry is drawn in metres in UTM 50N (Pingyin, Shandong) and handed over in
EPSG:4326 like every layer. The checks recompute every expected number from the
inputs (plain groupbys, shapely areas) rather than from the engine's own figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from gridgeo.partition import PartitionResult
from gridgeo.settings import DEFAULT_RULES, Rules

UTM = "EPSG:32650"
X0, Y0 = 450_000.0, 4_016_000.0  # near 116.45°E 36.29°N


@dataclass
class Bld:
    """A building drawn in local metres (x, y from the district origin)."""

    bid: str
    x: float
    y: float
    households: int
    units: int | None = None
    compound: str | None = None
    w: float = 12.0
    h: float = 30.0
    point: bool = False

    def geometry(self) -> shapely.Geometry:
        if self.point:
            return shapely.Point(X0 + self.x, Y0 + self.y)
        return box(X0 + self.x - self.w / 2, Y0 + self.y - self.h / 2, X0 + self.x + self.w / 2,
                   Y0 + self.y + self.h / 2)


@dataclass
class Com:
    """A community drawn in local metres."""

    cid: str
    geom: shapely.Geometry
    buildings: list[Bld] = field(default_factory=list)


def local_box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def local_line(*xy: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


def frames(coms: Sequence[Com], streets: Iterable[LineString] = ()) -> tuple[
        gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """Communities, buildings and streets as the io data model (EPSG:4326, id indexes)."""
    c = gpd.GeoDataFrame({"name": [f"社区{i}" for i, _ in enumerate(coms)], "street": "榆山街道",
                          "kind": "urban"}, geometry=[x.geom for x in coms], crs=UTM,
                         index=pd.Index([x.cid for x in coms], name="community_id")).to_crs(4326)
    rows = [(b, x.cid) for x in coms for b in x.buildings]
    b = gpd.GeoDataFrame({
        "households": pd.array([r[0].households for r in rows], dtype="Int64"),
        "units": pd.array([r[0].units for r in rows], dtype="Int64"),
        "compound_id": pd.array([r[0].compound for r in rows], dtype="string"),
        "community_id": [r[1] for r in rows],
    }, geometry=[r[0].geometry() for r in rows], crs=UTM,
        index=pd.Index([r[0].bid for r in rows], name="building_id")).to_crs(4326)
    lines = list(streets)
    s = (gpd.GeoDataFrame({"name": [f"路{i}" for i in range(len(lines))], "kind": "secondary"},
                          geometry=lines, crs=UTM).to_crs(4326) if lines else None)
    return c, b, s


def grid_of_buildings(prefix: str, x0: float, y0: float, nx: int, ny: int, dx: float, dy: float,
                      households: Sequence[int], **kw: object) -> list[Bld]:
    """nx × ny buildings on a regular grid of spacings dx, dy; households cycle through the list."""
    out = []
    for j in range(ny):
        for i in range(nx):
            n = j * nx + i
            out.append(Bld(f"{prefix}{n:03d}", x0 + i * dx, y0 + j * dy, int(households[n % len(households)]),
                           **kw))  # type: ignore[arg-type]
    return out


# ----------------------------------------------------------------------------- checks

def unit_households(households: int, units: int) -> list[int]:
    """Independent restatement of the documented rule: whole numbers, first units take the rest."""
    base, rest = divmod(households, units)
    return [base + (1 if i < rest else 0) for i in range(units)]


def parse_range(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def feasible(households: int, rules: Rules = DEFAULT_RULES) -> bool:
    """Whether some k has min·k ≤ H ≤ max·k, by brute force over k."""
    return any(rules.min_households * k <= households <= rules.max_households * k
               for k in range(1, households // max(rules.min_households, 1) + 2))


def check_invariants(res: PartitionResult, communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                     rules: Rules = DEFAULT_RULES, *, tiling_tol: float = 1e-6, require_within: bool = True) -> None:
    """Assert every invariant of the issue on ``res``; expected numbers come from the inputs.

    ``require_within``: every grid of a community whose total admits a grid count must be
    within bounds. Without it, such a community may instead be flagged ``bounds_not_met``
    (its buildings' units cannot be grouped within bounds), and then it must say so.
    """
    grids, asg, rep = res.grids, res.assignments, res.report
    # every household assigned exactly once, by whole households
    per_building = asg.groupby("building_id")["households"].sum()
    expected = buildings["households"].astype("int64")
    assert set(per_building.index) == set(expected.index)
    assert (per_building.reindex(expected.index) == expected).all()
    assert not asg.duplicated(["building_id", "grid_id"]).any()
    # grid households are the sum of their rows; every grid id is community + 3 digits
    per_grid = asg.groupby("grid_id")["households"].sum().reindex(grids.index).fillna(0).astype(int)
    assert (per_grid == grids["households"]).all()
    assert all(gid.startswith(cid) and len(gid) == len(cid) + 3 and gid[-3:].isdigit()
               for gid, cid in zip(grids.index, grids["community_id"], strict=True))
    # community totals and feasibility recomputed from the buildings; locked grids are not re-divided,
    # so feasibility concerns the households left once they are taken out
    hh = buildings.groupby("community_id")["households"].sum().astype(int)
    locked_ids = grids.index[grids["flags"].str.contains("locked")]
    locked_hh = (asg[asg["grid_id"].isin(locked_ids)].merge(grids[["community_id"]], left_on="grid_id",
                                                             right_index=True)
                 .groupby("community_id")["households"].sum())
    rest = {c: int(hh.get(c, 0)) - int(locked_hh.get(c, 0)) for c in communities.index}
    for cid in communities.index:
        assert rep.at[cid, "households"] == int(hh.get(cid, 0))
        assert bool(rep.at[cid, "feasible"]) == feasible(rest[cid], rules) or rest[cid] == 0
        if not rep.at[cid, "feasible"]:
            assert "infeasible_community" in rep.at[cid, "flags"]
    # within bounds wherever the household total allows it (or, when allowed, honestly flagged)
    feas = [c for c in communities.index if feasible(rest[c], rules)]
    # honest status: "ok" exactly when every grid of the community is within bounds
    for c in communities.index:
        mine = grids[grids["community_id"] == c]
        all_in = bool(mine["households"].between(rules.min_households, rules.max_households).all())
        if rep.at[c, "status"] == "ok":
            assert all_in, (c, mine["households"].tolist())
        if c in feas and all_in and rest[c] > 0:
            assert rep.at[c, "status"] == "ok", (c, rep.at[c, "status"])
    not_met = [c for c in feas if rep.at[c, "status"] in ("bounds_not_met", "search_gave_up")]
    if require_within:
        assert not not_met, rep.loc[not_met, ["households", "flags", "status"]]
    for c in not_met:
        word = rep.at[c, "status"]
        out = grids[(grids["community_id"] == c) & (grids["status"] != "within")]
        assert len(out) and out["flags"].str.contains(word).all()
        assert word in rep.at[c, "flags"]
        reason = "cannot be grouped into grids" if word == "bounds_not_met" else "the search gave up after"
        assert reason in rep.at[c, "explanation_en"], rep.at[c, "explanation_en"]
    feas = [c for c in feas if c not in not_met]
    inside = grids[grids["community_id"].isin(feas) & ~grids["flags"].str.contains("locked")]
    assert inside["households"].between(rules.min_households, rules.max_households).all(), \
        inside[["households", "flags"]]
    assert (inside["status"] == "within").all()
    # tiling, measured in metres
    m = grids.estimate_utm_crs()
    gm = grids.to_crs(m)
    cm = communities.to_crs(m)
    for cid, geom in cm.geometry.items():
        mine = gm[gm["community_id"] == cid].geometry
        area = geom.area
        assert abs(mine.area.sum() - area) <= tiling_tol * area, (cid, mine.area.sum(), area)
        union = shapely.union_all(mine.to_numpy())
        assert shapely.symmetric_difference(union, geom).area <= tiling_tol * area, cid
    # one polygon per grid, unless the community's separate parts forced a multi-part grid
    multi = grids[grids.geometry.geom_type != "Polygon"]
    assert multi["flags"].str.contains("multipart|locked").all(), multi[["flags"]]
    assert ((grids["polsby_popper"] > 0) & (grids["polsby_popper"] <= 1 + 1e-9)).all()
    assert ((grids["street_share"] >= 0) & (grids["street_share"] <= 1 + 1e-9)).all()
    pp = 4 * math.pi * gm.area / gm.length ** 2
    assert np.allclose(pp.to_numpy(), grids["polsby_popper"].to_numpy(), rtol=1e-6)
    # compounds whole unless above max, or split only because nothing else met the bounds
    comp = buildings.dropna(subset=["compound_id"])
    spans = asg.merge(comp[["compound_id"]], left_on="building_id", right_index=True)
    for c, rows in spans.groupby("compound_id"):
        size = int(comp.loc[comp["compound_id"] == c, "households"].sum())
        n = rows["grid_id"].nunique()
        if size <= rules.max_households and n > 1:
            flags = grids.loc[rows["grid_id"].unique(), "flags"]
            info = res.compounds.loc[res.compounds["compound_id"] == c].iloc[0]
            if info["flag"] == "compound_not_contiguous":   # its buildings do not touch
                assert flags.str.contains("compound_not_contiguous").all(), (c, size, n)
            else:
                assert flags.str.contains("compound_split").all(), (c, size, n)
                partly_locked = flags.str.contains("locked").any()
                assert info["forced"] or partly_locked, (c, "split although a plan keeping it whole was found")
    # splits only by whole units: each row holds exactly its units' households
    split = asg[asg["unit_range"] != ""]
    for b, rows in split.groupby("building_id"):
        total = int(buildings.at[b, "households"])
        given = buildings.at[b, "units"]
        n = int(given) if not pd.isna(given) else -(-total // rules.households_per_unit_estimate)
        n = min(n, total)
        per = unit_households(total, n)
        seen: list[int] = []
        for r in rows.itertuples():
            units = parse_range(r.unit_range)
            seen.extend(units)
            assert r.households == sum(per[u - 1] for u in units)
            assert r.units == len(units)
            assert bool(r.estimated) == bool(pd.isna(given))
        assert sorted(seen) == list(range(1, n + 1)), (b, sorted(seen))
    whole = asg[asg["unit_range"] == ""]
    assert not whole["building_id"].duplicated().any()


def same_result(a: PartitionResult, b: PartitionResult) -> bool:
    """Identical grids (ids, numbers, exact geometry) and identical assignments."""
    if not a.grids.index.equals(b.grids.index):
        return False
    cols = ["community_id", "households", "buildings", "status", "flags"]
    if not a.grids[cols].equals(b.grids[cols]):
        return False
    if not all(shapely.equals_exact(x, y, 0.0) for x, y in zip(a.grids.geometry, b.grids.geometry, strict=True)):
        return False
    return a.assignments.equals(b.assignments)


def multipart(*parts: Polygon) -> MultiPolygon:
    return MultiPolygon(list(parts))
