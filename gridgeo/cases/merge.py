"""Repeated requests about one matter (并单): ten calls about one blocked drain are one problem.

Two cases are the same matter when (a) they have the same category, lie within
``distance_m`` of each other and were reported within ``window_days``, or (b)
they give the same address with near-identical text (similarity ≥
``text_similarity``) within ``text_window_days``. Each case is compared with the *first* case of the
matters open before it (not with any member, so a busy compound does not chain
a year of calls into one matter): it joins the earliest such matter whose first
case it matches, else it opens a matter of its own. The first case stands for
the matter and lends it its id.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gridgeo.cases.points import MetricPoints, metric_points

__all__ = ["MergeRules", "merge_cases"]


@dataclass(frozen=True)
class MergeRules:
    """Thresholds of 并单; defaults follow common 12345 practice (same spot, same week)."""

    distance_m: float = 50.0
    window_days: float = 3.0
    text_similarity: float = 0.9
    text_window_days: float = 30.0
    #: a text is compared with at most this many earlier cases at the same address
    text_lookback: int = 20


def _norm(values: pd.Series) -> np.ndarray:
    """NFKC, lower case, no spaces or punctuation; "" for missing (vectorised, blanks skipped)."""
    out = np.full(len(values), "", dtype=object)
    present = values.notna().to_numpy()
    if present.any():
        s = values[present].astype(str).str.normalize("NFKC").str.lower().str.replace(r"[\s\W_]+", "", regex=True)
        out[present] = s.to_numpy(dtype=object)
    return out


def _seconds(values: pd.Series) -> np.ndarray:
    s = pd.to_datetime(values)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC")
    return np.asarray(s.to_numpy(dtype="datetime64[s]").astype("int64"), dtype=float)


def _space_time_pairs(cases: gpd.GeoDataFrame, t: np.ndarray, rules: MergeRules,
                      points: MetricPoints | None = None) -> np.ndarray:
    """Pairs of cases of one category within ``distance_m`` and ``window_days``: a k-d tree per category.

    Time is scaled so that the window measures ``distance_m``; the tree finds the
    pairs inside the (x, y, t) box, and the exact circle and window are then checked.
    """
    if points is None or len(points.xy) != len(cases):
        points = metric_points(cases)
    ok = points.present & ~np.isnan(t)
    if ok.sum() < 2:
        return np.empty((0, 2), dtype="int64")
    d = rules.distance_m
    window = rules.window_days * 86400.0
    scale = d / window if window > 0 else 0.0       # seconds -> metres: the window becomes d
    codes, _ = pd.factorize(pd.Series(cases["category"].to_numpy()).fillna(""))
    idx_all = np.flatnonzero(ok)
    by_code = idx_all[np.argsort(codes[idx_all], kind="stable")]
    bounds = np.flatnonzero(np.diff(codes[by_code])) + 1
    out: list[np.ndarray] = []
    t0 = float(np.nanmin(t[ok]))
    for group in np.split(by_code, bounds):
        if len(group) < 2:
            continue
        xy = points.xy[group]
        tg = t[group]
        data = np.column_stack([xy - xy.min(axis=0), (tg - t0) * scale])
        pairs = cKDTree(data, balanced_tree=False, compact_nodes=False).query_pairs(
            d * (1 + 1e-9), p=np.inf, output_type="ndarray")
        if not len(pairs):
            continue
        i, j = pairs[:, 0], pairs[:, 1]
        keep = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1]) <= d
        keep &= np.abs(tg[i] - tg[j]) <= window
        out.append(np.column_stack([group[i[keep]], group[j[keep]]]))
    return np.vstack(out).astype("int64") if out else np.empty((0, 2), dtype="int64")


def _text_pairs(cases: gpd.GeoDataFrame, t: np.ndarray, rules: MergeRules) -> np.ndarray:
    if "address" not in cases or "text" not in cases:
        return np.empty((0, 2), dtype="int64")
    if cases["address"].isna().all() or cases["text"].isna().all():
        return np.empty((0, 2), dtype="int64")
    addr = _norm(cases["address"])
    text = _norm(cases["text"])
    usable = (addr != "") & (text != "")
    out: list[tuple[int, int]] = []
    window = rules.text_window_days * 86400.0
    frame = pd.DataFrame({"addr": addr[usable], "t": t[usable], "pos": np.flatnonzero(usable)})
    for _, group in frame.groupby("addr", sort=False):
        if len(group) < 2:
            continue
        g = group.sort_values("t")
        pos, times = g["pos"].to_numpy(), g["t"].to_numpy()
        for k in range(1, len(g)):
            for m in range(k - 1, max(-1, k - 1 - rules.text_lookback), -1):
                if times[k] - times[m] > window:
                    break
                a, b = text[pos[k]], text[pos[m]]
                if a == b or difflib.SequenceMatcher(None, a, b).ratio() >= rules.text_similarity:
                    out.append((int(pos[m]), int(pos[k])))
                    break
    return np.asarray(out, dtype="int64").reshape(-1, 2)


def _time_order(t: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions in time order, ties broken by id (ids compared as text only where times tie)."""
    order = np.argsort(t, kind="stable")
    ts = t[order]
    eq = ts[1:] == ts[:-1]
    tie = np.zeros(len(t), bool)
    tie[1:] |= eq
    tie[:-1] |= eq
    if tie.any():
        sub = order[tie]
        order[tie] = sub[np.lexsort((ids[sub].astype(str), t[sub]))]
    return order


def merge_cases(cases: gpd.GeoDataFrame, rules: MergeRules = MergeRules(), *,
                points: MetricPoints | None = None) -> pd.Series:
    """Return the ``matter_id`` of every case (the id of the matter's first case), aligned on ``cases``.

    A case alone is its own matter. Cases without a point still merge by address and text.
    ``points`` (from ``join_grids``) spares projecting the points again.
    """
    n = len(cases)
    if n == 0:
        return pd.Series([], index=cases.index, dtype=object, name="matter_id")
    t = _seconds(pd.Series(cases["created_at"]))
    ids = (cases.index.to_numpy(dtype=object) if pd.api.types.infer_dtype(cases.index) == "string"
           else np.asarray(cases.index.astype(str), dtype=object))
    order = _time_order(t, ids)
    rank = np.empty(n, dtype="int64")
    rank[order] = np.arange(n)
    pairs = np.vstack([_space_time_pairs(cases, t, rules, points), _text_pairs(cases, t, rules)])
    head = np.arange(n)
    if len(pairs):
        early = np.where(rank[pairs[:, 0]] < rank[pairs[:, 1]], pairs[:, 0], pairs[:, 1])
        late = np.where(rank[pairs[:, 0]] < rank[pairs[:, 1]], pairs[:, 1], pairs[:, 0])
        sort = np.lexsort((rank[early], rank[late]))
        early, late = early[sort], late[sort]
        bounds = np.flatnonzero(np.diff(late)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(late)]])
        for s0, e0 in zip(starts.tolist(), ends.tolist()):
            b = late[s0]
            for a in early[s0:e0].tolist():     # earliest candidate first
                if head[a] == a:                # a opened a matter: join it
                    head[b] = a
                    break
    return pd.Series(ids[head], index=cases.index, name="matter_id")
