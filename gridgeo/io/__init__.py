"""Load and validate input layers; nothing half-loaded, every problem named.

``read_*`` return a clean GeoDataFrame in EPSG:4326 indexed by the layer's id,
or raise one ``InputError`` listing every problem in the file. Warnings
(repairs, assumptions) go to ``problems`` when a list is passed, otherwise they
are emitted as ``GridgeoWarning``. ``check_file`` never raises for data
problems: it is what ``python -m gridgeo validate`` prints.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridgeo.errors import (CRSError, GeometryError, GridgeoError, GridgeoWarning, InputError, Problem, SchemaError,
                            Tr, collapse_repeats, summarize)
from gridgeo.grids import fill_community_ids
from gridgeo.io.formats import ACCEPTED, TABLE_SUFFIXES, VECTOR_SUFFIXES, read_raw
from gridgeo.io.validate import Coords, check_communities_overlap, check_layer, join_buildings
from gridgeo.schema import LAYERS
from gridgeo.settings import DEFAULT_RULES, Rules

__all__ = [
    "District", "Checked", "check_file", "read_layer", "read_communities", "read_buildings",
    "read_streets", "read_stations", "read_staff", "read_cases", "read_grids", "read_district", "Coords",
]


@dataclass(frozen=True)
class Checked:
    """The outcome of checking one file: the frame (if usable) and every problem."""

    layer: str
    path: str
    frame: gpd.GeoDataFrame | pd.DataFrame | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity != "error")

    @property
    def ok(self) -> bool:
        return not self.errors


def check_file(layer: str, path: str | Path, *, gpkg_layer: str | None = None, coords: Coords = "wgs84",
               encoding: str | None = None, communities: gpd.GeoDataFrame | None = None,
               rules: Rules = DEFAULT_RULES) -> Checked:
    """Read and check one file of ``layer``; collect problems instead of raising.

    Raises ``InputError`` only when the file cannot be read at all (missing,
    unknown format, unreadable).
    """
    if layer not in LAYERS:
        raise InputError(f"unknown layer {layer!r}", code="err.io.unknown_layer", value=layer,
                         layers=", ".join(LAYERS), remedy=f"use one of: {', '.join(LAYERS)}")
    spec = LAYERS[layer]
    raw = read_raw(path, layer_name=layer, gpkg_layer=gpkg_layer, encoding=encoding)
    frame, problems = check_layer(raw, spec, path, coords=coords, rules=rules)
    problems += [Problem(f"note from the reader: {note}", "err.io.reader_note", "warning", value=note,
                         remedy="if the data look wrong, check the file in QGIS") for note in raw.notes]
    usable = not any(p.severity == "error" for p in problems)
    if usable and layer == "communities":
        problems += check_communities_overlap(frame)
    if usable and layer == "buildings" and communities is not None:
        frame, more = join_buildings(frame, communities, rules=rules)
        problems += collapse_repeats(more, len(frame))
    usable = not any(p.severity == "error" for p in problems)
    return Checked(layer, str(path), frame if usable else None, tuple(problems))


_ERROR_CLASSES: dict[str, type[InputError]] = {
    "err.schema": SchemaError, "err.geom": GeometryError, "err.crs": CRSError,
}


def _raise_or_return(checked: Checked, problems: list[Problem] | None) -> gpd.GeoDataFrame:
    if checked.errors:
        first = checked.errors[0]
        cls = next((c for prefix, c in _ERROR_CLASSES.items() if first.code.startswith(prefix)), InputError)
        n = len(checked.errors)
        head = f"{checked.layer} file has {n} problem{'s' if n > 1 else ''}; nothing was loaded"
        raise cls(f"{head}\n{summarize(checked.errors, checked.path)}", path=checked.path,
                  code=first.code, problems=checked.errors, layer=checked.layer)
    if problems is not None:
        problems.extend(checked.warnings)
    else:
        for p in checked.warnings:
            warnings.warn(GridgeoWarning(p.render(checked.path), problem=p, path=checked.path), stacklevel=3)
    frame = checked.frame
    assert frame is not None
    return frame


def read_layer(layer: str, path: str | Path, *, gpkg_layer: str | None = None, coords: Coords = "wgs84",
               encoding: str | None = None, communities: gpd.GeoDataFrame | None = None,
               rules: Rules = DEFAULT_RULES, problems: list[Problem] | None = None) -> gpd.GeoDataFrame:
    """Read one layer or raise one ``InputError`` naming every problem."""
    checked = check_file(layer, path, gpkg_layer=gpkg_layer, coords=coords, encoding=encoding,
                         communities=communities, rules=rules)
    return _raise_or_return(checked, problems)


def read_communities(path: str | Path, **kw: object) -> gpd.GeoDataFrame:
    """Read community polygons (index ``community_id``)."""
    return read_layer("communities", path, **kw)  # type: ignore[arg-type]


def read_buildings(path: str | Path, *, communities: gpd.GeoDataFrame | None = None,
                   **kw: object) -> gpd.GeoDataFrame:
    """Read buildings; with ``communities``, fill ``community_id`` by location and check containment."""
    return read_layer("buildings", path, communities=communities, **kw)  # type: ignore[arg-type]


def read_streets(path: str | Path, **kw: object) -> gpd.GeoDataFrame:
    """Read street centre lines."""
    return read_layer("streets", path, **kw)  # type: ignore[arg-type]


def read_stations(path: str | Path, **kw: object) -> gpd.GeoDataFrame:
    """Read service stations (points)."""
    return read_layer("stations", path, **kw)  # type: ignore[arg-type]


def read_staff(path: str | Path, **kw: object) -> gpd.GeoDataFrame:
    """Read the staff roster; geometry is the home location when lon/lat are given."""
    return read_layer("staff", path, **kw)  # type: ignore[arg-type]


def read_cases(path: str | Path, **kw: object) -> gpd.GeoDataFrame:
    """Read cases; ``coords="gcj02"`` or ``"bd09"`` converts platform exports to WGS 84."""
    return read_layer("cases", path, **kw)  # type: ignore[arg-type]


def read_grids(path: str | Path, **kw: object) -> gpd.GeoDataFrame:
    """Read an existing grids layer (polygons, index ``grid_id``): most cities drew theirs years ago."""
    return read_layer("grids", path, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class District:
    """Every layer of one district, loaded and checked together."""

    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame | None = None
    stations: gpd.GeoDataFrame | None = None
    staff: gpd.GeoDataFrame | None = None
    cases: gpd.GeoDataFrame | None = None
    grids: gpd.GeoDataFrame | None = None
    problems: tuple[Problem, ...] = ()
    source: str = ""
    name: str = ""
    synthetic: bool = False
    files: dict[str, list[str]] = field(default_factory=dict)


_LAYER_ORDER = ("communities", "buildings", "streets", "stations", "staff", "cases", "grids")


def _layer_files(folder: Path) -> tuple[dict[str, list[tuple[Path, Coords]]], dict[str, object]]:
    manifest_path = folder / "district.json"
    found: dict[str, list[tuple[Path, Coords]]] = {}
    meta: dict[str, object] = {}
    if manifest_path.exists():
        try:
            meta = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"is not valid JSON ({exc})", path=manifest_path, code="err.io.bad_manifest",
                             line=exc.lineno, remedy="fix the JSON or delete district.json to read files by name") from exc
        layers = meta.get("layers", {})
        if not isinstance(layers, dict):
            raise InputError("'layers' must be an object", path=manifest_path, code="err.io.manifest_layers",
                             remedy='write e.g. {"layers": {"buildings": "buildings.geojson"}}')
        for name, entry in layers.items():
            if name not in LAYERS:
                raise InputError(f"names an unknown layer {name!r}", path=manifest_path, value=name,
                                 code="err.io.manifest_unknown_layer", layers=", ".join(LAYERS),
                                 remedy=f"use one of: {', '.join(LAYERS)}")
            entries = entry if isinstance(entry, list) else [entry]
            for e in entries:
                if isinstance(e, str):
                    found.setdefault(name, []).append((folder / e, "wgs84"))
                else:
                    found.setdefault(name, []).append((folder / e["path"], e.get("coords", "wgs84")))
        return found, meta
    for name in _LAYER_ORDER:
        for suffix in sorted(VECTOR_SUFFIXES | TABLE_SUFFIXES):
            candidate = folder / f"{name}{suffix}"
            if candidate.exists():
                found.setdefault(name, []).append((candidate, "wgs84"))
                break
    return found, meta


#: folder names that say nothing about the place (never shown as a district's name)
_GENERIC_NAMES = {"communities", "buildings", "data", "upload", "uploads", "district", "社区", "楼栋", "数据"}


def district_name(meta: dict[str, object], communities: gpd.GeoDataFrame, folder: Path) -> str:
    """The district's name: ``district.json``'s ``name``, else the communities' street (街道)
    shared by most communities, else the folder's name unless it is generic or a staging hash.

    Returns "" when nothing names the place (the page then says "unnamed district").
    """
    given = str(meta.get("name") or "").strip()
    if given:
        return given
    if "street" in communities.columns:
        streets = communities["street"].dropna().astype(str).str.strip()
        streets = streets[streets != ""]
        if len(streets):
            counts = streets.value_counts()
            top = counts[counts == counts.iloc[0]].index.tolist()
            return "、".join(sorted(top)[:3])
    name = folder.name
    if meta.get("uploaded") or name.lower() in _GENERIC_NAMES:
        return ""
    return name


def read_district(folder: str | Path, *, rules: Rules = DEFAULT_RULES) -> District:
    """Read every layer of a district folder (``district.json`` or files named by layer).

    Communities and buildings are required; streets, stations, staff, cases and
    an existing grids layer are optional. Any error in any file raises before anything is returned.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError("district folder not found", path=root, code="err.io.missing_folder",
                         remedy="pass the folder holding communities and buildings files")
    files, meta = _layer_files(root)
    for required in ("communities", "buildings"):
        if required not in files:
            raise InputError(f"has no {required} file", path=root, code="err.io.missing_layer",
                             layer=Tr(f"layer.{required}"), layer_file=required,
                             remedy=f"add {required}.geojson (or another of: {ACCEPTED})")
    problems: list[Problem] = []
    failed: list[GridgeoError] = []      # every file's error, so the user fixes them all in one go

    def attempt(read: Callable[[], gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
        try:
            return read()
        except GridgeoError as err:
            failed.append(err)
            return None

    (cpath, ccoords), = files["communities"][:1]
    communities = attempt(lambda: read_communities(cpath, coords=ccoords, rules=rules, problems=problems))
    (bpath, bcoords), = files["buildings"][:1]
    buildings = attempt(lambda: read_buildings(bpath, coords=bcoords, communities=communities, rules=rules,
                                               problems=problems))
    layers: dict[str, gpd.GeoDataFrame | None] = {}
    for name in ("streets", "stations", "staff", "cases", "grids"):
        parts = [part for p, c in files.get(name, [])
                 if (part := attempt(lambda: read_layer(name, p, coords=c, rules=rules, problems=problems)))
                 is not None]
        if len(parts) < len(files.get(name, [])):
            continue
        if not parts:
            layers[name] = None
        elif len(parts) == 1:
            layers[name] = parts[0]
        else:
            merged = pd.concat(parts)
            if merged.index.name and merged.index.duplicated().any():
                dups = merged.index[merged.index.duplicated()].unique()[:20]
                raise SchemaError(f"{name} ids repeat across files: {', '.join(map(str, dups))}",
                                  path=root, code="err.schema.duplicate_across_files", layer=Tr(f"layer.{name}"),
                                  ids=", ".join(map(str, dups)),
                                  remedy="give every record one id across all files")
            layers[name] = gpd.GeoDataFrame(merged, geometry="geometry", crs=4326)
    if failed:
        # the first error, with the other files' errors in ``also`` (pages show them all; the CLI the first)
        failed[0].fields["also"] = tuple(failed[1:])
        raise failed[0]
    assert communities is not None and buildings is not None
    if layers.get("grids") is not None:
        layers["grids"] = fill_community_ids(layers["grids"], communities)
    return District(
        communities=communities, buildings=buildings, problems=tuple(problems), source=str(root),
        name=district_name(meta, communities, root), synthetic=bool(meta.get("synthetic", False)),
        files={k: [str(p) for p, _ in v] for k, v in files.items()}, **layers,
    )
