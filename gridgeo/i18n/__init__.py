"""The zh/en string table: everything the UI and CLI show to people.

Keys are ``area.item``. Simplified Chinese is the default language; English is
the switch. Values are ``str.format`` templates filled from an error's fields.
Each area keeps its strings in its own module (``i18n.core``, ``i18n.plans`` …);
they are merged here, and a key defined twice is a bug caught at import.
"""

from __future__ import annotations

from typing import Literal

from gridgeo.i18n import core, errors
from gridgeo.i18n import coverage
from gridgeo.i18n import export as export_strings
from gridgeo.i18n import sla

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

_SECTIONS: tuple[dict[str, dict[str, str]], ...] = (
    core.STRINGS,
    errors.STRINGS,
    coverage.STRINGS,
    export_strings.STRINGS,
    sla.STRINGS,
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
