"""Scenes of coloured shapes: a scene graph first, pixels second.

The scene graph is the single source of truth: questions, answers, captions and masks are all
derived from it, and `render` turns it into pixels with no randomness of its own (any pixel noise
is described *in* the graph by a seed and a strength). That is what makes every downstream label
checkable and every image reproducible byte for byte from `(seed, index)`.

Geometry is integer-valued on purpose: integer centres and half-extents mean two equal graphs
always render to equal bytes, so a hash of the graph is a hash of the image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

IMAGE_SIZE = 64
PATCH_SIZE = 8
GRID = IMAGE_SIZE // PATCH_SIZE  # 8x8 = 64 patches ("visual tokens") per image
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
# The training palette. "gray" is the canonical spelling; human annotators sometimes say "grey".
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "green": (40, 165, 60),
    "blue": (40, 80, 215),
    "yellow": (235, 195, 25),
    "purple": (135, 55, 175),
    "gray": (120, 120, 120),
}
# Half-extent (pixels from centre to edge) ranges, inclusive. A gap between the two classes
# keeps "small" vs "large" unambiguous to a human looking at the picture.
SIZES: dict[str, tuple[int, int]] = {"small": (5, 6), "large": (9, 11)}
BACKGROUND: tuple[int, int, int] = (245, 245, 240)
MAX_OBJECTS = 4
MIN_GAP = 2  # pixels of background between two objects' bounding boxes
_PLACEMENT_TRIES = 100


@dataclass(frozen=True)
class SceneObject:
    """One shape: what it is (shape, colour name, size class) and where it is (integer pixels).

    `rgb` is the colour actually painted, which equals `COLORS[color]` unless drift shifted it;
    keeping both lets a monitoring notebook show "the label says red, the pixels moved".
    """

    shape: str
    color: str
    size: str
    cx: int
    cy: int
    r: int  # half-extent: the object spans [cx - r, cx + r] x [cy - r, cy + r]
    rgb: tuple[int, int, int]

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) with exclusive ends, ready for numpy slicing and wandb boxes."""
        return (self.cx - self.r, self.cy - self.r, self.cx + self.r + 1, self.cy + self.r + 1)

    @property
    def center(self) -> tuple[int, int]:
        return (self.cx, self.cy)

    def describe(self, with_size: bool = True) -> str:
        """'small red circle' — the phrase captions and tables use for this object."""
        words = [self.size] if with_size else []
        return " ".join([*words, self.color, self.shape])

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "color": self.color,
            "size": self.size,
            "center": list(self.center),
            "bbox": list(self.bbox),
            "r": self.r,
            "rgb": list(self.rgb),
        }


@dataclass(frozen=True)
class Scene:
    """A scene graph: objects plus everything `render` needs (background, pixel noise).

    Noise is stored as (std, seed) rather than as an array so the graph stays small, hashable
    and JSON-friendly while the image stays exactly reproducible.
    """

    objects: tuple[SceneObject, ...]
    background: tuple[int, int, int] = BACKGROUND
    noise_std: float = 0.0
    noise_seed: int = 0

    def key(self) -> str:
        """Canonical text of the graph; equal keys render to equal images."""
        objs = ";".join(
            f"{o.shape},{o.color},{o.size},{o.cx},{o.cy},{o.r},{o.rgb}" for o in self.objects
        )
        return f"{objs}|{self.background}|{self.noise_std:.6f}|{self.noise_seed}"

    def digest(self) -> str:
        """SHA-256 of `key()`: a content id used for splits and de-duplication."""
        return hashlib.sha256(self.key().encode()).hexdigest()

    def with_objects(self, objects: tuple[SceneObject, ...]) -> Scene:
        return replace(self, objects=objects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": [o.to_dict() for o in self.objects],
            "background": list(self.background),
            "noise_std": self.noise_std,
            "noise_seed": self.noise_seed,
        }


@lru_cache(maxsize=64)
def shape_stamp(shape: str, r: int) -> np.ndarray:
    """Boolean (2r+1, 2r+1) footprint of a shape with half-extent r, centred in the array.

    Cached because the same few (shape, r) pairs are stamped millions of times when a
    training set is generated; the returned array is read-only so the cache cannot be corrupted.
    """
    ys, xs = np.mgrid[-r : r + 1, -r : r + 1]
    if shape == "circle":
        mask = xs**2 + ys**2 <= (r + 0.5) ** 2
    elif shape == "square":
        mask = np.ones_like(xs, dtype=bool)
    elif shape == "triangle":
        # Apex at the top centre, base along the bottom row: half-width grows linearly downwards.
        mask = 2 * np.abs(xs) <= ys + r
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    mask = np.ascontiguousarray(mask, dtype=bool)
    mask.setflags(write=False)
    return mask


def _boxes_apart(a: SceneObject, b: SceneObject, gap: int = MIN_GAP) -> bool:
    ax0, ay0, ax1, ay1 = a.bbox
    bx0, by0, bx1, by1 = b.bbox
    return ax1 + gap <= bx0 or bx1 + gap <= ax0 or ay1 + gap <= by0 or by1 + gap <= ay0


def sample_scene(
    rng: np.random.Generator, min_objects: int = 1, max_objects: int = MAX_OBJECTS
) -> Scene:
    """Draw a clean (undrifted) scene: 1..max_objects shapes whose boxes never touch.

    Objects that cannot be placed after a fixed number of tries are dropped rather than
    squeezed in, so non-overlap is a guarantee, not a hope (at least one object always fits).
    """
    if not 1 <= min_objects <= max_objects:
        raise ValueError("need 1 <= min_objects <= max_objects")
    n = int(rng.integers(min_objects, max_objects + 1))
    color_names = list(COLORS)
    size_names = list(SIZES)
    placed: list[SceneObject] = []
    for _ in range(n):
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        color = color_names[int(rng.integers(len(color_names)))]
        size = size_names[int(rng.integers(len(size_names)))]
        lo, hi = SIZES[size]
        r = int(rng.integers(lo, hi + 1))
        for _try in range(_PLACEMENT_TRIES):
            cx = int(rng.integers(r, IMAGE_SIZE - r))
            cy = int(rng.integers(r, IMAGE_SIZE - r))
            cand = SceneObject(shape, color, size, cx, cy, r, COLORS[color])
            if all(_boxes_apart(cand, other) for other in placed):
                placed.append(cand)
                break
    return Scene(objects=tuple(placed))


def generate_scene(
    seed: int | list[int] | tuple[int, ...], min_objects: int = 1, max_objects: int = MAX_OBJECTS
) -> Scene:
    """A clean scene from a seed (an int or a list of ints, e.g. `[universe_seed, index]`)."""
    return sample_scene(np.random.default_rng(seed), min_objects, max_objects)


def object_masks(scene: Scene) -> np.ndarray:
    """Boolean masks, shape (n_objects, H, W): exactly the pixels each object paints."""
    masks = np.zeros((len(scene.objects), IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    for i, o in enumerate(scene.objects):
        x0, y0, x1, y1 = o.bbox
        masks[i, y0:y1, x0:x1] = shape_stamp(o.shape, o.r)
    return masks


def render(scene: Scene) -> np.ndarray:
    """Pixels for a scene graph: uint8 (H, W, 3). Deterministic; noise comes from the graph."""
    img = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    img[:] = scene.background
    for o in scene.objects:
        x0, y0, x1, y1 = o.bbox
        img[y0:y1, x0:x1][shape_stamp(o.shape, o.r)] = o.rgb
    if scene.noise_std > 0:
        z = np.random.default_rng(scene.noise_seed).standard_normal(img.shape)
        img = np.clip(np.rint(img + scene.noise_std * z), 0, 255).astype(np.uint8)
    return img


def patch_coverage(masks: np.ndarray, patch: int = PATCH_SIZE) -> np.ndarray:
    """Fraction of each patch covered by each mask: (n, H/patch, W/patch) floats in [0, 1].

    This is the bridge between pixel masks and the model's patch tokens, used by relevance
    metrics ("how much attention landed on the patches the question is about").
    """
    n, h, w = masks.shape
    return masks.reshape(n, h // patch, patch, w // patch, patch).mean(axis=(2, 4))
