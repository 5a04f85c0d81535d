"""Helpers for AppTest page tests: open a page on a district, read one metric by its label."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from pages._ui import K

ROOT = Path(__file__).resolve().parents[1]


def page_test(page: str, district: Path | str, lang: str = "zh", *, timeout: float = 180) -> AppTest:
    """``pages/<page>.py`` as an AppTest on ``district`` in ``lang`` (not run yet)."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=timeout)
    at.session_state[K.DISTRICT] = str(district)
    at.session_state[K.LANG] = lang
    return at


def metric(at: AppTest, label: str) -> str:
    """The value of the one metric labelled ``label`` (fails naming the labels shown otherwise)."""
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, [m.label for m in at.metric]
    return values[0]
