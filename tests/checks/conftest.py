"""Checks are tested against the real sample app (``start_app`` comes from tests/examples)."""

from __future__ import annotations

import pytest

from tests.examples.conftest import SampleApp, StartApp, start_app

__all__ = ["sample_app", "start_app"]


@pytest.fixture
def sample_app(start_app: StartApp) -> SampleApp:
    """A good release (v1) of the sample app, running; killed at teardown."""
    return start_app("v1")
