"""How big a difference between two DocsQA configurations can the eval set detect?

Two configurations answer the same questions, so the right comparison is paired: only the
questions where exactly one of them is correct (discordant pairs, b one way and c the other)
carry information. McNemar's exact test asks whether b and c differ more than a fair coin would
make them; `scipy.stats.binomtest` does the arithmetic.

Power depends on the number of questions n, on how often configurations disagree (the discordant
rate, measured between real variants: 10-35% of questions flip on this eval set) and on the true
difference in accuracy. `min_detectable_difference` answers the planning question "with n
questions and this much churn, which true difference would a paired test find 80% of the time?"
by exact enumeration (no normal approximation), so it stays right at the small n of this course.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs (1.0 when there are none)."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be >= 0")
    if b + c == 0:
        return 1.0
    return float(stats.binomtest(min(b, c), b + c, 0.5).pvalue)


def paired_counts(a: list[bool], b: list[bool]) -> tuple[int, int]:
    """(questions only A got right, questions only B got right) for two aligned result lists."""
    if len(a) != len(b):
        raise ValueError("paired results must cover the same questions")
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    return only_a, only_b


@lru_cache(maxsize=4096)
def _reject_region(m: int, alpha: float) -> np.ndarray:
    """For m discordant pairs, which values of b the exact test rejects at level alpha."""
    return np.array([mcnemar_exact(b, m - b) <= alpha for b in range(m + 1)])


def mcnemar_power(n: int, p_discordant: float, difference: float, alpha: float = 0.05) -> float:
    """Exact power of McNemar's test: P(reject) when a fraction `p_discordant` of the n
    questions are discordant and accuracy differs by `difference` (|p_b - p_c|)."""
    if not 0 < p_discordant <= 1:
        raise ValueError("p_discordant must be in (0, 1]")
    if not 0 <= difference <= p_discordant:
        raise ValueError("the difference cannot exceed the discordant rate")
    p_b = (p_discordant + difference) / (2 * p_discordant)  # share of discordant pairs won by B
    m = np.arange(n + 1)
    weight = stats.binom.pmf(m, n, p_discordant)
    power = 0.0
    for mi, w in zip(m, weight, strict=True):
        if w < 1e-12:
            continue
        region = _reject_region(int(mi), alpha)
        power += w * float(stats.binom.pmf(np.arange(mi + 1), mi, p_b)[region].sum())
    return power


def min_detectable_difference(
    n: int, p_discordant: float, alpha: float = 0.05, power: float = 0.8, step: float = 0.005
) -> float | None:
    """The smallest accuracy difference (on a `step` grid) detected with at least `power`;
    None if even a difference equal to the discordant rate is not."""
    d = step
    while d <= p_discordant + 1e-9:
        if mcnemar_power(n, p_discordant, min(d, p_discordant), alpha) >= power:
            return round(d, 6)
        d += step
    return None
