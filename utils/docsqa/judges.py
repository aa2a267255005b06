"""Judges of DocsQA answers: two deterministic ones and the local-LLM judge, one interface.

Each judge maps (eval item, answer) to True ("correct") or False, so its verdicts can be compared
with the course-authored labels (`utils.docsqa.labels`, `utils.docsqa.agreement`):

* `key_fact_judge` - every key fact stated (`utils.docsqa.scoring`), abstention rules applied;
* `token_recall_judge` - at least `threshold` of the reference answer's content words appear;
* `llm_judge` - a chat model reads question, reference and answer and replies CORRECT or
  INCORRECT (temperature 0, one word, so the reply is parsed without guessing).

An answer that abstains is scored by the task's rule (right on an unanswerable question, wrong on
an answerable one) by all three: no judge is needed to compare "I don't know" with "I don't know".
Every other answer goes to the judge, including made-up answers to unanswerable questions, whose
reference answer says the notes do not cover the topic: recognising those is exactly what a
judge of a RAG assistant must do.
"""

from __future__ import annotations

from typing import Any

from utils.docsqa.abstention import is_abstention
from utils.docsqa.evalset import EvalItem
from utils.docsqa.scoring import grade_answer, reference_token_recall

JUDGE_PROMPT = """You are grading an answer to a question about Weights & Biases.

Question: {question}
Reference answer: {reference}
Answer to grade: {answer}

Is the answer to grade correct, that is, does it state the same facts as the reference answer
without contradicting it? Reply with one word: CORRECT or INCORRECT."""


def key_fact_judge(item: EvalItem, answer: str) -> bool:
    """Correct when every key fact is stated (unanswerable: when the answer abstains)."""
    return grade_answer(item, answer).correct


def token_recall_judge(item: EvalItem, answer: str, threshold: float = 0.5) -> bool:
    """Correct when enough reference words appear (unanswerable: when the answer abstains)."""
    if not item.answerable or is_abstention(answer):
        return not item.answerable and is_abstention(answer)
    return reference_token_recall(item.reference_answer, answer) >= threshold


def parse_verdict(reply: str) -> bool:
    """CORRECT -> True; INCORRECT, anything else or nothing -> False (a judge that cannot
    follow the format has not said the answer is right)."""
    head = reply.strip().upper()
    return head.startswith("CORRECT") or head.startswith("**CORRECT")


def llm_judge(item: EvalItem, answer: str, client: Any, model: str, seed: int = 0) -> bool:
    """Ask a chat model (an OpenAI-compatible `client`) whether the answer is correct."""
    if is_abstention(answer):
        return not item.answerable
    prompt = JUDGE_PROMPT.format(
        question=item.question, reference=item.reference_answer, answer=answer
    )
    resp = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        temperature=0.0,
        max_tokens=4,
        seed=seed,
    )
    return parse_verdict(resp.choices[0].message.content or "")
