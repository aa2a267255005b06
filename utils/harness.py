"""Execute the course's notebooks headless, the way CI and `make course` do.

One function, `execute`, runs a notebook with papermill (parameters injected into the cell
tagged `parameters`), optionally with the exercise solutions swapped in, under a hard time box,
and returns what happened per cell. The tests assert on that result; `make course` writes the
executed copies and a timing table.

Exercise check cells carry `raises-exception`, so nbclient runs on past an unsolved exercise;
papermill still raises at the end because an error output exists. We catch that and judge the
errors ourselves: as shipped, only exercise checks may fail; with solutions, nothing may.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from utils import profiles
from utils.exercises import CHECK_MARK, CHECK_TAG, inject_solutions, inject_wrong_answer_probes
from utils.llm import server
from utils.paths import NOTEBOOKS_DIR, REPO_ROOT, runtime_path, shown

FAST_BUDGET_S = 120.0  # what a chapter's fast profile should take on 2 cores
KILL_AFTER_S = 420.0  # hard time box per notebook run (CI must never hang)
CELL_TIMEOUT_S = 300
# `make course` writes executed copies here: not hidden (JupyterLab does not open dot-folders),
# git-ignored. Tests keep theirs under the runtime dir (`execute`'s default).
EXECUTED_DIR = REPO_ROOT / "executed"


@dataclass
class CellError:
    index: int
    tags: list[str]
    ename: str
    evalue: str

    @property
    def in_check(self) -> bool:
        return CHECK_TAG in self.tags


@dataclass
class RunResult:
    notebook: Path
    output: Path
    seconds: float
    timed_out: bool
    errors: list[CellError] = field(default_factory=list)
    check_cells: int = 0
    log: str = ""

    @property
    def name(self) -> str:
        return self.notebook.parent.name


def course_notebooks() -> list[Path]:
    """Every notebook a learner opens: `notebooks/*/*.ipynb` (template included)."""
    return sorted(
        p for p in NOTEBOOKS_DIR.glob("*/*.ipynb") if not p.name.startswith((".", "executed"))
    )


def prepare(notebook: Path, solutions: bool, parameters: dict[str, Any], dest: Path) -> Path:
    """A copy of `notebook` with solutions injected (optional) and parameters set."""
    nb = nbformat.read(notebook, as_version=4)
    if solutions:  # a solved notebook may raise nowhere: drop the tolerance tags too
        inject_solutions(nb, notebook.parent)
        inject_wrong_answer_probes(nb, notebook.parent)
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            if "raises-exception" in tags:
                tags.remove("raises-exception")
    tmp = dest.with_suffix(".in.ipynb")
    nbformat.write(nb, tmp)
    import papermill

    papermill.execute_notebook(
        str(tmp), str(dest), parameters=parameters, prepare_only=True, progress_bar=False
    )
    tmp.unlink()
    return dest


def _text_outputs(cell: Any) -> list[str]:
    """What nbval compares in a checked cell: printed text and plain-text results."""
    texts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            texts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            texts.append(str(out.get("data", {}).get("text/plain", "")))
    return ["".join(texts)]


def checked_output_mismatches(source: Path, executed: Path) -> list[str]:
    """Cells marked `# NBVAL_CHECK_OUTPUT` whose executed text differs from the committed one.

    nbval compares these on the solutions run; the harness compares them on every run, so a
    notebook executed twice on one store must print the same facts both times.
    """
    committed = {
        c.source: _text_outputs(c)
        for c in nbformat.read(source, as_version=4).cells
        if c.cell_type == "code" and c.source.lstrip().startswith(CHECK_MARK)
    }
    problems = []
    for cell in nbformat.read(executed, as_version=4).cells:
        want = committed.get(cell.source)
        if want is not None and _text_outputs(cell) != want:
            first = cell.source.strip().splitlines()[1:2] or [""]
            problems.append(
                f"{first[0][:80]!r}: expected {want[0]!r}, got {_text_outputs(cell)[0]!r}"
            )
    return problems


def scrub_paths(executed: Path) -> None:
    """papermill records the absolute input/output paths in the notebook's metadata: keep
    executed copies free of machine paths, like their outputs."""
    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = shown(meta[key])
    nbformat.write(nb, executed)


def _errors(executed: Path) -> tuple[list[CellError], int]:
    nb = nbformat.read(executed, as_version=4)
    errors, checks = [], 0
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code_cells):
        tags = list(cell.metadata.get("tags", []))
        if "papermill-error-cell-tag" in tags:
            continue
        checks += CHECK_TAG in tags
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append(CellError(i, tags, out.get("ename", ""), out.get("evalue", "")))
    return errors, checks


def execute(
    notebook: Path,
    out_dir: Path | None = None,
    profile: str = "fast",
    solutions: bool = False,
    env: dict[str, str] | None = None,
    kill_after: float = KILL_AFTER_S,
) -> RunResult:
    """Run one notebook in a fresh kernel (its own process), time-boxed."""
    out_dir = out_dir or runtime_path("executed", profile + ("-solutions" if solutions else ""))
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = prepare(
        notebook, solutions, {"PROFILE": profile}, out_dir / f".{notebook.stem}.ipynb"
    )
    output = out_dir / f"{notebook.parent.name}.ipynb"
    cmd = [
        sys.executable, "-m", "papermill", str(prepared), str(output),
        "--cwd", str(notebook.parent), "--kernel", "python3",
        "--execution-timeout", str(CELL_TIMEOUT_S), "--no-progress-bar", "--log-level", "WARNING",
    ]  # fmt: skip
    run_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO_ROOT)}
    start = time.monotonic()
    timed_out = False
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=kill_after)
        log = proc.stderr[-4000:]
    except subprocess.TimeoutExpired as exc:
        timed_out = True
        log = (
            (exc.stderr or b"")[-4000:].decode(errors="replace")
            if isinstance(exc.stderr, bytes)
            else ""
        )
    seconds = time.monotonic() - start
    prepared.unlink(missing_ok=True)
    if output.exists():
        scrub_paths(output)
    errors, checks = _errors(output) if output.exists() else ([], 0)
    return RunResult(notebook, output, seconds, timed_out, errors, checks, log)


def timing_table(results: list[RunResult]) -> str:
    """Markdown table of run times: the README and the closing notes quote it."""
    lines = [
        "| notebook | seconds | errors (exercise checks) | other errors |",
        "|---|---:|---:|---:|",
    ]
    for r in results:
        checks = sum(e.in_check for e in r.errors)
        others = len(r.errors) - checks
        flag = " (timed out)" if r.timed_out else ""
        lines.append(f"| {r.name} | {r.seconds:.1f}{flag} | {checks} | {others} |")
    lines.append(f"| **total** | {sum(r.seconds for r in results):.1f} | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute the course notebooks headless.")
    parser.add_argument("--profile", choices=profiles.NAMES, default=profiles.DEFAULT)
    parser.add_argument("--solutions", action="store_true", help="inject exercise solutions")
    parser.add_argument(
        "--out", type=Path, default=EXECUTED_DIR,
        help="where executed copies go (default: executed/, visible in JupyterLab, git-ignored)",
    )  # fmt: skip
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    label = args.profile + ("-solutions" if args.solutions else "")
    out_dir = args.out.resolve() / label
    results = []
    notebooks = [p.resolve() for p in args.notebooks] or course_notebooks()
    # The notebooks start the local LLM server when they need it; stop it at the end if this
    # command started it (a server you started yourself keeps running).
    with server.stops_what_it_starts():
        for nb in notebooks:
            print(f"▶ {shown(nb)} ({args.profile})", flush=True)
            results.append(execute(nb, out_dir=out_dir, profile=args.profile,
                                   solutions=args.solutions, kill_after=3600))  # fmt: skip
    for res in results:
        bad = [e for e in res.errors if not e.in_check]
        status = "ok" if not bad and not res.timed_out else "FAILED"
        print(f"  {res.name}: {status} in {res.seconds:.1f}s; unsolved exercise checks: "
              f"{sum(e.in_check for e in res.errors)}", flush=True)  # fmt: skip
        for e in bad:
            print(f"  cell {e.index}: {e.ename}: {e.evalue[:200]}")
    table = timing_table(results)
    path = args.out.resolve() / f"timings-{label}.md"
    path.write_text(table + "\n")
    print(table)
    # shown(): relative to the repository when inside it, never a crash when COURSE_HOME or
    # --out point elsewhere.
    print(f"executed notebooks: {shown(out_dir)}/  timings: {shown(path)}")
    failed = any(r.timed_out or any(not e.in_check for e in r.errors) for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
