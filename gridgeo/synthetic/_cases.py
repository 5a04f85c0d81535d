"""Citizen cases (事件) of the synthetic district: categories, channels, seasons, hotspots.

Kept apart from the geometry: cases only need each building's metric centre,
type, compound and the age of its community.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.synthetic._layout import TZ, Rng, to_wgs84

#: category: (share, monthly factors Jan..Dec, departments {name: p}, urgent share)
_FLAT = (1,) * 12
CATEGORIES: dict[str, tuple[float, tuple[float, ...], dict[str, float], float]] = {
    "物业管理": (.17, _FLAT, {"物业公司": .8, "住建局": .2}, .02),
    "占用消防通道停车": (.10, _FLAT, {"公安派出所": .5, "城管局": .3, "物业公司": .2}, .08),
    "无序养犬": (.06, (.6, .6, .8, 1, 1.4, 1.6, 1.6, 1.5, 1.3, 1, .8, .6), {"公安派出所": .7, "城管局": .3}, .03),
    "噪音扰民": (.09, (.6, .6, .8, .9, 1.1, 1.6, 1.8, 1.7, 1.1, .9, .7, .6),
             {"公安派出所": .6, "生态环境局": .15, "物业公司": .25}, .02),
    "供水排水": (.10, (1.9, 1.7, 1, .8, .8, 1.1, 1.6, 1.4, .9, .8, .9, 1.6), {"水务公司": .85, "住建局": .15}, .12),
    "供暖": (.07, (2.6, 2.2, 1.1, .03, .01, .01, .01, .01, .01, .05, 1.6, 2.6), {"热力公司": 1.0}, .06),
    "环境卫生": (.11, (.8, .8, .9, 1, 1.1, 1.3, 1.4, 1.3, 1.1, 1, .9, .8), {"城管局": .7, "街道办": .3}, .02),
    "非法集资": (.01, _FLAT, {"市场监管局": .5, "公安派出所": .5}, .15),
    "养老服务": (.05, _FLAT, {"民政局": .6, "街道办": .4}, .03),
    "邻里纠纷": (.08, (.9, 1, .9, .9, 1, 1.1, 1.2, 1.2, 1, 1, .9, .9), {"街道办": .5, "司法所": .3, "公安派出所": .2}, .04),
    "违章搭建": (.05, (.6, .7, 1.3, 1.5, 1.4, 1.1, 1, .9, 1, 1, .8, .6), {"城管局": .8, "住建局": .2}, .02),
    "安全隐患": (.06, _FLAT, {"消防救援大队": .4, "街道办": .3, "物业公司": .3}, .15),
    "市政设施": (.05, _FLAT, {"住建局": .6, "城管局": .4}, .03),
}
CHANNELS = ("12345热线", "网格巡查", "小程序“我有事要说”", "社区来访")
_CHANNEL_BASE = np.array([.42, .30, .17, .11])
_PATROL_SEES = {"环境卫生", "安全隐患", "占用消防通道停车", "违章搭建", "市政设施"}
_HOTLINE_FIRST = {"供暖", "供水排水", "噪音扰民", "物业管理"}
#: building-type factors (walkup, midrise, tower, courtyard) per category, default 1
_TYPE_FACTOR = {"物业管理": (1, 1, 1.2, .05), "无序养犬": (1.3, 1, .7, 2.5), "供暖": (1, 1, 1, .3),
                "违章搭建": (1.5, .6, .3, 3), "安全隐患": (1.3, 1, 1, 1.2)}
_SATISFACTION = {"物业公司": .89, "热力公司": .91, "城管局": .95, "住建局": .94, "生态环境局": .94,
                 "市场监管局": .95, "水务公司": .96, "公安派出所": .97, "司法所": .97, "消防救援大队": .97,
                 "街道办": .98, "民政局": .98}
_HOURS = np.array([  # channel x hour-of-day weights
    [.05, .03, .02, .02, .02, .05, .15, .4, 1, 1, 1, .9, .6, .6, 1, 1, 1, .9, .7, .6, .6, .5, .3, .1],
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, .8, .1, .1, 1, 1, 1, .6, 0, 0, 0, 0, 0, 0],
    [.1, .05, .02, .02, .02, .05, .2, .5, .7, .7, .7, .7, .8, .6, .6, .6, .6, .7, .9, 1, 1, 1, .7, .3],
    [0, 0, 0, 0, 0, 0, 0, 0, .6, 1, 1, .8, 0, 0, .8, 1, 1, .5, 0, 0, 0, 0, 0, 0],
])
_NOISE_HOURS = np.array([.5, .3, .1, .05, .02, .02, .05, .2, .3, .3, .3, .3, .6, .5, .3, .3, .3, .4, .6,
                         .9, 1, 1, 1, .8])


def cases_for(rng: Rng, scale: int, cols: dict[str, np.ndarray], compound: np.ndarray, eras: np.ndarray,
           is_court: np.ndarray, origin: tuple[float, float]) -> gpd.GeoDataFrame:
    """About 60,000 cases per scale unit over 2025-11-01 .. 2026-10-31 with seasons and hotspots."""
    days = pd.date_range("2025-11-01", "2026-10-31", freq="D")
    weekend = days.day_of_week.to_numpy() >= 5
    spring_festival = (days >= "2026-02-14") & (days <= "2026-02-22")
    n_total = int(rng.normal(60_000, 800)) * scale
    cats = list(CATEGORIES)
    share = np.array([CATEGORIES[c][0] for c in cats])
    counts = rng.multinomial(n_total, share / share.sum())

    hh = cols["households"].astype(float)
    kind = cols["kind"]
    old = eras[cols["community"]] == "old"
    sizes = pd.Series(hh[compound >= 0]).groupby(compound[compound >= 0]).sum()
    walk_old = pd.Series(old & (kind == 0) & (compound >= 0)).groupby(compound).mean()
    pool = [c for c in sizes.index if c >= 0 and sizes[c] >= 300 and walk_old.get(c, 0) > 0.5]
    hot = rng.choice(pool, size=min(3 * scale, len(pool)), replace=False)  # problem property companies
    hot_b = np.isin(compound, hot)
    court_ids = np.unique(cols["community"][is_court])
    hot_court = np.isin(cols["community"], rng.choice(court_ids, size=min(scale, len(court_ids)), replace=False))
    hot_court &= is_court

    out: dict[str, list[np.ndarray]] = {k: [] for k in ("cat", "chan", "day", "bld")}
    for ci, (cat, n) in enumerate(zip(cats, counts)):
        _, months, _, _ = CATEGORIES[cat]
        w = hh * np.array(_TYPE_FACTOR.get(cat, (1, 1, 1, 1)))[kind]
        if cat in ("物业管理", "占用消防通道停车"):
            w = w * np.where(hot_b, 9.0, 1.0) * np.where(compound < 0, 0.2, 1.0)
        if cat == "邻里纠纷":
            w = w * np.where(hot_b, 2.0, 1.0)
        if cat in ("供水排水", "违章搭建"):
            w = w * np.where(hot_court, 5.0, 1.0)
        if cat == "养老服务":
            w = w * np.where(old, 1.8, 1.0)
        chan_w = _CHANNEL_BASE * np.array([1.5 if cat in _HOTLINE_FIRST else 1,
                                           2.0 if cat in _PATROL_SEES else (.4 if cat in _HOTLINE_FIRST else 1),
                                           1, 1])
        chans = rng.choice(4, size=n, p=chan_w / chan_w.sum())
        season = np.array(months)[days.month.to_numpy() - 1] * np.where(spring_festival, .5, 1)
        for ch in range(4):
            m = int((chans == ch).sum())
            dw = season * np.where(weekend, .2 if ch == 1 else .75, 1)
            out["day"].append(rng.choice(len(days), size=m, p=dw / dw.sum()))
            out["chan"].append(np.full(m, ch))
            out["cat"].append(np.full(m, ci))
            out["bld"].append(rng.choice(len(hh), size=m, p=w / w.sum()))
    cat_i, chan, day, bld = (np.concatenate(out[k]) for k in ("cat", "chan", "day", "bld"))
    n = len(cat_i)
    noise = np.array(cats)[cat_i] == "噪音扰民"
    hour = np.empty(n, dtype=int)
    for ch in range(4):
        for is_noise in (False, True):
            m = (chan == ch) & (noise == is_noise)
            prof = _NOISE_HOURS if (is_noise and ch in (0, 2)) else _HOURS[ch]
            hour[m] = rng.choice(24, size=int(m.sum()), p=prof / prof.sum())
    created = (days.values[day] + hour * np.timedelta64(1, "h")
               + rng.integers(0, 3600, n) * np.timedelta64(1, "s")).astype("datetime64[s]")

    urgent_p = np.array([CATEGORIES[c][3] for c in cats])[cat_i]
    urgent = rng.random(n) < urgent_p
    slow = np.isin(np.array(cats)[cat_i], ["违章搭建", "非法集资", "邻里纠纷"]) | (hot_b[bld] & (cat_i == 0))
    wd = rng.choice(7, size=n, p=[.10, .24, .22, .17, .11, .07, .09])
    tail = wd == 6
    wd[tail] = 6 + rng.geometric(0.18, int(tail.sum()))  # overdue tail: 7–25 working days
    wd = wd + (slow & (rng.random(n) < .5))
    wd = np.where(urgent, rng.choice([0, 1, 2, 3], size=n, p=[.8, .17, .02, .01]), wd)
    cdate = created.astype("datetime64[D]")
    same_day = created + (rng.uniform(.5, 5, n) * 3600).astype("timedelta64[s]")
    same_day = np.where(same_day.astype("datetime64[D]") > cdate,
                        (cdate + 1).astype("datetime64[s]") + np.timedelta64(9 * 3600, "s"), same_day)
    later = (np.busday_offset(cdate, wd, roll="forward").astype("datetime64[s]")
             + (rng.uniform(8.5, 18, n) * 3600).astype("timedelta64[s]"))
    closed = np.where(wd == 0, same_day, later)
    cutoff = np.datetime64("2026-11-01T00:00:00")
    stuck = rng.random(n) < 0.025
    is_open = (closed >= cutoff) | stuck
    departments = np.empty(n, dtype=object)
    for ci, cat in enumerate(cats):
        m = cat_i == ci
        dept = CATEGORIES[cat][2]
        departments[m] = rng.choice(list(dept), size=int(m.sum()), p=list(dept.values()))
    p_sat = np.array([_SATISFACTION[d] for d in departments]) - .15 * (wd > 5) - .08 * hot_b[bld]
    satisfied = pd.array(rng.random(n) < p_sat, dtype="boolean")
    satisfied[is_open] = pd.NA

    order = np.lexsort((bld, created))
    jitter = np.clip(rng.normal(0, 4, (n, 2)), -12, 12)
    pts = shapely.points(cols["centre"][bld] + jitter)
    created_ts = pd.DatetimeIndex(created).tz_localize(TZ)
    closed_ts = pd.DatetimeIndex(np.where(is_open, np.datetime64("NaT"), closed)).tz_localize(TZ)
    frame = gpd.GeoDataFrame({
        "category": np.array(cats, dtype=object)[cat_i],
        "channel": np.array(CHANNELS, dtype=object)[chan],
        "urgent": urgent,
        "created_at": created_ts,
        "closed_at": closed_ts,
        "status": np.where(is_open, "open", "closed").astype(object),
        "satisfied": satisfied,
        "department": departments,
    }, geometry=to_wgs84(pts, origin).values, crs=4326).iloc[order]
    frame.index = pd.Index([f"C{k + 1:06d}" for k in range(n)], name="case_id")
    return frame
