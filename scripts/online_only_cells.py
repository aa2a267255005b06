"""List the cells that need a W&B server (decorated with `@online_only`), per chapter.

The course promises these are few; this script counts them so the README can say how many.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat

from utils.harness import course_notebooks

DECORATOR = re.compile(r"^@online_only\(", re.M)
WHY = re.compile(r"why=\(?\s*\"([^\"]+)\"")


def online_only_cells(notebook: Path) -> list[tuple[str, str]]:
    """(function name, why) for each decorated cell."""
    found = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code" and DECORATOR.search(cell.source):
            name = re.search(r"^def (\w+)", cell.source, re.M)
            why = WHY.search(cell.source)
            found.append((name.group(1) if name else "?", why.group(1) if why else "?"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", action="store_true", help="end with the total only")
    args = parser.parse_args()
    total = 0
    for nb in course_notebooks():
        cells = online_only_cells(nb)
        total += len(cells)
        print(f"{nb.parent.name}: {len(cells)}")
        for name, why in cells:
            print(f"  - {name}: {why}")
    print(f"total {total}" if args.total else f"online-only cells in the course: {total}")


if __name__ == "__main__":
    main()
