"""``cases``: the case command group (import, heatmaps, hotspots — and ``sla`` from ``cli.cases_sla``).

Minimal on the ``sla`` branch: it only creates the group; the cases branch adds its commands.
"""

from __future__ import annotations

import argparse

from gridgeo.cli import cases_sla


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cases`` command group."""
    p = sub.add_parser("cases", help="citizen cases: time-limit compliance (sla)")
    cases_sub = p.add_subparsers(dest="cases_command", required=True)
    cases_sla.register(cases_sub)
