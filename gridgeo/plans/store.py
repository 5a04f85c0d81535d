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
  unit ranges of split towers.

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
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo import io
from gridgeo.errors import InputError, PlanConflictError, StoreError, Tr
from gridgeo.plans import codes
from gridgeo.plans.gpkg import (TZ, create_feature_table, utc_text, from_sql_values, geometries, geometry_blobs, init_geopackage, read_frame,
                                register_attributes, to_sql_values, update_extent, write_frame)
from gridgeo.plans.model import ASSIGNMENT_COLUMNS, GRID_COLUMNS, PlanVersion
from gridgeo.settings import Rules

__all__ = ["Workspace", "DEFAULT_WORKSPACE", "DISTRICT_LAYERS", "rules_to_json", "rules_from_json"]

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
        (grids this version retired), ``head`` (newest of its branch).
        """
        cols = [n for n, _ in _VERSION_SQL if n not in ("rules", "meta")]
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {', '.join(cols)} FROM plan_versions ORDER BY seq").fetchall()
        data = list(zip(*rows)) if rows else [() for _ in cols]
        frame = pd.DataFrame({c: list(data[i]) for i, c in enumerate(cols)})
        frame["created_at"] = from_sql_values(frame["created_at"].tolist(), f"datetime64[ns, {TZ}]")
        for c in ("seq", "grids", "households", "retired"):
            frame[c] = pd.to_numeric(frame[c]).fillna(0).astype("int64")
        for c in ("parent", "name", "author", "note", "branch"):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None if c == "parent" else "")
        heads = frame.groupby("branch")["seq"].transform("max") if len(frame) else frame["seq"]
        frame["head"] = frame["seq"] == heads
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
             branch: bool | str = False, recode: bool = True, keep_codes: bool = False) -> str:
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
        only fills dates and the retired list. Everything is written in one
        SQLite transaction.
        """
        if not author.strip():
            raise InputError("a version needs an author", code="err.plans.no_author",
                             remedy="say who made this version (name or staff id)")
        with self._transaction() as conn:
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
        return vid

    def restore(self, version: str, *, author: str, note: str = "") -> str:
        """Make an old version current again: save a copy of it on top of the latest version.

        Nothing is overwritten; the restored copy is a new version whose parent
        is the current latest (so the history shows the way back).
        """
        old = self.load(version)
        latest = self.latest()
        return self.save(old.evolve(meta={**{k: v for k, v in old.meta.items() if k != "retired"},
                                          "restored_from": version}),
                         parent=latest, author=author, note=note or f"restored {version}",
                         name=old.name)
