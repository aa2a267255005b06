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


PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60)]  # fmt: skip


def overlay(image: Any, boxes: list[dict[str, Any]] | None = None, mask: Any = None,
            class_names: dict[int, str] | None = None) -> Any:  # fmt: skip
    """An image with its logged overlays drawn on it, as the W&B media panel shows them.

    `boxes` are W&B box dicts (`position` in pixels or fractions, `class_id`, `box_caption`);
    `mask` is a label image whose non-zero classes are tinted. Used to show read-back media
    locally, where there is no media panel to toggle overlays in.
    """
    import numpy as np
    from PIL import Image, ImageDraw

    out = image.convert("RGB")
    if mask is not None:
        labels = np.asarray(mask)
        if labels.ndim == 3:
            labels = labels[..., 0]
        if labels.shape != (out.height, out.width):
            resized = Image.fromarray(labels.astype(np.uint8)).resize(out.size, Image.NEAREST)
            labels = np.asarray(resized)
        pixels = np.asarray(out).astype(np.float32)
        for cls in np.unique(labels):
            if cls == 0:
                continue
            colour = np.array(PALETTE[int(cls) % len(PALETTE)], dtype=np.float32)
            pixels[labels == cls] = 0.55 * pixels[labels == cls] + 0.45 * colour
        out = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(out)
    for box in boxes or []:
        pos = box["position"]
        scale = (
            (out.width, out.height)
            if box.get("domain") != "pixel" and pos.get("maxX", 2) <= 1
            else (1, 1)
        )
        if "minX" in pos:
            x0, y0, x1, y1 = pos["minX"], pos["minY"], pos["maxX"], pos["maxY"]
        else:  # middle/width/height form
            x0, y0 = pos["middle"][0] - pos["width"] / 2, pos["middle"][1] - pos["height"] / 2
            x1, y1 = x0 + pos["width"], y0 + pos["height"]
        rect = [x0 * scale[0], y0 * scale[1], x1 * scale[0], y1 * scale[1]]
        colour = PALETTE[int(box.get("class_id", 0)) % len(PALETTE)]
        draw.rectangle(rect, outline=colour, width=2)
        label = box.get("box_caption") or (class_names or {}).get(int(box.get("class_id", -1)), "")
        if label:
            draw.text((rect[0] + 2, rect[1] + 1), str(label), fill=colour)
    return out


class Audio:
    """A logged audio file, rendered as a player (Jupyter) or as its name (text)."""

    def __init__(self, data: bytes, name: str, mime: str = "audio/wav") -> None:
        self.data, self.name, self.mime = data, name, mime

    def _repr_html_(self) -> str:
        encoded = base64.b64encode(self.data).decode()
        return (
            f'<audio controls style="height:28px" src="data:{self.mime};base64,{encoded}"></audio>'
        )

    def __repr__(self) -> str:
        return f"<audio {self.name}, {len(self.data):,} bytes>"


class Html:
    """A logged HTML snippet, rendered as HTML (Jupyter) or as its source (text)."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return f"<html {len(self.markup):,} chars>"


def _cell(value: Any, size: int) -> str:
    if isinstance(value, Audio | Html):
        return value._repr_html_()
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
    text = head.map(
        lambda v: "<image>" if hasattr(v, "save") or hasattr(v, "image") else v
    ).to_string()
    return HTMLTable(markup, text)
