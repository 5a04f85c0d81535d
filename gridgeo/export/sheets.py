"""Printable grid sheets (网格图): one page per grid, for the community office's wall.

Each sheet shows the grid's outline and code, its buildings coloured by
households with their names or numbers, the streets and the neighbouring grids'
codes, a scale bar and a north arrow, and a panel with households, buildings,
the grid leader and workers (phones masked unless asked otherwise), the plan
version and the date. Drawn with matplotlib in a metric CRS (so the scale bar
is true); Chinese needs a CJK font, found at run time.
"""

from __future__ import annotations

import datetime as _dt
import io as _io
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # no screen here, ever

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrow, Rectangle  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from shapely.geometry import Polygon, box  # noqa: E402
from shapely.geometry.base import BaseGeometry  # noqa: E402

from gridgeo.crs import metric_crs  # noqa: E402
from gridgeo.errors import InputError  # noqa: E402
from gridgeo.i18n import Lang, t  # noqa: E402
from gridgeo.staffing.roster import mask_phone, split_grid_ids  # noqa: E402  (one masking for every output: 138****1234)
from gridgeo.tables import codes_text  # noqa: E402

__all__ = ["Paper", "PAPER_MM", "find_cjk_font", "mask_phone", "select_grids", "sheet_figures", "sheets_pdf",
           "sheet_png"]

Paper = Literal["A4", "A3"]
#: portrait width × height in millimetres
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
_MM = 1 / 25.4
#: household classes of the buildings (same breaks as the web maps' legend)
_BREAKS = (0, 50, 100, 200, 300, 500)
_COLOURS = ("#e0e0e0", "#fee8c8", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")
_FONT_NAMES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
               "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Noto Serif CJK SC")


def find_cjk_font() -> Path:
    """Return a font file that shows Chinese: ``GRIDGEO_CJK_FONT``, else the first known CJK family installed.

    Raises ``InputError`` (``err.export.no_font``) naming the package to install when none is found.
    """
    env = os.environ.get("GRIDGEO_CJK_FONT")
    if env and Path(env).is_file():
        return Path(env)
    for family in _FONT_NAMES:
        try:
            found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        if found:
            return Path(found)
    for entry in font_manager.fontManager.ttflist:
        if "CJK" in entry.name or "Hei" in entry.name:
            return Path(entry.fname)
    raise InputError("no font able to show Chinese was found, so grid sheets cannot be drawn",
                     code="err.export.no_font",
                     remedy="install fonts-noto-cjk (apt-get install fonts-noto-cjk) or set GRIDGEO_CJK_FONT "
                            "to a .ttf/.otf/.ttc font file")


def select_grids(grids: gpd.GeoDataFrame, *, grid_id: str | None = None,
                 community_id: str | None = None) -> list[str]:
    """The grid codes a sheet run covers: one grid, one community's grids (in code order), or all."""
    if grid_id is not None:
        if grid_id not in grids.index:
            raise InputError(f"no grid {grid_id!r} in the grids layer", value=grid_id, code="err.export.unknown_grid",
                             remedy="check the grid code (e.g. 370124001001001)")
        return [grid_id]
    if community_id is not None:
        ids = grids.index[grids["community_id"].astype(str) == str(community_id)] \
            if "community_id" in grids.columns else grids.index[:0]
        if len(ids) == 0:
            raise InputError(f"no grid of community {community_id!r} in the grids layer", value=community_id,
                             code="err.export.unknown_community", remedy="check the 12-digit community code")
        return sorted(map(str, ids))
    return sorted(map(str, grids.index))


@dataclass(frozen=True)
class _Layers:
    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame | None


def _metric(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
            streets: gpd.GeoDataFrame | None) -> _Layers:
    crs = metric_crs(grids)
    return _Layers(grids.to_crs(crs), buildings.to_crs(crs), streets.to_crs(crs) if streets is not None else None)


def _colour(households: float) -> str:
    colour = _COLOURS[0]
    for lo, c in zip(_BREAKS, _COLOURS):
        if households > lo or (lo == 0 and households >= 0):
            colour = c
    return colour


def _nice_length(width_m: float) -> float:
    target = width_m / 4
    exp = 10 ** math.floor(math.log10(max(target, 1)))
    for step in (1, 2, 5, 10):
        if step * exp >= target:
            return float(step * exp)
    return float(10 * exp)


def _staff_lines(staff: pd.DataFrame | None, grid_id: str, lang: Lang, mask: bool) -> tuple[str, str]:
    if staff is None or "grid_id" not in staff.columns:
        return t("sheet.nobody", lang), t("sheet.nobody", lang)
    mine = staff[[grid_id in split_grid_ids(v) for v in staff["grid_id"]]]   # part-timers: "a;b"

    def person(row: pd.Series) -> str:
        phone = row.get("phone")
        shown = (mask_phone(phone) if mask else str(phone)) if phone is not None and pd.notna(phone) else ""
        return f"{row.get('name', '')} {shown}".strip()

    leaders = [person(r) for _, r in mine[mine["role"] == "leader"].iterrows()] if "role" in mine else []
    workers = [person(r) for _, r in mine[mine["role"] != "leader"].iterrows()] if "role" in mine else []
    return ("；".join(leaders) or t("sheet.nobody", lang)), ("；".join(workers) or t("sheet.nobody", lang))


def sheet_figures(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, grid_ids: Sequence[str], *,
                  streets: gpd.GeoDataFrame | None = None, staff: pd.DataFrame | None = None,
                  communities: gpd.GeoDataFrame | None = None, paper: Paper = "A4", lang: Lang = "zh",
                  mask_phones: bool = True, version: str = "", date: _dt.date | None = None,
                  synthetic: bool = False) -> Iterator[Figure]:
    """Yield one matplotlib figure per grid (portrait ``paper``); close each after use.

    ``buildings`` may carry ``grid_id`` (a plan's assignment); otherwise they are
    placed by the grid that contains them.
    """
    font = find_cjk_font()
    font_manager.fontManager.addfont(str(font))
    family = font_manager.FontProperties(fname=str(font)).get_name()
    layers = _metric(grids, buildings, streets)
    g, b = layers.grids, layers.buildings
    if "grid_id" not in b.columns:
        from gridgeo.grids import locate_buildings

        b = b.assign(grid_id=locate_buildings(b, g).to_numpy())
    names = communities["name"].astype(str) if communities is not None and "name" in communities.columns else None
    printed = (date or _dt.date.today()).isoformat()
    w_mm, h_mm = PAPER_MM[paper]
    scale = w_mm / 210.0
    with plt.rc_context({"font.family": family, "axes.unicode_minus": False}):
        for gid in grid_ids:
            grid = g.loc[gid]
            geom = grid.geometry
            mine = b[b["grid_id"].astype(str) == gid]
            fig = plt.figure(figsize=(w_mm * _MM, h_mm * _MM))
            ax = fig.add_axes((0.06, 0.30, 0.88, 0.62))
            minx, miny, maxx, maxy = geom.bounds
            pad = max(maxx - minx, maxy - miny) * 0.12 + 20
            cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
            ratio = (0.62 * h_mm) / (0.88 * w_mm)          # height / width of the map axes
            half, half_y = (maxx - minx) / 2 + pad, (maxy - miny) / 2 + pad
            if half_y / half > ratio:
                half = half_y / ratio
            else:
                half_y = half * ratio
            ax.set_xlim(cx - half, cx + half)
            ax.set_ylim(cy - half_y, cy + half_y)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            view = ax_box(cx, cy, half, half_y)
            near = g.iloc[g.sindex.query(view)]
            others = near.drop(index=gid, errors="ignore")
            if len(others):
                _lines(ax, others.boundary, color="#9e9e9e", linewidth=0.6 * scale, zorder=1)
                touching = others[others.geometry.intersects(geom.buffer(1.0))]
                for oid, o in touching.iterrows():
                    p = o.geometry.intersection(view).representative_point()
                    if not p.is_empty:
                        ax.annotate(str(oid)[-3:], (p.x, p.y), ha="center", va="center", fontsize=8 * scale,
                                    color="#616161", zorder=5)
            if layers.streets is not None and len(layers.streets):
                st = layers.streets.clip(view)
                _lines(ax, st.geometry, color="#bdbdbd", linewidth=2.2 * scale, zorder=2)
                if "name" in st.columns:
                    for name, part in st.dropna(subset=["name"]).groupby("name"):
                        line = part.geometry.union_all()
                        if line.length > half * 0.4:
                            p = line.interpolate(0.5, normalized=True)
                            ax.annotate(str(name), (p.x, p.y), fontsize=7 * scale, color="#757575", ha="center",
                                        va="center", zorder=3)
            _polygons(ax, [geom], facecolors=["#e3f2fd"], edgecolor="none", zorder=0)
            colours = [_colour(float(h)) for h in mine["households"]]
            if len(mine):
                polys = mine.geom_type.isin(["Polygon", "MultiPolygon"])
                if polys.any():
                    _polygons(ax, mine.geometry[polys], facecolors=[c for c, p in zip(colours, polys) if p],
                              edgecolor="#424242",
                                     linewidth=0.4 * scale, zorder=4)
                if (~polys).any():
                    pts = mine[~polys]
                    ax.scatter(pts.geometry.x, pts.geometry.y, s=40 * scale, c=[c for c, p in zip(colours, polys)
                                                                                  if not p],
                               edgecolors="#424242", linewidths=0.4 * scale, zorder=4)
                label_col = "name" if "name" in mine.columns else None
                for bid, row in mine.iterrows():
                    text = str(row[label_col]) if label_col and pd.notna(row[label_col]) and str(row[label_col]) \
                        else str(bid)
                    p = row.geometry.representative_point()
                    ax.annotate(text, (p.x, p.y), xytext=(0, 5 * scale), textcoords="offset points",
                                ha="center", fontsize=5.5 * scale, color="#212121", zorder=6)
            _lines(ax, [geom.boundary], color="#c62828", linewidth=2.0 * scale, zorder=7)
            # scale bar and north arrow (metres: the axes are in a UTM zone)
            length = _nice_length(2 * half)
            x0, y0 = cx - half * 0.92, cy - half_y * 0.92
            ax.add_patch(Rectangle((x0, y0), length, half_y * 0.012, color="#212121", zorder=8))
            ax.annotate(f"{length:,.0f} m", (x0 + length / 2, y0 + half_y * 0.03), ha="center",
                        fontsize=8 * scale, zorder=8)
            ax.add_patch(FancyArrow(cx + half * 0.88, cy + half_y * 0.72, 0, half_y * 0.14, width=half * 0.012,
                                    head_width=half * 0.05, head_length=half_y * 0.05, color="#212121", zorder=8))
            ax.annotate(t("sheet.north", lang), (cx + half * 0.88, cy + half_y * 0.68), ha="center", va="top",
                        fontsize=9 * scale, zorder=8)
            # title and panel
            fig.text(0.06, 0.95, t("sheet.title", lang, grid_id=gid), fontsize=16 * scale, weight="bold")
            name = str(grid.get("name", "") or "")
            if name:
                fig.text(0.06, 0.93, name, fontsize=10 * scale)
            cid = str(grid.get("community_id", "") or "")
            community = f"{names.get(cid, '')} {cid}".strip() if names is not None else cid
            households = int(grid["households"]) if "households" in grid.index and pd.notna(grid["households"]) \
                else int(mine["households"].sum())
            kind = str(grid.get("kind", "basic") or "basic")
            leader, workers = _staff_lines(staff, gid, lang, mask_phones)
            rows = [
                (t("sheet.community", lang), community),
                (t("sheet.households", lang), f"{households:,}"),
                (t("sheet.buildings", lang), f"{mine.index.nunique():,}"),
                (t("sheet.kind", lang), t(f"sheet.kind.{kind}", lang) if kind in ("basic", "dedicated") else kind),
                (t("sheet.leader", lang), leader),
                (t("sheet.workers", lang), workers),
            ]
            flags = str(grid.get("flags", "") or "")
            if flags:
                rows.append((t("sheet.flags", lang), str(codes_text("flags", flags, lang))))
            rows.append((t("sheet.version", lang), version or "—"))
            rows.append((t("sheet.printed", lang), printed + (f"（{t('sheet.synthetic', lang)}）" if synthetic
                                                             else "")))
            y = 0.26
            for label, value in rows:
                fig.text(0.06, y, label, fontsize=9 * scale, color="#616161")
                fig.text(0.24, y, _wrap(value, 48), fontsize=9 * scale, va="top" if "\n" in value else "baseline")
                y -= 0.022 * (1 + _wrap(value, 48).count("\n"))
            # legend of household classes
            lx = 0.70
            fig.text(lx, 0.26, t("sheet.legend", lang), fontsize=8 * scale, color="#616161")
            for i, (lo, colour) in enumerate(zip(_BREAKS, _COLOURS)):
                label = "0" if i == 0 else (f"{_BREAKS[i - 1] + 1}–{lo}" if i + 1 < len(_BREAKS)
                                            else f"> {_BREAKS[i - 1]}")
                fig.patches.append(Rectangle((lx, 0.235 - i * 0.018), 0.02, 0.012, color=colour,
                                             transform=fig.transFigure, figure=fig))
                fig.text(lx + 0.03, 0.236 - i * 0.018, label, fontsize=7 * scale)
            yield fig


def _rings(geom: BaseGeometry) -> Iterator[np.ndarray]:
    for part in getattr(geom, "geoms", [geom]):
        if isinstance(part, Polygon) and not part.is_empty:
            yield np.asarray(part.exterior.coords)
            for hole in part.interiors:
                yield np.asarray(hole.coords)


def _polygons(ax: Axes, geoms: Iterable[BaseGeometry], *, facecolors: Sequence[str], edgecolor: str,
              linewidth: float = 0.0, zorder: int = 0) -> None:
    """Fill polygons (holes kept) with one PathCollection: geopandas' .plot redraws the figure on every call."""
    paths = [MplPath.make_compound_path(*(MplPath(ring, closed=True) for ring in _rings(g))) for g in geoms]
    if paths:
        ax.add_collection(PathCollection(paths, facecolors=list(facecolors), edgecolors=edgecolor,
                                         linewidths=linewidth, zorder=zorder))


def _lines(ax: Axes, geoms: Iterable[BaseGeometry], *, color: str, linewidth: float, zorder: int) -> None:
    """Draw (multi)lines as one LineCollection."""
    segments: list[np.ndarray] = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        for part in getattr(g, "geoms", [g]):
            coords = np.asarray(part.coords) if hasattr(part, "coords") else None
            if coords is not None and len(coords) > 1:
                segments.append(coords[:, :2])
    if segments:
        ax.add_collection(LineCollection(segments, colors=color, linewidths=linewidth, zorder=zorder))


def ax_box(cx: float, cy: float, half: float, half_y: float) -> Polygon:
    """The visible map extent as a shapely box (metres)."""
    return box(cx - half, cy - half_y, cx + half, cy + half_y)


def _wrap(text: str, width: int) -> str:
    """Break ``text`` after a separator once a line reaches ``width`` (a CJK character counts 2)."""
    lines, line, n = [], "", 0
    for ch in text:
        line += ch
        n += 2 if ord(ch) > 0x2E80 else 1
        if n >= width and ch in "；、, ":
            lines.append(line)
            line, n = "", 0
    lines.append(line)
    return "\n".join(x for x in lines if x)


def sheets_pdf(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, grid_ids: Sequence[str],
               **kwargs: object) -> bytes:
    """A PDF with one page per grid (see ``sheet_figures`` for the options)."""
    buf = _io.BytesIO()
    with PdfPages(buf, metadata={"Title": "gridgeo grid sheets", "Creator": "gridgeo"}) as pdf:
        for fig in sheet_figures(grids, buildings, grid_ids, **kwargs):  # type: ignore[arg-type]
            pdf.savefig(fig)
            plt.close(fig)
    return buf.getvalue()


def sheet_png(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, grid_id: str, *, dpi: int = 150,
              **kwargs: object) -> bytes:
    """One grid's sheet as a PNG image."""
    fig = next(sheet_figures(grids, buildings, [grid_id], **kwargs))  # type: ignore[arg-type]
    buf = _io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buf.getvalue()
