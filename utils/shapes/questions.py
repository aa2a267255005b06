"""Questions, answers and ten simulated human answers, all read off the scene graph.

Five question types (`QUESTION_TYPES`): colour, shape, count, existence and relative position.
Every question is unambiguous by construction: an object is only referred to by a description
that matches exactly one object in the scene, and position questions are only asked when the
two centres are clearly apart. Each question also records which objects it is *about*, so a
relevance metric can check whether a model looked at the right patches.

The ten human answers exist so the official VQA accuracy (min(#humans agreeing / 3, 1),
averaged over leave-one-out annotator subsets) can be taught on data that behaves like real
annotations: people write "Two" or "2", "gray" or "grey", add articles and full stops, and now
and then get it wrong. The variation is bounded so the majority answer is always the correct
one; see `human_answers`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from utils.shapes.scenes import COLORS, SHAPES, Scene, SceneObject, object_masks, patch_coverage

QUESTION_TYPES: tuple[str, ...] = ("color", "shape", "count", "exists", "position")
N_HUMANS = 10
POSITION_MARGIN = 6  # centres closer than this (pixels) along an axis are "neither"

TEMPLATES: dict[str, tuple[str, ...]] = {
    "color": ("what color is the {ref}?", "what is the color of the {ref}?"),
    "shape": ("what shape is the {ref}?", "what is the shape of the {ref}?"),
    "count_all": ("how many shapes are there?", "how many objects are in the image?"),
    "count_color": ("how many {color} shapes are there?", "how many {color} objects are there?"),
    "count_shape": ("how many {shape}s are there?", "how many {shape}s are in the image?"),
    "exists_full": ("is there a {color} {shape}?", "is there a {color} {shape} in the image?"),
    "exists_shape": ("is there a {shape}?", "is there a {shape} in the image?"),
    "exists_color": ("are there any {color} objects?", "is there anything {color}?"),
    "left": ("is the {a} to the left of the {b}?", "is the {a} left of the {b}?"),
    "right": ("is the {a} to the right of the {b}?", "is the {a} right of the {b}?"),
    "above": ("is the {a} above the {b}?",),
    "below": ("is the {a} below the {b}?",),
}
OBJECT_NOUNS: tuple[str, ...] = ("object", "shape", "thing")

# Probability that one annotator gets a question of this type wrong. Position and counting
# are where real annotators disagree most, so they get the most noise.
ERROR_RATE: dict[str, float] = {
    "color": 0.04,
    "shape": 0.05,
    "count": 0.08,
    "exists": 0.04,
    "position": 0.10,
}
MAX_WRONG = 3  # at most 3 of 10 annotators are wrong ...
MAX_SYNONYMS = 2  # ... and at most 2 use a synonym the metric does not merge ("grey")
NUMBER_WORDS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six")


@dataclass(frozen=True)
class Question:
    """One question about one scene, with its answer and the objects it refers to."""

    qtype: str
    text: str
    answer: str
    objects: tuple[int, ...]  # indices into scene.objects that the question is about
    human_answers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "qtype": self.qtype,
            "question": self.text,
            "answer": self.answer,
            "objects": list(self.objects),
            "human_answers": list(self.human_answers),
        }


# ---------------------------------------------------------------------------- referring


def _matches(o: SceneObject, attrs: dict[str, str]) -> bool:
    return all(getattr(o, k) == v for k, v in attrs.items())


def _unique_attrs(
    scene: Scene, i: int, options: Sequence[tuple[str, ...]]
) -> dict[str, str] | None:
    """The first attribute set (in `options` order) that picks out object i alone."""
    o = scene.objects[i]
    for keys in options:
        attrs = {k: getattr(o, k) for k in keys}
        if sum(_matches(p, attrs) for p in scene.objects) == 1:
            return attrs
    return None


def _phrase(attrs: dict[str, str], noun: str | None = None) -> str:
    words = [attrs[k] for k in ("size", "color", "shape") if k in attrs]
    if "shape" not in attrs:
        words.append(noun or "object")
    return " ".join(words)


# Referring expressions that may not mention the attribute being asked about.
_REFS_NO_COLOR = (("shape",), ("size", "shape"))
_REFS_NO_SHAPE = (("color",), ("size", "color"))
_REFS_ANY = (("shape",), ("color", "shape"), ("size", "color", "shape"))


# ---------------------------------------------------------------------------- generators


def _pick(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _color_question(scene: Scene, rng: np.random.Generator) -> Question | None:
    cands = [
        (i, a) for i in range(len(scene.objects)) if (a := _unique_attrs(scene, i, _REFS_NO_COLOR))
    ]
    if not cands:
        return None
    i, attrs = _pick(rng, cands)
    text = _pick(rng, TEMPLATES["color"]).format(ref=_phrase(attrs))
    return Question("color", text, scene.objects[i].color, (i,))


def _shape_question(scene: Scene, rng: np.random.Generator) -> Question | None:
    cands = [
        (i, a) for i in range(len(scene.objects)) if (a := _unique_attrs(scene, i, _REFS_NO_SHAPE))
    ]
    if not cands:
        return None
    i, attrs = _pick(rng, cands)
    text = _pick(rng, TEMPLATES["shape"]).format(ref=_phrase(attrs, _pick(rng, OBJECT_NOUNS)))
    return Question("shape", text, scene.objects[i].shape, (i,))


def _count_question(scene: Scene, rng: np.random.Generator) -> Question:
    kind = _pick(rng, ("count_all", "count_color", "count_shape"))
    template = _pick(rng, TEMPLATES[kind])
    # Mostly ask about attributes that are present, so answers are not dominated by zeros.
    present = bool(rng.random() < 2 / 3)
    o = _pick(rng, scene.objects)
    color = o.color if present else _pick(rng, list(COLORS))
    shape = o.shape if present else _pick(rng, SHAPES)
    attrs = {"count_all": {}, "count_color": {"color": color}, "count_shape": {"shape": shape}}[
        kind
    ]
    hits = tuple(i for i, o in enumerate(scene.objects) if _matches(o, attrs))
    return Question("count", template.format(color=color, shape=shape), str(len(hits)), hits)


def _exists_question(scene: Scene, rng: np.random.Generator) -> Question:
    kind = _pick(rng, ("exists_full", "exists_shape", "exists_color"))
    keys = {
        "exists_full": ("color", "shape"),
        "exists_shape": ("shape",),
        "exists_color": ("color",),
    }[kind]
    want_yes = bool(rng.random() < 0.5)
    if want_yes:
        o = _pick(rng, scene.objects)
        attrs = {k: getattr(o, k) for k in keys}
    else:
        # Draw descriptions until one matches nothing; a full scene may leave none (then: yes).
        attrs = {}
        for _ in range(20):
            attrs = {"color": _pick(rng, list(COLORS)), "shape": _pick(rng, SHAPES)}
            attrs = {k: attrs[k] for k in keys}
            if not any(_matches(o, attrs) for o in scene.objects):
                break
    hits = tuple(i for i, o in enumerate(scene.objects) if _matches(o, attrs))
    text = _pick(rng, TEMPLATES[kind]).format(**attrs)
    return Question("exists", text, "yes" if hits else "no", hits)


def _position_question(scene: Scene, rng: np.random.Generator) -> Question | None:
    refs = {
        i: attrs for i in range(len(scene.objects)) if (attrs := _unique_attrs(scene, i, _REFS_ANY))
    }
    pairs = []
    for i in refs:
        for j in refs:
            if i == j:
                continue
            a, b = scene.objects[i], scene.objects[j]
            for rel in ("left", "right", "above", "below"):
                delta = (b.cx - a.cx) if rel in ("left", "right") else (b.cy - a.cy)
                if abs(delta) >= POSITION_MARGIN:
                    pairs.append((i, j, rel))
    if not pairs:
        return None
    i, j, rel = _pick(rng, pairs)
    a, b = scene.objects[i], scene.objects[j]
    truth = {
        "left": a.cx < b.cx,
        "right": a.cx > b.cx,
        "above": a.cy < b.cy,
        "below": a.cy > b.cy,
    }[rel]
    text = _pick(rng, TEMPLATES[rel]).format(a=_phrase(refs[i]), b=_phrase(refs[j]))
    return Question("position", text, "yes" if truth else "no", (i, j))


_GENERATORS = {
    "color": _color_question,
    "shape": _shape_question,
    "count": _count_question,
    "exists": _exists_question,
    "position": _position_question,
}


def make_questions(
    scene: Scene, seed: int | list[int], types: Sequence[str] = QUESTION_TYPES
) -> list[Question]:
    """One question per type (types that cannot be asked unambiguously are skipped).

    A single-object scene has no position question, for instance; skipping is more honest than
    asking an ill-posed question, and the model code handles a varying number per image.
    """
    rng = np.random.default_rng(seed)
    out: list[Question] = []
    for k, qtype in enumerate(types):
        q = _GENERATORS[qtype](scene, rng)
        if q is None:
            continue
        humans = human_answers(q, rng=np.random.default_rng([*np.atleast_1d(seed).tolist(), k]))
        out.append(Question(q.qtype, q.text, q.answer, q.objects, humans))
    return out


# ---------------------------------------------------------------------------- humans

# Surface forms a person might type for a correct answer. Forms that the official VQA
# normalisation maps to the canonical answer (case, articles, full stops, number words) are
# free; forms it does not merge ("grey", "violet") are true disagreements and are capped.
_SAME = "same"
_SYNONYM = "synonym"


def _correct_forms(answer: str) -> list[tuple[str, float, str]]:
    if answer.isdigit():
        n = int(answer)
        word = NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else answer
        forms = [(answer, 0.6, _SAME), (word, 0.3, _SAME), (word.capitalize(), 0.1, _SAME)]
        if n == 0:
            forms.append(("none", 0.1, _SAME))
        return forms
    if answer in ("yes", "no"):
        return [
            (answer, 0.75, _SAME),
            (answer.capitalize(), 0.15, _SAME),
            (answer + ".", 0.1, _SAME),
        ]
    if answer in SHAPES:
        return [
            (answer, 0.6, _SAME),
            ("a " + answer, 0.2, _SAME),
            (answer.capitalize(), 0.1, _SAME),
            ("the " + answer, 0.1, _SAME),
        ]
    forms = [(answer, 0.75, _SAME), (answer.capitalize(), 0.15, _SAME), (answer + ".", 0.05, _SAME)]
    if answer == "gray":
        forms += [("grey", 0.3, _SYNONYM), ("Grey", 0.05, _SYNONYM)]
    elif answer == "purple":
        forms.append(("violet", 0.1, _SYNONYM))
    return forms


def _wrong_answer(q: Question, rng: np.random.Generator) -> str:
    """A plausible mistake for this question type (never the right answer)."""
    a = q.answer
    if q.qtype == "count":
        n = int(a)
        return str(n + 1) if n == 0 or rng.random() < 0.5 else str(n - 1)
    if a in ("yes", "no"):
        return "no" if a == "yes" else "yes"
    if a in SHAPES:
        confusions = {
            "circle": ("oval", "square"),
            "square": ("rectangle", "circle"),
            "triangle": ("square", "circle"),
        }
        return _pick(rng, confusions[a])
    return _pick(rng, [c for c in (*COLORS, "orange") if c != a])


def human_answers(q: Question, rng: np.random.Generator, n: int = N_HUMANS) -> tuple[str, ...]:
    """Ten answers as ten annotators might give them, deterministically from `rng`.

    Guarantee (tested): at least n - MAX_WRONG - MAX_SYNONYMS = 5 answers normalise to the
    correct answer while any other answer occurs at most 3 times, so the majority is correct and
    the canonical answer always scores full VQA accuracy.
    """
    n_wrong = min(MAX_WRONG, int(rng.binomial(n, ERROR_RATE[q.qtype])))
    forms = _correct_forms(q.answer)
    cum = np.cumsum([f[1] for f in forms])
    picks = np.searchsorted(cum / cum[-1], rng.random(n - n_wrong), side="right")
    answers: list[str] = []
    synonyms = 0
    for k in picks.tolist():
        text, kind = forms[min(k, len(forms) - 1)][0], forms[min(k, len(forms) - 1)][2]
        if kind == _SYNONYM:
            synonyms += 1
            if synonyms > MAX_SYNONYMS:
                text = q.answer
        answers.append(text)
    answers += [_wrong_answer(q, rng) for _ in range(n_wrong)]
    order = rng.permutation(n)
    return tuple(answers[i] for i in order)


_NUMBER_TO_DIGIT = {w: str(i) for i, w in enumerate(NUMBER_WORDS)} | {"none": "0"}
_ARTICLES = {"a", "an", "the"}


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and articles, spell numbers as digits.

    The same merging rules the official VQA evaluation applies to the answers this module
    produces; chapter 08 implements the official metric in full.
    """
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    return " ".join(_NUMBER_TO_DIGIT.get(w, w) for w in words if w not in _ARTICLES)


def majority_answer(answers: Sequence[str]) -> str:
    """The most common normalised answer (ties go to the one seen first)."""
    counts = Counter(normalize_answer(a) for a in answers)
    return counts.most_common(1)[0][0]


def relevance_map(scene: Scene, question: Question) -> np.ndarray:
    """Per-patch coverage (GRID x GRID, in [0, 1]) of the objects a question is about.

    For "no" existence questions or a zero count there is nothing to look at and the map is all
    zeros; relevance metrics should skip those questions rather than reward any attention.
    """
    cov = patch_coverage(object_masks(scene))
    if not question.objects:
        return np.zeros(cov.shape[1:], dtype=float)
    return np.clip(cov[list(question.objects)].sum(axis=0), 0.0, 1.0)
