"""Build the student release: a repository of its own, with solutions replaced by stubs,
outputs cleared, and nothing of the grader.

``dist/student/`` holds ``notebooks/`` (stubbed, outputs cleared, badges and setup cells pointing
at the *student* repository of ``[tool.course]``), ``course_lib/`` (so that the setup cell can
``pip install`` the package from that repository), a ``pyproject.toml`` without the maintainers'
tool settings, a ``Makefile`` with ``make lab``, a student README, the dataset credits and the
licence. No source notebook, no ``grading/``, no tests and no tools are copied.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat

from grading.markup import exercise_id, stub

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import colab  # noqa: E402

STUDENT_README = """\
# Recurrent Networks with Keras 3 — student edition

Numbered notebooks, from the vanilla RNN to sequence-to-sequence models with attention and a
measured comparison with transformers. Each ends with exercises: write the function where the
cell says `raise NotImplementedError`, then run the self-check cell below it (✓, or a hint).

- **Colab**: open a notebook with the badge at its top and run the cells in order; the first
  cell installs the course's helper package `course_lib` (Colab's TensorFlow is kept).
- **Your own machine** (Python 3.10 or newer, `make`): `make lab` creates `.venv`, installs
  everything and opens JupyterLab.

Submit the notebooks as your instructor says (e.g. Colab's *File → Download → .ipynb*); keep the
file names and the `# EXERCISE ex_N_K` lines, which tell the grader what is what. Only the
exercise cells are graded. Calling the library's own version of an exercise (for example
`scratch.lstm_step` in the LSTM step exercise) earns no points.

Datasets download from their canonical sources on first use; their licences are in
[`datasets/README.md`](datasets/README.md).
"""

STUDENT_MAKEFILE = """\
# `make lab`: create .venv, install the course, open JupyterLab.
PYTHON ?= python3
VENV   ?= .venv

.PHONY: help lab

help:  ## list the targets
\t@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\\t/'

$(VENV)/.installed: pyproject.toml
\t@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { \\
\t  echo "The course needs Python 3.10 or newer: try 'make lab PYTHON=python3.12'"; exit 1; }
\t$(PYTHON) -m venv $(VENV)
\t$(VENV)/bin/python -m pip install --upgrade pip
\t$(VENV)/bin/python -m pip install -e ".[lab]"
\ttouch $@

lab: $(VENV)/.installed  ## install everything and open the course in JupyterLab
\t$(VENV)/bin/jupyter lab notebooks/
"""

# sections of the maintainers' pyproject.toml that students' copy does not keep
MAINTAINER_SECTIONS = ("tool.pytest", "tool.ruff", "tool.jupytext", "tool.course")


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


def student_settings(pyproject: Path = REPO / "pyproject.toml") -> dict[str, str]:
    """The student repository and ref from ``[tool.course]`` (``student_repository``,
    ``student_ref``; the ref defaults to ``main``)."""
    config = colab.tomllib.loads(pyproject.read_text()).get("tool", {}).get("course", {})
    if not config.get("student_repository"):
        raise SystemExit(f"{pyproject}: [tool.course] needs student_repository = "
                         f'"https://github.com/<owner>/<name>" (where students get the course)')
    return {"repository": config["student_repository"], "ref": config.get("student_ref", "main")}


def student_pyproject(text: str, repository: str, ref: str) -> str:
    """The maintainers' ``pyproject.toml`` without their tool sections and extras, with the
    student repository as ``[tool.course]``."""
    kept, skipping = [], False
    for line in text.splitlines():
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            skipping = header.group(1).startswith(MAINTAINER_SECTIONS)
            while skipping and kept and kept[-1].startswith("#"):
                kept.pop()  # the comment that introduces a dropped section
        if not skipping:
            kept.append(line)
    body = "\n".join(kept)
    body = re.sub(r"^(dev|grading) = \[[^\]]*\]\n", "", body, flags=re.M)
    body = re.sub(r"^# (maintainers|instructors)[^\n]*\n", "", body, flags=re.M)
    return (body.rstrip() + f'\n\n[tool.course]\nrepository = "{repository}"\nref = "{ref}"\n')


def release(notebooks_dir: Path, out_dir: Path, repository: str | None = None,
            ref: str | None = None) -> list[Path]:
    """Write the student repository to ``out_dir`` (replacing what was there); returns the
    released notebooks."""
    settings = student_settings()
    repository, ref = repository or settings["repository"], ref or settings["ref"]
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "notebooks").mkdir(parents=True)
    written = []
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        target = out_dir / "notebooks" / path.name
        nbformat.write(release_notebook(nbformat.read(path, as_version=4)), target)
        colab.sync_notebook(target, repository, ref)
        written.append(target)
    shutil.copytree(REPO / "course_lib", out_dir / "course_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (out_dir / "datasets").mkdir()
    shutil.copy(REPO / "datasets" / "README.md", out_dir / "datasets" / "README.md")
    shutil.copy(REPO / "LICENSE", out_dir / "LICENSE")
    (out_dir / "README.md").write_text(STUDENT_README)
    (out_dir / "Makefile").write_text(STUDENT_MAKEFILE)
    (out_dir / ".gitignore").write_text(".venv/\n__pycache__/\n*.egg-info/\n"
                                        ".ipynb_checkpoints/\n")
    (out_dir / "pyproject.toml").write_text(
        student_pyproject((REPO / "pyproject.toml").read_text(), repository, ref))
    return written
