"""Exception and warning classes: every error we raise on purpose.

Each error carries the file, row (as the user's spreadsheet numbers it, header =
row 1) or feature id, the bad value and a remedy, so that pages, the CLI and logs
all show the same actionable sentence. ``code`` is the i18n key of the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class GridgeoWarning(UserWarning):
    """Something was repaired or assumed; the data were still loaded."""


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

    def render(self, path: str | None = None) -> str:
        """Return the one-line sentence a user reads."""
        return sentence(location(path, self.row, self.feature_id), self.message, self.value, self.remedy)


def summarize(problems: Sequence[Problem], path: str | None, *, limit: int = 20) -> str:
    """Join problems into one message, first ``limit`` shown, the rest counted."""
    lines = [p.render(path) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"…and {len(problems) - limit} more")
    return "\n".join(lines)
