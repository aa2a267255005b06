"""The online-only marker: runs online, explains itself locally, and is counted per chapter."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

import pytest

from utils import online_only as oo
from utils.paths import REPO_ROOT


def test_runs_online(set_mode: Callable[[str | None], None]) -> None:
    set_mode("online")

    @oo.online_only(why="needs the server", online="a value")
    def fetch() -> int:
        return 42

    assert fetch == 42


def test_skips_locally_and_says_why(set_mode: Callable[[str | None], None], capsys) -> None:
    set_mode("local")
    called = []

    @oo.online_only(why="Registry links live on the server.", online="version v0 linked")
    def link() -> None:
        called.append(1)

    out = capsys.readouterr().out
    assert link is None and not called
    assert "ONLINE-ONLY" in out and "Registry links live on the server." in out
    assert "version v0 linked" in out


def test_unset_mode_is_treated_as_local(set_mode: Callable[[str | None], None]) -> None:
    set_mode(None)

    @oo.online_only(why="w", online="o")
    def never() -> None:
        raise AssertionError("must not run without a resolved online mode")

    assert never is None


def test_reason_is_required() -> None:
    with pytest.raises(ValueError):
        oo.online_only(why=" ", online="x")


def test_listing_script_counts_cells_and_readme_agrees() -> None:
    out = subprocess.run(
        [sys.executable, "scripts/online_only_cells.py", "--total"],
        capture_output=True, text=True, cwd=REPO_ROOT, check=True,
    ).stdout  # fmt: skip
    total = int(out.strip().splitlines()[-1].split()[-1])
    assert total >= 1  # the template shows one
    readme = (REPO_ROOT / "README.md").read_text()
    m = re.search(r"online-only cells: \*\*(\d+)\*\*", readme)
    assert m, "README must state the online-only cell count"
    assert int(m.group(1)) == total, "README count is stale: run scripts/online_only_cells.py"
