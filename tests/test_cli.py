"""The command line runs the same loaders as the app and reports in plain words."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gridgeo.cli import main

DATA = Path(__file__).parent / "data"


def test_help_runs_as_module() -> None:
    out = subprocess.run([sys.executable, "-m", "gridgeo", "--help"], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], check=True)
    for command in ("validate", "partition", "demo"):
        assert command in out.stdout


def test_module_run_keeps_exit_codes_and_output_and_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    """``python -m gridgeo`` skips the interpreter's teardown (``os._exit``): codes, files and streams must survive."""
    root = Path(__file__).parents[1]
    args = [sys.executable, "-m", "gridgeo", "--lang", "en", "partition", "--communities",
            str(DATA / "communities.geojson"), "--buildings", str(DATA / "buildings.geojson"), "--out", str(tmp_path)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=root)
    assert done.returncode in (0, 1), done.stderr
    assert any("grids;" in line for line in done.stdout.splitlines())   # the summary, flushed before the fast exit
    grids = json.loads((tmp_path / "grids.geojson").read_text(encoding="utf-8"))
    assert len(grids["features"]) > 0
    missing = subprocess.run([*args[:7], str(tmp_path / "none.geojson"), *args[8:]], capture_output=True, text=True,
                             cwd=root)
    assert missing.returncode == 2 and "none.geojson" in missing.stderr
    # the reader stops after one line (``… | head -1``): exit 1, no traceback
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 1
    assert "Traceback" not in err


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--lang", "en", "validate", "buildings", str(DATA / "buildings.geojson"),
                 "--communities", str(DATA / "communities.geojson")])
    assert code == 0
    assert "OK: " in capsys.readouterr().out


def test_validate_reports_every_problem_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--lang", "en", "validate", "buildings", str(DATA / "bad_households.csv"),
                 str(DATA / "buildings.geojson")])
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("error: bad_households.csv row") == 2   # '约300' and -5; 0 is a valid non-residential building
    assert "OK: " in out  # the good file is still reported


def test_validate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--lang", "en", "validate", "buildings", str(DATA / "bad_duplicate_ids.csv"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report[0]["ok"] is False
    assert "'B100' is used 2 times" in report[0]["errors"][0]


def test_unreadable_file_is_reported_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--lang", "en", "validate", "buildings", str(DATA / "missing.csv")])
    assert code == 1
    assert "missing.csv: file not found" in capsys.readouterr().out


def test_bad_bounds_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["partition", "--communities", str(DATA / "communities.geojson"),
                 "--buildings", str(DATA / "buildings.geojson"), "--min", "600", "--max", "500",
                 "--out", str(tmp_path)])
    assert code == 2
    assert "min ≤ target ≤ max" in capsys.readouterr().err


def test_progress_to_a_log_is_one_line_per_tenth_not_one_glued_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Redirected stderr (a log, CI) gets whole lines: at most one per 10% of the communities, and the last."""
    from gridgeo.cli import progress_printer

    progress = progress_printer("en")
    total = 190
    for done in range(1, total + 1):
        progress(done, total, f"c{done}")
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    counts = [int(line.split("/")[0]) for line in lines]
    assert counts == sorted(counts) and counts[-1] == total and f"c{total}" in lines[-1]
    assert len(lines) == len({done * 10 // total for done in range(1, total + 1)})   # 11: 0%, 10%, …, 100%


def test_the_cli_process_freezes_its_start_up_and_still_collects_garbage() -> None:
    """``python -m gridgeo`` freezes what imports and numba's set-up made (the collector walked
    it again and again: 0.3–0.45 s of a partition run) and leaves the collector on; in a host
    process (this one) ``start_up`` changes nothing."""
    import gc

    from gridgeo.cli import start_up
    before = gc.get_freeze_count()
    with start_up():
        assert gc.isenabled()
    assert gc.get_freeze_count() == before
    code = ("import gc, gridgeo.cli\n"
            "gridgeo.cli.OWN_PROCESS = True\n"
            "with gridgeo.cli.start_up():\n"
            "    assert not gc.isenabled()\n"
            "    import pandas\n"
            "assert gc.isenabled() and gc.get_freeze_count() > 100_000, gc.get_freeze_count()\n"
            "class Node: pass\n"
            "a, b = Node(), Node(); a.other, b.other = b, a\n"
            "import weakref; r = weakref.ref(a); del a, b\n"
            "gc.collect(); assert r() is None, 'a cycle made after start-up was not collected'\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"

