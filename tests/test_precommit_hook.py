"""The pre-commit hook that scripts/setup.sh installs keeps notebook outputs out of commits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from utils.paths import REPO_ROOT


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip


def _notebook(path: Path, output: str) -> None:
    nb = nbformat.v4.new_notebook()
    plain = nbformat.v4.new_code_cell("print('hi')")
    plain.outputs = [nbformat.v4.new_output("stream", text=output)]
    checked = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2)")
    checked.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    nb.cells = [plain, checked]
    nbformat.write(nb, path)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_notebook_with_outputs_cannot_be_committed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in ("nbtools.py", "clean_staged_notebooks.py"):
        shutil.copy(REPO_ROOT / "scripts" / name, repo / "scripts" / name)
    shutil.copytree(REPO_ROOT / "scripts" / "git-hooks", repo / "scripts" / "git-hooks")
    (repo / ".venv").symlink_to(REPO_ROOT / ".venv")  # the hook runs the course's Python
    _git(repo, "init", "-q")
    assert _git(repo, "config", "core.hooksPath", "scripts/git-hooks").returncode == 0  # setup.sh
    book = repo / "nb.ipynb"
    _notebook(book, "hi\n")
    _git(repo, "add", "nb.ipynb")
    refused = _git(repo, "commit", "-q", "-m", "with outputs")
    assert refused.returncode != 0 and "nb.ipynb" in refused.stderr
    cleaned = nbformat.read(book, as_version=4)
    assert cleaned.cells[0].outputs == []  # cleaned in the working tree
    assert cleaned.cells[1].outputs[0]["text"] == "2\n"  # checked outputs stay, as nbtools does
    _git(repo, "add", "nb.ipynb")
    assert _git(repo, "commit", "-q", "-m", "clean").returncode == 0
    committed = nbformat.reads(_git(repo, "show", "HEAD:nb.ipynb").stdout, as_version=4)
    assert committed.cells[0].outputs == []
