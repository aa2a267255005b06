"""What is committed: clean notebooks that follow the chapter skeleton, no secrets, no paths."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from utils.exercises import CHECK_MARK, CHECK_TAG, STUB_TAG_PREFIX, solution_path, wrong_answers
from utils.harness import course_notebooks
from utils.paths import REPO_ROOT

NOTEBOOKS = course_notebooks()
IDS = [nb.parent.name for nb in NOTEBOOKS]
COLAB = "https://colab.research.google.com/github/wandb-advanced-course/wandb-advanced-course/blob/main/"


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=REPO_ROOT)
    return [REPO_ROOT / f for f in out.stdout.split()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_follows_skeleton(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    first = cells[0].source
    assert cells[0].cell_type == "markdown" and first.startswith("# "), "title first"
    assert COLAB + str(path.relative_to(REPO_ROOT)) in first, "Colab badge must open this file"
    tags = [t for c in cells for t in c.metadata.get("tags", [])]
    assert tags.count("parameters") == 1 and tags.count("setup") == 1
    setup = next(c for c in cells if "setup" in c.metadata.get("tags", []))
    assert "course.setup(" in setup.source
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown").lower()
    for heading in ("what you will learn", "exercises", "key takeaways", "next steps"):
        assert heading in text, f"missing section: {heading}"
    stubs = [t[len(STUB_TAG_PREFIX) :] for t in tags if t.startswith(STUB_TAG_PREFIX)]
    assert len(stubs) == len(set(stubs)) >= 1
    for ex in stubs:
        assert solution_path(path.parent, ex).is_file(), f"no solution for {ex}"
        assert wrong_answers(path.parent, ex), (
            f"{ex} ships no wrong answer (solutions/{ex}.wrong_*.py)"
        )
    for cell in cells:
        ctags = cell.metadata.get("tags", [])
        if CHECK_TAG in ctags:
            assert "raises-exception" in ctags, "check cells must not stop a headless run"
        if any(t.startswith(STUB_TAG_PREFIX) for t in ctags):
            assert "NotImplementedError" in cell.source, "a stub must raise until solved"


LOCAL_ONLY = re.compile(r"\b(wandb_offline|OfflineRun|init_local|open_store)\b")
MODE_BRANCH = re.compile(r"\b(ctx\.mode|ctx\.local|COURSE_MODE)\b|\.online\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_cells_run_the_same_in_both_modes(path: Path) -> None:
    """Cells read runs back with `utils.logged.logged_run` (wandb.Api online, offline files
    locally), never with a local-only reader, and do not branch on the mode: the one marked
    way to differ is `@online_only`."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert not LOCAL_ONLY.search(cell.source), f"cell {i} calls a local-only helper"
        if "@online_only" not in cell.source:
            assert not MODE_BRANCH.search(cell.source), f"cell {i} branches on the mode"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        checked = cell.source.lstrip().startswith(CHECK_MARK)
        assert checked or not cell.outputs, f"cell {i} has outputs; run scripts/nbtools.py clean"


# Patterns are assembled so that this file does not match itself.
SECRET_PATTERNS = [
    re.compile("s" + r"k-[A-Za-z0-9_-]{20,}"),
    re.compile("local" + r"-[0-9a-f]{40}"),
    re.compile(r"(?i)wandb_api_key\s*=\s*['\"][0-9a-f]{40}"),
]
MACHINE_PATHS = [str(REPO_ROOT), "/ro" + "ot/", "/ho" + "me/"]


def test_no_secrets_or_machine_paths_in_tracked_files() -> None:
    bad = []
    for path in tracked_files():
        if not path.is_file() or path.suffix in (".pt", ".png", ".gguf", ".bin", ".npz"):
            continue
        text = path.read_text(errors="ignore")
        for rx in SECRET_PATTERNS:
            bad += [f"{path.name}: key-shaped {m.group(0)[:6]}…" for m in rx.finditer(text)]
        bad += [f"{path.name}: machine path {p}" for p in MACHINE_PATHS if p in text]
    assert not bad, bad


def test_generated_state_is_ignored() -> None:
    ignored = (REPO_ROOT / ".gitignore").read_text()
    for entry in (".course/", "wandb/", ".venv/"):
        assert entry in ignored
    tracked = [str(p.relative_to(REPO_ROOT)) for p in tracked_files()]
    assert not [t for t in tracked if t.startswith((".course/", "wandb/")) or "/wandb/" in t]
