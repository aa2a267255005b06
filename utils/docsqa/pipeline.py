"""`DocsQA`: retrieve course documents, then ask an OpenAI-compatible chat model to answer.

A `weave.Model` so every setting that changes answers (retriever, k, prompt, model, temperature)
is a versioned field: change the prompt and Weave records a new model version, and Evaluations
compare versions side by side. `predict` is an op calling two ops, `retrieve` and `generate`, so
a trace shows which chunks the model saw next to what it said.

The LLM client is injectable (`DocsQA(client=...)`): tests pass a fake with the same
`chat.completions.create` shape and need no server. Without one, the course's `utils.llm` picks
the client (local server or OpenAI) on first use; it is imported lazily so building a model, or
running the retriever alone, never needs the LLM stack.

Ops run untraced until `weave.init` is called, so everything here also works as plain Python.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

import weave
from pydantic import PrivateAttr, field_validator

from utils.docsqa.abstention import classify, is_abstention
from utils.docsqa.corpus import DEFAULT_MAX_CHARS
from utils.docsqa.evalset import IDK
from utils.docsqa.retrieval import (
    EmbeddingRetriever,
    HybridRetriever,
    Retriever,
    RetrieverKind,
    get_retriever,
)

__all__ = [
    "QUALITY_DEFAULTS",
    "DocsQA",
    "QualitySettingsError",
    "cited_doc_ids",
    "is_abstention",
    "postprocess_answer",
    "require_quality_settings",
]

# Settings behind every answer-quality number the course reports, chosen from measurements on
# the eval set (benchmarks/bench_docsqa.py; numbers in data/docsqa/README.md). They are also the
# field defaults of `DocsQA`, so `DocsQA()` is the configuration those numbers describe.
QUALITY_DEFAULTS: dict[str, Any] = {
    "retriever": "hybrid",
    "top_k": 3,
    "max_tokens": 160,
    "temperature": 0.0,
    "min_cosine": 0.35,
}

SYSTEM_PROMPT = (
    "You are DocsQA, the teaching assistant of a course on Weights & Biases and Weave. "
    "You answer from the course notes you are given and never from memory."
)

# Prompt variants measured for issue 25 (numbers in data/docsqa/README.md), by name so a benchmark
# row or a label file can say which one produced an answer. All put the notes first and the
# question after them; they differ in where the rules sit and how the abstention rule is worded.
# The fixed phrase makes abstention measurable; `utils.docsqa.abstention` also catches
# paraphrases and an answer that ends in "I don't know."
PROMPTS: dict[str, str] = {
    # rules before the notes (the prompt DocsQA had before issue 25, and its default again): on
    # its own it abstained on 4 of 20 unanswerable questions, but it refused only 1 of 40
    # answerable ones; with the cosine gate it is the best measured configuration
    "rules-first": """Answer the question using ONLY the course notes below.
If the notes do not contain the answer, reply with exactly: I don't know.
Answer in at most three sentences. After the answer, cite the notes you used by the ids shown
in square brackets above each note.

Course notes:
{context}

Question: {question}
Answer:""",
    # rules right after the question, where a small model attends most: 9/20 abstentions
    # without the gate, but 8/40 false refusals, 7 of them a right answer ending in "I don't know."
    "rules-after": """Answer the question using ONLY the course notes below.

Course notes:
{context}

Question: {question}

Answer from the notes above in at most three sentences, then cite the id of the note you used
in square brackets, like [weave-ops]. If the notes say nothing about what is asked, reply
exactly: I don't know.
Answer:""",
    # as rules-after, but the abstention rule comes first and the last instruction is about
    # citing: rules-after often ended a correct answer with "I don't know." (an abstention)
    "idk-first": """Answer the question using ONLY the course notes below.

Course notes:
{context}

Question: {question}

If the notes say nothing about what is asked, reply exactly: I don't know. Otherwise answer from
the notes above in at most three sentences and end with the id of the note you used in square
brackets, like [weave-ops].
Answer:""",
    # the refusal must be the whole reply: too strict, the local model then refused the first
    # three answerable questions of the sample in a row (q006, q008, q009); not measured further
    "whole-reply": """Answer the question using ONLY the course notes below.

Course notes:
{context}

Question: {question}

If the notes above answer the question, answer in at most three sentences and cite the id of
the note you used in square brackets, like [weave-ops]. If they do not, your whole reply must be
exactly: I don't know.
Answer:""",
}
DEFAULT_PROMPT_NAME = "rules-first"
DEFAULT_PROMPT = PROMPTS[DEFAULT_PROMPT_NAME]
LEGACY_PROMPT = PROMPTS["rules-first"]  # the name used before the variants were measured

_THINK_RE = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_LABEL_RE = re.compile(r"^\s*(answer|a)\s*:\s*", re.IGNORECASE)
_CITE_RE = re.compile(r"\[([a-z0-9][a-z0-9#,\s-]*)\]")


class QualitySettingsError(ValueError):
    """A configuration differs from the measured quality defaults, so its accuracy numbers would
    not be the ones the course reports (e.g. the fast profile's 40-token answers are cut off)."""


def require_quality_settings(model: DocsQA) -> None:
    """Raise `QualitySettingsError` unless `model` uses `QUALITY_DEFAULTS` and the default
    prompt: call it before printing an answer-quality number in a chapter."""
    diffs = {
        key: (getattr(model, key), value)
        for key, value in QUALITY_DEFAULTS.items()
        if getattr(model, key) != value
    }
    if model.prompt_template != DEFAULT_PROMPT:
        diffs["prompt_template"] = ("custom", "DEFAULT_PROMPT")
    if diffs:
        shown = ", ".join(
            f"{k}={have!r} (quality default {want!r})" for k, (have, want) in diffs.items()
        )
        raise QualitySettingsError(f"not the quality configuration: {shown}")


def _llm() -> Any:
    """`utils.llm`, imported on first LLM call only (it may pull in server checks)."""
    return importlib.import_module("utils.llm")


def format_context(contexts: Sequence[dict[str, Any]]) -> str:
    """One block per chunk headed `[doc_id] title`: the id the prompt asks the model to cite."""
    return "\n\n".join(f"[{c['doc_id']}] {c['title']}\n{c['text']}" for c in contexts)


def clean_completion(raw: str) -> str:
    """Drop `<think>` blocks that local reasoning models emit (an unclosed one means the token
    budget ran out mid-thought: nothing usable follows) and an echoed "Answer:" label."""
    text = _THINK_RE.sub("", raw or "").strip()
    return _LABEL_RE.sub("", text).strip()


def postprocess_answer(raw: str) -> str:
    """Clean a raw completion into the answer a user sees.

    Every abstention the detector recognises (`utils.docsqa.abstention`: paraphrases, a refusal
    after a made-up answer) becomes the one canonical `IDK` string, so scorers compare exactly.
    """
    text = clean_completion(raw)
    return IDK if is_abstention(text) else text


def cited_doc_ids(answer: str, allowed: Sequence[str] | None = None) -> list[str]:
    """Doc ids cited as `[id]` in an answer, in order, without repeats; with `allowed`, only
    ids that were actually retrieved count (a cited id the model never saw is a hallucination)."""
    out: list[str] = []
    for group in _CITE_RE.findall(answer):
        for raw in group.split(","):
            doc_id = raw.strip().split("#", 1)[0]
            if doc_id and doc_id not in out and (allowed is None or doc_id in allowed):
                out.append(doc_id)
    return out


class DocsQA(weave.Model):
    """Retrieval-augmented question answering over the course corpus.

    Fields are the knobs the chapters turn. `model_name=""` means "the course default" (from
    `utils.llm.chat_model()`, resolved at call time and reported in every output). `min_score`
    enables a cheap fallback: when no chunk scores at least that much, answer `IDK` without an
    LLM call. Scores depend on the retriever (cosine for embeddings, unbounded for BM25, rank
    fusion for hybrid), so that one is off by default. `min_cosine` is a gate on one fixed
    scale: the best cosine similarity between the question and any chunk (all-MiniLM-L6-v2),
    whatever retriever picks the context (embedding or hybrid; a BM25 model runs ungated).
    Off-topic questions score far below answerable ones on this corpus, so a low threshold
    refuses many of them without a model call and at almost no cost to answerable questions
    (measured numbers in data/docsqa/README.md).
    """

    retriever: RetrieverKind = QUALITY_DEFAULTS["retriever"]
    top_k: int = QUALITY_DEFAULTS["top_k"]
    chunk_max_chars: int = DEFAULT_MAX_CHARS
    min_score: float | None = None
    min_cosine: float | None = QUALITY_DEFAULTS["min_cosine"]
    system_prompt: str = SYSTEM_PROMPT
    prompt_template: str = DEFAULT_PROMPT
    model_name: str = ""
    temperature: float = QUALITY_DEFAULTS["temperature"]
    max_tokens: int = QUALITY_DEFAULTS["max_tokens"]

    _client: Any = PrivateAttr(default=None)
    _retriever_obj: Any = PrivateAttr(default=None)
    _default_model: str | None = PrivateAttr(default=None)

    def __init__(self, *, client: Any = None, retriever_obj: Retriever | None = None, **data: Any):
        """`client` and `retriever_obj` override the defaults; they are private attributes, not
        fields, so they are never serialised into a Weave object version."""
        super().__init__(**data)
        self._client = client
        self._retriever_obj = retriever_obj

    @field_validator("prompt_template")
    @classmethod
    def _template_has_slots(cls, value: str) -> str:
        for slot in ("{context}", "{question}"):
            if slot not in value:
                raise ValueError(f"prompt_template must contain {slot}")
        return value

    @field_validator("top_k")
    @classmethod
    def _positive_k(cls, value: int) -> int:
        if value < 1:
            raise ValueError("top_k must be >= 1")
        return value

    def _get_retriever(self) -> Retriever:
        if self._retriever_obj is None:
            self._retriever_obj = get_retriever(self.retriever, self.chunk_max_chars)
        return self._retriever_obj

    def _dense_retriever(self) -> EmbeddingRetriever | None:
        """The embedding index behind the retriever, or None for a keyword-only one.

        The gate does not build an embedding index for a BM25 model: loading MiniLM and encoding
        the corpus costs ~20-50 s on a busy 2-core machine, a hidden price for a keyword demo
        (chapter 01 traces `retriever="bm25"`). BM25 models simply run ungated."""
        r = self._get_retriever()
        if isinstance(r, EmbeddingRetriever):
            return r
        if isinstance(r, HybridRetriever) and isinstance(r.dense, EmbeddingRetriever):
            return r.dense
        return None

    def max_cosine(self, question: str) -> float | None:
        """The best cosine similarity of the question with any chunk (the gate's signal), or
        None when the retriever has no embeddings."""
        dense = self._dense_retriever()
        return None if dense is None else float(dense.scores(question).max())

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = _llm().openai_client()
        return self._client

    def resolved_model_name(self) -> str:
        """The chat model actually called (the field, or the course default when empty, looked
        up once per instance because `utils.llm` may ask the local server which model it runs)."""
        if self.model_name:
            return self.model_name
        if self._default_model is None:
            self._default_model = str(_llm().chat_model())
        return self._default_model

    def build_messages(
        self, question: str, contexts: Sequence[dict[str, Any]]
    ) -> list[dict[str, str]]:
        """The chat messages for one question: public so chapters can print the exact prompt."""
        user = self.prompt_template.format(context=format_context(contexts), question=question)
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": user},
        ]

    @weave.op
    def retrieve(self, question: str) -> list[dict[str, Any]]:
        """The top_k chunks for the question, as dicts (doc_id, chunk_id, title, text, score)."""
        return [hit.as_context() for hit in self._get_retriever().search(question, self.top_k)]

    @weave.op
    def generate(self, question: str, contexts: list[dict[str, Any]]) -> str:
        """One chat completion over the built prompt; returns the raw text (post-processing is
        left to `predict` so the trace keeps what the model literally said)."""
        response = self._get_client().chat.completions.create(
            model=self.resolved_model_name(),
            messages=self.build_messages(question, contexts),
            temperature=self.temperature,
            max_tokens=self.max_tokens,
        )
        return response.choices[0].message.content or ""

    @weave.op
    def predict(self, question: str) -> dict[str, Any]:
        """Answer one question: retrieve, (maybe) generate, post-process.

        Returns `answer`, `abstained`, `doc_ids` (unique, in rank order: what retrieval metrics
        score), `chunk_ids`, `contexts` (chunk texts: what faithfulness scorers need),
        `citations` (retrieved ids the answer cites), `fallback` (why the LLM was skipped, or
        None), `max_cosine` (the gate's signal, None when the gate is off), `abstention` (the
        detector's kind: answer, refusal, leading, trailing, hedged) and `model`.
        """
        contexts = self.retrieve(question)
        doc_ids = list(dict.fromkeys(c["doc_id"] for c in contexts))
        fallback, kind = None, "refusal"
        cosine = self.max_cosine(question) if self.min_cosine is not None else None
        cosine = None if cosine is None else round(cosine, 4)
        if self.min_score is not None and all(c["score"] < self.min_score for c in contexts):
            answer, fallback, model = IDK, "low_retrieval_score", None
        elif cosine is not None and self.min_cosine is not None and cosine < self.min_cosine:
            answer, fallback, model = IDK, "low_cosine", None
        else:
            model = self.resolved_model_name()
            text = clean_completion(self.generate(question, contexts))
            kind = classify(text).kind
            answer = IDK if classify(text).abstained else text
        return {
            "answer": answer,
            "abstained": answer == IDK,
            "abstention": kind,
            "max_cosine": cosine,
            "doc_ids": doc_ids,
            "chunk_ids": [c["chunk_id"] for c in contexts],
            "contexts": [c["text"] for c in contexts],
            "citations": cited_doc_ids(answer, doc_ids),
            "fallback": fallback,
            "model": model,
        }
