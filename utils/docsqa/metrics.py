"""Ranking metrics for retrieval, with binary relevance on document ids.

Written out by hand (no library) because the course teaches what each number means: the chapters
print these functions next to the formulas. Conventions, chosen so numbers match the usual
textbook definitions:

* `retrieved` is a ranked list of doc ids, best first. Repeats are dropped (first occurrence
  wins): several chunks of one document must not count as several relevant hits.
* precision@k divides by k even when fewer than k ids were retrieved, so a retriever cannot look
  precise by returning less.
* recall, reciprocal rank and nDCG are undefined without relevant documents (an unanswerable
  question); they raise `ValueError` rather than return a number that would skew an average.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence


def _dedupe(retrieved: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for doc_id in retrieved:
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
    return out


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _need_relevant(relevant: Collection[str], name: str) -> None:
    if not relevant:
        raise ValueError(f"{name} is undefined without relevant documents (unanswerable question)")


def precision_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Fraction of the top-k slots that hold a relevant document."""
    _check_k(k)
    top = _dedupe(retrieved)[:k]
    return sum(1 for d in top if d in relevant) / k


def recall_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Fraction of the relevant documents found in the top k."""
    _check_k(k)
    _need_relevant(relevant, "recall@k")
    top = _dedupe(retrieved)[:k]
    return sum(1 for d in top if d in relevant) / len(set(relevant))


def hit_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 if any relevant document is in the top k: "did the generator get something to work
    with?", the question a RAG pipeline cares about most."""
    _check_k(k)
    _need_relevant(relevant, "hit@k")
    return float(any(d in relevant for d in _dedupe(retrieved)[:k]))


def reciprocal_rank(
    retrieved: Sequence[str], relevant: Collection[str], k: int | None = None
) -> float:
    """1 / rank of the first relevant document (0.0 if none within the first k, or at all)."""
    _need_relevant(relevant, "reciprocal rank")
    ranked = _dedupe(retrieved)
    if k is not None:
        _check_k(k)
        ranked = ranked[:k]
    for rank, doc_id in enumerate(ranked, start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def dcg_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Discounted cumulative gain: each relevant hit at rank r adds 1 / log2(r + 1)."""
    _check_k(k)
    return sum(
        1.0 / math.log2(rank + 1)
        for rank, doc_id in enumerate(_dedupe(retrieved)[:k], start=1)
        if doc_id in relevant
    )


def ndcg_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """DCG divided by the best DCG possible (all relevant documents ranked first), in [0, 1]."""
    _check_k(k)
    _need_relevant(relevant, "nDCG@k")
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(set(relevant))) + 1))
    return dcg_at_k(retrieved, relevant, k) / ideal


def mean_reciprocal_rank(
    results: Iterable[tuple[Sequence[str], Collection[str]]], k: int | None = None
) -> float:
    """MRR over (retrieved, relevant) pairs; pairs without relevant documents are skipped."""
    scores = [reciprocal_rank(r, rel, k) for r, rel in results if rel]
    if not scores:
        raise ValueError("MRR needs at least one question with relevant documents")
    return sum(scores) / len(scores)


def retrieval_scores(
    retrieved: Sequence[str], relevant: Collection[str], k: int = 5
) -> dict[str, float]:
    """All metrics for one question, keyed like `recall@5`, ready to be a scorer's output.

    Returns an empty dict for an unanswerable question, so averaging code can skip it.
    """
    if not relevant:
        return {}
    return {
        f"precision@{k}": precision_at_k(retrieved, relevant, k),
        f"recall@{k}": recall_at_k(retrieved, relevant, k),
        f"hit@{k}": hit_at_k(retrieved, relevant, k),
        "mrr": reciprocal_rank(retrieved, relevant),
        f"ndcg@{k}": ndcg_at_k(retrieved, relevant, k),
    }


def mean_scores(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Average each metric over the rows that have it (empty rows, i.e. unanswerable, skipped)."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row in rows:
        for key, value in row.items():
            totals[key] = totals.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1
    return {key: totals[key] / counts[key] for key in totals}
