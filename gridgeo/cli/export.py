"""``export`` and ``print``: any result in GeoJSON/GeoPackage/Shapefile/CSV/XLSX, and printable grid sheets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from gridgeo import io
from gridgeo.errors import SchemaError
from gridgeo.export import FORMATS, export_layers, write_atomic
from gridgeo.export.sheets import mask_phone, select_grids, sheet_png, sheets_pdf

_ASSIGNMENT_NEEDS = ("building_id", "grid_id", "households")


def read_assignments(path: str | Path) -> pd.DataFrame:
    """Read a building→grid table written by ``partition`` / ``plan export`` (CSV or XLSX; ids as text)."""
    p = Path(path)
    frame = pd.read_excel(p, dtype=str) if p.suffix.lower() == ".xlsx" else \
        pd.read_csv(p, dtype=str, encoding="utf-8-sig")
    missing = [c for c in _ASSIGNMENT_NEEDS if c not in frame.columns]
    if missing:
        raise SchemaError(f"the table lacks the column(s) {', '.join(missing)}", path=p, value=", ".join(missing),
                          code="err.export.bad_table", remedy="use a file exported by gridgeo or add these columns")
    frame["households"] = pd.to_numeric(frame["households"], errors="coerce").astype("Int64")
    return frame


def _staff(path: str | None, unmask: bool) -> pd.DataFrame | None:
    if not path:
        return None
    staff = io.read_staff(path)
    if not unmask and "phone" in staff.columns:
        staff = staff.assign(phone=staff["phone"].map(mask_phone))
    return staff


def _cmd_export(args: argparse.Namespace) -> int:
    layers: dict[str, pd.DataFrame] = {"grids": io.read_grids(args.grids)}
    if args.assignments:
        layers["assignments"] = read_assignments(args.assignments)
    staff = _staff(args.staff, args.unmask_phones)
    if staff is not None:
        layers["staff"] = staff
    written = export_layers(layers, args.format, args.out, coords=args.coords, lang=args.lang,
                            headers=args.headers, shp_encoding=args.shp_encoding)
    for path in written:
        print(path)
    return 0


def _cmd_print(args: argparse.Namespace) -> int:
    grids = io.read_grids(args.grids)
    communities = io.read_communities(args.communities) if args.communities else None
    buildings = io.read_buildings(args.buildings, communities=communities)
    streets = io.read_streets(args.streets) if args.streets else None
    staff = io.read_staff(args.staff) if args.staff else None     # the sheets mask phones themselves
    ids = select_grids(grids, grid_id=args.grid, community_id=args.community)
    options = dict(streets=streets, staff=staff, communities=communities, paper=args.paper, lang=args.lang,
                   mask_phones=not args.unmask_phones, version=args.version or "")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        write_atomic(out, sheet_png(grids, buildings, ids[0], **options))
    else:
        write_atomic(out, sheets_pdf(grids, buildings, ids, **options))
    print(f"{len(ids) if out.suffix.lower() != '.png' else 1} sheet(s) -> {out}", file=sys.stderr)
    print(out)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` and ``print`` commands."""
    e = sub.add_parser("export", help="write grids (and assignments, staff) as GeoJSON, GeoPackage, Shapefile, "
                                      "CSV or XLSX")
    e.add_argument("--grids", required=True, help="grids file (polygons; any format the loaders read)")
    e.add_argument("--assignments", help="building→grid table (assignments.csv from partition or plan export)")
    e.add_argument("--staff", help="staff roster with grid_id (CSV/XLSX); phones are masked unless --unmask-phones")
    e.add_argument("--format", required=True, choices=FORMATS, help="output format")
    e.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default="wgs84",
                   help="shift coordinates for AMap/Tencent (gcj02) or Baidu (bd09); marked in the file name")
    e.add_argument("--headers", choices=["zh", "en"], help="CSV/XLSX header language (default: --lang)")
    e.add_argument("--shp-encoding", choices=["UTF-8", "GBK"], default="UTF-8",
                   help="Shapefile text encoding (GBK for old ArcGIS)")
    e.add_argument("--unmask-phones", action="store_true", help="write full phone numbers")
    e.add_argument("--out", required=True, help="output folder (or a .gpkg file for --format gpkg)")
    e.set_defaults(func=_cmd_export)

    p = sub.add_parser("print", help="printable grid sheets (PDF, one page per grid, or one PNG)")
    p.add_argument("--grids", required=True, help="grids file (polygons)")
    p.add_argument("--buildings", required=True, help="buildings file (polygons or points)")
    p.add_argument("--streets", help="streets file (lines)")
    p.add_argument("--communities", help="communities file (names the community on each sheet)")
    p.add_argument("--staff", help="staff roster with grid_id: leader and workers on each sheet")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--grid", help="one grid code")
    which.add_argument("--community", help="every grid of one community (12-digit code)")
    p.add_argument("--paper", choices=["A4", "A3"], default="A4", help="paper size (portrait)")
    p.add_argument("--version", help="plan version printed on each sheet")
    p.add_argument("--unmask-phones", action="store_true", help="print full phone numbers")
    p.add_argument("--out", required=True, help="FILE.pdf (one page per grid) or FILE.png (one grid)")
    p.set_defaults(func=_cmd_print)
