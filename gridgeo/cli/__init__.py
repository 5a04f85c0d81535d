"""Command line: ``python -m gridgeo …`` does what the app does.

One module per command group (``cli.validate``, ``cli.partition`` …), each with
a ``register(sub)`` that adds its subparser; this module wires them together.

Exit codes: 0 ok, 1 checked and found problems (``validate``), 2 unusable
input (a ``GridgeoError``: one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gridgeo import __version__
from gridgeo.cli import cases, coverage, demo, export, partition, plan, staff, validate
from gridgeo.errors import GridgeoError

#: command modules, in the order ``--help`` lists them (``plan`` adds the edit commands of ``cli.plan_edit``)
COMMANDS = (validate, partition, plan, cases, coverage, staff, export, demo)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (one subcommand per library area)."""
    parser = argparse.ArgumentParser(prog="python -m gridgeo",
                                     description="gridgeo: grid planning for urban community governance")
    parser.add_argument("--version", action="version", version=f"gridgeo {__version__}")
    parser.add_argument("--lang", choices=["zh", "en"], default="en", help="language of summaries")
    sub = parser.add_subparsers(dest="command", required=True)

    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except GridgeoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # e.g. bounds min > max from Rules
        print(f"error: {err}", file=sys.stderr)
        return 2
