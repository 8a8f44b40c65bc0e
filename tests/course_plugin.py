"""Suite-wide pytest settings, loaded for every run (pyproject: ``-p tests.course_plugin``) so
that they hold whether pytest collects tests/, notebooks/ or a single notebook.

- Environment for nbval's kernels (they inherit it when they start): strict self-checks, quiet
  TensorFlow, a non-interactive matplotlib backend.
- Under pytest-xdist (``make test``: ``-n 2 --dist loadscope --no-loadscope-reorder``), each
  worker process is pinned to its own share of the CPUs, and the longest units are queued first.
- A summary of each notebook's total run time against its budget.

Why pin: a notebook keeps only about 1.1 of 2 cores busy on average (CPU time over wall time of
notebooks 02 and 04), so two notebooks at a time, one core each, finish about 1.5x sooner than
one after the other. Unpinned, the two processes' thread pools share both cores and bend
the timings several notebooks assert on (9b85839 reverted that); pinned, each process has a core
of its own (TensorFlow sizes its thread pools from the CPUs it may run on, and nbval's kernels
inherit the pinning), and a notebook ran as fast beside another as alone.
"""

import os

from course_lib.runtime import cpu_cores  # no TensorFlow: that must wait for the pinning

os.environ.setdefault("COURSE_CHECKS_STRICT", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


def pinning_applies(workers: int, cores: int) -> bool:
    """Whether ``workers`` xdist processes get their own CPUs out of ``cores``: two or more
    workers, at least a core each (more workers than cores would only add contention), and
    ``COURSE_PIN_WORKERS`` not 0."""
    return 2 <= workers <= cores and os.environ.get("COURSE_PIN_WORKERS") != "0"


def pin_worker_to_cpus() -> set[int] | None:
    """Pin this xdist worker (``gw<i>`` of ``n``) to every ``n``-th CPU it may run on, starting
    at the ``i``-th; returns the CPUs, or None when this is no worker or pinning does not
    apply (:func:`pinning_applies`)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if (not worker.startswith("gw") or not hasattr(os, "sched_setaffinity")
            or not pinning_applies(count, cpu_cores())):
        return None
    share = set(sorted(os.sched_getaffinity(0))[int(worker[2:]) % count::count])
    os.sched_setaffinity(0, share)
    return share


def pytest_configure(config):
    pin_worker_to_cpus()  # before any test imports TensorFlow


#: Queued first, in this order: the longest units of work, measured in a pinned run of
#: ``make test`` (seconds on one core): notebook 09 270, notebook 06 203, the grading module 194
#: (its fixture grades some twenty submissions, each in a process of its own), notebook 05 193,
#: notebook 03 188. Started late, one of them alone kept a worker busy for minutes after the other
#: had finished; started first, the short unit-test modules even out the end. A wrong guess here
#: only costs time.
LONGEST_FIRST = ("notebooks/09_modern_recurrent.ipynb", "notebooks/06_seq2seq_attention.ipynb",
                 "tests/test_grading.py", "notebooks/05_bidirectional_deep.ipynb",
                 "notebooks/03_lstm.ipynb")


def queue_position(nodeid: str) -> tuple[int, int]:
    """Sort key of a test: the units of :data:`LONGEST_FIRST` in their order, then the other
    notebooks, then the other test modules (the order within each stays as collected)."""
    path = nodeid.split("::")[0]
    if path in LONGEST_FIRST:
        return 0, LONGEST_FIRST.index(path)
    return (1 if path.endswith(".ipynb") else 2), 0


def pytest_collection_modifyitems(session, config, items):
    """Queue the long units of work first (see :data:`LONGEST_FIRST`): each notebook and each
    test module goes to one worker whole, and the order decides how evenly they end."""
    items.sort(key=lambda item: queue_position(item.nodeid))


NOTEBOOK_BUDGET_SECONDS = 180  # each notebook, fast profile, 2 CPU cores
_notebook_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add up setup + call + teardown time of every cell, per notebook."""
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] = _notebook_seconds.get(path, 0.0) + report.duration


def _cores_per_notebook(config) -> int:
    """The CPU cores each notebook ran on: its worker's share when the workers were pinned."""
    cores, workers = cpu_cores(), getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and pinning_applies(workers, cores):
        return cores // workers
    return cores


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    cores = _cores_per_notebook(terminalreporter.config)
    if cores >= 2:
        title = f"notebook run times (budget {NOTEBOOK_BUDGET_SECONDS} s each on 2 cores)"
    else:  # the budget is for two cores; one core takes about 1.1-1.9x as long
        title = (f"notebook run times on one core each (the {NOTEBOOK_BUDGET_SECONDS} s budget "
                 "is for 2 cores: TEST_WORKERS=1 measures that)")
    terminalreporter.section(title)
    for path, seconds in sorted(_notebook_seconds.items(), key=lambda item: -item[1]):
        over = cores >= 2 and seconds > NOTEBOOK_BUDGET_SECONDS
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{'  OVER BUDGET' * over}")
