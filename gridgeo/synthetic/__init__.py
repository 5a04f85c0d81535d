"""Generate a seeded synthetic district modelled on Pingyin county's urban area.

Nothing here is real: the bundled demo data come from this module (no
OpenStreetMap or government data), so they can be shipped, regenerated and
scaled up for benchmarks. Geometry is laid out in metres on a local plane
centred on (116.445, 36.29) and returned in EPSG:4326 like every other layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gridgeo.errors import InputError
from gridgeo.synthetic._cases import CATEGORIES, CHANNELS, cases_for
from gridgeo.synthetic._layout import (_COMMUNITY_NAMES, _NUMERALS, _STREET_NAMES, _TYPE_CODES, CENTRE, COUNTY,
                                       METRIC, Rng, _community_polygon, _fill, _layout, _names, _phones,
                                       _subdivide, _targets, compounds, numbered, to_wgs84)
from gridgeo.synthetic._write import write_district, write_layers, write_staff

__all__ = ["SyntheticDistrict", "make_district", "write_district", "write_layers", "write_staff", "staff_grid_ids",
           "CATEGORIES", "CHANNELS", "CENTRE"]


@dataclass(frozen=True)
class SyntheticDistrict:
    """Every layer of a synthetic district, in the data model ``io`` returns."""

    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    staff: gpd.GeoDataFrame | None
    cases: gpd.GeoDataFrame | None
    seed: int
    scale: int


def make_district(*, seed: int = 0, scale: int = 1, with_cases: bool = True,
                  with_staff: bool = True) -> SyntheticDistrict:
    """Build a synthetic district: 19 communities and ~45,000 households per unit of ``scale``.

    The same ``seed`` and ``scale`` always give the same frames, so the bundled
    demo can be regenerated and checked, and benchmarks can grow the district
    (scale=10: 190 communities, ~450,000 households) without real data.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise InputError("scale must be a whole number ≥ 1", value=scale, code="err.synthetic.scale",
                         remedy="pass scale=1 for the demo size or e.g. scale=10 for a benchmark")
    rng = np.random.default_rng(seed)
    quads, edge_names, groups, arterials = _layout(rng, scale)
    n = len(groups)
    polys = [_community_polygon(quads, g) for g in groups]
    street_no = _street_of(polys, scale)
    street_names = numbered(list(_STREET_NAMES), 2 * scale, 2)
    codes, serial = [], [0] * (2 * scale)
    for i in range(n):  # groups are sorted north→south, west→east, so serials follow that order
        serial[street_no[i]] += 1
        codes.append(f"{COUNTY}{street_no[i] + 1:03d}{serial[street_no[i]]:03d}")
    # 翠屏社区 … then 翠屏二社区 …: unique within the district at any scale; cnames drop the 社区
    cnames = [c[:-2] for c in numbered([f"{c}社区" for c in _COMMUNITY_NAMES], n, 2)]
    targets = _targets(rng, n, scale, [i for i, g in enumerate(groups) if len(g) == 1])
    small = targets < 600  # the deliberately infeasible ones: old, low-rise neighbourhoods
    pool = ["old"] * max(0, round(.35 * n) - int(small.sum())) + ["new"] * round(.25 * n)
    eras = np.full(n, "old", dtype="<U5")
    eras[~small] = rng.permutation(pool + ["mixed"] * (int((~small).sum()) - len(pool)))

    roads = list(arterials)
    parts: list[dict[str, Any]] = []
    for i, g in enumerate(groups):
        blocks: list[dict[str, Any]] = []
        lane_no = [0]
        for b in g:
            bl, rd = _subdivide(rng, quads[b], edge_names[b], cnames[i], lane_no)
            blocks += bl
            roads += rd
        courts = int(eras[i] == "old") + int(eras[i] == "mixed" and rng.random() < .4)
        for part in _fill(rng, blocks, str(eras[i]), int(targets[i]), courts):
            part["community"] = np.full(len(part["households"]), i)
            parts.append(part)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "address"}
    is_court = cols["kind"] == _TYPE_CODES.index("courtyard")
    compound, bnames, titles = compounds(rng, parts, is_court, eras)
    origin = Transformer.from_crs(4326, METRIC, always_xy=True).transform(*CENTRE)
    buildings = _buildings(rng, cols, compound, bnames, np.array(codes), origin)
    communities = gpd.GeoDataFrame(
        {"name": [f"{c}社区" for c in cnames], "street": [street_names[s] for s in street_no], "kind": "urban"},
        geometry=to_wgs84(np.array(polys, dtype=object), origin).values, crs=4326,
        index=pd.Index(codes, name="community_id"))
    lines = np.array([shapely.LineString(r[2]) for r in roads], dtype=object)
    streets = gpd.GeoDataFrame({"name": [r[0] for r in roads], "kind": [r[1] for r in roads]},
                               geometry=to_wgs84(lines, origin).values, crs=4326)
    front = cols["centre"] - cols["normal"] * (cols["depth"] / 2 + 5)[:, None]  # 5 m off the south face
    stations = _stations(rng, cols, compound, titles, front, is_court, cnames, targets, origin)
    # own streams: the cases do not change when staff are left out, and vice versa
    staff = (_staff(np.random.default_rng([seed, 1]), cols, targets, origin, np.array(codes)) if with_staff
             else None)
    cases = (cases_for(np.random.default_rng([seed, 2]), scale, cols, compound, eras, is_court, origin)
             if with_cases else None)
    return SyntheticDistrict(communities, buildings, streets, stations, staff, cases, seed, scale)


def _street_of(polys: list[shapely.Geometry], scale: int) -> list[int]:
    """Assign communities to 2·scale streets (街道): bands north→south, each split west/east."""
    cx = np.array([shapely.centroid(p).x for p in polys])
    cy = np.array([shapely.centroid(p).y for p in polys])
    street = np.zeros(len(polys), dtype=int)
    for band, idx in enumerate(np.array_split(np.argsort(-cy, kind="stable"), scale)):
        west_first = idx[np.argsort(cx[idx], kind="stable")]
        half = (len(idx) + 1) // 2
        street[west_first[:half]] = 2 * band
        street[west_first[half:]] = 2 * band + 1
    return [int(s) for s in street]


def _buildings(rng: Rng, cols: dict[str, np.ndarray], compound: np.ndarray, names: list[str],
               codes: np.ndarray, origin: tuple[float, float]) -> gpd.GeoDataFrame:
    """Assemble the buildings layer; ~10% lack a unit count, as real building lists do."""
    nb = len(cols["households"])
    units = pd.array(cols["units"], dtype="Int64")
    big = (cols["kind"] == _TYPE_CODES.index("tower")) & (cols["households"] > 500)
    missing = rng.random(nb) < 0.10
    missing[big] = False
    missing[np.flatnonzero(big)[-1:]] = True  # one big tower without units: the engine must estimate
    units[missing] = pd.NA
    return gpd.GeoDataFrame({
        "households": pd.array(cols["households"], dtype="Int64"),
        "units": units,
        "floors": pd.array(cols["floors"], dtype="Int64"),
        "compound_id": pd.array([f"XQ{c + 1:04d}" if c >= 0 else pd.NA for c in compound], dtype="string"),
        "community_id": codes[cols["community"]].astype(object),
        "name": names,
    }, geometry=to_wgs84(shapely.polygons(cols["corners"]), origin).values, crs=4326,
        index=pd.Index([f"B{k + 1:06d}" for k in range(nb)], name="building_id"))


def _stations(rng: Rng, cols: dict[str, np.ndarray], compound: np.ndarray, titles: dict[int, str],
              front: np.ndarray, is_court: np.ndarray, cnames: list[str], targets: np.ndarray,
              origin: tuple[float, float]) -> gpd.GeoDataFrame:
    """One party-mass centre per community, doorstep stations, posts in large compounds."""
    rows: list[tuple[str, str, int]] = []
    community = cols["community"]
    hh = cols["households"].astype(float)
    for i, name in enumerate(cnames):
        mine = np.flatnonzero((community == i) & ~is_court)
        if len(mine) == 0:
            mine = np.flatnonzero(community == i)
        mid = front[mine].mean(axis=0)
        rows.append((f"{name}社区党群服务中心", "party_mass_centre",
                     int(mine[np.argmin(np.linalg.norm(front[mine] - mid, axis=1))])))
        n_door = int(np.clip(round(targets[i] / 1100), 1, 3))
        for k, b in enumerate(rng.choice(mine, size=min(n_door, len(mine)), replace=False,
                                         p=hh[mine] / hh[mine].sum())):
            rows.append((f"{name}社区第{_NUMERALS[k]}家门口服务站", "doorstep_station", int(b)))
    sizes = pd.Series(hh[compound >= 0]).groupby(compound[compound >= 0]).sum()
    for c in sizes.index[sizes.to_numpy() >= 500]:
        if rng.random() < 0.6:
            b = int(rng.choice(np.flatnonzero(compound == c)))
            rows.append((f"{titles[int(c)]}驿站", "compound_post", b))
    pts = shapely.points(front[[r[2] for r in rows]])
    return gpd.GeoDataFrame({"name": [r[0] for r in rows], "kind": [r[1] for r in rows]},
                            geometry=to_wgs84(pts, origin).values, crs=4326,
                            index=pd.Index([f"ST{k + 1:03d}" for k in range(len(rows))], name="station_id"))


def _staff(rng: Rng, cols: dict[str, np.ndarray], targets: np.ndarray,
           origin: tuple[float, float], codes: np.ndarray) -> gpd.GeoDataFrame:
    """Per expected grid: 1 leader + 2 full-time workers, sometimes a part-time third; a few instructors.

    Each person's ``crew`` (community code, and the number of the expected grid in
    it; -1 for instructors, who serve the community) is kept so that
    :func:`staff_grid_ids` can give them the current grid of a plan; ``grid_id``
    stays empty here (the grids come from the engine, which this module cannot run).
    """
    roles, employment, home_of, crew_no = [], [], [], []
    instructed = set(rng.choice(len(targets), size=max(1, round(.3 * len(targets))), replace=False).tolist())
    for i, total in enumerate(targets):
        grids = max(1, round(int(total) / 400))
        crew: list[tuple[str, str, int]] = []
        for j in range(grids):
            crew.append(("leader", "full_time" if rng.random() < 0.8 else "part_time", j))
            crew += [("worker", "full_time", j)] * 2
            if rng.random() < 0.15:  # courier, rider or volunteer with a part-time letter
                crew.append(("worker", "part_time", j))
        if i in instructed:  # a police or community instructor (1+N+1)
            crew.append(("instructor", "part_time", -1))
        for role, emp, j in crew:
            roles.append(role)
            employment.append(emp)
            home_of.append(i)
            crew_no.append(j)
    n = len(roles)
    community, households, centre = cols["community"], cols["households"].astype(float), cols["centre"]
    home_of_a = np.array(home_of)
    xy = np.empty((n, 2))
    far = rng.random(n) < 0.12
    for k in range(n):
        pool = np.flatnonzero(community == home_of_a[k]) if not far[k] else np.arange(len(community))
        b = rng.choice(pool, p=households[pool] / households[pool].sum())
        xy[k] = centre[b] + rng.normal(0, 150 if not far[k] else 300, 2)
    geom = to_wgs84(shapely.points(xy), origin).values
    geom[rng.random(n) < 0.03] = None  # home address not on file
    return gpd.GeoDataFrame({"name": _names(rng, n), "role": roles, "employment": employment,
                             "phone": _phones(rng, n), "grid_id": pd.array([pd.NA] * n, dtype="string"),
                             "crew_community": codes[home_of_a], "crew": np.array(crew_no, dtype=int)},
                            geometry=geom, crs=4326, index=pd.Index([f"S{k + 1:04d}" for k in range(n)],
                                                                     name="staff_id"))



def staff_grid_ids(staff: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> pd.Series:
    """The current ``grid_id`` of each generated person on a plan's ``grids`` (deterministic).

    The k-th crew of a community (a leader, two workers, sometimes a part-timer)
    serves the community's k-th grid in code order (codes run west→east,
    north→south); crews beyond the plan's grid count wait without a grid, and
    instructors serve the community, not a grid (""). A roster "as the city
    keeps it": mostly complete, with the gaps a redrawn plan leaves.
    """
    codes = grids.index.astype(str)
    community = (grids["community_id"].astype(str) if "community_id" in grids.columns
                 else pd.Series([c[:12] for c in codes], index=grids.index))
    by_community: dict[str, list[str]] = {}
    for code, cid in sorted(zip(codes, community.astype(str))):
        by_community.setdefault(cid, []).append(code)
    out = []
    for cid, k in zip(staff["crew_community"].astype(str), staff["crew"].astype(int)):
        mine = by_community.get(cid, [])
        out.append(mine[k] if 0 <= k < len(mine) else "")
    return pd.Series(out, index=staff.index, name="grid_id", dtype=object)
