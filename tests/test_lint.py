"""ruff for code and notebooks; mypy over notebooks so online-only cells are checked too.

Online-only cells never run in CI, so a wrong argument in them would go unnoticed; wandb, weave
and wandb-workspaces ship type hints, and mypy with `check_untyped_defs` reads them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from utils.paths import REPO_ROOT, runtime_path

BIN = Path(sys.executable).parent


def run(*cmd: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)


def test_ruff_clean() -> None:
    proc = run(str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_ruff_clean_via_nbqa() -> None:
    proc = run(str(BIN / "nbqa"), "ruff", "notebooks")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def _mypy(target: Path) -> subprocess.CompletedProcess[str]:
    cache = runtime_path("mypy")
    return run(
        str(BIN / "nbqa"), "mypy", str(target), "--config-file", str(REPO_ROOT / "pyproject.toml"),
        "--cache-dir", str(cache),
    )  # fmt: skip


def test_notebooks_type_check() -> None:
    proc = _mypy(REPO_ROOT / "notebooks")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_type_check_catches_a_wrong_argument_in_an_online_only_cell(tmp_path: Path) -> None:
    template = REPO_ROOT / "notebooks" / "_template" / "chapter_template.ipynb"
    nb = nbformat.read(template, as_version=4)
    for cell in nb.cells:
        if "@online_only(" in cell.source:
            cell.source = cell.source.replace("api.run(", "api.run(run_path=")
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    shutil.copytree(template.parent / "solutions", tmp_path / "solutions")
    proc = _mypy(broken)
    assert proc.returncode != 0 and "run_path" in proc.stdout, proc.stdout[-2000:]
