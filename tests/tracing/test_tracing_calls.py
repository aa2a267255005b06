"""Calls through the real weave client on the local store: ordering, filters, queries, status.

Every test drives `WeaveClient` (ops, `get_calls`, `get_call`, ...) exactly as a notebook
does; the store is only reached through the protocol the client speaks.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import weave


@weave.op
def leaf(x: int) -> int:
    return x + 1


@weave.op
def middle(x: int) -> int:
    return leaf(x) + leaf(x + 1)


@weave.op
def outer(x: int) -> int:
    return middle(x) * 2


@weave.op
def countdown(n: int) -> int:
    return 0 if n == 0 else 1 + countdown(n - 1)


@weave.op
def fails(x: int) -> int:
    raise ValueError(f"bad input {x}")


@weave.op
def guarded(x: int) -> int:
    try:
        return fails(x)
    except ValueError:
        return -1


@weave.op
def chat(prompt: str, model: str = "tiny-chat") -> dict:
    """A fake LLM call: the client turns `usage` + `model` in the output into summary.usage."""
    n = len(prompt.split())
    return {
        "model": model,
        "usage": {"prompt_tokens": n, "completion_tokens": 2 * n, "total_tokens": 3 * n},
        "text": prompt.upper(),
    }


@weave.op
def answer(question: str) -> str:
    return chat(question)["text"] + chat("and more")["text"]


def ids(calls: Any) -> set[str]:
    return {c.id for c in calls}


def test_every_nested_call_has_start_and_end(client: Any, tmp_path: Path) -> None:
    for i in range(75):  # 75 outer x (outer, middle, 2 leaves) = 300 calls
        outer(i)
    client.flush()
    calls = list(client.get_calls())
    assert len(calls) == 300
    assert all(c.started_at and c.ended_at for c in calls)
    by_id = {c.id: c for c in calls}
    for c in calls:
        if c.parent_id is not None:
            parent = by_id[c.parent_id]
            assert parent.trace_id == c.trace_id
    countdown(49)  # one chain 50 calls deep
    client.flush()
    chain = list(
        client.get_calls(
            query={
                "$expr": {
                    "$contains": {
                        "input": {"$getField": "op_name"},
                        "substr": {"$literal": "/countdown:"},
                    }
                }
            }
        )
    )
    assert len(chain) == 50 and len({c.trace_id for c in chain}) == 1
    assert sum(c.parent_id is None for c in chain) == 1
    with sqlite3.connect(tmp_path / "traces.sqlite") as db:
        half_rows = db.execute(
            "SELECT COUNT(*) FROM calls WHERE started_at IS NULL OR ended_at IS NULL"
        ).fetchone()[0]
    assert half_rows == 0


def test_end_before_start_loses_nothing(client: Any) -> None:
    """Hold every call_start back so ends reach the store first, as the thread pool can."""
    server = client.server
    real_start, real_end = server.call_start, server.call_end
    started: set[str] = set()
    early_ends: list[str] = []

    def slow_start(req: Any) -> Any:
        time.sleep(0.02)
        res = real_start(req)
        started.add(req["start"]["id"])
        return res

    def watched_end(req: Any) -> Any:
        if req["end"]["id"] not in started:
            early_ends.append(req["end"]["id"])
        return real_end(req)

    server.call_start, server.call_end = slow_start, watched_end
    try:
        for i in range(20):
            middle(i)
        client.flush()
    finally:
        del server.call_start, server.call_end
    assert early_ends, "the test did not manage to deliver an end before its start"
    calls = list(client.get_calls())
    assert len(calls) == 60
    assert all(c.op_name and c.started_at and c.ended_at for c in calls)
    assert all(c.summary["weave"]["status"] == "success" for c in calls)


def test_filters(client: Any) -> None:
    for i in range(3):
        outer(i)
    leaf(100)
    client.flush()
    roots = list(client.get_calls(filter={"trace_roots_only": True}))
    assert len(roots) == 4
    leaf_ref = weave.publish(leaf).uri  # the op's own ref (same digest as traced)
    exact = client.get_calls(filter={"op_names": [leaf_ref]})
    wildcard = client.get_calls(filter={"op_names": [leaf_ref.rsplit(":", 1)[0] + ":*"]})
    assert len(exact) == len(wildcard) == 7
    outer_root = next(c for c in roots if c.op_name.split("/")[-1].startswith("outer"))
    (mid,) = client.get_calls(filter={"parent_ids": [outer_root.id]})
    assert mid.op_name.split("/")[-1].startswith("middle")
    assert len(client.get_calls(filter={"trace_ids": [outer_root.trace_id]})) == 4
    picked = [c.id for c in list(client.get_calls())[:3]]
    assert ids(client.get_calls(filter={"call_ids": picked})) == set(picked)


def test_mongo_queries_on_inputs_output_attributes_summary(client: Any) -> None:
    for i in range(10):
        with weave.attributes({"env": "prod" if i % 2 else "dev", "batch": i // 5}):
            leaf(i)
    client.flush()

    def q(expr: dict) -> list[Any]:
        return list(client.get_calls(query={"$expr": expr}))

    def f(name: str) -> dict:
        return {"$getField": name}

    def lit(v: Any) -> dict:
        return {"$literal": v}

    assert len(q({"$eq": [f("inputs.x"), lit(3)]})) == 1
    assert len(q({"$gt": [f("inputs.x"), lit(6)]})) == 3
    assert len(q({"$gte": [f("output"), lit(7)]})) == 4
    assert len(q({"$lt": [f("inputs.x"), lit(2)]})) == 2
    assert len(q({"$lte": [f("inputs.x"), lit(2)]})) == 3
    assert len(q({"$eq": [f("attributes.env"), lit("prod")]})) == 5
    assert (
        len(
            q(
                {
                    "$and": [
                        {"$eq": [f("attributes.env"), lit("prod")]},
                        {"$eq": [f("attributes.batch"), lit(1)]},
                    ]
                }
            )
        )
        == 3
    )
    assert (
        len(q({"$or": [{"$eq": [f("inputs.x"), lit(0)]}, {"$eq": [f("inputs.x"), lit(9)]}]})) == 2
    )
    assert len(q({"$not": [{"$eq": [f("attributes.env"), lit("prod")]}]})) == 5
    assert len(q({"$in": [f("inputs.x"), [lit(1), lit(2), lit(99)]]})) == 2
    assert (
        len(
            q(
                {
                    "$contains": {
                        "input": f("op_name"),
                        "substr": lit("LEAF"),
                        "case_insensitive": True,
                    }
                }
            )
        )
        == 10
    )
    assert len(q({"$contains": {"input": f("op_name"), "substr": lit("LEAF")}})) == 0
    as_double = {"$convert": {"input": f("inputs.x"), "to": "double"}}
    assert len(q({"$gt": [as_double, lit(4.5)]})) == 5
    assert len(q({"$eq": [{"$convert": {"input": f("inputs.x"), "to": "string"}}, lit("4")]})) == 1
    assert len(q({"$eq": [f("summary.weave.status"), lit("success")]})) == 10
    assert len(q({"$gte": [f("summary.weave.latency_ms"), lit(0)]})) == 10
    assert len(q({"$eq": [f("summary.status_counts.success"), lit(1)]})) == 10
    # the client's own "exists" helper: missing fields compare equal to ""
    assert len(q({"$not": [{"$eq": [f("attributes.env"), lit("")]}]})) == 10
    assert len(q({"$not": [{"$eq": [f("attributes.missing"), lit("")]}]})) == 0


def test_unknown_operator_is_a_clear_error(client: Any) -> None:
    leaf(1)
    client.flush()
    with pytest.raises(ValueError, match=r"\$regex"):
        list(
            client.get_calls(
                query={"$expr": {"$regex": [{"$getField": "op_name"}, {"$literal": "x"}]}}
            )
        )


def test_sort_limit_offset_and_paging(client: Any) -> None:
    for i in [5, 1, 9, 3, 7, 0, 8, 2, 6, 4]:
        leaf(i)
    client.flush()
    desc = client.get_calls(sort_by=[{"field": "inputs.x", "direction": "desc"}])
    assert [c.inputs["x"] for c in desc] == list(range(9, -1, -1))
    page = client.get_calls(sort_by=[{"field": "inputs.x", "direction": "asc"}], limit=3, offset=4)
    assert [c.inputs["x"] for c in page] == [4, 5, 6]
    assert len(page) == 3
    by_start = [c.inputs["x"] for c in client.get_calls()]
    assert by_start == [5, 1, 9, 3, 7, 0, 8, 2, 6, 4]  # default: started_at ascending
    small_pages = client.get_calls(page_size=3, sort_by=[{"field": "output", "direction": "asc"}])
    assert [c.output for c in small_pages] == list(range(1, 11))


def test_statuses_and_exceptions(client: Any) -> None:
    with pytest.raises(ValueError):
        fails(1)
    guarded(2)
    leaf(3)
    running = client.create_call("long_job", {"n": 1})
    client.flush()
    status = {
        c.op_name.split("/")[-1].split(":")[0]: c.summary["weave"]["status"]
        for c in client.get_calls(filter={"trace_roots_only": True})
    }
    assert status == {
        "fails": "error",
        "guarded": "descendant_error",
        "leaf": "success",
        "long_job": "running",
    }
    (err,) = client.get_calls(
        query={"$expr": {"$eq": [{"$getField": "summary.weave.status"}, {"$literal": "error"}]}},
        filter={"trace_roots_only": True},
    )
    assert "bad input 1" in err.exception
    client.finish_call(running, output="done")
    client.flush()
    assert client.get_call(running.id).summary["weave"]["status"] == "success"


def test_usage_rolls_up_and_latency(client: Any) -> None:
    answer("three word question")
    client.flush()
    (root,) = client.get_calls(filter={"trace_roots_only": True})
    usage = root.summary["usage"]["tiny-chat"]
    assert usage["prompt_tokens"] == 3 + 2
    assert usage["completion_tokens"] == 6 + 4
    assert usage["total_tokens"] == 15
    assert usage["requests"] == 2
    assert isinstance(root.summary["weave"]["latency_ms"], int)
    assert root.summary["weave"]["trace_name"] == "answer"


def test_costs_after_add_cost(client: Any) -> None:
    answer("one two")
    client.flush()
    client.add_cost(llm_id="tiny-chat", prompt_token_cost=0.001, completion_token_cost=0.002)
    (root,) = client.get_calls(filter={"trace_roots_only": True}, include_costs=True)
    cost = root.summary["weave"]["costs"]["tiny-chat"]
    assert cost["prompt_tokens"] == 4 and cost["completion_tokens"] == 8
    assert cost["prompt_tokens_total_cost"] == pytest.approx(4 * 0.001)
    assert cost["completion_tokens_total_cost"] == pytest.approx(8 * 0.002)
    assert cost["prompt_token_cost_unit"] == "USD"
    (plain,) = client.get_calls(filter={"trace_roots_only": True})
    assert "costs" not in plain.summary["weave"]
    (found,) = client.query_costs(llm_ids=["tiny-chat"])
    client.purge_costs(found.id)
    assert client.query_costs(llm_ids=["tiny-chat"]) == []


def test_newest_price_in_effect_at_call_start_wins(client: Any) -> None:
    import datetime as dt

    past = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    client.add_cost(
        llm_id="tiny-chat", prompt_token_cost=1, completion_token_cost=1, effective_date=past
    )
    client.add_cost(llm_id="tiny-chat", prompt_token_cost=2, completion_token_cost=2)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    client.add_cost(
        llm_id="tiny-chat", prompt_token_cost=9, completion_token_cost=9, effective_date=future
    )
    chat("a b")
    client.flush()
    (call,) = client.get_calls(include_costs=True)
    assert call.summary["weave"]["costs"]["tiny-chat"]["prompt_token_cost"] == 2


def test_display_names_and_attributes(client: Any) -> None:
    @weave.op(call_display_name=lambda call: f"leaf of {call.inputs['x']}")
    def named(x: int) -> int:
        return x

    named(4)
    _, call = leaf.call(1)
    call.set_display_name("renamed")
    with weave.attributes({"user": "ada"}):
        leaf(2)
    client.flush()
    assert client.get_call(call.id).display_name == "renamed"
    by_name = client.get_calls(
        query={"$expr": {"$eq": [{"$getField": "display_name"}, {"$literal": "leaf of 4"}]}}
    )
    assert len(by_name) == 1
    call.remove_display_name()
    client.flush()
    got = client.get_call(call.id)
    assert got.display_name is None
    assert got.summary["weave"]["trace_name"] == "leaf"
    (ada,) = client.get_calls(
        query={"$expr": {"$eq": [{"$getField": "attributes.user"}, {"$literal": "ada"}]}}
    )
    assert ada.inputs["x"] == 2


def test_get_call_and_delete(client: Any) -> None:
    _, root = outer.call(1)
    leaf(5)
    client.flush()
    assert len(client.get_calls()) == 5
    fetched = client.get_call(root.id)
    assert fetched.output == 10 and fetched.inputs["x"] == 1
    client.delete_call(root)  # deletes its descendants too
    client.flush()
    remaining = list(client.get_calls())
    assert [c.inputs["x"] for c in remaining] == [5]
    with pytest.raises(ValueError, match="not found"):
        client.get_call(root.id)
    client.delete_calls([c.id for c in remaining])
    assert len(client.get_calls()) == 0
