"""``python -m gridgeo plan move|merge|split|lock|rebalance|dedicate`` on a real workspace file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridgeo.cli import main
from gridgeo.plans import EditSession, Workspace
from tests.plans_support import small_district, small_plan


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    path = tmp_path / "ws.gpkg"
    ws = Workspace.open(path, create_from=small_district())
    ws.save(small_plan(), parent=None, author="test", note="engine")
    return path


def _movable(ses: EditSession) -> tuple[str, str, str]:
    b = small_district().buildings
    for bid in b.index:
        own = ses.grid_of(bid)
        nbs = ses.neighbours_of_building(bid)
        if len(own) == 1 and nbs and int(b.loc[bid, "households"]) < 100:
            return str(bid), own[0], nbs[0]
    raise AssertionError("no movable building")


def test_plan_move_saves_a_version_and_prints_its_id_last(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.open(store)
    d = small_district()
    before = ws.load()
    ses = EditSession(before, d.communities, d.buildings, d.streets)
    bid, src, dst = _movable(ses)
    hh = int(d.buildings.loc[bid, "households"])
    code = main(["--lang", "en", "plan", "move", "--store", str(store), "--building", bid, "--to", dst,
                 "--author", "李四", "--note", "school catchment"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[-1] == "v2"
    assert any(line.startswith(f"grid {dst}: {int(before.grids.loc[dst, 'households']) + hh} households")
               for line in out)
    after = ws.load("v2")
    assert after.parent == "v1" and after.author == "李四"
    rows = after.assignments[after.assignments["building_id"] == bid]
    assert rows["grid_id"].tolist() == [dst]
    per_grid = after.assignments.groupby("grid_id")["households"].sum()
    assert int(per_grid[dst]) == int(before.grids.loc[dst, "households"]) + hh
    assert int(per_grid[src]) == int(before.grids.loc[src, "households"]) - hh
    assert after.meta["edits"][-1]["op"] == "move"


def test_plan_move_across_communities_exits_2_with_the_message(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.open(store)
    plan = ws.load()
    b = small_district().buildings
    bid = str(b.index[b["community_id"] == "370124001001"][0])
    other = str(plan.grids.index[plan.grids["community_id"] == "370124001002"][0])
    code = main(["--lang", "en", "plan", "move", "--store", str(store), "--building", bid, "--to", other,
                 "--author", "x"])
    err = capsys.readouterr().err
    assert code == 2
    assert "never cross a community boundary" in err and bid in err
    assert main(["plan", "move", "--store", str(store), "--building", bid, "--to", other, "--author", "x"]) == 2
    err = capsys.readouterr().err                                 # default language: Chinese
    assert err.startswith("错误：") and "网格不能跨社区" in err and bid in err and other in err
    assert list(ws.versions().index) == ["v1"]                   # nothing saved


def test_plan_merge_split_lock_dedicate_chain(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.open(store)
    d = small_district()
    plan = ws.load()
    ses = EditSession(plan, d.communities, d.buildings, d.streets)
    g = plan.grids
    a = next(x for x in g.index if ses.grid_neighbours(x))
    b = ses.grid_neighbours(a)[0]
    total = int(g.loc[a, "households"] + g.loc[b, "households"])
    assert main(["plan", "merge", "--store", str(store), a, b, "--author", "x"]) == 0
    v2 = ws.load()
    assert b not in v2.grids.index and int(v2.grids.loc[a, "households"]) == total
    assert main(["plan", "split", "--store", str(store), a, "--author", "x"]) == 0
    v3 = ws.load()
    assert len(v3.grids) == len(g) and int(v3.grids["households"].sum()) == int(g["households"].sum())
    assert main(["plan", "lock", "--store", str(store), a, "--author", "x"]) == 0
    assert bool(ws.load().grids.loc[a, "locked"])
    capsys.readouterr()
    bid, src, dst = _movable(EditSession(ws.load(), d.communities, d.buildings, d.streets))
    assert main(["--lang", "zh", "plan", "dedicate", "--store", str(store), "--building", bid, "--name", "社区医院",
                 "--author", "x"]) == 0
    out = capsys.readouterr().out
    assert "专属网格" in out
    v5 = ws.load()
    ded = v5.grids[v5.grids["kind"] == "dedicated"]
    assert len(ded) == 1 and ded["name"].iloc[0] == "社区医院"
    assert v5.assignments.loc[v5.assignments["building_id"] == bid, "grid_id"].tolist() == [ded.index[0]]


def test_plan_move_with_rebalance(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.open(store)
    d = small_district()
    plan = ws.load()
    ses = EditSession(plan, d.communities, d.buildings, d.streets)
    g, b = plan.grids, d.buildings
    for bid in b.index:
        own = ses.grid_of(bid)
        if len(own) != 1 or g.loc[own[0], "households"] - b.loc[bid, "households"] < 300:
            continue
        over = [x for x in ses.neighbours_of_building(bid) if g.loc[x, "households"] + b.loc[bid, "households"] > 500]
        if over:
            break
    else:
        raise AssertionError("no over-filling move")
    assert main(["plan", "move", "--store", str(store), "--building", bid, "--to", over[0], "--rebalance",
                 "--author", "x"]) == 0
    after = ws.load()
    assert after.assignments.loc[after.assignments["building_id"] == bid, "grid_id"].tolist() == [over[0]]
    assert 300 <= int(after.grids.loc[over[0], "households"]) <= 500
