"""DocsQA corpus integrity and chunking: the corpus is data that every LLM chapter relies on, so
format slips (a missing tag, a renamed file, a gold id that no longer exists) must fail here
rather than show up as a mysteriously low retrieval score in a notebook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from utils.docsqa import DOCS_DIR
from utils.docsqa.corpus import (
    CorpusError,
    Doc,
    chunk_corpus,
    chunk_doc,
    corpus_digest,
    load_docs,
    parse_doc,
    split_paragraphs,
)
from utils.docsqa.evalset import load_eval_set

MIN_WORDS, MAX_WORDS = 120, 300


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    return load_docs()


def test_corpus_size(docs: list[Doc]) -> None:
    assert 50 <= len(docs) <= 70


def test_ids_unique_and_match_files(docs: list[Doc]) -> None:
    ids = [d.id for d in docs]
    assert len(ids) == len(set(ids))
    assert sorted(p.stem for p in DOCS_DIR.glob("*.md")) == sorted(ids)


def test_front_matter_complete(docs: list[Doc]) -> None:
    for doc in docs:
        assert doc.title.strip(), doc.id
        assert doc.tags and all(t.strip() for t in doc.tags), doc.id
        assert not doc.text.startswith("---"), doc.id


def test_word_counts_in_range(docs: list[Doc]) -> None:
    out_of_range = {d.id: d.word_count for d in docs if not MIN_WORDS <= d.word_count <= MAX_WORDS}
    assert not out_of_range, out_of_range


def test_gold_ids_exist_and_cover_most_docs(docs: list[Doc]) -> None:
    ids = {d.id for d in docs}
    items = load_eval_set(doc_ids=ids)  # raises on an unknown gold id
    gold = {g for item in items for g in item.gold_doc_ids}
    assert gold <= ids
    assert len(gold) / len(ids) >= 0.6, f"only {len(gold)}/{len(ids)} docs are gold anywhere"


def test_code_fences_are_balanced(docs: list[Doc]) -> None:
    for doc in docs:
        assert doc.text.count("```") % 2 == 0, doc.id


# ------------------------------------------------------------------ parsing errors


GOOD = "---\nid: demo\ntitle: Demo\ntags: [a, b]\n---\nBody text.\n"


def test_parse_doc_roundtrip() -> None:
    doc = parse_doc(GOOD)
    assert doc == Doc("demo", "Demo", ("a", "b"), "Body text.")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("id: demo\n", "must start"),
        ("---\nid: demo\ntitle: Demo\ntags: [a]\n", "not closed"),
        ("---\nid: demo\ntitle: Demo\n---\nBody\n", "lacks tags"),
        ("---\nid: demo\ntitle: Demo\ntags: a, b\n---\nBody\n", "tags must look like"),
        ("---\nid: demo\ntitle: Demo\ntags: []\n---\nBody\n", "lacks tags|empty"),
        ("---\nid: Demo_1\ntitle: Demo\ntags: [a]\n---\nBody\n", "lowercase"),
        ("---\nid: demo\ntitle: Demo\ntags: [a]\nauthor: me\n---\nBody\n", "unexpected"),
        ("---\nid: demo\ntitle: Demo\ntags: [a]\n---\n\n", "empty body"),
    ],
)
def test_parse_doc_rejects(raw: str, message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        parse_doc(raw)


def test_load_docs_rejects_id_file_mismatch(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text(GOOD)
    with pytest.raises(CorpusError, match="does not match"):
        load_docs(tmp_path)


# ------------------------------------------------------------------ chunking and digest


def test_split_paragraphs_keeps_code_fence_whole() -> None:
    text = "Intro line.\n\n```python\nx = 1\n\ny = 2\n```\n\nOutro."
    assert split_paragraphs(text) == ["Intro line.", "```python\nx = 1\n\ny = 2\n```", "Outro."]


def test_chunks_respect_max_size_and_merge_small_paragraphs() -> None:
    sentence = "This sentence has exactly eight words in it. "
    doc = Doc("d", "T", ("t",), "Short one.\n\nShort two.\n\n" + sentence * 40)
    chunks = chunk_doc(doc, max_chars=200)
    assert chunks[0].text == "Short one.\n\nShort two."  # neighbours merged
    assert all(len(c.text) <= 200 for c in chunks)
    assert [c.id for c in chunks] == [f"d#{i}" for i in range(len(chunks))]
    # nothing lost: every word of the source survives chunking
    assert " ".join(c.text for c in chunks).split() == doc.text.split()


def test_corpus_chunks_are_bounded_and_titled(docs: list[Doc]) -> None:
    chunks = chunk_corpus(docs)
    assert {c.doc_id for c in chunks} == {d.id for d in docs}
    assert all(len(c.text) <= 600 or c.text.startswith("```") for c in chunks)
    assert all(c.index_text.startswith(c.title) for c in chunks)


def test_digest_tracks_content_not_order(docs: list[Doc]) -> None:
    digest = corpus_digest(docs)
    assert len(digest) == 64
    assert corpus_digest(list(reversed(docs))) == digest
    edited = [
        Doc(d.id, d.title, d.tags, d.text + " extra") if i == 0 else d for i, d in enumerate(docs)
    ]
    assert corpus_digest(edited) != digest


def test_light_modules_do_not_import_weave_or_torch() -> None:
    # notebooks read the corpus and compute metrics in cells that should start instantly
    code = (
        "import sys, utils.docsqa as d; from utils.docsqa import corpus, evalset, metrics;"
        "d.load_docs(); print('weave' in sys.modules or 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
