"""``cases``: import a work-order export, find hotspot grids (and, when installed, ``cases sla``)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo import cases as gcases
from gridgeo import io
from gridgeo.errors import InputError
from gridgeo.export import grids_geojson
from gridgeo.grids import grid_households
from gridgeo.i18n import t

DEFAULT_PROFILES = gcases.default_profiles_dir()


def _district_inputs(args: argparse.Namespace) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame,
                                                         pd.DataFrame | None, object]:
    """Grids, buildings, a plan's assignments (if any) and the district area."""
    if args.district:
        district = io.read_district(args.district)
        buildings = district.buildings
        area = district.communities.union_all()
        if district.grids is not None:
            return district.grids, buildings, None, area
        from gridgeo.partition import partition  # heavy: only when the district has no grids layer

        print(t("cases.cli_partitioning", args.lang), file=sys.stderr)
        result = partition(district.communities, buildings, district.streets, seed=0)
        return result.grids, buildings, result.assignments, area
    if not (args.grids and args.buildings):
        raise InputError("give --district DIR, or both --grids FILE and --buildings FILE",
                         code="err.cases.no_grids", remedy="add --district data/demo or --grids and --buildings")
    grids = io.read_grids(args.grids)
    buildings = io.read_buildings(args.buildings)
    return grids, buildings, None, grids.union_all()


def _cmd_import(args: argparse.Namespace) -> int:
    mapping: dict[str, str] | None = None
    coords = args.coords
    sheet = args.sheet
    if args.profile:
        prof = gcases.load_profile(args.profiles, args.profile)
        mapping = dict(prof["mapping"])
        coords = args.coords or prof.get("coords") or "wgs84"
        sheet = sheet or prof.get("sheet")
    raw = gcases.read_export(args.file, sheet=sheet)
    if args.map:
        mapping = {**(mapping or gcases.suggest_mapping(list(raw.frame.columns))), **gcases.parse_map_args(args.map)}
    mapping = gcases.check_mapping(mapping or gcases.suggest_mapping(list(raw.frame.columns)),
                                   list(raw.frame.columns), path=raw.path)
    grids, buildings, _, area = _district_inputs(args)
    result = gcases.import_cases(raw, mapping, coords=coords or "wgs84", buildings=buildings, area=area)
    cases, joined = gcases.prepare_cases(result.cases, grids)
    report = dataclasses.replace(result.report, outside_grids=joined.n_outside,
                                 outside_grid_rows=cases.loc[joined.outside, "row"].astype(int).tolist())
    csv_path, json_path = gcases.write_import(cases, report, args.out)
    if args.save_profile:
        saved = gcases.save_profile(args.profiles, args.save_profile, report.mapping, coords=report.coords,
                                    sheet=raw.sheet)
        print(t("cases.cli_profile_saved", args.lang, path=saved), file=sys.stderr)
    lang = args.lang
    print(t("cases.cli_summary", lang, rows_in=report.rows_in, loaded=report.rows_loaded,
            matters=cases["matter_id"].nunique(), outside=joined.n_outside, unlocated=report.located_by["none"]))
    for kind, counts in (("set_aside", report.set_aside), ("flagged", report.flagged)):
        for reason, n in counts.items():
            rows = report.rows.get(reason, [])
            more = f" …(+{len(rows) - 20})" if len(rows) > 20 else ""
            print(f"  {t('cases.kind.' + kind, lang)}  {t('cases.reason.' + reason, lang)}: {n}  "
                  f"{t('cases.rows', lang)} {', '.join(map(str, rows[:20]))}{more}")
    print(f"-> {csv_path}, {json_path}")
    return 1 if report.set_aside else 0


def _cmd_hotspots(args: argparse.Namespace) -> int:
    grids = io.read_grids(args.grids)
    buildings = io.read_buildings(args.buildings)
    result = gcases.load_cases(args.cases)
    cases, _ = gcases.prepare_cases(result.cases, grids)
    chosen = gcases.filter_cases(cases, start=args.date_from, end=args.date_to, categories=args.category or None)
    current = gcases.grids_in_force(grids)
    households = grid_households(current, buildings)["households"]
    table = gcases.hotspots(chosen, current, households, count=args.count)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keep = ["cases", "matters", "households", "rate_per_1000", "gi_z", "p_value", "p_fdr", "hotspot", "trend",
            "mk_z", "mk_p", "months_hot", "months"]
    frame = table[keep + ["geometry"]].copy()
    for c in ("p_value", "p_fdr", "mk_p"):
        frame[c] = frame[c].round(6)
    frame["rate_per_1000"] = frame["rate_per_1000"].astype(float)
    path = out / "hotspots.geojson"
    path.write_bytes(grids_geojson(frame))
    counts = table["hotspot"].value_counts()
    print(t("cases.cli_hotspots", args.lang, cases=len(chosen), matters=chosen["matter_id"].nunique(),
            hot=int(counts.filter(like="hot_").sum()), cold=int(counts.filter(like="cold_").sum()),
            grids=len(table)))
    hot = table[table["hotspot"].str.startswith("hot")].sort_values("gi_z", ascending=False)
    for gid, row in hot.head(15).iterrows():
        print(f"  {gid}  {row['rate_per_1000']:>8.1f}/1000  z={row['gi_z']:.2f}  q={row['p_fdr']:.3g}  "
              f"{t('cases.hotspot.' + row['hotspot'], args.lang)}  {t('cases.trend.' + row['trend'], args.lang)}")
    print(f"-> {path}")
    if args.json:
        print(json.dumps({"hot": int(counts.filter(like="hot_").sum()), "path": str(path)}))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cases`` command group (``import``, ``hotspots``, and ``sla`` when that module exists)."""
    p = sub.add_parser("cases", help="citizen cases: import exports, hotspot grids")
    cases_sub = p.add_subparsers(dest="cases_command", required=True)

    imp = cases_sub.add_parser("import", help="import a work-order export (CSV/XLSX) into cases.csv + report")
    imp.add_argument("file", help="the export: CSV (UTF-8, BOM or GBK) or XLSX")
    imp.add_argument("--sheet", help="XLSX sheet to read (default: the first)")
    imp.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default=None,
                     help="coordinate system of the export (GCJ-02: AMap/Tencent, BD-09: Baidu); default wgs84")
    imp.add_argument("--map", action="append", metavar="FIELD=COLUMN", default=[],
                     help="map a case field to a column, e.g. --map created_at=受理时间 (repeatable)")
    imp.add_argument("--profile", help="use a saved mapping profile")
    imp.add_argument("--save-profile", help="save the mapping used under this name")
    imp.add_argument("--profiles", default=str(DEFAULT_PROFILES), help="folder of mapping profiles")
    imp.add_argument("--district", help="district folder (communities, buildings, optional grids)")
    imp.add_argument("--grids", help="grids file (instead of --district)")
    imp.add_argument("--buildings", help="buildings file (instead of --district)")
    imp.add_argument("--out", required=True, help="folder for cases.csv and import_report.json")
    imp.set_defaults(func=_cmd_import)

    hot = cases_sub.add_parser("hotspots", help="hotspot grids: rate per 1,000 households, Gi* + FDR, trend")
    hot.add_argument("--cases", required=True, help="cases.csv written by 'cases import' (or any export)")
    hot.add_argument("--grids", required=True, help="grids file")
    hot.add_argument("--buildings", required=True, help="buildings file (households)")
    hot.add_argument("--from", dest="date_from", help="first day, e.g. 2026-01-01")
    hot.add_argument("--to", dest="date_to", help="last day (inclusive)")
    hot.add_argument("--category", action="append", help="only this category (repeatable)")
    hot.add_argument("--count", choices=["matters", "cases"], default="matters",
                     help="count matters (repeated calls merged, default) or calls")
    hot.add_argument("--json", action="store_true", help="also print a JSON line")
    hot.add_argument("--out", required=True, help="folder for hotspots.geojson")
    hot.set_defaults(func=_cmd_hotspots)

    if importlib.util.find_spec("gridgeo.cli.cases_sla") is not None:
        cases_sla = importlib.import_module("gridgeo.cli.cases_sla")
        cases_sla.register(cases_sub)
