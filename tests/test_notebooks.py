"""Every course notebook, executed headless in local mode, fast profile, twice.

1. As shipped (papermill): exercise stubs unsolved, so every exercise check must fail, with
   NotImplementedError or the check's own error, and nothing else may; the cells marked
   `# NBVAL_CHECK_OUTPUT` must already print their committed output.
2. With solutions injected (nbval): nothing may fail, the marked cells must reproduce their
   committed output, and every shipped wrong answer (`solutions/<id>.wrong_*.py`) is run
   through its check, which must reject it. This second run uses the same trace store and
   run folder as the first, so agreement of the marked cells proves re-runs are scoped to
   their own session.

A fake key is planted in the environment; no executed output may contain it, nor a machine path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from utils import harness
from utils.exercises import stub_ids
from utils.paths import REPO_ROOT, runtime_path

pytestmark = pytest.mark.notebooks

NOTEBOOKS = harness.course_notebooks()
IDS = [nb.parent.name for nb in NOTEBOOKS]
CANARY = "s" + "k-canary0000planted0000in0000the0000env"  # split: not a key in the source
TIMINGS: dict[str, dict[str, float]] = {}


def run_env() -> dict[str, str]:
    """No real keys, a planted fake one, local mode chosen automatically (not forced)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("COURSE_MODE", None)
    env["OPENAI_API_KEY"] = CANARY  # must never be used locally, nor printed anywhere
    return env


def forbidden_strings() -> list[str]:
    return [CANARY, str(REPO_ROOT), str(Path.home()) + "/"]


def leaks(executed: Path) -> list[str]:
    """Forbidden strings anywhere in the executed file: outputs, cell and notebook metadata."""
    text = executed.read_text()
    return [s for s in forbidden_strings() if s in text]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_as_shipped(notebook: Path) -> None:
    result = harness.execute(notebook, profile="fast", env=run_env())
    TIMINGS.setdefault(result.name, {})["as shipped"] = result.seconds
    assert not result.timed_out, f"{result.name} ran past {harness.KILL_AFTER_S}s\n{result.log}"
    assert result.output.exists(), result.log
    unexpected = [e for e in result.errors if not e.in_check]
    assert not unexpected, f"errors outside exercise checks: {unexpected}\n{result.log}"
    wrong_kind = [
        e for e in result.errors if e.ename not in ("NotImplementedError", "ExerciseCheckError")
    ]
    assert not wrong_kind, f"exercise checks failed for the wrong reason: {wrong_kind}"
    stubs = stub_ids(nbformat.read(notebook, as_version=4).cells)
    assert result.check_cells >= len(stubs) >= (1 if notebook.parent.name.startswith("_") else 3)
    assert len(result.errors) == result.check_cells, "every check must fail on its unsolved stub"
    assert not leaks(result.output), f"executed output leaks {leaks(result.output)}"
    mismatches = harness.checked_output_mismatches(notebook, result.output)
    assert not mismatches, "checked cells differ from their committed output:\n" + "\n".join(
        mismatches
    )
    assert result.seconds <= harness.FAST_BUDGET_S * 1.25, (
        f"fast profile took {result.seconds:.0f}s"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_with_solutions(notebook: Path) -> None:
    prepared = notebook.parent / f".nbval-{notebook.stem}.ipynb"
    harness.prepare(notebook, solutions=True, parameters={"PROFILE": "fast"}, dest=prepared)
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
        "--nbval-current-env", "--nbval-cell-timeout", str(harness.CELL_TIMEOUT_S),
        "-o", "addopts=", "--rootdir", str(notebook.parent), str(prepared),
    ]  # fmt: skip
    start = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=run_env(), cwd=notebook.parent,
            timeout=harness.KILL_AFTER_S,
        )  # fmt: skip
    finally:
        prepared.unlink(missing_ok=True)
    TIMINGS.setdefault(notebook.parent.name, {})["with solutions"] = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert CANARY not in proc.stdout


def test_notebook_timing_table_written() -> None:
    """Not a check of speed: leaves the per-notebook timing table where the README says."""
    rows = ["| notebook | as shipped (s) | with solutions (s) |", "|---|---:|---:|"]
    for name, t in TIMINGS.items():
        rows.append(f"| {name} | {t.get('as shipped', 0):.1f} | {t.get('with solutions', 0):.1f} |")
    path = runtime_path("executed") / "timings-tests.md"
    path.write_text("\n".join(rows) + "\n")
    print("\n" + "\n".join(rows))
    assert len(TIMINGS) == len(NOTEBOOKS)
