"""``validate``: check input files and print every problem found."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gridgeo import io
from gridgeo.errors import GridgeoError, render
from gridgeo.i18n import Lang, t
from gridgeo.schema import LAYERS


def _cmd_validate(args: argparse.Namespace) -> int:
    lang: Lang = "en" if args.lang == "en" else "zh"
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
    v.add_argument("layer", choices=sorted(LAYERS), help="which layer the files hold")
    v.add_argument("files", nargs="+", help="GeoJSON, GPKG, zipped Shapefile, CSV or XLSX files")
    v.add_argument("--coords", choices=["wgs84", "gcj02", "bd09"], default="wgs84",
                   help="coordinate system of lon/lat in the files (GCJ-02: AMap/Tencent, BD-09: Baidu)")
    v.add_argument("--communities", help="communities file: check that buildings lie in exactly one")
    v.add_argument("--layer-name", help="layer inside a GeoPackage")
    v.add_argument("--json", action="store_true", help="print machine-readable JSON")
    v.set_defaults(func=_cmd_validate)
