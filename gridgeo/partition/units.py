"""Atoms of a partition and the public ``build_units``: cells merged by compound or building.

*Atoms* are tessellation cells (see :mod:`gridgeo.partition.tessellation`) merged
by compound (小区) or building, depending on the level: level 0 keeps compounds
≤ max and buildings ≤ max whole, level 1 keeps only compounds ≤ max whole,
level 2 splits everything down to units. The search moves atoms, never cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from gridgeo.partition.tessellation import CommunityPieces, components, robust_union, tessellate
from gridgeo.settings import DEFAULT_RULES, Rules

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Units", "build_units", "Atoms", "make_atoms", "PEN_BUILDING", "PEN_COMPOUND"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
ObjArray = NDArray[np.object_]

PEN_BUILDING = 5_000.0       # cut cost (metres) of separating two units of one building
PEN_COMPOUND = 20_000.0      # cut cost of separating two buildings of one compound


# ----------------------------------------------------------------------------- atoms

@dataclass
class Atoms:
    """Pieces merged into the nodes the search moves around, with their graph.

    ``of_piece[p]`` is the atom of piece ``p``; edges aggregate piece edges;
    ``pen`` is the extra cut cost of separating pieces of one building or compound.
    """

    of_piece: IntArray
    w: IntArray
    area: FloatArray
    perim: FloatArray
    ns_perim: FloatArray
    u: IntArray
    v: IntArray
    length: FloatArray
    ns: FloatArray
    pen: FloatArray
    keys: list[str]

    @property
    def n(self) -> int:
        return len(self.w)


def _fsum(labels: IntArray, values: FloatArray, n: int) -> FloatArray:
    """Sum ``values`` per label 0…n-1 (np.bincount with weights, typed as floats)."""
    return np.asarray(np.bincount(labels, weights=values, minlength=n), dtype=np.float64)


_E, _C, _B, _U = 0, 1, 2, 3   # key kinds: empty block, compound, building, unit


def _key_parts(pieces: CommunityPieces, idx: IntArray, level: int,
               max_households: int) -> tuple[IntArray, IntArray]:
    """Kind and one integer key per piece of ``idx`` (see :func:`atom_keys`), equal iff the keys are."""
    codes = pieces.codes()
    bc, cc = codes.building[idx], codes.compound[idx]
    hh = pieces.households[idx]
    unit = pieces.unit[idx]
    has_b, has_c = bc >= 0, cc >= 0
    # households of each compound / building among these pieces (whole numbers: float sums are exact)
    c_total = np.bincount(cc[has_c], weights=hh[has_c], minlength=len(codes.compound_names) + 1)
    b_total = np.bincount(bc[has_b], weights=hh[has_b], minlength=len(codes.building_names) + 1)
    as_c = has_b & has_c & (level <= 1) & (c_total[np.maximum(cc, 0)] <= max_households)
    rest = has_b & ~as_c
    as_b0 = rest & (level == 0) & (b_total[np.maximum(bc, 0)] <= max_households)
    as_u = rest & ~as_b0 & (unit > 0)
    kind = np.where(~has_b, _E, np.where(as_c, _C, np.where(as_u, _U, _B))).astype(np.int64)
    units = int(unit.max(initial=0)) + 1
    ident = np.where(kind == _E, idx, np.where(kind == _C, cc, np.where(kind == _U, bc * units + unit, bc)))
    return kind, np.asarray(ident, dtype=np.int64) * 4 + kind


def _key_names(pieces: CommunityPieces, idx: IntArray, kind: IntArray) -> list[str]:
    """The key string of each piece of ``idx`` given its kind (``C:<compound>``, ``B:…``, ``U:…#n``, ``E:…``)."""
    codes = pieces.codes()
    bn, cn = codes.building_names, codes.compound_names
    out: list[str] = []
    for k, p, b, c, u, blk in zip(kind.tolist(), idx.tolist(), codes.building[idx].tolist(),
                                  codes.compound[idx].tolist(), pieces.unit[idx].tolist(),
                                  pieces.block[idx].tolist(), strict=True):
        out.append(f"C:{cn[c]}" if k == _C else f"B:{bn[b]}" if k == _B else f"U:{bn[b]}#{u}" if k == _U
                   else f"E:{blk}:{p}")
    return out


def atom_keys(pieces: CommunityPieces, idx: IntArray, level: int, max_households: int) -> list[str]:
    """Grouping key of each piece in ``idx`` at ``level`` (see module docstring).

    ``E:<block>:<piece>`` for an empty block; ``C:<compound>`` for a compound of
    at most ``max_households`` (among ``idx``) at levels 0–1; ``B:<building>``
    for a building of at most ``max_households`` at level 0, or a whole building;
    else ``U:<building>#<unit>``.
    """
    idx = np.asarray(idx, dtype=np.int64)
    kind, _ = _key_parts(pieces, idx, level, max_households)
    return _key_names(pieces, idx, kind)


def make_atoms(pieces: CommunityPieces, idx: IntArray, level: int, rules: Rules) -> Atoms:
    """Contract the pieces ``idx`` (one connected part) into atoms at ``level``.

    A key whose pieces are not contiguous (a compound cut in two by another
    building's cell) becomes one atom per contiguous group, so every atom, and
    hence every grid, stays one polygon. Atoms are numbered by their first piece
    in ``idx``; ``keys`` label each by its first piece's key (``~2``, ``~3`` … on
    the further groups of a split key).
    """
    idx = np.asarray(idx, dtype=np.int64)
    local = np.full(pieces.n, -1, dtype=np.int64)
    local[idx] = np.arange(len(idx))
    m = len(idx)
    emask = (local[pieces.edge_u] >= 0) & (local[pieces.edge_v] >= 0)
    eu, ev = local[pieces.edge_u[emask]], local[pieces.edge_v[emask]]
    elen, ens = pieces.edge_len[emask], pieces.edge_ns[emask]
    kind, key = _key_parts(pieces, idx, level, rules.max_households)
    same = key[eu] == key[ev]
    # a component of the same-key edges holds one key, and components are numbered by their
    # lowest piece: so they are the atoms, in first-seen order, as (key, group) pairs would be
    na, of_local = components(m, eu[same], ev[same])
    w = np.bincount(of_local, weights=pieces.households[idx], minlength=na).round().astype(np.int64)
    area = _fsum(of_local, pieces.area[idx], na)
    perim = _fsum(of_local, pieces.perim[idx], na)
    # each piece's non-street boundary, summed in edge order (as two np.add.at passes would)
    ns_piece = _fsum(np.concatenate([eu, ev]), np.concatenate([ens, ens]), m)
    ns_perim = _fsum(of_local, ns_piece, na)
    au, av = of_local[eu], of_local[ev]
    inner = au == av
    np.subtract.at(perim, au[inner], 2 * elen[inner])
    np.subtract.at(ns_perim, au[inner], 2 * ens[inner])
    codes = pieces.codes()
    bc, cc = codes.building[idx], codes.compound[idx]
    pen_piece = np.zeros(len(eu))
    pen_piece[(bc[eu] == bc[ev]) & (bc[eu] >= 0)] += PEN_BUILDING
    pen_piece[(cc[eu] == cc[ev]) & (cc[eu] >= 0)] += PEN_COMPOUND
    cross = ~inner
    lo, hi = np.minimum(au[cross], av[cross]), np.maximum(au[cross], av[cross])
    if len(lo):
        code = lo * na + hi
        uniq, inv = np.unique(code, return_inverse=True)
        length = _fsum(inv, elen[cross], len(uniq))
        ns = _fsum(inv, ens[cross], len(uniq))
        pen = _fsum(inv, pen_piece[cross], len(uniq))
        u, v = uniq // na, uniq % na
    else:
        u = v = np.zeros(0, np.int64)
        length, ns, pen = np.zeros(0), np.zeros(0), np.zeros(0)
    top = np.maximum.accumulate(of_local)
    first = np.flatnonzero(np.concatenate([np.ones(min(m, 1), dtype=bool), top[1:] > top[:-1]]))
    labels = _key_names(pieces, idx[first], kind[first])
    if len(np.unique(key[first])) < na:   # a key split into several contiguous groups
        seen: dict[str, int] = {}
        for i, nm in enumerate(labels):
            seen[nm] = seen.get(nm, 0) + 1
            if seen[nm] > 1:
                labels[i] = f"{nm}~{seen[nm]}"
    return Atoms(of_piece=of_local, w=w, area=area, perim=np.maximum(perim, 0.0),
                 ns_perim=np.maximum(ns_perim, 0.0), u=u.astype(np.int64), v=v.astype(np.int64),
                 length=length, ns=ns, pen=pen, keys=labels)


# ----------------------------------------------------------------------------- public

@dataclass(frozen=True)
class Units:
    """The atoms of a district and their adjacency graph, for gridgeo's engine and baselines.

    Attributes
    ----------
    cells
        GeoDataFrame (EPSG:4326) indexed by ``unit_id`` (``"<community>/C:<compound>"``,
        ``".../B:<building>"``, ``".../U:<building>#<unit>"`` or ``".../E:…"`` for an empty
        block) with ``community_id``, ``households``, ``building_ids`` (";"-joined),
        ``kind`` (compound/building/unit/empty), ``area_m2`` and geometry. The cells of
        a community tile it; compounds ≤ max are one cell, buildings > max are split
        into units.
    graph
        ``networkx.Graph`` on ``unit_id`` with node attributes ``households`` and
        ``community_id`` and edge attributes ``length`` (shared boundary, m) and
        ``nonstreet_length`` (the part not on a street). Communities are not linked.
        For spopt: ``libpysal.weights.W.from_networkx(graph)`` (order = ``cells.index``).
    pieces
        The finer cells (every unit of a multi-unit building) the engine may fall
        back to when whole buildings leave no feasible plan.
    metric_crs
        The CRS every length and area was measured in.
    """

    cells: gpd.GeoDataFrame
    graph: nx.Graph
    pieces: dict[str, CommunityPieces]
    metric_crs: pyproj.CRS


def build_units(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                streets: gpd.GeoDataFrame | None = None, *, rules: Rules = DEFAULT_RULES) -> Units:
    """Build the partition atoms of every community: cells, their households and adjacency.

    This is exactly the input gridgeo's search works on (level 0: compounds ≤ max
    and buildings ≤ max whole), published so benchmarks can run other region
    builders (spopt MaxP, SKATER, RegionKMeans) on the same graph.
    """
    import networkx as nx  # local: only this benchmark-facing function needs it (0.35 s import)

    from gridgeo.partition.engine import prepare_inputs  # local: engine imports this module

    prep = prepare_inputs(communities, buildings, streets, rules=rules)
    rows: list[dict[str, Any]] = []
    graph = nx.Graph()
    all_pieces: dict[str, CommunityPieces] = {}
    for task in prep.tasks:
        pieces = tessellate(task.community_id, task.region, task.buildings, task.streets, rules=rules)
        all_pieces[task.community_id] = pieces
        atoms = make_atoms(pieces, np.arange(pieces.n), 0, rules)
        groups = [np.flatnonzero(atoms.of_piece == a) for a in range(atoms.n)]
        geoms = [robust_union(pieces.geom[g]) for g in groups]
        for a, g in enumerate(groups):
            uid = f"{task.community_id}/{atoms.keys[a]}"
            blds = sorted({str(b) for b in pieces.building[g] if b is not None})
            kind = {"C": "compound", "B": "building", "U": "unit", "E": "empty"}[atoms.keys[a][0]]
            rows.append({"unit_id": uid, "community_id": task.community_id, "households": int(atoms.w[a]),
                         "building_ids": ";".join(blds), "kind": kind, "area_m2": float(atoms.area[a]),
                         "geometry": geoms[a]})
            graph.add_node(uid, households=int(atoms.w[a]), community_id=task.community_id)
        for u, v, ln, ns in zip(atoms.u, atoms.v, atoms.length, atoms.ns, strict=True):
            graph.add_edge(f"{task.community_id}/{atoms.keys[u]}", f"{task.community_id}/{atoms.keys[v]}",
                           length=float(ln), nonstreet_length=float(ns))
    cells = gpd.GeoDataFrame(rows, geometry="geometry", crs=prep.metric_crs)
    cells = cells.set_index("unit_id").to_crs(4326) if len(cells) else cells.set_crs(4326, allow_override=True)
    return Units(cells=cells, graph=graph, pieces=all_pieces, metric_crs=prep.metric_crs)
