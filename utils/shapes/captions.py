"""Reference captions: six per image, from differently shaped templates.

Captioning metrics (BLEU, METEOR, ROUGE-L, CIDEr) compare a prediction with *several* human
references, and their behaviour only makes sense when the references genuinely differ in word
order, detail and phrasing. So each template describes the same scene graph in its own way
(a list, a count, a spatial relation, image regions, the biggest object, grouped colours), and
every statement in every caption is true of the graph (tested).

The first caption is the *canonical* one (objects left to right with size, colour and shape):
the captioner is trained on it, because one fixed target is what a tiny greedy decoder can learn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from utils.shapes.questions import NUMBER_WORDS, POSITION_MARGIN
from utils.shapes.scenes import IMAGE_SIZE, SHAPES, Scene, SceneObject

N_CAPTIONS = 6
_THIRD = IMAGE_SIZE / 3


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _a(phrase: str) -> str:
    return f"{_article(phrase)} {phrase}"


def join_list(items: Sequence[str]) -> str:
    """'x', 'x and y', 'x, y and z' — no Oxford comma, so token sequences stay regular."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def left_to_right(scene: Scene) -> list[int]:
    """Object indices ordered by x then y: the order the canonical caption uses."""
    return sorted(
        range(len(scene.objects)), key=lambda i: (scene.objects[i].cx, scene.objects[i].cy)
    )


def region(o: SceneObject) -> str:
    """Where in the image an object sits, in words: 'in the top left', 'in the center', ..."""
    col = 0 if o.cx < _THIRD else (2 if o.cx >= 2 * _THIRD else 1)
    row = 0 if o.cy < _THIRD else (2 if o.cy >= 2 * _THIRD else 1)
    if (row, col) == (1, 1):
        return "in the center"
    if row == 1:
        return "on the " + ("left" if col == 0 else "right")
    vert = "top" if row == 0 else "bottom"
    if col == 1:
        return f"at the {vert}"
    return f"in the {vert} {'left' if col == 0 else 'right'}"


def _plural(shape: str) -> str:
    return shape + "s"


def canonical_caption(scene: Scene) -> str:
    """'a small red circle, a large blue square and a small green triangle.'"""
    return join_list([_a(scene.objects[i].describe()) for i in left_to_right(scene)]) + "."


def _counted(scene: Scene, rng: np.random.Generator) -> str:
    n = len(scene.objects)
    parts = [_a(scene.objects[i].describe(with_size=False)) for i in rng.permutation(n)]
    if n == 1:
        return f"there is one shape: {parts[0]}."
    return f"there are {NUMBER_WORDS[n]} shapes: {join_list(parts)}."


def _relation(scene: Scene, rng: np.random.Generator) -> str:
    objs = scene.objects
    if len(objs) == 1:
        o = objs[0]
        return f"a single {o.describe()} {region(o)}."
    pairs = []
    for i, a in enumerate(objs):
        for j, b in enumerate(objs):
            if b.cx - a.cx >= POSITION_MARGIN:
                pairs.append((i, j, "to the left of"))
            if b.cy - a.cy >= POSITION_MARGIN:
                pairs.append((i, j, "above"))
    i, j, rel = pairs[int(rng.integers(len(pairs)))]
    text = f"{_a(objs[i].describe(with_size=False))} {rel} {_a(objs[j].describe(with_size=False))}"
    rest = len(objs) - 2
    if rest == 1:
        text += " with one more shape"
    elif rest > 1:
        text += f" with {NUMBER_WORDS[rest]} more shapes"
    return text + "."


def _regions(scene: Scene) -> str:
    parts = [
        f"{_a(scene.objects[i].describe(with_size=False))} {region(scene.objects[i])}"
        for i in left_to_right(scene)
    ]
    return join_list(parts) + "."


def _biggest(scene: Scene) -> str:
    objs = scene.objects
    n = len(objs)
    if n == 1:
        return f"one shape on a light background: {_a(objs[0].describe())}."
    rmax = max(o.r for o in objs)
    big = [o for o in objs if o.r == rmax]
    head = f"{NUMBER_WORDS[n]} shapes on a light background"
    if len(big) == 1:
        return f"{head}; the biggest is {_a(big[0].describe(with_size=False))}."
    return f"{head}, including {_a(big[0].describe(with_size=False))}."


def _grouped(scene: Scene, rng: np.random.Generator) -> str:
    counts = Counter((o.color, o.shape) for o in scene.objects)
    parts = []
    for shape in SHAPES:
        for (color, s), c in sorted(counts.items()):
            if s == shape:
                parts.append(
                    _a(f"{color} {shape}")
                    if c == 1
                    else f"{NUMBER_WORDS[c]} {color} {_plural(shape)}"
                )
    prefix = ("", "an image of ", "a picture of ", "a drawing of ")[int(rng.integers(4))]
    return prefix + join_list(parts) + "."


def make_captions(scene: Scene, seed: int | list[int]) -> list[str]:
    """Six reference captions, the canonical one first, deterministic given the seed."""
    rng = np.random.default_rng(seed)
    return [
        canonical_caption(scene),
        _counted(scene, rng),
        _relation(scene, rng),
        _regions(scene),
        _biggest(scene),
        _grouped(scene, rng),
    ]


# Every word the templates above can produce with the training palette; the caption vocabulary
# is built from this list (novel drift colours are deliberately absent: they become <unk>).
TEMPLATE_WORDS: tuple[str, ...] = (
    "a", "an", "and", "there", "is", "are", "one", "shape", "shapes", "single", "to", "the",
    "left", "of", "right", "above", "with", "more", "in", "on", "at", "top", "bottom", "center",
    "light", "background", "biggest", "including", "image", "picture", "drawing",
    ",", ".", ":", ";",
    *NUMBER_WORDS[1:5],
)  # fmt: skip
