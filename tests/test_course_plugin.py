"""The test suite's own plugin: pinning xdist workers to CPUs and the order work is queued in."""

import os
from pathlib import Path

import pytest

from tests import course_plugin

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def affinity(monkeypatch):
    """Fake CPU affinity: the process may run on CPUs 0-3; ``pinned`` records what was set."""
    pinned: list[set[int]] = []
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cpus: pinned.append(set(cpus)),
                        raising=False)
    monkeypatch.delenv("COURSE_PIN_WORKERS", raising=False)
    return pinned


def _as_worker(monkeypatch, worker: str, count: int) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))


def test_each_worker_is_pinned_to_its_own_share_of_the_cpus(monkeypatch, affinity):
    shares = []
    for worker in ("gw0", "gw1"):
        _as_worker(monkeypatch, worker, 2)
        shares.append(course_plugin.pin_worker_to_cpus())
    assert shares == [{0, 2}, {1, 3}] == affinity


def test_workers_stay_unpinned_alone_when_outnumbering_cpus_or_when_asked(monkeypatch, affinity):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert course_plugin.pin_worker_to_cpus() is None  # not an xdist worker
    _as_worker(monkeypatch, "gw0", 1)
    assert course_plugin.pin_worker_to_cpus() is None  # the only worker
    _as_worker(monkeypatch, "gw5", 8)
    assert course_plugin.pin_worker_to_cpus() is None  # 8 workers, 4 CPUs
    _as_worker(monkeypatch, "gw0", 2)
    monkeypatch.setenv("COURSE_PIN_WORKERS", "0")
    assert course_plugin.pin_worker_to_cpus() is None
    assert affinity == []


def test_longest_units_are_queued_first_then_notebooks_then_unit_tests():
    collected = ["tests/test_data.py::test_a", "notebooks/01_vanilla_rnn.ipynb::Cell 0",
                 "tests/test_grading.py::test_b", "notebooks/03_lstm.ipynb::Cell 0",
                 "notebooks/09_modern_recurrent.ipynb::Cell 0",
                 "notebooks/01_vanilla_rnn.ipynb::Cell 1", "tests/test_data.py::test_c"]
    queued = sorted(collected, key=course_plugin.queue_position)
    assert queued == ["notebooks/09_modern_recurrent.ipynb::Cell 0",
                      "tests/test_grading.py::test_b", "notebooks/03_lstm.ipynb::Cell 0",
                      "notebooks/01_vanilla_rnn.ipynb::Cell 0",
                      "notebooks/01_vanilla_rnn.ipynb::Cell 1",
                      "tests/test_data.py::test_a", "tests/test_data.py::test_c"]
    for path in course_plugin.LONGEST_FIRST:  # a renamed file would silently lose its place
        assert (ROOT / path).exists(), f"{path} in LONGEST_FIRST does not exist"
