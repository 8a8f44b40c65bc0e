"""The grading pipeline: student release, hidden tests, and autograding robust to broken and
hostile submissions (issue #10). Submissions are built from the source notebooks."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib import checks
from grading import grade, markup
from grading import release as release_module
from grading.release import release, release_notebook

NOTEBOOKS = sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb"))
APPENDICES = {"08_training_practice"}  # no graded exercises


def _exercise_count(path: Path) -> int:
    """How many exercises the answer key lists for this notebook (ex_<number>_<k>)."""
    return sum(ex_id.startswith(f"ex_{int(path.stem[:2])}_") for ex_id in checks.EXERCISES)
SOURCE_01 = Path("notebooks/01_vanilla_rnn.ipynb")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _exercise_cell(notebook, ex_id: str):
    return next(c for c in notebook.cells if markup.exercise_id(c.source) == ex_id)


# ----------------------------------------------------------------------------- release
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_release_removes_solutions_keeps_everything_else_and_restores_exactly(path):
    source = _read(path)
    released = release_notebook(source)
    assert len(released.cells) == len(source.cells)
    found = markup.exercises(source)
    assert len(found) == (0 if path.stem in APPENDICES else _exercise_count(path))
    assert path.stem in APPENDICES or len(found) >= 3
    namespace: dict = {}
    exec(markup.preamble(source), namespace)
    for original, student in zip(source.cells, released.cells, strict=True):
        if original.cell_type == "code":
            assert student.outputs == [] and student.execution_count is None
        ex_id = markup.exercise_id(original.source)
        if ex_id is None:
            assert student.source == original.source
            continue
        assert "BEGIN SOLUTION" not in student.source and f'"{ex_id}: ' in student.source
        exec(student.source, namespace)  # the stub cell runs; calling the function raises
        function = namespace[found[ex_id].function]
        with pytest.raises(NotImplementedError, match=ex_id):
            function(*[None] * function.__code__.co_argcount)
        # the solution put back from the source passes the self-check
        exec(found[ex_id].source, namespace)
        getattr(checks, ex_id)(namespace[found[ex_id].function], strict=True)


def test_unsolved_self_check_says_not_implemented_without_stopping_the_notebook(capsys):
    namespace: dict = {}
    source = _read(SOURCE_01)
    exec(markup.preamble(source), namespace)
    exec(release_notebook(source).cells[[markup.exercise_id(c.source) for c in source.cells]
                                        .index("ex_1_1")].source, namespace)
    checks.ex_1_1(namespace["rnn_step"], strict=False)
    assert "not implemented yet" in capsys.readouterr().out


@pytest.fixture(scope="module")
def student_repository(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "student"
    written = release(Path("notebooks"), out)
    assert sorted(p.name for p in written) == [p.name for p in NOTEBOOKS]
    return out


def _solution_only_lines(path: Path) -> set[str]:
    """Lines (stripped, 12+ characters) that occur in a solution region of the notebook and
    nowhere else in it."""
    inside, outside = set(), set()
    for cell in _read(path).cells:
        regions = [m.group(0) for m in markup.SOLUTION.finditer(cell.source)]
        inside |= {line.strip() for region in regions for line in region.splitlines()[1:-1]}
        outside |= {line.strip() for line in markup.SOLUTION.sub("", cell.source).splitlines()}
    return {line for line in inside - outside if len(line) >= 12 and not line.startswith("#")}


def test_release_is_a_student_repository_without_solutions_or_grader(student_repository):
    texts = {str(p.relative_to(student_repository)): p.read_text(errors="replace")
             for p in student_repository.rglob("*") if p.is_file()}
    assert {"README.md", "Makefile", "pyproject.toml", "LICENSE", "datasets/README.md",
            "course_lib/__init__.py", "course_lib/registry.json"} <= set(texts)
    assert not [n for n in texts if n.startswith(("grading", "tests", "tools", ".ci"))]
    assert not [n for n, t in texts.items()
                if "BEGIN SOLUTION" in t or "HIDDEN" in t or "9001" in t]
    # No line of a solution anywhere outside course_lib. (course_lib is the course's own
    # library: some exercises ask for a function it also has, e.g. scratch.rnn_step. Students
    # can read it; calling it earns nothing, see test_each_robustness_submission...)
    outside_library = [t for n, t in texts.items() if not n.startswith("course_lib/")]
    for path in NOTEBOOKS:
        secret = _solution_only_lines(path)
        assert secret or path.stem in APPENDICES, path.name
        leaks = {line for line in secret for text in outside_library
                 if line in text or json.dumps(line)[1:-1] in text}
        assert not leaks, (path.name, sorted(leaks)[:3])
    assert "tool.pytest" not in texts["pyproject.toml"] and "dev =" not in texts["pyproject.toml"]


def test_release_points_colab_at_the_student_repository(student_repository):
    import sys

    sys.path.insert(0, "tools")
    import colab

    settings = release_module.student_settings()
    for path in sorted((student_repository / "notebooks").glob("*.ipynb")):
        assert colab.disagreements(path, **settings) == [], path.name
    assert settings["repository"] != colab.settings()["repository"]


def test_released_course_lib_builds_as_a_package(student_repository, tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path), str(student_repository)],
                   check=True, capture_output=True)
    assert list(tmp_path.glob("course_lib-*.whl"))


# ----------------------------------------------------------------------------- grading
def _variant(tmp: Path, student: str, edit=None, raw: str | None = None) -> None:
    folder = tmp / student
    folder.mkdir(parents=True)
    target = folder / SOURCE_01.name
    if raw is not None:
        target.write_text(raw)
        return
    notebook = _read(SOURCE_01)
    if edit is not None:
        edit(notebook)
    nbformat.write(notebook, target)


def _replace(ex_id: str, new_source: str):
    def edit(notebook):
        _exercise_cell(notebook, ex_id).source = f"# EXERCISE {ex_id}\n{new_source}"
    return edit


def _chain(*edits):
    def edit(notebook):
        for one in edits:
            one(notebook)
    return edit


def _delete(ex_id: str):
    def edit(notebook):
        notebook.cells.remove(_exercise_cell(notebook, ex_id))
    return edit


def _duplicate_wrong_first(notebook):
    cell = _exercise_cell(notebook, "ex_1_2")
    wrong = nbformat.v4.new_code_cell("# EXERCISE ex_1_2\ndef simple_rnn_param_count(f, u):\n"
                                      "    return 0\n")
    notebook.cells.insert(notebook.cells.index(cell), wrong)  # the correct copy comes later


def _strip_like_colab(notebook):
    notebook.metadata = {}
    for cell in notebook.cells:
        cell.metadata = {}
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.nbformat_minor = 4


HIDDEN_FILE = Path("grading/tests/hidden.py").resolve()
SUBMISSIONS = {
    "correct": None,
    "wrong": _chain(
        _replace("ex_1_2", "def simple_rnn_param_count(features, units):\n"
                           "    return features * units + units * units\n"),
        _replace("ex_1_3", "def softmax_with_temperature(logits, temperature):\n"
                           "    e = np.exp(np.asarray(logits) / temperature)\n"
                           "    return e / e.sum(axis=-1, keepdims=True)\n")),
    "raises": _replace("ex_1_1", "raise ValueError('I gave up')\n"),
    "infinite_loop": _replace("ex_1_1", "def rnn_step(*args):\n    while True:\n        pass\n"),
    "stubborn_loop": _replace("ex_1_3", "while True:\n    try:\n        while True:\n"
                                        "            pass\n    except BaseException:\n"
                                        "        pass\n"),
    "exits": _chain(_replace("ex_1_2", "import sys\nsys.exit(3)\n"),
                    _replace("ex_1_3", "import os\nos._exit(0)\n")),
    "deleted": _delete("ex_1_2"),
    "duplicated": _duplicate_wrong_first,
    "colab_stripped": _strip_like_colab,
    "huge_print": _replace("ex_1_2", "print('x' * 50_000_000)\n"
                                     "def simple_rnn_param_count(features, units):\n"
                                     "    return units * (features + units + 1)\n"),
    "memory_hog": _replace("ex_1_1", "hog = bytearray(16 * 2**30)\n"),
    "calls_reference": _replace("ex_1_1", "def rnn_step(x_t, h_prev, kernel, recurrent, bias):\n"
                                          "    return scratch.rnn_step(x_t, h_prev, kernel, "
                                          "recurrent, bias)\n"),
    "hides_reference": _replace("ex_1_1", "import importlib\n"
                                          "_lib = importlib.import_module("
                                          "'course_lib.' + 'scratch')\n"
                                          "def rnn_step(*args):\n"
                                          "    return vars(_lib)['rnn_' + 'step'](*args)\n"),
    "imports_grader": _replace("ex_1_2", "from grading.tests import hidden\n"
                                         "def simple_rnn_param_count(features, units):\n"
                                         "    return units * (features + units + 1)\n"),
    "monkeypatch": _replace("ex_1_2", "import course_lib.checks, grading.grade\n"
                                      "course_lib.checks.compare = lambda *a, **k: None\n"
                                      "grading.grade.compare = lambda *a, **k: None\n"
                                      "def simple_rnn_param_count(features, units):\n"
                                      "    return -1\n"),
}


def _tamper(csv_path: Path):
    """Overwrite the hidden tests and the CSV of an earlier run, then answer correctly."""
    return _replace("ex_1_2", f"open({str(HIDDEN_FILE)!r}, 'w').write('HIDDEN = {{}}')\n"
                              f"open({str(csv_path)!r}, 'w').write('hacked')\n"
                              "def simple_rnn_param_count(features, units):\n"
                              "    return units * (features + units + 1)\n")


CORRECT_RNN_STEP = ("def rnn_step(x_t, h_prev, kernel, recurrent_kernel, bias):\n"
                    "    return np.tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)\n")


def _detached(pid_file: Path):
    """Start a process in a new session that would sleep for five minutes, then answer."""
    child = (f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
             "time.sleep(300)")
    return _replace("ex_1_1", "import subprocess, sys\n"
                              f"subprocess.Popen([sys.executable, '-c', {child!r}], "
                              "start_new_session=True)\n" + CORRECT_RNN_STEP)


def _daemon(pid_file: Path):
    """Double-fork and setsid, the classic daemon, then answer."""
    return _replace("ex_1_1", "import os, time\n"
                              "if os.fork() == 0:\n"
                              "    os.setsid()\n"
                              "    if os.fork() == 0:\n"
                              f"        open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                              "        time.sleep(300)\n"
                              "    os._exit(0)\n" + CORRECT_RNN_STEP)


LIBRARY_FILE = Path("course_lib/scratch.py").resolve()


def _rewrite_library():
    """Make the installed library's reference answer whatever the submission returns."""
    return _replace("ex_1_1", f"open({str(LIBRARY_FILE)!r}, 'a').write('\\n# rewritten\\n')\n"
                              + CORRECT_RNN_STEP)


EXPECTED = {  # student -> {exercise: (points, status, words in the reason)}
    "detached": {"ex_1_1": (0, "left_running", "left processes running"),
                 "ex_1_2": (0, "left_running", "killed")},
    "daemon": {"ex_1_1": (0, "left_running", "left processes running"),
               "ex_1_2": (0, "left_running", "")},
    "rewrites_library": {"ex_1_1": (0, "tampered", "course_lib"), "ex_1_2": (0, "tampered", "")},
    "imports_grader_at_run_time": {"ex_1_2": (0, "error", "No module named 'grading'")},
    "correct": {"ex_1_1": (3, "ok", ""), "ex_1_2": (3, "ok", ""), "ex_1_3": (3, "ok", "")},
    "wrong": {"ex_1_1": (3, "ok", ""), "ex_1_2": (0, "wrong", "expected"),
              "ex_1_3": (2, "partial", "stability")},
    "raises": {"ex_1_1": (0, "error", "ValueError: I gave up"), "ex_1_2": (3, "ok", "")},
    "infinite_loop": {"ex_1_1": (0, "wrong", "time limit"), "ex_1_2": (3, "ok", "")},
    "stubborn_loop": {"ex_1_1": (3, "ok", ""), "ex_1_2": (3, "ok", ""),
                      "ex_1_3": (0, "timeout", "time limit")},
    "exits": {"ex_1_1": (3, "ok", ""), "ex_1_2": (0, "error", "SystemExit"),
              "ex_1_3": (0, "crashed", "ended early")},
    "deleted": {"ex_1_2": (0, "missing", "# EXERCISE ex_1_2"), "ex_1_3": (3, "ok", "")},
    "duplicated": {"ex_1_2": (3, "ok", "")},
    "colab_stripped": {"ex_1_1": (3, "ok", ""), "ex_1_2": (3, "ok", ""), "ex_1_3": (3, "ok", "")},
    "huge_print": {"ex_1_2": (3, "ok", "")},
    "memory_hog": {"ex_1_1": (0, "error", "MemoryError"), "ex_1_2": (3, "ok", "")},
    "tamper": {"ex_1_1": (0, "tampered", "restored"), "ex_1_2": (0, "tampered", "restored")},
    "monkeypatch": {"ex_1_2": (0, "uses_reference", "the grader")},
    "calls_reference": {"ex_1_1": (0, "uses_reference", "course_lib.scratch.rnn_step"),
                        "ex_1_2": (3, "ok", "")},
    "hides_reference": {"ex_1_1": (0, "uses_reference", "course_lib.scratch.rnn_step")},
    "imports_grader": {"ex_1_2": (0, "uses_reference", "the grader (grading)")},
    "not_json": {"ex_1_1": (0, "invalid", "Download")},
}


# These change the grader's or the library's files. grade_one puts such files back and blames
# the submission that just finished, so they are graded one at a time, apart from the others
# (which run two at a time, as `make grade JOBS=2` does). Each group writes its own CSV.
TAMPERING = ("tamper", "rewrites_library")
CSV_NAMES = ("grades.csv", "tampering.csv")  # the others', the tampering ones'


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root, out = tmp_path_factory.mktemp("submissions"), tmp_path_factory.mktemp("out")
    alone = tmp_path_factory.mktemp("tampering")
    for csv_name in CSV_NAMES:
        (out / csv_name).write_text("an earlier run's grades\n")
    pids = {name: out / f"{name}.pid" for name in ("detached", "daemon")}
    hostile = {"tamper": _tamper(out / "tampering.csv"), "detached": _detached(pids["detached"]),
               "daemon": _daemon(pids["daemon"]), "rewrites_library": _rewrite_library(),
               "imports_grader_at_run_time": _replace(
                   "ex_1_2", "hidden = __import__('grad' + 'ing')\n")}
    for student, edit in {**SUBMISSIONS, **hostile}.items():
        _variant(alone if student in TAMPERING else root, student, edit)
    _variant(root, "not_json", raw='{"cells": [')
    hidden_before, library_before = HIDDEN_FILE.read_bytes(), LIBRARY_FILE.read_bytes()
    limits = {"time_limit": 40, "case_seconds": 5}  # generous: CI imports are slow when cold
    rows = grade.grade_folder(alone, out / "tampering.csv", out / "feedback", **limits)
    assert HIDDEN_FILE.read_bytes() == hidden_before  # the tampering was undone
    assert LIBRARY_FILE.read_bytes() == library_before
    rows += grade.grade_folder(root, out / "grades.csv", out / "feedback", jobs=2, **limits)
    return rows, out, pids


def test_no_process_a_submission_started_outlives_its_grading(graded):
    import os

    for name, pid_file in graded[2].items():
        assert pid_file.exists(), f"{name}: the submission's process never started"
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(
            f"/proc/{pid}").exists() else "gone"
        assert state == "Z", f"{name}: process {pid} is still running after grading"


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_robustness_submission_gets_its_documented_score(graded, student):
    rows = {row.exercise: row for row in graded[0] if row.student == student}
    assert sorted(rows) == ["ex_1_1", "ex_1_2", "ex_1_3"]
    for ex_id, (points, status, words) in EXPECTED[student].items():
        row = rows[ex_id]
        assert (row.points, row.status) == (points, status), row
        assert words in row.reason, row
        assert row.max_points == 3


def test_csv_has_one_row_per_student_and_exercise_and_feedback_per_student(graded):
    _, out, _ = graded
    tables = {}
    for csv_name in CSV_NAMES:  # the tamperer's "hacked" is overwritten
        with open(out / csv_name, newline="") as handle:
            tables[csv_name] = list(csv.DictReader(handle))
        assert list(tables[csv_name][0]) == list(grade.FIELDS)
    assert {r["student"] for r in tables["tampering.csv"]} == set(TAMPERING)
    table = tables["grades.csv"] + tables["tampering.csv"]
    assert len(table) == 3 * len(EXPECTED)
    assert len({(r["student"], r["exercise"]) for r in table}) == len(table)
    assert (out / "feedback" / "wrong.md").read_text().startswith("# Feedback for wrong: 5/9")
    assert (out / "feedback" / "tamper.md").is_file()


def test_every_source_notebook_graded_as_a_submission_gets_full_points(tmp_path):
    for path in NOTEBOOKS:
        shutil.copy(path, tmp_path / f"teacher__{path.name}")
    rows = grade.grade_folder(tmp_path, tmp_path / "grades.csv", time_limit=60)
    assert len(rows) == len(checks.EXERCISES)
    assert all(row.status == "ok" and row.points == row.max_points for row in rows), [
        row for row in rows if row.status != "ok"]


def test_unknown_notebook_and_student_names():
    assert grade.student_of(Path("r/alice/03_lstm.ipynb"), Path("r")) == "alice"
    assert grade.student_of(Path("r/bob__03_lstm.ipynb"), Path("r")) == "bob"
    assert markup.notebook_number(Path("Copy of 03_lstm.ipynb")) == 3
    assert markup.notebook_number(Path("homework.ipynb")) is None


@pytest.mark.parametrize("name,student,number", [
    ("smithjane_12345_67890_03_lstm.ipynb", "smithjane", 3),             # Canvas
    ("smithjane_LATE_12345_67890_03_lstm-1.ipynb", "smithjane", 3),      # Canvas, late, resent
    ("Jane Smith_4321_assignsubmission_file_10_scaling.ipynb", "Jane Smith", 10),  # Moodle
    ("Jane Smith_4321_assignsubmission_file_/01_vanilla_rnn.ipynb", "Jane Smith", 1),
    ("alice__12_future_topic.ipynb", "alice", 12),
    ("bob/Copy of 05_bidirectional_deep (2).ipynb", "bob", 5),
])
def test_lms_bulk_download_names_give_one_student_and_the_notebook(name, student, number):
    root = Path("r")
    assert grade.student_of(root / name, root) == student
    assert markup.notebook_number(root / name) == number


def test_static_reference_detection_reads_names_imports_and_getattr():
    refs = ("course_lib.scratch.lstm_step", "tensorflow.clip_by_global_norm")
    used = markup.references_used
    assert used(["return scratch.lstm_step(x)"], refs) == ["course_lib.scratch.lstm_step"]
    assert used(["from course_lib.scratch import lstm_step"], refs) == [refs[0]]
    assert used(["getattr(scratch, 'lstm_step')"], refs) == [refs[0]]
    assert used(["import tensorflow as tf\ntf.clip_by_global_norm(g, 1)"], refs) == [refs[1]]
    assert used(["import grading.grade"], refs) == ["the grader (grading)"]
    assert used(["def lstm_step(x):\n    return np.tanh(x)"], refs) == []


def test_parallel_grading_exports_a_gradebook_and_gradescope_results(tmp_path):
    submissions = tmp_path / "canvas"
    submissions.mkdir()
    shutil.copy(SOURCE_01, submissions / "smithjane_12345_67890_01_vanilla_rnn.ipynb")
    wrong = _read(SOURCE_01)
    SUBMISSIONS["wrong"](wrong)
    nbformat.write(wrong, submissions / "doejohn_LATE_222_333_01_vanilla_rnn.ipynb")
    rows = grade.grade_folder(submissions, tmp_path / "grades.csv", jobs=2,
                              gradebook=tmp_path / "gradebook.csv",
                              gradescope_dir=tmp_path / "gradescope", time_limit=60)
    assert {row.student for row in rows} == {"smithjane", "doejohn"}
    with open(tmp_path / "gradebook.csv", newline="") as handle:
        book = list(csv.reader(handle))
    assert book[0] == ["student", "01_vanilla_rnn ex_1_1", "01_vanilla_rnn ex_1_2",
                       "01_vanilla_rnn ex_1_3", "01_vanilla_rnn", "total"]
    assert book[1] == ["doejohn", "3", "0", "2", "5", "5"]
    assert book[2] == ["smithjane", "3", "3", "3", "9", "9"]
    assert book[3][0] == "(maximum)" and book[3][-1] == "9"
    import json

    result = json.loads((tmp_path / "gradescope" / "doejohn" / "01_vanilla_rnn" /
                         "results.json").read_text())
    assert result["score"] == 5 and len(result["tests"]) == 3
    assert {"name", "score", "max_score", "output"} <= set(result["tests"][1])
    assert result["tests"][1]["score"] == 0 and "wrong" in result["tests"][1]["output"]


def _sandbox_works(sandbox: str) -> bool:
    import subprocess
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as work:
            return subprocess.run(grade.sandbox_prefix(sandbox, work) + ["true"],
                                  capture_output=True).returncode == 0
    except (RuntimeError, OSError):
        return False


def test_unknown_sandbox_is_refused_before_grading(tmp_path):
    with pytest.raises(ValueError, match="unknown sandbox 'docker'; choose one of none"):
        grade.grade_folder(tmp_path, tmp_path / "grades.csv", sandbox="docker")


def _marker_written(tmp_path, name: str, prelude: str, marker, sandboxes) -> dict[str, bool]:
    """Grade a correct ex_1_1 that first runs ``prelude`` under each sandbox: {sandbox: whether
    ``marker`` was written}. The exercise must still score ``ok`` in every mode."""
    written = {}
    for sandbox in sandboxes:
        root = tmp_path / sandbox
        _variant(root, name, _replace("ex_1_1", prelude + CORRECT_RNN_STEP))
        rows = grade.grade_folder(root, tmp_path / f"{sandbox}.csv", time_limit=60,
                                  sandbox=sandbox)
        assert {r.exercise: r.status for r in rows}["ex_1_1"] == "ok", rows
        written[sandbox] = marker.exists()
        marker.unlink(missing_ok=True)
    return written


@pytest.mark.skipif(not _sandbox_works("read-only"),
                    reason="no user/mount namespaces on this machine")
def test_read_only_sandbox_keeps_only_the_work_folder_writable(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    write = ("open('inside.txt', 'w').write('ok')\n"
             "assert open('inside.txt').read() == 'ok'\n"
             f"try:\n    open({str(outside / 'escaped')!r}, 'w').write('yes')\n"
             f"except OSError:\n    pass\n")
    assert _marker_written(tmp_path, "fs", write, outside / "escaped",
                           ("none", "read-only")) == {"none": True, "read-only": False}


@pytest.mark.skipif(not _sandbox_works("no-network"),
                    reason="no user/network namespaces on this machine")
def test_no_network_sandbox_cuts_even_loopback(tmp_path):
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    marker = tmp_path / "connected"
    reach = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), 2)\n"
             f"    open({str(marker)!r}, 'w').write('yes')\nexcept OSError:\n    pass\n")
    assert _marker_written(tmp_path, "net", reach, marker,
                           ("none", "no-network")) == {"none": True, "no-network": False}
    server.close()
