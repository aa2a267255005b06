"""The store's write path with inputs a well-behaved notebook never sends, but real ones do.

Each test is a defect that was found by trying the store, not by reading it:
- a lone surrogate ("\\ud800", which Python strings allow) in one call cost the whole batch;
- a batch that failed for any other reason was dropped (only a log line said so);
- NaN / Infinity were stored as bare `NaN` / `Infinity`, which SQLite's JSON functions reject,
  so every later query on inputs/output/feedback payloads of that project raised;
- a huge value (tens of MB) was stored in full, twice (file and write-ahead log), silently.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import warnings
from pathlib import Path
from typing import Any

import pytest
import weave

from utils.tracing.store import writer as writer_module
from utils.tracing.store.convert import StoreValueWarning
from utils.tracing.store.db import Database
from utils.tracing.store.writer import CallWriter
from utils.tracing.testing import local_client


@weave.op
def echo(value: Any) -> Any:
    return value


@weave.op
def score(value: float) -> dict[str, float]:
    return {"score": value}


def _outputs(client: Any, op: str) -> list[Any]:
    return [c.output for c in client.get_calls(filter={"op_names": [op]})]


@weave.op
def size_of(value: Any) -> int:
    return len(value)


def test_a_lone_surrogate_costs_only_its_own_value(client: Any) -> None:
    size_of("before")
    size_of("bad \ud800 value")
    size_of({"nested": ["\udfff"]})
    size_of("after")
    with pytest.warns(StoreValueWarning, match="surrogate"):
        client.flush()  # raised UnicodeEncodeError before, and every call of the batch was lost
    calls = list(client.get_calls(filter={"op_names": ["size_of"]}))
    assert [c.output for c in calls] == [6, 11, 1, 5]
    values = [c.inputs["value"] for c in calls]
    assert values[0] == "before" and values[3] == "after"
    assert values[1] == "bad \\ud800 value"  # escaped, visible, and valid UTF-8
    assert values[2] == {"nested": ["\\udfff"]}


def test_a_lone_surrogate_in_an_output_is_stored_escaped(tmp_path: Path) -> None:
    # Through the client, an output like this never reaches any server: weave 0.54's own
    # `send_end_call` fails to serialise it (online too). The store still must not choke on it.
    db = Database(tmp_path / "t.sqlite")
    writer = CallWriter(db, delay_s=60)
    try:
        writer.add_start(_start("a"), "a", "t-a", "u")
        writer.add_end(_end("a", output="x\ud800"))
        writer.add_start(_start("b"), "b", "t-b", "u")
        writer.add_end(_end("b", output="fine"))
        with pytest.warns(StoreValueWarning, match="output of call a"):
            writer.flush()
        rows = dict(db.query("SELECT id, output FROM calls"))
        assert rows == {"a": '"x\\\\ud800"', "b": '"fine"'}
    finally:
        writer.close()
        db.close()


def _start(call_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "project_id": "local/p",
        "id": call_id,
        "trace_id": "t-" + call_id,
        "op_name": "weave:///local/p/op/f:abc",
        "started_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "attributes": {},
        "inputs": {"x": call_id},
        **extra,
    }


def _end(call_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "project_id": "local/p",
        "id": call_id,
        "trace_id": "t-" + call_id,
        "ended_at": dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC),
        "summary": {},
        **extra,
    }


def test_a_failing_row_is_split_out_and_reported_never_silently_dropped(tmp_path: Path) -> None:
    db = Database(tmp_path / "t.sqlite")
    writer = CallWriter(db, delay_s=60)  # the background thread stays out of the way
    try:
        writer.add_start(_start("good-1"), "good-1", "t-good-1", "u")
        # SQLite integers are 64-bit: this row cannot be stored, whatever we do with it.
        writer.add_start(_start("bad", wb_run_step=2**70), "bad", "t-bad", "u")
        writer.add_start(_start("good-2"), "good-2", "t-good-2", "u")
        with pytest.warns(StoreValueWarning, match="bad"):
            writer.flush()  # raised OverflowError before, losing the good rows with it
        ids = {r[0] for r in db.query("SELECT id FROM calls")}
        assert ids == {"good-1", "good-2"}
        assert writer.num_outstanding_jobs == 0
        assert writer.dropped == 1
    finally:
        writer.close()
        db.close()


def test_a_transient_failure_keeps_the_batch_for_the_next_flush(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    db = Database(path)
    db.conn.execute("PRAGMA busy_timeout = 50")
    writer = CallWriter(db, delay_s=60)
    other = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    try:
        writer.add_start(_start("kept"), "kept", "t-kept", "u")
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(sqlite3.OperationalError):
            writer.flush()
        assert writer.num_outstanding_jobs == 1
        other.execute("COMMIT")
        writer.flush()
        assert [r[0] for r in db.query("SELECT id FROM calls")] == ["kept"]
    finally:
        other.close()
        writer.close()
        db.close()


def test_non_finite_floats_are_stored_as_null_and_queries_keep_working(client: Any) -> None:
    score(0.5)
    score(math.nan)
    score(math.inf)
    score(-math.inf)
    echo({"deep": [1.0, math.nan]})
    client.flush()
    # What the online service stores for these: weave's HTTP client encodes them as null.
    assert [o["score"] for o in _outputs(client, "score")] == [0.5, None, None, None]
    assert _outputs(client, "echo") == [{"deep": [1.0, None]}]
    # Queries on inputs/output and sorting on them raised OperationalError before.
    query = {"$expr": {"$gt": [{"$getField": "output.score"}, {"$literal": 0.1}]}}
    assert len(list(client.get_calls(query=query))) == 1
    on_inputs = {"$expr": {"$eq": [{"$getField": "inputs.value"}, {"$literal": 0.5}]}}
    assert len(list(client.get_calls(query=on_inputs))) == 1
    ordered = client.get_calls(
        filter={"op_names": ["score"]}, sort_by=[{"field": "output.score", "direction": "desc"}]
    )
    assert [c.output["score"] for c in ordered] == [0.5, None, None, None]
    # Feedback payloads follow the same rule.
    call = next(iter(client.get_calls(filter={"op_names": ["score"]})))
    call.feedback.add("metric", {"value": math.nan})
    call.feedback.add("metric", {"value": 2.0})
    found = client.server.feedback_query(
        {
            "project_id": f"{client.entity}/{client.project}",
            "query": {"$expr": {"$gt": [{"$getField": "payload.value"}, {"$literal": 1.0}]}},
        }
    )
    assert [f["payload"]["value"] for f in found.result] == [2.0]


def test_an_old_store_with_nan_text_is_repaired_on_open(tmp_path: Path) -> None:
    path = tmp_path / "traces.sqlite"
    with local_client(tmp_path) as client:
        score(1.0)
        client.flush()
    raw = sqlite3.connect(path)
    # What an earlier version of the store wrote for score(nan).
    raw.execute("UPDATE calls SET output = '{\"score\":NaN}', inputs = '{\"value\":NaN}'")
    raw.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    with local_client(tmp_path) as client:
        query = {"$expr": {"$gt": [{"$getField": "output.score"}, {"$literal": 0.1}]}}
        assert list(client.get_calls(query=query)) == []
        assert _outputs(client, "score") == [{"score": None}]


def test_a_value_over_the_size_limit_is_replaced_by_a_marked_preview(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real limit is the online service's request limit (~31 MiB); a small one keeps the
    # test fast and exercises the same code.
    monkeypatch.setattr(writer_module, "MAX_VALUE_BYTES", 10_000)
    echo("x" * 50_000)
    echo("small")
    with pytest.warns(StoreValueWarning, match="larger than"):
        client.flush()
    big, small = _outputs(client, "echo")
    assert small == "small"
    assert isinstance(big, dict) and big["_course_store"] == "value too large"
    assert big["bytes"] > 50_000 and big["preview"].startswith("xxx")
    assert len(big["preview"]) < 2_000
    (size,) = client.server._db.query("SELECT MAX(length(inputs)) FROM calls")[0]
    assert size < 10_000


def test_values_within_limits_are_stored_unchanged(client: Any) -> None:
    value = {"text": "ünïcödé ✓", "n": [1, 2.5, None, True], "s": "x" * 5_000}
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreValueWarning)
        echo(value)
        client.flush()
    assert _outputs(client, "echo") == [value]


def test_the_size_limit_is_the_online_request_limit() -> None:
    from weave.trace_server_bindings.http_utils import REMOTE_REQUEST_BYTES_LIMIT

    assert writer_module.MAX_VALUE_BYTES == REMOTE_REQUEST_BYTES_LIMIT
