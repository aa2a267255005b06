"""Calibration maths on hand-made cases; thumbnails render as inline PNGs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from utils.calibration import expected_calibration_error, reliability_bins
from utils.display import show_table


def test_perfectly_calibrated_has_zero_ece() -> None:
    conf = np.array([0.25] * 4 + [0.75] * 4)
    correct = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(conf, correct, n_bins=4) == pytest.approx(0.0)


def test_overconfident_model_has_the_expected_gap() -> None:
    conf = np.full(10, 0.95)
    correct = np.array([1] * 5 + [0] * 5)
    assert expected_calibration_error(conf, correct) == pytest.approx(0.45)
    bins = reliability_bins(conf, correct)
    assert bins["count"].sum() == 10 and bins.loc[9, "accuracy"] == pytest.approx(0.5)


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError):
        reliability_bins([0.5, 0.6], [1])


def test_show_table_renders_images_inline() -> None:
    frame = pd.DataFrame({"image": [Image.new("RGB", (8, 8), (255, 0, 0))], "score": [0.5]})
    out = show_table(frame)
    assert "data:image/png;base64," in out._repr_html_()
    assert "<image>" in repr(out) and "0.500" in out._repr_html_()
