"""The DocsQA corpus: Markdown files with a small front matter, split into retrievable chunks.

Each document is `data/docsqa/docs/<id>.md` and starts with

    ---
    id: weave-ops
    title: Weave ops
    tags: [weave, tracing]
    ---

The front matter is parsed by hand (three known keys) rather than with a YAML library: the format
is ours, a strict parser catches typos that a lenient one would silently accept, and the module
stays dependency-free. Chunks, not documents, are what retrievers index, because a short
paragraph that matches a question is a sharper signal than a whole page that mentions it once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from utils.docsqa import DOCS_DIR

REQUIRED_KEYS = ("id", "title", "tags")
DEFAULT_MAX_CHARS = 600
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"(])")


class CorpusError(ValueError):
    """A document file breaks the corpus format (caught early so retrieval never sees junk)."""


@dataclass(frozen=True)
class Doc:
    """One corpus document; `text` is the Markdown body without the front matter."""

    id: str
    title: str
    tags: tuple[str, ...]
    text: str

    @property
    def word_count(self) -> int:
        """Words in the body, the unit the corpus size rules are written in."""
        return word_count(self.text)


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of one document; `id` is `<doc_id>#<n>` so hits map back to docs."""

    id: str
    doc_id: str
    title: str
    text: str

    @property
    def index_text(self) -> str:
        """What retrievers index: the title is prepended so a paragraph that says "it" still
        carries its subject (a chunk about aliases should know whether it is about Artifacts or
        the Registry)."""
        return f"{self.title}. {self.text}"


def word_count(text: str) -> int:
    """Whitespace-separated words; simple on purpose so tests and authors agree on counts."""
    return len(text.split())


def _parse_tags(value: str, source: str) -> tuple[str, ...]:
    value = value.strip()
    if not (value.startswith("[") and value.endswith("]")):
        raise CorpusError(f"{source}: tags must look like [a, b], got {value!r}")
    tags = tuple(t.strip() for t in value[1:-1].split(",") if t.strip())
    if not tags:
        raise CorpusError(f"{source}: tags list is empty")
    return tags


def parse_doc(raw: str, source: str = "<string>") -> Doc:
    """Parse one document file's text; raise `CorpusError` naming `source` on any format slip."""
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "---":
        raise CorpusError(f"{source}: must start with a '---' front matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise CorpusError(f"{source}: front matter is not closed with '---'") from None
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in REQUIRED_KEYS:
            raise CorpusError(f"{source}: unexpected front matter line {line!r}")
        if key in meta:
            raise CorpusError(f"{source}: duplicate front matter key {key!r}")
        meta[key] = value.strip()
    missing = [k for k in REQUIRED_KEYS if not meta.get(k)]
    if missing:
        raise CorpusError(f"{source}: front matter lacks {', '.join(missing)}")
    if not _ID_RE.match(meta["id"]):
        raise CorpusError(f"{source}: id {meta['id']!r} must be lowercase letters, digits, '-'")
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise CorpusError(f"{source}: empty body")
    return Doc(meta["id"], meta["title"], _parse_tags(meta["tags"], source), body)


def load_docs(docs_dir: Path | str = DOCS_DIR) -> list[Doc]:
    """All documents sorted by id; file names must equal ids so links and gold labels agree."""
    docs_dir = Path(docs_dir)
    docs: list[Doc] = []
    seen: set[str] = set()
    for path in sorted(docs_dir.glob("*.md")):
        doc = parse_doc(path.read_text(encoding="utf-8"), source=path.name)
        if doc.id != path.stem:
            raise CorpusError(f"{path.name}: id {doc.id!r} does not match the file name")
        if doc.id in seen:
            raise CorpusError(f"{path.name}: duplicate id {doc.id!r}")
        seen.add(doc.id)
        docs.append(doc)
    if not docs:
        raise CorpusError(f"no *.md documents in {docs_dir}")
    return docs


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, keeping a fenced code block in one piece even if it
    contains blank lines (half a code sample is a confusing retrieval hit)."""
    paragraphs: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if current:
                paragraphs.append("\n".join(current).strip())
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append("\n".join(current).strip())
    return [p for p in paragraphs if p]


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    """Break an over-long paragraph at sentence ends, then at word boundaries as a last resort."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        words: list[str] = []
        for word in sentence.split():
            if words and len(" ".join([*words, word])) > max_chars:
                pieces.append(" ".join(words))
                words = []
            words.append(word)
        if words:
            pieces.append(" ".join(words))
    return _pack(pieces, max_chars, sep=" ")


def _pack(pieces: Iterable[str], max_chars: int, sep: str) -> list[str]:
    """Greedily join consecutive pieces while the result stays within `max_chars`."""
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + len(sep) + len(piece) <= max_chars:
            packed[-1] = packed[-1] + sep + piece
        else:
            packed.append(piece)
    return packed


def chunk_doc(doc: Doc, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Split a document by paragraph, merging neighbours up to `max_chars` characters.

    Merging keeps tiny paragraphs (a one-line intro) from becoming context-free chunks; the cap
    keeps each chunk well inside the embedding model's input window. A single paragraph longer
    than the cap is split at sentence ends, except fenced code, which is never cut.
    """
    if max_chars < 80:
        raise ValueError("max_chars below 80 would cut most sentences in half")
    pieces: list[str] = []
    for para in split_paragraphs(doc.text):
        if len(para) > max_chars and not para.startswith("```"):
            pieces.extend(_split_long(para, max_chars))
        else:
            pieces.append(para)
    texts = _pack(pieces, max_chars, sep="\n\n")
    return [Chunk(f"{doc.id}#{i}", doc.id, doc.title, t) for i, t in enumerate(texts)]


def chunk_corpus(docs: Sequence[Doc], max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Chunks of every document, in document order (stable, so cached embeddings line up)."""
    return [chunk for doc in docs for chunk in chunk_doc(doc, max_chars)]


def corpus_digest(docs: Sequence[Doc]) -> str:
    """A SHA-256 over every document's id, title, tags and text.

    Caches (the embedding matrix) and traced metadata key on this, so an edited document can never
    be answered from stale vectors, and two runs can be checked to have used the same corpus.
    """
    payload = [[d.id, d.title, list(d.tags), d.text] for d in sorted(docs, key=lambda d: d.id)]
    blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def docs_by_id(docs: Sequence[Doc]) -> dict[str, Doc]:
    """Index documents by id (the shape gold labels and retrieval hits refer to)."""
    return {d.id: d for d in docs}
