"""The DocsQA eval set: questions with short reference answers and gold documents.

Stored as JSON Lines (`data/docsqa/eval.jsonl`) so a diff shows exactly which question changed,
and validated on load: an eval set with a typo in a gold id silently lowers every retrieval score,
which is worse than failing loudly.

Each row: `id`, `question`, `reference_answer`, `gold_doc_ids` (1-3 ids, empty for
unanswerable questions), `type` (factual / how-to / comparison / unanswerable), `key_facts` and
`near_miss`.

`key_facts` (answerable rows only) are the 1-5 facts a correct answer must state, each written as
alternatives separated by " | " ("define_metric | summary='max'"); they give list-style answers
partial credit (`utils.docsqa.scoring`). `near_miss` (unanswerable rows only) marks questions the
corpus almost answers: the topic is covered but not the asked detail, the hardest case for
abstention and a slice of its own.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from utils.docsqa import EVAL_PATH

QuestionType = Literal["factual", "how-to", "comparison", "unanswerable"]
QUESTION_TYPES: tuple[str, ...] = get_args(QuestionType)
FIELDS = ("id", "question", "reference_answer", "gold_doc_ids", "type", "key_facts", "near_miss")
MAX_KEY_FACTS = 5
MAX_GOLD = 3
IDK = "I don't know."  # the canonical abstention, shared with the pipeline's post-processor


class EvalSetError(ValueError):
    """A row of the eval set is malformed (the message names the line)."""


@dataclass(frozen=True)
class EvalItem:
    """One eval question; `gold_doc_ids` is empty exactly when the corpus cannot answer it."""

    id: str
    question: str
    reference_answer: str
    gold_doc_ids: tuple[str, ...]
    type: QuestionType
    key_facts: tuple[str, ...] = ()
    near_miss: bool = False

    @property
    def answerable(self) -> bool:
        """Whether the corpus holds the answer (retrieval metrics are only defined then)."""
        return bool(self.gold_doc_ids)

    @property
    def slice(self) -> str:
        """The reporting slice: the type, with unanswerable split into near-miss and off-corpus
        (a model that refuses "capital of Australia" may still answer a near miss)."""
        if self.type == "unanswerable":
            return "unanswerable/near-miss" if self.near_miss else "unanswerable/off-corpus"
        return self.type

    def to_row(self) -> dict[str, Any]:
        """A plain dict for `weave.Dataset(rows=...)` or a pandas frame (lists, not tuples)."""
        return {
            "id": self.id,
            "question": self.question,
            "reference_answer": self.reference_answer,
            "gold_doc_ids": list(self.gold_doc_ids),
            "type": self.type,
            "key_facts": list(self.key_facts),
            "near_miss": self.near_miss,
        }


def _validate(row: Any, where: str, doc_ids: Collection[str] | None) -> EvalItem:
    if not isinstance(row, dict):
        raise EvalSetError(f"{where}: expected a JSON object")
    keys = set(row)
    if keys != set(FIELDS):
        missing, extra = set(FIELDS) - keys, keys - set(FIELDS)
        raise EvalSetError(f"{where}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    for key in ("id", "question", "reference_answer", "type"):
        if not isinstance(row[key], str) or not row[key].strip():
            raise EvalSetError(f"{where}: {key!r} must be a non-empty string")
    qtype = row["type"]
    if qtype not in QUESTION_TYPES:
        raise EvalSetError(f"{where}: type {qtype!r} not one of {QUESTION_TYPES}")
    gold = row["gold_doc_ids"]
    if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
        raise EvalSetError(f"{where}: gold_doc_ids must be a list of strings")
    if len(set(gold)) != len(gold):
        raise EvalSetError(f"{where}: gold_doc_ids has duplicates")
    if qtype == "unanswerable":
        if gold:
            raise EvalSetError(f"{where}: an unanswerable question cannot have gold documents")
    elif not 1 <= len(gold) <= MAX_GOLD:
        raise EvalSetError(f"{where}: needs 1-{MAX_GOLD} gold_doc_ids, has {len(gold)}")
    facts = row["key_facts"]
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        raise EvalSetError(f"{where}: key_facts must be a list of non-empty strings")
    if not isinstance(row["near_miss"], bool):
        raise EvalSetError(f"{where}: near_miss must be true or false")
    if qtype == "unanswerable":
        if facts:
            raise EvalSetError(f"{where}: an unanswerable question has no key facts")
    else:
        if not 1 <= len(facts) <= MAX_KEY_FACTS:
            raise EvalSetError(f"{where}: needs 1-{MAX_KEY_FACTS} key_facts, has {len(facts)}")
        if row["near_miss"]:
            raise EvalSetError(f"{where}: near_miss is for unanswerable questions only")
    if doc_ids is not None:
        unknown = [g for g in gold if g not in doc_ids]
        if unknown:
            raise EvalSetError(f"{where}: unknown gold doc ids {unknown}")
    return EvalItem(
        id=row["id"],
        question=row["question"].strip(),
        reference_answer=row["reference_answer"].strip(),
        gold_doc_ids=tuple(gold),
        type=cast(QuestionType, qtype),
        key_facts=tuple(f.strip() for f in facts),
        near_miss=row["near_miss"],
    )


def load_eval_set(
    path: Path | str = EVAL_PATH, doc_ids: Collection[str] | None = None
) -> list[EvalItem]:
    """Read and validate every row; pass `doc_ids` to also check gold ids exist in the corpus."""
    path = Path(path)
    items: list[EvalItem] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalSetError(f"{where}: invalid JSON ({err.msg})") from None
        item = _validate(row, where, doc_ids)
        if item.id in seen:
            raise EvalSetError(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise EvalSetError(f"{path.name}: no rows")
    return items


def as_rows(items: Sequence[EvalItem]) -> list[dict[str, Any]]:
    """All items as plain dicts, the shape `weave.Dataset` and `pandas.DataFrame` accept."""
    return [item.to_row() for item in items]


# The fixed sample the benchmark and the judge labels use: every slice represented, small enough
# that one configuration runs in about 20 minutes on the course's 2-core reference machine.
SAMPLE_PER_SLICE: dict[str, int] = {
    "factual": 16,
    "how-to": 14,
    "comparison": 10,
    "unanswerable/near-miss": 10,
    "unanswerable/off-corpus": 10,
}


def stratified_sample(
    items: Sequence[EvalItem], per_slice: Mapping[str, int] | None = None, seed: int = 0
) -> list[EvalItem]:
    """A reproducible sample with a fixed number of questions per slice, in eval-set order.

    Stratified rather than uniform so the small slices (comparison, near-miss) are never left
    with two questions by chance; a slice smaller than asked is taken whole.
    """
    per_slice = SAMPLE_PER_SLICE if per_slice is None else per_slice
    rng = random.Random(seed)
    chosen: set[str] = set()
    for name, n in per_slice.items():
        pool = [i.id for i in items if i.slice == name]
        chosen.update(pool if n >= len(pool) else rng.sample(pool, n))
    return [i for i in items if i.id in chosen]
