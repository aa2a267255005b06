"""DocsQA: the course's "ask the course" retrieval-augmented assistant.

One small, fully local example reused across the LLM chapters: a Markdown corpus about W&B and
Weave (`data/docsqa/docs/`), an eval set with gold documents (`data/docsqa/eval.jsonl`), three
retrievers (local embeddings, a BM25 keyword baseline and their fusion), ranking metrics, a
`weave.Model` pipeline with abstention, answer grading by key facts, course-authored judge labels
with agreement measures, and the paired test and power the evaluation chapters quote.

    from utils.docsqa import DocsQA, load_docs, load_eval_set, get_retriever

Names are resolved lazily (PEP 562), so `import utils.docsqa.metrics` or reading the corpus never
imports weave or torch; the cost is paid only by the notebook cell that needs the model.
"""

from __future__ import annotations

import importlib
from typing import Any

from utils.paths import DATA_DIR

DOCSQA_DIR = DATA_DIR / "docsqa"
DOCS_DIR = DOCSQA_DIR / "docs"
EVAL_PATH = DOCSQA_DIR / "eval.jsonl"

_LAZY = {
    "Doc": "corpus",
    "Chunk": "corpus",
    "load_docs": "corpus",
    "chunk_corpus": "corpus",
    "corpus_digest": "corpus",
    "EvalItem": "evalset",
    "load_eval_set": "evalset",
    "IDK": "evalset",
    "retrieval_scores": "metrics",
    "EmbeddingRetriever": "retrieval",
    "BM25Retriever": "retrieval",
    "HybridRetriever": "retrieval",
    "get_retriever": "retrieval",
    "evaluate_retrieval": "retrieval",
    "stratified_sample": "evalset",
    "DocsQA": "pipeline",
    "postprocess_answer": "pipeline",
    "QUALITY_DEFAULTS": "pipeline",
    "require_quality_settings": "pipeline",
    "is_abstention": "abstention",
    "grade_answer": "scoring",
    "key_fact_recall": "scoring",
    "load_labels": "labels",
    "agreement": "agreement",
    "key_fact_judge": "judges",
    "token_recall_judge": "judges",
    "llm_judge": "judges",
    "mcnemar_exact": "power",
    "min_detectable_difference": "power",
}

__all__ = ["DOCSQA_DIR", "DOCS_DIR", "EVAL_PATH", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"utils.docsqa.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'utils.docsqa' has no attribute {name!r}")
