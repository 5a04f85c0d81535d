"""Service-station coverage: walking distances on a hand-drawn street graph, coverage tables, MCLP, CLI.

The fixture is a river town drawn in metres (UTM 50N, the zone ``metric_crs``
picks here) and converted to lon/lat. Streets: a north bank road (y = 100,
x 0–1000), a south bank road (y = -100), one bridge at x = 900, a dead-end
lane north from (500, 100) to (500, 300), and a lane from (700, 104) to
(700, 300) whose south end stops 4 m short of the bank road (a digitising
undershoot). One party-mass centre S at (100, 120). Every expected metre below
is added up by hand along those lines.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from scipy import sparse
from shapely.geometry import LineString, Point, Polygon

from gridgeo import coverage as cov
from gridgeo.cli import main
from gridgeo.errors import GeometryError, InputError, SchemaError

UTM = "EPSG:32650"
_to_ll = Transformer.from_crs(UTM, 4326, always_xy=True)
X0, Y0 = Transformer.from_crs(4326, UTM, always_xy=True).transform(116.445, 36.29)


def ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = _to_ll.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def line(*pts: tuple[float, float]) -> LineString:
    return LineString([ll(*p) for p in pts])


def pt(x: float, y: float) -> Point:
    return Point(ll(x, y))


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A rectangle that is exactly rectangular in metres (corners converted one by one)."""
    return Polygon([ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1)])


STREETS = gpd.GeoDataFrame(
    {"name": ["north bank", "south bank", "bridge", "dead-end lane", "undershoot lane"]},
    geometry=[line((0, 100), (1000, 100)), line((0, -100), (1000, -100)), line((900, -100), (900, 100)),
              line((500, 100), (500, 300)), line((700, 104), (700, 300))], crs=4326)
STATIONS = gpd.GeoDataFrame({"name": ["S <b>centre</b>"], "kind": ["party_mass_centre"]},
                            geometry=[pt(100, 120)], index=pd.Index(["S1"], name="station_id"), crs=4326)
BUILDINGS = gpd.GeoDataFrame(
    {"households": [100, 40, 60, 10, 5], "community_id": ["C", "C", "C", "C", "C"]},
    geometry=[pt(100, -130), pt(300, 110), pt(950, -110), pt(520, 350), pt(700, 310)],
    index=pd.Index(["B1", "B2", "B3", "B4", "B5"], name="building_id"), crs=4326)

# by hand: connector + along the streets + connector
WALK = {
    "B1": 20 + 800 + 200 + 800 + 30,          # across the bridge and back: 1850
    "B2": 20 + 200 + 10,                      # same street as S, straight along it: 230
    "B3": 20 + 800 + 200 + 50 + 10,           # 1080
    "B4": 20 + 400 + 200 + math.hypot(20, 50),  # past the dead end, connector from its last point
    "B5": 20 + 600 + 4 + 196 + 10,            # the 4 m undershoot is joined: 830
}
STRAIGHT = {"B1": 250.0, "B2": math.hypot(200, 10), "B3": math.hypot(850, 230), "B4": math.hypot(420, 230),
            "B5": math.hypot(600, 190)}
TOL = 0.05  # metres: the lon/lat round trip moves points by well under a millimetre; the rest is float sums


@pytest.fixture(scope="module")
def network() -> cov.WalkingNetwork:
    return cov.build_network(STREETS, BUILDINGS, STATIONS)


def test_walking_metres_match_the_hand_sums(network: cov.WalkingNetwork) -> None:
    access = cov.station_access(BUILDINGS, STATIONS, network=network)
    assert access.method == "walking"
    got = access.metres("party_mass_centre")
    for bid, metres in WALK.items():
        assert got[bid] == pytest.approx(metres, abs=TOL), bid
    assert (access.table["nearest_party_mass_centre"] == "S1").all()
    assert access.metres().equals(got)                    # one kind: "any" is the same
    # the undershoot is joined; so may be a bridge end that the lon/lat round trip left a hair off the road
    assert 1 <= network.dangles_joined <= 3


def test_undershoot_left_unjoined_is_unreachable() -> None:
    net = cov.build_network(STREETS, BUILDINGS, STATIONS, snap_dangles_m=0)
    got = cov.station_access(BUILDINGS, STATIONS, network=net).metres()
    assert math.isnan(got["B5"])                          # its lane touches nothing
    assert got["B2"] == pytest.approx(WALK["B2"], abs=TOL)  # the rest of the network still works


def test_no_streets_falls_back_to_straight_lines_and_says_so() -> None:
    access = cov.station_access(BUILDINGS, STATIONS)
    assert access.method == "straight_line"
    for bid, metres in STRAIGHT.items():
        assert access.metres()[bid] == pytest.approx(metres, abs=TOL), bid
    table = cov.coverage_of_district(access, (300, 500, 1000))
    assert table["method"] == "straight_line"


def test_the_river_makes_walking_and_straight_line_coverage_differ(network: cov.WalkingNetwork) -> None:
    walk = cov.coverage_of_district(cov.station_access(BUILDINGS, STATIONS, network=network), (300, 500, 1000))
    line_ = cov.coverage_of_district(cov.station_access(BUILDINGS, STATIONS), (300, 500, 1000))
    # walking: only B2 (230 m) within 300 and 500; B4 (673.9) and B5 (830) within 1000
    assert (walk["within_300"], walk["within_500"], walk["within_1000"]) == (40, 40, 55)
    # straight: B1 (250) and B2 (200.2) within 300 … B5 (629.4) and B4 (478.9) within 500/1000, B3 (880.6) too
    assert (line_["within_300"], line_["within_500"], line_["within_1000"]) == (140, 150, 215)
    assert walk["households"] == line_["households"] == 215
    assert walk["share_300"] == pytest.approx(40 / 215)


def test_connectors_split_edges_so_neighbours_on_one_street_meet(network: cov.WalkingNetwork) -> None:
    # S and B2 join the same stretch of the bank road; the path must not detour to a crossing
    assert cov.station_access(BUILDINGS, STATIONS, network=network).metres()["B2"] < 300


def test_coverage_per_grid_lists_grids_without_a_station_first(network: cov.WalkingNetwork) -> None:
    north = rect(-50, 0, 1050, 400)
    south = rect(-50, -400, 1050, 0)
    grids = gpd.GeoDataFrame({"community_id": ["C", "C"]}, geometry=[north, south],
                             index=pd.Index(["G-north", "G-south"], name="grid_id"), crs=4326)
    access = cov.station_access(BUILDINGS, STATIONS, network=network)
    table = cov.coverage_by_grid(access, BUILDINGS, grids, (300, 1000))
    assert table.loc["G-north", "households"] == 40 + 10 + 5
    assert table.loc["G-south", "households"] == 100 + 60
    assert table.loc["G-north", "within_300"] == 40 and table.loc["G-north", "within_1000"] == 55
    assert table.loc["G-south", "within_1000"] == 0       # the river: 1,080 m and more
    ordered = cov.uncovered_first(table, 300)
    assert list(ordered.index) == ["G-south", "G-north"]
    # a plan's own split: half of B2 assigned to the south grid moves 20 households there
    assignments = pd.DataFrame({"building_id": ["B1", "B2", "B2", "B3", "B4", "B5"],
                                "grid_id": ["G-south", "G-north", "G-south", "G-south", "G-north", "G-north"],
                                "households": [100, 20, 20, 60, 10, 5]})
    split = cov.coverage_by_grid(access, BUILDINGS, grids, (300,), assignments=assignments)
    assert split.loc["G-south", "within_300"] == 20 and split.loc["G-north", "within_300"] == 20


def test_mclp_picks_the_south_bank_node_and_reports_gains_in_order(network: cov.WalkingNetwork) -> None:
    access = cov.station_access(BUILDINGS, STATIONS, network=network)
    one = cov.plan_sites(access, BUILDINGS, k=1, reach_m=300, network=network)
    assert one.optimal and one.status == "optimal"
    assert one.uncovered_households == 100 + 60 + 10 + 5
    # the south bank's west end (0, -100) reaches B1 in 100 + 30 = 130 m; no node reaches B1 and B3
    assert one.households_gained == 100
    site = one.sites.geometry.iloc[0]
    assert site.distance(pt(0, -100)) < 1e-6
    two = cov.plan_sites(access, BUILDINGS, k=2, reach_m=300, network=network)
    assert list(two.sites["households_gained"]) == [100, 60] and two.households_gained == 160
    assert dict(two.newly_covered) == {"B1": 1, "B3": 2}


def test_mclp_with_a_candidate_layer(network: cov.WalkingNetwork) -> None:
    cands = gpd.GeoDataFrame({"name": ["hall", "shop"], "kind": ["other", "other"]},
                             geometry=[pt(500, 320), pt(100, -110)],
                             index=pd.Index(["hall", "shop"], name="station_id"), crs=4326)
    net = cov.build_network(STREETS, BUILDINGS, STATIONS, candidates=cands)
    access = cov.station_access(BUILDINGS, STATIONS, network=net)
    res = cov.plan_sites(access, BUILDINGS, k=1, reach_m=300, network=net, candidates=cands)
    assert list(res.sites.index) == ["shop"] and res.households_gained == 100
    # in straight lines B3 (880.6), B4 (478.9) and B5 (629.4) are beyond 300 m; the hall is 36.1 m from
    # B4 and 200.2 m from B5, the shop 850 m from B3
    line_access = cov.station_access(BUILDINGS, STATIONS)
    hall = cov.plan_sites(line_access, BUILDINGS, k=1, reach_m=300, candidates=cands)
    assert hall.method == "straight_line" and list(hall.sites.index) == ["hall"]
    assert hall.households_gained == 15 and hall.uncovered_households == 75
    with pytest.raises(ValueError, match="straight-line"):
        cov.plan_sites(line_access, BUILDINGS, k=1, reach_m=300, network=net, candidates=cands)


@pytest.mark.parametrize("seed", range(12))
def test_mclp_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(6, 16)), int(rng.integers(4, 9))
    a = rng.random((n, m)) < 0.3
    w = rng.integers(1, 200, n)
    k = int(rng.integers(1, 4))
    sol = cov.solve_mclp(sparse.csr_matrix(a), w, k)
    best = max(int(w[a[:, list(c)].any(axis=1)].sum()) for c in itertools.combinations(range(m), min(k, m)))
    assert sol.objective == best
    assert sol.optimal
    assert sum(sol.gains) == sol.objective
    assert sol.gains == sorted(sol.gains, reverse=True)
    assert int(w[a[:, sol.chosen].any(axis=1)].sum()) == best


def test_removing_the_only_station_loses_what_it_reaches(network: cov.WalkingNetwork) -> None:
    second = gpd.GeoDataFrame({"name": ["post"], "kind": ["compound_post"]}, geometry=[pt(300, 90)],
                              index=pd.Index(["S2"], name="station_id"), crs=4326)
    stations = pd.concat([STATIONS, second])
    net = cov.build_network(STREETS, BUILDINGS, stations)
    impact = cov.removal_impact(BUILDINGS, stations, reach_m=300, network=net)
    # B2 is reached by both (230 m and 20 m): closing either loses nothing at 300 m
    assert impact.table.loc["S1", "households_lost"] == 0
    assert impact.table.loc["S2", "households_covered"] == 40
    alone = cov.removal_impact(BUILDINGS, STATIONS, reach_m=1000, network=network)
    assert alone.table.loc["S1", "households_lost"] == 55       # B2, B4, B5
    assert set(alone.sole.index) == {"B2", "B4", "B5"}


def test_station_outside_the_district_is_a_named_error(tmp_path: Path) -> None:
    district = gpd.GeoDataFrame(geometry=[rect(-100, -400, 1100, 400)], crs=4326)
    far = gpd.GeoDataFrame({"station_id": ["S1", "FAR"], "name": ["ok", "far away"],
                            "kind": ["党群服务中心", "小区驿站"]},
                           geometry=[pt(100, 120), pt(3000, 0)], crs=4326)
    path = tmp_path / "stations.geojson"
    far.to_file(path)
    with pytest.raises(GeometryError, match=r"\(FAR\): lies 1,900 m outside the district") as info:
        cov.read_stations(path, district)
    assert info.value.code == "err.coverage.station_outside"
    far.iloc[:1].to_file(path)
    assert list(cov.read_stations(path, district)["kind"]) == ["party_mass_centre"]


def test_unknown_kind_and_duplicate_ids_are_named(tmp_path: Path) -> None:
    district = gpd.GeoDataFrame(geometry=[rect(-100, -400, 1100, 400)], crs=4326)
    path = tmp_path / "stations.csv"
    lon, lat = ll(100, 120)
    path.write_text("站点编码,名称,类型,经度,纬度\nS1,甲,党群服务中心,{0},{1}\nS1,乙,驿站,{0},{1}\n".format(lon, lat),
                    encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        cov.read_stations(path, district)
    text = str(info.value)
    assert "row 3 (S1): 类型 is not a known value, got '驿站'" in text   # the user's own header (issue 15)
    assert "station_id 'S1' is used 2 times (rows 2, 3)" in text


def test_parse_reaches() -> None:
    assert cov.parse_reaches("1000, 300,500") == (300, 500, 1000)
    assert cov.parse_reaches("300，500") == (300, 500)
    with pytest.raises(InputError, match="got 'abc'"):
        cov.parse_reaches("300,abc")


def test_cli_writes_the_three_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, frame in (("streets", STREETS), ("buildings", BUILDINGS)):
        frame.to_file(tmp_path / f"{name}.geojson")
    STATIONS.reset_index().to_file(tmp_path / "stations.geojson")
    grids = gpd.GeoDataFrame({"grid_id": ["G-north", "G-south"]},
                             geometry=[rect(-50, 0, 1050, 400), rect(-50, -400, 1050, 0)],
                             crs=4326)
    grids.to_file(tmp_path / "grids.geojson")
    out = tmp_path / "out"
    code = main(["--lang", "en", "coverage", "--buildings", str(tmp_path / "buildings.geojson"),
                 "--stations", str(tmp_path / "stations.geojson"), "--streets", str(tmp_path / "streets.geojson"),
                 "--grids", str(tmp_path / "grids.geojson"), "--reach", "300,500,1000", "--add", "2",
                 "--out", str(out)])
    assert code == 0
    b = pd.read_csv(out / "coverage_buildings.csv", encoding="utf-8-sig", index_col="building_id")
    assert list(b.columns[:3]) == ["households", "grid_id", "nearest_party_mass_centre"]
    for bid, metres in WALK.items():
        assert b.loc[bid, "metres_party_mass_centre"] == pytest.approx(metres, abs=0.1)
    assert set(b["method"]) == {"walking"}
    g = pd.read_csv(out / "coverage_grids.csv", encoding="utf-8-sig", index_col="grid_id")
    assert list(g.columns[:4]) == ["households", "within_300", "within_500", "within_1000"]
    assert g.loc["G-north"].tolist()[:4] == [55, 40, 40, 55]
    assert g.loc["G-south"].tolist()[:4] == [160, 0, 0, 0]
    sites = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["rank"] for f in sites["features"]] == [1, 2]
    assert [f["properties"]["households_gained"] for f in sites["features"]] == [100, 60]
    assert "within 300 m" in capsys.readouterr().out


def test_cli_without_streets_says_straight_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    BUILDINGS.to_file(tmp_path / "buildings.geojson")
    STATIONS.reset_index().to_file(tmp_path / "stations.geojson")
    code = main(["--lang", "zh", "coverage", "--buildings", str(tmp_path / "buildings.geojson"),
                 "--stations", str(tmp_path / "stations.geojson"), "--out", str(tmp_path / "o")])
    assert code == 0
    assert "直线距离：300 米内 140 / 215 户" in capsys.readouterr().out
    b = pd.read_csv(tmp_path / "o" / "coverage_buildings.csv", encoding="utf-8-sig")
    assert set(b["method"]) == {"straight_line"}
    code = main(["--lang", "en", "coverage", "--buildings", str(tmp_path / "buildings.geojson"), "--stations",
                 str(tmp_path / "stations.geojson"), "--add", "1", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--add needs candidate sites" in capsys.readouterr().err


def test_cli_candidates_file_with_chinese_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, frame in (("streets", STREETS), ("buildings", BUILDINGS)):
        frame.to_file(tmp_path / f"{name}.geojson")
    STATIONS.reset_index().to_file(tmp_path / "stations.geojson")
    (hall_lon, hall_lat), (shop_lon, shop_lat) = ll(500, 320), ll(100, -110)
    (tmp_path / "cands.csv").write_text(
        f"候选点编号,名称,经度,纬度\nhall,社区用房,{hall_lon},{hall_lat}\nshop,空置商铺,{shop_lon},{shop_lat}\n",
        encoding="utf-8-sig")
    code = main(["--lang", "en", "coverage", "--buildings", str(tmp_path / "buildings.geojson"), "--stations",
                 str(tmp_path / "stations.geojson"), "--streets", str(tmp_path / "streets.geojson"),
                 "--add", "2", "--candidates", str(tmp_path / "cands.csv"), "--out", str(tmp_path / "o")])
    assert code == 0
    sites = json.loads((tmp_path / "o" / "sites.geojson").read_text(encoding="utf-8"))["features"]
    # walking at 300 m: the shop reaches B1 (10 + 0 + 30 = 40 m), the hall B4 (20 + 53.9 = 73.9 m, both joined at the lane's dead end)
    assert [(f["properties"]["candidate_id"], f["properties"]["households_gained"]) for f in sites] == [
        ("shop", 100), ("hall", 10)]
    (tmp_path / "bad.csv").write_text("经度,纬度\n116.44,36.29\nabc,36.2\n", encoding="utf-8")
    code = main(["--lang", "en", "coverage", "--buildings", str(tmp_path / "buildings.geojson"), "--stations",
                 str(tmp_path / "stations.geojson"), "--streets", str(tmp_path / "streets.geojson"),
                 "--add", "1", "--candidates", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err   # rendered by gridgeo.errors.render: a heading naming the file, a line per row
    assert "bad.csv" in err and "- row 3 (C002): column 经度 is not a number" in err


def test_excel_workbook_round_trips(network: cov.WalkingNetwork) -> None:
    access = cov.station_access(BUILDINGS, STATIONS, network=network)
    community = cov.grids_frame(cov.coverage_by_community(access, (300, 1000)), (300, 1000), access.kinds)
    from gridgeo.tables import xlsx_bytes
    data = xlsx_bytes({"communities": community, "buildings": cov.buildings_frame(access)}, lang=None)
    import io as _io
    back = pd.read_excel(_io.BytesIO(data), sheet_name=None, index_col=0, engine="calamine")
    assert back["communities"].loc["C", ["households", "within_300", "within_1000"]].tolist() == [215, 40, 55]
    assert back["buildings"].loc["B1", "metres_any"] == pytest.approx(1850, abs=0.1)
