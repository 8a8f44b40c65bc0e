"""Command line: ``python -m grading release`` and ``python -m grading grade SUBMISSIONS``."""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

from grading.grade import REPO, grade_folder
from grading.release import release
from grading.sandbox import SANDBOXES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grading", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="build the student notebooks")
    rel.add_argument("--out", type=Path, default=REPO / "dist" / "student")
    grade = commands.add_parser("grade", help="grade a folder of submitted notebooks")
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--out", type=Path, default=Path("grades.csv"))
    grade.add_argument("--feedback", type=Path, default=Path("feedback"))
    grade.add_argument("--time-limit", type=int, default=60, help="seconds per submission")
    grade.add_argument("--memory-mb", type=int, default=4096, help="memory per submission")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at a time")
    grade.add_argument("--sandbox", choices=SANDBOXES, default="none",
                       help="no-network: a network namespace per submission; read-only: that, and "
                            "every file system read-only except its work folder (Linux unshare)")
    grade.add_argument("--gradebook", type=Path, default=Path("gradebook.csv"),
                       help="wide CSV: a row per student, a column per exercise and notebook")
    grade.add_argument("--gradescope", type=Path, default=None, metavar="FOLDER",
                       help="also write FOLDER/<student>/<notebook>/results.json")
    args = parser.parse_args(argv)
    if args.command == "release":
        for path in release(REPO / "notebooks", args.out):
            print(f"released {path}")
        return
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder of .ipynb submissions")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    rows = grade_folder(args.submissions, args.out, args.feedback, time_limit=args.time_limit,
                        memory_mb=args.memory_mb, jobs=args.jobs, gradebook=args.gradebook,
                        gradescope_dir=args.gradescope, sandbox=args.sandbox)
    statuses = collections.Counter(row.status for row in rows)
    print(f"wrote {len(rows)} rows to {args.out} ({dict(statuses)}); gradebook "
          f"{args.gradebook}; feedback in {args.feedback}")


if __name__ == "__main__":
    main()
