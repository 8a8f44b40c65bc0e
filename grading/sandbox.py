"""Optional namespaces around the runner process (Linux ``unshare``, from util-linux).

``none``       nothing: works on any laptop.
``no-network`` a new network namespace: no network at all, loopback included.
``read-only``  ``no-network`` plus a private mount namespace in which every file system is
               re-mounted read-only, except the submission's own work folder and a fresh, empty
               ``/dev/shm``: a submission can read what the grader's user can, but write nothing
               that outlives it.

Each wrapper is a list of arguments placed in front of the runner's command.
"""
from __future__ import annotations

import os
import shutil

__all__ = ["SANDBOXES", "sandbox_prefix"]

SANDBOXES = ("none", "no-network", "read-only")

# Runs inside the new mount namespace as sh -c SCRIPT sh WORK COMMAND...: keep WORK writable,
# make every other mount read-only (a failure stops the runner before it starts), exec COMMAND.
_READ_ONLY_SCRIPT = r"""
set -eu
work=$1; shift
mount --make-rprivate /
mount --bind "$work" "$work"
cd "$work"  # the working directory must be the writable bind mount, not the folder under it
mount -t tmpfs -o size=64m tmpfs /dev/shm
findmnt -rn -o TARGET | sort -u | while read -r target; do
    case "$target" in
        "$work"|/proc|/proc/*|/sys|/sys/*|/dev|/dev/pts|/dev/shm|/dev/mqueue) continue ;;
    esac
    target=$(printf '%b' "$target")  # findmnt -r writes a space as \x20
    mount -o remount,bind,ro "$target" || { echo "cannot make $target read-only" >&2; exit 3; }
done
exec "$@"
"""


def sandbox_prefix(sandbox: str, work: str | None = None) -> list[str]:
    """The command that wraps the runner for ``sandbox`` (one of ``SANDBOXES``); ``work`` is
    the folder that stays writable under ``read-only``. Raises ValueError for an unknown mode
    and RuntimeError when the tools it needs are missing."""
    if sandbox not in SANDBOXES:
        raise ValueError(f"unknown sandbox {sandbox!r}; choose one of {', '.join(SANDBOXES)}")
    if sandbox == "none":
        return []
    needed = ["unshare"] + (["findmnt", "mount"] if sandbox == "read-only" else [])
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"--sandbox {sandbox} needs util-linux' {' and '.join(missing)} "
                           "(Linux); install util-linux or grade with --sandbox none")
    user = [] if os.geteuid() == 0 else ["--map-root-user"]
    if sandbox == "no-network":
        return ["unshare", *user, "--net"]
    return ["unshare", *user, "--net", "--mount", "sh", "-c", _READ_ONLY_SCRIPT, "sh",
            work or os.getcwd()]
