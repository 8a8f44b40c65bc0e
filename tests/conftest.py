"""Test-suite settings. They are set before any notebook kernel starts, so nbval's kernels
inherit them: strict self-checks, quiet TensorFlow, a non-interactive matplotlib backend."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("COURSE_CHECKS_STRICT", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def mirror() -> Path:
    """The offline dataset mirror named by COURSE_DATA_DIR (skips when none is configured)."""
    folder = os.environ.get("COURSE_DATA_DIR")
    if not folder or not Path(folder).is_dir():
        pytest.skip("COURSE_DATA_DIR is not set to a dataset mirror")
    return Path(folder)
