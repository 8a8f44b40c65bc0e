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


def _on_alarm(signum, frame):
    raise CaseTimeout


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
        namespace = dict(base)
        try:
            signal.alarm(job["cell_seconds"])
            for number, source in enumerate(exercise["sources"], start=1):
                exec(compile(source, f"<{exercise['id']} cell {number}>", "exec"), namespace)
            signal.alarm(0)
        except CaseTimeout:
            emit(id=exercise["id"], event="error", reason="the exercise cell ran past the time "
                 f"limit ({job['cell_seconds']} s)")
            continue
        except BaseException as error:  # noqa: BLE001 - anything a cell raises is graded
            signal.alarm(0)
            emit(id=exercise["id"], event="error",
                 reason=f"the exercise cell raised {type(error).__name__}: {error}"[:300])
            continue
        function = namespace.get(exercise["function"])
        if not callable(function):
            emit(id=exercise["id"], event="error",
                 reason=f"the exercise cell does not define {exercise['function']}()")
            continue
        for number, (args, kwargs) in enumerate(exercise["cases"]):
            try:
                signal.alarm(job["case_seconds"])
                answer = encode(function(*args, **kwargs))
                signal.alarm(0)
                emit(id=exercise["id"], case=number, answer=answer)
            except CaseTimeout:
                emit(id=exercise["id"], case=number,
                     error=f"ran past the time limit ({job['case_seconds']} s)")
            except BaseException as error:  # noqa: BLE001
                signal.alarm(0)
                emit(id=exercise["id"], case=number,
                     error=f"raised {type(error).__name__}: {error}"[:300])
    emit(event="done")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
