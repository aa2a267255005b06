"""The harness's own checks: checked outputs compared on every run, no paths in metadata."""

from __future__ import annotations

from pathlib import Path

import nbformat

from utils.harness import checked_output_mismatches, scrub_paths


def _nb(path: Path, printed: str) -> Path:
    cell = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(n)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    other = nbformat.v4.new_code_cell("print('volatile')")
    other.outputs = [nbformat.v4.new_output("stream", name="stdout", text="12:00\n")]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell, other]), path)
    return path


def test_checked_outputs_must_match(tmp_path: Path) -> None:
    source = _nb(tmp_path / "a.ipynb", "3 calls\n")
    assert checked_output_mismatches(source, _nb(tmp_path / "b.ipynb", "3 calls\n")) == []
    problems = checked_output_mismatches(source, _nb(tmp_path / "c.ipynb", "6 calls\n"))
    assert len(problems) == 1 and "'6 calls\\n'" in problems[0]


def test_papermill_paths_are_scrubbed(tmp_path: Path) -> None:
    path = _nb(tmp_path / "x.ipynb", "1\n")
    nb = nbformat.read(path, as_version=4)
    nb.metadata["papermill"] = {"input_path": str(tmp_path / "in.ipynb"), "output_path": str(path)}
    nbformat.write(nb, path)
    scrub_paths(path)
    assert str(tmp_path) not in path.read_text()
