"""The course-authored judge labels: consistent with the eval set, the generation settings they
record, and the verdict rules; and the loader's checks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from utils.docsqa.evalset import load_eval_set
from utils.docsqa.labels import LabelError, load_labels
from utils.docsqa.pipeline import clean_completion


@pytest.fixture(scope="module")
def labels() -> list[Any]:
    return load_labels()


def test_labels_match_the_eval_set(labels: list[Any]) -> None:
    items = {i.id: i for i in load_eval_set()}
    for lab in labels:
        item = items[lab.id]
        assert lab.question == item.question and lab.answerable == item.answerable, lab.id
    answerable = sum(lab.answerable for lab in labels)
    assert answerable >= 20 and len(labels) - answerable >= 10  # both kinds, enough to matter


def test_answers_are_the_recorded_completions_under_one_fixed_config(labels: list[Any]) -> None:
    configs = {json.dumps(lab.config, sort_keys=True) for lab in labels}
    assert len(configs) == 1  # one configuration, fixed seed and temperature
    config = labels[0].config
    assert config["temperature"] == 0.0 and "seed" in config and config["model"]
    for lab in labels:
        assert lab.answer == clean_completion(lab.raw), lab.id


def test_verdicts_have_both_outcomes(labels: list[Any]) -> None:
    counts = Counter(lab.verdict for lab in labels)
    assert counts["correct"] and counts["abstained"]
    assert counts["partial"] + counts["wrong"] + counts["non_abstention"] > 0
    assert {lab.correct for lab in labels} == {True, False}


GOOD = {
    "id": "x",
    "question": "q?",
    "answerable": True,
    "answer": "a",
    "raw": "a",
    "config": {"seed": 0},
    "verdict": "correct",
    "note": "",
}


@pytest.mark.parametrize(
    "row, message",
    [
        ({**GOOD, "verdict": "maybe"}, "not one of"),
        ({**GOOD, "verdict": "non_abstention"}, "not a verdict for an answerable"),
        ({**GOOD, "answerable": False, "verdict": "correct"}, "not a verdict for an unanswerable"),
        ({**GOOD, "verdict": "partial"}, "say why"),
        ({**GOOD, "config": {}}, "config"),
        ({k: v for k, v in GOOD.items() if k != "note"}, "exactly the fields"),
    ],
)
def test_loader_rejects(tmp_path: Path, row: dict[str, Any], message: str) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(LabelError, match=message):
        load_labels(path)


def test_loader_duplicates_and_correct_property(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n")
    with pytest.raises(LabelError, match="duplicate"):
        load_labels(path)
    unans = {**GOOD, "answerable": False, "verdict": "abstained"}
    path.write_text(json.dumps(unans) + "\n")
    assert load_labels(path)[0].correct
    path.write_text(json.dumps({**GOOD, "verdict": "abstained"}) + "\n")
    assert not load_labels(path)[0].correct  # a false refusal is not correct
