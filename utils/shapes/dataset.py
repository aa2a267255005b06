"""ShapesVQA records: image + scene graph + questions + captions, with stable splits.

Splits are decided by a hash of the clean scene graph, not by position in a list. Two
consequences the Artifacts and Registry chapters rely on:

- splits are disjoint by construction, across sizes *and* across seeds: an identical scene always
  hashes into the same split, so a test image can never appear in any training set;
- datasets grow by appending: `make_dataset(100, ...)` is a prefix of `make_dataset(1000, ...)`,
  so an incremental artifact only adds files.

Each seed defines a "universe": an endless stream of scenes indexed 0, 1, 2, ...; a split is the
sub-stream whose hashes fall in its bucket (80/10/10 by default).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from utils.shapes.captions import make_captions
from utils.shapes.drift import Drift, apply_drift, as_drift, drift_schedule
from utils.shapes.questions import Question, make_questions
from utils.shapes.scenes import MAX_OBJECTS, Scene, generate_scene, object_masks, render

SPLITS: tuple[str, ...] = ("train", "val", "test")
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.8, "val": 0.1, "test": 0.1}
_BUCKETS = 10_000
# Sub-stream tags: each use of randomness for one scene gets its own seed, so adding a question
# template cannot change the images, and drift cannot change the questions' randomness.
_SCENE, _QUESTIONS, _DRIFT, _CAPTIONS = 0, 1, 2, 3


def split_of(scene: Scene) -> str:
    """Which split a clean scene belongs to, from its content hash."""
    bucket = int(scene.digest()[:12], 16) % _BUCKETS
    edge = 0.0
    for name in SPLITS:
        edge += SPLIT_FRACTIONS[name] * _BUCKETS
        if bucket < edge:
            return name
    return SPLITS[-1]


@dataclass
class Record:
    """One example. `scene` is what the image shows (after drift); `clean_scene` is before."""

    image_id: str
    split: str
    index: int  # position in the seed's scene stream
    seed: int
    image: np.ndarray  # uint8 (64, 64, 3)
    scene: Scene
    clean_scene: Scene
    questions: list[Question]
    captions: list[str]
    drift: float = 0.0

    @property
    def scene_id(self) -> str:
        """Content id of the clean scene (stable across seeds, sizes and drift)."""
        return self.clean_scene.digest()[:16]

    def masks(self) -> np.ndarray:
        """Per-object boolean masks (n, 64, 64), computed on demand (they are 4 KB each)."""
        return object_masks(self.scene)

    def pil(self, scale: int = 1) -> Any:
        return to_pil(self.image, scale)


def _make_record(seed: int, index: int, clean: Scene, split: str, drift: Drift) -> Record:
    scene = apply_drift(clean, drift, [seed, index, _DRIFT])
    return Record(
        image_id=f"shapes-s{seed}-{index:07d}",
        split=split,
        index=index,
        seed=seed,
        image=render(scene),
        scene=scene,
        clean_scene=clean,
        questions=make_questions(scene, [seed, index, _QUESTIONS]),
        captions=make_captions(scene, [seed, index, _CAPTIONS]),
        drift=drift.strength,
    )


def iter_records(
    split: str | None = "train",
    seed: int = 0,
    drift: float | Drift | Callable[[int], float | Drift] | None = 0.0,
    max_objects: int = MAX_OBJECTS,
    start: int = 0,
) -> Iterator[Record]:
    """Endless stream of records of one split (`split=None` takes every scene).

    `drift` may be a function of the record's position in *this* stream (0, 1, 2, ...), which is
    how `production_stream` switches drift on at a known time.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    seen: set[str] = set()
    t = 0
    index = start
    while True:
        clean = generate_scene([seed, index, _SCENE], max_objects=max_objects)
        index += 1
        s = split_of(clean)
        if split is not None and s != split:
            continue
        digest = clean.digest()
        if digest in seen:  # rare duplicate single-object scenes: keep examples unique
            continue
        seen.add(digest)
        d = as_drift(drift(t) if callable(drift) else drift)
        yield _make_record(seed, index - 1, clean, s, d)
        t += 1


def make_dataset(
    n: int,
    split: str = "train",
    seed: int = 0,
    drift: float | Drift = 0.0,
    max_objects: int = MAX_OBJECTS,
) -> list[Record]:
    """The first n records of a split. Same arguments (and numpy version), same bytes."""
    it = iter_records(split, seed, drift, max_objects)
    return [next(it) for _ in range(n)]


def production_stream(
    n: int,
    drift_start: int,
    strength: float = 0.6,
    ramp: int = 0,
    kinds: tuple[str, ...] | None = None,
    seed: int = 1000,
    split: str = "test",
) -> list[Record]:
    """n "production requests": clean until `drift_start`, drifted from then on.

    The default seed differs from the training default so production traffic is new scenes,
    and the split is `test`, so none of them was ever trained on.
    """

    def at(t: int) -> Drift:
        s = drift_schedule(t, drift_start, strength, ramp)
        return Drift(s) if kinds is None else Drift(s, kinds)

    it = iter_records(split, seed, at)
    return [next(it) for _ in range(n)]


def fingerprint(records: list[Record]) -> str:
    """SHA-256 over pixels, scene graphs, questions, human answers and captions.

    Recorded next to the checkpoints: if a library upgrade ever changed the random streams, the
    same call would produce a different dataset, and this digest is how a test notices.
    """
    h = hashlib.sha256()
    for r in records:
        h.update(r.image.tobytes())
        h.update(r.scene.key().encode())
        for q in r.questions:
            h.update(repr((q.qtype, q.text, q.answer, q.objects, q.human_answers)).encode())
        h.update("|".join(r.captions).encode())
    return h.hexdigest()


def to_pil(image: np.ndarray, scale: int = 1) -> Any:
    """A PIL image (optionally enlarged with sharp pixels) for `wandb.Image` or display.

    64 px is tiny in a W&B Table; `scale=4` makes it readable without blurring the edges that
    the model actually sees.
    """
    from PIL import Image

    img = Image.fromarray(np.asarray(image, dtype=np.uint8), mode="RGB")
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    return img


def to_dataframe(records: list[Record], level: str = "image") -> Any:
    """A pandas view: one row per image (`level="image"`) or per question (`"question"`).

    Images are left out (keep the frame light); join back on `image_id` to attach pixels.
    """
    import pandas as pd

    if level == "image":
        rows = [
            {
                "image_id": r.image_id,
                "scene_id": r.scene_id,
                "split": r.split,
                "n_objects": len(r.scene.objects),
                "objects": ", ".join(o.describe() for o in r.scene.objects),
                "caption": r.captions[0],
                "n_questions": len(r.questions),
                "drift": r.drift,
            }
            for r in records
        ]
    elif level == "question":
        rows = [
            {
                "image_id": r.image_id,
                "split": r.split,
                "qtype": q.qtype,
                "question": q.text,
                "answer": q.answer,
                "human_answers": list(q.human_answers),
                "drift": r.drift,
            }
            for r in records
            for q in r.questions
        ]
    else:
        raise ValueError("level must be 'image' or 'question'")
    return pd.DataFrame(rows)
