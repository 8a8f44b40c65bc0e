"""The maintainer tools: results table, notebook storing, the GPU check's refusal on a CPU."""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import gpu_check  # noqa: E402
import results  # noqa: E402
import store_notebook  # noqa: E402


def notebook_printing(*lines: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("print()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines))]
    return nbformat.v4.new_notebook(cells=[cell])


def test_result_lines_are_read_from_stdout_only():
    notebook = notebook_printing("epoch 1", "result pos_accuracy=0.912 profile=fast",
                                 "result bleu=12.30 profile=fast")
    notebook.cells[0].outputs.append(nbformat.v4.new_output(
        "stream", name="stderr", text="result hidden=1 profile=fast"))
    assert store_notebook.result_lines(notebook) == {
        "pos_accuracy": {"value": "0.912", "profile": "fast"},
        "bleu": {"value": "12.30", "profile": "fast"}}


def test_every_stored_notebook_reports_a_headline_result():
    stored = results.stored_results(ROOT / "notebooks")
    assert stored and all(stored.values()), {k: v for k, v in stored.items() if not v}


def test_readme_results_table_is_generated_from_the_notebooks():
    assert results.main(["--check", str(ROOT / "README.md")]) == 0, "run `make results`"


def test_results_table_adds_a_column_per_recorded_run(tmp_path):
    nbformat.write(notebook_printing("result pos_accuracy=0.912 profile=fast"),
                   tmp_path / "05_x.ipynb")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "full-cpu.json").write_text(
        '{"05_x.ipynb": {"seconds": 300, "environment": "2 CPU cores", '
        '"results": {"pos_accuracy": {"value": "0.930", "profile": "full"}}}}')
    table = results.table(tmp_path)
    assert "| 05 | `pos_accuracy` | 0.912 | 0.930 |" in table
    assert "- 05_x: 300 s" in table and "2 CPU cores" in table


def test_a_stored_notebook_from_another_profile_is_refused(tmp_path):
    nbformat.write(notebook_printing("result bleu=1 profile=full"), tmp_path / "06_x.ipynb")
    with pytest.raises(SystemExit, match="profile != fast"):
        results.stored_results(tmp_path)


def test_gpu_check_explains_that_it_needs_a_gpu(monkeypatch, capsys):
    from course_lib import runtime

    monkeypatch.setattr(runtime, "gpu_names", lambda: [])
    assert gpu_check.main(["--skip-notebooks"]) == 2
    assert "needs an NVIDIA GPU" in capsys.readouterr().out
