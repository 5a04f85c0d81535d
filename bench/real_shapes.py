"""Districts shaped like real compound data: lattice points per compound, big communities.

Modelled on what a street office's building list looks like (issue #14): each
compound (小区) is a rectangle of buildings laid on a lattice (one point, or a
small footprint, per building), compounds of a few hundred up to 9,000
households in up to ~34 buildings, towers of up to 950 households with no unit
count, and about a quarter of all buildings non-residential (households 0: schools,
shops, offices). Communities hold 1,000–45,000 households (the big ones need
100+ grids in one piece). Compounds are packed in rows (shelves) inside each
community's rectangle; optional streets run between the rows.

Used by ``bench/run.py`` (case "real-shaped") and by the large-community tests.
Nothing here is real data; everything is seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

UTM = "EPSG:32650"
X0, Y0 = 450_000.0, 4_016_000.0
USES = ("学校", "医院", "市场", "办公", "其他")

__all__ = ["RealShaped", "real_district", "community_sizes"]


@dataclass(frozen=True)
class RealShaped:
    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame | None


def _compound_sizes(rng: np.random.Generator, total: int, max_compound: int) -> list[int]:
    """Compound household totals summing to ``total``: log-uniform 150…max_compound."""
    out: list[int] = []
    left = total
    while left > 0:
        h = int(math.exp(rng.uniform(math.log(150), math.log(max_compound))))
        h = min(h, left)
        if left - h < 60:   # no crumbs: the last compound takes the rest
            h = left
        out.append(h)
        left -= h
    return out


def _buildings_for(rng: np.random.Generator, h: int) -> list[int]:
    """Households per residential building of a compound of ``h`` (mean ~265, towers ≤ 950)."""
    n = max(1, round(h / rng.uniform(180, 350)))
    shares = rng.gamma(2.0, 1.0, n)
    hh = np.floor(shares / shares.sum() * h).astype(int)
    hh[: h - int(hh.sum())] += 1
    # cap at 950 (a big tower) by spilling to the smallest buildings
    while hh.max() > 950:
        i, j = int(np.argmax(hh)), int(np.argmin(hh))
        move = min(hh[i] - 950, 950 - hh[j])
        if move <= 0:
            hh = np.append(hh, hh[i] - 950)
            hh[i] = 950
            continue
        hh[i] -= move
        hh[j] += move
    return [int(x) for x in hh if x > 0]


def real_district(sizes: list[int], *, seed: int = 0, points: bool = True, streets: bool = True,
                  max_compound: int = 9_000, spacing_m: float = 45.0,
                  prefix: str = "3701240") -> RealShaped:
    """Build communities of the given household totals, side by side, in EPSG:4326.

    ``points``: buildings as points (else 14 × 30 m footprints); ``streets``: a street
    between every row of compounds and around each community.
    """
    rng = np.random.default_rng(seed)
    com_rows: list[dict[str, object]] = []
    com_geoms: list[shapely.Geometry] = []
    b_rows: list[dict[str, object]] = []
    b_geoms: list[shapely.Geometry] = []
    lines: list[shapely.Geometry] = []
    x_off = 0.0
    nb = 0
    for ci, total in enumerate(sizes):
        cid = f"{prefix}{ci + 1:05d}"
        comps = _compound_sizes(rng, int(total), max_compound)
        blocks: list[tuple[str | None, list[int], list[int]]] = []  # (compound, households, uses flags)
        for k, h in enumerate(comps):
            res = _buildings_for(rng, h)
            n_non = int(rng.binomial(len(res) + 1, 1 / 3))      # a quarter of all buildings: 1/3 of residential
            hh = res + [0] * n_non
            order = rng.permutation(len(hh))
            loose = h < 400 and rng.random() < 0.3              # small groups of loose buildings, no compound
            blocks.append((None if loose else f"{cid}-XQ{k:03d}", [hh[i] for i in order], []))
        # shelf-pack compound rectangles into a square-ish community
        dims = []
        for _, hh, _ in blocks:
            n = len(hh)
            cols = max(1, math.ceil(math.sqrt(n * 1.3)))
            rows = math.ceil(n / cols)
            dims.append((cols, rows))
        area = sum((c + 0.6) * (r + 0.6) for c, r in dims) * spacing_m ** 2
        width = max(math.sqrt(area) * 1.15, max(c + 0.6 for c, _ in dims) * spacing_m)
        x, y, shelf_h = 0.0, 0.0, 0.0
        shelf_ys: list[float] = []
        shelves: list[tuple[float, float, float]] = []   # (y, height, occupied width) of each row
        for (comp, hh, _), (cols, rows) in zip(blocks, dims, strict=True):
            wd, ht = (cols + 0.6) * spacing_m, (rows + 0.6) * spacing_m
            if x + wd > width and x > 0:
                shelves.append((y, shelf_h, x))
                y += shelf_h
                shelf_ys.append(y)
                x, shelf_h = 0.0, 0.0
            for i, h in enumerate(hh):
                bx = x_off + x + (0.8 + i % cols) * spacing_m + rng.uniform(-4, 4)
                by = y + (0.8 + i // cols) * spacing_m + rng.uniform(-4, 4)
                nb += 1
                tower = h > 500
                units: object = pd.NA
                if h > 0 and not tower and rng.random() < 0.5:
                    units = max(1, math.ceil(h / rng.uniform(40, 100)))
                b_rows.append({"building_id": f"B{nb:07d}", "households": h, "units": units,
                               "compound_id": comp, "community_id": cid,
                               "use": "住宅" if h > 0 else USES[int(rng.integers(len(USES)))]})
                geom = shapely.Point(X0 + bx, Y0 + by)
                b_geoms.append(geom if points else shapely.box(X0 + bx - 7, Y0 + by - 15, X0 + bx + 7,
                                                                Y0 + by + 15))
            x += wd
            shelf_h = max(shelf_h, ht)
        shelves.append((y, shelf_h, x))
        height = y + shelf_h
        # the community hugs its compounds (its edge is the roads around them): a staircase of rows,
        # not a rectangle with empty corners
        width = max(w for _, _, w in shelves)
        poly = shapely.union_all([shapely.box(X0 + x_off, Y0 + sy, X0 + x_off + sw, Y0 + sy + sh)
                                  for sy, sh, sw in shelves])
        poly = shapely.simplify(poly, 0.01)
        com_rows.append({"community_id": cid, "name": f"大社区{ci + 1}", "street": "榆山街道", "kind": "urban"})
        com_geoms.append(poly)
        if streets:
            for sy in shelf_ys:
                lines.append(shapely.LineString([(X0 + x_off - 5, Y0 + sy), (X0 + x_off + width + 5, Y0 + sy)]))
            lines.append(shapely.LineString([(X0 + x_off + width / 2, Y0 - 5), (X0 + x_off + width / 2,
                                                                               Y0 + height + 5)]))
        x_off += width
    c = gpd.GeoDataFrame(com_rows, geometry=com_geoms, crs=UTM).set_index("community_id").to_crs(4326)
    b = gpd.GeoDataFrame(b_rows, geometry=b_geoms, crs=UTM).set_index("building_id").to_crs(4326)
    b["households"] = b["households"].astype("Int64")
    b["units"] = pd.array(b["units"].tolist(), dtype="Int64")
    s = (gpd.GeoDataFrame({"name": [f"路{i}" for i in range(len(lines))]}, geometry=lines, crs=UTM).to_crs(4326)
         if lines else None)
    return RealShaped(c, b, s)


def community_sizes(seed: int = 0, total: int = 110_000) -> list[int]:
    """Household totals of a real-shaped district: 1,000–45,000 per community, summing to ~``total``."""
    rng = np.random.default_rng(seed)
    out = [45_000, 1_000]
    while sum(out) < total:
        out.append(int(math.exp(rng.uniform(math.log(1_100), math.log(9_800)))))
    return out
