"""DocsQA eval set schema: the questions, their types and gold labels, and the loader's checks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from utils.docsqa.evalset import (
    QUESTION_TYPES,
    EvalItem,
    EvalSetError,
    as_rows,
    load_eval_set,
)


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_eval_set()


def test_size_and_type_mix(items: list[EvalItem]) -> None:
    assert len(items) >= 70
    counts = Counter(i.type for i in items)
    assert set(counts) == set(QUESTION_TYPES)
    assert 8 <= counts["unanswerable"] <= 15
    assert counts["comparison"] >= 5 and counts["how-to"] >= 10


def test_gold_labels_match_type(items: list[EvalItem]) -> None:
    for item in items:
        if item.type == "unanswerable":
            assert item.gold_doc_ids == () and not item.answerable
            assert "don't know" in item.reference_answer.lower()
        else:
            assert 1 <= len(item.gold_doc_ids) <= 3, item.id


def test_ids_and_questions_unique(items: list[EvalItem]) -> None:
    assert len({i.id for i in items}) == len(items)
    assert len({i.question.lower() for i in items}) == len(items)


def test_reference_answers_are_short(items: list[EvalItem]) -> None:
    long = [i.id for i in items if len(i.reference_answer.split()) > 45]
    assert not long, long


def test_rows_are_plain(items: list[EvalItem]) -> None:
    rows = as_rows(items)
    assert rows[0].keys() == {"id", "question", "reference_answer", "gold_doc_ids", "type"}
    assert isinstance(rows[0]["gold_doc_ids"], list)
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
