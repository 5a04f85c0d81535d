"""Exception and warning classes: every error we raise on purpose.

Each error carries the file, row (as the user's spreadsheet numbers it, header =
row 1) or feature id, the bad value and a remedy, so that pages, the CLI and logs
all show the same actionable sentence. ``code`` is the i18n key of the message.
"""

from __future__ import annotations

import re

import string
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridgeo.i18n import STRINGS, Lang, t


class GridgeoWarning(UserWarning):
    """Something was repaired or assumed; the data were still loaded.

    ``problem`` and ``path`` (when given) let the CLI and pages render the
    warning in the user's language with ``render``.
    """

    def __init__(self, message: str, *, problem: Problem | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.path = path


class GridgeoError(Exception):
    """Base of every error gridgeo raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        feature_id: object = None,
        value: object = None,
        remedy: str | None = None,
        code: str | None = None,
        problems: Sequence[Problem] | None = None,
        **fields: Any,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.row = row
        self.feature_id = feature_id
        self.value = value
        self.remedy = remedy
        self.code = code or "err.generic"
        self.problems: list[Problem] = list(problems or [])
        self.fields = fields
        super().__init__(self._render())

    def _render(self) -> str:
        return sentence(location(self.path, self.row, self.feature_id), self.message, self.value, self.remedy)


class InputError(GridgeoError, ValueError):
    """A user file or argument is wrong."""


class SchemaError(InputError):
    """Missing or ill-typed column, duplicate id."""


class GeometryError(InputError):
    """Invalid, empty or wrongly typed geometry, or geometry outside its container."""


class CRSError(InputError):
    """No CRS, unknown CRS, coordinates swapped or out of range."""


class InfeasibleError(GridgeoError):
    """No plan within the household bounds exists; ``nearest`` holds the closest choice."""

    def __init__(self, message: str, *, nearest: object = None, **kwargs: Any) -> None:
        self.nearest = nearest
        super().__init__(message, **kwargs)


class PlanConflictError(GridgeoError):
    """The plan changed since it was loaded (a save based on version N when N+1 exists)."""


class StoreError(GridgeoError):
    """A store is unreadable or locked; nothing was written."""


def sentence(where: str, message: str, value: object, remedy: str | None) -> str:
    """The one-line message a user reads: where, what is wrong, the value seen, what to do."""
    text = f"{where}: {message}" if where else message
    if value is not None:
        text += f", got {value!r}"
    if remedy:
        text += f". Fix: {remedy}"
    return text


def location(path: str | None, row: int | None, feature_id: object) -> str:
    """Format "file row 12 (LX03)" from whatever parts are known."""
    parts: list[str] = []
    if path:
        parts.append(Path(path).name)
    if row is not None:
        parts.append(f"row {row}")
    if feature_id is not None and feature_id != "":
        parts.append(f"({feature_id})")
    return " ".join(parts)


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file: enough to point the user at it."""

    message: str
    code: str
    severity: str = "error"  # "error" or "warning"
    row: int | None = None
    feature_id: object = None
    value: object = None
    remedy: str | None = None
    ids: tuple[str, ...] = field(default_factory=tuple)
    #: values for the i18n templates ``code`` and ``code + ".fix"`` (besides ``value``)
    params: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)
    #: a problem found on ``count`` records of a file holding ``total`` (see ``collapse_repeats``);
    #: ``rows`` are example spreadsheet rows, ``ids`` example feature ids
    count: int = 1
    total: int | None = None
    rows: tuple[int, ...] = ()

    def render(self, path: str | None = None) -> str:
        """Return the one-line English sentence (``render(problem, lang)`` translates)."""
        if self.count > 1:
            return render(self, "en", path=path)
        return sentence(location(path, self.row, self.feature_id), self.message, self.value, self.remedy)


def summarize(problems: Sequence[Problem], path: str | None, *, limit: int = 20) -> str:
    """Join problems into one message, first ``limit`` shown, the rest counted."""
    lines = [p.render(path) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"…and {len(problems) - limit} more")
    return "\n".join(lines)


# --- rendering in the user's language ------------------------------------------------

def collapse_repeats(problems: Sequence[Problem], total: int, *, keep: int = 3,
                     examples: int = 5) -> list[Problem]:
    """Summarise a problem found on more than ``keep`` records into one ``Problem``.

    A file whose lon/lat columns are swapped on every row should say so once
    ("all 2,486 rows …") with a few example rows, not list 2,486 lines. The
    summary keeps the first record's code, message, value, remedy and params;
    ``count``/``total`` say how many records, ``rows``/``ids`` give examples.
    Whole-file problems (no row, no feature id) are never merged.
    """
    groups: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        if p.row is not None or p.feature_id not in (None, ""):
            groups.setdefault((p.code, p.severity), []).append(p)
    out: list[Problem] = []
    done: set[tuple[str, str]] = set()
    for p in problems:
        key = (p.code, p.severity)
        group = groups.get(key)
        if group is None or len(group) <= keep:
            out.append(p)
            continue
        if key in done:
            continue
        done.add(key)
        first = group[0]
        rows = tuple(int(g.row) for g in group[:examples] if g.row is not None)
        ids = tuple(str(g.feature_id) for g in group[:examples] if g.feature_id not in (None, ""))
        out.append(Problem(first.message, first.code, first.severity, None, None, first.value, first.remedy,
                           ids, first.params, count=len(group), total=total, rows=rows))
    return out


@dataclass(frozen=True)
class Tr:
    """A template parameter that is itself translated when rendered, e.g. ``Tr("layer.buildings")``.

    Use it in ``params``/error fields for words (a layer name, a geometry kind)
    that differ between languages; ``str()`` gives the English text.
    """

    key: str

    def __str__(self) -> str:
        return t(self.key, "en")


def _fields(base: Mapping[str, object], lang: Lang, message: str, value: object) -> dict[str, object]:
    out: dict[str, object] = {"message": message, "value": "" if value is None else _show_value(value)}
    for k, v in base.items():
        if isinstance(v, Tr):
            out[k] = t(v.key, lang)
        elif isinstance(v, tuple) and v and all(isinstance(x, Tr) for x in v):   # several words: a list
            out[k] = ("、" if lang == "zh" else ", ").join(t(x.key, lang) for x in v)
        else:
            out[k] = v
    return out


class _Blank(dict[str, object]):
    """Template fields where a missing name renders as nothing instead of raising."""

    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, fields: Mapping[str, object]) -> str:
    try:
        return template.format_map(_Blank(fields))
    except (ValueError, IndexError, TypeError):
        return template


_WILDCARDS: list[tuple[Any, str]] = []


def catalogue_key(code: str) -> str | None:
    """Return the i18n key holding the message for ``code``, or None.

    An exact key wins; otherwise a wildcard key such as ``err.schema.*_empty``
    (one entry for a family of codes built with an f-string per column) matches.
    """
    if code in STRINGS:
        return code
    if not _WILDCARDS:
        import re

        _WILDCARDS.extend((re.compile("^" + ".+".join(map(re.escape, k.split("*"))) + "$"), k)
                          for k in STRINGS if k.startswith("err.") and "*" in k and not k.endswith(".fix"))
    for pattern, key in _WILDCARDS:
        if pattern.match(code):
            return key
    return None


def _message(code: str, english: str, lang: Lang, fields: Mapping[str, object]) -> str:
    key = catalogue_key(code)
    entry = STRINGS.get(key) if key else None
    if entry and entry.get(lang):
        return _fill(entry[lang], fields)
    return english


def _remedy(code: str, english: str | None, lang: Lang, fields: Mapping[str, object]) -> str | None:
    key = catalogue_key(code)
    entry = STRINGS.get(f"{key}.fix") if key else None
    if entry and entry.get(lang):
        return _fill(entry[lang], fields)
    return english


def _show_value(value: object) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _kind(layer: object, lang: Lang) -> str:
    """The noun for one feature of ``layer`` ("楼栋" / "Building"), "" when unknown."""
    name = layer.key.removeprefix("layer.") if isinstance(layer, Tr) else str(layer or "")
    key = f"errfmt.kind.{name}"
    return t(key, lang) if name and key in STRINGS else ""


def _where(lang: Lang, path: str | None, row: int | None, feature_id: object, layer: object = None,
           message: str = "") -> str:
    """"文件 buildings.csv 第 12 行（B101）" / "buildings.csv row 12 (B101)".

    A feature id alone (no file, no row) is not put in brackets before a colon
    ("（B101）：…" reads as a dangling aside): it is named with its kind when the
    error says which layer it belongs to ("楼栋 B101：…"), else on its own ("B101：…"),
    and not at all when the message already names it ("网格 X 已锁定", not "网格 X：网格 X 已锁定").
    """
    has_id = feature_id is not None and feature_id != ""
    if not path and row is None:
        if not has_id or str(feature_id) in message:
            return ""
        kind = _kind(layer, lang)
        return (t("errfmt.feature_of", lang, kind=kind, id=feature_id) if kind
                else t("errfmt.feature_alone", lang, id=feature_id))
    head = [t("errfmt.file", lang, name=Path(path).name)] if path else []
    if row is not None:
        head.append(t("errfmt.row", lang, row=row))
    text = " ".join(head)
    if has_id:
        text += t("errfmt.feature", lang, id=feature_id)
    return text.strip()


def _repeat_where(lang: Lang, path: str | None, p: Problem) -> str:
    unit = "rows" if p.rows else "features"
    n = f"{p.count:,}"
    key = f"errfmt.{'all' if p.total is not None and p.count >= p.total else 'some'}_{unit}"
    text = t(key, lang, n=n)
    if path:
        text = t("errfmt.file", lang, name=Path(path).name) + " " + text
    return text


def _examples(lang: Lang, p: Problem) -> str:
    if p.rows:
        sep = "、" if lang == "zh" else ", "
        return t("errfmt.example_rows", lang, rows=sep.join(map(str, p.rows)))
    if p.ids:
        sep = "、" if lang == "zh" else ", "
        return t("errfmt.example_ids", lang, ids=sep.join(p.ids))
    return ""


def _assemble(lang: Lang, where: str, message: str, value: object, show_value: bool,
              remedy: str | None, examples: str = "", example_row: int | None = None) -> str:
    text = t("errfmt.where", lang, where=where, message=message) if where else message
    if examples:
        text += examples
    if show_value and value is not None and value != "":
        if example_row is not None:
            text += t("errfmt.example_value", lang, row=example_row, value=_show_value(value))
        else:
            text += t("errfmt.value", lang, value=_show_value(value))
    if remedy:
        fix = t("errfmt.fix", lang, fix=remedy)
        if text.endswith(("？", "?", "！", "!", "。")) and fix[:1] in ("。", "."):   # no "？。" after a question
            fix = ("" if lang == "zh" else " ") + fix[1:].lstrip()
        text += fix
    if lang == "zh":
        text = _FEATURE_N.sub(r"第 \1 个要素", text)     # a feature without an id ("feature 3") in Chinese
    if lang == "zh" and not text.endswith(("。", "！", "？")):
        text += "。"
    return text


_FEATURE_N = re.compile(r"\bfeature (\d+)\b")


def _template_uses_value(code: str, lang: Lang, fields: Mapping[str, object] | None = None,
                         value: object = None, raw: Mapping[str, object] | None = None) -> bool:
    """Whether the message template already shows the value: as ``{value}``, or as another field
    holding the same value (``"网格 {grid} 已满"`` with the grid as the value), so it is not repeated."""
    key = catalogue_key(code)
    entry = STRINGS.get(key) if key else None
    template = entry.get(lang, "") if entry else ""
    if "{value" in template:
        return True
    if fields is None or value is None or value == "":
        return False
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:
        return False
    raw = raw or {}
    return any(str(fields.get(n)) == str(value) or (n in raw and str(raw[n]) == str(value))
               for n in names - {"message", "value"} if n in fields)


def render_problem(p: Problem, lang: Lang = "zh", *, path: str | None = None) -> str:
    """One problem as the sentence a user reads in ``lang``: where, what, the value seen, the fix."""
    fields = _fields(p.params, lang, p.message, p.value)
    message = _message(p.code, p.message, lang, fields)
    remedy = _remedy(p.code, p.remedy, lang, fields)
    show_value = not _template_uses_value(p.code, lang, fields, p.value, p.params) if catalogue_key(p.code) else True
    if p.count > 1:
        return _assemble(lang, _repeat_where(lang, path, p), message, p.value, show_value, remedy,
                         _examples(lang, p), p.rows[0] if p.rows else None)
    return _assemble(lang, _where(lang, path, p.row, p.feature_id, p.params.get("layer"), message), message, p.value,
                     show_value, remedy)


def render(item: GridgeoError | Problem | GridgeoWarning, lang: Lang = "zh", *, path: str | None = None,
           limit: int = 20) -> str:
    """Render an error, a problem or a warning in ``lang`` (``"zh"`` or ``"en"``).

    The message comes from the i18n catalogue (key ``code``, remedy
    ``code + ".fix"``, filled with ``value`` and the error's extra fields or the
    problem's ``params``); a code without an entry falls back to the English
    message. An error that carries ``problems`` (a file with several problems)
    becomes a heading plus one line per problem, the first ``limit`` shown.
    """
    if isinstance(item, GridgeoWarning):
        if item.problem is not None:
            return render_problem(item.problem, lang, path=item.path)
        return str(item)
    if isinstance(item, Problem):
        return render_problem(item, lang, path=path)
    err = item
    where_path = err.path if path is None else path
    if err.problems:
        n = len(err.problems)
        layer = err.fields.get("layer")
        layer_text = t(layer.key, lang) if isinstance(layer, Tr) else t(f"layer.{layer}", lang) if layer else ""
        head = t("errfmt.file_problems" if layer_text else "errfmt.file_problems_nolayer", lang,
                 file=Path(where_path).name if where_path else "", layer=layer_text, n=f"{n:,}")
        lines = [f"- {render_problem(p, lang)}" for p in err.problems[:limit]]
        if n > limit:
            lines.append("- " + t("errfmt.more", lang, n=f"{n - limit:,}"))
        return "\n".join([head, *lines])
    fields = _fields(err.fields, lang, err.message, err.value)
    message = _message(err.code, err.message, lang, fields)
    remedy = _remedy(err.code, err.remedy, lang, fields)
    show_value = not _template_uses_value(err.code, lang, fields, err.value, err.fields) if catalogue_key(err.code) else True
    return _assemble(lang, _where(lang, where_path, err.row, err.feature_id, err.fields.get("layer"), message), message,
                     err.value, show_value, remedy)


def warning_line(w: warnings.WarningMessage, lang: Lang = "zh") -> str:
    """One clean line for a captured warning: ours rendered in ``lang``, others without file/line noise."""
    message = w.message
    if isinstance(message, GridgeoWarning):
        return render(message, lang)
    text = str(message).strip().splitlines()[0] if str(message).strip() else type(message).__name__
    return t("errfmt.library_warning", lang, text=text)
