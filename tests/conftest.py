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


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """A Streamlit server on a free local port running app.py, shared by all browser tests of a run.

    Starting one (and computing its default plan) costs 20-40 s; every test opens its own browser
    context, so Streamlit sessions stay apart.
    """
    yield from browser_support.server_fixture()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by playwright."""
    yield from browser_support.browser_fixture()
