"""``demo``: write the seeded synthetic district.

The roster's current ``grid_id``s are those of the district's default plan
(the engine with the default rules and seed 0, the plan the app and
``plan create`` make first), so ``staff check`` and ``staff assign
--keep-current`` have a current staffing to judge and keep. The engine runs on
the files just written, read back, exactly as the app reads them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridgeo.synthetic import SyntheticDistrict


def write_demo(out: str | Path, *, seed: int = 0, scale: int = 1, with_cases: bool = True,
               staff_grids: bool = True, workers: int = 1) -> tuple[Path, SyntheticDistrict]:
    """Write the seeded district to ``out``; the roster's grid_ids come from the default plan.

    ``scripts/make_demo.py`` (``make demo``) and ``python -m gridgeo demo`` both call
    this, so either way of regenerating data/demo writes the same files.
    """
    from gridgeo.synthetic import make_district, staff_grid_ids, write_layers, write_staff

    district = make_district(seed=seed, scale=scale, with_cases=with_cases, with_staff=with_cases)
    path = write_layers(district, out)
    if district.staff is not None and staff_grids:
        from gridgeo import io
        from gridgeo.partition import partition

        print("dividing the district with the default rules (seed 0) for the roster's current grids",
              file=sys.stderr)
        d = io.read_district(path)
        plan = partition(d.communities, d.buildings, d.streets, seed=0, workers=workers)
        write_staff(district.staff.assign(grid_id=staff_grid_ids(district.staff, plan.grids)), path)
    return path, district


def _cmd_demo(args: argparse.Namespace) -> int:
    path, _ = write_demo(args.out, seed=args.seed, scale=args.scale, with_cases=not args.no_cases,
                         staff_grids=not args.no_staff_grids, workers=args.workers)
    print(path)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command."""
    d = sub.add_parser("demo", help="write a synthetic demo district (seeded)")
    d.add_argument("--out", default="data/demo", help="output folder")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--scale", type=int, default=1, help="1 = 19 communities; 10 = a city ten times larger")
    d.add_argument("--no-cases", action="store_true", help="skip cases and staff")
    d.add_argument("--no-staff-grids", action="store_true",
                   help="leave the roster's grid_id empty (skips dividing the district)")
    d.add_argument("--workers", type=int, default=1, help="processes for the division")
    d.set_defaults(func=_cmd_demo)
