"""Repository-level guarantees: stored notebooks are executed cleanly, datasets are credited."""

import json
from pathlib import Path

import pytest

from course_lib import data

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_executed_in_order_without_errors(path):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"]
            if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "re-run with `make notebooks`"
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_metadata_is_clean(path):
    notebook = json.loads(path.read_text())
    assert set(notebook["metadata"]) <= {"kernelspec", "language_info"}
    assert all(set(c.get("metadata", {})) <= {"tags"} for c in notebook["cells"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_colab_badge_and_learning_goals(path):
    first = "".join(json.loads(path.read_text())["cells"][0]["source"])
    assert f"blob/main/notebooks/{path.name}" in first and "Learning goals" in first


def test_every_registered_dataset_is_credited_in_datasets_readme():
    credits = (ROOT / "datasets" / "README.md").read_text()
    for name, entry in data.registry().items():
        assert f"### {name}" in credits and entry["license"] in credits, name
