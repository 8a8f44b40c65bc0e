"""Grade a folder of submitted notebooks into grades.csv and one feedback file per student.

Each submission runs in its own process (:mod:`grading.runner`) with a wall-clock limit, a
memory limit and a file-size limit, in an empty temporary directory. Only the notebook's setup
imports and its exercise cells run — no training — and the runner never sees an expected
answer: the answers come back as JSON and are compared here, with the self-checks' comparison.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib.checks import EXERCISES, compare
from grading.markup import (
    Exercise,
    exercise_sources,
    exercises,
    notebook_number,
    preamble,
    references_used,
    student_of,
    submitted_cells,
)
from grading.runner import decode
from grading.sandbox import sandbox_prefix
from grading.tests.hidden import HIDDEN

REPO = Path(__file__).resolve().parent.parent
GRADING_DIR = Path(__file__).resolve().parent
RUNNER, SUPERVISOR = GRADING_DIR / "runner.py", GRADING_DIR / "supervise.py"
LEFT_RUNNING = 86  # grading/supervise.py's exit status when processes were left running
LEFT_RUNNING_REASON = ("the submission left processes running after its cells and cases "
                       "finished (they were killed); no credit")


def guarded_folders() -> tuple[Path, ...]:
    """What a submission must not change: the grader, and the installed course_lib with which
    the next submissions' expected answers would be computed."""
    import course_lib

    return GRADING_DIR, Path(course_lib.__file__).resolve().parent
FIELDS = ("student", "notebook", "exercise", "points", "max_points", "status", "reason")
MAX_RESULTS_BYTES = 5_000_000


@dataclass
class Row:
    student: str
    notebook: str
    exercise: str
    points: int
    max_points: int
    # ok | partial | wrong | error | missing | uses_reference | timeout | crashed | invalid |
    # tampered | left_running
    status: str
    reason: str


@dataclass(frozen=True)
class Assignment:
    """What grading one course notebook needs: its name, setup imports, exercises, cases."""

    name: str
    preamble: str
    exercises: dict[str, Exercise]
    cases: dict[str, list]  # id -> [checks.Case]


def hidden_cases(ex_id: str) -> list:
    """The hidden cases of ``ex_id``: its public case generator with the grader's seed and
    sizes (``grading/tests/hidden.py``)."""
    return EXERCISES[ex_id].cases(**HIDDEN[ex_id])


def load_assignments(notebooks_dir: Path) -> dict[int, Assignment]:
    """Every source notebook's exercises and hidden cases, keyed by notebook number."""
    assignments = {}
    for path in sorted(notebooks_dir.glob("[0-9]*_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        found = exercises(notebook)
        assignments[notebook_number(path)] = Assignment(
            path.stem, preamble(notebook), found, {ex_id: hidden_cases(ex_id) for ex_id in found})
    return assignments


def _limits(memory_mb: int, seconds: int):
    def apply():
        os.setsid()
        memory = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds + 5, seconds + 10))
        resource.setrlimit(resource.RLIMIT_FSIZE, (50 * 2**20, 50 * 2**20))
    return apply


def run_submission(assignment: Assignment, sources: dict[str, list[str]], time_limit: int,
                   memory_mb: int, case_seconds: int, sandbox: str = "none"
                   ) -> tuple[list[dict], str | None]:
    """Run the submitted exercise cells in a fresh, limited process; returns its records and
    why it stopped early (None if it finished)."""
    job = {"preamble": assignment.preamble, "case_seconds": case_seconds,
           "cell_seconds": 3 * case_seconds,  # a cell may import things; a call should not
           "exercises": [
        {"id": ex_id, "function": exercise.function, "sources": sources[ex_id],
         "references": list(EXERCISES[ex_id].references),
         "cases": [(case.args, case.kwargs) for case in assignment.cases[ex_id]]}
        for ex_id, exercise in assignment.exercises.items() if ex_id in sources]}
    with tempfile.TemporaryDirectory(prefix="grade_") as work:
        job_dir = Path(work)
        (job_dir / "job.pkl").write_bytes(pickle.dumps(job))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "TMPDIR": work,
               "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg",
               "OMP_NUM_THREADS": "1"}
        # -I: no PYTHONPATH, no script folder on sys.path, so the runner cannot import grading;
        # course_lib comes from the installed package. The supervisor kills whatever the runner
        # leaves behind (see grading/supervise.py).
        command = [sys.executable, "-I", str(SUPERVISOR), str(time_limit), str(memory_mb), "--",
                   *sandbox_prefix(sandbox, work), sys.executable, "-I", str(RUNNER), work]
        process = subprocess.Popen(command, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   preexec_fn=_limits(memory_mb, time_limit))
        stopped = None
        try:
            process.wait(timeout=time_limit + 30)  # the supervisor stops at time_limit itself
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.returncode in (124, -signal.SIGKILL):
            stopped = f"the submission ran past the time limit ({time_limit} s)"
        elif process.returncode == LEFT_RUNNING:
            stopped = LEFT_RUNNING_REASON
        records = _read_records(job_dir / "results.jsonl")
        if stopped is None and not any(r.get("event") == "done" for r in records):
            stopped = (f"the grading process ended early (exit code {process.returncode}): "
                       f"sys.exit/os._exit, a crash, or the memory limit ({memory_mb} MB)")
        return records, stopped


def _read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read(MAX_RESULTS_BYTES)
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def score(assignment: Assignment, student: str, sources: dict[str, list[str]],
          records: list[dict], stopped: str | None) -> list[Row]:
    """One row per exercise of the assignment."""
    rows = []
    for ex_id in assignment.exercises:
        cases = assignment.cases[ex_id]
        row = Row(student, assignment.name, ex_id, 0, len(cases), "", "")
        mine = [r for r in records if r.get("id") == ex_id]
        error = next((r.get("reason", "") for r in mine if r.get("event") == "error"), None)
        used = (references_used(sources.get(ex_id, []), EXERCISES[ex_id].references)
                or sorted({r["uses"] for r in mine if r.get("uses")}))
        if ex_id not in sources:
            row.status, row.reason = "missing", (
                f"no cell marked '# EXERCISE {ex_id}' (keep that line in the exercise cell)")
        elif used:
            row.status, row.reason = "uses_reference", (
                f"the solution calls {', '.join(used)}, the library's own answer to this "
                f"exercise; write it yourself (the self-check may use it, the answer may not)")
        elif error is not None:
            row.status, row.reason = "error", str(error)
        else:
            row.points, row.reason = _points(ex_id, cases, mine)
            answered = sum("case" in r for r in mine)
            if answered < len(cases) and stopped:
                row.status, row.reason = ("timeout" if "time limit" in stopped else "crashed",
                                          f"{stopped} (while running {ex_id})")
            else:
                row.status = ("ok" if row.points == len(cases) else
                              "partial" if row.points else "wrong")
        rows.append(row)
    return rows


def _points(ex_id: str, cases: list, records: list[dict]) -> tuple[int, str]:
    answers = {r["case"]: r for r in records if isinstance(r.get("case"), int)}
    points, first_hint = 0, ""
    for number, case in enumerate(cases):
        record = answers.get(number)
        if record is None:
            hint = "no answer"
        elif "error" in record:
            hint = str(record["error"])
        else:
            try:
                hint = compare(decode(record.get("answer")), case.expected,
                               atol=EXERCISES[ex_id].atol)
            except (ValueError, TypeError) as error:
                hint = f"unreadable answer ({error})"
        if hint is None:
            points += 1
        elif not first_hint:
            first_hint = f"hidden case {number + 1}/{len(cases)} ({case.label}): {hint}"
    return points, first_hint[:300]


def _fingerprint(folders: tuple[Path, ...] | None = None) -> dict[Path, bytes]:
    """The content of every file in the guarded folders (caches excluded)."""
    return {p: p.read_bytes() for folder in (folders or guarded_folders())
            for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def _restore(saved: dict[Path, bytes]) -> bool:
    """Put the guarded files back as ``saved``; True if anything had changed."""
    now = _fingerprint()
    if now == saved:
        return False
    for path in set(now) - set(saved):
        path.unlink()
    for path, content in saved.items():
        if now.get(path) != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    return True


def grade_folder(submissions: Path, out_csv: Path, feedback_dir: Path | None = None,
                 notebooks_dir: Path = REPO / "notebooks", time_limit: int = 60,
                 memory_mb: int = 4096, case_seconds: int = 10, jobs: int = 1,
                 gradebook: Path | None = None, gradescope_dir: Path | None = None,
                 sandbox: str = "none") -> list[Row]:
    """Grade every ``*.ipynb`` under ``submissions``; write ``out_csv`` (one row per student
    and exercise, atomically, at the end) and, when asked, one Markdown feedback file per
    student, a wide ``gradebook`` CSV and a Gradescope-style ``results.json`` per submission.

    ``jobs`` submissions are graded at a time, each in its own limited process; a line per
    submission reports progress. Expected answers are computed before any submission runs.
    """
    from concurrent.futures import ThreadPoolExecutor

    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    sandbox_prefix(sandbox)  # fail before grading anything when the sandbox is unavailable
    assignments = load_assignments(notebooks_dir)
    hidden_files = _fingerprint()
    paths = [path for path in sorted(submissions.rglob("*.ipynb"))
             if ".ipynb_checkpoints" not in path.parts]

    def one(numbered: tuple[int, Path]) -> list[Row]:
        number, path = numbered
        started = time.perf_counter()
        rows = grade_one(path, submissions, assignments, time_limit, memory_mb, case_seconds,
                         hidden_files, sandbox)
        points = sum(r.points for r in rows), sum(r.max_points for r in rows)
        print(f"[{number}/{len(paths)}] {path.relative_to(submissions)}: {points[0]}/"
              f"{points[1]} in {time.perf_counter() - started:.1f} s", flush=True)
        return rows

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        per_file = list(pool.map(one, enumerate(paths, start=1)))
    rows = [row for rows in per_file for row in rows]
    write_csv(rows, out_csv)
    if feedback_dir is not None:
        write_feedback(rows, feedback_dir)
    if gradebook is not None:
        write_gradebook(rows, gradebook)
    if gradescope_dir is not None:
        write_gradescope(per_file, gradescope_dir)
    return rows


def grade_one(path: Path, root: Path, assignments: dict[int, Assignment], time_limit: int,
              memory_mb: int, case_seconds: int, hidden_files: dict[Path, bytes],
              sandbox: str = "none") -> list[Row]:
    """Rows for one submission file."""
    student = student_of(path, root)
    notebook, problem = submitted_cells(path)
    number = notebook_number(path)
    sources = exercise_sources(notebook) if notebook is not None else {}
    if number is None and sources:
        number = int(next(iter(sources)).split("_")[1])
    if number not in assignments:
        return [Row(student, path.name, "-", 0, 0, "invalid",
                    problem or "cannot tell which course notebook this is: keep its file name "
                               "(e.g. 03_lstm.ipynb) or its '# EXERCISE' lines")]
    assignment = assignments[number]
    if notebook is None:
        return [Row(student, assignment.name, ex_id, 0, len(assignment.cases[ex_id]),
                    "invalid", problem) for ex_id in assignment.exercises]
    records, stopped = run_submission(assignment, sources, time_limit, memory_mb, case_seconds,
                                      sandbox)
    rows = score(assignment, student, sources, records,
                 None if stopped == LEFT_RUNNING_REASON else stopped)
    if stopped == LEFT_RUNNING_REASON:
        for row in rows:
            row.points, row.status, row.reason = 0, "left_running", LEFT_RUNNING_REASON
    if _restore(hidden_files):  # what it changed is put back, and it gets no credit
        for row in rows:
            row.points, row.status = 0, "tampered"
            row.reason = ("the submission changed the grader's or course_lib's files "
                          "(restored); no credit")
    return rows


def write_csv(rows: list[Row], out_csv: Path) -> None:
    """All rows at once: written to a temporary file, then renamed over ``out_csv``."""
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out_csv.parent, suffix=".csv.tmp")
    with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([getattr(row, field) for field in FIELDS])
    os.replace(temporary, out_csv)


def write_feedback(rows: list[Row], feedback_dir: Path) -> None:
    """``feedback_dir/<student>.md``: points per exercise and the first failing case."""
    feedback_dir.mkdir(parents=True, exist_ok=True)
    for student in sorted({row.student for row in rows}):
        mine = [row for row in rows if row.student == student]
        total, maximum = sum(r.points for r in mine), sum(r.max_points for r in mine)
        lines = [f"# Feedback for {student}: {total}/{maximum} points", ""]
        for row in mine:
            lines.append(f"- **{row.notebook} · {row.exercise}**: {row.points}/{row.max_points}"
                         f" ({row.status}){' — ' + row.reason if row.reason else ''}")
        digest = hashlib.sha1(student.encode()).hexdigest()[:6]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in student) or digest
        (feedback_dir / f"{safe}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, path)


def write_gradebook(rows: list[Row], path: Path) -> None:
    """A wide CSV for a gradebook: one row per student; a column per exercise
    (``03_lstm ex_3_1``), one per notebook (its total), and ``total``; the last line gives the
    maximum of each column."""
    import io

    exercises_seen = list(dict.fromkeys((r.notebook, r.exercise) for r in rows
                                        if r.exercise != "-"))
    notebooks_seen = list(dict.fromkeys(notebook for notebook, _ in exercises_seen))
    maxima = {key: max(r.max_points for r in rows if (r.notebook, r.exercise) == key)
              for key in exercises_seen}
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(["student", *(f"{n} {e}" for n, e in exercises_seen), *notebooks_seen,
                     "total"])
    for student in sorted({r.student for r in rows}):
        points = {(r.notebook, r.exercise): r.points for r in rows if r.student == student}
        per_exercise = [points.get(key, 0) for key in exercises_seen]
        per_notebook = [sum(points.get(key, 0) for key in exercises_seen if key[0] == notebook)
                        for notebook in notebooks_seen]
        writer.writerow([student, *per_exercise, *per_notebook, sum(per_exercise)])
    notebook_maxima = [sum(m for (n, _), m in maxima.items() if n == notebook)
                       for notebook in notebooks_seen]
    writer.writerow(["(maximum)", *maxima.values(), *notebook_maxima, sum(maxima.values())])
    _atomic_write(path, stream.getvalue())


def write_gradescope(per_file: list[list[Row]], folder: Path) -> None:
    """``folder/<student>/<notebook>/results.json`` per submission, in Gradescope's autograder
    format: ``{"score", "tests": [{"name", "score", "max_score", "output", "status"}]}``."""
    for rows in per_file:
        if not rows:
            continue
        tests = [{"name": f"{r.notebook} {r.exercise}", "score": r.points,
                  "max_score": r.max_points, "output": f"{r.status}: {r.reason}".strip(": "),
                  "status": "passed" if r.status == "ok" else "failed"} for r in rows]
        result = {"score": sum(r.points for r in rows), "tests": tests}
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in rows[0].student)
        _atomic_write(folder / (safe or "unknown") / rows[0].notebook / "results.json",
                      json.dumps(result, indent=1) + "\n")

