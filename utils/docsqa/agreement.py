"""How far to trust a judge: agreement with course-authored labels (Cohen's kappa, confusion).

Raw agreement flatters a judge when one verdict dominates: a judge that calls everything correct
agrees 75% of the time with labels that are 75% correct. Cohen's kappa subtracts the agreement
expected by chance from the two marginal rates, so that judge scores 0. The confusion matrix
shows *how* a judge fails (the local model's judge mostly calls made-up answers correct), which
a single number hides. Both come from scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import cohen_kappa_score, confusion_matrix


def agreement(labels: Sequence[bool], verdicts: Sequence[bool]) -> dict[str, Any]:
    """Agreement of a judge's verdicts with the labels, both True for "correct".

    Returns n, raw agreement, Cohen's kappa, and the confusion matrix as counts keyed
    `label/judge` (e.g. `wrong/correct` = wrong answers the judge accepted).
    """
    if len(labels) != len(verdicts) or not labels:
        raise ValueError("need the same, non-zero number of labels and verdicts")
    y, v = [bool(x) for x in labels], [bool(x) for x in verdicts]
    (tn, fp), (fn, tp) = confusion_matrix(y, v, labels=[False, True])
    # one verdict everywhere: chance agreement is 1 and kappa is undefined (0 / 0)
    kappa = float("nan") if len(set(y) | set(v)) == 1 else float(cohen_kappa_score(y, v))
    return {
        "n": len(y),
        "agreement": float(tp + tn) / len(y),
        "kappa": kappa,
        "confusion": {
            "correct/correct": int(tp),
            "correct/wrong": int(fn),
            "wrong/correct": int(fp),
            "wrong/wrong": int(tn),
        },
    }
