"""The exercise markup of the course notebooks, read from cell *sources* (Colab drops metadata),
and the reading of submissions: which student and which notebook a file is, its exercise cells,
and whether a cell reaches for the exercise's reference.

An exercise cell is a code cell containing the line ``# EXERCISE ex_<notebook>_<number>``; its
solution lies between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines; the function the
exercise asks for is the first ``def`` in the cell, and the next cell calls its self-check,
``checks.ex_<notebook>_<number>(function)``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

EXERCISE_LINE = re.compile(r"^# EXERCISE (ex_\d+_\d+)\s*$", re.M)
SOLUTION = re.compile(r"^([ \t]*)# BEGIN SOLUTION\s*\n.*?^[ \t]*# END SOLUTION[ \t]*$", re.M | re.S)
BOOTSTRAP_MODULES = {"glob", "importlib", "importlib.util", "os", "subprocess", "sys"}


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


def notebook_number(name: str | Path) -> int | None:
    """The course notebook a file name points to, numbers of any width: ``03_lstm.ipynb`` -> 3,
    ``10_scaling_and_serving.ipynb`` -> 10, ``alice_12345_67890_03_lstm (1).ipynb`` -> 3 (the
    last ``<digits>_<letter>`` in the name), or None."""
    matches = re.findall(r"(?:^|[^0-9])(\d+)_[A-Za-z]", Path(name).name)
    return int(matches[-1]) if matches else None


# LMS bulk downloads: Canvas "<login>[_LATE]_<user id>_<submission id>_<file>", Moodle
# "<Full Name>_<id>_assignsubmission_file_<file>" (sometimes one folder per student).
LMS_NAMES = (
    re.compile(r"^(?P<student>.+?)_\d+_assignsubmission_file_?(?P<file>.*)$"),
    re.compile(r"^(?P<student>[^_]+?)(?:_LATE)?_\d+_\d+_(?P<file>.+)$"),
)


def student_of(path: Path, root: Path) -> str:
    """Who submitted ``path``: ``root/alice/03_lstm.ipynb`` -> alice, ``alice__03_lstm.ipynb``
    -> alice, Canvas ``smithjane_LATE_12345_67890_03_lstm.ipynb`` -> smithjane, Moodle
    ``Jane Smith_4321_assignsubmission_file_03_lstm.ipynb`` (or a folder of that name) ->
    Jane Smith."""
    relative = path.relative_to(root)
    for part in (relative.parts[0], path.stem) if len(relative.parts) > 1 else (path.stem,):
        for pattern in LMS_NAMES:
            match = pattern.match(part)
            if match:
                return match.group("student").strip()
    if len(relative.parts) > 1:
        return relative.parts[0]
    return path.stem.split("__")[0]


def submitted_cells(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The submission read as a notebook (any nbformat 4 minor version, metadata optional), or
    None with the reason."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return nbformat.from_dict(raw), ""
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, (f"not a readable .ipynb ({type(error).__name__}: {error}); download the "
                      f"notebook again with File → Download (.ipynb) and resubmit")


def exercise_sources(notebook: nbformat.NotebookNode) -> dict[str, list[str]]:
    """Every submitted cell marked ``# EXERCISE ex_N_M``, by id, in notebook order (a duplicated
    cell runs after the earlier one, so its definition wins)."""
    sources: dict[str, list[str]] = {}
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        ex_id = exercise_id(source) if cell.get("cell_type") == "code" else None
        if ex_id is not None:
            sources.setdefault(ex_id, []).append(source)
    return sources


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` of a Name/Attribute chain, or None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def references_used(sources: list[str], references: tuple[str, ...]) -> list[str]:
    """The references (``"course_lib.scratch.lstm_step"``) that the cells' code names — as
    ``scratch.lstm_step``, ``course_lib.scratch.lstm_step``, ``from course_lib.scratch import
    lstm_step`` or via ``getattr(scratch, "lstm_step")`` — and any import of the grader
    (``grading``). Read from the source only; nothing is run."""
    found, trees = [], []
    for source in sources:
        try:
            trees.append(ast.parse(source))
        except SyntaxError:
            continue
    aliases = {"tf": "tensorflow", "np": "numpy"}  # the notebooks' own import names
    aliases |= {alias.asname: alias.name for tree in trees for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names if alias.asname}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                           else [node.module or ""])
                if any(m == "grading" or m.startswith("grading.") for m in modules):
                    found.append("the grader (grading)")
            for dotted in references:
                module, _, name = dotted.rpartition(".")
                short = module.rpartition(".")[2]
                if isinstance(node, ast.Attribute) and node.attr == name:
                    owner = _dotted(node.value) or ""
                    owner = aliases.get(owner, owner)
                    if owner.rpartition(".")[2] == short:
                        found.append(dotted)
                elif isinstance(node, ast.ImportFrom) and (node.module or "").endswith(short) \
                        and any(alias.name == name for alias in node.names):
                    found.append(dotted)
                elif isinstance(node, ast.Call) and _dotted(node.func) == "getattr" and any(
                        isinstance(arg, ast.Constant) and arg.value == name for arg in node.args):
                    found.append(dotted)
    return sorted(set(found))
