"""Integration autopatching on the local store: OpenAI, LangChain and LlamaIndex calls are
traced without any weave-specific code, as `weave.init` would arrange online.

The OpenAI client talks to a tiny OpenAI-compatible server on 127.0.0.1 started by the test,
so the traced call, its usage and its cost go through the real `openai` package.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import weave

from utils.tracing.testing import local_client

MODEL = "local-test-model"


class _ChatHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        words = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        reply = {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "forty two"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": words, "completion_tokens": 2, "total_tokens": words + 2},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


@pytest.fixture
def llm_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    with local_client(tmp_path, autopatch=True) as c:
        yield c


def short(op_name: str) -> str:
    return op_name.split("/")[-1].split(":")[0]


def test_openai_calls_are_traced_with_usage_and_cost(client: Any, llm_url: str) -> None:
    import openai

    oai = openai.OpenAI(base_url=llm_url, api_key="not-a-real-key", max_retries=0)

    @weave.op
    def ask(question: str) -> str:
        res = oai.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": question}]
        )
        return res.choices[0].message.content or ""

    assert ask("what is six times seven") == "forty two"
    client.add_cost(llm_id=MODEL, prompt_token_cost=0.5, completion_token_cost=1.0)
    client.flush()
    (root,) = client.get_calls(filter={"trace_roots_only": True}, include_costs=True)
    (llm,) = client.get_calls(filter={"parent_ids": [root.id]})
    assert short(llm.op_name) == "openai.chat.completions.create"
    assert llm.inputs["model"] == MODEL
    usage = root.summary["usage"][MODEL]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (5, 2)
    cost = root.summary["weave"]["costs"][MODEL]
    assert cost["prompt_tokens_total_cost"] + cost["completion_tokens_total_cost"] == 4.5


def test_langchain_runnables_are_traced(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.runnables import RunnableLambda

    # weave enables LangChain tracing through this variable; in the full suite an earlier
    # client's undo_patch can remove it while the patcher still counts as applied (seen once
    # in a complete run, not reproduced in isolation), so state it explicitly here.
    monkeypatch.setenv("WEAVE_TRACE_LANGCHAIN", "true")

    chain: Any = RunnableLambda(lambda x: x + 1) | RunnableLambda(lambda x: x * 2)
    assert chain.invoke(3) == 8
    client.flush()
    names = sorted(short(c.op_name) for c in client.get_calls())
    assert names == [
        "langchain.Chain.RunnableLambda",
        "langchain.Chain.RunnableLambda",
        "langchain.Chain.RunnableSequence",
    ]


def test_llamaindex_llm_calls_are_traced(client: Any) -> None:
    from llama_index.core.llms import MockLLM

    MockLLM(max_tokens=3).complete("hello local store")
    client.flush()
    roots = [short(c.op_name) for c in client.get_calls(filter={"trace_roots_only": True})]
    assert roots == ["llama_index.span.MockLLM.complete"]
