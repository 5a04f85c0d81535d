"""Shared test settings: hypothesis runs derandomized so CI failures reproduce; browser fixtures."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

from tests import browser_support
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# The app keeps plan versions in workspace/*.gpkg: tests (and the servers they start) use a fresh folder.
os.environ.setdefault("GRIDGEO_WORKSPACE_DIR", tempfile.mkdtemp(prefix="gridgeo-workspace-"))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A Streamlit server on a free local port running app.py (one per test module)."""
    yield from browser_support.server_fixture()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium driven by playwright."""
    yield from browser_support.browser_fixture()
