"""Large communities (issue #14): 10,000–50,000 households, 25–125 grids in one connected piece.

Districts come from ``bench/real_shapes.py``: compounds of lattice buildings (points or
footprints), compounds of up to 9,000 households, towers of up to 950 households without a
unit count, a quarter of the buildings non-residential (0 households). Every invariant is
checked from the inputs (``check_invariants``); every community must be within bounds and
say ``ok``, for any seed.
"""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from bench.real_shapes import real_district
from gridgeo.partition import partition
from tests.partition_cases import check_invariants


@pytest.mark.parametrize("points, streets", [(True, False), (False, True)])
def test_communities_of_10_25_and_50_thousand_households_are_divided_within_bounds(points: bool,
                                                                                   streets: bool) -> None:
    d = real_district([10_000, 25_000, 50_000], seed=3, points=points, streets=streets)
    b = d.buildings
    assert (b["households"] == 0).mean() > 0.2                          # non-residential buildings
    assert b.groupby("compound_id")["households"].sum().max() > 2_000    # big compounds
    assert (b["households"] > 500).any() and b.loc[b["households"] > 500, "units"].isna().all()
    res = partition(d.communities, b, d.streets, seed=0)
    check_invariants(res, d.communities, b)
    rep = res.report
    assert rep["households"].tolist() == [10_000, 25_000, 50_000]
    assert (rep["status"] == "ok").all(), rep[["status", "flags"]]
    # 50,000 households: 100–166 grids possible; all of them in one piece, each 300–500
    assert 100 <= rep["grids"].iloc[2] <= 166
    assert res.grids["households"].between(300, 500).all()
    # non-residential buildings are assigned (0 households) and counted in their grids
    zero = res.assignments[res.assignments["households"] == 0]
    assert set(zero["building_id"]) == set(b.index[b["households"] == 0])


@settings(deadline=None, max_examples=6, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.integers(0, 1000), st.booleans())
def test_no_seed_gives_a_worse_status_on_a_large_community(seed: int, data_seed: int, points: bool) -> None:
    d = real_district([12_000], seed=data_seed, points=points, streets=not points)
    res = partition(d.communities, d.buildings, d.streets, seed=seed)
    check_invariants(res, d.communities, d.buildings)
    assert res.report["status"].tolist() == ["ok"]
    assert res.metrics()["share_within_feasible"] == 1.0
