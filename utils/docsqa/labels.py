"""Course-authored correctness labels for DocsQA answers: the yardstick for any judge.

`data/docsqa/judge_labels.jsonl` holds answers the local model gave to a fixed sample of eval
questions with fixed settings (recorded in each row's `config`), and a verdict per answer
written by the course authors after reading the answer against the reference answer and the
gold notes. Chapter 02 runs a judge over the same answers and measures its agreement with these
verdicts (`utils.docsqa.agreement`) before trusting its scores.

Verdicts:
* answerable questions: `correct` (every key fact right, nothing wrong added that matters),
  `partial` (some key facts right, or right with a wrong claim beside it), `wrong`, or
  `abstained` (a false refusal);
* unanswerable questions: `abstained` (the right behaviour) or `non_abstention` (any answer,
  including one that is true in the world but not in the notes: DocsQA must answer from them).

For a yes/no judge, only `correct` (answerable) and `abstained` (unanswerable) count as correct;
`partial` counts as not correct, the strict reading a learner expects from "correct".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from utils.docsqa import DOCSQA_DIR

LABELS_PATH = DOCSQA_DIR / "judge_labels.jsonl"
Verdict = Literal["correct", "partial", "wrong", "abstained", "non_abstention"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
ANSWERABLE_VERDICTS = frozenset({"correct", "partial", "wrong", "abstained"})
UNANSWERABLE_VERDICTS = frozenset({"abstained", "non_abstention"})
FIELDS = ("id", "question", "answerable", "answer", "raw", "config", "verdict", "note")


class LabelError(ValueError):
    """A label row is malformed or inconsistent with its question (the message names the line)."""


@dataclass(frozen=True)
class Label:
    """One labelled answer."""

    id: str
    question: str
    answerable: bool
    answer: str  # what the user saw (cleaned, abstentions kept as written)
    raw: str  # the completion exactly as the model returned it
    config: dict[str, Any]
    verdict: Verdict
    note: str

    @property
    def correct(self) -> bool:
        """The binary truth a yes/no judge is compared with."""
        return self.verdict == ("correct" if self.answerable else "abstained")


def _check(row: Any, where: str) -> Label:
    if not isinstance(row, dict) or set(row) != set(FIELDS):
        raise LabelError(f"{where}: expected exactly the fields {FIELDS}")
    verdict = row["verdict"]
    if verdict not in VERDICTS:
        raise LabelError(f"{where}: verdict {verdict!r} not one of {VERDICTS}")
    allowed = ANSWERABLE_VERDICTS if row["answerable"] else UNANSWERABLE_VERDICTS
    if verdict not in allowed:
        kind = "an answerable" if row["answerable"] else "an unanswerable"
        raise LabelError(f"{where}: {verdict!r} is not a verdict for {kind} question")
    if not isinstance(row["config"], dict) or not row["config"]:
        raise LabelError(f"{where}: config must record the generation settings")
    if verdict in ("partial", "wrong", "non_abstention") and not str(row["note"]).strip():
        raise LabelError(f"{where}: say why in the note")
    return Label(
        id=row["id"],
        question=row["question"],
        answerable=bool(row["answerable"]),
        answer=row["answer"],
        raw=row["raw"],
        config=row["config"],
        verdict=cast(Verdict, verdict),
        note=row["note"],
    )


def load_labels(path: Path | str = LABELS_PATH) -> list[Label]:
    """Read and validate every label row; ids must be unique."""
    path = Path(path)
    out: list[Label] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        label = _check(json.loads(line), f"{path.name}:{n}")
        if label.id in seen:
            raise LabelError(f"{path.name}:{n}: duplicate id {label.id!r}")
        seen.add(label.id)
        out.append(label)
    if not out:
        raise LabelError(f"{path.name}: no labels")
    return out
