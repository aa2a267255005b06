"""Judge agreement: Cohen's kappa against a published worked example, and the confusion layout."""

from __future__ import annotations

import math

import pytest

from utils.docsqa.agreement import agreement


def _pairs(yy: int, yn: int, ny: int, nn: int) -> tuple[list[bool], list[bool]]:
    labels = [True] * (yy + yn) + [False] * (ny + nn)
    judge = [True] * yy + [False] * yn + [True] * ny + [False] * nn
    return labels, judge


def test_kappa_worked_example() -> None:
    # The textbook two-rater example (50 items: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no):
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    labels, judge = _pairs(20, 5, 10, 15)
    out = agreement(labels, judge)
    assert out["n"] == 50 and out["agreement"] == pytest.approx(0.7)
    assert out["kappa"] == pytest.approx(0.4)
    assert out["confusion"] == {
        "correct/correct": 20,
        "correct/wrong": 5,
        "wrong/correct": 10,
        "wrong/wrong": 15,
    }


def test_a_judge_that_accepts_everything_scores_zero() -> None:
    labels, judge = _pairs(30, 0, 10, 0)  # 75% raw agreement, no information
    out = agreement(labels, judge)
    assert out["agreement"] == 0.75 and out["kappa"] == pytest.approx(0.0)


def test_undefined_and_invalid_inputs() -> None:
    assert math.isnan(agreement([True, True], [True, True])["kappa"])
    with pytest.raises(ValueError):
        agreement([True], [True, False])
