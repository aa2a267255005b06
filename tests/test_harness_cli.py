"""`python -m utils.harness` as `make course` runs it: where the executed copies land.

The CLI printed paths with `relative_to(REPO_ROOT)` and crashed when `COURSE_HOME` (or the
output folder) lay outside the repository; and it wrote the copies under `.course/`, which
JupyterLab does not open. Both are checked with one real run of the template notebook.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from utils.harness import EXECUTED_DIR
from utils.paths import REPO_ROOT

TEMPLATE = REPO_ROOT / "notebooks" / "_template" / "chapter_template.ipynb"


def test_executed_copies_are_visible_and_ignored() -> None:
    assert not any(part.startswith(".") for part in EXECUTED_DIR.relative_to(REPO_ROOT).parts)
    proc = subprocess.run(
        ["git", "check-ignore", "-q", str(EXECUTED_DIR / "full" / "01-weave.ipynb")],
        cwd=REPO_ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, "executed/ must be git-ignored"


@pytest.mark.notebooks
def test_cli_with_course_home_and_output_outside_the_repository(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("COURSE_MODE", None)
    env["COURSE_HOME"] = str(home)
    cmd = [sys.executable, "-m", "utils.harness", "--profile", "fast", "--out", str(out),
           str(TEMPLATE)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    executed = out / "fast" / "_template.ipynb"
    assert executed.is_file() and (out / "timings-fast.md").is_file()
    assert "executed notebooks:" in proc.stdout
    assert str(tmp_path) not in proc.stdout, "printed paths stay short (no machine paths)"
    nb = nbformat.read(executed, as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
