"""The zh/en string table: everything the UI and CLI show to people.

Keys are ``area.item``. Simplified Chinese is the default language; English is
the switch. Values are ``str.format`` templates filled from an error's fields.
Each area keeps its strings in its own module (``i18n.core``, ``i18n.plans`` …);
they are merged here, and a key defined twice is a bug caught at import.
"""

from __future__ import annotations

from typing import Literal

from gridgeo.i18n import cases as _cases
from gridgeo.i18n import core as _core
from gridgeo.i18n import coverage as _coverage
from gridgeo.i18n import district as _district
from gridgeo.i18n import edit as _edit
from gridgeo.i18n import errors as _errors
from gridgeo.i18n import export as _export
from gridgeo.i18n import names as _names
from gridgeo.i18n import partition as _partition
from gridgeo.i18n import plans as _plans
from gridgeo.i18n import polish as _polish
from gridgeo.i18n import sla as _sla
from gridgeo.i18n import staffing as _staffing

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

_SECTIONS: tuple[dict[str, dict[str, str]], ...] = (
    _core.STRINGS,
    _errors.STRINGS,
    _cases.STRINGS,
    _coverage.STRINGS,
    _district.STRINGS,
    _edit.STRINGS,
    _export.STRINGS,
    _names.STRINGS,
    _partition.STRINGS,
    _plans.STRINGS,
    _polish.STRINGS,
    _sla.STRINGS,
    _staffing.STRINGS,
)


def _merge(sections: tuple[dict[str, dict[str, str]], ...]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for section in sections:
        twice = merged.keys() & section.keys()
        if twice:
            raise RuntimeError(f"i18n keys defined twice: {sorted(twice)}")
        merged.update(section)
    return merged


STRINGS: dict[str, dict[str, str]] = _merge(_SECTIONS)


def t(key: str, lang: Lang = "zh", **fields: object) -> str:
    """Return the text for ``key`` in ``lang``, filled with ``fields``.

    An unknown key returns the key itself, so a missing translation shows up
    visibly instead of crashing a page.
    """
    entry = STRINGS.get(key)
    if entry is None:
        return key
    template = entry.get(lang) or entry.get("zh") or key
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return template
