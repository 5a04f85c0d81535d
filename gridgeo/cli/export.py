"""``export`` and ``print``: any result in GeoJSON/GeoPackage/Shapefile/CSV/XLSX, and printable grid sheets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gridgeo import io
from gridgeo import staffing as sf
from gridgeo.errors import InputError, SchemaError
from gridgeo.export import BUNDLE, FORMATS, export_file, export_layers, write_atomic
from gridgeo.export.results import LAYER_ORDER, RESULT_INPUTS, result_layers
from gridgeo.export.sheets import select_grids, sheet_png, sheets_pdf
from gridgeo.grids import grid_table
from gridgeo.i18n import Lang, t
from gridgeo.io.formats import read_raw

_ASSIGNMENT_NEEDS = ("building_id", "grid_id", "households")


def read_assignments(path: str | Path) -> pd.DataFrame:
    """Read a building→grid table written by ``partition`` / ``plan export`` (CSV or XLSX; ids as text)."""
    p = Path(path)
    frame = read_raw(p, layer_name="plan_table").frame if p.suffix.lower() == ".xlsx" else \
        pd.read_csv(p, dtype=str, encoding="utf-8-sig")
    missing = [c for c in _ASSIGNMENT_NEEDS if c not in frame.columns]
    if missing:
        raise SchemaError(f"the table lacks the column(s) {', '.join(missing)}", path=p, value=", ".join(missing),
                          code="err.export.bad_table", remedy="use a file exported by gridgeo or add these columns")
    frame["households"] = pd.to_numeric(frame["households"], errors="coerce").astype("Int64")
    if "units" in frame.columns:
        frame["units"] = pd.to_numeric(frame["units"], errors="coerce").astype("Int64")
    if "estimated" in frame.columns:
        frame["estimated"] = frame["estimated"].astype(str).str.lower().isin(["true", "1", "yes", "是"])
    if "unit_range" in frame.columns:
        frame["unit_range"] = frame["unit_range"].fillna("")
    return frame


def _with_homes(staff: pd.DataFrame) -> gpd.GeoDataFrame:
    """A roster without lon/lat columns as a layer whose homes are unknown (staffing then keeps current grids)."""
    if isinstance(staff, gpd.GeoDataFrame):
        return staff
    if staff.index.name != "staff_id" and "staff_id" in staff.columns:
        staff = staff.set_index("staff_id")
    return gpd.GeoDataFrame(staff, geometry=gpd.GeoSeries([None] * len(staff), index=staff.index), crs=4326)


def _cmd_export(args: argparse.Namespace) -> int:
    district = io.read_district(args.district) if args.district else None

    def layer(name: str) -> Any:
        """The file given for ``name``, else the district's own layer."""
        path = getattr(args, name, None)
        if path:
            return getattr(io, f"read_{name}")(path)
        return getattr(district, name, None) if district is not None else None

    grids = io.read_grids(args.grids) if args.grids else layer("grids")
    if grids is None:
        raise InputError("no grids to export", code="err.export.no_grids",
                         remedy="give --grids FILE, or --district DIR with a grids file")
    buildings, communities = layer("buildings"), layer("communities")
    layers: dict[str, pd.DataFrame] = {}
    assignments = read_assignments(args.assignments) if args.assignments else None
    layers["grids"] = grid_table(grids, buildings, assignments, communities) if buildings is not None else grids
    if assignments is not None:
        layers["assignments"] = assignments
    staff = layer("staff")
    roster = sf.roster_from_frame(_with_homes(staff), grids, path=args.staff or "staff", unknown_grid="warning") \
        if staff is not None else None
    wanted = [n for n in (args.layers or LAYER_ORDER) if n in RESULT_INPUTS]
    results = result_layers(grids, buildings=buildings, assignments=assignments, roster=roster,
                            cases=layer("cases"), stations=layer("stations"), streets=layer("streets"),
                            show_phones=args.show_phones, staffing_mode=args.staff_mode, sites=args.sites,
                            as_of=args.as_of, wanted=wanted)
    layers.update(results.layers)
    if args.layers:
        layers = {n: f for n, f in layers.items() if n in args.layers}
    lang: Lang = "en" if args.lang == "en" else "zh"
    for name in results.missing:
        if not args.layers or any(RESULT_INPUTS[n] == name for n in args.layers if n in RESULT_INPUTS):
            print(t("export.cli.missing", lang, what=t(f"export.input.{name}", lang),
                    option=f"--{name}"), file=sys.stderr)
    if args.format == BUNDLE:
        file = export_file(layers, BUNDLE, coords=args.coords, lang=lang, headers=args.headers,
                           shp_encoding=args.shp_encoding, show_phones=args.show_phones)
        out = Path(args.out)
        target = out if out.suffix.lower() == ".zip" else out / file.name
        write_atomic(target, file.data)
        written = [target]
    else:
        written = export_layers(layers, args.format, args.out, coords=args.coords, lang=lang,
                                headers=args.headers, shp_encoding=args.shp_encoding, show_phones=args.show_phones)
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
    e = sub.add_parser("export", help="write grids and every result (staffing, cases, hotspots, compliance, "
                                      "coverage, sites) as GeoPackage, GeoJSON, Shapefile, CSV or XLSX")
    e.add_argument("--grids", help="grids file (polygons; any format the loaders read); default: the district's")
    e.add_argument("--district", help="district folder: buildings, streets, stations, staff and cases not given "
                                      "as files are taken from it")
    e.add_argument("--assignments", help="building→grid table (assignments.csv from partition or plan export)")
    e.add_argument("--buildings", help="buildings file: households per grid, coverage")
    e.add_argument("--communities", help="communities file (community names in the grids table)")
    e.add_argument("--streets", help="streets file: walking distances for coverage")
    e.add_argument("--staff", help="staff roster (CSV/XLSX): roster with grid codes and staffing per grid")
    e.add_argument("--staff-mode", choices=["assign", "check"], default="assign",
                   help="assign the roster optimally (current grids kept) or check it as it stands")
    e.add_argument("--cases", help="cases file: cases with grid codes, hotspot grids, compliance per grid")
    e.add_argument("--as-of", help="compliance judged at the end of this day (YYYY-MM-DD; default: last case)")
    e.add_argument("--stations", help="service stations file: coverage per grid and proposed sites")
    e.add_argument("--sites", type=int, default=3, help="how many new station sites to propose (0: none)")
    e.add_argument("--layers", nargs="+", choices=LAYER_ORDER, metavar="LAYER",
                   help=f"only these layers ({', '.join(LAYER_ORDER)})")
    e.add_argument("--format", required=True, choices=[*FORMATS, BUNDLE],
                   help="output format (all: GeoPackage + XLSX + GeoJSON in one zip)")
    e.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default="wgs84",
                   help="shift coordinates for AMap/Tencent (gcj02) or Baidu (bd09); marked in the file name")
    e.add_argument("--headers", choices=["zh", "en"], help="CSV/XLSX header language (default: --lang)")
    e.add_argument("--shp-encoding", choices=["UTF-8", "GBK"], default="UTF-8",
                   help="Shapefile text encoding (GBK for old ArcGIS)")
    e.add_argument("--show-phones", "--unmask-phones", dest="show_phones", action="store_true",
                   help="write full phone numbers (masked as 138****1234 by default)")
    e.add_argument("--out", required=True, help="output folder (or a .gpkg file for --format gpkg, .zip for all)")
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
