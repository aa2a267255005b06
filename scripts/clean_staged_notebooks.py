"""The pre-commit check behind scripts/git-hooks/pre-commit: staged notebooks must be clean.

"Clean" is what `scripts/nbtools.py clean` makes of a notebook: no outputs except those of
`# NBVAL_CHECK_OUTPUT` cells, no execution counts, no volatile metadata. The *staged* version
is checked (what would be committed), and a notebook that fails is cleaned in the working tree,
so the next `git add` stages the clean version. Exit status 1 stops the commit.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _nbtools() -> ModuleType:
    """scripts/nbtools.py, the one definition of a clean notebook (scripts is not a package)."""
    spec = importlib.util.spec_from_file_location("nbtools", ROOT / "scripts" / "nbtools.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def dirty_notebooks(repo: Path) -> list[str]:
    """Staged notebooks whose staged content is not what `nbtools clean` would write."""
    tools = _nbtools()
    staged = _git(
        "diff", "--cached", "--name-only", "--diff-filter=ACMR", "-z", "--", "*.ipynb", cwd=repo
    )
    dirty = []
    for name in filter(None, staged.split("\0")):
        text = _git("show", f":{name}", cwd=repo)
        cleaned = nbformat.writes(tools.clean(nbformat.reads(text, as_version=4)))
        if cleaned.rstrip("\n") != text.rstrip("\n"):
            dirty.append(name)
    return dirty


def main() -> int:
    repo = Path(_git("rev-parse", "--show-toplevel", cwd=Path.cwd()).strip())
    dirty = dirty_notebooks(repo)
    if not dirty:
        return 0
    tools = _nbtools()
    for name in dirty:
        path = repo / name
        nbformat.write(tools.clean(nbformat.read(path, as_version=4)), path)
    print(
        "pre-commit: these notebooks had outputs (or volatile metadata) and are now cleaned:\n"
        + "\n".join(f"  {name}" for name in dirty)
        + "\nReview them, `git add` them again and commit.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
