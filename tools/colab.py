"""Write where the course is published into every notebook: its Colab badge and its setup cell.

    python tools/colab.py            # rewrite notebooks/*.ipynb from pyproject.toml [tool.course]
    python tools/colab.py --check    # list the notebooks that disagree; exit 1 if any
    python tools/colab.py --repository URL --ref REF DIR   # another copy (the student release)

The setup cell is the first code cell of every notebook. In Colab, or in any kernel where
``course_lib`` cannot be imported, it installs the package once — from an uploaded wheel
(``course_lib-*.whl`` in the working folder) if there is one, else from the configured repository
at the configured ref — with pip's ordinary dependency resolution, so TensorFlow and Keras that
already satisfy the package's ranges (Colab's do) are left alone. Re-running it does nothing
once the package imports. When pip fails it stops with one message that says what happened and
how to fix it, instead of a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BADGE = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
         "(https://colab.research.google.com/github/{slug}/blob/{ref}/notebooks/{name})")
BADGE_PATTERN = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")

SETUP_CELL = '''\
# Setup. Where course_lib is missing (Colab, or a kernel outside the course's environment) this
# installs it once and keeps the TensorFlow already there; after `make lab` it does nothing.
import glob
import importlib.util
import os
import subprocess
import sys

COURSE_REPO = os.environ.get("COURSE_REPO_URL", "{repository}")
COURSE_REF = os.environ.get("COURSE_REF", "{ref}")
if importlib.util.find_spec("course_lib") is None:
    wheels = sorted(glob.glob("course_lib-*.whl"))  # an uploaded wheel wins
    source = wheels[-1] if wheels else f"git+{{COURSE_REPO}}@{{COURSE_REF}}"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", source],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        reason = (pip.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(
            f"course_lib could not be installed from {{source}} ({{reason}}).\\n"
            "Fix: working from a fork? Run `%env COURSE_REPO_URL=https://github.com/<you>/<fork>`"
            " and run this cell again. Offline or no repository? Upload the wheel"
            " course_lib-<version>-py3-none-any.whl to the Files pane and run this cell again.")
    importlib.invalidate_caches()
'''


def settings(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """``repository`` and ``ref`` from ``[tool.course]``; a clear error when either is missing."""
    course = tomllib.loads(pyproject.read_text()).get("tool", {}).get("course", {})
    missing = [key for key in ("repository", "ref") if not course.get(key)]
    if missing:
        raise SystemExit(f"{pyproject}: [tool.course] needs {' and '.join(missing)} ("
                         'e.g. repository = "https://github.com/<owner>/<name>", ref = "main")')
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", course["repository"]):
        raise SystemExit(f"{pyproject}: [tool.course] repository must be a GitHub URL "
                         f"https://github.com/<owner>/<name> (Colab opens notebooks from "
                         f"GitHub), got {course['repository']!r}")
    return {"repository": course["repository"], "ref": course["ref"]}


def badge(name: str, repository: str, ref: str) -> str:
    """The Markdown of notebook ``name``'s Colab badge."""
    slug = repository.removeprefix("https://github.com/")
    return BADGE.format(slug=slug, ref=ref, name=name)


def setup_cell(repository: str, ref: str) -> str:
    """The source of every notebook's setup cell (its first code cell)."""
    return SETUP_CELL.format(repository=repository, ref=ref)


def _setup_part(source: str) -> tuple[str, str]:
    """Split a first code cell into the installer part and the notebook's own imports after it."""
    marker = "    importlib.invalidate_caches()\n"
    if marker not in source:
        raise ValueError("first code cell has no course_lib installer to replace")
    head, _, rest = source.partition(marker)
    return head + marker, rest


def _first_cells(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, ...]:
    """The first Markdown cell (title and badge) and the first code cell (setup)."""
    return (next(c for c in notebook.cells if c.cell_type == "markdown"),
            next(c for c in notebook.cells if c.cell_type == "code"))


def sync_notebook(path: Path, repository: str, ref: str) -> bool:
    """Rewrite ``path``'s badge and setup cell; return True if the file changed."""
    notebook = nbformat.read(path, as_version=4)
    title, setup = _first_cells(notebook)
    if BADGE_PATTERN.search(title.source) is None:
        raise ValueError(f"{path}: its first Markdown cell has no Colab badge")
    new_title = BADGE_PATTERN.sub(badge(path.name, repository, ref), title.source, count=1)
    new_setup = setup_cell(repository, ref) + _setup_part(setup.source)[1]
    changed = (new_title, new_setup) != (title.source, setup.source)
    if changed:
        title.source, setup.source = new_title, new_setup
        nbformat.write(notebook, path)
    return changed


def disagreements(path: Path, repository: str, ref: str) -> list[str]:
    """What in ``path`` does not match the setting (empty when all agrees)."""
    title, setup = _first_cells(nbformat.read(path, as_version=4))
    markdown, code = title.source, setup.source
    problems = []
    if badge(path.name, repository, ref) not in markdown:
        problems.append("Colab badge")
    if not code.startswith(setup_cell(repository, ref)):
        problems.append("setup cell")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--check", action="store_true", help="only report disagreements")
    parser.add_argument("--repository", help="override [tool.course] repository")
    parser.add_argument("--ref", help="override [tool.course] ref")
    args = parser.parse_args(argv)
    config = settings()
    repository, ref = args.repository or config["repository"], args.ref or config["ref"]
    notebooks = sorted(args.folder.glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"no notebooks in {args.folder}")
    if args.check:
        bad = {p.name: d for p in notebooks if (d := disagreements(p, repository, ref))}
        for name, problems in bad.items():
            print(f"{name}: {', '.join(problems)} disagree with {repository}@{ref}; "
                  f"run `make colab`")
        return 1 if bad else 0
    for path in notebooks:
        if sync_notebook(path, repository, ref):
            print(f"{path.name}: badge and setup cell now point at {repository}@{ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
