"""Distributed mode: the same plan on a Dask cluster as locally, through the library and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

from gridgeo.cli import main
from gridgeo.partition import partition
from tests.partition_cases import Bld, Com, check_invariants, frames, grid_of_buildings, local_box, same_result


def _district() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    coms = [Com(f"3701240010{i:02d}", local_box(300 * i, 0, 300 * i + 300, 300),
                grid_of_buildings(f"C{i}", 300 * i + 30, 40, 4, 4, 70, 70, [60 + 20 * i, 90, 120]))
            for i in range(1, 5)]
    coms[1].buildings.append(Bld("TOWER", 450, 150, 760, units=None, w=40, h=14))
    return frames(coms)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc:
        yield lc


def test_a_dask_cluster_gives_the_same_plan_as_a_local_run(cluster: LocalCluster) -> None:
    c, b, s = _district()
    local = partition(c, b, s, seed=5)
    with Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        remote = partition(c, b, s, seed=5, executor=client.get_executor())
    check_invariants(remote, c, b)
    assert same_result(local, remote)
    pd.testing.assert_frame_equal(local.report, remote.report)


def test_any_executor_is_accepted_and_progress_counts_every_community() -> None:
    c, b, s = _district()
    seen: list[str] = []
    with ThreadPoolExecutor(3) as ex:
        res = partition(c, b, s, seed=5, executor=ex, progress=lambda done, total, cid: seen.append(cid))
    assert sorted(seen) == sorted(c.index) and same_result(res, partition(c, b, s, seed=5))


def test_cli_scheduler_runs_on_the_cluster(cluster: LocalCluster, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    c, b, _ = _district()
    c.to_file(tmp_path / "c.geojson")
    b.drop(columns="community_id").assign(households=b["households"].astype(int)).to_file(tmp_path / "b.geojson")
    args = ["--lang", "en", "partition", "--communities", str(tmp_path / "c.geojson"), "--buildings", str(tmp_path / "b.geojson"),
            "--seed", "2"]
    assert main([*args, "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "dask")]) == 0
    err = capsys.readouterr().err
    assert "Dask cluster" in err and "(2 workers)" in err
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    for name in ("grids.geojson", "assignments.csv"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_cli_unreachable_scheduler_exits_2_without_a_traceback(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    c, b, _ = _district()
    c.to_file(tmp_path / "c.geojson")
    b.drop(columns="community_id").assign(households=b["households"].astype(int)).to_file(tmp_path / "b.geojson")
    code = main(["partition", "--communities", str(tmp_path / "c.geojson"), "--buildings",
                 str(tmp_path / "b.geojson"), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "tcp://127.0.0.1:9" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_a_cluster_that_cannot_run_the_tasks_exits_2_with_the_reason(cluster: LocalCluster, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker without gridgeo (simulated: the task raises what such a worker raises) is reported, not a traceback."""
    from gridgeo.partition import engine

    def no_gridgeo_here(args: object) -> None:
        raise ModuleNotFoundError("No module named 'gridgeo'")

    monkeypatch.setattr(engine, "_run", no_gridgeo_here)
    c, b, _ = _district()
    c.to_file(tmp_path / "c.geojson")
    b.drop(columns="community_id").assign(households=b["households"].astype(int)).to_file(tmp_path / "b.geojson")
    for lang, words in (("en", "could not run gridgeo's tasks"), ("zh", "无法运行 gridgeo 的任务")):
        code = main(["--lang", lang, "partition", "--communities", str(tmp_path / "c.geojson"), "--buildings",
                     str(tmp_path / "b.geojson"), "--scheduler", cluster.scheduler_address, "--out",
                     str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert code == 2 and words in err and "No module named 'gridgeo'" in err and "Traceback" not in err
        assert not (tmp_path / "o").exists()
