"""`utils.tracing.init`: mode switch, global client, re-runs, quiet environment, protocol edges."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import weave

from utils import tracing
from utils.mode import RESOLVED_ENV
from utils.tracing.client import close_store, split_project
from utils.tracing.pin import SUPPORTED_WEAVE, check_weave_version


@pytest.fixture
def course_home(course_home: Path, set_mode: Callable[[str | None], None]) -> Iterator[Path]:
    """The shared private COURSE_HOME, in local mode; the environment is restored afterwards."""
    saved = dict(os.environ)
    set_mode(None)
    try:
        yield course_home
    finally:
        close_store(tracing.store_path())
        os.environ.clear()
        os.environ.update(saved)


@weave.op
def step(x: int) -> int:
    return x + 1


def test_local_init_installs_a_global_client_on_the_course_store(course_home: Path) -> None:
    from utils.tracing.store.server import LocalTraceServer

    client = tracing.init("wandb-course-test")
    assert weave.get_client() is client
    assert isinstance(client.server, LocalTraceServer)
    assert tracing.store_path() == course_home.resolve() / "weave" / "traces.sqlite"
    assert client.server.path == tracing.store_path()
    assert client.project_id == "local/wandb-course-test"
    step(1)
    client.flush()
    assert tracing.store_path().is_file()
    assert len(client.get_calls()) == 1
    with sqlite3.connect(tracing.store_path()) as db:  # readers never block the writer
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    busy_ms = client.server._db.conn.execute("PRAGMA busy_timeout").fetchone()[0]
    assert busy_ms >= 5000  # a second process waits for the write lock instead of failing


def test_reinit_finishes_the_old_client_and_keeps_data(course_home: Path) -> None:
    first = tracing.init("proj")
    step(1)  # still queued in the first client's workers when init runs again
    second = tracing.init("proj")
    assert second is not first and weave.get_client() is second
    assert second.server is first.server  # one open store per file and process
    assert first.num_outstanding_jobs == 0
    step(2)
    second.flush()
    assert sorted(c.inputs["x"] for c in second.get_calls()) == [1, 2]
    other = tracing.init("other-proj")
    assert len(other.get_calls()) == 0  # projects are separate within one file


def test_quiet_environment_and_autopatching(course_home: Path) -> None:
    from weave.integrations import patch
    from weave.telemetry import trace_sentry

    for name in ("WANDB_ERROR_REPORTING", "WEAVE_PRINT_CALL_LINK", "WANDB_DISABLE_WEAVE"):
        os.environ.pop(name, None)
    tracing.init("quiet")
    assert os.environ["WANDB_ERROR_REPORTING"] == "false"
    assert os.environ["WEAVE_PRINT_CALL_LINK"] == "false"
    assert os.environ["WANDB_DISABLE_WEAVE"] == "true"  # wandb.init must not call weave.init
    assert trace_sentry.global_trace_sentry._disabled
    assert patch._IMPORT_HOOK is not None


def test_online_mode_is_plain_weave_init(
    course_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.delenv("WANDB_DISABLE_WEAVE", raising=False)
    monkeypatch.setenv(RESOLVED_ENV, "online")

    def fake_init(project: str) -> str:
        calls.append(project)
        return "remote"

    monkeypatch.setattr(weave, "init", fake_init)
    assert tracing.init("wandb-course-01") == "remote"
    assert calls == ["wandb-course-01"]
    assert "WANDB_DISABLE_WEAVE" not in os.environ  # online, wandb runs may link to weave


def test_protocol_edges(course_home: Path) -> None:
    server: Any = tracing.init("edges").server
    assert not hasattr(server, "call_processor")  # probed by the client: must be absent
    with pytest.raises(NotImplementedError, match="completions_create"):
        server.completions_create({"project_id": "local/edges"})
    with pytest.raises(AttributeError):
        server.not_a_protocol_method  # noqa: B018


def test_project_names_and_version_pin() -> None:
    assert split_project("team/proj") == ("team", "proj")
    assert split_project("proj") == ("local", "proj")
    with pytest.raises(ValueError):
        split_project("a/b/c")
    assert check_weave_version(SUPPORTED_WEAVE)
    with pytest.warns(RuntimeWarning, match="conformance"):
        assert not check_weave_version("0.0.1")
