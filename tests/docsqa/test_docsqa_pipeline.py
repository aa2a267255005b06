"""The DocsQA `weave.Model` with a fake OpenAI-style client: no server, no weave.init."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import weave

from utils.docsqa.corpus import Doc, chunk_corpus
from utils.docsqa.evalset import IDK
from utils.docsqa.pipeline import (
    DEFAULT_PROMPT,
    DEFAULT_PROMPT_NAME,
    PROMPTS,
    QUALITY_DEFAULTS,
    DocsQA,
    QualitySettingsError,
    cited_doc_ids,
    is_abstention,
    postprocess_answer,
    require_quality_settings,
)
from utils.docsqa.retrieval import (
    BM25Retriever,
    EmbeddingRetriever,
    HybridRetriever,
    get_retriever,
)

# weave's pydantic attribute hook reads `model_fields` on instances, which pydantic 2.11
# deprecates; it is weave's warning to fix, not ours, and it would bury real ones.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weave.trace.vals")

DOCS = [
    Doc("weave-ops", "Weave ops", ("weave",), "An op is a function decorated with weave.op."),
    Doc("tables", "Tables", ("wandb",), "A table holds rows of predictions and media."),
    Doc("alias", "Aliases", ("wandb",), "An alias is a movable label on one artifact version."),
]


class FakeClient:
    """Just the `chat.completions.create` shape of `openai.OpenAI`, recording each request."""

    def __init__(self, reply: str = "An op is a decorated function [weave-ops].") -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, **kwargs: Any) -> Any:
        self.requests.append(kwargs)
        message = SimpleNamespace(content=self.reply, role="assistant")
        return SimpleNamespace(choices=[SimpleNamespace(message=message)])


def make(
    reply: str = "An op is a decorated function [weave-ops].", **fields: Any
) -> tuple[DocsQA, FakeClient]:
    client = FakeClient(reply)
    fields.setdefault("model_name", "fake-model")
    fields.setdefault("min_cosine", None)  # a keyword retriever over toy docs has no cosine
    qa = DocsQA(client=client, retriever_obj=BM25Retriever(chunk_corpus(DOCS)), **fields)
    return qa, client


@pytest.fixture(autouse=True)
def _untraced() -> Iterator[None]:
    """Run every test here with no global Weave client, whatever other test files left behind:
    these tests check that the pipeline works as plain Python, before any `weave.init`."""
    from weave.trace.context import weave_client_context

    previous = weave_client_context.get_weave_client()
    weave_client_context.set_weave_client_global(None)
    try:
        yield
    finally:
        weave_client_context.set_weave_client_global(previous)


def test_no_weave_client_is_initialised() -> None:
    assert weave.get_client() is None


def test_prompt_contains_retrieved_context_and_question() -> None:
    qa, client = make(top_k=2, temperature=0.2, max_tokens=50)
    out = qa.predict("What is a weave op?")
    req = client.requests[0]
    assert req["model"] == "fake-model"
    assert req["temperature"] == 0.2 and req["max_tokens"] == 50
    system, user = req["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert "What is a weave op?" in user["content"]
    assert "[weave-ops] Weave ops\nAn op is a function decorated with weave.op." in user["content"]
    assert "I don't know" in user["content"]  # the abstention instruction
    for text in out["contexts"]:
        assert text in user["content"]


def test_predict_output_shape() -> None:
    qa, _ = make(top_k=2)
    out = qa.predict("What is a weave op?")
    assert out["answer"] == "An op is a decorated function [weave-ops]."
    assert out["doc_ids"][0] == "weave-ops" and len(out["doc_ids"]) == 2
    assert out["chunk_ids"][0] == "weave-ops#0"
    assert out["citations"] == ["weave-ops"]
    assert out["abstained"] is False and out["fallback"] is None
    assert out["abstention"] == "answer" and out["max_cosine"] is None
    assert out["model"] == "fake-model"


def test_ops_callable_directly() -> None:
    qa, client = make(top_k=1)
    contexts = qa.retrieve("movable label on an artifact version")
    assert [c["doc_id"] for c in contexts] == ["alias"]
    assert set(contexts[0]) == {"chunk_id", "doc_id", "title", "text", "score"}
    assert qa.generate("q", contexts) == client.reply  # raw text: no post-processing here
    assert isinstance(DocsQA.predict, weave.trace.op_protocol.Op)


def test_abstention_is_normalised() -> None:
    qa, _ = make(reply="<think>not in notes</think>\nI do not know based on the notes.")
    out = qa.predict("What is the capital of Australia?")
    assert out["answer"] == IDK and out["abstained"] is True and out["citations"] == []


def test_min_score_fallback_skips_the_llm() -> None:
    qa, client = make(min_score=100.0)
    out = qa.predict("What is a weave op?")
    assert out["answer"] == IDK and out["fallback"] == "low_retrieval_score"
    assert out["model"] is None and client.requests == []


def test_default_model_and_client_come_from_utils_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_client = FakeClient("ok")
    fake_llm = types.ModuleType("utils.llm")
    fake_llm.openai_client = lambda: fake_client  # type: ignore[attr-defined]
    fake_llm.chat_model = lambda: "course-default"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "utils.llm", fake_llm)
    qa = DocsQA(retriever_obj=BM25Retriever(chunk_corpus(DOCS)), min_cosine=None)
    assert qa.model_name == ""
    out = qa.predict("What is a table?")
    assert out["model"] == "course-default" and out["answer"] == "ok"
    assert fake_client.requests[0]["model"] == "course-default"


def test_fields_are_versionable_and_client_is_not() -> None:
    qa, _ = make()
    dumped = qa.model_dump()
    assert {
        "retriever",
        "top_k",
        "prompt_template",
        "model_name",
        "temperature",
        "max_tokens",
    } <= set(dumped)
    assert "client" not in dumped and "_client" not in dumped
    assert qa.prompt_template == DEFAULT_PROMPT


@pytest.mark.parametrize("bad", [{"prompt_template": "no slots"}, {"top_k": 0}])
def test_invalid_settings_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DocsQA(**bad)


def test_default_retriever_is_the_course_corpus() -> None:
    qa = DocsQA(client=FakeClient(), model_name="m", retriever="bm25", top_k=3)
    out = qa.predict("How do I move the production alias back to roll back a model?")
    assert "registry-aliases" in out["doc_ids"]
    assert get_retriever("bm25") is get_retriever("bm25")  # built once per process


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Answer: Runs hold config.  ", "Runs hold config."),
        ("<think>\nlet me see\n</think>\n\nA: Use define_metric.", "Use define_metric."),
        ("<think>ran out of tokens", IDK),
        ("", IDK),
        ("I don't know.", IDK),
        ("I don’t know, the notes do not say.", IDK),
        ("Not in the notes.", IDK),
        ("The course notes do not contain the answer.", IDK),
        ("W&B was founded in 2017 by Lukas Biewald. I don't know.", IDK),
        ("The notes do not say; files go to ./artifacts.", IDK),
        (
            "No. Resuming does not restore weights [wandb-resume-runs].",
            "No. Resuming does not restore weights [wandb-resume-runs].",
        ),
        (
            "I know: use wandb sync [wandb-offline-mode].",
            "I know: use wandb sync [wandb-offline-mode].",
        ),
    ],
)
def test_postprocess_answer(raw: str, expected: str) -> None:
    assert postprocess_answer(raw) == expected


def test_helpers() -> None:
    assert is_abstention(IDK) and not is_abstention("Yes.")
    answer = (
        "Use aliases [artifacts-aliases, registry-aliases] and see [made-up] [artifacts-aliases#1]."
    )
    assert cited_doc_ids(answer) == ["artifacts-aliases", "registry-aliases", "made-up"]
    assert cited_doc_ids(answer, allowed=["artifacts-aliases"]) == ["artifacts-aliases"]


class WordEncoder:
    """Fake embeddings: one dimension per vocabulary word, so cosine = shared-word overlap."""

    VOCAB = ("op", "weave", "function", "table", "rows", "alias", "label", "artifact", "version")

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for t in texts:
            words = set(re.findall(r"[a-z]+", t.lower()))
            rows.append([1.0 if w in words else 0.0 for w in self.VOCAB] + [0.1])
        m = np.array(rows, dtype=np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)


def _gated(kind: str, min_cosine: float | None) -> tuple[DocsQA, FakeClient]:
    chunks = chunk_corpus(DOCS)
    dense = EmbeddingRetriever(chunks, encoder=WordEncoder())
    retr = dense if kind == "embedding" else HybridRetriever(dense, BM25Retriever(chunks))
    client = FakeClient()
    qa = DocsQA(client=client, retriever_obj=retr, model_name="m", min_cosine=min_cosine)
    return qa, client


@pytest.mark.parametrize("kind", ["embedding", "hybrid"])
def test_cosine_gate_refuses_off_topic_questions_without_the_llm(kind: str) -> None:
    qa, client = _gated(kind, 0.5)
    off = qa.predict("Who won the football world cup?")
    assert off["answer"] == IDK and off["fallback"] == "low_cosine" and client.requests == []
    assert off["max_cosine"] is not None and off["max_cosine"] < 0.5
    on = qa.predict("What is a weave op function?")
    assert on["fallback"] is None and len(client.requests) == 1 and on["max_cosine"] >= 0.5
    assert qa.max_cosine("What is a weave op function?") == pytest.approx(
        on["max_cosine"], abs=1e-4
    )


def test_gate_off_and_keyword_only_retriever() -> None:
    qa, client = _gated("embedding", None)
    assert qa.predict("Who won the football world cup?")["fallback"] is None
    assert len(client.requests) == 1
    # BM25 has no cosine: the model runs ungated instead of building an embedding index
    bm25_toy, bm25_client = make(min_cosine=0.99)
    out = bm25_toy.predict("Who won the football world cup?")
    assert out["max_cosine"] is None and out["fallback"] is None
    assert len(bm25_client.requests) == 1 and bm25_toy.max_cosine("anything") is None


def test_quality_defaults_are_the_model_defaults() -> None:
    qa = DocsQA()
    for key, value in QUALITY_DEFAULTS.items():
        assert getattr(qa, key) == value, key
    assert qa.prompt_template == DEFAULT_PROMPT


def test_prompt_variants_all_have_slots_and_the_abstention_phrase() -> None:
    assert PROMPTS[DEFAULT_PROMPT_NAME] == DEFAULT_PROMPT
    for name, template in PROMPTS.items():
        assert "{context}" in template and "{question}" in template, name
        assert "I don't know." in template, name
        DocsQA(prompt_template=template)  # accepted by the model's validator
    # rules-after really puts the rule after the question (the variant it is named for)
    after = PROMPTS["rules-after"]
    assert after.index("I don't know.") > after.index("{question}")


def test_require_quality_settings() -> None:
    require_quality_settings(DocsQA())  # the defaults are the quality configuration
    with pytest.raises(QualitySettingsError, match="max_tokens=40"):
        require_quality_settings(DocsQA(max_tokens=40))  # the fast profile
    with pytest.raises(QualitySettingsError, match=r"retriever='bm25'.*top_k=2"):
        require_quality_settings(DocsQA(retriever="bm25", top_k=2))  # chapter 01's tracing demo
    with pytest.raises(QualitySettingsError, match="prompt_template"):
        require_quality_settings(DocsQA(prompt_template="{context} {question}"))
