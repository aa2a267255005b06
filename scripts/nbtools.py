"""Authoring tools for course notebooks: clean outputs, record nbval expectations.

- `clean NB...`: drop outputs, execution counts and volatile metadata, keeping outputs only
  on cells that start with `# NBVAL_CHECK_OUTPUT` (nbval compares those).
- `record EXECUTED SOURCE`: copy the outputs of the checked cells from an executed copy into
  the source notebook (after reviewing them!), then clean it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

from utils.exercises import CHECK_MARK

VOLATILE_META = ("execution", "papermill", "collapsed", "scrolled", "jupyter")


def is_checked(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(CHECK_MARK)


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        for key in VOLATILE_META:
            cell.metadata.pop(key, None)
        cell.pop("id", None)
        if cell.cell_type != "code":
            continue
        # nbval ignores outputs of cells it believes never ran: checked cells keep a count.
        cell.execution_count = 1 if is_checked(cell) and cell.outputs else None
        if not is_checked(cell):
            cell.outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "execute_result":
                out["execution_count"] = cell.execution_count
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.nbformat_minor = 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:03d}"
    return nb


def record(executed: Path, source: Path) -> None:
    ex = nbformat.read(executed, as_version=4)
    src = nbformat.read(source, as_version=4)
    done = {c.source: c.outputs for c in ex.cells if is_checked(c)}
    for cell in src.cells:
        if is_checked(cell) and cell.source in done:
            cell.outputs = done[cell.source]
    nbformat.write(clean(src), source)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("clean")
    c.add_argument("notebooks", nargs="+", type=Path)
    r = sub.add_parser("record")
    r.add_argument("executed", type=Path)
    r.add_argument("source", type=Path)
    args = parser.parse_args()
    if args.cmd == "clean":
        for path in args.notebooks:
            nbformat.write(clean(nbformat.read(path, as_version=4)), path)
    else:
        record(args.executed, args.source)


if __name__ == "__main__":
    main()
