"""cli: a run imports only its command's module, and every command is routed to the module registering it."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from gridgeo.cli import ROUTES, build_parser

ROOT = Path(__file__).resolve().parents[1]


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_every_command_is_routed_to_the_module_that_registers_it() -> None:
    everything = _commands(build_parser())
    assert everything == set(ROUTES)
    for name in everything:
        alone = build_parser([name])
        assert name in _commands(alone), name


def test_partition_run_does_not_import_other_commands_libraries() -> None:
    code = ("import sys; from gridgeo.cli import build_parser; build_parser(['partition', '--help']); "
            "print(sorted(m for m in ('matplotlib', 'scipy.stats', 'scipy.sparse', 'networkx', 'openpyxl', "
            "'gridgeo.cases', 'gridgeo.staffing', 'gridgeo.export.sheets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lang_option_before_the_command_is_skipped() -> None:
    assert "partition" in _commands(build_parser(["--lang", "zh", "partition"]))
