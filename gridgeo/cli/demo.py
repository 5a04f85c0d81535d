"""``demo``: write the seeded synthetic district."""

from __future__ import annotations

import argparse


def _cmd_demo(args: argparse.Namespace) -> int:
    from gridgeo.synthetic import write_district

    path = write_district(args.out, seed=args.seed, scale=args.scale, with_cases=not args.no_cases)
    print(path)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command."""
    d = sub.add_parser("demo", help="write a synthetic demo district (seeded)")
    d.add_argument("--out", default="data/demo", help="output folder")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--scale", type=int, default=1, help="1 = 19 communities; 10 = a city ten times larger")
    d.add_argument("--no-cases", action="store_true", help="skip cases and staff")
    d.set_defaults(func=_cmd_demo)
