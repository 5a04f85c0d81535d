"""The committed demo district (data/demo) is complete, consistent, and still what the generator makes.

The files are read with geopandas/pandas directly and every expected number is
recomputed here (groupby, spatial joins in metres), independent of the generator.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from gridgeo import crs
from gridgeo.errors import InputError
from gridgeo.synthetic import make_district, write_district

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
# categories named in shared/domain.md (and the brief for the demo)
DOMAIN_CATEGORIES = {"物业管理", "占用消防通道停车", "无序养犬", "噪音扰民", "供水排水", "环境卫生",
                     "非法集资", "养老服务", "邻里纠纷"}


def _feasible(households: int, lo: int = 300, hi: int = 500) -> bool:
    return any(lo * k <= households <= hi * k for k in range(1, households // lo + 2))


@pytest.fixture(scope="module")
def communities() -> gpd.GeoDataFrame:
    return gpd.read_file(DEMO / "communities.geojson")


@pytest.fixture(scope="module")
def utm(communities: gpd.GeoDataFrame) -> object:
    return communities.estimate_utm_crs()


@pytest.fixture(scope="module")
def buildings() -> gpd.GeoDataFrame:
    return gpd.read_file(DEMO / "buildings.geojson")


def _read_cases(name: str) -> pd.DataFrame:
    return pd.read_csv(DEMO / name, encoding="utf-8-sig", dtype={"case_id": str, "satisfied": "string"},
                       keep_default_na=False, na_values={"satisfied": [""]})


@pytest.fixture(scope="module")
def cases_wgs() -> pd.DataFrame:
    return _read_cases("cases.csv")


@pytest.fixture(scope="module")
def cases_gcj() -> pd.DataFrame:
    return _read_cases("cases_12345_gcj02.csv")


@pytest.fixture(scope="module")
def cases(cases_wgs: pd.DataFrame, cases_gcj: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([cases_wgs, cases_gcj], ignore_index=True)


@pytest.fixture(scope="module")
def staff() -> pd.DataFrame:
    return pd.read_csv(DEMO / "staff.csv", encoding="utf-8-sig", dtype={"phone": str, "grid_id": str})


def _nearest_building_m(lon: np.ndarray, lat: np.ndarray, buildings: gpd.GeoDataFrame,
                        utm: object) -> np.ndarray:
    pts = gpd.GeoSeries(shapely.points(lon, lat), crs=4326).to_crs(utm)
    geoms = buildings.to_crs(utm).geometry.values
    tree = shapely.STRtree(geoms)
    _, hit = tree.query_nearest(pts.values, return_distance=False, all_matches=False)
    return np.asarray(shapely.distance(pts.values, geoms[hit]))


def test_manifest_names_every_file() -> None:
    manifest = json.loads((DEMO / "district.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True and manifest["seed"] == 0
    layers = manifest["layers"]
    assert set(layers) == {"communities", "buildings", "streets", "stations", "staff", "cases"}
    assert {e["coords"] for e in layers["cases"]} == {"wgs84", "gcj02"}
    paths = [v for k, v in layers.items() if k != "cases"] + [e["path"] for e in layers["cases"]]
    assert all((DEMO / p).is_file() for p in paths)
    total_mb = sum(p.stat().st_size for p in DEMO.iterdir()) / 1e6
    assert total_mb < 15


def test_communities_codes_and_streets(communities: gpd.GeoDataFrame) -> None:
    assert len(communities) == 19
    assert communities["community_id"].is_unique
    assert communities["community_id"].str.fullmatch(r"370124\d{6}").all()
    assert set(communities["street"]) == {"榆山街道", "锦水街道"}
    # the street digits of the code agree with the street name
    by_code = communities.groupby(communities["community_id"].str[6:9])["street"].unique()
    assert {k: list(v) for k, v in by_code.items()} == {"001": ["榆山街道"], "002": ["锦水街道"]}
    assert (communities["kind"] == "urban").all()
    assert communities.is_valid.all()
    assert (communities.geom_type == "MultiPolygon").sum() >= 1  # the community across the river


def test_communities_do_not_overlap(communities: gpd.GeoDataFrame, utm: object) -> None:
    geoms = communities.to_crs(utm).geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    shared = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert pairs.sum() > 0  # neighbours share edges ...
    assert shared.max() < 1.0  # ... but no area (m²)


def test_building_and_household_counts(buildings: gpd.GeoDataFrame) -> None:
    assert 2_000 <= len(buildings) <= 4_000
    assert buildings["building_id"].is_unique
    hh = buildings["households"]
    assert hh.dtype.kind == "i" and (hh > 0).all()
    assert 40_000 <= hh.sum() <= 50_000
    assert set(buildings.geom_type) == {"Polygon"} and buildings.is_valid.all()


def test_every_building_lies_in_its_own_community(buildings: gpd.GeoDataFrame,
                                                  communities: gpd.GeoDataFrame) -> None:
    points = gpd.GeoDataFrame({"building_id": buildings["building_id"],
                               "claimed": buildings["community_id"]},
                              geometry=buildings.representative_point(), crs=4326)
    joined = gpd.sjoin(points, communities[["community_id", "geometry"]], predicate="within")
    assert joined["building_id"].is_unique and len(joined) == len(buildings)  # exactly one each
    assert (joined["claimed"] == joined["community_id"]).all()


def test_buildings_do_not_overlap(buildings: gpd.GeoDataFrame, utm: object) -> None:
    geoms = buildings.to_crs(utm).geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left != right).sum() == 0


def test_some_community_totals_are_infeasible(buildings: gpd.GeoDataFrame) -> None:
    totals = buildings.groupby("community_id")["households"].sum()
    infeasible = totals[[not _feasible(int(h)) for h in totals]]
    assert len(infeasible) >= 1
    assert infeasible.between(501, 599).any()  # one grid too big, two too small (e.g. 550)
    assert (infeasible < 300).any()  # too small for even one grid
    typical = totals.drop(infeasible.index)
    assert typical.between(1_500, 4_000).all()


def test_compounds_include_ones_above_500(buildings: gpd.GeoDataFrame) -> None:
    sizes = buildings.dropna(subset=["compound_id"]).groupby("compound_id")["households"].sum()
    assert sizes.between(100, 1_500).all()
    assert (sizes > 500).any()
    assert sizes.between(650, 750).any()  # "about 700"
    assert buildings["compound_id"].isna().any()  # some buildings belong to no compound
    # a compound never spans two communities
    assert (buildings.dropna(subset=["compound_id"]).groupby("compound_id")["community_id"].nunique() == 1).all()


def test_towers_above_500_households_and_missing_units(buildings: gpd.GeoDataFrame) -> None:
    big = buildings[buildings["households"] > 500]
    assert len(big) >= 2
    assert (big["floors"] >= 26).all()
    assert big["units"].notna().any() and big["units"].isna().any()  # split by units, and estimated
    share_missing = buildings["units"].isna().mean()
    assert 0.05 <= share_missing <= 0.15
    kinds = pd.cut(buildings["floors"], [0, 1, 7, 18, 40], labels=["court", "walkup", "mid", "high"])
    assert set(kinds.dropna()) == {"court", "walkup", "mid", "high"}


def test_stations(communities: gpd.GeoDataFrame) -> None:
    stations = gpd.read_file(DEMO / "stations.geojson")
    assert 60 <= len(stations) <= 100 and stations["station_id"].is_unique
    assert set(stations["kind"]) == {"party_mass_centre", "doorstep_station", "compound_post"}
    joined = gpd.sjoin(stations, communities[["community_id", "geometry"]], predicate="within")
    assert len(joined) == len(stations)  # every station inside a community
    centres = joined[joined["kind"] == "party_mass_centre"].groupby("community_id").size()
    assert len(centres) == 19 and (centres == 1).all()


def test_streets() -> None:
    streets = gpd.read_file(DEMO / "streets.geojson")
    assert set(streets["kind"]) == {"arterial", "secondary", "lane"}
    assert set(streets.geom_type) <= {"LineString", "MultiLineString"}
    assert streets["name"].notna().all() and (streets["name"].str.len() > 0).all()


def test_staff_roster(staff: pd.DataFrame, communities: gpd.GeoDataFrame, utm: object) -> None:
    raw = (DEMO / "staff.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so Excel shows the Chinese names
    assert list(staff.columns) == ["staff_id", "name", "role", "employment", "phone", "lon", "lat", "grid_id"]
    assert 300 <= len(staff) <= 400 and staff["staff_id"].is_unique
    assert set(staff["role"]) == {"leader", "worker", "instructor"}
    assert set(staff["employment"]) == {"full_time", "part_time"}
    assert staff["phone"].str.fullmatch(r"1[358]\d{9}").all() and staff["phone"].is_unique
    # current grids of the default plan (staff_grid_ids): instructors serve the community, crews a grid each
    with_grid = staff["grid_id"].notna()
    assert not with_grid[staff["role"] == "instructor"].any() and with_grid.mean() >= 0.9
    assert staff.loc[with_grid, "grid_id"].str.fullmatch(r"370124\d{9}").all()
    leaders = staff[staff["role"] == "leader"].dropna(subset=["grid_id"])
    assert leaders["grid_id"].is_unique                      # one leader per grid
    assert (staff.dropna(subset=["grid_id"]).groupby("grid_id")["role"].count() <= 4).all()
    counts = staff["role"].value_counts()
    assert 2 <= counts["worker"] / counts["leader"] <= 3  # 1 leader + 2–3 workers per grid
    homes = staff.dropna(subset=["lon", "lat"])
    assert len(homes) >= 0.9 * len(staff)
    pts = gpd.GeoSeries(shapely.points(homes["lon"], homes["lat"]), crs=4326).to_crs(utm)
    dist = pts.distance(communities.to_crs(utm).union_all())
    assert (dist < 1_000).mean() >= 0.8


def test_cases_content(cases: pd.DataFrame) -> None:
    assert 50_000 <= len(cases) <= 70_000 and cases["case_id"].is_unique
    assert DOMAIN_CATEGORIES <= set(cases["category"])
    assert cases["channel"].value_counts(normalize=True)["网格巡查"] == pytest.approx(0.30, abs=0.05)
    assert cases["urgent"].isin([0, 1]).all() and 0.03 <= cases["urgent"].mean() <= 0.08
    created = pd.to_datetime(cases["created_at"], format="ISO8601")
    closed = pd.to_datetime(cases["closed_at"].replace("", None), format="ISO8601")
    assert str(created.dt.tz) == "UTC+08:00"
    assert created.min() >= pd.Timestamp("2025-11-01", tz="Asia/Shanghai")
    assert created.max() < pd.Timestamp("2026-11-01", tz="Asia/Shanghai")
    is_open = closed.isna()
    assert 0.01 <= is_open.mean() <= 0.06
    assert (cases.loc[is_open, "status"] == "open").all() and (cases.loc[~is_open, "status"] == "closed").all()
    assert (closed[~is_open] > created[~is_open]).all()
    assert cases.loc[is_open, "satisfied"].isna().all() and cases.loc[~is_open, "satisfied"].notna().all()
    satisfaction = (cases.loc[~is_open, "satisfied"] == "1").mean()
    assert 0.90 <= satisfaction <= 0.98
    # seasons: heating only in the heating season, noise peaks in summer
    month = created.dt.month
    heating = month[cases["category"] == "供暖"]
    assert heating.isin([11, 12, 1, 2, 3]).mean() > 0.95
    noise = month[cases["category"] == "噪音扰民"]
    assert noise.isin([6, 7, 8]).sum() > 1.5 * noise.isin([12, 1, 2]).sum()
    # most urgent cases are answered the same day; a tail of others runs past 5 working days
    done = cases[~is_open]
    c_day = created[~is_open].dt.date.to_numpy().astype("datetime64[D]")
    x_day = closed[~is_open].dt.date.to_numpy().astype("datetime64[D]")
    urgent = done["urgent"].to_numpy() == 1
    assert (c_day[urgent] == x_day[urgent]).mean() > 0.6
    working_days = np.busday_count(c_day, x_day)
    assert 0.03 <= (working_days[~urgent] > 5).mean() <= 0.2


def test_wgs84_cases_sit_on_buildings(cases_wgs: pd.DataFrame, buildings: gpd.GeoDataFrame,
                                      communities: gpd.GeoDataFrame, utm: object) -> None:
    sample = cases_wgs.iloc[::20]
    dist = _nearest_building_m(sample["lon"].to_numpy(), sample["lat"].to_numpy(), buildings, utm)
    assert np.median(dist) < 5 and dist.max() < 20
    pts = gpd.GeoSeries(shapely.points(cases_wgs["lon"], cases_wgs["lat"]), crs=4326)
    assert pts.within(communities.union_all()).all()


def test_gcj02_share_lands_in_the_district_once_converted(cases_gcj: pd.DataFrame, cases: pd.DataFrame,
                                                          buildings: gpd.GeoDataFrame,
                                                          communities: gpd.GeoDataFrame, utm: object) -> None:
    assert len(cases_gcj) / len(cases) == pytest.approx(0.20, abs=0.05)
    assert (cases_gcj["channel"] == "12345热线").all()
    lon, lat = crs.convert_coords(cases_gcj["lon"].to_numpy(), cases_gcj["lat"].to_numpy(),
                                  src="gcj02", dst="wgs84")
    back = gpd.GeoSeries(shapely.points(lon, lat), crs=4326)
    district = communities.to_crs(utm).union_all()
    assert back.to_crs(utm).within(district.buffer(20)).all()
    sample = slice(None, None, 10)
    near = _nearest_building_m(lon[sample], lat[sample], buildings, utm)
    assert np.median(near) < 5 and near.max() < 20
    # the raw GCJ-02 points lie far from the buildings the converted points sit on
    raw = gpd.GeoSeries(shapely.points(cases_gcj["lon"], cases_gcj["lat"]), crs=4326).to_crs(utm)
    assert (raw.distance(back.to_crs(utm)) > 100).all()


def test_read_district_loads_the_demo(buildings: gpd.GeoDataFrame, cases: pd.DataFrame) -> None:
    from gridgeo import io

    d = io.read_district(DEMO)
    assert d.synthetic and len(d.communities) == 19
    assert int(d.buildings["households"].sum()) == int(buildings["households"].sum())
    assert d.cases is not None and len(d.cases) == len(cases)
    assert d.staff is not None and d.stations is not None and d.streets is not None
    assert [p for p in d.problems if p.severity == "error"] == []


@pytest.fixture(scope="module")
def regenerated() -> object:
    return make_district(seed=0, with_cases=False, with_staff=False)


def test_regeneration_is_deterministic(regenerated: object) -> None:
    again = make_district(seed=0, with_cases=False, with_staff=False)
    for layer in ("communities", "buildings", "streets", "stations"):
        assert_geodataframe_equal(getattr(regenerated, layer), getattr(again, layer))
    other = make_district(seed=1, with_cases=False, with_staff=False)
    assert not other.buildings["households"].equals(again.buildings["households"])


def test_committed_files_match_the_generator(regenerated: object, buildings: gpd.GeoDataFrame,
                                             communities: gpd.GeoDataFrame) -> None:
    fresh = regenerated.buildings  # type: ignore[attr-defined]
    assert list(fresh.index) == list(buildings["building_id"])
    assert (fresh["households"].to_numpy() == buildings["households"].to_numpy()).all()
    assert (fresh["community_id"].to_numpy() == buildings["community_id"].to_numpy()).all()
    moved = shapely.hausdorff_distance(fresh.geometry.values, buildings.geometry.values)
    assert moved.max() < 1e-5  # degrees: only the 6-decimal rounding differs
    assert list(regenerated.communities.index) == list(communities["community_id"])  # type: ignore[attr-defined]


def test_cases_do_not_depend_on_staff() -> None:
    with_staff = make_district(seed=3)
    without = make_district(seed=3, with_staff=False)
    assert without.staff is None and with_staff.cases is not None and without.cases is not None
    assert_geodataframe_equal(with_staff.cases, without.cases)


def test_generated_frames_follow_the_data_model() -> None:
    d = make_district(seed=3)
    assert d.staff is not None and d.cases is not None
    for frame, index in ((d.communities, "community_id"), (d.buildings, "building_id"),
                         (d.stations, "station_id"), (d.staff, "staff_id"), (d.cases, "case_id")):
        assert frame.index.name == index and frame.index.is_unique and frame.crs.to_epsg() == 4326
    assert isinstance(d.streets.index, pd.RangeIndex) and d.streets.crs.to_epsg() == 4326
    assert str(d.buildings["units"].dtype) == "Int64" and str(d.cases["satisfied"].dtype) == "boolean"
    assert str(d.cases["created_at"].dt.tz) == "Asia/Shanghai"
    assert d.cases.loc[d.cases["closed_at"].isna(), "satisfied"].isna().all()
    assert re.fullmatch(r"C\d{6}", d.cases.index[0])


def test_scale_two_doubles_the_district(regenerated: object) -> None:
    big = make_district(seed=0, scale=2, with_cases=False, with_staff=False)
    base = int(regenerated.buildings["households"].sum())  # type: ignore[attr-defined]
    assert len(big.communities) == 38
    assert int(big.buildings["households"].sum()) / base == pytest.approx(2.0, rel=0.1)
    assert big.communities.index.is_unique and big.buildings.index.is_unique


@pytest.mark.parametrize("scale", [0, -1, 1.5])
def test_scale_must_be_a_positive_whole_number(scale: object) -> None:
    with pytest.raises(InputError, match=r"scale must be a whole number ≥ 1, got"):
        make_district(scale=scale)  # type: ignore[arg-type]


def test_write_district_round_trips_through_io(tmp_path: Path) -> None:
    from gridgeo import io

    folder = write_district(tmp_path / "d", seed=2, with_cases=False)
    d = io.read_district(folder)
    expected = make_district(seed=2, with_cases=False, with_staff=False)
    assert d.synthetic and d.staff is None and d.cases is None
    assert list(d.communities.index) == list(expected.communities.index)
    assert d.buildings["households"].to_dict() == expected.buildings["households"].to_dict()
    assert (d.buildings["community_id"] == expected.buildings["community_id"]).all()
    assert len(d.stations) == len(expected.stations) and len(d.streets) == len(expected.streets)
