"""Is a confidence of 0.9 right 90% of the time? Reliability bins and expected calibration error.

Used wherever a model reports confidences: prediction tables (ch. 03), monitoring (ch. 06),
VLM evaluation (ch. 08).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def reliability_bins(confidence: Any, correct: Any, n_bins: int = 10) -> pd.DataFrame:
    """Per confidence bin: how many predictions, their mean confidence, and their accuracy."""
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    if conf.shape != hit.shape or conf.ndim != 1:
        raise ValueError("confidence and correct must be 1-D and the same length")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = idx == b
        rows.append(
            {
                "bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}",
                "low": edges[b],
                "high": edges[b + 1],
                "count": int(mask.sum()),
                "confidence": float(conf[mask].mean()) if mask.any() else np.nan,
                "accuracy": float(hit[mask].mean()) if mask.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(confidence: Any, correct: Any, n_bins: int = 10) -> float:
    """Count-weighted mean gap between confidence and accuracy over the bins."""
    bins = reliability_bins(confidence, correct, n_bins).dropna()
    total = bins["count"].sum()
    if total == 0:
        return 0.0
    gap = (bins["confidence"] - bins["accuracy"]).abs()
    return float((gap * bins["count"]).sum() / total)


def plot_reliability(bins: pd.DataFrame, ax: Any = None, title: str = "Reliability diagram") -> Any:
    """Bars of accuracy per confidence bin against the diagonal of perfect calibration."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(4.5, 4))[1]
    width = bins["high"] - bins["low"]
    ax.bar(bins["low"], bins["accuracy"].fillna(0), width=width, align="edge",
           edgecolor="black", alpha=0.8, label="accuracy")  # fmt: skip
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfectly calibrated")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy", title=title)
    ax.legend(loc="upper left")
    return ax
