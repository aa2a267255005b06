"""The in-notebook views: calls as a DataFrame and a trace as an HTML tree."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import weave

from utils import tracing
from utils.tracing.view import FRAME_COLUMNS


@weave.op
def generate(prompt: str) -> dict:
    return {
        "model": "tiny",
        "usage": {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10},
        "text": prompt[::-1],
    }


@weave.op
def retrieve(query: str) -> list[str]:
    return [f"doc about {query}"]


@weave.op
def broken_tool(x: int) -> int:
    raise KeyError("tool <missing>")


@weave.op
def rag(question: str) -> str:
    docs = retrieve(question)
    with contextlib.suppress(KeyError):
        broken_tool(1)
    return generate(question + " " + docs[0])["text"]


def test_calls_frame_columns_and_values(client: Any) -> None:
    rag("what is weave")
    client.add_cost(llm_id="tiny", prompt_token_cost=0.01, completion_token_cost=0.02)
    frame = tracing.calls_frame(client)
    assert list(frame.columns) == FRAME_COLUMNS
    assert len(frame) == 4
    by_op = frame.set_index("op")
    assert by_op.loc["rag", "status"] == "descendant_error"
    assert by_op.loc["broken_tool", "status"] == "error"
    assert "KeyError" in by_op.loc["broken_tool", "exception"]
    assert by_op.loc["generate", "tokens"] == 10
    assert by_op.loc["rag", "prompt_tokens"] == 4  # rolled up from the child
    assert by_op.loc["generate", "cost"] == pytest.approx(4 * 0.01 + 6 * 0.02)
    assert (frame["latency_ms"] >= 0).all()
    assert str(frame["started_at"].dtype).startswith("datetime64")
    roots = tracing.calls_frame(client, filter={"trace_roots_only": True})
    assert list(roots["op"]) == ["rag"]


def test_calls_frame_from_calls_and_global_client(client: Any) -> None:
    generate("hi")
    client.flush()
    assert len(tracing.calls_frame(client.get_calls())) == 1
    assert len(tracing.calls_frame()) == 1  # the global client


def test_trace_tree_html(client: Any) -> None:
    _, call = rag.call("tree?")
    html = tracing.trace_html(call, client)
    for op in ("rag", "retrieve", "broken_tool", "generate"):
        assert op in html
    assert html.index("rag") < html.index("retrieve") < html.index("generate")
    assert "descendant_error" in html and ">error<" in html
    assert "tool &lt;missing&gt;" in html  # escaped, not raw markup
    assert "padding-left:22px" in html  # children are indented under the root
    assert "4 calls" in html
    assert tracing.trace_html(call.trace_id, client) == html
    assert tracing.trace_html(call.id, client) == html
    shown = tracing.show_trace(call)
    assert html in getattr(shown, "data", shown)
