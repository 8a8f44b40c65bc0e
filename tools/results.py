"""Build the README's results table from the notebooks' standard result lines.

    python tools/results.py               # print the table
    python tools/results.py --write README.md
    python tools/results.py --check README.md   # exit 1 when the README's table is stale

The fast column comes from the outputs stored in ``notebooks/*.ipynb`` (each printed
``result name=value profile=fast`` line). Every other column comes from a JSON file in
``notebooks/results/`` written by ``tools/store_notebook.py --results`` — e.g.
``full-cpu.json`` for the full profile run on a CPU, ``full-gpu.json`` on a GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from store_notebook import result_lines  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def stored_results(folder: Path) -> dict[str, dict]:
    """``{notebook: {name: value}}`` from the stored (fast-profile) notebooks."""
    table = {}
    for path in sorted(folder.glob("*.ipynb")):
        lines = result_lines(nbformat.read(path, as_version=4))
        wrong = {name for name, line in lines.items() if line["profile"] != "fast"}
        if wrong:
            raise SystemExit(f"{path.name}: stored with profile != fast for {sorted(wrong)}; "
                             f"re-store it with `make notebooks`")
        table[path.name] = {name: line["value"] for name, line in lines.items()}
    return table


def recorded_runs(folder: Path) -> dict[str, dict]:
    """``{column: {notebook: record}}`` from ``folder/*.json`` (one column per file)."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def table(notebooks: Path = ROOT / "notebooks") -> str:
    """The Markdown table: one row per result, a column per profile/run."""
    fast = stored_results(notebooks)
    runs = recorded_runs(notebooks / "results")
    header = ["notebook", "result", "fast (stored, CPU)"] + list(runs)
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for notebook, results in fast.items():
        names = list(results) + sorted({name for run in runs.values()
                                        for name in run.get(notebook, {}).get("results", {})}
                                       - set(results))
        for name in names:
            cells = [notebook.removesuffix(".ipynb")[:2], f"`{name}`", results.get(name, "–")]
            for run in runs.values():
                cells.append(run.get(notebook, {}).get("results", {}).get(name, {})
                             .get("value", "–"))
            rows.append("| " + " | ".join(cells) + " |")
    notes = []
    for column, run in runs.items():
        environments = sorted({record["environment"] for record in run.values()})
        notes.append(f"\n`{column}` ({'; '.join(environments)}), wall time per notebook:")
        notes += [f"- {name.removesuffix('.ipynb')}: {record['seconds']} s"
                  + (f" — stopped early: {record['error']}" if record.get("error") else "")
                  for name, record in run.items()]
    return "\n".join(rows + notes)


def replace_table(readme: str, new_table: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md needs the markers {START} and {END} around the table")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{new_table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="README")
    group.add_argument("--check", type=Path, metavar="README")
    args = parser.parse_args(argv)
    generated = table()
    if args.write:
        args.write.write_text(replace_table(args.write.read_text(), generated))
    elif args.check:
        current = args.check.read_text()
        if replace_table(current, generated) != current:
            print(f"{args.check}: the results table is stale; run `make results`")
            return 1
    else:
        print(generated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
