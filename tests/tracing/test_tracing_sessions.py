"""Scoping and views: a session attribute on every call, queries scoped to it, views of whole
traces (roots by default, one trace in tree order), previews without `self`."""

from __future__ import annotations

from pathlib import Path

import pytest

from utils.tracing.client import close_store, init_local
from utils.tracing.view import calls_frame, this_session, trace_frame


def _session_client(path: Path, session: str):
    return init_local("sessions", path=path, autopatch=False, attributes={"session": session})


@pytest.fixture
def store(tmp_path: Path):
    path = tmp_path / "traces.sqlite"
    yield path
    close_store(path)


def test_session_attribute_scopes_queries_across_runs(store: Path) -> None:
    import weave

    @weave.op
    def inner(x: int) -> int:
        return x + 1

    @weave.op
    def outer(x: int) -> int:
        return inner(x) * 2

    first = _session_client(store, "run-1")
    outer(1)
    outer(2)
    first.flush()
    second = _session_client(store, "run-2")  # a second execution on the same store
    outer(3)
    second.flush()

    everything = calls_frame(second)
    mine = calls_frame(second, query=this_session(second))
    assert len(everything) == 6  # the store keeps both runs
    assert len(mine) == 2 and set(mine["op"]) == {"outer", "inner"}
    assert this_session(second) == {
        "$expr": {"$eq": [{"$getField": "attributes.session"}, {"$literal": "run-2"}]}
    }


def test_no_session_attribute_means_no_scope(store: Path) -> None:
    client = init_local("sessions", path=store, autopatch=False)
    assert this_session(client) is None


def test_last_lists_roots_and_trace_frame_the_whole_tree(store: Path) -> None:
    import weave

    @weave.op
    def leaf(x: int) -> int:
        return x

    @weave.op
    def middle(x: int) -> int:
        return leaf(x) + leaf(x + 1)

    @weave.op
    def root(x: int) -> int:
        return middle(x)

    client = _session_client(store, "s")
    _, call = root.call(5)
    last = calls_frame(client, last=1)
    assert list(last["op"]) == ["root"]  # the call you made, not the innermost one
    # every call: the last one started is the innermost, which is why views default to roots
    assert list(calls_frame(client, last=1, roots=False)["op"]) == ["leaf"]
    assert len(calls_frame(client, roots=False)) == 4

    tree = trace_frame(call)
    assert list(tree["depth"]) == [0, 1, 2, 2]
    assert [s.strip() for s in tree["step"]] == ["root", "middle", "leaf", "leaf"]
    assert tree["step"].iloc[2].startswith("\u00a0" * 8)  # depth 2, visible in HTML too
    assert list(trace_frame()["id"]) == list(tree["id"])  # None: the latest trace


def test_method_previews_show_inputs_not_the_model_object(store: Path) -> None:
    import weave

    class Echo(weave.Model):
        prefix: str = ">"

        @weave.op
        def predict(self, question: str) -> str:
            return f"{self.prefix} {question}"

    client = _session_client(store, "s")
    Echo().predict("what is a trace?")
    row = calls_frame(client, last=1).iloc[0]
    assert "what is a trace?" in row["inputs"]
    assert "self" not in row["inputs"]
