"""Exercises: a stub cell, a check cell, and a solution file the tests can inject.

Conventions (see CONTRIBUTING.md):
- the stub cell carries the tag `exercise:<id>` and raises NotImplementedError until solved;
- the check cell carries the tags `exercise-check` and `raises-exception` (so a headless run
  goes on past an unsolved exercise) and calls `check(...)`;
- the solution lives in `<chapter>/solutions/<id>.py`; a learner loads it with
  `%load solutions/<id>.py`, the tests swap it in for the stub cell;
- beside it, `<id>.wrong_<what>.py` files hold plausible wrong answers. The tests run each one
  through the exercise's check and require a clear `ExerciseCheckError` (a check that accepts a
  wrong answer teaches nothing). A wrong answer whose first line is `# expect: SomeError`
  must instead surface the learner's own exception, unchanged.
"""

from __future__ import annotations

import contextlib
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

STUB_TAG_PREFIX = "exercise:"
CHECK_TAG = "exercise-check"
# First line of a cell whose output is a deterministic fact nbval (and the harness) compare.
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


class ExerciseCheckError(AssertionError):
    """A check found the exercise's answer wrong; the message says what to look at."""


def _show_hint_only(shell: Any, etype: type, evalue: BaseException, tb: Any,
                    tb_offset: int | None = None) -> list[str]:  # fmt: skip
    """A failed check is feedback, not a crash: show its hint without a stack of helper frames
    (which would also print the course's install path). IPython ignores what a custom handler
    returns, so it shows the error itself (as an ordinary error output)."""
    stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {evalue}"]
    shell._showtraceback(etype, evalue, stb)
    return stb


def _install_hint_display() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((ExerciseCheckError,), _show_hint_only)


def check(condition: bool, hint: str) -> None:
    """Raise with a learner-facing hint unless `condition` holds."""
    __tracebackhide__ = True  # IPython shows the check cell's line, not this helper's
    if not condition:
        raise ExerciseCheckError(hint)


def check_close(actual: float, expected: float, hint: str, rel: float = 1e-6) -> None:
    __tracebackhide__ = True
    check(
        actual is not None and math.isclose(float(actual), float(expected), rel_tol=rel),
        f"{hint} (got {actual!r}, expected about {expected!r})",
    )


def passed(name: str) -> None:
    print(f"✅ {name}: passed")


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function; an unsolved stub raises NotImplementedError unchanged."""
    return fn(*args, **kwargs)


def traced(op: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """`op.call(...)` for checks: (result, call), but the learner's own exception is raised.

    `op.call()` never raises: on an exception it returns `(None, call)` with the error recorded
    on the call, so a check built on it would fail later with an unrelated `TypeError` on
    `None`. Weave's `__should_raise` flag re-raises the original exception instead.
    """
    __tracebackhide__ = True  # IPython hides this frame: the learner sees their own code
    try:
        return op.call(*args, __should_raise=True, **kwargs)  # type: ignore[no-any-return]
    except Exception as err:
        raise err.with_traceback(_from_learner_code(err.__traceback__)) from None


def _from_learner_code(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the first frame outside weave's op machinery: what a learner
    needs to see is their own function, not the wrapper that called it."""
    import weave

    weave_dir = str(Path(weave.__file__).parent)
    start = tb
    while start is not None and (
        start.tb_frame.f_code.co_filename.startswith(weave_dir)
        or start.tb_frame.f_code.co_filename == __file__
    ):
        start = start.tb_next
    return start or tb


@contextlib.contextmanager
def expect_rejection(wrong_answer: str, expected: type[BaseException] = ExerciseCheckError,
                     ) -> Iterator[None]:  # fmt: skip
    """The tests wrap a check in this after loading a shipped wrong answer.

    The check must fail with `expected` (its clear message, or the learner's own exception);
    passing, or failing with anything else, means the check does not do its job.
    """
    try:
        yield
    except expected as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"✅ rejected {wrong_answer}: {type(err).__name__}: {first}")
        return
    raise AssertionError(f"the check accepted the wrong answer {wrong_answer}")


_install_hint_display()


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


def wrong_answers(chapter_dir: Path, exercise_id: str) -> list[Path]:
    """The shipped wrong answers of one exercise: `solutions/<id>.wrong_<what>.py`."""
    return sorted((chapter_dir / "solutions").glob(f"{exercise_id}.wrong_*.py"))


EXPECT_LINE = re.compile(r"#\s*expect:\s*([A-Za-z_][A-Za-z0-9_.]*)")


def expected_failure(wrong: Path) -> str:
    """The exception a wrong answer must end in: `# expect: X` on its first line, else the
    check's own `ExerciseCheckError`."""
    first = wrong.read_text().splitlines()[0] if wrong.read_text() else ""
    match = EXPECT_LINE.match(first.strip())
    return match.group(1) if match else "ExerciseCheckError"


def probe_cells(check_source: str, wrong: Path, solution: str) -> list[str]:
    """Sources of the cells that try one wrong answer against a check, then restore the
    solution so the rest of the notebook runs on the right definitions."""
    name = wrong.name.removesuffix(".py")
    wrapped = (
        "from utils.exercises import ExerciseCheckError, expect_rejection\n"
        f"with expect_rejection({name!r}, {expected_failure(wrong)}):\n"
        + textwrap.indent(check_source.rstrip() + "\n", "    ")
    )
    return [wrong.read_text().rstrip() + "\n", wrapped, solution]


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


PROBE_TAG = "wrong-answer-probe"


def inject_wrong_answer_probes(nb: Any, chapter_dir: Path) -> int:
    """After each exercise's check cell, try every shipped wrong answer against that check.

    Run on a notebook whose solutions were injected: the probes load a wrong answer, run the
    check expecting a rejection, and load the solution back. Returns how many were added.
    """
    import nbformat

    cells, pending, added = [], None, 0
    for cell in nb.cells:
        cells.append(cell)
        tags = cell.get("metadata", {}).get("tags", [])
        stub = [t[len(STUB_TAG_PREFIX) :] for t in tags if t.startswith(STUB_TAG_PREFIX)]
        if stub:
            pending = stub[0]
        elif CHECK_TAG in tags and pending is not None:
            solution = solution_path(chapter_dir, pending).read_text().rstrip() + "\n"
            for wrong in wrong_answers(chapter_dir, pending):
                for source in probe_cells(cell.source, wrong, solution):
                    cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": [PROBE_TAG]}))
                added += 1
            pending = None
    nb.cells = cells
    return added
