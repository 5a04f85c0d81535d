"""Write a synthetic district as the files a user would bring (GeoJSON, CSV, district.json).

Kept apart from ``make_district``, which stays pure: this is the one place the
synthetic package touches the disk, for ``python -m gridgeo demo`` and
``scripts/make_demo.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo import crs

if TYPE_CHECKING:
    from gridgeo.synthetic import SyntheticDistrict

#: share of all cases that arrive from the 12345 platform with GCJ-02 coordinates
GCJ_SHARE = 0.20
NAME = "平阴县城区（合成示例）"
CASE_FILES = {"wgs84": "cases.csv", "gcj02": "cases_12345_gcj02.csv"}


def _geojson(frame: gpd.GeoDataFrame, path: Path, *, decimals: int) -> None:
    """Write RFC 7946 GeoJSON with the id as an ordinary property."""
    out = frame.reset_index() if frame.index.name else frame.reset_index(drop=True)
    path.unlink(missing_ok=True)
    out.to_file(path, driver="GeoJSON", engine="pyogrio",
                layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": str(decimals), "WRITE_NAME": "NO"})


def _csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM, so Excel opens the Chinese text correctly."""
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def _iso_minutes(ts: pd.Series) -> pd.Series:
    """Format Asia/Shanghai times as ISO 8601 to the minute with +08:00 (China has no DST)."""
    text = ts.dt.strftime("%Y-%m-%dT%H:%M")
    return text.where(ts.isna(), text + "+08:00").fillna("")


def cases_table(cases: gpd.GeoDataFrame) -> pd.DataFrame:
    """Turn the cases layer into the compact CSV table (lon/lat in WGS 84)."""
    return pd.DataFrame({
        "case_id": cases.index,
        "category": cases["category"].to_numpy(),
        "channel": cases["channel"].to_numpy(),
        "urgent": cases["urgent"].astype(int).to_numpy(),
        "created_at": _iso_minutes(cases["created_at"]).to_numpy(),
        "closed_at": _iso_minutes(cases["closed_at"]).to_numpy(),
        "status": cases["status"].to_numpy(),
        "satisfied": cases["satisfied"].map({True: "1", False: "0"}).fillna("").to_numpy(),
        "department": cases["department"].to_numpy(),
        "lon": cases.geometry.x.round(6).to_numpy(),
        "lat": cases.geometry.y.round(6).to_numpy(),
    })


def split_gcj02(table: pd.DataFrame, *, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move ~20% of all cases, drawn from the 12345 hotline ones, into a GCJ-02 table.

    The 12345 platform exports AMap (GCJ-02) coordinates; shipping them shifted
    makes the demo exercise ``read_cases(coords="gcj02")``.
    """
    rng = np.random.default_rng([seed, 12345])
    hotline = (table["channel"] == "12345热线").to_numpy()
    pick = hotline & (rng.random(len(table)) < GCJ_SHARE / max(float(hotline.mean()), GCJ_SHARE))
    gcj = table[pick].copy()
    lon, lat = crs.convert_coords(gcj["lon"].to_numpy(), gcj["lat"].to_numpy(), src="wgs84", dst="gcj02")
    gcj["lon"], gcj["lat"] = np.round(lon, 6), np.round(lat, 6)
    return table[~pick], gcj


def staff_table(staff: gpd.GeoDataFrame) -> pd.DataFrame:
    """Turn the staff layer into the roster CSV (home lon/lat, empty when unknown)."""
    has = staff.geometry.notna().to_numpy()
    lon = np.full(len(staff), np.nan)
    lat = np.full(len(staff), np.nan)
    lon[has] = staff.geometry[has].x.round(6).to_numpy()
    lat[has] = staff.geometry[has].y.round(6).to_numpy()
    return pd.DataFrame({
        "staff_id": staff.index, "name": staff["name"].to_numpy(), "role": staff["role"].to_numpy(),
        "employment": staff["employment"].to_numpy(), "phone": staff["phone"].to_numpy(),
        "lon": lon, "lat": lat, "grid_id": staff["grid_id"].fillna("").to_numpy(),
    })


def write_staff(staff: gpd.GeoDataFrame, out: str | Path) -> Path:
    """(Re)write ``staff.csv`` of the district folder ``out`` (e.g. once current grid ids are known)."""
    path = Path(out) / "staff.csv"
    _csv(staff_table(staff), path)
    return path


def write_layers(district: SyntheticDistrict, out: str | Path) -> Path:
    """Write every layer of ``district`` and its ``district.json`` into folder ``out``; return it."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    _geojson(district.communities, folder / "communities.geojson", decimals=7)
    _geojson(district.buildings, folder / "buildings.geojson", decimals=6)
    _geojson(district.streets, folder / "streets.geojson", decimals=6)
    _geojson(district.stations, folder / "stations.geojson", decimals=6)
    layers: dict[str, object] = {"communities": "communities.geojson", "buildings": "buildings.geojson",
                                 "streets": "streets.geojson", "stations": "stations.geojson"}
    if district.staff is not None:
        _csv(staff_table(district.staff), folder / "staff.csv")
        layers["staff"] = "staff.csv"
    if district.cases is not None:
        wgs, gcj = split_gcj02(cases_table(district.cases), seed=district.seed)
        _csv(wgs, folder / CASE_FILES["wgs84"])
        _csv(gcj, folder / CASE_FILES["gcj02"])
        layers["cases"] = [{"path": p, "coords": c} for c, p in CASE_FILES.items()]
    name = NAME if district.scale == 1 else f"{NAME} ×{district.scale}"
    manifest = {"name": name, "synthetic": True, "seed": district.seed, "layers": layers}
    (folder / "district.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")
    return folder


def write_district(out: str | Path, *, seed: int = 0, scale: int = 1, with_cases: bool = True) -> Path:
    """Generate a district and write it into folder ``out``; without cases, staff is left out too."""
    from gridgeo.synthetic import make_district

    district = make_district(seed=seed, scale=scale, with_cases=with_cases, with_staff=with_cases)
    return write_layers(district, out)
