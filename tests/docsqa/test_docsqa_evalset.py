"""DocsQA eval set schema: the questions, their types and gold labels, and the loader's checks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from utils.docsqa.evalset import (
    QUESTION_TYPES,
    SAMPLE_PER_SLICE,
    EvalItem,
    EvalSetError,
    as_rows,
    load_eval_set,
    stratified_sample,
)
from utils.docsqa.scoring import key_fact_recall


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_eval_set()


def test_size_and_type_mix(items: list[EvalItem]) -> None:
    assert len(items) >= 120
    counts = Counter(i.type for i in items)
    assert set(counts) == set(QUESTION_TYPES)
    # >= 30 unanswerable so an abstention rate is more than a handful of coin flips, a third of
    # them near misses (the corpus covers the topic, not the detail asked)
    assert counts["unanswerable"] >= 30
    assert sum(i.near_miss for i in items) >= 10
    assert counts["comparison"] >= 5 and counts["how-to"] >= 10


def test_gold_labels_match_type(items: list[EvalItem]) -> None:
    for item in items:
        if item.type == "unanswerable":
            assert item.gold_doc_ids == () and not item.answerable
            assert "don't know" in item.reference_answer.lower()
            assert item.key_facts == () and item.slice.startswith("unanswerable/")
        else:
            assert 1 <= len(item.gold_doc_ids) <= 3, item.id
            assert 1 <= len(item.key_facts) <= 5 and not item.near_miss, item.id
            assert item.slice == item.type


def test_reference_answers_state_their_own_key_facts(items: list[EvalItem]) -> None:
    # a key fact the reference itself does not satisfy would mark every right answer partial
    missing = {
        i.id: i.key_facts for i in items if key_fact_recall(i.key_facts, i.reference_answer) < 1
    }
    assert not missing, missing


def test_stratified_sample_is_fixed_and_covers_every_slice(items: list[EvalItem]) -> None:
    sample = stratified_sample(items)
    assert [i.id for i in sample] == [i.id for i in stratified_sample(items)]  # same seed
    assert Counter(i.slice for i in sample) == Counter(SAMPLE_PER_SLICE)
    assert [i.id for i in stratified_sample(items, seed=1)] != [i.id for i in sample]
    order = [i.id for i in items]
    assert [i.id for i in sample] == sorted((i.id for i in sample), key=order.index)
    small = stratified_sample(items, {"comparison": 1000})  # a slice smaller than asked: all
    assert len(small) == sum(i.type == "comparison" for i in items)


def test_ids_and_questions_unique(items: list[EvalItem]) -> None:
    assert len({i.id for i in items}) == len(items)
    assert len({i.question.lower() for i in items}) == len(items)


def test_reference_answers_are_short(items: list[EvalItem]) -> None:
    long = [i.id for i in items if len(i.reference_answer.split()) > 45]
    assert not long, long


def test_rows_are_plain(items: list[EvalItem]) -> None:
    rows = as_rows(items)
    assert rows[0].keys() == {
        "id",
        "question",
        "reference_answer",
        "gold_doc_ids",
        "type",
        "key_facts",
        "near_miss",
    }
    assert isinstance(rows[0]["gold_doc_ids"], list) and isinstance(rows[0]["key_facts"], list)
    json.dumps(rows)  # serialisable as-is for weave.Dataset / JSON


def _write(tmp_path: Path, rows: list[Any]) -> Path:
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


ROW = {
    "id": "x1",
    "question": "What is a run?",
    "reference_answer": "An execution.",
    "gold_doc_ids": ["wandb-runs"],
    "type": "factual",
    "key_facts": ["execution"],
    "near_miss": False,
}
UNANSWERABLE = {
    **ROW,
    "reference_answer": "I don't know.",
    "gold_doc_ids": [],
    "type": "unanswerable",
    "key_facts": [],
}


@pytest.mark.parametrize(
    "row, message",
    [
        ("{not json", "invalid JSON"),
        ({k: v for k, v in ROW.items() if k != "type"}, "missing"),
        ({**ROW, "extra": 1}, "unexpected"),
        ({**ROW, "type": "trivia"}, "type"),
        ({**ROW, "question": "  "}, "non-empty"),
        ({**ROW, "gold_doc_ids": []}, "needs 1-3"),
        ({**ROW, "gold_doc_ids": ["a", "b", "c", "d"]}, "needs 1-3"),
        ({**ROW, "gold_doc_ids": ["a", "a"]}, "duplicates"),
        ({**ROW, "type": "unanswerable"}, "cannot have gold"),
        ({**ROW, "gold_doc_ids": "wandb-runs"}, "list of strings"),
        ({**ROW, "key_facts": []}, "needs 1-5 key_facts"),
        ({**ROW, "key_facts": ["a", "b", "c", "d", "e", "f"]}, "needs 1-5 key_facts"),
        ({**ROW, "key_facts": ["ok", " "]}, "non-empty strings"),
        ({**ROW, "key_facts": "execution"}, "non-empty strings"),
        ({**ROW, "near_miss": "yes"}, "true or false"),
        ({**ROW, "near_miss": True}, "unanswerable questions only"),
        ({**UNANSWERABLE, "key_facts": ["x"]}, "no key facts"),
    ],
)
def test_loader_rejects_bad_rows(tmp_path: Path, row: Any, message: str) -> None:
    with pytest.raises(EvalSetError, match=message):
        load_eval_set(_write(tmp_path, [row]))


def test_loader_rejects_duplicates_and_unknown_gold(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="duplicate id"):
        load_eval_set(_write(tmp_path, [ROW, ROW]))
    with pytest.raises(EvalSetError, match="unknown gold"):
        load_eval_set(_write(tmp_path, [ROW]), doc_ids={"something-else"})
    assert load_eval_set(_write(tmp_path, [ROW]), doc_ids={"wandb-runs"})[0].answerable
    near = load_eval_set(_write(tmp_path, [{**UNANSWERABLE, "near_miss": True}]))[0]
    assert near.slice == "unanswerable/near-miss" and not near.answerable
