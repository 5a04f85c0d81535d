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

from gridgeo.partition.tessellation import (KEY_BUILDING, CommunityPieces, component_roots, robust_union,
                                            tessellate)
from gridgeo.settings import DEFAULT_RULES, Rules

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Units", "build_units", "Atoms", "make_atoms", "PEN_BUILDING", "PEN_COMPOUND"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
ObjArray = NDArray[np.object_]

PEN_BUILDING = 5_000.0       # cut cost (metres) of separating two units of one building
PEN_COMPOUND = 20_000.0      # cut cost of separating two buildings of one compound
_PEN = np.asarray([0.0, PEN_BUILDING, PEN_COMPOUND, PEN_BUILDING + PEN_COMPOUND])   # by edge_shares()


# ----------------------------------------------------------------------------- atoms

@dataclass
class Atoms:
    """Pieces merged into the nodes the search moves around, with their graph.

    ``of_piece[p]`` is the atom of the ``p``-th piece of ``idx``; edges aggregate piece edges;
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
    first: IntArray | None = None   # position in ``idx`` of each atom's first piece (make_atoms fills it)

    @property
    def n(self) -> int:
        return len(self.w)


def _fsum(labels: IntArray, values: FloatArray, n: int) -> FloatArray:
    """Sum ``values`` per label 0…n-1 (np.bincount with weights, typed as floats)."""
    return np.asarray(np.bincount(labels, weights=values, minlength=n), dtype=np.float64)


def _key_parts(pieces: CommunityPieces, idx: IntArray, level: int,
               max_households: int) -> tuple[IntArray, IntArray]:
    """Kind (``KEY_*``) and integer key of each piece of ``idx``: equal keys iff equal :func:`atom_keys`."""
    codes = pieces.codes()
    b1, c1 = codes.building[idx] + 1, codes.compound[idx] + 1   # 0: none
    hh = pieces.households[idx]
    # households of each compound / building among these pieces (whole numbers: float sums are exact)
    c_total = np.bincount(c1, weights=hh, minlength=len(codes.compound_names) + 1)
    b_total = np.bincount(b1, weights=hh, minlength=len(codes.building_names) + 1)
    has_b = b1 > 0
    as_c = has_b & (c1 > 0) & (c_total[c1] <= max_households) if level <= 1 else np.zeros(len(idx), dtype=bool)
    rest = has_b & ~as_c
    if level == 0:
        rest &= b_total[b1] > max_households
    as_u = rest & (pieces.unit[idx] > 0)
    # KEY_EMPTY 0 without a building, else KEY_BUILDING 2, one less as a compound, one more as a unit
    kind = has_b * KEY_BUILDING - as_c + as_u
    return kind, codes.key[kind, idx]


def atom_keys(pieces: CommunityPieces, idx: IntArray, level: int, max_households: int) -> list[str]:
    """Grouping key of each piece in ``idx`` at ``level`` (see module docstring).

    ``E:<block>:<piece>`` for an empty block; ``C:<compound>`` for a compound of
    at most ``max_households`` (among ``idx``) at levels 0–1; ``B:<building>``
    for a building of at most ``max_households`` at level 0, or a whole building;
    else ``U:<building>#<unit>``.
    """
    idx = np.asarray(idx, dtype=np.int64)
    kind, _ = _key_parts(pieces, idx, level, max_households)
    return list(pieces.codes().label[kind, idx].tolist())


def make_atoms(pieces: CommunityPieces, idx: IntArray, level: int, rules: Rules) -> Atoms:
    """Contract the pieces ``idx`` (one connected part) into atoms at ``level``.

    A key whose pieces are not contiguous (a compound cut in two by another
    building's cell) becomes one atom per contiguous group, so every atom, and
    hence every grid, stays one polygon. Atoms are numbered by their first piece
    in ``idx``; ``keys`` label each by its first piece's key (``~2``, ``~3`` … on
    the further groups of a split key).
    """
    idx = np.asarray(idx, dtype=np.int64)
    m = len(idx)
    if m == pieces.n and np.array_equal(idx, np.arange(m)):   # the whole community (the usual case)
        emask: NDArray[np.bool_] | slice = slice(None)
        eu, ev = pieces.edge_u, pieces.edge_v
    else:
        local = np.full(pieces.n, -1, dtype=np.int64)
        local[idx] = np.arange(m)
        lu, lv = local[pieces.edge_u], local[pieces.edge_v]
        emask = (lu >= 0) & (lv >= 0)
        eu, ev = lu[emask], lv[emask]
    elen, ens = pieces.edge_len[emask], pieces.edge_ns[emask]
    codes = pieces.codes()
    kind, key = _key_parts(pieces, idx, level, rules.max_households)
    # a component of the same-key edges holds one key: the atoms are these components, numbered
    # by their lowest piece (so in first-seen order, as (key, group) pairs would be)
    same = key[eu] == key[ev]
    root = component_roots(m, eu[same], ev[same])
    is_first = root == np.arange(m)
    first = np.flatnonzero(is_first)
    na = len(first)
    of_local = (np.cumsum(is_first) - 1)[root]
    au, av = of_local[eu], of_local[ev]
    inner = au == av
    ai = au[inner]
    w = np.bincount(of_local, weights=pieces.households[idx], minlength=na).round().astype(np.int64)
    area = _fsum(of_local, pieces.area[idx], na)
    # one bincount per sum, terms in the order the former np.add.at / np.subtract.at passes took
    # them (a + (-b) == a - b exactly), so every float is the same to the last bit
    perim = _fsum(np.concatenate([of_local, ai]), np.concatenate([pieces.perim[idx], -2 * elen[inner]]), na)
    ns_piece = _fsum(np.concatenate([eu, ev]), np.concatenate([ens, ens]), m)
    ns_perim = _fsum(np.concatenate([of_local, ai]), np.concatenate([ns_piece, -2 * ens[inner]]), na)
    cross = ~inner
    if cross.any():
        cu, cv = au[cross], av[cross]
        lo, hi = np.minimum(cu, cv), np.maximum(cu, cv)
        pen_edge = _PEN[pieces.edge_shares()[emask][cross]]
        # group the crossing edges by atom pair, pairs in ascending order (as np.unique numbers them)
        code = lo * na + hi
        order = np.argsort(code, kind="stable")
        sc = code[order]
        new = np.empty(len(sc), dtype=bool)
        new[0] = True
        np.not_equal(sc[1:], sc[:-1], out=new[1:])
        inv = np.empty(len(sc), dtype=np.int64)
        inv[order] = np.cumsum(new) - 1
        uniq = sc[new]
        length = _fsum(inv, elen[cross], len(uniq))
        ns = _fsum(inv, ens[cross], len(uniq))
        pen = _fsum(inv, pen_edge, len(uniq))
        u, v = uniq // na, uniq % na
    else:
        u = v = np.zeros(0, np.int64)
        length, ns, pen = np.zeros(0), np.zeros(0), np.zeros(0)
    labels: list[str] = codes.label[kind[first], idx[first]].tolist()
    kf = np.sort(key[first])
    if na > 1 and bool((kf[1:] == kf[:-1]).any()):   # a key split into several contiguous groups: ~2, ~3 …
        seen: dict[str, int] = {}
        for i, nm in enumerate(labels):
            seen[nm] = seen.get(nm, 0) + 1
            if seen[nm] > 1:
                labels[i] = f"{nm}~{seen[nm]}"
    return Atoms(of_piece=of_local, w=w, area=area, perim=np.maximum(perim, 0.0),
                 ns_perim=np.maximum(ns_perim, 0.0), u=u, v=v, length=length, ns=ns, pen=pen, keys=labels,
                 first=first)


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
