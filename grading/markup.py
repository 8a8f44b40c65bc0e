"""The exercise markup of the course notebooks, read from cell *sources* (Colab drops metadata).

An exercise cell is a code cell containing the line ``# EXERCISE ex_<notebook>_<number>``; its
solution lies between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines; the function the
exercise asks for is the first ``def`` in the cell, and the next cell calls its self-check,
``checks.ex_<notebook>_<number>(function)``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

EXERCISE_LINE = re.compile(r"^# EXERCISE (ex_\d+_\d+)\s*$", re.M)
SOLUTION = re.compile(r"^([ \t]*)# BEGIN SOLUTION\s*\n.*?^[ \t]*# END SOLUTION[ \t]*$", re.M | re.S)
BOOTSTRAP_MODULES = {"importlib", "importlib.util", "os", "subprocess", "sys"}


@dataclass(frozen=True)
class Exercise:
    """One exercise of a source notebook."""

    id: str
    function: str  # the name the exercise cell defines
    source: str  # the full exercise cell, solution included


def exercise_id(cell_source: str) -> str | None:
    """The ``ex_N_M`` id marked in a cell's source, or None."""
    match = EXERCISE_LINE.search(cell_source)
    return match.group(1) if match else None


def stub(cell_source: str) -> str:
    """The cell with each solution region replaced by ``raise NotImplementedError("ex_N_M: …")``
    at the region's indentation."""
    ex_id = exercise_id(cell_source)
    message = f"{ex_id}: replace this line with your solution"
    return SOLUTION.sub(lambda m: f'{m.group(1)}raise NotImplementedError("{message}")',
                        cell_source)


def exercises(notebook: nbformat.NotebookNode) -> dict[str, Exercise]:
    """The exercises of a source notebook by id, in notebook order."""
    found = {}
    for cell in notebook.cells:
        ex_id = exercise_id(cell.source) if cell.cell_type == "code" else None
        if ex_id is None:
            continue
        functions = [node.name for node in ast.parse(cell.source).body
                     if isinstance(node, ast.FunctionDef)]
        if not functions or not SOLUTION.search(cell.source):
            raise ValueError(f"exercise cell {ex_id} needs a def and a # BEGIN/END SOLUTION "
                             f"region")
        found[ex_id] = Exercise(ex_id, functions[0], cell.source)
    return found


def preamble(notebook: nbformat.NotebookNode) -> str:
    """The import statements of the notebook's setup cell (the first cell importing
    ``course_lib``), without the Colab bootstrap: what exercise cells may rely on."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and "course_lib" in cell.source:
            statements = []
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Import) and all(
                        alias.name not in BOOTSTRAP_MODULES for alias in node.names):
                    statements.append(ast.unparse(node))
                elif isinstance(node, ast.ImportFrom) and node.module not in BOOTSTRAP_MODULES:
                    statements.append(ast.unparse(node))
            return "\n".join(statements)
    raise ValueError("no setup cell importing course_lib found")


def notebook_number(path: Path) -> int | None:
    """The course notebook a file name points to (``03_lstm.ipynb``, ``alice_03_lstm``…)."""
    match = re.search(r"(?:^|[^0-9])0?([1-9])_", path.name)
    return int(match.group(1)) if match else None
