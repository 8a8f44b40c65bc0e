"""Execute notebooks top to bottom in the current environment and store them with their outputs
and clean metadata (what the repository keeps). Used by `make notebooks`.

    python tests/store_notebook.py notebooks/01_vanilla_rnn.ipynb [...]

Runs with COURSE_PROFILE=fast unless set, and prints each notebook's wall time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

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


def store(path: Path) -> float:
    """Execute ``path`` in place; return the wall time in seconds."""
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - started
    clean(notebook)
    nbformat.write(notebook, path)
    return elapsed


if __name__ == "__main__":
    os.environ.setdefault("COURSE_PROFILE", "fast")
    os.environ.setdefault("COURSE_CHECKS_STRICT", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in sys.argv[1:]:
        print(f"{name}: {store(Path(name)):.0f} s", flush=True)
