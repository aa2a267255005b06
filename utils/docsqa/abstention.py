"""Deciding whether a DocsQA answer is an abstention ("I don't know"), robustly.

The prompt asks for one fixed phrase, but a small model paraphrases it ("The course notes do not
contain the answer.", "There is no information about ...") and sometimes answers first and then
adds "I don't know." at the end. A detector that only looks for the exact phrase at the start
undercounts refusals on unanswerable questions and overcounts answers, so the abstention rate,
the number chapters 02 and 07 are built on, would be wrong in both directions.

The rule here works sentence by sentence (citations like `[weave-ops]` removed first):

* `answer`   - no sentence is a refusal;
* `refusal`  - every sentence is a refusal (the clean case);
* `leading`  - the first sentence refuses and more text follows ("The notes do not say. In
  general, ..."): the model declared it does not know, what follows is from memory;
* `trailing` - the last sentence refuses after some content: a made-up answer with a disclaimer;
* `hedged`   - a refusal in the middle ("The notes do not give the default, but you can pass
  root=..."): an answer with a caveat, not an abstention.

Everything except `answer` and `hedged` counts as abstaining. Deterministic, no model calls, so the
unanswerable slice is scored the same way on every run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

AbstentionKind = Literal["answer", "refusal", "leading", "trailing", "hedged"]
ABSTAINING_KINDS: frozenset[str] = frozenset({"refusal", "leading", "trailing"})

_CITATION = re.compile(r"\[[a-z0-9][a-z0-9#,\s-]*\]", re.IGNORECASE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_SOURCE = (
    r"(?:the\s+|these\s+|provided\s+|given\s+)*(?:course\s+)?"
    r"(?:notes?|context|documents?|documentation|sources?|information|text|material)"
    r"(?:\s+(?:provided|given|above|below))?"
)
_VERB = (
    r"(?:contain|mention|say|cover|include|provide|specify|state|describe|discuss|address|"
    r"answer|give|explain|list|have|tell)"
)
_REFUSAL_PATTERNS = [
    # first person: I don't know / I cannot answer / I'm not able to find ...
    r"\bi\s+(?:do\s+not|don't|cannot|can\s*not|can't|am\s+not\s+able\s+to|am\s+unable\s+to|"
    r"couldn't|could\s+not)\s+(?:know|answer|find|say|tell|determine|provide|help)",
    r"\bi\s+(?:have|had)\s+no\s+(?:information|knowledge|answer)",
    r"^\s*(?:i'm\s+|i\s+am\s+)?sorry\b",
    # the source does not contain it
    rf"\b{_SOURCE}\s+(?:do|does|did)\s*(?:not|n't)\s+(?:\w+\s+)?{_VERB}",
    rf"\b{_SOURCE}\s+(?:is|are)\s+(?:silent|not\s+(?:clear|specific))",
    # it is not in the source
    r"\bnot\s+(?:\w+\s+)?(?:mentioned|covered|specified|stated|provided|included|found|"
    r"available|described|given|addressed|discussed|listed)\s+(?:in|by)\s+" + _SOURCE,
    r"^\s*not\s+in\s+" + _SOURCE,
    r"\bthere\s+(?:is|are)\s+no\s+(?:\w+\s+)?(?:information|mention|details?|data|answer)",
    r"\bno\s+(?:information|mention|details?)\s+(?:about|on|regarding|of|is|are)\b",
    r"\b(?:cannot|can't|can\s+not)\s+be\s+(?:answered|determined|found)",
    r"\b(?:unable|not\s+able)\s+to\s+answer\b",
    r"^\s*(?:i\s+)?(?:do\s+not|don't)\s+know\b",
    r"^\s*unknown\.?\s*$",
]
_REFUSAL_RE = re.compile("|".join(f"(?:{p})" for p in _REFUSAL_PATTERNS), re.IGNORECASE)


@dataclass(frozen=True)
class Abstention:
    """The detector's verdict: `kind` says where the refusal sits, `abstained` the decision."""

    kind: AbstentionKind

    @property
    def abstained(self) -> bool:
        """True when the answer should be scored as "I don't know"."""
        return self.kind in ABSTAINING_KINDS


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "")
    return _CITATION.sub(" ", text)


def sentences(text: str) -> list[str]:
    """Sentences with content left after removing citations (a lone "[weave-ops]" is not one)."""
    parts = (p.strip() for p in _SENTENCE_SPLIT.split(_normalise(text)))
    return [p for p in parts if re.search(r"[a-z0-9]", p, re.IGNORECASE)]


def is_refusal_sentence(sentence: str) -> bool:
    """Whether one sentence declines to answer (any of the phrasings above)."""
    return bool(_REFUSAL_RE.search(_normalise(sentence)))


def classify(answer: str) -> Abstention:
    """Classify a cleaned answer; an empty answer is a refusal (nothing was claimed)."""
    parts = sentences(answer or "")
    if not parts:
        return Abstention("refusal")
    flags = [is_refusal_sentence(p) for p in parts]
    if all(flags):
        return Abstention("refusal")
    if flags[0]:
        return Abstention("leading")
    if flags[-1]:
        return Abstention("trailing")
    if any(flags):
        return Abstention("hedged")
    return Abstention("answer")


def is_abstention(answer: str) -> bool:
    """Whether the answer counts as "I don't know" (refusal, leading or trailing refusal)."""
    return classify(answer).abstained
