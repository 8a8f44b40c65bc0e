"""The child process that runs one submission's exercise cells (``python -m grading.runner
JOB_DIR``). It never sees an expected answer: it reads the cases' *inputs* from
``JOB_DIR/job.pkl`` (written by the grader), calls the submitted functions, and appends one JSON
line per event to ``JOB_DIR/results.jsonl``. The grader compares the answers in its own process.
"""

from __future__ import annotations

import json
import math
import pickle
import signal
import sys
from pathlib import Path

import numpy as np


class CaseTimeout(Exception):
    """A single call ran past its time limit."""


def encode(value, depth: int = 0):
    """A JSON-safe form of an answer: arrays and tensors as nested lists, sequences as lists."""
    if depth > 5:
        raise TypeError("answer nested too deeply")
    if isinstance(value, (bool, np.bool_)):
        return {"bool": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"int": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"float": _float(value)}
    if isinstance(value, (list, tuple)):
        return {"seq": [encode(v, depth + 1) for v in value]}
    array = np.asarray(value)  # NumPy arrays, TensorFlow/Keras tensors
    if array.dtype == object or array.size > 1_000_000:
        raise TypeError(f"cannot grade an answer of type {type(value).__name__}")
    if array.dtype == bool:
        return {"array": array.astype(int).tolist(), "dtype": "bool"}
    return {"array": [_float(v) for v in array.astype(np.float64).ravel()],
            "shape": list(array.shape), "dtype": "float"}


def _float(value) -> float | str:
    value = float(value)
    return value if math.isfinite(value) else repr(value)  # 'nan', 'inf', '-inf'


def decode(answer):
    """Inverse of :func:`encode` (run by the grader on the answers it reads back)."""
    if not isinstance(answer, dict):
        raise ValueError("malformed answer")
    if "seq" in answer:
        return tuple(decode(item) for item in answer["seq"])
    if "array" in answer:
        if answer.get("dtype") == "bool":
            return np.asarray(answer["array"], dtype=bool)
        return np.asarray([float(v) for v in answer["array"]]).reshape(answer["shape"])
    for kind, cast in (("bool", bool), ("int", int), ("float", float)):
        if kind in answer:
            return cast(answer[kind])
    raise ValueError("malformed answer")


def _on_alarm(signum, frame):
    raise CaseTimeout


class ReferenceUsed(Exception):
    """The submitted function called a library function that is the exercise's reference."""


def _tripwire(dotted: str):
    def called(*args, **kwargs):
        raise ReferenceUsed(dotted)
    return called


def guard_references(references: list[str]) -> list[tuple]:
    """Replace each ``module.name`` reference by a function that raises :class:`ReferenceUsed`
    — in its module and in every loaded course or TensorFlow module that holds it by name.
    Returns what :func:`restore` needs to undo it."""
    import importlib

    replaced = []
    for dotted in references:
        module_name, _, name = dotted.rpartition(".")
        try:
            original = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            continue
        wire = _tripwire(dotted)
        for loaded in list(sys.modules.values()):
            if getattr(loaded, "__name__", "").startswith(("course_lib", "tensorflow",
                                                             module_name)) and \
                    getattr(loaded, name, None) is original:
                setattr(loaded, name, wire)
                replaced.append((loaded, name, original))
    return replaced


def restore(replaced: list[tuple]) -> None:
    for module, name, original in replaced:
        setattr(module, name, original)


def run_cells(exercise: dict, base: dict, seconds: int) -> tuple[object | None, str | None]:
    """Run an exercise's cells in a copy of ``base``; return the function the exercise asks
    for, or None and why not."""
    namespace = dict(base)
    try:
        signal.alarm(seconds)
        for number, source in enumerate(exercise["sources"], start=1):
            exec(compile(source, f"<{exercise['id']} cell {number}>", "exec"), namespace)
        signal.alarm(0)
    except CaseTimeout:
        return None, f"the exercise cell ran past the time limit ({seconds} s)"
    except BaseException as error:  # noqa: BLE001 - anything a cell raises is graded
        signal.alarm(0)
        return None, f"the exercise cell raised {type(error).__name__}: {error}"[:300]
    function = namespace.get(exercise["function"])
    if not callable(function):
        return None, f"the exercise cell does not define {exercise['function']}()"
    return function, None


def run_case(function, args: tuple, kwargs: dict, seconds: int) -> dict:
    """One call under an alarm: ``{"answer": ...}``, ``{"error": ...}`` or ``{"uses": ...}``."""
    try:
        signal.alarm(seconds)
        answer = encode(function(*args, **kwargs))
        signal.alarm(0)
        return {"answer": answer}
    except CaseTimeout:
        return {"error": f"ran past the time limit ({seconds} s)"}
    except ReferenceUsed as used:
        signal.alarm(0)
        return {"uses": str(used)}
    except BaseException as error:  # noqa: BLE001
        signal.alarm(0)
        return {"error": f"raised {type(error).__name__}: {error}"[:300]}


def main(job_dir: Path) -> None:
    job = pickle.loads((job_dir / "job.pkl").read_bytes())
    (job_dir / "job.pkl").unlink()
    results = open(job_dir / "results.jsonl", "a", buffering=1)  # noqa: SIM115 (kept open)

    def emit(**record):
        results.write(json.dumps(record) + "\n")
        results.flush()

    signal.signal(signal.SIGALRM, _on_alarm)
    base: dict = {"__name__": "__main__"}
    exec(compile(job["preamble"], "<setup imports>", "exec"), base)
    for exercise in job["exercises"]:
        emit(id=exercise["id"], event="start")
        guarded = guard_references(exercise.get("references", []))
        function, problem = run_cells(exercise, base, job["cell_seconds"])
        if function is None:
            emit(id=exercise["id"], event="error", reason=problem)
        else:
            for number, (args, kwargs) in enumerate(exercise["cases"]):
                emit(id=exercise["id"], case=number,
                     **run_case(function, args, kwargs, job["case_seconds"]))
        restore(guarded)
    emit(event="done")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
