"""Street-block tessellation of a community into building and unit cells, with their adjacency.

Grid polygons are unions of these cells, so whatever the search does, a
community's grids tile it exactly. Cells are built in a metric CRS:

1. *blocks* = faces of the noded streets plus the community boundary (``polygonize``),
   so every block edge is a street or the community edge;
2. inside each block, Voronoi cells of seed points on every building footprint,
   dissolved per building, or per unit (单元) for a building with several units.

Edges carry the shared boundary length and its part *not* on a street (both
cells in one block), so a search that prefers cheap cuts follows streets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gridgeo.settings import DEFAULT_RULES, Rules

__all__ = ["components", "component_roots", "CommunityPieces", "IdCodes", "KEY_EMPTY", "KEY_COMPOUND",
           "KEY_BUILDING", "KEY_UNIT", "SHARE_BUILDING",
           "SHARE_COMPOUND", "tessellate", "street_blocks", "unit_plan", "unit_households", "robust_union",
           "polygonal", "MIN_SHARED_M"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
ObjArray = NDArray[np.object_]

def component_roots(n: int, u: NDArray[Any], v: NDArray[Any]) -> IntArray:
    """Lowest node of each node's connected component (graph on ``n`` nodes, edges ``u``–``v``).

    Vectorised hook-and-jump: each round hooks every edge's larger root under its
    smaller one, then jumps pointers to the roots, so a root is always the lowest
    node of its tree (two or three rounds on a community's cells).
    """
    root = np.arange(n, dtype=np.int64)
    a = np.asarray(u, dtype=np.int64)
    b = np.asarray(v, dtype=np.int64)
    while len(a):
        ra, rb = root[a], root[b]
        diff = ra != rb
        if not diff.any():
            break
        if not diff.all():   # edges already inside one tree stay there
            a, b, ra, rb = a[diff], b[diff], ra[diff], rb[diff]
        np.minimum.at(root, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            up = root[root]
            if (up == root).all():
                break
            root = up
    return root


def components(n: int, u: NDArray[Any], v: NDArray[Any]) -> tuple[int, IntArray]:
    """Connected components of the undirected graph on ``n`` nodes with edges ``u``–``v``.

    Labels 0, 1 … in order of each component's lowest node, as
    ``scipy.sparse.csgraph.connected_components`` numbers them, so the engine does
    not import scipy.sparse (0.6 s per CLI run).
    """
    root = component_roots(n, u, v)
    is_root = root == np.arange(n)
    return int(is_root.sum()), (np.cumsum(is_root) - 1)[root]


NODE_GRID_M = 1e-4           # street noding precision (0.1 mm: area error far below 1e-6)
MIN_SHARED_M = 0.05          # shorter shared boundaries are corner touches, not adjacency
_SEED_SPACING_M = 4.0        # footprint outline densified to this spacing for Voronoi seeds
_SEED_INSET_M = 0.3          # seeds sit just inside the footprint so neighbours never coincide
_POINT_UNIT_SPACING_M = 6.0  # a point building's units are laid out on a lattice this far apart
_SLIVER_AREA_M2 = 1.0
_SLIVER_WIDTH_M = 0.25       # area/perimeter below this (about 0.5 m wide) is a digitising sliver


KEY_EMPTY, KEY_COMPOUND, KEY_BUILDING, KEY_UNIT = 0, 1, 2, 3   # how a piece may be grouped into an atom
SHARE_BUILDING, SHARE_COMPOUND = 1, 2   # bits of CommunityPieces.edge_shares


@dataclass(frozen=True)
class IdCodes:
    """The pieces' building and compound ids as integers, and the key of each piece per grouping.

    ``building[p]`` is -1 where ``pieces.building[p] is None`` (an empty block),
    else a code shared exactly by the pieces whose ids are equal;
    ``building_names[code]`` is ``str`` of that id; the same for compounds.
    ``label[kind, p]`` is piece ``p``'s atom key when grouped as ``kind``
    (``KEY_EMPTY``: ``E:<block>:<p>``, ``KEY_COMPOUND``: ``C:<compound>``,
    ``KEY_BUILDING``: ``B:<building>``, ``KEY_UNIT``: ``U:<building>#<unit>``;
    ``""`` where it has no such id) and ``key[kind, p]`` an integer equal for two
    pieces exactly when their labels are.
    """

    building: IntArray
    compound: IntArray
    building_names: list[str]
    compound_names: list[str]
    key: IntArray                       # shape (4, n)
    label: ObjArray                     # shape (4, n)
    sources: tuple[NDArray[Any], ...]   # the arrays these were computed from (the cache key)

    @staticmethod
    def encode(values: ObjArray) -> tuple[IntArray, list[str]]:
        """Codes of ``values`` in first-seen order (-1 for None) and the ``str`` of each code's value."""
        arr = np.asarray(values, dtype=object)
        some: NDArray[np.bool_] = arr != None  # noqa: E711  (elementwise: the ids that are not None)
        codes = np.full(len(arr), -1, dtype=np.int64)
        if not some.any():
            return codes, []
        found, uniques = pd.factorize(arr[some], use_na_sentinel=False)
        codes[some] = found
        return codes, [str(x) for x in uniques]

    @classmethod
    def of(cls, pieces: CommunityPieces) -> IdCodes:
        b, bn = cls.encode(pieces.building)
        c, cn = cls.encode(pieces.compound)
        n = len(b)
        unit = np.asarray(pieces.unit, dtype=np.int64)
        units = int(unit.max(initial=0)) + 1
        pos = np.arange(n, dtype=np.int64)
        key = np.stack([pos, c, b, b * units + unit]) * 4 + np.arange(4, dtype=np.int64)[:, None]
        label = np.empty((4, n), dtype=object)
        label[KEY_EMPTY] = [f"E:{k}:{p}" for p, k in enumerate(pieces.block.tolist())]
        cl = np.asarray([f"C:{x}" for x in cn] + [""], dtype=object)
        bl = np.asarray([f"B:{x}" for x in bn] + [""], dtype=object)
        label[KEY_COMPOUND] = cl[c]
        label[KEY_BUILDING] = bl[b]
        label[KEY_UNIT] = [f"U:{bn[x]}#{u}" if x >= 0 else "" for x, u in zip(b.tolist(), unit.tolist(), strict=True)]
        return cls(building=b, compound=c, building_names=bn, compound_names=cn, key=key, label=label,
                   sources=(pieces.building, pieces.compound, pieces.unit, pieces.block))


@dataclass
class CommunityPieces:
    """The finest cells of one community (metric CRS) and their adjacency.

    A piece is a whole building, one unit of a building that may be split, or an
    empty block; arrays are aligned on the piece position.
    """

    community_id: str
    geom: ObjArray
    households: IntArray
    building: ObjArray            # building id, or None for an empty block
    unit: IntArray                # 1-based unit number; 0 = the whole building
    n_units: IntArray             # units the building is divided into (0 = whole)
    units_known: NDArray[np.bool_]  # the unit count came from the data, not the estimate
    compound: ObjArray            # compound id or None
    block: IntArray
    area: FloatArray
    perim: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_len: FloatArray
    edge_ns: FloatArray           # shared length not on a street (same block)
    virtual: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _codes: IdCodes | None = field(default=None, repr=False, compare=False)
    _parts: tuple[IntArray, IntArray, int, IntArray] | None = field(default=None, repr=False, compare=False)
    _shares: tuple[IntArray, IntArray, IdCodes, IntArray] | None = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.geom)

    def codes(self) -> IdCodes:
        """Integer ids and atom keys of the pieces (computed once; again if an array they come from is replaced)."""
        got = self._codes
        if got is not None:
            src = got.sources
            if src[0] is self.building and src[1] is self.compound and src[2] is self.unit and src[3] is self.block:
                return got
        got = self._codes = IdCodes.of(self)
        return got

    def edge_shares(self) -> IntArray:
        """Per edge, ``SHARE_BUILDING`` if both pieces are of one building, plus ``SHARE_COMPOUND`` if of one compound.

        Kept until the edges or the ids change.
        """
        codes = self.codes()
        got = self._shares
        if got is None or got[0] is not self.edge_u or got[1] is not self.edge_v or got[2] is not codes:
            b, c = codes.building, codes.compound
            bu, cu = b[self.edge_u], c[self.edge_u]
            share = (((bu == b[self.edge_v]) & (bu >= 0)) * SHARE_BUILDING
                     + ((cu == c[self.edge_v]) & (cu >= 0)) * SHARE_COMPOUND).astype(np.int64)
            got = self._shares = (self.edge_u, self.edge_v, codes, share)
        return got[3]

    def nonstreet_perim(self) -> FloatArray:
        """Per piece, boundary length shared with same-block neighbours (not on a street)."""
        out = np.zeros(self.n)
        np.add.at(out, self.edge_u, self.edge_ns)
        np.add.at(out, self.edge_v, self.edge_ns)
        return out

    def components(self) -> tuple[int, IntArray]:
        """Connected components of the adjacency graph (virtual edges included).

        Kept until the edge arrays are replaced (``add_virtual_edge`` does), as the
        search asks again after joining small parts.
        """
        got = self._parts
        if got is None or got[0] is not self.edge_u or got[1] is not self.edge_v or len(got[3]) != self.n:
            k, labels = components(self.n, self.edge_u, self.edge_v)
            got = self._parts = (self.edge_u, self.edge_v, k, labels)
        return got[2], got[3].copy()

    def add_virtual_edge(self, i: int, j: int) -> None:
        """Join two separate parts so a grid may span them (flagged ``multipart``)."""
        if len(self.virtual) != len(self.edge_u):
            self.virtual = np.zeros(len(self.edge_u), dtype=bool)
        self.edge_u = np.append(self.edge_u, min(i, j))
        self.edge_v = np.append(self.edge_v, max(i, j))
        self.edge_len = np.append(self.edge_len, 0.0)
        self.edge_ns = np.append(self.edge_ns, 0.0)
        self.virtual = np.append(self.virtual, True)


# ----------------------------------------------------------------------------- blocks

def street_blocks(region: shapely.Geometry, streets: ObjArray) -> ObjArray:
    """Split ``region`` into blocks along ``streets`` (metric lines); slivers are merged away."""
    parts = shapely.get_parts(region)
    if len(streets) == 0:
        return np.asarray(parts, dtype=object)
    lines = shapely.get_parts(shapely.intersection(np.asarray(streets, dtype=object), region))
    lines = lines[np.isin(shapely.get_type_id(lines), (1, 2))] if len(lines) else lines
    lines = np.concatenate([lines, shapely.get_parts(shapely.line_merge(shapely.boundary(region)))])
    noded = shapely.union_all(lines, grid_size=NODE_GRID_M)  # snap-rounding nodes near-touching ends
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if len(faces) == 0:
        return np.asarray(parts, dtype=object)
    # faces inside the region (not its holes): by area, since noding moves edges by up to 0.05 mm
    # and a face's representative point may sit right on such an edge
    inside = shapely.area(shapely.intersection(faces, region)) > 0.5 * shapely.area(faces)
    faces = faces[inside]
    return _merge_slivers(faces) if len(faces) else np.asarray(parts, dtype=object)


def _merge_slivers(faces: ObjArray) -> ObjArray:
    """Union digitising slivers (a street drawn a hair beside the boundary) into a neighbour."""
    out = list(faces)
    stuck: set[int] = set()  # ids of slivers touching nothing: kept as they are
    while len(out) > 1:
        area = shapely.area(out)
        thin = (area < _SLIVER_AREA_M2) | (area < _SLIVER_WIDTH_M * shapely.length(out))
        cand = [i for i in np.flatnonzero(thin) if id(out[i]) not in stuck]
        if not cand:
            break
        i = int(min(cand, key=lambda c: area[c]))
        others = np.asarray([j for j in range(len(out)) if j != i])
        shared = shapely.length(shapely.intersection(
            shapely.boundary(out[i]), shapely.boundary(np.asarray(out, dtype=object)[others]),
            grid_size=1e-3))
        if shared.max(initial=0.0) <= 0.0:
            stuck.add(id(out[i]))
            continue
        j = int(others[int(np.argmax(shared))])
        out[j] = shapely.union(out[i], out[j])
        out.pop(i)
    return np.asarray(out, dtype=object)


# ----------------------------------------------------------------------------- seeds

def unit_plan(households: IntArray, units: NDArray[Any], per_unit: int) -> tuple[IntArray, NDArray[np.bool_]]:
    """Return the number of units (单元) of each building and whether it is known.

    A missing count is estimated as ceil(households / per_unit): a 33-storey
    entrance holds 66–132 households (domain.md), so ``per_unit`` defaults to 100.
    """
    units_f = pd.array(units, dtype="Int64")
    known = ~np.asarray(pd.isna(units_f), dtype=bool)
    est = np.maximum(1, -(-households // per_unit))
    n = np.where(known, np.asarray(units_f.fillna(1), dtype=np.int64), est)
    n = np.clip(n, 1, np.maximum(households, 1))
    return n.astype(np.int64), known


def unit_households(households: int, n_units: int) -> IntArray:
    """Spread households over units as whole numbers, the first units taking the remainder."""
    base, rest = divmod(int(households), int(n_units))
    return np.asarray([base + (1 if i < rest else 0) for i in range(int(n_units))], dtype=np.int64)


def _axis(geoms: ObjArray) -> tuple[FloatArray, FloatArray]:
    """Centre and unit direction of each footprint's long axis, pointing east (or north)."""
    env = shapely.oriented_envelope(geoms)
    coords, idx = shapely.get_coordinates(shapely.boundary(env), return_index=True)
    n = len(geoms)
    centre = shapely.get_coordinates(shapely.centroid(geoms))
    direction = np.tile([1.0, 0.0], (n, 1))
    if len(coords) == 0:  # points only: units laid out east-west
        return centre, direction
    first = np.searchsorted(idx, np.arange(n))
    counts = np.bincount(idx, minlength=n)
    ok = counts >= 4
    p0 = coords[np.minimum(first, len(coords) - 1)]
    p1 = coords[np.minimum(first + 1, len(coords) - 1)]
    p2 = coords[np.minimum(first + 2, len(coords) - 1)]
    e1, e2 = p1 - p0, p2 - p1
    longer = np.where((np.hypot(*e1.T) >= np.hypot(*e2.T))[:, None], e1, e2)
    norm = np.hypot(*longer.T)
    good = ok & (norm > 1e-6)
    direction[good] = longer[good] / norm[good, None]
    flip = (direction[:, 0] < -1e-9) | ((np.abs(direction[:, 0]) <= 1e-9) & (direction[:, 1] < 0))
    direction[flip] *= -1
    return centre, direction


def _seeds(geoms: ObjArray, n_units: IntArray) -> tuple[FloatArray, IntArray, IntArray]:
    """Voronoi seed points of every building: (xy, building position, 0-based unit).

    Polygons give their inset outline, densified, plus a point on the surface;
    a point gives itself. Units of a split building take the seeds in their
    stretch of the long axis, plus one at the centre of that stretch.
    """
    n = len(geoms)
    is_poly = np.isin(shapely.get_type_id(geoms), (3, 6))
    xy_parts: list[FloatArray] = []
    bi_parts: list[IntArray] = []
    rep = shapely.get_coordinates(shapely.point_on_surface(geoms))
    xy_parts.append(rep)
    bi_parts.append(np.arange(n))
    if is_poly.any():
        pidx = np.flatnonzero(is_poly)
        rings = shapely.segmentize(shapely.boundary(geoms[pidx]), _SEED_SPACING_M)
        c, ci = shapely.get_coordinates(rings, return_index=True)
        # pull outline points slightly toward the surface point, so buildings sharing a wall
        # never share a seed (cheaper than an inward buffer, and seeds need not be exact)
        toward = rep[pidx[ci]] - c
        dist = np.hypot(toward[:, 0], toward[:, 1])
        step = np.minimum(_SEED_INSET_M, 0.2 * dist) / np.maximum(dist, 1e-9)
        xy_parts.append(c + toward * step[:, None])
        bi_parts.append(pidx[ci])
    xy = np.concatenate(xy_parts)
    bi = np.concatenate(bi_parts)
    unit = np.zeros(len(xy), dtype=np.int64)
    split = np.flatnonzero(n_units > 1)
    if len(split):
        centre, direction = _axis(geoms[split])
        extra_xy: list[FloatArray] = []
        extra_bi: list[IntArray] = []
        extra_u: list[IntArray] = []
        pos = {int(b): k for k, b in enumerate(split)}
        mask = np.isin(bi, split)
        sel = np.flatnonzero(mask)
        k_of = np.asarray([pos[int(b)] for b in bi[sel]], dtype=np.int64)
        t = np.einsum("ij,ij->i", xy[sel] - centre[k_of], direction[k_of])
        for k, b in enumerate(split):
            nu = int(n_units[b])
            mine = k_of == k
            tt = t[mine]
            if not is_poly[b]:
                # a point: units on a small square lattice in snake order, so any run of units owns a
                # compact share of the building's cell (a row of strips would give slivers)
                cols = math.ceil(math.sqrt(nu))
                r, c = np.divmod(np.arange(nu), cols)
                c = np.where(r % 2 == 1, cols - 1 - c, c)
                rows = math.ceil(nu / cols)
                off = np.stack([(c - (cols - 1) / 2), ((rows - 1) / 2 - r)], axis=1) * _POINT_UNIT_SPACING_M
                pos = centre[k] + off
                own = xy[sel[mine]]
                unit[sel[mine]] = np.argmin(((own[:, None, :] - pos[None, :, :]) ** 2).sum(axis=2), axis=1)
                extra_xy.append(pos)
                extra_bi.append(np.full(nu, b, dtype=np.int64))
                extra_u.append(np.arange(nu, dtype=np.int64))
                continue
            # a footprint: units on a lattice in the footprint's frame (long axis × across), in snake
            # order, so a run of consecutive units is a compact block, not a sliver across the cell
            normal = np.asarray([-direction[k][1], direction[k][0]])
            own = xy[sel[mine]]
            nn = (own - centre[k]) @ normal
            lo, hi = (float(tt.min()), float(tt.max())) if tt.size else (-1.0, 1.0)
            nlo, nhi = (float(nn.min()), float(nn.max())) if nn.size else (-1.0, 1.0)
            span, nspan = max(hi - lo, 1e-6), max(nhi - nlo, 1e-6)
            cols = max(1, min(nu, math.ceil(math.sqrt(nu * span / nspan))))
            rows = math.ceil(nu / cols)
            r, c = np.divmod(np.arange(nu), cols)
            c = np.where(r % 2 == 1, cols - 1 - c, c)
            along = lo + (c + 0.5) * span / cols
            across = nlo + (r + 0.5) * nspan / rows
            d2 = (((tt[:, None] - along[None, :]) * cols / span) ** 2
                  + ((nn[:, None] - across[None, :]) * rows / nspan) ** 2)
            unit[sel[mine]] = np.argmin(d2, axis=1)
            extra_xy.append(centre[k] + along[:, None] * direction[k] + across[:, None] * normal)
            extra_bi.append(np.full(nu, b, dtype=np.int64))
            extra_u.append(np.arange(nu, dtype=np.int64))
        xy = np.concatenate([xy, *extra_xy])
        bi = np.concatenate([bi, *extra_bi])
        unit = np.concatenate([unit, *extra_u])
    return xy, bi, unit


# ----------------------------------------------------------------------------- tessellation

def tessellate(community_id: str, region: shapely.Geometry, buildings: pd.DataFrame,
               streets: ObjArray, *, rules: Rules = DEFAULT_RULES) -> CommunityPieces:
    """Tessellate one community (metric CRS) into building/unit cells inside street blocks.

    ``buildings`` has columns ``building_id``, ``geometry`` (metric), ``households``,
    ``units`` (nullable) and ``compound_id`` (nullable); optionally
    ``households_total`` and ``unit_subset`` (0-based unit numbers still to place,
    for a building whose other units sit in a locked grid). Every cell lies in
    ``region`` and together they cover it; a building whose footprint straddles a
    street belongs to the block holding its representative point.
    """
    blocks = street_blocks(region, streets)
    nb = len(buildings)
    geoms = np.asarray(buildings["geometry"].to_numpy(), dtype=object)
    hh = np.asarray(buildings["households"].to_numpy(), dtype=np.int64)
    hh_total = (np.asarray(buildings["households_total"].to_numpy(), dtype=np.int64)
                if "households_total" in buildings else hh)
    n_units, known = unit_plan(hh_total, buildings["units"].to_numpy(), rules.households_per_unit_estimate)
    subsets = buildings["unit_subset"].tolist() if "unit_subset" in buildings else [None] * nb
    # pieces: one per (building, unit) of a multi-unit building, one per whole building
    piece_b: list[int] = []
    piece_u: list[int] = []   # 0-based unit, -1 = whole building
    piece_hh: list[int] = []
    for bpos in range(nb):
        if n_units[bpos] > 1:
            per = unit_households(int(hh_total[bpos]), int(n_units[bpos]))
            subset = subsets[bpos]
            todo = range(int(n_units[bpos])) if subset is None else sorted(subset)
            for u in todo:
                piece_b.append(bpos)
                piece_u.append(int(u))
                piece_hh.append(int(per[u]))
        else:
            piece_b.append(bpos)
            piece_u.append(-1)
            piece_hh.append(int(hh[bpos]))
    n_pieces = len(piece_b)
    index = {(b_, u_): i for i, (b_, u_) in enumerate(zip(piece_b, piece_u, strict=True))}
    if nb:
        xy, bi, unit = _seeds(geoms, n_units)
        key_u = np.where(n_units[bi] > 1, unit, -1)
        piece_of_seed = np.asarray([index.get((int(b_), int(u_)), -1) for b_, u_ in zip(bi, key_u, strict=True)],
                                   dtype=np.int64)
        has = piece_of_seed >= 0
        xy, bi, piece_of_seed = xy[has], bi[has], piece_of_seed[has]
        # a placed unit of a partly locked building may have lost all its seeds: re-add its axis seed
        missing = np.setdiff1d(np.arange(n_pieces), piece_of_seed)
        if len(missing):
            rep = shapely.get_coordinates(shapely.point_on_surface(geoms[np.asarray(piece_b)[missing]]))
            xy = np.vstack([xy, rep + 0.01 * (np.arange(len(missing))[:, None] + 1)])
            bi = np.concatenate([bi, np.asarray(piece_b)[missing]])
            piece_of_seed = np.concatenate([piece_of_seed, missing])
    else:
        xy, bi, piece_of_seed = np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, np.int64)
    # block of each building: the block holding its representative point, else the nearest
    tree = shapely.STRtree(blocks)
    bld_block = np.full(nb, -1, dtype=np.int64)
    if nb:
        rep_pts = shapely.point_on_surface(geoms)
        hit_b, hit_k = tree.query(rep_pts, predicate="intersects")
        order = np.argsort(hit_b, kind="stable")
        hit_b, hit_k = hit_b[order], hit_k[order]
        first = np.unique(hit_b, return_index=True)[1]
        bld_block[hit_b[first]] = hit_k[first]
        lost = np.flatnonzero(bld_block < 0)
        if len(lost):
            nb_idx, nk = tree.query_nearest(rep_pts[lost], all_matches=False)
            bld_block[lost[nb_idx]] = nk
    seed_block = bld_block[bi] if nb else np.zeros(0, np.int64)
    cells: list[shapely.Geometry] = [None] * n_pieces
    shapely.prepare(blocks)
    empty_blocks: list[int] = []
    for k, block in enumerate(blocks):
        members = np.flatnonzero(seed_block == k)
        if len(members) == 0:
            empty_blocks.append(k)
            continue
        pieces_here = np.unique(piece_of_seed[members])
        if len(pieces_here) == 1:
            cells[int(pieces_here[0])] = block
            continue
        cells_here = _voronoi_cells(block, xy[members], piece_of_seed[members], pieces_here)
        for p, c in cells_here.items():
            cells[p] = c
        _fix_orphans(cells, pieces_here)
    geom = np.asarray(cells + [blocks[k] for k in empty_blocks], dtype=object)
    n_all = len(geom)
    pad = n_all - n_pieces
    pb = np.asarray(piece_b, dtype=np.int64)
    pu = np.asarray(piece_u, dtype=np.int64)
    building_ids = np.asarray(buildings["building_id"].to_numpy(), dtype=object)
    compounds = [None if pd.isna(c) else str(c) for c in buildings["compound_id"].tolist()]
    pieces = CommunityPieces(
        community_id=community_id, geom=geom,
        households=np.concatenate([np.asarray(piece_hh, dtype=np.int64), np.zeros(pad, np.int64)]),
        building=np.concatenate([building_ids[pb], np.full(pad, None, dtype=object)]) if nb
        else np.full(pad, None, dtype=object),
        unit=np.concatenate([np.where(pu >= 0, pu + 1, 0), np.zeros(pad, np.int64)]),
        n_units=np.concatenate([np.where(pu >= 0, n_units[pb] if nb else 0, 0), np.zeros(pad, np.int64)]),
        units_known=np.concatenate([known[pb] if nb else np.zeros(0, bool), np.zeros(pad, bool)]),
        compound=np.asarray([compounds[b_] for b_ in piece_b] + [None] * pad, dtype=object),
        block=np.concatenate([bld_block[pb] if nb else np.zeros(0, np.int64),
                              np.asarray(empty_blocks, dtype=np.int64)]),
        area=shapely.area(geom), perim=shapely.length(geom),
        edge_u=np.zeros(0, np.int64), edge_v=np.zeros(0, np.int64),
        edge_len=np.zeros(0), edge_ns=np.zeros(0))
    _adjacency(pieces)
    pieces.codes()   # once here, so each search of the community groups pieces by integer codes
    return pieces


def _voronoi_cells(block: shapely.Geometry, pts: FloatArray, owner: IntArray,
                   pieces_here: IntArray) -> dict[int, shapely.Geometry]:
    """Voronoi cells of ``pts`` clipped to ``block``, dissolved by owning piece."""
    pts = pts.copy()
    inside = shapely.contains_xy(block, pts[:, 0], pts[:, 1])
    for p in pieces_here:  # a piece with no seed inside its block gets the nearest block point
        mine = owner == p
        if not inside[mine].any():
            j = int(np.flatnonzero(mine)[0])
            pts[j] = shapely.get_coordinates(shapely.shortest_line(block, shapely.points(pts[j])))[0]
            inside[j] = True
    all_pts, all_owner = pts[inside], owner[inside]
    _, keep = np.unique(np.round(all_pts, 2), axis=0, return_index=True)
    keep = np.sort(keep)
    lost = np.setdiff1d(pieces_here, all_owner[keep])
    pts, owner = all_pts[keep], all_owner[keep]
    if len(lost):  # a piece lost every seed to a duplicate: give it a nudged copy of its own
        extra = np.asarray([all_pts[np.flatnonzero(all_owner == q)[0]] + 0.03 * (i + 1)
                            for i, q in enumerate(lost)])
        pts, owner = np.vstack([pts, extra]), np.concatenate([owner, lost])
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=block, ordered=True))
    order = np.argsort(owner, kind="stable")
    cuts = np.flatnonzero(np.diff(owner[order])) + 1
    groups = np.split(order, cuts)
    # cells of one diagram share edges exactly: dissolve first, then clip once per piece
    merged = np.asarray([vor[grp[0]] if len(grp) == 1 else shapely.coverage_union_all(vor[grp])
                         for grp in groups], dtype=object)
    for i in np.flatnonzero(~shapely.is_valid(merged)):  # rare: nearly coincident Voronoi vertices
        fixed = shapely.union_all(vor[groups[i]])
        merged[i] = fixed if shapely.is_valid(fixed) else polygonal(np.asarray([shapely.make_valid(fixed)]))[0]
    whole = shapely.contains_properly(block, merged)
    clipped = merged.copy()
    if (~whole).any():
        clipped[~whole] = polygonal(shapely.intersection(merged[~whole], block))
    return {int(owner[grp[0]]): clipped[i] for i, grp in enumerate(groups)}


def polygonal(geoms: ObjArray) -> ObjArray:
    """Drop the line and point bits an overlay can leave in a GeometryCollection."""
    out = np.asarray(geoms, dtype=object).copy()
    odd = np.flatnonzero(~np.isin(shapely.get_type_id(out), (3, 6)))
    for i in odd:
        parts = shapely.get_parts(out[i])
        polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
        out[i] = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    return out


_SPECK_M2 = 1e-3  # holes and parts this small are rounding artefacts of an overlay, not ground


def robust_union(geoms: ObjArray) -> shapely.Geometry:
    """Union cells into one polygon where they touch.

    Cells meet within ~1e-11 m; which overlay closes such seams differs case by
    case (coverage union is fastest but needs exact seams, snap-rounding can split
    a seam that a plain union closes), so try them in turn and keep the first
    single valid Polygon, else the result with the fewest parts.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 1 and shapely.get_type_id(geoms[0]) == 3:
        return geoms[0]
    best: shapely.Geometry | None = None
    for attempt in ("coverage", None, 1e-6, 1e-4):
        try:
            g = (shapely.coverage_union_all(geoms) if attempt == "coverage"
                 else shapely.union_all(geoms, grid_size=attempt))
        except shapely.errors.GEOSException:
            continue
        if not shapely.is_valid(g) or shapely.get_type_id(g) not in (3, 6, 7):
            continue
        g = _drop_specks(polygonal(np.asarray([g], dtype=object))[0])
        if shapely.get_type_id(g) == 3:
            return g
        if best is None or shapely.get_num_geometries(g) < shapely.get_num_geometries(best):
            best = g
    return best if best is not None else _drop_specks(shapely.make_valid(shapely.union_all(geoms)))


def _drop_specks(g: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(g) if shapely.area(p) > _SPECK_M2] or list(shapely.get_parts(g))
    clean = []
    for p in parts:
        holes = [r for r in p.interiors if shapely.area(shapely.Polygon(r)) > _SPECK_M2]
        clean.append(shapely.Polygon(p.exterior, holes) if len(holes) != len(p.interiors) else p)
    return clean[0] if len(clean) == 1 else shapely.MultiPolygon(clean)


def _fix_orphans(cells: list[shapely.Geometry], pieces_here: IntArray) -> None:
    """Make every cell one polygon: close seams, else give stray parts to a neighbour.

    A Voronoi cell cut by a concave block can fall apart; a merged cell can also
    keep a microscopic seam that an overlay then reports as two parts.
    """
    for p in pieces_here:
        g = cells[int(p)]
        if shapely.get_num_geometries(g) > 1:
            cells[int(p)] = robust_union(shapely.get_parts(g))
    for _ in range(5):
        moved = False
        for p in pieces_here:
            g = cells[int(p)]
            if shapely.get_num_geometries(g) <= 1:
                continue
            parts = shapely.get_parts(g)
            main = int(np.argmax(shapely.area(parts)))
            cells[int(p)] = parts[main]
            for q, part in enumerate(parts):
                if q == main:
                    continue
                others = [int(o) for o in pieces_here if o != p]
                shared = shapely.length(shapely.intersection(
                    shapely.boundary(part), shapely.boundary(np.asarray([cells[o] for o in others])),
                    grid_size=1e-3)) if others else np.zeros(0)
                if len(shared) and shared.max() > 0.0:
                    o = others[int(np.argmax(shared))]
                    cells[o] = robust_union(np.asarray([cells[o], part], dtype=object))
                    moved = True
                else:  # touches nothing else: keep it with its own cell
                    cells[int(p)] = robust_union(np.asarray([cells[int(p)], part], dtype=object))
        if not moved:
            return


def _adjacency(pieces: CommunityPieces) -> None:
    """Fill the shared-boundary edges of ``pieces`` (lengths in metres)."""
    geom = pieces.geom
    tree = shapely.STRtree(geom)
    # clipping leaves vertices ~1e-11 m off a shared street line: look a hair further than touching
    i, j = tree.query(geom, predicate="dwithin", distance=1e-3)
    keep = i < j
    i, j = i[keep], j[keep]
    lens = np.zeros(len(i))
    if len(i):
        b = shapely.boundary(geom)
        # cells of one block come from one Voronoi diagram and share vertices exactly; across a
        # street the clip points differ by ~1e-11 m, so those pairs need snap-rounding
        same = pieces.block[i] == pieces.block[j]
        lens[same] = shapely.length(shapely.intersection(b[i[same]], b[j[same]]))
        lens[~same] = shapely.length(shapely.intersection(b[i[~same]], b[j[~same]], grid_size=1e-3))
    ok = lens > MIN_SHARED_M
    pieces.edge_u, pieces.edge_v, pieces.edge_len = i[ok].astype(np.int64), j[ok].astype(np.int64), lens[ok]
    pieces.edge_ns = np.where(pieces.block[pieces.edge_u] == pieces.block[pieces.edge_v], pieces.edge_len, 0.0)
    pieces.virtual = np.zeros(len(pieces.edge_u), dtype=bool)
