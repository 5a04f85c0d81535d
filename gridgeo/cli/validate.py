"""``validate``: check input files and print every problem found."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gridgeo import io
from gridgeo.errors import GridgeoError, InputError, render
from gridgeo.i18n import Lang, t
from gridgeo.schema import LAYERS


#: the layers of a district folder, in the order they are listed
_DISTRICT_LAYERS = ("communities", "buildings", "streets", "stations", "staff", "cases", "grids")


def _validate_district(folder: str, lang: Lang, as_json: bool) -> int:
    """Read a district folder as the app does: every layer, or every bad file's error (exit 2)."""
    district = io.read_district(folder)       # a GridgeoError names every bad file (cli.print_error)
    layers = [(name, getattr(district, name)) for name in _DISTRICT_LAYERS if getattr(district, name) is not None]
    notes = [render(p, lang) for p in district.problems]
    if as_json:
        print(json.dumps({"district": folder, "ok": True, "name": district.name,
                          "layers": {name: {"files": district.files.get(name, []), "features": len(frame)}
                                     for name, frame in layers},
                          "warnings": notes}, ensure_ascii=False, indent=2))
        return 0
    print(t("cli.validate.district", lang, name=district.name or folder, n_warnings=len(notes)))
    for name, frame in layers:
        files = ", ".join(Path(f).name for f in district.files.get(name, []))
        print("  " + t("cli.validate.district_layer", lang, layer=t(f"layer.{name}", lang), files=files,
                       n=f"{len(frame):,}"))
    for line in notes:
        print("  " + t("errfmt.cli_warning", lang, text=line))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    lang: Lang = "en" if args.lang == "en" else "zh"
    if args.district:
        if args.layer or args.files:
            raise InputError("validate takes either a layer and files or --district, not both",
                             code="err.district.validate_args", remedy="drop the layer and files, or --district")
        return _validate_district(args.district, lang, args.json)
    if not args.layer or not args.files:
        raise InputError("validate needs a layer and at least one file, or --district DIR",
                         code="err.district.validate_nothing", remedy="name a layer and files, or --district DIR")
    communities = io.read_communities(args.communities) if args.communities else None
    status = 0
    report: list[dict[str, Any]] = []
    for path in args.files:
        try:
            checked = io.check_file(args.layer, path, gpkg_layer=args.layer_name, coords=args.coords,
                                    communities=communities)
        except GridgeoError as err:  # unreadable file: still report the others
            report.append({"file": str(path), "ok": False, "errors": [render(err, lang)], "warnings": []})
            status = 1
            continue
        n = 0 if checked.frame is None else len(checked.frame)
        frame = checked.frame
        zero = (int((frame["households"] == 0).sum())
                if frame is not None and args.layer == "buildings" and "households" in frame else None)
        report.append({"file": str(path), "ok": checked.ok, "features": n, "no_households": zero,
                       "errors": [render(p, lang, path=str(path)) for p in checked.errors],
                       "warnings": [render(p, lang, path=str(path)) for p in checked.warnings],
                       "codes": sorted({p.code for p in checked.problems})})
        status = status or (0 if checked.ok else 1)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return status
    for r in report:
        key = "cli.validate.ok" if r["ok"] else "cli.validate.problems"
        features = r.get("features") if r["ok"] and r.get("features") is not None else None
        counted = "" if features is None else t("cli.validate.features", lang, n=f"{features:,}",
                                                 layer=t(f"layer.{args.layer}", lang))
        if counted and r.get("no_households"):
            counted += t("cli.validate.no_households", lang, n=f"{r['no_households']:,}")
        print(t(key, lang, file=r["file"], n_errors=len(r["errors"]), n_warnings=len(r["warnings"]),
                features=counted))
        for line in r["errors"]:
            print("  " + t("errfmt.cli_error", lang, text=line))
        for line in r["warnings"]:
            print("  " + t("errfmt.cli_warning", lang, text=line))
    return status


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` command."""
    v = sub.add_parser("validate", help="check input files and print every problem found")
    v.add_argument("layer", nargs="?", choices=sorted(LAYERS), help="which layer the files hold")
    v.add_argument("files", nargs="*", help="GeoJSON, GPKG, zipped Shapefile, CSV or XLSX files")
    v.add_argument("--district", help="a district folder instead: read every layer as the app does and name "
                                      "every bad file (exit 2)")
    v.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default="wgs84",
                   help="coordinate system of lon/lat in the files (GCJ-02: AMap/Tencent, BD-09: Baidu)")
    v.add_argument("--communities", help="communities file: check that buildings lie in exactly one")
    v.add_argument("--layer-name", help="layer inside a GeoPackage")
    v.add_argument("--json", action="store_true", help="print machine-readable JSON")
    v.set_defaults(func=_cmd_validate)
