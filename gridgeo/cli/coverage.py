"""``coverage``: households within walking reach of service stations, and where new stations should go."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd

from gridgeo import coverage as cov
from gridgeo import io
from gridgeo.errors import InputError
from gridgeo.export import write_atomic
from gridgeo.grids import locate_buildings
from gridgeo.i18n import Lang, t
from gridgeo.settings import DEFAULT_RULES
from gridgeo.tables import csv_bytes


def _read_stations(args: argparse.Namespace, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stations must lie in the communities (100 m slack), else within 1 km of the buildings' hull."""
    if args.communities:
        communities = io.read_communities(args.communities, coords=args.coords)
        return cov.read_stations(args.stations, communities, coords=args.coords)
    hull = gpd.GeoDataFrame(geometry=[buildings.geometry.union_all().convex_hull], crs=4326)
    return cov.read_stations(args.stations, hull, tolerance_m=1000.0, coords=args.coords)


def _cmd_coverage(args: argparse.Namespace) -> int:
    lang: Lang = "zh" if args.lang == "zh" else "en"
    reaches = cov.parse_reaches(args.reach)
    buildings = io.read_buildings(args.buildings, coords=args.coords)
    stations = _read_stations(args, buildings)
    streets = io.read_streets(args.streets, coords=args.coords) if args.streets else None
    grids = io.read_grids(args.grids, coords=args.coords) if args.grids else None
    candidates = cov.read_candidates(args.candidates, coords=args.coords) if args.candidates else None
    if args.add and streets is None and candidates is None:
        raise InputError("--add needs candidate sites", code="err.coverage.candidates_needed",
                         remedy="give --streets (street nodes become candidates) or a --candidates file")
    network = (cov.build_network(streets, buildings, stations, candidates=candidates)
               if streets is not None else None)
    access = cov.station_access(buildings, stations, network=network)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid_of = locate_buildings(buildings, grids) if grids is not None else None
    write_atomic(out / "coverage_buildings.csv", csv_bytes(cov.buildings_frame(access, grid_of), lang=None))
    written = ["coverage_buildings.csv"]
    if grids is not None:
        table = cov.grids_frame(cov.coverage_by_grid(access, buildings, grids, reaches), reaches, access.kinds)
        write_atomic(out / "coverage_grids.csv", csv_bytes(table, lang=None))
        written.append("coverage_grids.csv")
    if buildings["community_id"].notna().any():
        table = cov.grids_frame(cov.coverage_by_community(access, reaches), reaches, access.kinds)
        write_atomic(out / "coverage_communities.csv", csv_bytes(table, lang=None))
        written.append("coverage_communities.csv")
    method = t(f"coverage.method.{access.method}", lang)
    total = cov.coverage_of_district(access, reaches)
    for r in reaches:
        print(t("coverage.cli.summary", lang, method=method, reach=r, within=int(total[f"within_{r}"]),
                households=int(total["households"]), share=float(total[f"share_{r}"])))
    if args.add:
        reach = args.add_reach or reaches[0]
        result = cov.plan_sites(access, buildings, k=args.add, reach_m=reach, kind=args.kind, network=network,
                                candidates=candidates)
        write_atomic(out / "sites.geojson", cov.sites_geojson(result))
        written.append("sites.geojson")
        for cid, row in result.sites.iterrows():
            print(t("coverage.cli.site", lang, rank=int(row["rank"]), site=cid, lon=row.geometry.x,
                    lat=row.geometry.y, gained=int(row["households_gained"])))
        print(t("coverage.siting_result", lang, k=len(result.sites), reach=reach,
                gained=result.households_gained, before=result.uncovered_households,
                status=t(f"coverage.status.{result.status}", lang), seconds=result.seconds))
    print(f"-> {out}: {', '.join(written)}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``coverage`` command."""
    p = sub.add_parser("coverage", help="households within walking reach of service stations; new sites")
    p.add_argument("--buildings", required=True, help="buildings file (polygons or points, with households)")
    p.add_argument("--stations", required=True, help="service stations file (points: station_id, name, kind)")
    p.add_argument("--streets", help="streets file (lines): walking distance; without it, straight lines")
    p.add_argument("--grids", help="grids layer (polygons, grid_id): writes coverage_grids.csv")
    p.add_argument("--communities", help="communities file: stations outside the district are errors")
    default = ",".join(str(r) for r in DEFAULT_RULES.walking_reach_m)
    p.add_argument("--reach", default=default, help=f"walking reaches in metres (default {default})")
    p.add_argument("--kind", default=cov.ANY, choices=[cov.ANY, *cov.KINDS],
                   help="station kind the new sites are for (default: any kind)")
    p.add_argument("--add", type=int, default=0, metavar="K", help="propose K new station sites")
    p.add_argument("--add-reach", type=int, default=0, metavar="M",
                   help="reach the new sites should cover (default: the smallest --reach)")
    p.add_argument("--candidates", help="candidate sites (points; an id column such as candidate_id "
                                        "is used when present); default: street nodes")
    p.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default="wgs84",
                   help="coordinate system of the input files (GCJ-02: AMap/Tencent, BD-09: Baidu)")
    p.add_argument("--out", required=True, help="folder for coverage_buildings.csv, coverage_grids.csv, sites.geojson")
    p.set_defaults(func=_cmd_coverage)


__all__ = ["register"]
