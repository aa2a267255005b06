"""The real local LLM behind its server, through all three client libraries (marker: llm).

A 1.5B model at ~10 tokens/s on 2 cores is neither fast nor perfectly repeatable (llama.cpp's
prompt cache can change a repeated answer), so these tests keep answers short and assert
properties: non-empty text, usage present and within the limit, a factual keyword, valid JSON.

The session reuses a server that is already up (as notebooks do) and stops only one it started.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from utils.llm import clients, server
from utils.llm import model as llm_model
from utils.mode import RESOLVED_ENV
from utils.paths import REPO_ROOT

pytestmark = pytest.mark.llm

FACT = "What is the capital of France? Answer with one word."


@pytest.fixture(scope="module", autouse=True)
def llm_server() -> Iterator[server.ServerInfo]:
    """Local mode, the course server up (reused if running), and stopped after if we started it."""
    mp = pytest.MonkeyPatch()
    mp.delenv("OPENAI_API_KEY", raising=False)
    mp.setenv(RESOLVED_ENV, "local")
    try:
        llm_model.ensure_model(download=False)
        server.check_runtime()
    except (llm_model.ModelError, server.LLMServerError) as err:
        mp.undo()
        pytest.skip(f"local LLM not set up: {err}")
    info = server.ensure_running()
    yield info
    if not info.reused:
        server.stop(info.port)
    mp.undo()


def test_second_call_reuses_the_running_server(llm_server: server.ServerInfo) -> None:
    again = server.ensure_running()
    assert again.reused and again.port == llm_server.port
    assert again.pid == llm_server.pid is not None
    assert server.probe() == "ours"
    assert server.status()["state"] == "ours"


def test_openai_chat_answers_and_reports_usage() -> None:
    client = clients.openai_client()
    assert clients.chat_model() in [m.id for m in client.models.list().data]
    resp = client.chat.completions.create(
        model=clients.chat_model(),
        messages=[{"role": "user", "content": FACT}],
        max_tokens=16,
        temperature=0,
    )
    text = resp.choices[0].message.content or ""
    assert "paris" in text.lower()
    assert resp.usage is not None
    assert 0 < resp.usage.prompt_tokens < 100
    assert 0 < resp.usage.completion_tokens <= 16
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_openai_streaming_yields_incremental_text() -> None:
    client = clients.openai_client()
    stream = client.chat.completions.create(
        model=clients.chat_model(),
        messages=[{"role": "user", "content": "Count from 1 to 5, separated by spaces."}],
        max_tokens=24,
        temperature=0,
        stream=True,
    )
    pieces = [
        c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 3, "a stream arrives in several chunks"
    text = "".join(pieces)
    assert all(d in text for d in "12345")


def test_openai_json_extraction_parses() -> None:
    client = clients.openai_client()
    resp = client.chat.completions.create(
        model=clients.chat_model(),
        messages=[
            {"role": "system", "content": "Reply with a JSON object only."},
            {
                "role": "user",
                "content": 'Extract the person as JSON with keys "name" and "age": '
                "Alice turned 31 last week.",
            },
        ],
        response_format={"type": "json_object"},
        max_tokens=48,
        temperature=0,
    )
    data = json.loads(resp.choices[0].message.content or "")
    assert str(data.get("name", "")).lower() == "alice"
    assert int(data.get("age")) == 31


def test_langchain_invoke_respects_max_tokens() -> None:
    from langchain_core.messages import AIMessage

    llm = clients.langchain_chat(temperature=0, max_tokens=12)
    msg = llm.invoke("Write a long, detailed essay about the history of the ocean.")
    assert isinstance(msg, AIMessage) and str(msg.content).strip()
    usage = msg.usage_metadata
    assert usage is not None
    assert 0 < usage["output_tokens"] <= 12, "the server must have received max_tokens"
    assert usage["input_tokens"] > 0
    short = llm.invoke("Write a long essay about mountains.", max_tokens=4)  # per-call limit
    assert short.usage_metadata is not None and short.usage_metadata["output_tokens"] <= 4


def test_langchain_factual_answer() -> None:
    llm = clients.langchain_chat(temperature=0, max_tokens=16)
    assert "paris" in str(llm.invoke(FACT).content).lower()


def test_llamaindex_chat_answers_with_usage() -> None:
    from llama_index.core.llms import ChatMessage

    llm = clients.llamaindex_llm(temperature=0, max_tokens=16)
    resp = llm.chat([ChatMessage(role="user", content=FACT)])
    assert "paris" in (resp.message.content or "").lower()
    raw = resp.raw
    usage = raw.get("usage") if isinstance(raw, dict) else getattr(raw, "usage", None)
    assert usage is not None
    completion = usage["completion_tokens"] if isinstance(usage, dict) else usage.completion_tokens
    assert 0 < completion <= 16


def test_llamaindex_completion_is_bounded() -> None:
    llm = clients.llamaindex_llm(temperature=0, max_tokens=8)
    text = llm.complete("List the planets of the solar system.").text
    assert text.strip()
    assert len(re.findall(r"\S+", text)) <= 16, "8 tokens cannot make many words"


TRACED_SCRIPT = """
import json
from llama_index.core.llms import ChatMessage
from utils import llm, tracing

client = tracing.init("llm-clients-traced")
llm.register_costs(client, [llm.MODEL_ALIAS])
oc = llm.openai_client()
oc.chat.completions.create(
    model=llm.chat_model(), messages=[{"role": "user", "content": "Say hi."}],
    max_tokens=6, temperature=0,
)
llm.langchain_chat(temperature=0, max_tokens=6).invoke("Say hello.")
llm.llamaindex_llm(temperature=0, max_tokens=6).chat([ChatMessage(role="user", content="Hey.")])
client.flush()
rows = []
for call in client.get_calls(include_costs=True):
    summary = dict(call.summary or {})
    rows.append({
        "op": call.op_name.split("/")[-1].split(":")[0],
        "root": call.parent_id is None,
        "usage": summary.get("usage") or {},
        "costs": (summary.get("weave") or {}).get("costs") or {},
    })
print("ROWS=" + json.dumps(rows))
"""


def test_three_clients_are_traced_with_usage_and_cost(tmp_path: Path) -> None:
    """With course tracing on, each library's call lands in the store with tokens and cost."""
    if importlib.util.find_spec("utils.tracing") is None:
        pytest.skip("utils.tracing is not available")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(COURSE_HOME=str(tmp_path), **{RESOLVED_ENV: "local"}, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", TRACED_SCRIPT],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = json.loads(proc.stdout.split("ROWS=", 1)[1])
    roots = {r["op"]: r for r in rows if r["root"]}
    assert {"openai.chat.completions.create", "langchain.Llm.ChatOpenAI"} <= set(roots)
    assert any(op.startswith("llama_index.") for op in roots), sorted(roots)
    for op, row in roots.items():
        usage = row["usage"].get(server.MODEL_ALIAS)
        assert usage, f"{op}: no token usage for the local model"
        assert 0 < usage["completion_tokens"] <= 6 and usage["prompt_tokens"] > 0
        cost = row["costs"].get(server.MODEL_ALIAS) or {}
        assert cost.get("completion_tokens_total_cost", 0) > 0, f"{op}: no cost"
