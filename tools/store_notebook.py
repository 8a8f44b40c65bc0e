"""Execute notebooks top to bottom in the current environment and store them with their outputs
and clean metadata (what the repository keeps). Used by `make notebooks`.

    python tools/store_notebook.py notebooks/01_vanilla_rnn.ipynb [...]
    python tools/store_notebook.py --profile full --no-store \\
        --results notebooks/results/full-cpu.json notebooks/*.ipynb

Runs with COURSE_PROFILE=fast unless ``--profile`` says otherwise, and prints each notebook's
wall time. Only fast-profile runs are stored (``--no-store`` for any other); ``--results FILE``
records each notebook's wall time and its ``result name=value`` lines in a JSON file that
``tools/results.py`` turns into the README's results table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course_lib.runtime import PROFILE_ENV, PROFILES, parse_result  # noqa: E402

KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def clean(notebook: nbformat.NotebookNode) -> None:
    """Drop volatile metadata (timings, widget state, collapsed flags) in place."""
    notebook.metadata = {key: notebook.metadata[key] for key in KEPT_NOTEBOOK_METADATA
                         if key in notebook.metadata}
    notebook.metadata["kernelspec"] = KERNELSPEC
    notebook.metadata["language_info"] = {"name": "python"}
    for cell in notebook.cells:
        cell.metadata = {key: value for key, value in cell.metadata.items() if key == "tags"}
        cell.pop("id", None)
    notebook.nbformat_minor = 4


def result_lines(notebook: nbformat.NotebookNode) -> dict[str, dict[str, str]]:
    """``{name: {"value": ..., "profile": ...}}`` from the notebook's printed result lines."""
    results = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for line in output["text"].splitlines():
                    if parsed := parse_result(line):
                        name, value, profile = parsed
                        results[name] = {"value": value, "profile": profile}
    return results


def execute(path: Path, stop_on_error: bool = True
            ) -> tuple[nbformat.NotebookNode, float, str | None]:
    """Run ``path`` in a fresh kernel; return the executed notebook, the wall time, and the
    error that stopped it (None when every cell ran; raised when ``stop_on_error``)."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # a run that stops early must not keep the stored run's outputs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    started = time.perf_counter()
    error = None
    try:
        NotebookClient(notebook, timeout=3600, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellExecutionError as failure:
        if stop_on_error:
            raise
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(failure))  # no terminal colours
        lines = [line for line in plain.splitlines() if "Error" in line]
        error = lines[-1].strip() if lines else "a cell failed"
    return notebook, time.perf_counter() - started, error


def record(results_file: Path, path: Path, notebook: nbformat.NotebookNode,
           seconds: float, error: str | None = None) -> None:
    """Merge one notebook's wall time and result lines into ``results_file``."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    recorded = json.loads(results_file.read_text()) if results_file.exists() else {}
    recorded[path.name] = {
        "seconds": round(seconds),
        "environment": (f"python {platform.python_version()}, tensorflow {tf.__version__}, "
                        f"keras {keras.__version__}, "
                        + (f"{len(gpus)} GPU" if gpus else f"{os.cpu_count()} CPU cores")),
        "results": result_lines(notebook),
    } | ({"error": error} if error else {})
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(dict(sorted(recorded.items())), indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--profile", choices=PROFILES, default="fast")
    parser.add_argument("--no-store", action="store_true", help="leave the notebooks as they are")
    parser.add_argument("--results", type=Path, help="JSON file to record result lines in")
    args = parser.parse_args(argv)
    if args.profile != "fast" and not args.no_store:
        parser.error("only fast-profile runs are stored in notebooks/; add --no-store")
    os.environ[PROFILE_ENV] = args.profile
    os.environ.setdefault("COURSE_CHECKS_STRICT", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    failed = []
    for path in args.notebooks:
        # a run that is only recorded goes on to the next notebook after a failing cell
        notebook, seconds, error = execute(path, stop_on_error=not args.results)
        if not args.no_store and error is None:
            clean(notebook)
            nbformat.write(notebook, path)
        if args.results:
            record(args.results, path, notebook, seconds, error)
        print(f"{path}: {seconds:.0f} s ({args.profile})" + (f" FAILED: {error}" if error else ""),
              flush=True)
        failed += [path.name] if error else []
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
