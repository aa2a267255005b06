"""Deterministic answer scoring: key facts with alternatives, partial credit, abstention rules."""

from __future__ import annotations

import pytest

from utils.docsqa.evalset import IDK, EvalItem
from utils.docsqa.scoring import (
    cited_ids,
    fact_stated,
    grade_answer,
    key_fact_recall,
    reference_token_recall,
    words,
)

LIST_Q = EvalItem(
    "t1",
    "Which media can be logged?",
    "Images, audio and video.",
    ("wandb-media-types",),
    "factual",
    key_facts=("image", "audio", "video"),
)
UNANSWERABLE = EvalItem("t2", "Capital of Australia?", IDK, (), "unanswerable")


def test_words_normalise_code_and_plurals() -> None:
    assert words("run.define_metric('val/*')") == ["run", "define", "metric", "val"]
    assert words("Aliases, versions, patches, status, alias") == [
        "alias",
        "version",
        "patch",
        "status",
        "alias",
    ]


def test_fact_alternatives() -> None:
    fact = "define_metric | run.summary"
    assert fact_stated(fact, "Call run.define_metric with summary='max'.")
    assert fact_stated(fact, "Write the best value to run.summary yourself.")
    assert not fact_stated(fact, "Log it again at the end.")
    assert not fact_stated("wandb artifact cache cleanup", "Use wandb cache.")  # every word needed


def test_partial_credit_on_list_answers() -> None:
    assert key_fact_recall(LIST_Q.key_facts, "Images and videos.") == pytest.approx(2 / 3)
    grade = grade_answer(LIST_Q, "You can log images and videos [wandb-media-types].")
    assert not grade.correct and grade.key_fact_recall == pytest.approx(2 / 3)
    full = grade_answer(LIST_Q, "Images, audio clips and video.")
    assert full.correct and full.key_fact_recall == 1.0


def test_abstaining_on_answerable_is_wrong_and_on_unanswerable_is_right() -> None:
    refused = grade_answer(LIST_Q, "The notes do not contain the answer.")
    assert refused.abstained and not refused.correct and refused.key_fact_recall == 0.0
    assert grade_answer(UNANSWERABLE, IDK).correct
    # true in the world, not in the notes: a non-abstention, hence wrong
    world_true = grade_answer(UNANSWERABLE, "The capital of Australia is Canberra.")
    assert not world_true.abstained and not world_true.correct
    trailing = grade_answer(UNANSWERABLE, "It is Canberra. I don't know.")
    assert trailing.abstained and trailing.correct


def test_reference_token_recall() -> None:
    ref = "Pin a version for reproducibility; use an alias to follow updates."
    assert reference_token_recall(ref, ref) == 1.0
    assert reference_token_recall(ref, "nothing relevant") == 0.0
    assert 0 < reference_token_recall(ref, "Use an alias.") < 0.5


def test_cited_ids() -> None:
    text = "Use aliases [artifacts-aliases, registry-aliases#2] and [Artifacts-Aliases]."
    assert cited_ids(text) == ["artifacts-aliases", "registry-aliases"]
    assert cited_ids("no citation here") == []
