"""Street grid, street blocks and buildings of the synthetic district.

Everything here works in metres on a local plane centred on ``CENTRE`` and
only ``to_wgs84`` turns results into EPSG:4326, so the geometry rules (setbacks,
row spacing, no overlaps) read in real units.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

#: (lon, lat) the district is centred on: Pingyin county town, Jinan, Shandong.
CENTRE: tuple[float, float] = (116.445, 36.29)
METRIC = "EPSG:32650"  # UTM 50N covers 114–120°E
COUNTY = "370124"  # 平阴县 (GB/T 2260)
TZ = "Asia/Shanghai"
_HOUSEHOLDS_PER_SCALE = 45_000  # Pingyin: 19 communities, ~100 grids of 300–500 households
_RIVER_HALF_M = 45.0  # bank-road centre lines either side of the river

Rng = np.random.Generator

# ---------------------------------------------------------------- name tables
_COMMUNITY_NAMES = (
    "翠屏 榆山 锦水 东关 西关 南关 北关 青龙 龙山 玫瑰 书院 府前 东湖 南苑 北苑 西苑 清河 幸福 和平 新华 "
    "建设 胜利 团结 振兴 光明 康宁 平安 朝阳 凤凰 杏林 学府 阜东 兴隆 永安 丰源 桃园 育英 迎宾 泰和 锦屏"
).split()
_STREET_NAMES = ("榆山街道", "锦水街道", "青龙街道", "龙山街道", "玫瑰街道", "东湖街道", "书院街道",
                 "翠屏街道", "府前街道", "清河街道")
_EW_ROADS = ("榆山路 锦屏路 青龙路 黄河路 泰山路 书院路 文化路 玫瑰路 东湖路 人民路 新华路 振兴路 建设路 "
             "工业路 学府路 兴隆路 康庄路 永安路 和平路 朝阳路 光明路 华山路 长青路 幸福路").split()
_NS_ROADS = ("府前街 东关街 西关街 翠屏街 锦水街 龙山街 平安街 胜利街 阜东街 青年街 育英街 南门街 北门街 "
             "中心街 迎宾街 振华街 康宁街 丰源街 济平街 桃园街").split()
_ESTATE_HEADS = ("锦绣 阳光 金色 翡翠 御景 明珠 丽景 书香 和谐 福泽 康乐 泰和 嘉禾 润园 盛世 龙湾 "
                 "怡景 蓝天 紫薇 银座 恒泰 鑫源 华府 状元 云山 水岸 玉泉 滨河").split()
_ESTATE_TAILS = ("花园", "小区", "家园", "名苑", "新村", "雅居", "华庭", "苑")
_WORK_UNITS = ("供电局", "粮食局", "棉纺厂", "化肥厂", "二中", "县医院", "农机站", "供销社", "水泥厂",
               "酒厂", "邮电局", "交通局", "税务局", "建筑公司")
_NUMERALS = "一二三四五六七八九十"
_SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋"
             "蔡贾丁魏薛叶阎潘杜戴夏钟田任姜范方石姚谭邹金孔白崔康毛秦史侯孟")
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰建国志红文斌鹏飞雪梅海燕春晓东亮成林峰"
_PHONE_PREFIXES = (130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157,
                   158, 159, 180, 181, 182, 183, 185, 186, 187, 188, 189)


def chinese_numeral(n: int) -> str:
    """Write 1 ≤ n ≤ 999 in Chinese numerals: 二, 十, 十一, 二十一, 一百零五, 一百一十."""
    if not 1 <= n <= 999:
        raise ValueError(f"numeral out of range: {n}")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    digit = " 一二三四五六七八九"
    out = f"{digit[hundreds]}百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else digit[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    return out + (digit[ones] if ones else "")


def numbered(pool: tuple[str, ...] | list[str], n: int, suffix_len: int) -> list[str]:
    """Return n distinct names: the pool, then each entry again with 二/三/… before its suffix.

    The k-th repetition of an entry (k ≥ 1) carries the numeral k + 1 between
    the name and its last ``suffix_len`` characters, as real cities number a
    split road or community: 榆山路 → 榆山二路, 翠屏社区 → 翠屏二社区. Every
    repetition has its own numeral, so the names stay distinct (up to 999 rounds of the pool).
    """
    out = []
    for i in range(n):
        base, k = pool[i % len(pool)], i // len(pool)
        cut = len(base) - suffix_len
        out.append(base if k == 0 else f"{base[:cut]}{chinese_numeral(k + 1)}{base[cut:]}")
    return out


# ------------------------------------------------------------- building types
#: depth/unit width in metres; row_gap between rows (sunlight spacing), gap along a row.
_TYPES: dict[str, dict[str, Any]] = {
    "walkup": dict(depth=(10.5, 12.5), unit_w=(13.0, 16.0), units=((1, 2, 3, 4), (.12, .3, .33, .25)),
                   floors=((5, 6), (.35, .65)), flats=((2,), (1.0,)), hh=(12, 48), row_gap=(15, 20),
                   gap=(5, 10)),
    "midrise": dict(depth=(13.0, 15.0), unit_w=(17.0, 20.0), units=((2, 3), (.6, .4)),
                    floors=(tuple(range(11, 19)), None), flats=((2, 3, 4), (.4, .35, .25)), hh=(60, 150),
                    row_gap=(32, 40), gap=(12, 18)),
    "tower": dict(depth=(16.0, 19.0), unit_w=(16.0, 19.0), units=((2, 3, 4, 5, 6), (.1, .15, .2, .25, .3)),
                  floors=(tuple(range(26, 34)), None), flats=((2, 3, 4), (.2, .4, .4)), hh=(150, 600),
                  row_gap=(45, 55), gap=(16, 24)),
    "courtyard": dict(depth=(8.0, 10.0), unit_w=(10.0, 13.0), units=((1,), (1.0,)), floors=((1,), (1.0,)),
                      flats=((1, 2, 3), (.6, .3, .1)), hh=(1, 3), row_gap=(2.5, 4), gap=(2, 3.5)),
}
_TYPE_CODES = tuple(_TYPES)
#: share of street blocks (街坊) of each multi-storey type, by the age of the community
_ERA_MIX = {
    "old": {"walkup": .92, "midrise": .08, "tower": 0.0},
    "mixed": {"walkup": .76, "midrise": .12, "tower": .12},
    "new": {"walkup": .40, "midrise": .25, "tower": .35},
}
_INSET_M = {"arterial": 20.0, "secondary": 13.0, "lane": 8.0}  # road half width + setback


# ------------------------------------------------------------------ geometry
def _bilinear(q: np.ndarray, u: float, v: float) -> np.ndarray:
    """Map (u east, v south) in the unit square onto quad q = [NW, NE, SE, SW]."""
    point: np.ndarray = (1 - u) * (1 - v) * q[0] + u * (1 - v) * q[1] + u * v * q[2] + (1 - u) * v * q[3]
    return point


def _inset(q: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Move each edge of convex clockwise quad q inwards by d[k] (edge k runs q[k] -> q[k+1])."""
    t = np.roll(q, -1, axis=0) - q
    t = t / np.linalg.norm(t, axis=1, keepdims=True)
    n = np.column_stack([t[:, 1], -t[:, 0]])  # right normal points inside a clockwise ring
    p = q + d[:, None] * n
    out = np.empty_like(q)
    for k in range(4):
        a, ta, b, tb = p[k - 1], t[k - 1], p[k], t[k]
        s = np.linalg.solve(np.column_stack([ta, -tb]), b - a)[0]
        out[k] = a + s * ta
    return out


def _layout(rng: Rng, scale: int) -> tuple[list[np.ndarray], list[tuple[str, str, str, str]],
                                            list[list[int]], list[tuple[str, str, np.ndarray]]]:
    """Lay out the arterial grid: block quads, their edge road names, communities, arterials."""
    n_blocks = 21 * scale  # 19 communities + 1 merged pair + 1 pair across the river, per scale unit
    ncols = math.ceil(math.sqrt(n_blocks * 1.4))
    nrows = math.ceil(n_blocks / ncols)
    xs = np.concatenate([[0.0], np.cumsum(rng.uniform(650, 820, ncols))])
    ys = -np.concatenate([[0.0], np.cumsum(rng.uniform(520, 660, nrows))])
    river = nrows // 2
    ys[river + 1:] -= 2 * _RIVER_HALF_M  # the river strip belongs to no community
    vx = xs[None, :] + rng.uniform(-30, 30, (nrows + 1, ncols + 1))
    vy = ys[:, None] + rng.uniform(-30, 30, (nrows + 1, ncols + 1))
    vx -= (xs[0] + xs[-1]) / 2
    vy -= (ys[0] + ys[-1]) / 2

    def vertex(line: int, col: int, below: bool) -> np.ndarray:
        """Corner on row line ``line``; on the river line the south bank is seen from below."""
        shift = -2 * _RIVER_HALF_M if (line == river and below) else 0.0
        return np.array([vx[line, col], vy[line, col] + shift])

    ew = numbered(_EW_ROADS, nrows + 1, 1)
    ns = numbered(_NS_ROADS, ncols + 1, 1)
    bank = ("锦水河北路", "锦水河南路")
    arterials: list[tuple[str, str, np.ndarray]] = []
    for line in range(nrows + 1):
        if line == river:
            arterials.append((bank[0], "arterial", np.column_stack([vx[line], vy[line]])))
            arterials.append((bank[1], "arterial", np.column_stack([vx[line], vy[line] - 2 * _RIVER_HALF_M])))
        else:
            arterials.append((ew[line], "arterial", np.column_stack([vx[line], vy[line]])))
    for col in range(ncols + 1):
        pts = [vertex(line, col, False) for line in range(nrows + 1)]
        pts.insert(river + 1, vertex(river, col, True))
        arterials.append((ns[col], "arterial", np.array(pts)))

    # drop corner blocks for a less regular outline
    order = [(r, c) for r in range(nrows) for c in range(ncols)]
    extra = nrows * ncols - n_blocks
    drop = set()
    for k in range(extra):
        depth, corner = divmod(k, 4)
        r = 0 if corner in (0, 2) else nrows - 1
        c = depth if corner in (0, 3) else ncols - 1 - depth
        drop.add((r, c))
    cells = [rc for rc in order if rc not in drop]
    index = {rc: i for i, rc in enumerate(cells)}
    quads, names = [], []
    for r, c in cells:
        quads.append(np.array([vertex(r, c, True), vertex(r, c + 1, True),
                               vertex(r + 1, c + 1, False), vertex(r + 1, c, False)]))
        top = bank[1] if r == river else ew[r]
        bottom = bank[0] if r + 1 == river else ew[r + 1]
        names.append((top, ns[c + 1], bottom, ns[c]))

    used: set[int] = set()
    groups: list[list[int]] = []
    across = [c for c in range(ncols) if (river - 1, c) in index and (river, c) in index]
    for c in rng.choice(across, size=scale, replace=False):
        pair = [index[(river - 1, int(c))], index[(river, int(c))]]
        groups.append(pair)
        used.update(pair)
    side = [(index[(r, c)], index[(r, c + 1)]) for r, c in cells
            if (r, c + 1) in index and index[(r, c)] not in used and index[(r, c + 1)] not in used]
    for k in rng.permutation(len(side)):
        a, b = side[k]
        if a not in used and b not in used and len(groups) < 2 * scale:
            groups.append([a, b])
            used.update((a, b))
    groups += [[i] for i in range(len(cells)) if i not in used]
    groups.sort(key=lambda g: cells[g[0]])
    return quads, names, groups, arterials


def _community_polygon(quads: list[np.ndarray], group: list[int]) -> shapely.Geometry:
    polys = [shapely.Polygon(quads[i]) for i in group]
    if len(polys) == 1:
        return polys[0]
    merged = shapely.union(polys[0], polys[1])
    return merged if merged.geom_type == "Polygon" else shapely.MultiPolygon(polys)


def _cuts(rng: Rng, length: float) -> np.ndarray:
    """Interior cut positions (0..1) giving street blocks of roughly 140–230 m."""
    n = max(2, round(length / rng.uniform(140, 230)))
    pos = (np.arange(1, n) + rng.uniform(-0.15, 0.15, n - 1)) / n
    return np.sort(pos)


def _subdivide(rng: Rng, quad: np.ndarray, edge_names: tuple[str, str, str, str], short: str,
               lane_no: list[int]) -> tuple[list[dict[str, Any]], list[tuple[str, str, np.ndarray]]]:
    """Cut a block into street blocks with secondary roads and lanes."""
    ucut = _cuts(rng, float(np.linalg.norm(quad[1] - quad[0])))
    vcut = _cuts(rng, float(np.linalg.norm(quad[3] - quad[0])))
    roads: list[tuple[str, str, np.ndarray]] = []
    ukind: list[str] = []
    vkind: list[str] = []
    uname: list[str] = []
    vname: list[str] = []
    for cuts, kinds, names, axis in ((ucut, ukind, uname, "街"), (vcut, vkind, vname, "路")):
        main = int(np.argmin(np.abs(cuts - 0.5)))
        for k, w in enumerate(cuts):
            if k == main:
                kind, name = "secondary", f"{short}中{axis}"
            else:
                kind, name = "lane", f"{short}{_NUMERALS[lane_no[0] % 10]}巷"
                lane_no[0] += 1
            kinds.append(kind)
            names.append(name)
            ends = ([_bilinear(quad, w, 0), _bilinear(quad, w, 1)] if axis == "街"
                    else [_bilinear(quad, 0, w), _bilinear(quad, 1, w)])
            roads.append((name, kind, np.array(ends)))
    us, vs = np.concatenate([[0], ucut, [1]]), np.concatenate([[0], vcut, [1]])
    blocks = []
    for j in range(len(vs) - 1):
        for i in range(len(us) - 1):
            q = np.array([_bilinear(quad, us[i], vs[j]), _bilinear(quad, us[i + 1], vs[j]),
                          _bilinear(quad, us[i + 1], vs[j + 1]), _bilinear(quad, us[i], vs[j + 1])])
            sides = ("arterial" if j == 0 else vkind[j - 1], "arterial" if i == len(us) - 2 else ukind[i],
                     "arterial" if j == len(vs) - 2 else vkind[j], "arterial" if i == 0 else ukind[i - 1])
            d = np.array([_INSET_M[k] for k in sides]) + rng.uniform(0, 4, 4)
            address = edge_names[0] if j == 0 else vname[j - 1]
            blocks.append({"inset": _inset(q, d), "address": address})
    return blocks, roads


def _place(rng: Rng, inset: np.ndarray, kind: str) -> dict[str, np.ndarray]:
    """Place non-overlapping rectangles of one building type in rows along the block."""
    spec = _TYPES[kind]
    e1 = inset[1] - inset[0]
    e1 = e1 / np.linalg.norm(e1)
    e2 = np.array([-e1[1], e1[0]])  # points north: buildings face south in rows
    origin = inset.mean(axis=0)
    s, t = (inset - origin) @ e1, (inset - origin) @ e2
    depth = rng.uniform(*spec["depth"])
    unit_w = rng.uniform(*spec["unit_w"])
    row_gap = rng.uniform(*spec["row_gap"])
    rows: list[tuple[float, float, float, int]] = []
    tc = t.max() - depth / 2 - rng.uniform(0, 3)
    units_v, units_p = spec["units"]
    while tc - depth / 2 > t.min():
        cursor = s.min() + rng.uniform(0, spec["gap"][1])
        while True:
            units = int(rng.choice(units_v, p=units_p))
            fits = [u for u in units_v if cursor + u * unit_w <= s.max()]
            if not fits:
                break
            units = min(units, max(fits))  # a shorter building may still close the row
            length = units * unit_w
            rows.append((cursor + length / 2, tc, length, units))
            cursor += length + rng.uniform(*spec["gap"])
        tc -= depth + row_gap * rng.uniform(0.95, 1.05)
    if not rows:
        return {}
    sc, tcs, lengths, n_units = (np.array(x) for x in zip(*rows))
    centre = origin + sc[:, None] * e1 + tcs[:, None] * e2
    corners = np.stack([centre + sx * (lengths / 2)[:, None] * e1 + sy * depth / 2 * e2
                        for sx, sy in ((-1, 1), (1, 1), (1, -1), (-1, -1))], axis=1)
    poly = shapely.Polygon(inset)
    inside = shapely.contains_xy(poly, corners[..., 0], corners[..., 1]).all(axis=1)
    n = int(inside.sum())
    if n == 0:
        return {}
    fv, fp = spec["floors"]
    floors = rng.choice(fv, size=n, p=fp)
    flats = rng.choice(spec["flats"][0], size=n, p=spec["flats"][1])
    hh = np.clip(n_units[inside] * floors * flats, *spec["hh"])
    return {"corners": corners[inside], "centre": centre[inside], "units": n_units[inside], "floors": floors,
            "households": hh, "kind": np.full(n, _TYPE_CODES.index(kind)),
            "normal": np.tile(e2, (n, 1)), "depth": np.full(n, depth)}


def _fill(rng: Rng, blocks: list[dict[str, Any]], era: str, target: int,
          courts: int) -> list[dict[str, Any]]:
    """Fill street blocks with buildings until the community holds exactly ``target`` households.

    ``courts`` courtyard clusters (the old core) come first. Blocks left over
    stay empty (schools, parks, markets); the last block may be part-filled.
    Households are then trimmed within each type's range so the total is exact,
    which lets the demo carry deliberately infeasible totals.
    """
    eras = ("old", "mixed", "new")
    dense = {"walkup": 0.0, "midrise": .5, "tower": .5}
    for mix in [_ERA_MIX[e] for e in eras[eras.index(era):]] + [dense]:
        share = np.array(list(mix.values()))
        count = np.floor(share * len(blocks)).astype(int)  # stratified: fewer surprises per seed
        count += np.bincount(rng.choice(len(share), size=len(blocks) - count.sum(), p=share),
                             minlength=len(share))
        kinds = rng.permutation(np.repeat(np.array(list(mix), dtype=object), count))
        kinds[:courts] = "courtyard"
        chosen: list[dict[str, Any]] = []
        total = 0
        for slot, b in enumerate(rng.permutation(len(blocks))):
            placed = _place(rng, blocks[b]["inset"], str(kinds[slot]))
            if not placed:
                continue
            cum = total + np.cumsum(placed["households"])
            take = int(np.searchsorted(cum, target) + 1)
            placed = {k: v[:take] for k, v in placed.items()}
            placed["address"] = blocks[b]["address"]
            chosen.append(placed)
            total = int(cum[min(take, len(cum)) - 1])
            if total >= target:
                break
        if total >= target:
            break
    else:
        raise AssertionError(f"could not place {target} households")  # geometry leaves ample room
    excess = total - target
    for part in reversed(chosen):
        lo = _TYPES[_TYPE_CODES[int(part["kind"][0])]]["hh"][0]
        hh = part["households"]
        for i in range(len(hh) - 1, -1, -1):
            cut = min(excess, int(hh[i]) - lo)
            hh[i] -= cut
            excess -= cut
            if excess == 0:
                return chosen
    raise AssertionError("households could not be trimmed to the target")


def _split_compounds(rng: Rng, hh: np.ndarray) -> np.ndarray:
    """Split a block's buildings (in row order) into compounds of 100–1,500 households."""
    labels = np.zeros(len(hh), dtype=int)
    label, size, goal = 0, 0, rng.uniform(250, 1400)
    for i, h in enumerate(hh):
        if size > 0 and (size >= goal or size + h > 1500):
            label, size, goal = label + 1, 0, rng.uniform(250, 1400)
        labels[i] = label
        size += int(h)
    if label > 0 and size < 100:
        labels[labels == label] = label - 1
    return labels


def _targets(rng: Rng, n: int, scale: int, candidates: list[int]) -> np.ndarray:
    """Household totals: typical 1,500–4,000, plus deliberately infeasible ones (550, 280)."""
    specials = [550, 280] + [int(v) for _ in range(scale - 1)
                             for v in (rng.integers(501, 600), rng.integers(150, 300))]
    where = rng.choice(candidates, size=len(specials), replace=False)
    others = np.setdiff1d(np.arange(n), where)
    rest = int(rng.integers(-1500, 1501)) + _HOUSEHOLDS_PER_SCALE * scale - sum(specials)
    draw = rng.uniform(1500, 4000, len(others))
    for _ in range(20):
        draw = np.clip(draw * rest / draw.sum(), 1500, 4000)
    out = np.zeros(n, dtype=int)
    out[where] = specials
    out[others] = np.round(draw).astype(int)
    return out


def compounds(rng: Rng, parts: list[dict[str, Any]], is_court: np.ndarray,
              eras: np.ndarray) -> tuple[np.ndarray, list[str], dict[int, str]]:
    """Group each block's buildings into compounds (小区) and name every building.

    Courtyard clusters, small blocks and a few old blocks belong to no compound
    (label -1): real building lists have such gaps. Old communities' compounds
    are often work-unit dormitories (单位宿舍).
    """
    nb = sum(len(p["households"]) for p in parts)
    label = np.full(nb, -1)
    names = [""] * nb
    titles: dict[int, str] = {}
    estates = [h + t for t in _ESTATE_TAILS for h in _ESTATE_HEADS]
    pool = iter(list(rng.permutation(estates)) + [f"{e}{_NUMERALS[k]}区" for k in range(1, 10) for e in estates])
    work_units = iter(rng.permutation(_WORK_UNITS).tolist())
    next_id, start = 0, 0
    numbers: dict[str, int] = {}  # house numbers run on along a road across blocks
    for p in parts:
        m = len(p["households"])
        if bool(is_court[start]) or rng.random() < 0.07 or int(p["households"].sum()) < 100:
            first = numbers.get(p["address"], 0)
            names[start:start + m] = [f"{p['address']}{first + j + 1}号" for j in range(m)]
            numbers[p["address"]] = first + m
        else:
            labels = _split_compounds(rng, p["households"])
            label[start:start + m] = next_id + labels
            for lab in np.unique(labels):
                title = None
                if eras[int(p["community"][0])] == "old" and rng.random() < .5:
                    title = next(work_units, None)
                title = f"{title}宿舍" if title else str(next(pool))
                titles[next_id + int(lab)] = title
                for k, j in enumerate(np.flatnonzero(labels == lab)):
                    names[start + j] = f"{title}{k + 1}号楼"
            next_id += int(labels.max()) + 1
        start += m
    return label, names, titles


def to_wgs84(geoms: np.ndarray, origin: tuple[float, float]) -> gpd.GeoSeries:
    """Shift local-plane geometry by the UTM origin and reproject it to EPSG:4326."""
    moved = shapely.transform(geoms, lambda xy: xy + np.asarray(origin))
    return gpd.GeoSeries(moved, crs=METRIC).to_crs(4326)


def _names(rng: Rng, n: int) -> list[str]:
    w = 1 / np.arange(1, len(_SURNAMES) + 1)
    sur = rng.choice(list(_SURNAMES), size=n, p=w / w.sum())
    one = rng.choice(list(_GIVEN), size=n)
    two = rng.choice(list(_GIVEN), size=n)
    short = rng.random(n) < 0.3
    return [s + a + ("" if sh else b) for s, a, b, sh in zip(sur, one, two, short)]


def _phones(rng: Rng, n: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        p = f"{rng.choice(_PHONE_PREFIXES)}{int(rng.integers(0, 10**8)):08d}"
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out

