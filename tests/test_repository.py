"""Repository-level guarantees: stored notebooks are executed cleanly, datasets are credited."""

import json
import re
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


# What a stored output must not show: the storing machine's paths, and warnings that only
# alarm a reader (each was fixed at its cause; see course_lib.text.padded_dataset and
# course_lib.runtime.quiet_new_model_tracing).
UNWANTED_OUTPUT = {
    "an absolute path of the machine that stored it": re.compile(
        r"(?<![\w.])/(?:work|root|home|tmp|usr|opt|Users)/|site-packages|[A-Z]:\\\\"),
    "Keras' 'input ran out of data' warning": re.compile(r"ran out of data"),
    "Keras' 'shuffle=True ... will be ignored' warning": re.compile(r"will be ignored since"),
    "TensorFlow's retracing warning": re.compile(r"triggered tf\.function retracing"),
}


def _output_text(output: dict) -> str:
    if "text" in output:
        return "".join(output["text"])
    return "".join("".join(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_carry_no_paths_or_avoidable_warnings(path):
    notebook = json.loads(path.read_text())
    found = []
    for number, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            text = _output_text(output)
            found += [f"cell {number}: {what}" for what, pattern in UNWANTED_OUTPUT.items()
                      if pattern.search(text)]
    assert not found, found


# A measured number in prose: two or more decimals (0.905, 19.07), outside math and code.
PROSE_NUMBER = re.compile(r"(?<![\w.$\\^{-])(\d+\.\d{2,})(?![\w.])")
OUTPUT_NUMBER = re.compile(r"\d+\.\d+")


def _prose_numbers_not_printed(cells: list[dict]) -> list[str]:
    """Numbers in markdown cells that no code cell's source or stored output shows (rounded to
    the prose's decimals). A sentence that says it reports a *probe* (a run outside this
    notebook) is exempt."""
    shown = " ".join("".join(c["source"]) + " ".join(_output_text(o) for o in c["outputs"])
                     for c in cells if c["cell_type"] == "code")
    values = {float(v) for v in OUTPUT_NUMBER.findall(shown)}
    missing = []
    for number, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        prose = re.sub(r"\$[^$]*\$|`[^`]*`", "", "".join(cell["source"]))
        for sentence in re.split(r"(?<=[.!?])\s+", prose):
            if "probe" in sentence:
                continue
            for match in PROSE_NUMBER.finditer(sentence):
                decimals = len(match.group(1).split(".")[1])
                if not any(round(v, decimals) == float(match.group(1)) for v in values):
                    missing.append(f"cell {number}: {match.group(1)} in '{sentence[:90]}...'")
    return missing


def test_prose_number_check_catches_a_number_no_cell_printed():
    cells = [{"cell_type": "code", "source": ["print(0.9047)"], "outputs": [{"text": "0.9047"}]},
             {"cell_type": "markdown", "source": ["We got 0.905. Then 0.917 out of nowhere."]},
             {"cell_type": "markdown", "source": ["A probe found 0.871."]}]
    assert _prose_numbers_not_printed(cells) == [
        "cell 1: 0.917 in 'Then 0.917 out of nowhere....'"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_numbers_in_prose_are_printed_by_the_notebook(path):
    """Every measured number the prose quotes comes from this notebook's stored run (or is
    marked as a probe's), so re-running a notebook cannot leave its text behind."""
    missing = _prose_numbers_not_printed(json.loads(path.read_text())["cells"])
    assert not missing, missing


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_and_its_text_source_agree(path):
    """The stored .ipynb (with outputs) and its Jupytext twin (.py, the reviewed source) hold
    the same cells; `make notebooks` syncs them (`jupytext --sync`)."""
    jupytext = pytest.importorskip("jupytext")
    source = path.with_suffix(".py")
    assert source.exists(), f"{source.name} missing: run `jupytext --sync {path}`"
    text_cells = [(c.cell_type, c.source) for c in jupytext.read(source).cells]
    stored = [(c["cell_type"], "".join(c["source"])) for c in json.loads(path.read_text())["cells"]]
    assert text_cells == stored, f"{path.name} and {source.name} differ: run `jupytext --sync`"


def test_every_course_lib_module_declares_its_public_surface():
    import importlib
    import pkgutil

    import course_lib

    for info in pkgutil.iter_modules(course_lib.__path__):
        module = importlib.import_module(f"course_lib.{info.name}")
        assert hasattr(module, "__all__"), f"course_lib.{info.name} has no __all__"
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, (info.name, missing)
