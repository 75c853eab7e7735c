"""Fixtures of the reporting tests (helpers: reporting_testkit.py)."""

from __future__ import annotations

import pytest
from reporting_testkit import make_study


@pytest.fixture()
def study() -> dict:
    """The study of reporting_testkit.STUDY_CONFIG, as the CLI receives it (a JSON round trip)."""
    return make_study()
