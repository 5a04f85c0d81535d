"""The vectorised atoms (units.make_atoms / atom_keys, compound_of, components) equal a plain reference.

The references below are the straightforward per-piece versions the engine used
before (string keys built piece by piece, pandas factorize, np.add.at,
np.unique, a Python union-find). The fast versions must give the same atoms in
the same order, the same floats to the last bit, the same labels and codes, so
every plan is unchanged; the last tests run the search both ways and compare
the plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bench.real_shapes import community_sizes, real_district
from gridgeo import io
from gridgeo.partition import community as community_mod
from gridgeo.partition.community import Task, compound_of, solve_pieces
from gridgeo.partition.engine import prepare_inputs
from gridgeo.partition.tessellation import CommunityPieces, components, tessellate
from gridgeo.partition.units import PEN_BUILDING, PEN_COMPOUND, Atoms, atom_keys, make_atoms
from gridgeo.settings import DEFAULT_RULES

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


# ----------------------------------------------------------------------------- plain references

def ref_components(n: int, u: Any, v: Any) -> tuple[int, np.ndarray]:
    up = list(range(n))

    def find(x: int) -> int:
        while up[x] != x:
            x = up[x]
        return x

    for a, b in zip(np.asarray(u).tolist(), np.asarray(v).tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            up[max(ra, rb)] = min(ra, rb)
    seen: dict[int, int] = {}
    labels = [seen.setdefault(find(x), len(seen)) for x in range(n)]
    return len(seen), np.asarray(labels, dtype=np.int64)


def ref_keys(pieces: CommunityPieces, idx: np.ndarray, level: int, max_households: int) -> list[str]:
    comp_total: dict[str, int] = {}
    bld_total: dict[str, int] = {}
    for p in idx:
        c, b = pieces.compound[p], pieces.building[p]
        if c is not None:
            comp_total[c] = comp_total.get(c, 0) + int(pieces.households[p])
        if b is not None:
            bld_total[b] = bld_total.get(b, 0) + int(pieces.households[p])
    keys = []
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


def ref_atoms(pieces: CommunityPieces, idx: np.ndarray, level: int) -> Atoms:
    local = np.full(pieces.n, -1, dtype=np.int64)
    local[idx] = np.arange(len(idx))
    m = len(idx)
    emask = (local[pieces.edge_u] >= 0) & (local[pieces.edge_v] >= 0)
    eu, ev = local[pieces.edge_u[emask]], local[pieces.edge_v[emask]]
    elen, ens = pieces.edge_len[emask], pieces.edge_ns[emask]
    keys = ref_keys(pieces, idx, level, DEFAULT_RULES.max_households)
    key_codes = np.asarray(pd.factorize(pd.Series(keys))[0], dtype=np.int64)
    same = key_codes[eu] == key_codes[ev]
    _, comp = ref_components(m, eu[same], ev[same])
    of = np.asarray(pd.factorize(key_codes * (m + 1) + comp)[0], dtype=np.int64)
    na = int(of.max()) + 1 if m else 0

    def fsum(lab: np.ndarray, val: np.ndarray, k: int) -> np.ndarray:
        return np.asarray(np.bincount(lab, weights=val, minlength=k), dtype=np.float64)

    w = np.bincount(of, weights=pieces.households[idx], minlength=na).round().astype(np.int64)
    area, perim = fsum(of, pieces.area[idx], na), fsum(of, pieces.perim[idx], na)
    ns_piece = np.zeros(m)
    np.add.at(ns_piece, eu, ens)
    np.add.at(ns_piece, ev, ens)
    ns_perim = fsum(of, ns_piece, na)
    au, av = of[eu], of[ev]
    inner = au == av
    np.subtract.at(perim, au[inner], 2 * elen[inner])
    np.subtract.at(ns_perim, au[inner], 2 * ens[inner])
    comp_ids, bld_ids = pieces.compound[idx], pieces.building[idx]
    pen_piece = np.zeros(len(eu))
    pen_piece[[bld_ids[a] == bld_ids[b] and bld_ids[a] is not None for a, b in zip(eu, ev)]] += PEN_BUILDING
    pen_piece[[comp_ids[a] == comp_ids[b] and comp_ids[a] is not None for a, b in zip(eu, ev)]] += PEN_COMPOUND
    cross = ~inner
    lo, hi = np.minimum(au[cross], av[cross]), np.maximum(au[cross], av[cross])
    uniq, inv = np.unique(lo * na + hi, return_inverse=True)
    _, first = np.unique(of, return_index=True)
    labels: list[str] = []
    seen: dict[str, int] = {}
    for nm in [keys[i] for i in first]:
        seen[nm] = seen.get(nm, 0) + 1
        labels.append(nm if seen[nm] == 1 else f"{nm}~{seen[nm]}")
    return Atoms(of_piece=of, w=w, area=area, perim=np.maximum(perim, 0.0), ns_perim=np.maximum(ns_perim, 0.0),
                 u=(uniq // na).astype(np.int64), v=(uniq % na).astype(np.int64),
                 length=fsum(inv, elen[cross], len(uniq)), ns=fsum(inv, ens[cross], len(uniq)),
                 pen=fsum(inv, pen_piece[cross], len(uniq)), keys=labels)


def ref_compound_of(pieces: CommunityPieces, idx: np.ndarray, atoms: Atoms) -> np.ndarray:
    names = []
    for a in range(atoms.n):
        first = idx[int(np.flatnonzero(atoms.of_piece == a)[0])]
        names.append(pieces.compound[first])
    order: dict[str, int] = {}
    return np.asarray([-1 if c is None else order.setdefault(c, len(order)) for c in names], dtype=np.int64)


def ref_to_pieces(of_piece: np.ndarray, parts: list[np.ndarray], idx: np.ndarray) -> list[np.ndarray]:
    out = []
    for part in parts:
        mine = set(np.asarray(part).tolist())
        out.append(np.asarray([p for p, a in zip(idx.tolist(), of_piece.tolist(), strict=True) if a in mine],
                              dtype=np.int64))
    return out


def assert_same_atoms(got: Atoms, want: Atoms) -> None:
    for name in ("of_piece", "w", "area", "perim", "ns_perim", "u", "v", "length", "ns", "pen"):
        g, w = getattr(got, name), getattr(want, name)
        assert g.dtype == w.dtype, name
        assert np.array_equal(g, w), name       # exact: the same floats to the last bit
    assert got.keys == want.keys
    if got.first is not None:   # make_atoms also gives each atom's first piece
        assert got.first.tolist() == np.unique(got.of_piece, return_index=True)[1].tolist()


# ----------------------------------------------------------------------------- inputs

@dataclass
class Case:
    task: Task
    pieces: CommunityPieces


def _cases(communities: Any, buildings: Any, streets: Any) -> list[Case]:
    prep = prepare_inputs(communities, buildings, streets, rules=DEFAULT_RULES, seed=0)
    return [Case(t, tessellate(t.community_id, t.region, t.buildings, t.streets, rules=DEFAULT_RULES))
            for t in prep.tasks if not shapely.is_empty(t.region) and shapely.area(t.region) > 1e-6]


@pytest.fixture(scope="module")
def demo_cases() -> list[Case]:
    communities = io.read_communities(DEMO / "communities.geojson")
    buildings = io.read_buildings(DEMO / "buildings.geojson", communities=communities)
    return _cases(communities, buildings, io.read_streets(DEMO / "streets.geojson"))


@pytest.fixture(scope="module")
def real_cases() -> list[Case]:
    rs = real_district(community_sizes(0, 110_000), seed=0, points=True, streets=False)
    return _cases(rs.communities, rs.buildings, rs.streets)


def _subsets(pieces: CommunityPieces) -> list[np.ndarray]:
    """The whole community, a connected part, a scattered subset and a shuffled order."""
    n = pieces.n
    rng = np.random.default_rng(n)
    # a connected part: breadth-first from piece 0 over half the pieces
    nbr: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(pieces.edge_u.tolist(), pieces.edge_v.tolist(), strict=True):
        nbr[a].append(b)
        nbr[b].append(a)
    seen, todo = {0}, [0]
    while todo and len(seen) < max(1, n // 2):
        for q in nbr[todo.pop(0)]:
            if q not in seen:
                seen.add(q)
                todo.append(q)
    scattered = np.flatnonzero(rng.random(n) < 0.6)
    return [np.arange(n), np.asarray(sorted(seen), dtype=np.int64), scattered, rng.permutation(n)]


# ----------------------------------------------------------------------------- atoms equal the reference

@pytest.mark.parametrize("which", ["demo", "real"])
def test_atoms_keys_and_compound_codes_equal_the_reference(which: str, demo_cases: list[Case],
                                                           real_cases: list[Case]) -> None:
    cases = demo_cases if which == "demo" else real_cases
    seen_kinds: set[str] = set()
    for case in cases:
        p = case.pieces
        for idx in _subsets(p):
            for level in (0, 1, 2):
                want = ref_atoms(p, idx, level)
                got = make_atoms(p, idx, level, DEFAULT_RULES)
                assert_same_atoms(got, want)
                assert atom_keys(p, idx, level, DEFAULT_RULES.max_households) == \
                    ref_keys(p, idx, level, DEFAULT_RULES.max_households)
                want_codes = ref_compound_of(p, idx, want).tolist()
                assert compound_of(p, idx, got).tolist() == want_codes
                assert compound_of(p, idx, want).tolist() == want_codes    # atoms made elsewhere (no .first)
                seen_kinds |= {k[0] for k in got.keys}
    assert seen_kinds >= {"C", "B", "U"}          # every grouping was exercised


def test_components_equal_the_reference_and_scipy(demo_cases: list[Case], real_cases: list[Case]) -> None:
    for case in demo_cases + real_cases:
        p = case.pieces
        want = ref_components(p.n, p.edge_u, p.edge_v)
        got = p.components()
        assert got[0] == want[0] and got[1].tolist() == want[1].tolist()
    rng = np.random.default_rng(7)
    for _ in range(200):     # long paths in random order take the most hook-and-jump rounds
        n = int(rng.integers(1, 400))
        perm = rng.permutation(n)
        u, v = perm[:-1], perm[1:]
        cut = rng.random(len(u)) < 0.05
        u, v = u[~cut], v[~cut]
        extra = int(rng.integers(0, n))
        u = np.concatenate([u, rng.integers(0, n, extra)])
        v = np.concatenate([v, rng.integers(0, n, extra)])
        k, lab = components(n, u, v)
        want_k, want = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)), directed=False)
        assert k == want_k and lab.tolist() == want.tolist()
    assert components(0, np.zeros(0, np.int64), np.zeros(0, np.int64))[0] == 0


def _strip(compounds: list[str | None], buildings: list[str | None]) -> CommunityPieces:
    """A row of unit squares side by side, piece i touching i+1."""
    n = len(compounds)
    geom = np.asarray([shapely.box(i, 0, i + 1, 1) for i in range(n)], dtype=object)
    u = np.arange(n - 1, dtype=np.int64)
    return CommunityPieces(
        community_id="c", geom=geom, households=np.asarray([0 if b is None else 50 for b in buildings]),
        building=np.asarray(buildings, dtype=object), unit=np.zeros(n, np.int64), n_units=np.zeros(n, np.int64),
        units_known=np.zeros(n, bool), compound=np.asarray(compounds, dtype=object), block=np.zeros(n, np.int64),
        area=np.ones(n), perim=np.full(n, 4.0), edge_u=u, edge_v=u + 1, edge_len=np.ones(n - 1),
        edge_ns=np.ones(n - 1))


def test_a_compound_cut_in_two_gives_two_atoms_labelled_apart() -> None:
    # compound X, a lone building, compound X again, then X's second building, an empty block
    p = _strip(["X", None, "X", "X", None], ["b1", "b2", "b3", "b4", None])
    idx = np.arange(p.n)
    atoms = make_atoms(p, idx, 0, DEFAULT_RULES)
    assert atoms.keys == ["C:X", "B:b2", "C:X~2", "E:0:4"]
    assert atoms.of_piece.tolist() == [0, 1, 2, 2, 3]
    assert atoms.w.tolist() == [50, 50, 100, 0]
    assert atoms.perim.tolist() == [4.0, 4.0, 6.0, 4.0]        # the inner side of b3|b4 is not boundary
    assert_same_atoms(atoms, ref_atoms(p, idx, 0))
    assert compound_of(p, idx, atoms).tolist() == [0, -1, 0, -1]
    # at level 2 a compound is no atom: its buildings are
    assert make_atoms(p, idx, 2, DEFAULT_RULES).keys == ["B:b1", "B:b2", "B:b3", "B:b4", "E:0:4"]


def test_codes_and_edge_shares_follow_replaced_arrays() -> None:
    p = _strip(["X", "X", "Y"], ["b1", "b1", "b2"])
    idx = np.arange(3)
    assert make_atoms(p, idx, 0, DEFAULT_RULES).pen.tolist() == [0.0]   # b1|b2 is the only cut left
    assert make_atoms(p, idx, 2, DEFAULT_RULES).keys == ["B:b1", "B:b2"]
    p.building = np.asarray(["b1", "b3", "b2"], dtype=object)       # a new array: codes must follow
    got = make_atoms(p, idx, 2, DEFAULT_RULES)
    assert got.keys == ["B:b1", "B:b3", "B:b2"]
    assert got.pen.tolist() == [PEN_COMPOUND, 0.0]
    assert_same_atoms(got, ref_atoms(p, idx, 2))
    assert p.components()[0] == 1
    q = _strip(["X", None, None, "X"], ["b1", None, None, "b2"])
    q.edge_u, q.edge_v = np.asarray([0, 2]), np.asarray([1, 3])      # two parts: {0, 1} and {2, 3}
    q.edge_len, q.edge_ns = np.ones(2), np.ones(2)
    assert q.components()[1].tolist() == [0, 0, 1, 1]
    q.add_virtual_edge(0, 3)                                        # joins the parts, and compound X
    assert q.components()[1].tolist() == [0, 0, 0, 0]
    assert_same_atoms(make_atoms(q, np.arange(4), 2, DEFAULT_RULES), ref_atoms(q, np.arange(4), 2))


# ----------------------------------------------------------------------------- the plans are unchanged

def _plans(cases: list[Case], seed: int) -> list[Any]:
    out = []
    for case in cases:
        pieces = CommunityPieces(**{f: getattr(case.pieces, f) for f in (
            "community_id", "geom", "households", "building", "unit", "n_units", "units_known", "compound", "block",
            "area", "perim", "edge_u", "edge_v", "edge_len", "edge_ns", "virtual")})
        task = Task(**{**case.task.__dict__, "seed": seed})
        solved, joins = solve_pieces(task, pieces, DEFAULT_RULES)
        out.append((joins, [(s.level, s.k, s.relaxed, s.reason, s.blocking, [part.tolist() for part in s.parts])
                            for s in solved]))
    return out


@pytest.mark.parametrize("seed", [0, 3])
def test_plans_are_those_of_the_reference_atoms(seed: int, demo_cases: list[Case], real_cases: list[Case],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cases = demo_cases[:6] + sorted(real_cases, key=lambda c: c.pieces.n)[:8]
    fast = _plans(cases, seed)
    monkeypatch.setattr(community_mod, "make_atoms", lambda p, idx, level, rules: ref_atoms(p, idx, level))
    monkeypatch.setattr(community_mod, "compound_of", ref_compound_of)
    monkeypatch.setattr(community_mod, "_to_pieces", ref_to_pieces)
    assert fast == _plans(cases, seed)
