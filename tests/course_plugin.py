"""Suite-wide pytest settings, loaded for every run (pyproject: ``-p tests.course_plugin``) so
that they hold whether pytest collects tests/, notebooks/ or a single notebook.

- Environment for nbval's kernels (they inherit it when they start): strict self-checks, quiet
  TensorFlow, a non-interactive matplotlib backend.
- A summary of each notebook's total run time against its budget.
"""

import os

os.environ.setdefault("COURSE_CHECKS_STRICT", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

NOTEBOOK_BUDGET_SECONDS = 180  # each notebook, fast profile, 2 CPU cores
_notebook_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add up setup + call + teardown time of every cell, per notebook."""
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] = _notebook_seconds.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    terminalreporter.section(f"notebook run times (budget {NOTEBOOK_BUDGET_SECONDS} s each)")
    for path, seconds in sorted(_notebook_seconds.items(), key=lambda item: -item[1]):
        flag = "  OVER BUDGET" if seconds > NOTEBOOK_BUDGET_SECONDS else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{flag}")
