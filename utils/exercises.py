"""Exercises: a stub cell, a check cell, and a solution file the tests can inject.

Conventions (see CONTRIBUTING.md):
- the stub cell carries the tag `exercise:<id>` and raises NotImplementedError until solved;
- the check cell carries the tags `exercise-check` and `raises-exception` (so a headless run
  goes on past an unsolved exercise) and calls `check(...)`;
- the solution lives in `<chapter>/solutions/<id>.py`; a learner loads it with
  `%load solutions/<id>.py`, the tests swap it in for the stub cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

STUB_TAG_PREFIX = "exercise:"
CHECK_TAG = "exercise-check"


class ExerciseCheckError(AssertionError):
    """A check found the exercise's answer wrong; the message says what to look at."""


def check(condition: bool, hint: str) -> None:
    """Raise with a learner-facing hint unless `condition` holds."""
    if not condition:
        raise ExerciseCheckError(hint)


def check_close(actual: float, expected: float, hint: str, rel: float = 1e-6) -> None:
    check(
        actual is not None and math.isclose(float(actual), float(expected), rel_tol=rel),
        f"{hint} (got {actual!r}, expected about {expected!r})",
    )


def passed(name: str) -> None:
    print(f"✅ {name}: passed")


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function; an unsolved stub raises NotImplementedError unchanged."""
    return fn(*args, **kwargs)


# --- used by the harness ---------------------------------------------------------------
def stub_ids(cells: Iterable[dict[str, Any]]) -> list[str]:
    ids = []
    for cell in cells:
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith(STUB_TAG_PREFIX):
                ids.append(tag[len(STUB_TAG_PREFIX) :])
    return ids


def solution_path(chapter_dir: Path, exercise_id: str) -> Path:
    return chapter_dir / "solutions" / f"{exercise_id}.py"


def inject_solutions(nb: Any, chapter_dir: Path) -> int:
    """Replace every stub cell's source by its solution file; return how many were replaced."""
    replaced = 0
    for cell in nb.cells:
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith(STUB_TAG_PREFIX):
                path = solution_path(chapter_dir, tag[len(STUB_TAG_PREFIX) :])
                if not path.is_file():
                    raise FileNotFoundError(
                        f"stub cell tagged {tag!r} has no solution at {path.name}"
                    )
                cell.source = path.read_text().rstrip() + "\n"
                replaced += 1
    return replaced
