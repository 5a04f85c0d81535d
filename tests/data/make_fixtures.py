"""Write the small real files under tests/data (run: python tests/data/make_fixtures.py).

Hand-made geometry near Pingyin county seat (lon 116.44, lat 36.29); the
numbers are chosen so that expected results can be counted by hand.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Polygon, box

HERE = Path(__file__).parent


def communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"community_id": ["370124001001", "370124001002"], "name": ["翠屏社区", "锦水社区"],
         "street": ["榆山街道", "榆山街道"], "kind": ["urban", "urban"]},
        geometry=[box(116.440, 36.290, 116.445, 36.294), box(116.445, 36.290, 116.450, 36.294)], crs=4326)


def buildings() -> gpd.GeoDataFrame:
    rows = []
    # community 1: 6 buildings, 2 compounds; community 2: 4 buildings
    for i in range(6):
        x = 116.4405 + (i % 3) * 0.0015
        y = 36.2905 + (i // 3) * 0.0018
        rows.append((f"B1{i:02d}", 60 + 10 * i, 2, 6, "XQ01" if i < 3 else "XQ02", box(x, y, x + 0.0006, y + 0.0003)))
    for i in range(4):
        x = 116.4455 + (i % 2) * 0.002
        y = 36.2905 + (i // 2) * 0.0018
        rows.append((f"B2{i:02d}", 120, 3, 11, "XQ03", box(x, y, x + 0.0006, y + 0.0003)))
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["building_id", "households", "units", "floors", "compound_id", "geometry"]),
        geometry="geometry", crs=4326)


def main() -> None:
    c = communities()
    b = buildings()
    c.to_file(HERE / "communities.geojson", driver="GeoJSON")
    b.to_file(HERE / "buildings.geojson", driver="GeoJSON")
    # GeoPackage with two layers
    gpkg = HERE / "district.gpkg"
    gpkg.unlink(missing_ok=True)
    c.to_file(gpkg, layer="communities", driver="GPKG")
    b.to_file(gpkg, layer="buildings", driver="GPKG")
    # buildings in a projected CRS (CGCS2000 / 3-degree GK CM 117E) -> must be reprojected
    b.to_crs(4548).to_file(HERE / "buildings_cgcs2000_gk.geojson", driver="GeoJSON")
    # CSV with Chinese headers: UTF-8 with BOM, and GBK
    pts = b.geometry.representative_point()
    table = pd.DataFrame({"楼栋编码": b["building_id"], "户数": b["households"], "单元数": b["units"],
                          "小区": b["compound_id"], "经度": pts.x.round(7), "纬度": pts.y.round(7),
                          "地址": ["翠屏路" + str(i) + "号" for i in range(len(b))]})
    table.to_csv(HERE / "buildings_zh_utf8bom.csv", index=False, encoding="utf-8-sig")
    table.to_csv(HERE / "buildings_zh_gbk.csv", index=False, encoding="gbk")
    table.to_excel(HERE / "buildings_zh.xlsx", index=False)
    # CSV with WKT geometry
    pd.DataFrame({"building_id": b["building_id"], "households": b["households"],
                  "wkt": b.geometry.to_wkt()}).to_csv(HERE / "buildings_wkt.csv", index=False)
    # zipped shapefiles: UTF-8 with .cpg, GBK without .cpg
    for enc, name, with_cpg in (("UTF-8", "communities_utf8", True), ("GBK", "communities_gbk", False)):
        folder = HERE / f"_{name}"
        folder.mkdir(exist_ok=True)
        with warnings.catch_warnings():  # field names are cut to 10 characters, as in real shapefiles
            warnings.simplefilter("ignore")
            c.to_file(folder / "communities.shp", encoding=enc)
        if not with_cpg:
            (folder / "communities.cpg").unlink(missing_ok=True)
        with zipfile.ZipFile(HERE / f"{name}.zip", "w") as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f.name)
                f.unlink()
        folder.rmdir()
    # broken files, one per problem class
    table = table.astype(str)
    bad = table.copy()
    bad.loc[1, "户数"] = "约300"      # row 3: non-numeric
    bad.loc[2, "户数"] = "0"          # row 4: zero
    bad.loc[3, "户数"] = "-5"         # row 5: negative
    bad.to_csv(HERE / "bad_households.csv", index=False, encoding="utf-8-sig")
    dup = table.copy()
    dup.loc[4, "楼栋编码"] = "B100"   # row 6 repeats row 2's id
    dup.to_csv(HERE / "bad_duplicate_ids.csv", index=False, encoding="utf-8-sig")
    table.drop(columns=["户数"]).to_csv(HERE / "bad_missing_households.csv", index=False, encoding="utf-8-sig")
    swapped = table.copy()
    swapped.loc[0, ["经度", "纬度"]] = swapped.loc[0, ["纬度", "经度"]].to_numpy()
    swapped.to_csv(HERE / "bad_swapped_lonlat.csv", index=False, encoding="utf-8-sig")
    far = table.copy()
    far.loc[2, "经度"] = "16.44"
    far.to_csv(HERE / "bad_out_of_range.csv", index=False, encoding="utf-8-sig")
    # bow-tie building (self-intersecting: repair would change the area) and a spike (tiny change)
    bowtie = Polygon([(116.4405, 36.2905), (116.4411, 36.2908), (116.4411, 36.2905), (116.4405, 36.2908)])
    spike = Polygon([(116.4420, 36.2905), (116.4426, 36.2905), (116.4426, 36.2908),
                     (116.44230, 36.2908), (116.44230, 36.29085), (116.44230, 36.2908), (116.4420, 36.2908)])
    geo = b.copy()
    geo.loc[0, "geometry"] = bowtie
    geo.to_file(HERE / "bad_bowtie.geojson", driver="GeoJSON")
    geo = b.copy()
    geo.loc[1, "geometry"] = spike
    geo.to_file(HERE / "repairable_spike.geojson", driver="GeoJSON")
    geo = b.copy()
    geo.loc[2, "geometry"] = Polygon()
    geo.to_file(HERE / "bad_empty_geometry.geojson", driver="GeoJSON")
    outside = b.copy()
    outside.loc[9, "geometry"] = box(116.4600, 36.2905, 116.4606, 36.2908)   # east of both communities
    outside.to_file(HERE / "bad_building_outside.geojson", driver="GeoJSON")
    # communities overlapping each other: the second reaches 180 m into the first
    ov = c.copy()
    ov.loc[1, "geometry"] = box(116.4430, 36.290, 116.450, 36.294)
    ov.to_file(HERE / "bad_overlapping_communities.geojson", driver="GeoJSON")
    # projected coordinates without any CRS (shapefile without .prj)
    folder = HERE / "_noprj"
    folder.mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b.to_crs(4548).set_crs(None, allow_override=True).to_file(folder / "buildings.shp", encoding="UTF-8")
    with zipfile.ZipFile(HERE / "bad_no_crs.zip", "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
            f.unlink()
    folder.rmdir()
    (HERE / "notes.docx").write_bytes(b"PK\x03\x04 not a layer")


if __name__ == "__main__":
    main()
