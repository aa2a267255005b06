"""Fixtures shared by the test packages (tests/tracing, tests/llm, tests/docsqa, tests/shapes).

- `client`: a global local `WeaveClient` on a fresh store file, finished and closed after;
- `set_mode`: what `course.setup()` would have resolved ("online", "local" or unset);
- `course_home`: a private `COURSE_HOME`, so a test's generated state never mixes with yours;
- `wandb_env`: wandb in offline mode writing to a private folder (for runs that are read back).

The session is wrapped in `utils.llm.server.stops_what_it_starts()`: a local LLM server that
any test (or notebook kernel run by a test) started is stopped when the session ends, so
`make test` leaves no 3 GB process behind (a server you started yourself is left alone).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from utils.mode import RESOLVED_ENV


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    from utils.tracing.testing import local_client

    with local_client(tmp_path) as c:
        yield c


@pytest.fixture
def set_mode(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    """`set_mode("online")`: as if setup() had chosen it; `set_mode(None)`: setup never ran."""

    def choose(mode: str | None) -> None:
        if mode is None:
            monkeypatch.delenv(RESOLVED_ENV, raising=False)
        else:
            monkeypatch.setenv(RESOLVED_ENV, mode)

    return choose


@pytest.fixture
def course_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COURSE_HOME", str(tmp_path / "course"))
    return tmp_path / "course"


_llm_servers = contextlib.ExitStack()


def pytest_sessionstart(session: pytest.Session) -> None:
    from utils.llm.server import stops_what_it_starts

    _llm_servers.enter_context(stops_what_it_starts(log=lambda line: print(f"\n{line}")))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _llm_servers.close()


@pytest.fixture
def wandb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """wandb offline, its folders under `tmp_path` (returned); settings re-read per test."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    for var, sub in (("WANDB_DIR", ""), ("WANDB_DATA_DIR", "data"), ("WANDB_CACHE_DIR", "cache"),
                     ("WANDB_CONFIG_DIR", "config")):  # fmt: skip
        (tmp_path / sub).mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(tmp_path / sub))
    import wandb

    wandb.teardown()  # wandb keeps settings from its first setup in a process; re-read the env
    return tmp_path
