"""Conformance of the local trace store with the installed weave client.

The store implements weave's internal client/server protocol (pinned in
`utils/tracing/pin.py`). This file is the upgrade gate: one scenario drives every feature
the chapters rely on through the real `WeaveClient`, and static checks compare the
protocol surface of the installed weave with what the store implements. After bumping weave
in requirements/lock.txt, this must pass before `SUPPORTED_WEAVE` moves.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import weave

from utils.tracing.pin import SUPPORTED_WEAVE
from utils.tracing.testing import local_client

# Server methods the installed client can call that the local store deliberately lacks
# (they raise NotImplementedError naming the method). Hosted-only features: agents/OTel
# views, annotation queues, playground completions, custom runtimes, registry internals.
UNSUPPORTED = {
    "agent_agents_query",
    "agent_conversation_chat",
    "agent_custom_attrs_schema",
    "agent_search",
    "agent_spans_query",
    "agent_spans_stats",
    "agent_traces_chat",
    "agent_versions_query",
    "annotation_queue_add_calls",
    "annotation_queue_create",
    "annotation_queue_delete",
    "annotation_queue_items_query",
    "annotation_queue_read",
    "annotation_queue_update",
    "annotation_queues_query_stream",
    "annotation_queues_stats",
    "completions_create",
    "custom_runtime_apply",
    "projects_info",
}


def weave_client_server_calls() -> set[str]:
    """Protocol methods the installed weave package uses (`server.<name>` outside its HTTP
    layer), whether called directly or passed on, as in `retry_on_not_found(server.obj_read)`.
    """
    from utils.tracing.store.server import PROTOCOL_METHODS

    root = Path(weave.__file__).parent
    names: set[str] = set()
    pattern = re.compile(r"\bserver\.([a-z_]+)\b")
    for path in root.rglob("*.py"):
        if "trace_server_bindings" in path.parts or "vendor" in path.parts:
            continue
        names.update(pattern.findall(path.read_text(errors="ignore")))
    return names & PROTOCOL_METHODS


def test_pin_matches_installed_weave() -> None:
    assert weave.__version__ == SUPPORTED_WEAVE, (
        f"weave {weave.__version__} is installed but the local store is pinned to "
        f"{SUPPORTED_WEAVE}: run this file, fix the store, then bump utils/tracing/pin.py"
    )


def test_every_server_call_of_the_client_is_implemented_or_declared() -> None:
    from utils.tracing.store.server import IMPLEMENTED_METHODS, PROTOCOL_METHODS

    called = weave_client_server_calls()
    assert {"call_start", "call_end", "obj_read", "calls_query_stream"} <= called  # scan works
    unknown = called - IMPLEMENTED_METHODS - UNSUPPORTED
    assert not unknown, f"the installed weave calls server methods the store ignores: {unknown}"
    stale = UNSUPPORTED - PROTOCOL_METHODS
    assert not stale, f"no longer in the protocol (update UNSUPPORTED): {stale}"


def test_implemented_methods_match_the_protocol_signatures() -> None:
    from weave.trace_server_bindings.client_interface import TraceServerClientInterface

    from utils.tracing.store.server import IMPLEMENTED_METHODS, LocalTraceServer

    assert len(IMPLEMENTED_METHODS) >= 40
    for name in IMPLEMENTED_METHODS:
        theirs = inspect.signature(getattr(TraceServerClientInterface, name))
        ours = inspect.signature(getattr(LocalTraceServer, name))
        assert list(theirs.parameters) == list(ours.parameters), name


# ----------------------------------------------------------------------------- the scenario
@weave.op
def fake_llm(prompt: str, model: str = "course-tiny") -> dict:
    n = len(prompt.split())
    return {
        "model": model,
        "usage": {"prompt_tokens": n, "completion_tokens": 3, "total_tokens": n + 3},
        "text": f"answer to {prompt}",
    }


@weave.op
def retrieve(question: str) -> list[str]:
    if "crash" in question:
        raise RuntimeError("index offline")
    return [f"doc:{question}"]


@weave.op
def rag(question: str) -> str:
    try:
        docs = retrieve(question)
    except RuntimeError:
        docs = []
    return fake_llm(question + " " + " ".join(docs))["text"]


class RagModel(weave.Model):
    style: str

    @weave.op
    def predict(self, question: str) -> str:
        return self.style + rag(question)


@weave.op
def mentions_doc(output: str) -> dict:
    return {"has_doc": "doc:" in output}


class Brevity(weave.Scorer):
    max_words: int = 10

    @weave.op
    def score(self, output: str) -> dict:
        return {"brief": len(output.split()) <= self.max_words}


def expr(e: dict) -> dict:
    return {"$expr": e}


def field(name: str) -> dict:
    return {"$getField": name}


def lit(value: Any) -> dict:
    return {"$literal": value}


def short(call: Any) -> str:
    return call.op_name.split("/")[-1].split(":")[0]


def test_conformance_scenario(tmp_path: Path) -> None:
    with local_client(tmp_path, project="conformance") as client:
        # -- ops, nesting, attributes, display names, exceptions
        with weave.attributes({"env": "ci", "round": 1}):
            for q in ("alpha", "beta", "crash gamma"):
                rag(q)
        _, named = fake_llm.call("rename me")
        named.set_display_name("renamed call")
        with pytest.raises(RuntimeError):
            retrieve("crash now")
        client.flush()

        calls = list(client.get_calls())
        assert len(calls) == 3 * 3 + 1 + 1  # rag, retrieve and llm per question, plus two
        assert all(c.started_at and c.ended_at for c in calls)
        roots = list(client.get_calls(filter={"trace_roots_only": True}))
        assert [short(c) for c in roots] == ["rag", "rag", "rag", "fake_llm", "retrieve"]
        status = {
            c.inputs.get("question") or c.inputs.get("prompt"): c.summary["weave"]["status"]
            for c in roots
        }
        assert status == {
            "alpha": "success",
            "beta": "success",
            "crash gamma": "descendant_error",
            "rename me": "success",
            "crash now": "error",
        }
        (crash,) = [c for c in roots if c.inputs.get("question") == "crash now"]
        assert "index offline" in crash.exception

        # -- filters: op refs (exact, wildcard, bare), parents, ids, traces
        llm_ref = weave.publish(fake_llm).uri
        assert len(client.get_calls(filter={"op_names": [llm_ref]})) == 4
        assert len(client.get_calls(filter={"op_names": [llm_ref.rsplit(":", 1)[0] + ":*"]})) == 4
        first = roots[0]
        kids = list(client.get_calls(filter={"parent_ids": [first.id]}))
        assert sorted(short(c) for c in kids) == ["fake_llm", "retrieve"]
        assert len(client.get_calls(filter={"trace_ids": [first.trace_id]})) == 3
        assert len(client.get_calls(filter={"call_ids": [first.id, named.id]})) == 2

        # -- mongo-style queries, sort, limit/offset
        in_ci = expr({"$eq": [field("attributes.env"), lit("ci")]})
        assert len(client.get_calls(query=in_ci)) == 9  # children inherit attributes
        errors = expr(
            {"$in": [field("summary.weave.status"), [lit("error"), lit("descendant_error")]]}
        )
        assert len(client.get_calls(query=errors)) == 3
        long_prompts = expr(
            {
                "$and": [
                    {
                        "$contains": {
                            "input": field("op_name"),
                            "substr": lit("FAKE_LLM"),
                            "case_insensitive": True,
                        }
                    },
                    {
                        "$gte": [
                            {
                                "$convert": {
                                    "input": field("summary.usage.course-tiny.prompt_tokens"),
                                    "to": "double",
                                }
                            },
                            lit(2),
                        ]
                    },
                    {"$not": [{"$eq": [field("display_name"), lit("renamed call")]}]},
                    {
                        "$or": [
                            {"$gt": [field("summary.weave.latency_ms"), lit(-1)]},
                            {"$lt": [field("started_at"), lit(0)]},
                        ]
                    },
                    {"$lte": [field("output.text"), lit("zzz")]},
                ]
            }
        )
        assert len(client.get_calls(query=long_prompts)) == 3
        ordered = client.get_calls(
            filter={"trace_roots_only": True},
            sort_by=[{"field": "started_at", "direction": "desc"}],
            limit=2,
            offset=1,
        )
        assert [short(c) for c in ordered] == ["fake_llm", "rag"]

        # -- usage, latency, costs
        (alpha,) = [c for c in roots if c.inputs.get("question") == "alpha"]
        usage = alpha.summary["usage"]["course-tiny"]
        assert usage == {
            "requests": 1,
            "prompt_tokens": 2,
            "completion_tokens": 3,
            "total_tokens": 5,
        }
        assert alpha.summary["weave"]["latency_ms"] >= 0
        client.add_cost(llm_id="course-tiny", prompt_token_cost=0.25, completion_token_cost=0.5)
        priced = client.get_call(alpha.id, include_costs=True)
        cost = priced.summary["weave"]["costs"]["course-tiny"]
        assert (cost["prompt_tokens_total_cost"], cost["completion_tokens_total_cost"]) == (
            0.5,
            1.5,
        )

        # -- display name, get_call
        assert client.get_call(named.id).display_name == "renamed call"

        # -- feedback
        alpha_call = client.get_call(alpha.id)
        alpha_call.feedback.add_reaction("👍")
        alpha_call.feedback.add_note("good answer")
        alpha_call.feedback.add("correctness", {"score": 0.9, "by": "reviewer"})
        assert [f.payload["emoji"] for f in client.get_feedback(reaction="👍")] == ["👍"]
        custom = client.get_feedback(query=expr({"$gt": [field("payload.score"), lit(0.5)]}))
        assert [f.feedback_type for f in custom] == ["correctness"]
        (with_fb,) = client.get_calls(filter={"call_ids": [alpha.id]}, include_feedback=True)
        assert len(with_fb.summary["weave"]["feedback"]) == 3

        # -- objects, tables, prompts, models, versions, refs
        ds_ref = weave.publish(
            weave.Dataset(name="questions", rows=[{"question": "alpha"}, {"question": "beta"}])
        )
        assert [r["question"] for r in weave.ref("questions:v0").get().rows] == ["alpha", "beta"]
        p0 = weave.publish(weave.StringPrompt("Q: {question}"), name="rag-prompt")
        p1 = weave.publish(weave.StringPrompt("Question: {question}\nA:"), name="rag-prompt")
        assert weave.ref("rag-prompt:v0").get().format(question="x") == "Q: x"
        assert weave.ref(p1.uri).get().format(question="x").startswith("Question: x")
        weave.publish(weave.MessagesPrompt([{"role": "user", "content": "{q}"}]), name="msgs")
        assert weave.ref("msgs").get().format(q="hi")[0]["content"] == "hi"
        model_ref = weave.publish(RagModel(style="> "), name="rag-model")
        assert weave.ref("rag-model:latest").get().style == "> "

        # -- tags and aliases (chapter 05's local registry)
        client.add_tags(p0, ["baseline"])
        client.set_aliases(p0, "production")
        assert client.get_tags_and_aliases(p0) == (["baseline"], ["production"])
        client.set_aliases(p1, "production")
        assert client.get_aliases(p0) == [] and client.get_aliases(p1) == ["production", "latest"]
        assert weave.ref("rag-prompt:production").get().format(question="y").startswith("Question")
        client.remove_aliases(p1, "production")
        assert client.list_aliases() == [] and client.list_tags() == ["baseline"]

        # -- evaluation with function and class scorers, and its child calls
        evaluation = weave.Evaluation(
            name="rag-eval", dataset=weave.ref(ds_ref.uri).get(), scorers=[mentions_doc, Brevity()]
        )
        summary = asyncio.run(evaluation.evaluate(weave.ref(model_ref.uri).get()))
        assert summary["mentions_doc"]["has_doc"]["true_count"] == 2
        assert "Brevity" in summary
        client.flush()
        (run,) = evaluation.get_evaluate_calls()
        trace = [short(c) for c in client.get_calls(filter={"trace_ids": [run.trace_id]})]
        for op, n in (
            ("Evaluation.predict_and_score", 2),
            ("RagModel.predict", 2),
            ("mentions_doc", 2),
            ("Brevity.score", 2),
            ("Evaluation.summarize", 1),
        ):
            assert trace.count(op) == n, (op, trace)
        scored = client.get_calls(scored_by=["mentions_doc"])
        assert [short(c) for c in scored] == ["RagModel.predict", "RagModel.predict"]

        # -- EvaluationLogger
        logger = weave.EvaluationLogger(model="manual-model", dataset="manual-data")
        pred = logger.log_prediction(inputs={"question": "q"}, output="a")
        pred.log_score("exact", True)
        pred.finish()
        logger.log_summary({"exact": 1.0})
        client.flush()
        evaluate_ref = f"weave:///{client.project_id}/op/Evaluation.evaluate:*"
        assert len(client.get_calls(filter={"op_names": [evaluate_ref]})) == 2

        # -- deleting calls (and their descendants)
        before = len(client.get_calls())
        client.delete_call(client.get_call(first.id))
        assert len(client.get_calls()) == before - 3
