"""Ranking metrics against values worked out by hand (shown in the comments)."""

from __future__ import annotations

import math

import pytest

from utils.docsqa.metrics import (
    dcg_at_k,
    hit_at_k,
    mean_reciprocal_rank,
    mean_scores,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
    retrieval_scores,
)

RANKED = ["a", "x", "b", "y", "z"]  # relevant docs a and b sit at ranks 1 and 3
GOLD = {"a", "b"}


def test_precision_at_k() -> None:
    assert precision_at_k(RANKED, GOLD, 1) == 1.0  # a
    assert precision_at_k(RANKED, GOLD, 2) == 0.5  # a, x
    assert precision_at_k(RANKED, GOLD, 5) == pytest.approx(2 / 5)
    # divides by k even when fewer results came back: 1 hit over 3 slots
    assert precision_at_k(["a"], GOLD, 3) == pytest.approx(1 / 3)


def test_recall_at_k() -> None:
    assert recall_at_k(RANKED, GOLD, 1) == 0.5  # a of {a, b}
    assert recall_at_k(RANKED, GOLD, 2) == 0.5
    assert recall_at_k(RANKED, GOLD, 3) == 1.0
    assert recall_at_k(["q", "r"], GOLD, 2) == 0.0


def test_duplicates_count_once() -> None:
    # two chunks of doc "a" must not count as two relevant hits, nor push "b" out of the top 2
    assert precision_at_k(["a", "a", "b"], GOLD, 2) == 1.0
    assert recall_at_k(["a", "a", "b"], GOLD, 2) == 1.0


def test_reciprocal_rank_and_mrr() -> None:
    assert reciprocal_rank(RANKED, GOLD) == 1.0
    assert reciprocal_rank(["x", "y", "b"], GOLD) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x", "y", "z", "a"], GOLD) == 0.25
    assert reciprocal_rank(["x", "y", "z", "a"], GOLD, k=3) == 0.0
    assert reciprocal_rank(["x"], GOLD) == 0.0
    # the worked example in the rag-mrr note: ranks 1, 3 and missing -> (1 + 1/3 + 0) / 3
    runs = [(["a"], {"a"}), (["x", "y", "b"], {"b"}), (["x"], {"c"}), (["x"], set())]
    assert mean_reciprocal_rank(runs) == pytest.approx(4 / 9)  # empty-gold pair skipped


def test_dcg_and_ndcg() -> None:
    # DCG@5 = 1/log2(2) + 1/log2(4) = 1 + 0.5 ; ideal = 1 + 1/log2(3) = 1.6309...
    assert dcg_at_k(RANKED, GOLD, 5) == pytest.approx(1.5)
    assert ndcg_at_k(RANKED, GOLD, 5) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(RANKED, GOLD, 5) == pytest.approx(0.9197, abs=1e-4)
    # k=1: DCG 1, ideal 1 -> 1.0 ; a single gold doc at rank 2 -> 1/log2(3) = 0.6309
    assert ndcg_at_k(RANKED, GOLD, 1) == 1.0
    assert ndcg_at_k(["x", "b"], {"b"}, 5) == pytest.approx(0.63093, abs=1e-5)
    assert ndcg_at_k(["b", "a"], GOLD, 2) == 1.0  # order among relevant docs does not matter
    assert ndcg_at_k(["x", "y"], GOLD, 2) == 0.0


def test_hit_at_k() -> None:
    assert hit_at_k(RANKED, GOLD, 1) == 1.0
    assert hit_at_k(["x", "y", "b"], GOLD, 2) == 0.0


@pytest.mark.parametrize("fn", [recall_at_k, ndcg_at_k, hit_at_k])
def test_undefined_without_relevant_docs(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="undefined"):
        fn(RANKED, set(), 5)


def test_bad_k() -> None:
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k(RANKED, GOLD, 0)


def test_retrieval_scores_and_means() -> None:
    row = retrieval_scores(RANKED, GOLD, k=5)
    assert row == pytest.approx(
        {"precision@5": 0.4, "recall@5": 1.0, "hit@5": 1.0, "mrr": 1.0, "ndcg@5": 0.91972},
        abs=1e-5,
    )
    assert retrieval_scores(RANKED, [], k=5) == {}  # unanswerable: nothing to average
    means = mean_scores([{"mrr": 1.0}, {}, {"mrr": 0.5}])
    assert means == {"mrr": 0.75}
