"""McNemar's exact test and the power calculation, against values worked out independently."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from utils.docsqa.power import (
    mcnemar_exact,
    mcnemar_power,
    min_detectable_difference,
    paired_counts,
)


def test_mcnemar_exact_by_hand() -> None:
    # b=2, c=8: two-sided exact p = 2 * P(X <= 2), X ~ Bin(10, 1/2) = 2 * (1 + 10 + 45) / 1024
    assert mcnemar_exact(2, 8) == pytest.approx(2 * 56 / 1024)
    assert mcnemar_exact(8, 2) == mcnemar_exact(2, 8)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0
    # 0 vs 6: 2 / 64 = 0.03125 < 0.05, while 0 vs 5 (2 / 32) is not significant
    assert mcnemar_exact(0, 6) == pytest.approx(0.03125) and mcnemar_exact(0, 5) > 0.05
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


def test_paired_counts() -> None:
    a = [True, True, False, False, True]
    b = [True, False, True, True, True]
    assert paired_counts(a, b) == (1, 2)
    with pytest.raises(ValueError):
        paired_counts(a, b[:2])


def test_power_is_alpha_like_under_the_null_and_grows_with_the_difference() -> None:
    null = mcnemar_power(100, 0.3, 0.0)
    assert null <= 0.05  # the exact test is conservative
    powers = [mcnemar_power(100, 0.3, d) for d in (0.05, 0.1, 0.15, 0.2)]
    assert powers == sorted(powers) and powers[-1] > 0.8


def test_power_matches_connor_normal_approximation_at_large_n() -> None:
    # Connor (1987): n = (z_{1-a/2} sqrt(pd) + z_{1-b} sqrt(pd - d^2))^2 / d^2 pairs give power
    # 1-b. For pd=0.3, d=0.1, a=0.05, power 0.8 that is about 233 pairs.
    z_a, z_b = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    n = math.ceil((z_a * math.sqrt(0.3) + z_b * math.sqrt(0.3 - 0.01)) ** 2 / 0.01)
    assert n == 234
    assert mcnemar_power(n, 0.3, 0.1) == pytest.approx(0.8, abs=0.04)


def test_min_detectable_difference() -> None:
    d100 = min_detectable_difference(100, 0.3)
    d400 = min_detectable_difference(400, 0.3)
    assert d100 is not None and d400 is not None
    assert mcnemar_power(100, 0.3, d100) >= 0.8 > mcnemar_power(100, 0.3, d100 - 0.005)
    assert d400 < d100  # more questions, finer differences
    assert min_detectable_difference(10, 0.1) is None  # 10 questions, little churn: nothing
