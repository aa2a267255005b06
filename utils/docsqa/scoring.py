"""Deterministic answer scoring for DocsQA: key facts (partial credit), abstention, citations.

Reference answers are prose, and a small model's correct answer rarely repeats them word for
word, so exact match would call most right answers wrong. Each answerable eval question instead
lists its key facts (`EvalItem.key_facts`), each written as alternatives separated by " | "; a
fact counts as stated when every word of one alternative occurs in the answer (lowercased, split
on anything that is not a letter or digit, crude plural strip, so `run.define_metric` matches
"define_metric" and "define metric"). The grade is:

* answerable question: abstaining is wrong; otherwise `key_fact_recall` is the share of facts
  stated, and `correct` means all of them were;
* unanswerable question: `correct` means the model abstained. An answer that is true in the world
  but not in the notes (Canberra for "capital of Australia") is a non-abstention, hence wrong:
  DocsQA's contract is to answer from the notes.

Cheap and repeatable, but blind to a fact stated in other words and to a wrong claim next to the
right ones; that is why chapter 02 validates it, like any judge, against course-authored labels
(`utils.docsqa.labels`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from utils.docsqa.abstention import is_abstention
from utils.docsqa.evalset import EvalItem

_WORD = re.compile(r"[a-z0-9]+")
_CITE = re.compile(r"\[([a-z0-9][a-z0-9#,\s-]*)\]", re.IGNORECASE)
# Words too common to carry a fact; kept tiny so a fact's wording stays in the author's hands.
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "be",
        "it",
        "its",
        "by",
        "with",
        "as",
        "at",
        "from",
        "that",
        "this",
        "your",
        "you",
    ]
)


def _singular(tok: str) -> str:
    if len(tok) <= 3:
        return tok
    if tok.endswith(("ses", "xes", "ches", "shes")):
        return tok[:-2]  # aliases -> alias, patches -> patch
    if tok.endswith("s") and not tok.endswith(("ss", "us", "is", "as")):
        return tok[:-1]  # versions -> version (but not alias, status, analysis)
    return tok


def words(text: str) -> list[str]:
    """Lowercase word tokens with a crude plural strip ("versions" -> "version")."""
    return [_singular(tok) for tok in _WORD.findall(text.lower())]


def fact_stated(fact: str, answer: str) -> bool:
    """Whether one key fact (alternatives split by " | ") is stated in the answer."""
    have = set(words(answer))
    for alternative in fact.split("|"):
        need = [w for w in words(alternative) if w not in _STOP]
        if need and all(w in have for w in need):
            return True
    return False


def key_fact_recall(facts: Sequence[str], answer: str) -> float:
    """Share of the key facts the answer states (1.0 when there are none to state)."""
    if not facts:
        return 1.0
    return sum(fact_stated(f, answer) for f in facts) / len(facts)


def reference_token_recall(reference: str, answer: str) -> float:
    """Share of the reference answer's content words found in the answer: the simplest
    reference-based judge, kept as a baseline for chapter 02's judge comparison."""
    ref = {w for w in words(reference) if w not in _STOP}
    if not ref:
        return 0.0
    return len(ref & set(words(answer))) / len(ref)


def cited_ids(answer: str) -> list[str]:
    """Doc ids cited as `[id]` or `[id#chunk, other-id]`, in order, without repeats."""
    out: list[str] = []
    for group in _CITE.findall(answer):
        for raw in group.split(","):
            doc_id = raw.strip().split("#", 1)[0].lower()
            if doc_id and doc_id not in out:
                out.append(doc_id)
    return out


@dataclass(frozen=True)
class Grade:
    """A deterministic grade of one answer to one eval question."""

    abstained: bool
    correct: bool
    key_fact_recall: float  # 0.0 for unanswerable questions (no facts to state)


def grade_answer(item: EvalItem, answer: str) -> Grade:
    """Grade an answer (cleaned text, or the canonical "I don't know.") against an eval item."""
    abstained = is_abstention(answer)
    if not item.answerable:
        return Grade(abstained=abstained, correct=abstained, key_fact_recall=0.0)
    if abstained:
        return Grade(abstained=True, correct=False, key_fact_recall=0.0)
    recall = key_fact_recall(item.key_facts, answer)
    return Grade(abstained=False, correct=recall == 1.0, key_fact_recall=recall)
