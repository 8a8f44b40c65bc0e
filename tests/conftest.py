"""Fixtures for the unit tests (suite-wide settings live in course_plugin.py)."""

import os
from pathlib import Path

import pytest


@pytest.fixture
def mirror() -> Path:
    """The offline dataset mirror named by COURSE_DATA_DIR (skips when none is configured)."""
    folder = os.environ.get("COURSE_DATA_DIR")
    if not folder or not Path(folder).is_dir():
        pytest.skip("COURSE_DATA_DIR is not set to a dataset mirror")
    return Path(folder)
