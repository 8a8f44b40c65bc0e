"""Build the student release: solutions replaced by stubs, outputs cleared, nothing hidden."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grading.markup import exercise_id, stub


def release_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a source notebook for students: every exercise cell's solution region becomes a
    ``NotImplementedError`` stub; all outputs and execution counts are cleared. Self-check cells
    stay as they are."""
    released = nbformat.from_dict(notebook)
    for cell in released.cells:
        if cell.cell_type != "code":
            continue
        if exercise_id(cell.source) is not None:
            cell.source = stub(cell.source)
        cell.outputs, cell.execution_count = [], None
    return released


def release(notebooks_dir: Path, out_dir: Path) -> list[Path]:
    """Write the release of every ``notebooks_dir/*.ipynb`` to ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        target = out_dir / path.name
        nbformat.write(release_notebook(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written
