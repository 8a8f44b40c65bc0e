"""Instructor tooling: build the student release, grade a folder of submitted notebooks.

    python -m grading release [--out dist/student]
    python -m grading grade SUBMISSIONS [--out grades.csv] [--feedback feedback/]

See grading/README.md for the workflow and the exercise markup.
"""
