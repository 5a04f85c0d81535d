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


def atom_keys(pieces: CommunityPieces, idx: IntArray, level: int, max_households: int) -> list[str]:
    """Grouping key of each piece in ``idx`` at ``level`` (see module docstring)."""
    hh = pieces.households
    comp_total: dict[str, int] = {}
    bld_total: dict[str, int] = {}
    for p in idx:
        c, b = pieces.compound[p], pieces.building[p]
        if c is not None:
            comp_total[c] = comp_total.get(c, 0) + int(hh[p])
        if b is not None:
            bld_total[b] = bld_total.get(b, 0) + int(hh[p])
    keys: list[str] = []
    for p in idx:
        c, b = pieces.compound[p], pieces.building[p]
        if b is None:
            keys.append(f"E:{pieces.block[p]}:{p}")
        elif c is not None and comp_total[c] <= max_households and level <= 1:
            keys.append(f"C:{c}")
        elif level == 0 and bld_total[b] <= max_households:
            keys.append(f"B:{b}")
        elif pieces.unit[p] > 0:
            keys.append(f"U:{b}#{pieces.unit[p]}")
        else:
            keys.append(f"B:{b}")
    return keys


def make_atoms(pieces: CommunityPieces, idx: IntArray, level: int, rules: Rules) -> Atoms:
    """Contract the pieces ``idx`` (one connected part) into atoms at ``level``.

    A key whose pieces are not contiguous (a compound cut in two by another
    building's cell) becomes one atom per contiguous group, so every atom, and
    hence every grid, stays one polygon.
    """
    local = np.full(pieces.n, -1, dtype=np.int64)
    local[idx] = np.arange(len(idx))
    m = len(idx)
    emask = (local[pieces.edge_u] >= 0) & (local[pieces.edge_v] >= 0)
    eu, ev = local[pieces.edge_u[emask]], local[pieces.edge_v[emask]]
    elen, ens = pieces.edge_len[emask], pieces.edge_ns[emask]
    keys = atom_keys(pieces, idx, level, rules.max_households)
    key_codes, key_names = pd.factorize(pd.Series(keys), sort=False)
    key_codes = np.asarray(key_codes, dtype=np.int64)
    same = key_codes[eu] == key_codes[ev]
    _, comp = components(m, eu[same], ev[same])
    combo = pd.factorize(key_codes * (m + 1) + comp, sort=False)[0]   # (key, contiguous group), first-seen order
    of_local = np.asarray(combo, dtype=np.int64)
    na = int(of_local.max()) + 1 if m else 0
    w = np.bincount(of_local, weights=pieces.households[idx], minlength=na).round().astype(np.int64)
    area = _fsum(of_local, pieces.area[idx], na)
    perim = _fsum(of_local, pieces.perim[idx], na)
    ns_piece = np.zeros(m)
    np.add.at(ns_piece, eu, ens)
    np.add.at(ns_piece, ev, ens)
    ns_perim = _fsum(of_local, ns_piece, na)
    au, av = of_local[eu], of_local[ev]
    inner = au == av
    np.subtract.at(perim, au[inner], 2 * elen[inner])
    np.subtract.at(ns_perim, au[inner], 2 * ens[inner])
    comp_ids = pieces.compound[idx]
    bld_ids = pieces.building[idx]
    pen_piece = np.zeros(len(eu))
    same_b = np.asarray((bld_ids[eu] == bld_ids[ev]) & (bld_ids[eu] != None), dtype=bool)  # noqa: E711
    same_c = np.asarray((comp_ids[eu] == comp_ids[ev]) & (comp_ids[eu] != None), dtype=bool)  # noqa: E711
    pen_piece[same_b] += PEN_BUILDING
    pen_piece[same_c] += PEN_COMPOUND
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
    _, first = np.unique(of_local, return_index=True)   # first piece of each atom 0…na-1
    names = [str(key_names[c]) for c in key_codes[first].tolist()]
    seen: dict[str, int] = {}
    labels: list[str] = []
    for nm in names:
        seen[nm] = seen.get(nm, 0) + 1
        labels.append(nm if seen[nm] == 1 else f"{nm}~{seen[nm]}")
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
