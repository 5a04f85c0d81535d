"""The workspace: one GeoPackage holding a district's layers and every plan version.

Tables (all in one file that QGIS and ``ogrinfo`` open as a GeoPackage):

- ``communities``, ``buildings``, ``streets``, ``stations`` (and ``grids`` when the
  district had its own): the district layers the plans were made on, written once;
- ``plan_versions`` (attributes): one row per version — id, parent, branch, name,
  author, note, time, the rules used (JSON), facts such as the seed and the
  grids it retired (JSON);
- ``plan_grids`` (features, EPSG:4326): the grids of every version, one row per
  (version, grid); filter on ``version_id`` in QGIS to see one version;
- ``plan_assignments`` (attributes): building → grid rows of every version, with
  unit ranges of split towers;
- ``plan_tables`` (attributes) and one ``plan_<name>`` table per name: tables
  attached to a version (e.g. ``staffing``: who serves which grid), one row
  per (version, name) in ``plan_tables`` (columns, dtypes, row count) and the
  rows themselves, keyed by ``version_id``, in ``plan_<name>``. A version
  carries its parent's attached tables unless the save replaces or drops them,
  so a hand edit of the grids keeps the staffing, and :meth:`Workspace.save_tables`
  makes a version that changes only attached tables (same grids, same codes).

A save writes all rows of a version in **one SQLite transaction** (taken with
``BEGIN IMMEDIATE`` so the conflict check and the write see the same state):
an interruption at any point leaves the earlier versions exactly as they were.
Versions are immutable once saved. Several app sessions and the CLI may share
one file: SQLite locks it, and a busy timeout makes a second writer wait.

Version ids are ``v1``, ``v2`` … in save order. A version continues the branch
of its parent; saving from a parent that is no longer the newest version of its
branch raises ``PlanConflictError`` naming both, unless ``branch=True`` starts a
new branch.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo import io
from gridgeo.errors import InputError, PlanConflictError, StoreError, Tr
from gridgeo.plans import codes
from gridgeo.plans.gpkg import (TZ, _sql_type, create_feature_table, utc_text, from_sql_values, geometries, geometry_blobs,
                                init_geopackage, read_frame, register_attributes, to_sql_values, update_extent,
                                write_frame)
from gridgeo.plans.model import ASSIGNMENT_COLUMNS, GRID_COLUMNS, PlanVersion
from gridgeo.settings import Rules

__all__ = ["Workspace", "DEFAULT_WORKSPACE", "DISTRICT_LAYERS", "rules_to_json", "rules_from_json",
           "table_rows"]

#: Where the app and the CLI keep their workspace unless told otherwise (git-ignored).
DEFAULT_WORKSPACE = Path("workspace") / "gridgeo.gpkg"
#: District layers copied into a workspace (cases and staff change daily: they stay in the district folder).
DISTRICT_LAYERS = ("communities", "buildings", "streets", "stations", "grids")
#: Seconds a writer waits for another session's transaction before giving up.
BUSY_TIMEOUT_S = 30.0
SCHEMA_VERSION = 1
MAIN_BRANCH = "main"

_GRID_SQL = [("version_id", "TEXT NOT NULL"), ("grid_id", "TEXT NOT NULL"), ("community_id", "TEXT"),
             ("name", "TEXT"), ("kind", "TEXT"), ("households", "INTEGER"), ("buildings", "INTEGER"),
             ("flags", "TEXT"), ("locked", "BOOLEAN"), ("valid_from", "DATETIME"), ("valid_to", "DATETIME"),
             ("extra", "TEXT")]
_ASSIGN_SQL = [("version_id", "TEXT NOT NULL"), ("building_id", "TEXT NOT NULL"), ("grid_id", "TEXT NOT NULL"),
               ("households", "INTEGER"), ("units", "INTEGER"), ("unit_range", "TEXT"), ("estimated", "BOOLEAN")]
_VERSION_SQL = [("version_id", "TEXT NOT NULL UNIQUE"), ("seq", "INTEGER NOT NULL UNIQUE"), ("parent", "TEXT"),
                ("branch", "TEXT NOT NULL"), ("name", "TEXT"), ("author", "TEXT"), ("note", "TEXT"),
                ("created_at", "DATETIME"), ("grids", "INTEGER"), ("households", "INTEGER"),
                ("retired", "INTEGER"), ("rules", "TEXT"), ("meta", "TEXT")]
_TABLES_SQL = [("version_id", "TEXT NOT NULL"), ("name", "TEXT NOT NULL"), ("columns", "TEXT NOT NULL"),
               ("attrs", "TEXT"), ("rows", "INTEGER NOT NULL")]
#: names of attached tables: lower-case words, not one of the store's own tables
_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")
_RESERVED = {"grids", "grids_latest", "assignments", "versions", "tables"}
_GRID_DTYPES = {"community_id": "str", "name": "str", "kind": "str", "households": "int64",
                "buildings": "int64", "flags": "str", "locked": "bool",
                "valid_from": f"datetime64[ns, {TZ}]", "valid_to": f"datetime64[ns, {TZ}]"}
_ASSIGN_DTYPES = {"building_id": "str", "grid_id": "str", "households": "int64", "units": "Int64",
                  "unit_range": "str", "estimated": "bool"}


def rules_to_json(rules: Rules) -> str:
    """Serialise the rules a plan was made with."""
    return json.dumps(dataclasses.asdict(rules), ensure_ascii=False)


def rules_from_json(text: str | None) -> Rules:
    """Rebuild ``Rules`` saved by :func:`rules_to_json` (unknown keys ignored, tuples restored)."""
    raw = json.loads(text) if text else {}
    known = {f.name for f in dataclasses.fields(Rules)}
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known}
    return Rules(**values)


def _json_default(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def grid_rows(version_id: str, grids: gpd.GeoDataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows of ``plan_grids`` for one version (a generator: tests inject failures here)."""
    g = grids if grids.attrs.get("gridgeo_normalized") else normalize_grids(grids)
    extra_cols = [c for c in g.columns if c not in GRID_COLUMNS and c != g.geometry.name]
    values = {c: to_sql_values(g[c]) for c in GRID_COLUMNS}
    extras = g[extra_cols].astype(object).where(g[extra_cols].notna(), None).to_dict("records") \
        if extra_cols else [{} for _ in range(len(g))]
    blobs = geometry_blobs(g.geometry.to_numpy())
    ids = g.index.astype(str).tolist()
    for i in range(len(g)):
        yield (version_id, ids[i], *(values[c][i] for c in GRID_COLUMNS),
               json.dumps(extras[i], ensure_ascii=False, default=_json_default), blobs[i])


def assignment_rows(version_id: str, assignments: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows of ``plan_assignments`` for one version (a generator: tests inject failures here)."""
    a = normalize_assignments(assignments)
    values = [to_sql_values(a[c]) for c in ASSIGNMENT_COLUMNS]
    for row in zip(*values, strict=True):
        yield (version_id, *row)


def normalize_grids(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``grids`` with every ``GRID_COLUMNS`` column present and typed (defaults filled)."""
    g = grids.copy()
    g.index = g.index.astype(str)
    g.index.name = "grid_id"
    defaults: dict[str, Any] = {"community_id": "", "name": "", "kind": "basic", "households": 0,
                                "buildings": 0, "flags": "", "locked": False, "valid_from": pd.NaT,
                                "valid_to": pd.NaT}
    for col, default in defaults.items():
        if col not in g.columns:
            g[col] = default
    for col in ("community_id", "name", "kind", "flags"):
        g[col] = g[col].fillna(defaults[col]).astype(str)
    g.loc[g["kind"].str.strip() == "", "kind"] = "basic"
    for col in ("households", "buildings"):
        g[col] = pd.to_numeric(g[col]).fillna(0).astype("int64")
    g["locked"] = g["locked"].fillna(False).astype(bool)
    for col in ("valid_from", "valid_to"):
        s = pd.to_datetime(g[col])
        g[col] = s.dt.tz_localize(TZ) if s.dt.tz is None else s.dt.tz_convert(TZ)
    g.attrs["gridgeo_normalized"] = True
    return g


def normalize_assignments(assignments: pd.DataFrame) -> pd.DataFrame:
    """Return the ``ASSIGNMENT_COLUMNS`` of ``assignments`` typed (defaults filled), index reset."""
    a = assignments.reset_index(drop=True).copy()
    for col, default in {"units": pd.NA, "unit_range": "", "estimated": False}.items():
        if col not in a.columns:
            a[col] = default
    a["building_id"] = a["building_id"].astype(str)
    a["grid_id"] = a["grid_id"].astype(str)
    a["households"] = pd.to_numeric(a["households"]).astype("int64")
    a["units"] = pd.to_numeric(a["units"]).astype("Int64")
    a["unit_range"] = a["unit_range"].fillna("").astype(str)
    a["estimated"] = a["estimated"].fillna(False).astype(bool)
    return a[list(ASSIGNMENT_COLUMNS)]


def check_table_name(name: str) -> str:
    """Return ``name`` if it may name an attached table (``staffing``, ``cases_sla`` …), else raise."""
    if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name) or name in _RESERVED:
        raise InputError("an attached table needs a lower-case name (letters, digits, _) not used by the store",
                         value=name, code="err.plans.table_name",
                         remedy=f"use a name such as staffing; not one of {', '.join(sorted(_RESERVED))}")
    return name


def _flat_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The frame with a named index turned into a column (and that name), columns as strings."""
    index_name = None if frame.index.name is None else str(frame.index.name)
    flat = frame.reset_index() if index_name is not None else frame.reset_index(drop=True)
    if isinstance(flat, gpd.GeoDataFrame):
        raise InputError("an attached table holds plain columns, not geometries", value=flat.geometry.name,
                         code="err.plans.table_geometry", remedy="drop the geometry column (or save it as WKT text)")
    flat.columns = [str(c) for c in flat.columns]
    if len(set(flat.columns)) != len(flat.columns) or "version_id" in flat.columns:
        raise InputError("an attached table needs unique column names other than version_id",
                         value=list(flat.columns), code="err.plans.table_columns",
                         remedy="rename the duplicated columns")
    return flat, index_name


def table_rows(version_id: str, frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows of ``plan_<name>`` for one version (a generator: tests inject failures here)."""
    flat, _ = _flat_table(frame)
    values = [to_sql_values(flat[c]) for c in flat.columns]
    for row in zip(*values, strict=True):
        yield (version_id, *row)


def _column(values: Any, dtype: str) -> pd.Series:
    """A column of an attached table back in its saved dtype (``object`` columns stay objects)."""
    if dtype in ("object", "category"):
        return pd.Series(list(values), dtype=object)
    if dtype == "string":
        return pd.Series(list(values), dtype=object).astype("string")
    return from_sql_values(list(values), dtype)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Workspace:
    """A GeoPackage workspace: the district and every saved plan version.

    Open with :meth:`open`; each method opens its own short-lived connection, so
    one ``Workspace`` object may be shared by app reruns and several objects
    (sessions, the CLI) may use one file at the same time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: str | Path, *, create_from: io.District | None = None) -> Workspace:
        """Open the workspace at ``path``; create it from ``create_from`` when the file is missing.

        Raises ``StoreError`` when the file is missing and no district is given,
        or when it is not a gridgeo workspace.
        """
        p = Path(path)
        ws = cls(p)
        if not p.exists():
            if create_from is None:
                raise StoreError("workspace not found", path=p, code="err.plans.no_workspace",
                                 remedy="create it with: python -m gridgeo plan create --store PATH --district DIR")
            ws._create(create_from)
            return ws
        with ws._connect() as conn:
            try:
                ok = conn.execute("SELECT value FROM gridgeo_workspace WHERE key = 'schema'").fetchone()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"is not a gridgeo workspace ({exc})", path=p, code="err.plans.not_workspace",
                                 remedy="pass a workspace .gpkg made by gridgeo, or a new file name") from exc
            if ok is None:
                raise StoreError("is not a gridgeo workspace", path=p, code="err.plans.not_workspace",
                                 remedy="pass a workspace .gpkg made by gridgeo, or a new file name")
        return ws

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot be opened ({exc})", path=self.path, code="err.plans.unreadable",
                             remedy="check the path and that you may read and write it") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole or rolled back whole."""
        with self._connect() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"is locked by another session ({exc})", path=self.path,
                                 code="err.plans.locked", remedy="wait a moment and save again") from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _create(self, district: io.District) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.creating")
        tmp.unlink(missing_ok=True)
        ws = Workspace(tmp)
        with ws._transaction() as conn:
            init_geopackage(conn)
            conn.execute("CREATE TABLE gridgeo_workspace (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute("CREATE TABLE gridgeo_columns (table_name TEXT, column_name TEXT, dtype TEXT, "
                         "position INTEGER)")
            facts = {"schema": str(SCHEMA_VERSION), "name": district.name, "source": district.source,
                     "synthetic": json.dumps(district.synthetic), "files": json.dumps(district.files),
                     "created_at": pd.Timestamp.now(tz=TZ).isoformat()}
            conn.executemany("INSERT INTO gridgeo_workspace VALUES (?, ?)", list(facts.items()))
            for layer in DISTRICT_LAYERS:
                frame = getattr(district, layer)
                if frame is not None:
                    write_frame(conn, layer, frame, description=f"district layer {layer}")
            create_feature_table(conn, "plan_grids", _GRID_SQL, description="grids of every plan version")
            body = ", ".join(f"{n} {t}" for n, t in _VERSION_SQL)
            conn.execute(f"CREATE TABLE plan_versions (fid INTEGER PRIMARY KEY AUTOINCREMENT, {body})")
            register_attributes(conn, "plan_versions", "one row per plan version")
            body = ", ".join(f"{n} {t}" for n, t in _ASSIGN_SQL)
            conn.execute(f"CREATE TABLE plan_assignments (fid INTEGER PRIMARY KEY AUTOINCREMENT, {body})")
            register_attributes(conn, "plan_assignments", "building -> grid rows of every plan version")
            cols = ", ".join(["fid", *(n for n, _ in _GRID_SQL), "geom"])
            conn.execute(f"CREATE VIEW plan_grids_latest AS SELECT {cols} FROM plan_grids WHERE version_id = "
                         "(SELECT version_id FROM plan_versions ORDER BY seq DESC LIMIT 1)")
            conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                         "VALUES ('plan_grids_latest', 'features', 'plan_grids_latest', "
                         "'grids of the latest plan version', 4326)")
            conn.execute("INSERT INTO gpkg_geometry_columns VALUES ('plan_grids_latest', 'geom', 'GEOMETRY', "
                         "4326, 0, 0)")
            conn.execute("CREATE INDEX plan_grids_version ON plan_grids (version_id)")
            conn.execute("CREATE INDEX plan_grids_code ON plan_grids (grid_id)")
            conn.execute("CREATE INDEX plan_assignments_version ON plan_assignments (version_id)")
        tmp.replace(self.path)

    # ------------------------------------------------------------------ reading

    def district(self) -> io.District:
        """The district layers stored in the workspace (cases and staff are not kept here)."""
        with self._connect() as conn:
            facts = dict(conn.execute("SELECT key, value FROM gridgeo_workspace").fetchall())
            tables = {r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents")}
            layers = {layer: read_frame(conn, layer) for layer in DISTRICT_LAYERS if layer in tables}
        return io.District(
            communities=layers["communities"], buildings=layers["buildings"], streets=layers.get("streets"),
            stations=layers.get("stations"), grids=layers.get("grids"), source=facts.get("source", ""),
            name=facts.get("name", ""), synthetic=bool(json.loads(facts.get("synthetic", "false"))),
            files=json.loads(facts.get("files", "{}")),
        )

    def info(self) -> dict[str, str]:
        """Facts about the workspace: district name, source folder, creation time."""
        with self._connect() as conn:
            return dict(conn.execute("SELECT key, value FROM gridgeo_workspace").fetchall())

    def versions(self) -> pd.DataFrame:
        """Every saved version, oldest first, indexed by ``version_id``.

        Columns: ``seq``, ``parent``, ``branch``, ``name``, ``author``, ``note``,
        ``created_at`` (Asia/Shanghai), ``grids``, ``households``, ``retired``
        (grids this version retired), ``head`` (newest of its branch), ``tables``
        (attached tables with their row counts, e.g. ``staffing 371``; "" when none).
        """
        cols = [n for n, _ in _VERSION_SQL if n not in ("rules", "meta")]
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {', '.join(cols)} FROM plan_versions ORDER BY seq").fetchall()
            attached: dict[str, list[tuple[str, int]]] = {}
            if self._has_tables(conn):
                for vid, name, n in conn.execute("SELECT version_id, name, rows FROM plan_tables ORDER BY name"):
                    attached.setdefault(str(vid), []).append((str(name), int(n)))
        data = list(zip(*rows)) if rows else [() for _ in cols]
        frame = pd.DataFrame({c: list(data[i]) for i, c in enumerate(cols)})
        frame["created_at"] = from_sql_values(frame["created_at"].tolist(), f"datetime64[ns, {TZ}]")
        for c in ("seq", "grids", "households", "retired"):
            frame[c] = pd.to_numeric(frame[c]).fillna(0).astype("int64")
        for c in ("parent", "name", "author", "note", "branch"):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None if c == "parent" else "")
        heads = frame.groupby("branch")["seq"].transform("max") if len(frame) else frame["seq"]
        frame["head"] = frame["seq"] == heads
        frame["tables"] = [", ".join(f"{n} {k}" for n, k in attached.get(v, [])) for v in frame["version_id"]]
        return frame.set_index("version_id")

    def latest(self) -> str | None:
        """Id of the most recently saved version (the head of its branch), or None when empty."""
        with self._connect() as conn:
            row = conn.execute("SELECT version_id FROM plan_versions ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def head(self, branch: str = MAIN_BRANCH) -> str | None:
        """Newest version of ``branch`` (None when the branch has none)."""
        with self._connect() as conn:
            return self._head(conn, branch)

    @staticmethod
    def _head(conn: sqlite3.Connection, branch: str) -> str | None:
        row = conn.execute("SELECT version_id FROM plan_versions WHERE branch = ? ORDER BY seq DESC LIMIT 1",
                           (branch,)).fetchone()
        return None if row is None else str(row[0])

    def load(self, version: str | None = None) -> PlanVersion:
        """Read one version (default: the latest); raises ``StoreError`` for an unknown id."""
        with self._connect() as conn:
            return self._load(conn, version)

    def _load(self, conn: sqlite3.Connection, version: str | None) -> PlanVersion:
        vid = version
        if vid is None:
            row = conn.execute("SELECT version_id FROM plan_versions ORDER BY seq DESC LIMIT 1").fetchone()
            if row is None:
                raise StoreError("the workspace has no plan version yet", path=self.path,
                                 code="err.plans.empty", remedy="make one: python -m gridgeo plan create "
                                                                 "--store PATH --district DIR")
            vid = str(row[0])
        meta_row = conn.execute("SELECT parent, name, author, note, created_at, rules, meta FROM plan_versions "
                                "WHERE version_id = ?", (vid,)).fetchone()
        if meta_row is None:
            known = [r[0] for r in conn.execute("SELECT version_id FROM plan_versions ORDER BY seq")]
            raise StoreError("unknown plan version", path=self.path, value=vid, code="err.plans.no_such_version",
                             remedy=f"use one of: {', '.join(known[-10:]) or '(none saved yet)'}",
                             known=", ".join(known[-10:]) or Tr("plans.none_saved"))
        parent, name, author, note, created, rules, meta = meta_row
        grid_cols = [n for n, _ in _GRID_SQL[1:]]
        rows = conn.execute(f"SELECT {', '.join(grid_cols)}, geom FROM plan_grids WHERE version_id = ? "
                            "ORDER BY fid", (vid,)).fetchall()
        data = list(zip(*rows)) if rows else [() for _ in range(len(grid_cols) + 1)]
        frame = pd.DataFrame({"grid_id": pd.Series(list(data[0]), dtype="str")})
        for i, col in enumerate(grid_cols[1:-1], start=1):
            frame[col] = from_sql_values(data[i], _GRID_DTYPES[col])
        extras = pd.DataFrame([json.loads(e) if e else {} for e in data[len(grid_cols) - 1]],
                              index=frame.index)
        if len(extras.columns):
            frame = pd.concat([frame, extras], axis=1)
        grids = gpd.GeoDataFrame(frame.set_index("grid_id"), geometry=geometries(data[-1]) if rows else [],
                                 crs=4326)
        arows = conn.execute(f"SELECT {', '.join(ASSIGNMENT_COLUMNS)} FROM plan_assignments WHERE version_id = ? "
                             "ORDER BY fid", (vid,)).fetchall()
        adata = list(zip(*arows)) if arows else [() for _ in ASSIGNMENT_COLUMNS]
        assignments = pd.DataFrame({c: from_sql_values(adata[i], _ASSIGN_DTYPES[c])
                                    for i, c in enumerate(ASSIGNMENT_COLUMNS)})
        return PlanVersion(
            grids=grids, assignments=assignments, rules=rules_from_json(rules), version_id=vid, parent=parent,
            name=name or "", author=author or "", note=note or "",
            created_at=pd.Timestamp(created).tz_convert(TZ) if created else None,
            meta=json.loads(meta) if meta else {},
        )

    def history(self, version: str | None = None) -> pd.DataFrame:
        """Every grid code along the line of versions leading to ``version`` (default: the latest).

        One row per code (index ``grid_id``): ``community_id``, ``valid_from``,
        ``valid_to`` (NaT while current), ``first_version``, ``last_version``, so
        "which grid held this address on that day" has an answer after revisions.
        """
        with self._connect() as conn:
            start = version or self._head_any(conn)
            line: list[str] = []
            current = start
            while current is not None:
                row = conn.execute("SELECT parent FROM plan_versions WHERE version_id = ?", (current,)).fetchone()
                if row is None:
                    raise StoreError("unknown plan version", path=self.path, value=current,
                                     code="err.plans.unknown_version", remedy="pick a saved version")
                line.append(current)
                current = row[0]
            line.reverse()
            records: dict[str, dict[str, Any]] = {}
            for vid in line:
                retired = json.loads(conn.execute("SELECT meta FROM plan_versions WHERE version_id = ?",
                                                  (vid,)).fetchone()[0] or "{}").get("retired", {})
                for code, when in retired.items():
                    if code in records and pd.isna(records[code]["valid_to"]):
                        records[code]["valid_to"] = pd.Timestamp(when).tz_convert(TZ)
                for gid, cid, vf in conn.execute("SELECT grid_id, community_id, valid_from FROM plan_grids "
                                                 "WHERE version_id = ?", (vid,)):
                    rec = records.get(gid)
                    if rec is None or pd.notna(rec["valid_to"]):
                        records[gid] = {"community_id": cid, "valid_from": pd.Timestamp(vf).tz_convert(TZ)
                                        if vf else pd.NaT, "valid_to": pd.NaT, "first_version": vid,
                                        "last_version": vid}
                    else:
                        rec["last_version"] = vid
        frame = pd.DataFrame.from_dict(records, orient="index",
                                       columns=["community_id", "valid_from", "valid_to", "first_version",
                                                "last_version"])
        for col in ("valid_from", "valid_to"):
            frame[col] = pd.to_datetime(frame[col], utc=True).dt.tz_convert(TZ)
        frame.index.name = "grid_id"
        return frame.sort_index()

    @staticmethod
    def _head_any(conn: sqlite3.Connection) -> str | None:
        row = conn.execute("SELECT version_id FROM plan_versions ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def issued_codes(self) -> set[str]:
        """Every grid code any version ever used: retired codes are never given again."""
        with self._connect() as conn:
            return self._issued(conn)

    @staticmethod
    def _issued(conn: sqlite3.Connection) -> set[str]:
        return {str(r[0]) for r in conn.execute("SELECT DISTINCT grid_id FROM plan_grids")}

    # ------------------------------------------------------------------ writing

    def save(self, plan: PlanVersion, *, parent: str | None, author: str, note: str = "", name: str = "",
             branch: bool | str = False, recode: bool = True, keep_codes: bool = False,
             tables: Mapping[str, pd.DataFrame | None] | None = None, tables_from: str | None = None) -> str:
        """Save ``plan`` as a new version and return its id (``v<n>``).

        ``parent`` is the version the plan was made from (None for a first plan).
        The new version continues the parent's branch; when the parent is no
        longer the newest version of that branch (someone saved meanwhile),
        ``PlanConflictError`` names both and nothing is written. ``branch=True``
        (or a branch name) saves it as the first version of a new branch instead.

        With ``recode`` (the default) grid codes are made stable against the
        parent (:func:`gridgeo.plans.codes.stabilize`): a grid that keeps most of
        its households keeps its code and ``valid_from``; new grids get the next
        unused serial of their community; the grids the parent had and this
        version dropped are recorded as retired in ``meta["retired"]``.
        A plan whose ``meta`` has ``restored_from`` (see :meth:`restore`) gets its
        own codes back where no current grid holds them. ``keep_codes`` (an
        imported city layer: its codes are the city's) keeps every id as given and
        only fills dates and the retired list.

        Attached tables (see :meth:`tables`): the new version carries those of
        ``tables_from`` (default: the parent); ``tables`` replaces the ones it
        names (``None`` drops one). Everything is written in one SQLite transaction.
        """
        if not author.strip():
            raise InputError("a version needs an author", code="err.plans.no_author",
                             remedy="say who made this version (name or staff id)")
        given = {check_table_name(n): f for n, f in (tables or {}).items()}
        with self._transaction() as conn:
            seq, vid, branch_name = self._next_version(conn, parent, branch)
            grids, assignments, retired = plan.grids, plan.assignments, {}
            now = pd.Timestamp.now(tz=TZ)
            if recode:
                previous = self._load(conn, parent) if parent is not None else None
                coded = codes.stabilize(plan.grids, plan.assignments, previous, issued=self._issued(conn),
                                        when=now, reinstate="restored_from" in plan.meta, keep=keep_codes)
                grids, assignments, retired = coded.grids, coded.assignments, coded.retired
            meta = {**plan.meta, "retired": {**plan.meta.get("retired", {}), **retired}} if recode else plan.meta
            g = normalize_grids(grids)
            conn.execute(
                f"INSERT INTO plan_versions ({', '.join(n for n, _ in _VERSION_SQL)}) "
                f"VALUES ({', '.join('?' for _ in _VERSION_SQL)})",
                (vid, seq, parent, branch_name, name or plan.name, author.strip(), note or plan.note,
                 utc_text(now), len(g), int(g["households"].sum()),
                 len(meta.get("retired", {})), rules_to_json(plan.rules),
                 json.dumps(meta, ensure_ascii=False, default=_json_default)))
            names = ", ".join(n for n, _ in _GRID_SQL) + ", geom"
            conn.executemany(f"INSERT INTO plan_grids ({names}) VALUES ({', '.join('?' for _ in range(13))})",
                             grid_rows(vid, g))
            update_extent(conn, "plan_grids", g.geometry.to_numpy())
            conn.executemany(f"INSERT INTO plan_assignments ({', '.join(n for n, _ in _ASSIGN_SQL)}) "
                             f"VALUES ({', '.join('?' for _ in _ASSIGN_SQL)})", assignment_rows(vid, assignments))
            source = tables_from if tables_from is not None else parent
            if source is not None:
                self._copy_tables(conn, source, vid, skip=set(given))
            for table_name, frame in given.items():
                if frame is not None:
                    self._write_table(conn, vid, table_name, frame)
        return vid

    def _next_version(self, conn: sqlite3.Connection, parent: str | None, branch: bool | str) -> tuple[int, str, str]:
        """Sequence number, id and branch of the version saved next on ``parent``; refuse a stale parent.

        The conflict rule of every save: the parent must still be the newest
        version of its branch, unless ``branch`` starts a new one.
        """
        seq = int(conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM plan_versions").fetchone()[0])
        vid = f"v{seq}"
        parent_branch = MAIN_BRANCH
        if parent is not None:
            row = conn.execute("SELECT branch FROM plan_versions WHERE version_id = ?", (parent,)).fetchone()
            if row is None:
                raise StoreError("unknown parent version", path=self.path, value=parent,
                                 code="err.plans.unknown_version", remedy="load a saved version and save again")
            parent_branch = str(row[0])
        if branch:
            branch_name = branch if isinstance(branch, str) else f"branch-{vid}"
            if self._head(conn, branch_name) is not None:
                raise StoreError("branch name already used", path=self.path, value=branch_name,
                                 code="err.plans.branch_exists", remedy="choose another branch name")
        else:
            branch_name = parent_branch
            head = self._head(conn, branch_name)
            if head != parent:
                raise PlanConflictError(
                    f"version {head} was saved after {parent or 'an empty workspace'}, which this plan is "
                    f"based on", path=self.path, value=None, code="err.plans.conflict",
                    parent=parent or "—", latest=head,
                    remedy=f"load {head} and redo the change, or save as a new branch (branch=True, "
                           f"CLI --branch)")
        return seq, vid, branch_name

    def save_tables(self, base: str, tables: Mapping[str, pd.DataFrame | None], *, author: str, note: str = "",
                    name: str = "", branch: bool | str = False) -> str:
        """Save a new version that changes only attached tables (e.g. a staffing edit) and return its id.

        The new version has exactly the grids, codes, dates and assignments of
        ``base`` (copied row by row inside the database), ``base`` as parent and
        the other attached tables of ``base``; ``tables`` replaces (or with
        ``None`` drops) the ones it names. The note defaults to what changed.
        The same rules as :meth:`save`: one transaction, and a ``base`` that is
        no longer the newest of its branch raises ``PlanConflictError``.
        """
        if not author.strip():
            raise InputError("a version needs an author", code="err.plans.no_author",
                             remedy="say who made this version (name or staff id)")
        given = {check_table_name(n): f for n, f in tables.items()}
        if not given:
            raise InputError("nothing to save: no attached table given", code="err.plans.no_tables",
                             remedy="pass tables={'staffing': frame}")
        with self._transaction() as conn:
            seq, vid, branch_name = self._next_version(conn, base, branch)
            row = conn.execute("SELECT name, grids, households, rules, meta FROM plan_versions WHERE version_id = ?",
                               (base,)).fetchone()
            base_name, n_grids, households, rules, meta_text = row
            meta = {k: v for k, v in json.loads(meta_text or "{}").items()
                    if k not in ("retired", "retired_grids", "edits", "restored_from", "tables_changed")}
            meta.update({"retired": {}, "tables_changed": sorted(given)})
            changed = ", ".join(sorted(given))
            conn.execute(
                f"INSERT INTO plan_versions ({', '.join(n for n, _ in _VERSION_SQL)}) "
                f"VALUES ({', '.join('?' for _ in _VERSION_SQL)})",
                (vid, seq, base, branch_name, name or base_name, author.strip(),
                 note or f"{changed} changed (grids as {base})", utc_text(pd.Timestamp.now(tz=TZ)), n_grids,
                 households, 0, rules, json.dumps(meta, ensure_ascii=False, default=_json_default)))
            grid_cols = ", ".join([n for n, _ in _GRID_SQL[1:]] + ["geom"])
            conn.execute(f"INSERT INTO plan_grids (version_id, {grid_cols}) SELECT ?, {grid_cols} FROM plan_grids "
                         "WHERE version_id = ? ORDER BY fid", (vid, base))
            assign_cols = ", ".join(n for n, _ in _ASSIGN_SQL[1:])
            conn.execute(f"INSERT INTO plan_assignments (version_id, {assign_cols}) SELECT ?, {assign_cols} "
                         "FROM plan_assignments WHERE version_id = ? ORDER BY fid", (vid, base))
            self._copy_tables(conn, base, vid, skip=set(given))
            for table_name, frame in given.items():
                if frame is not None:
                    self._write_table(conn, vid, table_name, frame)
        return vid

    # ------------------------------------------------------------------ attached tables

    @staticmethod
    def _has_tables(conn: sqlite3.Connection) -> bool:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'plan_tables'"
                            ).fetchone() is not None

    def _write_table(self, conn: sqlite3.Connection, vid: str, name: str, frame: pd.DataFrame) -> None:
        """Write one attached table of version ``vid`` (creating ``plan_tables``/``plan_<name>`` as needed)."""
        flat, index_name = _flat_table(frame)
        if not self._has_tables(conn):
            body = ", ".join(f"{n} {t}" for n, t in _TABLES_SQL)
            conn.execute(f"CREATE TABLE plan_tables (fid INTEGER PRIMARY KEY AUTOINCREMENT, {body}, "
                         "UNIQUE (version_id, name))")
            register_attributes(conn, "plan_tables", "tables attached to plan versions (e.g. staffing)")
        table = f"plan_{name}"
        spec = [(c, _sql_type(flat[c].dtype)) for c in flat.columns]
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is None:
            body = "".join(f", {_quote(c)} {t}" for c, t in spec)
            conn.execute(f"CREATE TABLE {_quote(table)} (fid INTEGER PRIMARY KEY AUTOINCREMENT, "
                         f"version_id TEXT NOT NULL{body})")
            conn.execute(f"CREATE INDEX {_quote(table + '_version')} ON {_quote(table)} (version_id)")
            register_attributes(conn, table, f"attached table {name} of every plan version")
        else:
            have = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({_quote(table)})")}
            for c, t in spec:
                if c not in have:
                    conn.execute(f"ALTER TABLE {_quote(table)} ADD COLUMN {_quote(c)} {t}")
        layout = {"columns": [[c, str(flat[c].dtype)] for c in flat.columns], "index": index_name}
        conn.execute("INSERT INTO plan_tables (version_id, name, columns, attrs, rows) VALUES (?, ?, ?, ?, ?)",
                     (vid, name, json.dumps(layout, ensure_ascii=False),
                      json.dumps(dict(frame.attrs), ensure_ascii=False, default=_json_default), len(flat)))
        names = ", ".join(["version_id", *(_quote(c) for c in flat.columns)])
        marks = ", ".join("?" for _ in range(len(flat.columns) + 1))
        conn.executemany(f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})", table_rows(vid, frame))

    def _copy_tables(self, conn: sqlite3.Connection, source: str, vid: str, *, skip: set[str]) -> None:
        """Give version ``vid`` the attached tables of ``source`` (except ``skip``), copied in the database."""
        if not self._has_tables(conn):
            return
        for name, layout, attrs, rows in conn.execute("SELECT name, columns, attrs, rows FROM plan_tables "
                                                      "WHERE version_id = ? ORDER BY fid", (source,)).fetchall():
            if name in skip:
                continue
            conn.execute("INSERT INTO plan_tables (version_id, name, columns, attrs, rows) VALUES (?, ?, ?, ?, ?)",
                         (vid, name, layout, attrs, rows))
            cols = "".join(f", {_quote(c)}" for c, _ in json.loads(layout)["columns"])
            table = _quote(f"plan_{name}")
            conn.execute(f"INSERT INTO {table} (version_id{cols}) SELECT ?{cols} FROM {table} WHERE version_id = ? "
                         "ORDER BY fid", (vid, source))

    def tables(self, version: str | None = None) -> dict[str, pd.DataFrame]:
        """The tables attached to ``version`` (default: the latest), by name; ``{}`` when none.

        Each frame comes back with its columns, dtypes, named index and
        ``attrs`` as saved (e.g. ``attrs["staffing_table_version"]``).
        """
        with self._connect() as conn:
            return self._read_tables(conn, self._version_id(conn, version))

    def table(self, version: str | None, name: str) -> pd.DataFrame | None:
        """One attached table of ``version`` (default: the latest), or None when it has none of that name."""
        with self._connect() as conn:
            return self._read_tables(conn, self._version_id(conn, version), only=check_table_name(name)).get(name)

    def _version_id(self, conn: sqlite3.Connection, version: str | None) -> str:
        if version is None:
            head = self._head_any(conn)
            if head is None:
                raise StoreError("the workspace has no plan version yet", path=self.path,
                                 code="err.plans.empty", remedy="make one: python -m gridgeo plan create "
                                                                 "--store PATH --district DIR")
            return head
        if conn.execute("SELECT 1 FROM plan_versions WHERE version_id = ?", (version,)).fetchone() is None:
            known = [r[0] for r in conn.execute("SELECT version_id FROM plan_versions ORDER BY seq")]
            raise StoreError("unknown plan version", path=self.path, value=version, code="err.plans.no_such_version",
                             remedy=f"use one of: {', '.join(known[-10:]) or '(none saved yet)'}",
                             known=", ".join(known[-10:]) or Tr("plans.none_saved"))
        return version

    def _read_tables(self, conn: sqlite3.Connection, vid: str, only: str | None = None) -> dict[str, pd.DataFrame]:
        if not self._has_tables(conn):
            return {}
        out: dict[str, pd.DataFrame] = {}
        for name, layout_text, attrs in conn.execute("SELECT name, columns, attrs FROM plan_tables WHERE "
                                                     "version_id = ? ORDER BY name", (vid,)).fetchall():
            if only is not None and name != only:
                continue
            layout = json.loads(layout_text)
            cols = [(str(c), str(d)) for c, d in layout["columns"]]
            select = ", ".join(_quote(c) for c, _ in cols) or "NULL"
            rows = conn.execute(f"SELECT {select} FROM {_quote('plan_' + name)} WHERE version_id = ? ORDER BY fid",
                                (vid,)).fetchall()
            data = list(zip(*rows)) if rows else [() for _ in cols]
            frame = pd.DataFrame({c: _column(data[i], dtype) for i, (c, dtype) in enumerate(cols)})
            if layout.get("index"):
                frame = frame.set_index(layout["index"])
            frame.attrs.update(json.loads(attrs or "{}"))
            out[str(name)] = frame
        return out

    def restore(self, version: str, *, author: str, note: str = "") -> str:
        """Make an old version current again: save a copy of it on top of the latest version.

        Nothing is overwritten; the restored copy is a new version whose parent
        is the current latest (so the history shows the way back). It carries the
        attached tables (the staffing) of ``version``, not of the latest.
        """
        old = self.load(version)
        latest = self.latest()
        return self.save(old.evolve(meta={**{k: v for k, v in old.meta.items() if k != "retired"},
                                          "restored_from": version}),
                         parent=latest, author=author, note=note or f"restored {version}",
                         name=old.name, tables_from=version)
