"""DocsQA traced for real, on the course's local Weave store (no server, fake LLM client).

Checks what the Weave and Evaluations chapters rely on: one `predict` root with `retrieve` and
`generate` children, the injected client kept out of the model's version digest, and a
`weave.Evaluation` over DocsQA rows with the retrieval metrics as a scorer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import weave

from utils.docsqa.evalset import as_rows, load_eval_set
from utils.docsqa.metrics import retrieval_scores
from utils.docsqa.pipeline import DocsQA

local_client = pytest.importorskip("utils.tracing.testing").local_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weave.trace.vals")


class FakeClient:
    """The `chat.completions.create` shape of `openai.OpenAI`, always giving the same answer."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        reply = SimpleNamespace(
            message=SimpleNamespace(content="See the notes [x].", role="assistant")
        )
        self.chat = SimpleNamespace(
            completions=SimpleNamespace(create=lambda **_: SimpleNamespace(choices=[reply]))
        )


def make_qa(**fields: Any) -> DocsQA:
    return DocsQA(client=FakeClient(), retriever="bm25", model_name="fake", **fields)


def test_trace_tree_and_versioning(tmp_path: Path) -> None:
    with local_client(tmp_path) as client:
        qa = make_qa(top_k=3)
        out, call = DocsQA.predict.call(qa, "What is an artifact alias?")
        assert out["doc_ids"][0] == "artifacts-aliases"
        client.flush()
        calls = list(client.get_calls())
        names = {c.op_name.rsplit("/", 1)[-1].split(":")[0]: c for c in calls}
        assert set(names) == {"DocsQA.predict", "DocsQA.retrieve", "DocsQA.generate"}
        assert names["DocsQA.predict"].id == call.id and names["DocsQA.predict"].parent_id is None
        assert names["DocsQA.retrieve"].parent_id == call.id
        assert names["DocsQA.generate"].parent_id == call.id
        # the client is a private attribute: a new client does not make a new model version
        first = weave.publish(make_qa(top_k=3), name="docsqa").digest
        assert weave.publish(make_qa(top_k=3), name="docsqa").digest == first
        assert weave.publish(make_qa(top_k=4), name="docsqa").digest != first


def test_evaluation_with_retrieval_scorer(tmp_path: Path) -> None:
    @weave.op
    def retrieval(output: dict, gold_doc_ids: list) -> dict:
        return retrieval_scores(output["doc_ids"], gold_doc_ids, k=4)

    items = load_eval_set()
    rows = as_rows([*items[:4], items[-1]])  # four answerable questions and one unanswerable
    assert rows[-1]["gold_doc_ids"] == []
    with local_client(tmp_path):
        dataset = weave.Dataset(rows=rows)  # type: ignore[arg-type]  # pydantic converts lists
        evaluation = weave.Evaluation(dataset=dataset, scorers=[retrieval])
        summary = asyncio.run(evaluation.evaluate(make_qa(top_k=4)))
    assert 0.0 <= summary["retrieval"]["recall@4"]["mean"] <= 1.0
    assert "mrr" in summary["retrieval"] and "model_latency" in summary
