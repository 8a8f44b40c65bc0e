"""Run one command (the grading runner) so that nothing it starts outlives it.

    python grading/supervise.py SECONDS MEMORY_MB -- COMMAND ...

This process makes itself a *child subreaper* (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``): every
process the command starts — also one that leaves its process group or session with ``setsid``
or double-forks into a "daemon" — stays its descendant. It waits for the command for at most
``SECONDS``, watches the resident memory of the whole tree (memory actually touched, summed
over every descendant), and when the command ends, the time is up or the tree passes
``MEMORY_MB``, kills every descendant still there. It exits with the command's exit status, or
124 on timeout, 137 on the memory limit, and 86 when the command succeeded but left processes
running, and prints the reason on stderr.

Without Linux' prctl (macOS) it still kills the command's process group; a process that left it
can survive there, which ``grading/README.md`` says.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.05
LEFT_RUNNING = 86  # exit status: the command succeeded but left processes behind


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def resident_bytes(pids: list[int]) -> int:
    """Summed resident memory (VmRSS) of ``pids``."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def kill_tree(root: int) -> None:
    """SIGKILL every descendant of ``root`` until none is left, and reap them."""
    for _ in range(200):  # re-parented grandchildren appear after their parent dies
        alive = descendants(root)
        if not alive:
            break
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap()
        time.sleep(POLL_SECONDS)
    _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def supervise(command: list[str], seconds: float, memory_mb: int) -> int:
    subreaper = become_subreaper()
    process = subprocess.Popen(command, start_new_session=True)
    deadline, limit = time.monotonic() + seconds, memory_mb * 2**20
    status, reason = None, ""
    while status is None:
        status = process.poll()
        if status is not None:
            break
        if time.monotonic() > deadline:
            status, reason = 124, f"time limit ({seconds:g} s)"
        elif resident_bytes([process.pid, *descendants(process.pid)]) > limit:
            status, reason = 137, f"memory limit ({memory_mb} MB resident)"
        else:
            time.sleep(POLL_SECONDS)
    if reason:
        print(f"supervise: stopped at the {reason}", file=sys.stderr)
    left = [pid for pid in descendants(os.getpid()) if pid != process.pid] if subreaper else []
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if subreaper:
        kill_tree(os.getpid())
    process.wait()
    if status == 0 and left:
        print(f"supervise: the command left {len(left)} process(es) running; killed",
              file=sys.stderr)
        return LEFT_RUNNING
    return status


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return supervise(argv[3:], float(argv[0]), int(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
