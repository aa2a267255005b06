"""ShapesVQA data: determinism, label correctness, splits and drift.

Answers are re-derived here from the question *text* and the scene graph with an independent
parser, so a bug in the generator's own bookkeeping cannot hide behind itself.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

import numpy as np
import pytest

from utils.shapes import (
    COLORS,
    QUESTION_TYPES,
    SHAPES,
    SIZES,
    Drift,
    Scene,
    fingerprint,
    generate_scene,
    majority_answer,
    make_dataset,
    normalize_answer,
    object_masks,
    production_stream,
    relevance_map,
    render,
    split_of,
    to_dataframe,
    to_pil,
)
from utils.shapes.captions import left_to_right
from utils.shapes.questions import NUMBER_WORDS, POSITION_MARGIN
from utils.shapes.vocab import UNK, answer_list, caption_vocab, question_vocab, tokenize

N = 300


@pytest.fixture(scope="module")
def records():
    return make_dataset(N, "train", seed=0)


# ---------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_different_seed_differs():
    a, b = render(generate_scene([0, 7])), render(generate_scene([0, 7]))
    assert a.dtype == np.uint8 and a.shape == (64, 64, 3)
    assert a.tobytes() == b.tobytes()
    assert render(generate_scene([0, 8])).tobytes() != a.tobytes()
    assert fingerprint(make_dataset(20, "train", 0)) == fingerprint(make_dataset(20, "train", 0))
    assert fingerprint(make_dataset(20, "train", 1)) != fingerprint(make_dataset(20, "train", 0))


def test_datasets_grow_by_appending(records):
    small = make_dataset(25, "train", 0)
    assert [r.image_id for r in small] == [r.image_id for r in records[:25]]
    assert all(r.image.tobytes() == s.image.tobytes() for r, s in zip(records, small, strict=False))


def test_objects_in_bounds_disjoint_and_painted(records):
    for r in records:
        objs = r.scene.objects
        assert 1 <= len(objs) <= 4
        masks = object_masks(r.scene)
        assert masks.sum(0).max() <= 1, "objects overlap"
        for o, m in zip(objs, masks, strict=True):
            x0, y0, x1, y1 = o.bbox
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
            assert SIZES[o.size][0] <= o.r <= SIZES[o.size][1]
            assert (r.image[m] == o.rgb).all(), "mask pixels must carry the object's colour"
        assert (r.image[~masks.any(0)] == r.scene.background).all()


# ---------------------------------------------------------------------------- answers

_NOUNS = {"object", "shape", "thing"}


def _resolve(scene: Scene, phrase: str) -> int:
    """The index of the single object a referring phrase describes (asserts uniqueness)."""
    words = [w for w in phrase.split() if w not in _NOUNS]
    hits = [
        i
        for i, o in enumerate(scene.objects)
        if all(w in (o.size, o.color, o.shape) for w in words)
    ]
    assert len(hits) == 1, f"{phrase!r} is ambiguous or empty in {scene.key()}"
    return hits[0]


def _answer_from_text(scene: Scene, text: str) -> tuple[str, str]:
    objs = scene.objects
    if m := re.fullmatch(r"what (?:color is|is the color of) the (.+)\?", text):
        return "color", objs[_resolve(scene, m[1])].color
    if m := re.fullmatch(r"what (?:shape is|is the shape of) the (.+)\?", text):
        return "shape", objs[_resolve(scene, m[1])].shape
    if m := re.fullmatch(r"how many (.+?) (?:are there|are in the image)\?", text):
        words = m[1].split()
        if words in (["shapes"], ["objects"]):
            n = len(objs)
        elif len(words) == 2:
            n = sum(o.color == words[0] for o in objs)
        else:
            n = sum(o.shape + "s" == words[0] for o in objs)
        return "count", str(n)
    if m := re.fullmatch(r"is there a (\w+)(?: (\w+))?(?: in the image)?\?", text):
        attrs = [w for w in m.groups() if w]
        found = any(all(a in (o.color, o.shape) for a in attrs) for o in objs)
        return "exists", "yes" if found else "no"
    if m := re.fullmatch(r"(?:are there any (\w+) objects|is there anything (\w+))\?", text):
        color = m[1] or m[2]
        return "exists", "yes" if any(o.color == color for o in objs) else "no"
    if m := re.fullmatch(
        r"is the (.+?) (?:to the )?(left of|right of|above|below) the (.+)\?", text
    ):
        a, b = objs[_resolve(scene, m[1])], objs[_resolve(scene, m[3])]
        delta = {"left of": b.cx - a.cx, "right of": a.cx - b.cx, "above": b.cy - a.cy}.get(
            m[2], a.cy - b.cy
        )
        axis_gap = abs(b.cx - a.cx) if "of" in m[2] else abs(b.cy - a.cy)
        assert axis_gap >= POSITION_MARGIN, "position question about objects too close to call"
        return "position", "yes" if delta > 0 else "no"
    raise AssertionError(f"unparsed question: {text!r}")


def test_answers_match_scene_graph(records):
    seen_types: Counter[str] = Counter()
    answers: Counter[tuple[str, str]] = Counter()
    for r in records:
        assert r.questions, "every image gets questions"
        for q in r.questions:
            qtype, answer = _answer_from_text(r.scene, q.text)
            assert (qtype, answer) == (q.qtype, q.answer), q.text
            seen_types[qtype] += 1
            answers[(qtype, answer)] += 1
    assert set(seen_types) == set(QUESTION_TYPES)
    # Yes/no types are balanced enough that "always yes" cannot look good.
    for t in ("exists", "position"):
        yes, no = answers[(t, "yes")], answers[(t, "no")]
        assert 0.35 < yes / (yes + no) < 0.65


def test_question_objects_are_the_referents(records):
    for r in records:
        for q in r.questions:
            if q.qtype in ("color", "shape"):
                assert len(q.objects) == 1
                assert getattr(r.scene.objects[q.objects[0]], q.qtype) == q.answer
            if q.qtype == "count":
                assert len(q.objects) == int(q.answer)
            rel = relevance_map(r.scene, q)
            assert rel.shape == (8, 8) and rel.min() >= 0 and rel.max() <= 1
            assert (rel.sum() > 0) == bool(q.objects)


def test_human_answers_majority_correct_and_varied(records):
    forms: Counter[str] = Counter()
    wrong = 0
    for r in records:
        for q in r.questions:
            humans = q.human_answers
            assert len(humans) == 10
            norm = [normalize_answer(h) for h in humans]
            assert majority_answer(humans) == q.answer
            agree = norm.count(q.answer)
            assert agree >= 5 and all(c <= 3 for a, c in Counter(norm).items() if a != q.answer)
            # Official VQA accuracy of the canonical answer (leave-one-out over 10 humans) is 1.
            loo = [min(1.0, (agree - (n == q.answer)) / 3) for n in norm]
            assert sum(loo) / 10 == 1.0
            wrong += sum(n != q.answer for n in norm)
            forms.update(humans)
    # Honest variation: number words, capitals, articles, "grey", and some real mistakes.
    assert forms["two"] and forms["Yes"] and forms["a circle"] and forms["grey"]
    assert wrong > 0


def test_normalize_answer_follows_vqa_rules():
    assert normalize_answer("Two.") == "2"
    assert normalize_answer("the Circle") == "circle"
    assert normalize_answer("none") == "0"
    assert normalize_answer("grey") == "grey"  # a different answer, as in the official metric


# ---------------------------------------------------------------------------- captions


def test_captions_mention_true_objects_only(records):
    color_words, shape_words = set(COLORS), set(SHAPES)
    for r in records:
        caps = r.captions
        assert len(caps) >= 5 and len(set(caps)) == len(caps)
        colors = {o.color for o in r.scene.objects}
        shapes = {o.shape for o in r.scene.objects}
        pairs = {(o.color, o.shape) for o in r.scene.objects}
        for cap in caps:
            words = tokenize(cap)
            said_colors = {w for w in words if w in color_words}
            said_shapes = {w.rstrip("s") for w in words if w.rstrip("s") in shape_words}
            assert said_colors and said_shapes, cap
            assert said_colors <= colors and said_shapes <= shapes, cap
            for a, b in itertools.pairwise(words):
                if a in color_words and b.rstrip("s") in shape_words:
                    assert (a, b.rstrip("s")) in pairs, cap
            if (m := re.search(r"(\w+) shapes", cap)) and m[1] in NUMBER_WORDS:
                assert NUMBER_WORDS.index(m[1]) == len(r.scene.objects), cap
        expected = [r.scene.objects[i].describe() for i in left_to_right(r.scene)]
        assert re.findall(r"(?:small|large) \w+ \w+", caps[0]) == expected


def test_vocabularies_cover_the_data(records):
    qv, cv, answers = question_vocab(), caption_vocab(), set(answer_list())
    for r in records:
        for q in r.questions:
            assert UNK not in [t if t in qv else UNK for t in tokenize(q.text)], q.text
            assert q.answer in answers
        for c in r.captions:
            assert all(t in cv for t in tokenize(c)), c


# ---------------------------------------------------------------------------- splits


def test_splits_are_disjoint_by_content():
    train = make_dataset(600, "train", 0)
    val = make_dataset(120, "val", 0)
    test = make_dataset(120, "test", 0)
    other_seed_test = make_dataset(120, "test", 1)
    ids = [{r.scene_id for r in s} for s in (train, val, test, other_seed_test)]
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    assert not ids[0] & ids[3], "a test scene from another seed must never be a training scene"
    for name, split in (("train", train), ("val", val), ("test", test)):
        assert all(r.split == name == split_of(r.clean_scene) for r in split)
        assert len({r.image_id for r in split}) == len(split)
    counts = Counter(split_of(generate_scene([0, i, 0])) for i in range(2000))
    assert 0.75 < counts["train"] / 2000 < 0.85


# ---------------------------------------------------------------------------- drift


def test_drift_moves_pixel_statistics_monotonically():
    strengths = [0.0, 0.25, 0.5, 0.75, 1.0]
    sets = [make_dataset(80, "test", 3, drift=s) for s in strengths]
    clean = np.stack([r.image for r in sets[0]]).astype(float)
    diffs, brightness, novel = [], [], []
    for recs in sets:
        imgs = np.stack([r.image for r in recs]).astype(float)
        diffs.append(np.abs(imgs - clean).mean())
        brightness.append(imgs.mean())
        novel.append(sum(o.color not in COLORS for r in recs for o in r.scene.objects))
        assert [r.scene_id for r in recs] == [r.scene_id for r in sets[0]], "same scenes, drifted"
    assert diffs[0] == 0 and all(a < b for a, b in itertools.pairwise(diffs))
    assert all(a > b for a, b in itertools.pairwise(brightness))
    assert novel[0] == 0 and novel[-1] > novel[1] > 0


def test_drift_kinds_and_validation():
    only_noise = make_dataset(10, "test", 0, drift=Drift(1.0, kinds=("noise",)))
    base = make_dataset(10, "test", 0)
    for r, b in zip(only_noise, base, strict=True):
        assert [o.color for o in r.scene.objects] == [o.color for o in b.scene.objects]
        assert [o.r for o in r.scene.objects] == [o.r for o in b.scene.objects]
        assert r.scene.noise_std > 0
    with pytest.raises(ValueError):
        Drift(1.5)
    with pytest.raises(ValueError):
        Drift(0.5, kinds=("fog",))


def test_production_stream_switches_drift_on_at_known_time():
    stream = production_stream(30, drift_start=20, strength=0.8)
    assert [r.drift for r in stream] == [0.0] * 20 + [0.8] * 10
    ramp = production_stream(30, drift_start=10, strength=1.0, ramp=10)
    assert ramp[9].drift == 0 and 0 < ramp[10].drift < ramp[15].drift < ramp[19].drift == 1.0
    assert all(r.split == "test" for r in stream)


# ---------------------------------------------------------------------------- views


def test_dataframe_and_pil_views(records):
    df = to_dataframe(records[:10])
    assert len(df) == 10 and {"image_id", "objects", "caption"} <= set(df.columns)
    qdf = to_dataframe(records[:10], level="question")
    assert len(qdf) == sum(len(r.questions) for r in records[:10])
    assert qdf["human_answers"].map(len).eq(10).all()
    img = to_pil(records[0].image, scale=4)
    assert img.size == (256, 256) and img.mode == "RGB"
    assert np.array_equal(np.asarray(to_pil(records[0].image)), records[0].image)
