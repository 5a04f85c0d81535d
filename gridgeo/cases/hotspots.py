"""Hotspot grids: matters per 1,000 households, Getis–Ord Gi* with FDR, and the trend over months.

Gi* (esda ``G_Local``, ``star=True``, binary queen contiguity between grids)
compares each grid and its neighbours with the district; two-sided p-values
from its z-score are corrected for testing every grid at once with
Benjamini–Hochberg, and grids are hot or cold at 99/95/90 %. Each month gets
the same test; with Mann–Kendall on the monthly rates a hot grid is labelled
new, intensifying, persistent, diminishing or sporadic, after ArcGIS's
emerging hot spot analysis.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["HOTSPOT_CLASSES", "TRENDS", "PATROL_WORDS", "queen_weights", "gi_star", "fdr_bh", "classify",
           "mann_kendall", "grid_counts", "hotspots", "channel_split", "filter_cases"]

HOTSPOT_CLASSES: tuple[str, ...] = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95",
                                    "cold_99")
TRENDS: tuple[str, ...] = ("new", "intensifying", "persistent", "diminishing", "sporadic", "none")
#: a channel whose name holds one of these is found by the grid's own staff, not reported by residents
PATROL_WORDS: tuple[str, ...] = ("巡查", "巡检", "网格员", "patrol")
Count = Literal["matters", "cases"]


def queen_weights(grids: gpd.GeoDataFrame) -> object:
    """Binary queen contiguity (shared edge or corner) between grids, ids = ``grid_id``."""
    from libpysal.weights import Queen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands (a grid touching no other) are legitimate
        return Queen.from_dataframe(gpd.GeoDataFrame(geometry=grids.geometry.to_numpy(),
                                                     index=grids.index.astype(str)),
                                    use_index=True, silence_warnings=True)


def _with_self(w: object) -> object:
    """The binary weights with each grid its own neighbour (what ``G_Local(star=True)`` adds on each call)."""
    from libpysal.weights.util import fill_diagonal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands again, as in queen_weights
        return fill_diagonal(w, 1.0)


def gi_star(y: np.ndarray, w: object) -> np.ndarray:
    """Gi* z-scores of ``y`` (esda, binary weights with self); 0 where the values do not vary."""
    from esda.getisord import G_Local

    y = np.asarray(y, dtype=float)
    if len(y) < 3 or np.allclose(y, y[0]):
        return np.zeros(len(y))
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        g = G_Local(y, w, transform="B", star=True, permutations=0)
    z = np.asarray(g.Zs, dtype=float)
    return np.where(np.isfinite(z), z, 0.0)


def fdr_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), same order as ``p``."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p.copy()
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.clip(adjusted, 0, 1)
    return out


def classify(z: np.ndarray, p_fdr: np.ndarray) -> np.ndarray:
    """hot_99 … cold_99 by the sign of z and the FDR-corrected p (0.01, 0.05, 0.10)."""
    out = np.full(len(z), "not_significant", dtype=object)
    for level, alpha in (("90", 0.10), ("95", 0.05), ("99", 0.01)):
        sig = p_fdr < alpha
        out[sig & (z > 0)] = f"hot_{level}"
        out[sig & (z < 0)] = f"cold_{level}"
    return out


def mann_kendall(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann–Kendall test along the last axis of ``x`` (rows = series): S, z, two-sided p.

    Variance with the tie correction; z with the continuity correction (S∓1).
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    m, n = x.shape
    if n < 3:
        return np.zeros(m), np.zeros(m), np.ones(m)
    i, j = np.triu_indices(n, k=1)
    s = np.sign(x[:, j] - x[:, i]).sum(axis=1)
    var = np.full(m, n * (n - 1) * (2 * n + 5), dtype=float)
    for r in range(m):
        _, counts = np.unique(x[r], return_counts=True)
        ties = counts[counts > 1]
        var[r] -= float((ties * (ties - 1) * (2 * ties + 5)).sum())
    var /= 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.where(np.isfinite(z), z, 0.0)
    return s, z, 2 * stats.norm.sf(np.abs(z))


def _local(ts: pd.Series) -> pd.Series:
    s = pd.to_datetime(ts)
    return s.dt.tz_convert("Asia/Shanghai") if getattr(s.dt, "tz", None) is not None else s


def filter_cases(cases: pd.DataFrame, *, start: object = None, end: object = None,
                 categories: Sequence[str] | None = None, channels: Sequence[str] | None = None,
                 urgent: bool | None = None, statuses: Sequence[str] | None = None) -> pd.DataFrame:
    """Cases reported in ``[start, end]`` (dates inclusive, Beijing time) matching every given filter."""
    keep = np.ones(len(cases), bool)
    created = _local(pd.Series(cases["created_at"]))
    if start is not None:
        keep &= (created >= pd.Timestamp(str(start), tz="Asia/Shanghai")).to_numpy()
    if end is not None:
        stop = pd.Timestamp(str(end), tz="Asia/Shanghai")
        if stop == stop.normalize():
            stop += pd.Timedelta(days=1)
        keep &= (created < stop).to_numpy()
    if categories:
        keep &= cases["category"].isin(list(categories)).to_numpy()
    if channels:
        keep &= cases["channel"].isin(list(channels)).to_numpy()
    if urgent is not None:
        keep &= (cases["urgent"].fillna(False).astype(bool) == urgent).to_numpy()
    if statuses:
        keep &= cases["status"].isin(list(statuses)).to_numpy()
    return cases[keep]


def _grid_codes(cases: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Position of each case's grid among the unique ``ids`` (-1: no grid or an unknown grid)."""
    if "grid_id" not in cases or not len(cases):
        return np.full(len(cases), -1, dtype="int64")
    local, uniques = pd.factorize(pd.Series(cases["grid_id"]))
    if not len(uniques):
        return np.full(len(cases), -1, dtype="int64")
    to_ids = ids.get_indexer(pd.Index([str(u) for u in uniques], dtype=object))
    return np.where(local >= 0, to_ids[np.maximum(local, 0)], -1).astype("int64")


def _unit_codes(cases: pd.DataFrame, matters: bool) -> np.ndarray:
    """Integer code of the unit counted: the matter (``matter_id``) or the call (the index)."""
    if matters and "matter_id" in cases:
        return np.asarray(pd.factorize(pd.Series(cases["matter_id"]))[0], dtype="int64")
    if cases.index.is_unique:
        return np.arange(len(cases), dtype="int64")
    return np.asarray(pd.factorize(cases.index)[0], dtype="int64")


def _distinct_per_cell(cell: np.ndarray, unit: np.ndarray, n_cells: int) -> np.ndarray:
    """How many distinct units fall in each cell (cells and units as non-negative integers)."""
    keep = unit >= 0                                          # a missing matter id counts no matter
    cell, unit = cell[keep], unit[keep]
    if not len(cell):
        return np.zeros(n_cells, dtype="int64")
    width = int(unit.max()) + 1
    pairs = np.sort(cell.astype("int64") * width + unit)     # a sort: numpy's hashing unique is slower here
    first = np.concatenate([[True], pairs[1:] != pairs[:-1]])
    return np.bincount(pairs[first] // width, minlength=n_cells)


def grid_counts(cases: pd.DataFrame, grid_ids: pd.Index) -> pd.DataFrame:
    """Calls and matters per grid (``cases``, ``matters``), 0 for grids without any."""
    ids = pd.Index(grid_ids.astype(str))
    uniq = ids.unique()
    return _count_table(_grid_codes(cases, uniq), _unit_codes(cases, True), uniq, ids)


def _count_table(code: np.ndarray, matter: np.ndarray, uniq: pd.Index, ids: pd.Index) -> pd.DataFrame:
    hit = code >= 0
    calls = np.bincount(code[hit], minlength=len(uniq))
    matters = _distinct_per_cell(code[hit], matter[hit], len(uniq))
    pos = uniq.get_indexer(ids)
    out = pd.DataFrame({"cases": calls[pos], "matters": matters[pos]}, index=ids).astype(int)
    out.index.name = "grid_id"
    return out


def _month_codes(created: pd.Series) -> np.ndarray:
    """Months since 1970 of the Beijing-time dates (no strings built)."""
    local = _local(created)
    if getattr(local.dt, "tz", None) is not None:
        local = local.dt.tz_localize(None)
    return np.asarray(local.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype("int64"))


def hotspots(cases: pd.DataFrame, grids: gpd.GeoDataFrame, households: pd.Series, *,
             count: Count = "matters", min_months_hot: float = 0.9) -> gpd.GeoDataFrame:
    """Rate, Gi* hotspot class and emerging-hotspot trend per grid for the given (already filtered) cases.

    ``cases`` carry ``grid_id``, ``created_at`` and (for matters) ``matter_id``;
    ``households`` is indexed by ``grid_id``. Grids without households get no
    rate and no class (``no_households``); they are left out of the weights.

    Returns
    -------
    GeoDataFrame indexed by ``grid_id``: ``cases``, ``matters``, ``households``,
    ``rate_per_1000``, ``gi_z``, ``p_value``, ``p_fdr``, ``hotspot``, ``trend``,
    ``mk_z``, ``mk_p``, ``months_hot``, ``months``.
    """
    ids = grids.index.astype(str)
    base = gpd.GeoDataFrame(geometry=grids.geometry.to_numpy(), index=pd.Index(ids, name="grid_id"),
                            crs=grids.crs)
    uniq = pd.Index(ids).unique()
    code = _grid_codes(cases, uniq)
    matter_code = _unit_codes(cases, True)
    counts = _count_table(code, matter_code, uniq, pd.Index(ids))
    hh = pd.Series(households, dtype=float).reindex(ids).fillna(0).to_numpy()
    base["cases"] = counts["cases"].to_numpy()
    base["matters"] = counts["matters"].to_numpy()
    base["households"] = hh.astype(int)
    valid = hh > 0
    numer = base[count].to_numpy(dtype=float)
    rate = np.full(len(ids), np.nan)
    rate[valid] = numer[valid] / hh[valid] * 1000
    base["rate_per_1000"] = np.round(rate, 2)
    z = np.full(len(ids), np.nan)
    p = np.full(len(ids), np.nan)
    q = np.full(len(ids), np.nan)
    cls = np.full(len(ids), "no_households", dtype=object)
    trend = np.full(len(ids), "none", dtype=object)
    mk_z = np.zeros(len(ids))
    mk_p = np.ones(len(ids))
    months_hot = np.zeros(len(ids), dtype=int)
    months: list[str] = []
    if valid.sum() >= 3:
        w = _with_self(queen_weights(base[valid]))   # once, not in each of the 13 Gi* runs
        z_v = gi_star(rate[valid], w)
        p_v = 2 * stats.norm.sf(np.abs(z_v))
        q_v = fdr_bh(p_v)
        z[valid], p[valid], q[valid] = z_v, p_v, q_v
        cls[valid] = classify(z_v, q_v)
        # monthly rates, Gi* per month, Mann–Kendall per grid
        located = pd.Series(cases["grid_id"]).notna().to_numpy() if "grid_id" in cases else np.zeros(0, bool)
        if located.any():
            month_all = _month_codes(pd.Series(cases["created_at"]))
            months = sorted(set(pd.unique(month_all[located]).tolist()))
            hit = code >= 0
            m_pos = np.searchsorted(np.asarray(months), month_all[hit])
            unit = (matter_code if count == "matters" else _unit_codes(cases, False))[hit]
            cell = code[hit] * len(months) + m_pos
            table = _distinct_per_cell(cell, unit, len(uniq) * len(months)).reshape(len(uniq), len(months))
            monthly = table[uniq.get_indexer(ids[valid])]
            mrate = monthly.astype(float) / hh[valid][:, None] * 1000
            hot = np.zeros(mrate.shape, dtype=bool)
            for k in range(len(months)):
                zk = gi_star(mrate[:, k], w)
                qk = fdr_bh(2 * stats.norm.sf(np.abs(zk)))
                hot[:, k] = (zk > 0) & (qk < 0.10)
            _, mz, mp = mann_kendall(mrate)
            mk_z[valid], mk_p[valid] = mz, mp
            months_hot[valid] = hot.sum(axis=1)
            trend[valid] = _trend_labels(hot, mz, mp, cls[valid], min_months_hot)
    base["gi_z"] = np.round(z, 3)
    base["p_value"] = p
    base["p_fdr"] = q
    base["hotspot"] = cls
    base["trend"] = trend
    base["mk_z"] = np.round(mk_z, 3)
    base["mk_p"] = mk_p
    base["months_hot"] = months_hot
    base["months"] = len(months)
    return base


def _trend_labels(hot: np.ndarray, mk_z: np.ndarray, mk_p: np.ndarray, overall: np.ndarray,
                  min_share: float) -> np.ndarray:
    """Emerging-hotspot labels from the monthly hot flags and the Mann–Kendall trend.

    new: hot in the last month only; intensifying / persistent / diminishing: hot
    in at least ``min_share`` of the months including the last, with a rising /
    no / falling trend (p < 0.05); sporadic: hot in some months or overall otherwise.
    """
    n = hot.shape[1] if hot.ndim == 2 else 0
    out = np.full(hot.shape[0], "none", dtype=object)
    if n == 0:
        return out
    last = hot[:, -1]
    earlier = hot[:, :-1].any(axis=1)
    share = hot.mean(axis=1)
    mostly = last & (share >= min_share)
    sig = mk_p < 0.05
    out[(hot.any(axis=1)) | np.char.startswith(overall.astype(str), "hot")] = "sporadic"
    out[mostly] = "persistent"
    out[mostly & sig & (mk_z > 0)] = "intensifying"
    out[mostly & sig & (mk_z < 0)] = "diminishing"
    out[last & ~earlier & (n > 1)] = "new"
    return out


def channel_split(cases: pd.DataFrame, grid_ids: pd.Index) -> pd.DataFrame:
    """Per grid: calls per channel and the share found by grid patrol (``patrol_share``)."""
    located = cases[cases["grid_id"].notna()]
    table = pd.crosstab(located["grid_id"].astype(str), located["channel"].fillna("").astype(str))
    table = table.reindex(grid_ids.astype(str)).fillna(0).astype(int)
    patrol_cols = [c for c in table.columns if any(w in c.lower() for w in PATROL_WORDS)]
    total = table.sum(axis=1)
    patrol = table[patrol_cols].sum(axis=1) if patrol_cols else pd.Series(0, index=table.index)
    table["patrol_share"] = patrol / total.where(total > 0)
    table.index.name = "grid_id"
    return table
