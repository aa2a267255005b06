"""Show tables the way the W&B UI would: images as thumbnails, not as object reprs.

Locally there is no Tables panel, so chapters render DataFrames whose cells may hold PIL images
(what `OfflineRun.table` and `wandb.Table.get_dataframe` give back) as HTML with inline PNGs.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import pandas as pd


def _thumb(img: Any, size: int) -> str:
    im = img.copy()
    im.thumbnail((size, size))
    if im.width < size:  # tiny synthetic images: upscale crisply instead of blurring
        scale = max(1, size // im.width)
        im = im.resize((im.width * scale, im.height * scale), resample=0)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img src="data:image/png;base64,{data}" style="image-rendering:pixelated">'


def _cell(value: Any, size: int) -> str:
    if hasattr(value, "save") and hasattr(value, "size"):  # a PIL image
        return _thumb(value, size)
    if hasattr(value, "image") and hasattr(value.image, "save"):  # a wandb.Image
        return _thumb(value.image, size)
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


class HTMLTable:
    """An object Jupyter renders as HTML and a terminal as text."""

    def __init__(self, markup: str, text: str) -> None:
        self.markup, self.text = markup, text

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text


def show_table(frame: pd.DataFrame, max_rows: int = 12, thumb: int = 64) -> HTMLTable:
    """Render the first rows of a DataFrame with image cells as thumbnails."""
    head = frame.head(max_rows)
    cols = "".join(f"<th>{html.escape(str(c))}</th>" for c in head.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, thumb)}</td>" for v in row) + "</tr>"
        for row in head.itertuples(index=False)
    )
    more = f"<p>… {len(frame) - max_rows} more rows</p>" if len(frame) > max_rows else ""
    markup = f'<table style="font-size:12px"><tr>{cols}</tr>{body}</table>{more}'
    text = head.map(lambda v: "<image>" if hasattr(v, "save") or hasattr(v, "image") else v).to_string()
    return HTMLTable(markup, text)
